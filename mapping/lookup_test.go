package mapping

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/fsbridge/fsbridge/scim"
)

func TestPlanLookup(t *testing.T) {
	userName := func(v string) LookupSource { return LookupSource{Kind: SourceIndex, Index: IndexUserName, Value: v} }
	id := func(v string) LookupSource { return LookupSource{Kind: SourceIndex, Index: IndexID, Value: v} }
	externalID := func(v string) LookupSource { return LookupSource{Kind: SourceIndex, Index: IndexExternalID, Value: v} }
	email := func(v string) LookupSource { return LookupSource{Kind: SourceIndex, Index: IndexEmail, Value: v} }
	scan := LookupSource{}
	tests := []struct {
		name string
		// query is the list request's query string as the IdP sends it.
		query string
		want  LookupPlan
	}{
		// What the IdPs send (reference/idp-scim-behaviors.md).
		{"Okta's find-before-create", `filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100`,
			LookupPlan{Source: userName("test.user@okta.local"), Check: CheckUserName}},
		{"Okta's older form, + for spaces", `filter=userName+eq+%22jane.doe%40example.com%22&startIndex=1&count=100`,
			LookupPlan{Source: userName("jane.doe@example.com"), Check: CheckUserName}},
		{"Okta's SPEC test, upper case", `filter=userName%20eq%20%22TEST.USER%40OKTA.LOCAL%22`,
			LookupPlan{Source: userName("TEST.USER@OKTA.LOCAL"), Check: CheckUserName}},
		{"Okta matching on externalId", `filter=externalId%20eq%20%2200ujl29u0le5T6Aj10h7%22`,
			LookupPlan{Source: externalID("00ujl29u0le5T6Aj10h7"), Check: CheckNone}},
		{"Okta's import: no filter", `startIndex=1&count=100`,
			LookupPlan{Source: scan, Check: CheckNone}},
		{"Entra's Test Connection", `filter=userName+eq+%223d0f1b2a-random-guid%22`,
			LookupPlan{Source: userName("3d0f1b2a-random-guid"), Check: CheckUserName}},
		{"Entra matching on externalId", `filter=externalId+eq+%22jyoung%22`,
			LookupPlan{Source: externalID("jyoung"), Check: CheckNone}},
		{"Entra's work email", `filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22user%40contoso.com%22`,
			LookupPlan{Source: email("user@contoso.com"), Check: CheckRendered}},
		{"Entra's manager check, unquoted", `filter=id+eq+54D382A4-2050-4C03-94D1-E769F1D15682+and+manager+eq+2819c223-7f76-453a-919d-413861904646&attributes=id`,
			LookupPlan{Source: id("54D382A4-2050-4C03-94D1-E769F1D15682"), Check: CheckFilter}},
		{"OneLogin's Enable check", `filter=userName%20eq%20%22onelogin-check-does-not-exist%22`,
			LookupPlan{Source: userName("onelogin-check-does-not-exist"), Check: CheckUserName}},

		// The other equalities an index answers.
		{"id", `filter=id+eq+%2221001000002%22`, LookupPlan{Source: id("21001000002"), Check: CheckNone}},
		{"id with a leading zero is no id", `filter=id+eq+%22021001000002%22`, LookupPlan{Source: id("021001000002"), Check: CheckFilter}},
		{"id that is no number", `filter=id+eq+%22abc%22`, LookupPlan{Source: id("abc"), Check: CheckNone}},
		{"id unquoted", `filter=id+eq+42`, LookupPlan{Source: id("42"), Check: CheckFilter}},
		{"emails", `filter=emails+eq+%22a%40x.com%22`, LookupPlan{Source: email("a@x.com"), Check: CheckRendered}},
		{"emails.value", `filter=emails.value+eq+%22a%40x.com%22`, LookupPlan{Source: email("a@x.com"), Check: CheckRendered}},
		{"emails by value path", `filter=emails%5Bvalue+eq+%22a%40x.com%22%5D`, LookupPlan{Source: email("a@x.com"), Check: CheckRendered}},
		{"the RFC form of the work email", `filter=emails%5Btype+eq+%22work%22+and+value+eq+%22a%40x.com%22%5D`,
			LookupPlan{Source: email("a@x.com"), Check: CheckRendered}},
		{"an escaped quote", `filter=userName+eq+%22a%5C%22b%40x.com%22`, LookupPlan{Source: userName(`a"b@x.com`), Check: CheckUserName}},
		{"the core URN", `filter=urn:ietf:params:scim:schemas:core:2.0:User:userName+eq+%22a%40x.com%22`,
			LookupPlan{Source: userName("a@x.com"), Check: CheckUserName}},

		// Filters an index narrows: the filter is evaluated on the users it names.
		{"userName and active", `filter=userName+eq+%22a%40x.com%22+and+active+eq+true`,
			LookupPlan{Source: userName("a@x.com"), Check: CheckFilter}},
		{"active and userName", `filter=active+eq+true+and+userName+eq+%22a%40x.com%22`,
			LookupPlan{Source: userName("a@x.com"), Check: CheckFilter}},
		{"two indexed terms and'ed", `filter=externalId+eq+%22x%22+and+emails%5Btype+eq+%22work%22+and+value+eq+%22a%40x.com%22%5D`,
			LookupPlan{Source: LookupSource{Kind: SourceSmaller, Sides: []LookupSource{externalID("x"), email("a@x.com")}}, Check: CheckFilter}},
		{"two indexed terms or'ed", `filter=userName+eq+%22a%40x.com%22+or+userName+eq+%22b%40x.com%22`,
			LookupPlan{Source: LookupSource{Kind: SourceUnion, Sides: []LookupSource{userName("a@x.com"), userName("b@x.com")}}, Check: CheckFilter}},
		{"an email value path with two values", `filter=emails%5Bvalue+eq+%22a%40x.com%22+and+value+eq+%22b%40x.com%22%5D`,
			LookupPlan{Source: email("a@x.com"), Check: CheckFilter}},
		{"userName and a group", `filter=userName+eq+%22a%40x.com%22+and+groups%5Bvalue+eq+%22g1%22%5D`,
			LookupPlan{Source: userName("a@x.com"), Check: CheckFilter, Groups: true}},

		// Filters no index narrows: every user.
		{"active", `filter=active+eq+true`, LookupPlan{Source: scan, Check: CheckFilter}},
		{"Entra's string boolean", `filter=active+eq+%22False%22`, LookupPlan{Source: scan, Check: CheckFilter}},
		{"an indexed term or'ed with another", `filter=userName+eq+%22a%40x.com%22+or+active+eq+true`, LookupPlan{Source: scan, Check: CheckFilter}},
		{"another operator", `filter=userName+sw+%22ada%22`, LookupPlan{Source: scan, Check: CheckFilter}},
		{"not", `filter=not+(userName+eq+%22a%40x.com%22)`, LookupPlan{Source: scan, Check: CheckFilter}},
		{"displayName, an equality no index holds", `filter=displayName+eq+%22Ada%22`, LookupPlan{Source: scan, Check: CheckFilter}},
		{"an enterprise attribute", `filter=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber+eq+%2242%22`,
			LookupPlan{Source: scan, Check: CheckFilter}},
		{"a group", `filter=groups%5Bvalue+eq+%22g1%22%5D`, LookupPlan{Source: scan, Check: CheckFilter, Groups: true}},
		{"a group's value", `filter=groups.value+eq+%22g1%22`, LookupPlan{Source: scan, Check: CheckFilter, Groups: true}},
	}
	edge := newEdge(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := edge.query(t, tc.query)
			if diff := cmp.Diff(tc.want, PlanLookup(q.Filter, q.Lookup)); diff != "" {
				t.Errorf("PlanLookup(%s) (-want +got):\n%s", tc.query, diff)
			}
		})
	}
}

// edge is the SCIM edge with a /Users backend that records the list query it is handed, so that
// the plans are made from filters exactly as the edge reads them.
type edge struct {
	handler http.Handler
	got     *scim.ListQuery
}

const edgeToken = "lookup-plan-test-token-0123"

func newEdge(t *testing.T) *edge {
	t.Helper()
	e := &edge{}
	r := chi.NewRouter()
	cfg := scim.Config{Tokens: []scim.Credential{{Name: "idp", Hash: sha256.Sum256([]byte(edgeToken))}}}
	if err := scim.Mount(r, cfg, recordingBackend{e}, recordingBackend{e}); err != nil {
		t.Fatal(err)
	}
	e.handler = r
	return e
}

func (e *edge) query(t *testing.T, rawQuery string) scim.ListQuery {
	t.Helper()
	e.got = nil
	req := httptest.NewRequest(http.MethodGet, scim.Prefix+"/Users?"+rawQuery, nil)
	req.Header.Set("Authorization", "Bearer "+edgeToken)
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, req)
	if w.Code != http.StatusOK || e.got == nil {
		t.Fatalf("GET /Users?%s: %d %s", rawQuery, w.Code, w.Body)
	}
	return *e.got
}

type recordingBackend struct{ e *edge }

func (b recordingBackend) List(_ context.Context, q scim.ListQuery) (scim.Page, error) {
	b.e.got = &q
	return scim.Page{Resources: []scim.Resource{}}, nil
}

func (recordingBackend) Create(context.Context, map[string]any) (scim.Resource, error) {
	return scim.Resource{}, scim.Errorf(http.StatusNotImplemented, "", "not served here")
}

func (recordingBackend) Get(_ context.Context, id string) (scim.Resource, error) {
	return scim.Resource{}, scim.NotFound("User", id)
}

func (recordingBackend) Replace(_ context.Context, id string, _ map[string]any) (scim.Resource, error) {
	return scim.Resource{}, scim.NotFound("User", id)
}

func (recordingBackend) Patch(_ context.Context, id string, _ []scim.PatchOperation) (scim.Resource, error) {
	return scim.Resource{}, scim.NotFound("User", id)
}

func (recordingBackend) Delete(_ context.Context, id string) error { return scim.NotFound("User", id) }

// TestAndEquality: an `attr eq "x"` term narrows a filter to one index only
// when every match must satisfy it (it is ANDed, not ORed or negated) and it
// compares attr itself, not one of its sub-attributes.
func TestAndEquality(t *testing.T) {
	tests := []struct {
		filter, attr string
		want         string
		ok           bool
	}{
		{`displayName eq "Sales"`, "displayName", "Sales", true},
		{`DISPLAYNAME eq "Sales"`, "displayName", "Sales", true},
		{`displayName eq "R\"D"`, "displayName", `R"D`, true},
		{`displayName eq "Sales" and externalId eq "x"`, "displayName", "Sales", true},
		{`externalId eq "x" and displayName eq "Sales"`, "displayName", "Sales", true},
		{`displayName eq "Sales" or displayName eq "HR"`, "displayName", "", false},
		{`not (displayName eq "Sales")`, "displayName", "", false},
		{`displayName co "Sales"`, "displayName", "", false},
		{`displayName.x eq "Sales"`, "displayName", "", false},
		{`externalId eq "x"`, "displayName", "", false},
		{`value eq "a@example.com" and type eq "work"`, "value", "a@example.com", true},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			expr, err := filter.ParseFilter([]byte(tc.filter))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := AndEquality(expr, tc.attr)
			if got != tc.want || ok != tc.ok {
				t.Errorf("AndEquality(%q) = %q, %v; want %q, %v", tc.attr, got, ok, tc.want, tc.ok)
			}
		})
	}
}
