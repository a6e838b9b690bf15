package test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Hostile and malformed requests at the SCIM edge: each is answered with the SCIM error the RFC
// names, quickly, and none of them reaches Freshservice.

const searchURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

func searchBody(filter string, extra map[string]any) map[string]any {
	b := map[string]any{"schemas": []string{searchURN}}
	if filter != "" {
		b["filter"] = filter
	}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// wantSCIMError checks an error answer: status, scimType, a detail, and a short one.
func wantSCIMError(t *testing.T, status int, body map[string]any, wantStatus int, scimType string) {
	t.Helper()
	if status != wantStatus || body["scimType"] != scimType || body["status"] != fmt.Sprint(wantStatus) {
		t.Errorf("%d %v, want %d %s", status, body, wantStatus, scimType)
	}
	if d, _ := body["detail"].(string); d == "" || len(d) > 300 {
		t.Errorf("detail %q: want a short explanation", d)
	}
}

// A filter nested 100,000 deep used to overflow the parser's stack and kill the process; 60,000
// levels cost 9 s of CPU. Every filter and PATCH path is now refused by its depth before parsing.
func TestEdgeHostileNestingIsRefusedQuickly(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate(userBody("nest@example.com", "Nest", "Ed", nil))
	nested := func(n int) string { return strings.Repeat("(", n) + `userName eq "x"` + strings.Repeat(")", n) }
	deepPath := "emails[" + strings.Repeat("not(", 60000) + `type eq "work"` + strings.Repeat(")", 60000) + "].value"
	cases := []struct {
		name, method, path string
		body               any
		scimType           string
	}{
		{"users search, 100,000 levels", "POST", "/Users/.search", searchBody(nested(100000), nil), "invalidFilter"},
		{"groups search, 60,000 levels of not(", "POST", "/Groups/.search", searchBody(strings.Repeat("not (", 60000)+`displayName eq "x"`+strings.Repeat(")", 60000), nil), "invalidFilter"},
		{"query, 33 levels", "GET", "/Users?filter=" + url.QueryEscape(nested(33)), nil, "invalidFilter"},
		{"search, longer than a query may be", "POST", "/Users/.search", searchBody(`userName eq "`+strings.Repeat("a", 100000)+`"`, nil), "invalidFilter"},
		{"PATCH path, 60,000 levels", "PATCH", "/Users/" + id, patchBody(map[string]any{"op": "replace", "path": deepPath, "value": "x@example.com"}), "invalidPath"},
		{"PATCH path-less key, 60,000 levels", "PATCH", "/Users/" + id, patchBody(map[string]any{"op": "replace", "value": map[string]any{deepPath: "x@example.com"}}), "invalidPath"},
	}
	before := e.sim.Stats().Total
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			status, body := e.do(tc.method, tc.path, tc.body)
			wantSCIMError(t, status, body, 400, tc.scimType)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("answered in %v", d)
			}
		})
	}
	// Still serving, and a filter at the limit still works.
	status, list := e.do("POST", "/Users/.search", searchBody(strings.Repeat("(", 32)+`userName eq "nest@example.com"`+strings.Repeat(")", 32), nil))
	if status != 200 || len(listIDs(t, list)) != 1 {
		t.Errorf("a filter 32 levels deep: %d %v", status, list)
	}
	if n := e.sim.Stats().Total - before; n != 0 {
		t.Errorf("hostile requests made %d Freshservice calls", n)
	}
}

// One PATCH carries at most 1000 operations; up to that it is applied in time linear in its size
// (13,000 adds used to cost 12 s of CPU).
func TestEdgeHostilePatchOperationCount(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate(userBody("many@example.com", "Many", "Ops", nil))
	adds := func(n int) map[string]any {
		ops := make([]map[string]any, n)
		for i := range ops {
			ops[i] = map[string]any{"op": "add", "path": "emails", "value": []any{map[string]any{"value": fmt.Sprintf("a%d@x.io", i%20)}}}
		}
		return patchBody(ops...)
	}
	before := e.sim.Stats().Total
	start := time.Now()
	status, body := e.do("PATCH", "/Users/"+id, adds(13000))
	wantSCIMError(t, status, body, 400, "invalidValue")
	if d, _ := body["detail"].(string); !strings.Contains(d, "1000") {
		t.Errorf("the detail does not say the limit: %q", d)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("13,000 operations refused in %v", d)
	}
	if n := e.sim.Stats().Total - before; n != 0 {
		t.Errorf("a refused PATCH made %d Freshservice calls", n)
	}
	start = time.Now()
	status, body = e.do("PATCH", "/Users/"+id, adds(1000))
	if status != 200 {
		t.Fatalf("1000 operations: %d %v", status, body)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("1000 operations applied in %v", d)
	}
	if got := len(body["emails"].([]any)); got != 21 {
		t.Errorf("%d emails, want the work email and 20 aliases (repeated adds are idempotent)", got)
	}
}

// userName and a group's displayName survive every PATCH: removing one is 400 mutability (RFC
// 7644 §3.5.2.2), emptying it 400 invalidValue, and Freshservice is not called.
func TestEdgeRequiredAttributesSurvivePatch(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate(userBody("keep@example.com", "Keep", "Me", nil))
	g := e.mustGroup("Keepers")
	cases := []struct {
		name, path string
		op         map[string]any
		scimType   string
	}{
		{"remove userName", "/Users/" + id, map[string]any{"op": "remove", "path": "userName"}, "mutability"},
		{"Entra's Remove, capitalised", "/Users/" + id, map[string]any{"op": "Remove", "path": "userName"}, "mutability"},
		{"replace userName with null", "/Users/" + id, map[string]any{"op": "replace", "path": "userName", "value": nil}, "mutability"},
		{"path-less null userName", "/Users/" + id, map[string]any{"op": "replace", "value": map[string]any{"userName": nil, "title": "x"}}, "mutability"},
		{"replace userName with the empty string", "/Users/" + id, map[string]any{"op": "replace", "path": "userName", "value": ""}, "invalidValue"},
		{"path-less empty userName", "/Users/" + id, map[string]any{"op": "replace", "value": map[string]any{"userName": "", "active": false}}, "invalidValue"},
		{"remove displayName", "/Groups/" + g, map[string]any{"op": "remove", "path": "displayName"}, "mutability"},
		{"Okta rename to the empty string", "/Groups/" + g, map[string]any{"op": "replace", "value": map[string]any{"id": g, "displayName": ""}}, "invalidValue"},
	}
	before := e.sim.Stats().Total
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do("PATCH", tc.path, patchBody(tc.op))
			wantSCIMError(t, status, body, 400, tc.scimType)
		})
	}
	if n := e.sim.Stats().Total - before; n != 0 {
		t.Errorf("refused PATCHes made %d Freshservice calls", n)
	}
	if _, u := e.do("GET", "/Users/"+id, nil); u["userName"] != "keep@example.com" || u["active"] != true {
		t.Errorf("the user changed: %v", u)
	}
	if _, grp := e.do("GET", "/Groups/"+g, nil); grp["displayName"] != "Keepers" {
		t.Errorf("the group changed: %v", grp)
	}
	// POST and PUT with an empty required value are refused too.
	if status, body := e.do("POST", "/Users", userBody("", "No", "Name", nil)); status != 400 {
		t.Errorf("POST with an empty userName: %d %v", status, body)
	}
	if status, body := e.do("PUT", "/Groups/"+g, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": " "}); status != 400 {
		t.Errorf("PUT with a blank displayName: %d %v", status, body)
	}
}

// NUL and the other control characters never reach Freshservice; the answer names the attribute
// and not the value.
func TestEdgeControlCharactersNeverReachFreshservice(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate(userBody("clean@example.com", "Clean", "Data", map[string]any{"title": "Analyst"}))
	cases := []struct {
		name, method, path string
		body               any
		where              string
	}{
		{"NUL in a new user's name", "POST", "/Users", userBody("nul@example.com", "Nu\x00l", "Byte", nil), "name.givenName"},
		{"BEL in a PATCH", "PATCH", "/Users/" + id, patchBody(map[string]any{"op": "replace", "path": "title", "value": "Chief\aOfficer"}), "Operations[0].value"},
		{"ESC in a path-less PATCH", "PATCH", "/Users/" + id, patchBody(map[string]any{"op": "replace", "value": map[string]any{"name.familyName": "\x1b[31mRed"}}), "name.familyName"},
		{"DEL in a PUT", "PUT", "/Users/" + id, userBody("clean@example.com", "Clean", "Data\x7f", nil), "name.familyName"},
		{"NUL in userName and the email", "POST", "/Users", userBody("a\x00b@example.com", "A", "B", nil), "emails[0].value"},
	}
	before := e.sim.Stats().Total
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do(tc.method, tc.path, tc.body)
			wantSCIMError(t, status, body, 400, "invalidValue")
			d, _ := body["detail"].(string)
			if !strings.Contains(d, tc.where) {
				t.Errorf("detail %q does not name %s", d, tc.where)
			}
			if strings.ContainsAny(d, "\x00\a\x1b\x7f") {
				t.Errorf("detail %q echoes the control character", d)
			}
		})
	}
	if n := e.sim.Stats().Total - before; n != 0 {
		t.Errorf("refused requests made %d Freshservice calls", n)
	}
	if su := e.simUser(id); su.JobTitle != "Analyst" || su.LastName != "Data" {
		t.Errorf("the user changed: %+v", su)
	}
	// Multi-line text is text.
	status, body := e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "replace", "path": "title", "value": "Head of IT\tEMEA"}))
	if status != 200 {
		t.Errorf("a TAB in a title: %d %v", status, body)
	}
}

// schemas is required (RFC 7643 §3) and must be the resource's, in any spelling a real IdP
// sends; a PATCH must name PatchOp.
func TestEdgeSchemasAreRequired(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate(userBody("schemas@example.com", "Sche", "Mas", nil))
	noSchemas := userBody("none@example.com", "No", "Schemas", nil)
	delete(noSchemas, "schemas")
	foreign := userBody("foreign@example.com", "For", "Eign", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:example:shoe:2.0:User"}})
	onlyExt := userBody("ext@example.com", "Ext", "Only", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}})
	cases := []struct {
		name, method, path string
		body               any
	}{
		{"POST without schemas", "POST", "/Users", noSchemas},
		{"POST with a schema this server does not have", "POST", "/Users", foreign},
		{"POST without the core schema", "POST", "/Users", onlyExt},
		{"PATCH without schemas", "PATCH", "/Users/" + id, map[string]any{"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": false}}}},
		{"PATCH with another message's schema", "PATCH", "/Users/" + id, map[string]any{"schemas": []string{searchURN}, "Operations": []any{map[string]any{"op": "replace", "path": "active", "value": false}}}},
		{"group POST with the user schema", "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "displayName": "Wrong"}},
	}
	before := e.sim.Stats().Total
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do(tc.method, tc.path, tc.body)
			wantSCIMError(t, status, body, 400, "invalidValue")
		})
	}
	if n := e.sim.Stats().Total - before; n != 0 {
		t.Errorf("refused requests made %d Freshservice calls", n)
	}
	// What real IdPs send is accepted: OneLogin's SCIM 1.1 URNs, Entra's malformed enterprise URN
	// and its group schema.
	ol := userBody("onelogin@example.com", "One", "Login", map[string]any{"schemas": []string{"urn:scim:schemas:core:1.0", "urn:scim:schemas:extension:enterprise:1.0"}})
	if status, body := e.do("POST", "/Users", ol); status != 201 {
		t.Errorf("OneLogin's URNs: %d %v", status, body)
	}
	entra := userBody("entra@example.com", "En", "Tra", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"}})
	if status, body := e.do("POST", "/Users", entra); status != 201 {
		t.Errorf("Entra's enterprise URN: %d %v", status, body)
	}
	grp := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"}, "displayName": "Entra Group"}
	if status, body := e.do("POST", "/Groups", grp); status != 201 {
		t.Errorf("Entra's group schema: %d %v", status, body)
	}
}

// GET ?filter= and POST .search accept and refuse the same filters and find the same users; a
// search pages like a query and counts what it returns.
func TestEdgeSearchAndQueryAgree(t *testing.T) {
	e := newEnv(t)
	boss := e.mustCreate(userBody("boss@example.com", "Big", "Boss", nil))
	ent := "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	worker := e.mustCreate(userBody("worker@example.com", "Hard", "Worker", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", ent},
		ent:       map[string]any{"manager": map[string]any{"value": boss}},
	}))
	e.mustCreate(userBody("third@example.com", "Third", "One", nil))
	cases := []struct {
		name, filter string
		status       int
		scimType     string
		ids          []string
	}{
		{"userName", `userName eq "worker@example.com"`, 200, "", []string{worker}},
		{"Entra's legacy manager check, unquoted", fmt.Sprintf("id eq %s and manager eq %s", worker, boss), 200, "", []string{worker}},
		{"core and extension together", fmt.Sprintf(`userName eq "worker@example.com" and %s:manager.value eq "%s"`, ent, boss), 200, "", []string{worker}},
		{"a matching date", `meta.created gt "2000-01-01T00:00:00Z" and userName eq "boss@example.com"`, 200, "", []string{boss}},
		{"boolean gt", `active gt true`, 400, "invalidFilter", nil},
		{"boolean co", `active co "ru"`, 400, "invalidFilter", nil},
		{"dateTime against a word", `meta.created gt "yesterday"`, 400, "invalidFilter", nil},
		{"lastModified against a number", `meta.lastModified lt 20240101`, 400, "invalidFilter", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gs, get := e.do("GET", "/Users?filter="+url.QueryEscape(tc.filter), nil)
			ps, post := e.do("POST", "/Users/.search", searchBody(tc.filter, nil))
			for _, r := range []struct {
				how    string
				status int
				body   map[string]any
			}{{"GET", gs, get}, {".search", ps, post}} {
				if tc.status != 200 {
					wantSCIMError(t, r.status, r.body, tc.status, tc.scimType)
					continue
				}
				if r.status != 200 || fmt.Sprint(listIDs(t, r.body)) != fmt.Sprint(tc.ids) {
					t.Errorf("%s: %d %v, want %v", r.how, r.status, r.body, tc.ids)
				}
			}
		})
	}

	_, all := e.do("GET", "/Users?count=0", nil)
	total, _ := all["totalResults"].(float64)
	if total < 3 {
		t.Fatalf("totalResults %v", all["totalResults"])
	}
	paging := []struct {
		name    string
		extra   map[string]any
		status  int
		ids     int
		start   float64
		perPage float64
	}{
		{"nothing matches", map[string]any{"filter": `userName eq "nobody@example.com"`}, 200, 0, 1, 0},
		{"a page of two", map[string]any{"startIndex": 1, "count": 2}, 200, 2, 1, 2},
		{"the last page", map[string]any{"startIndex": total, "count": 2}, 200, 1, total, 1},
		{"negative values, clamped as in a query", map[string]any{"startIndex": -5, "count": -3}, 200, 0, 1, 0},
		{"count as a word", map[string]any{"count": "lots"}, 400, 0, 0, 0},
		{"startIndex as a fraction", map[string]any{"startIndex": 1.5}, 400, 0, 0, 0},
		{"huge startIndex", map[string]any{"startIndex": 99999999999999}, 400, 0, 0, 0},
	}
	for _, tc := range paging {
		t.Run("paging: "+tc.name, func(t *testing.T) {
			status, body := e.do("POST", "/Users/.search", searchBody("", tc.extra))
			if tc.status != 200 {
				wantSCIMError(t, status, body, tc.status, "invalidValue")
				return
			}
			res, _ := body["Resources"].([]any)
			if status != 200 || len(res) != tc.ids || body["itemsPerPage"] != tc.perPage || body["startIndex"] != tc.start {
				t.Errorf("%d: %d resources, itemsPerPage %v, startIndex %v; want %d, %v, %v", status, len(res), body["itemsPerPage"], body["startIndex"], tc.ids, tc.perPage, tc.start)
			}
		})
	}
}
