package scim

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	searchSchemas = `"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]`
	patchSchemas  = `"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`
	userSchemas   = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]`
)

func TestFilterDepth(t *testing.T) {
	tests := []struct {
		filter string
		want   int
	}{
		{`userName eq "a"`, 0},
		{`emails[type eq "work"].value eq "a"`, 1},
		{`(userName eq "a") and not (active eq false)`, 1},
		{`((a eq "1") or (b eq "2")) and c pr`, 2},
		{`not(not(not(a pr)))`, 3},
		{`displayName eq "((((((((("`, 0},
		{`displayName eq "a\"((((" and (x pr)`, 1},
		{`))) (a pr`, 1},
		{strings.Repeat("(", 100000), 100000},
	}
	for _, tc := range tests {
		if got := filterDepth(tc.filter); got != tc.want {
			t.Errorf("filterDepth(%.40q) = %d, want %d", tc.filter, got, tc.want)
		}
	}
}

// Every filter and PATCH path is bounded before anything parses it: a .search body of 100,000
// nested parentheses used to overflow filter-parser's stack, which kills the process.
func TestHostileFiltersAndPathsAreRefusedBeforeParsing(t *testing.T) {
	users := &fakeBackend{}
	srv := newEdge(t, users, &fakeBackend{}, func(c *Config) { c.MaxBodyBytes = 1 << 20 })
	deep := func(open, close string, n int) string {
		return strings.Repeat(open, n) + `userName eq "x"` + strings.Repeat(close, n)
	}
	at := func(depth int) string { return deep("(", ")", depth) }
	search := func(f string) string { return `{` + searchSchemas + `,"filter":` + fmt.Sprintf("%q", f) + `}` }
	patchPath := func(p string) string {
		return `{` + patchSchemas + `,"Operations":[{"op":"remove","path":` + fmt.Sprintf("%q", p) + `}]}`
	}
	deepPath := `emails[` + strings.Repeat("not(", 40) + `type eq "work"` + strings.Repeat(")", 40) + `].value`
	tests := []struct {
		name, method, path, body string
		status                   int
		scimType                 string
	}{
		{"search: 100,000 nested parentheses", "POST", "/scim/v2/Users/.search", search(at(100000)), 400, TypeInvalidFilter},
		{"search on groups: nested not(", "POST", "/scim/v2/Groups/.search", search(deep("not (", ")", 5000)), 400, TypeInvalidFilter},
		{"search: a filter longer than the query's cap", "POST", "/scim/v2/Users/.search", search(`userName eq "` + strings.Repeat("a", 5000) + `"`), 400, TypeInvalidFilter},
		{"search: at the depth limit", "POST", "/scim/v2/Users/.search", search(at(maxFilterDepth)), 200, ""},
		{"search: one past the depth limit", "POST", "/scim/v2/Users/.search", search(at(maxFilterDepth + 1)), 400, TypeInvalidFilter},
		{"query: one past the depth limit", "GET", "/scim/v2/Users?filter=" + url.QueryEscape(at(maxFilterDepth+1)), "", 400, TypeInvalidFilter},
		{"query: at the depth limit", "GET", "/scim/v2/Users?filter=" + url.QueryEscape(at(maxFilterDepth)), "", 200, ""},
		{"query: nested brackets", "GET", "/scim/v2/Users?filter=" + url.QueryEscape(deep("emails[", "]", 40)), "", 400, TypeInvalidFilter},
		{"query on /Schemas, which the library parses", "GET", "/scim/v2/Schemas?filter=" + url.QueryEscape(at(2000)), "", 400, TypeInvalidFilter},
		{"query: a second filter parameter", "GET", "/scim/v2/Users?filter=userName+pr&filter=" + url.QueryEscape(at(2000)), "", 400, TypeInvalidFilter},
		{"parentheses inside a value are data", "GET", "/scim/v2/Users?filter=" + url.QueryEscape(`displayName eq "`+strings.Repeat("(", 100)+`"`), "", 200, ""},
		{"PATCH path: nested not( in a value filter", "PATCH", "/scim/v2/Users/1", patchPath(deepPath), 400, TypeInvalidPath},
		{"PATCH path: 100,000 brackets", "PATCH", "/scim/v2/Users/1", patchPath("emails" + strings.Repeat("[", 100000)), 400, TypeInvalidPath},
		{"PATCH path: too long", "PATCH", "/scim/v2/Users/1", patchPath(`emails[value eq "` + strings.Repeat("a", 5000) + `"]`), 400, TypeInvalidPath},
		{"PATCH path-less key: nested", "PATCH", "/scim/v2/Users/1", `{` + patchSchemas + `,"Operations":[{"op":"add","value":{` + fmt.Sprintf("%q", deepPath) + `:"x"}}]}`, 400, TypeInvalidPath},
		{"PATCH key inside an extension: nested", "PATCH", "/scim/v2/Users/1", `{` + patchSchemas + `,"Operations":[{"op":"add","value":{"` + URNEnterprise + `":{` + fmt.Sprintf("%q", deepPath) + `:"x"}}}]}`, 400, TypeInvalidPath},
		{"PATCH path: Entra's value filter", "PATCH", "/scim/v2/Users/1", `{` + patchSchemas + `,"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"a@x.com"}]}`, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			resp, body := call(t, srv, tc.method, tc.path, tc.body, nil)
			if tc.status >= 400 {
				wantError(t, resp, body, tc.status, tc.scimType)
				if d, _ := body["detail"].(string); len(d) > 300 {
					t.Errorf("the detail echoes the input: %d characters", len(d))
				}
			} else if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %v", resp.StatusCode, tc.status, body)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestPatchOperationLimitAtTheEdge(t *testing.T) {
	users := &fakeBackend{}
	srv := newEdge(t, users, &fakeBackend{}, func(c *Config) { c.MaxBodyBytes = 1 << 20 })
	body := func(n int) string {
		ops := make([]string, n)
		for i := range ops {
			ops[i] = fmt.Sprintf(`{"op":"add","path":"emails","value":[{"value":"a%d@x.com","type":"other"}]}`, i)
		}
		return `{` + patchSchemas + `,"Operations":[` + strings.Join(ops, ",") + `]}`
	}
	resp, m := call(t, srv, "PATCH", "/scim/v2/Users/1", body(maxPatchOperations+1), nil)
	wantError(t, resp, m, 400, TypeInvalidValue)
	if d, _ := m["detail"].(string); !strings.Contains(d, "1000") {
		t.Errorf("the detail does not state the limit: %q", d)
	}
	if len(users.patched) != 0 {
		t.Error("the backend was called")
	}
	resp, m = call(t, srv, "PATCH", "/scim/v2/Users/1", body(maxPatchOperations), nil)
	if resp.StatusCode != 200 || len(users.patched) != 1 || len(users.patched[0]) != maxPatchOperations {
		t.Errorf("%d operations: %d %v", maxPatchOperations, resp.StatusCode, m)
	}
}

// GET ?filter= and POST .search compile filters the same way: each filter gets the same answer
// from both, and the same expression reaches the backend.
func TestSearchAndQueryFiltersAgree(t *testing.T) {
	tests := []struct {
		name, filter string
		status       int
		scimType     string
	}{
		{"equality", `userName eq "a@x.com"`, 200, ""},
		{"Entra's work email", `emails[type eq "work"].value eq "a@x.com"`, 200, ""},
		{"core and extension together (Entra's manager check)", `id eq "1" and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "2"`, 200, ""},
		{"unquoted values (legacy Entra)", `id eq 54D382A4-2050 and manager eq 2819c223-7f76`, 200, ""},
		{"meta.lastModified with a dateTime", `meta.lastModified gt "2024-01-31T00:00:00Z"`, 200, ""},
		{"boolean eq", `active eq true`, 200, ""},
		{"boolean ne, string form", `active ne "False"`, 200, ""},
		{"boolean gt", `active gt true`, 400, TypeInvalidFilter},
		{"boolean le", `active le false`, 400, TypeInvalidFilter},
		{"boolean co", `active co "t"`, 400, TypeInvalidFilter},
		{"boolean sw inside a value filter", `emails[primary sw "t"]`, 400, TypeInvalidFilter},
		{"boolean ew in an extension", `urn:ietf:params:scim:schemas:extension:freshservice:2.0:User:isAgent ew "e"`, 400, TypeInvalidFilter},
		{"dateTime against a word", `meta.created gt "yesterday"`, 400, TypeInvalidFilter},
		{"dateTime against a number", `meta.lastModified lt 5`, 400, TypeInvalidFilter},
		{"dateTime against a boolean", `meta.created eq true`, 400, TypeInvalidFilter},
		{"dateTime present", `meta.created pr`, 200, ""},
		{"unknown attribute", `shoeSize eq "42"`, 400, TypeInvalidFilter},
		{"not a filter", `userName eq`, 400, TypeInvalidFilter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users := &fakeBackend{}
			srv := newEdge(t, users, &fakeBackend{})
			resp, get := call(t, srv, "GET", "/scim/v2/Users?filter="+url.QueryEscape(tc.filter), "", nil)
			resp2, post := call(t, srv, "POST", "/scim/v2/Users/.search", `{`+searchSchemas+`,"filter":`+fmt.Sprintf("%q", tc.filter)+`}`, nil)
			for _, r := range []struct {
				how  string
				code int
				body map[string]any
			}{{"GET", resp.StatusCode, get}, {".search", resp2.StatusCode, post}} {
				if r.code != tc.status || (tc.scimType != "" && r.body["scimType"] != tc.scimType) {
					t.Errorf("%s: %d %v, want %d %s", r.how, r.code, r.body, tc.status, tc.scimType)
				}
			}
			if tc.status == 200 {
				if len(users.queries) != 2 || users.queries[0].Filter == nil || users.queries[1].Filter == nil {
					t.Fatalf("the backend got %+v", users.queries)
				}
				if a, b := fmt.Sprint(users.queries[0].Filter), fmt.Sprint(users.queries[1].Filter); a != b {
					t.Errorf("GET gave the backend %s, .search %s", a, b)
				}
			}
		})
	}
}

// A .search body pages as a GET query does, and its answer counts what it returns.
func TestSearchPaging(t *testing.T) {
	tests := []struct {
		name, paging    string
		status          int
		start, count    int
		wantStartIndex  float64
		wantItemsOnPage float64
	}{
		{"no paging", ``, 200, 1, 100, 1, 0},
		{"integers", `,"startIndex":3,"count":5`, 200, 3, 5, 3, 0},
		{"strings holding integers", `,"startIndex":"3","count":"5"`, 200, 3, 5, 3, 0},
		{"negative values are clamped, as in a query", `,"startIndex":-5,"count":-3`, 200, 1, 0, 1, 0},
		{"null", `,"startIndex":null`, 200, 1, 100, 1, 0},
		{"a fraction", `,"count":1.5`, 400, 0, 0, 0, 0},
		{"a word", `,"count":"lots"`, 400, 0, 0, 0, 0},
		{"a boolean", `,"startIndex":true`, 400, 0, 0, 0, 0},
		{"huge", `,"startIndex":99999999999999999999`, 400, 0, 0, 0, 0},
		{"beyond int32", `,"count":3000000000`, 400, 0, 0, 0, 0},
		{"spelt twice", `,"count":1,"Count":2`, 400, 0, 0, 0, 0},
		{"attributes not a list", `,"attributes":{"a":1}`, 400, 0, 0, 0, 0},
		{"attributes as a comma-separated string, as in a query", `,"attributes":"userName, emails"`, 200, 1, 100, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users := &fakeBackend{}
			srv := newEdge(t, users, &fakeBackend{})
			resp, body := call(t, srv, "POST", "/scim/v2/Users/.search", `{`+searchSchemas+tc.paging+`}`, nil)
			if tc.status != 200 {
				scimType := TypeInvalidValue
				if tc.name == "spelt twice" {
					scimType = TypeInvalidSyntax
				}
				wantError(t, resp, body, tc.status, scimType)
				if len(users.queries) != 0 {
					t.Error("the backend was called")
				}
				return
			}
			if resp.StatusCode != 200 {
				t.Fatalf("%d %v", resp.StatusCode, body)
			}
			if len(users.queries) != 1 || users.queries[0].StartIndex != tc.start || users.queries[0].Count != tc.count {
				t.Errorf("the backend got %+v, want startIndex %d count %d", users.queries, tc.start, tc.count)
			}
			if body["startIndex"] != tc.wantStartIndex || body["itemsPerPage"] != tc.wantItemsOnPage {
				t.Errorf("startIndex %v itemsPerPage %v, want %v and %v (the number of Resources)", body["startIndex"], body["itemsPerPage"], tc.wantStartIndex, tc.wantItemsOnPage)
			}
		})
	}
}

// Control characters in any string of any body are refused, and the answer names where, not what.
func TestControlCharactersAreRefused(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		status                   int
		where                    string
	}{
		{"NUL in userName", "POST", "/scim/v2/Users", `{` + userSchemas + `,"userName":"a\u0000@x.com"}`, 400, "userName"},
		{"BEL deep in a name", "POST", "/scim/v2/Users", `{` + userSchemas + `,"userName":"a@x.com","name":{"givenName":"Ja\u0007ne"}}`, 400, "name.givenName"},
		{"ESC in an array element", "POST", "/scim/v2/Users", `{` + userSchemas + `,"userName":"a@x.com","emails":[{"value":"a@x.com"},{"value":"b\u001b@x.com"}]}`, 400, "emails[1].value"},
		{"DEL, raw", "POST", "/scim/v2/Users", `{` + userSchemas + `,"userName":"a@x.com","title":"CEO` + "\x7f" + `"}`, 400, "title"},
		{"in an attribute name", "POST", "/scim/v2/Users", `{` + userSchemas + `,"userName":"a@x.com","na\u0000me":{}}`, 400, "the body"},
		{"in a PATCH value", "PATCH", "/scim/v2/Users/1", `{` + patchSchemas + `,"Operations":[{"op":"replace","path":"title","value":"x\u0002"}]}`, 400, "Operations[0].value"},
		{"in a group member", "PUT", "/scim/v2/Groups/1", `{"schemas":["` + URNGroup + `"],"displayName":"G","members":[{"value":"\u0000"}]}`, 400, "members[0].value"},
		{"in a search filter", "POST", "/scim/v2/Users/.search", `{` + searchSchemas + `,"filter":"userName eq \"\u0000\""}`, 400, "filter"},
		{"escaped inside an Entra app role's JSON", "POST", "/scim/v2/Users", `{` + userSchemas + `,"userName":"a@x.com","roles":[{"value":"{\"value\":\"Ad\\u0000min\"}"}]}`, 400, "roles[0].value"},
		{"TAB, LF and CR are text", "POST", "/scim/v2/Users", `{` + userSchemas + `,"userName":"a@x.com","addresses":[{"formatted":"1 Main St\r\n\tSpringfield"}]}`, 201, ""},
		{"line and paragraph separators are text", "POST", "/scim/v2/Users", `{` + userSchemas + `,"userName":"a@x.com","title":"Head\u2028of\u2029IT"}`, 201, ""},
		{"C1 controls from a wrong code page are text", "POST", "/scim/v2/Users", `{` + userSchemas + `,"userName":"a@x.com","title":"O\u0092Brien"}`, 201, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users, groups := &fakeBackend{}, &fakeBackend{}
			srv := newEdge(t, users, groups)
			resp, body := call(t, srv, tc.method, tc.path, tc.body, nil)
			if tc.status != 400 {
				if resp.StatusCode != tc.status {
					t.Errorf("%d %v, want %d", resp.StatusCode, body, tc.status)
				}
				return
			}
			wantError(t, resp, body, 400, TypeInvalidValue)
			d, _ := body["detail"].(string)
			if !strings.Contains(d, tc.where) {
				t.Errorf("detail %q does not name %s", d, tc.where)
			}
			for _, r := range d {
				if forbiddenControl(r) {
					t.Errorf("detail %q echoes the control character", d)
				}
			}
			if len(users.created)+len(users.patched)+len(users.queries)+len(groups.created) != 0 {
				t.Error("the backend was called")
			}
		})
	}
}

// schemas is required and must be the resource's own, in any spelling real IdPs use; a PATCH
// must name the PatchOp message.
func TestSchemasAreChecked(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		status                   int
	}{
		{"POST without schemas", "POST", "/scim/v2/Users", `{"userName":"a@x.com"}`, 400},
		{"PUT without schemas", "PUT", "/scim/v2/Groups/1", `{"displayName":"G"}`, 400},
		{"schemas null", "POST", "/scim/v2/Users", `{"schemas":null,"userName":"a@x.com"}`, 400},
		{"schemas not a list of strings", "POST", "/scim/v2/Users", `{"schemas":[1],"userName":"a@x.com"}`, 400},
		{"only an extension", "POST", "/scim/v2/Users", `{"schemas":["` + URNEnterprise + `"],"userName":"a@x.com"}`, 400},
		{"an unknown URN beside the core one", "POST", "/scim/v2/Users", `{"schemas":["` + URNUser + `","urn:example:params:scim:schemas:shoe:1.0"],"userName":"a@x.com"}`, 400},
		{"the Group schema on a user", "POST", "/scim/v2/Users", `{"schemas":["` + URNUser + `","` + URNGroup + `"],"userName":"a@x.com"}`, 400},
		{"Entra's group schema on a user", "POST", "/scim/v2/Users", `{"schemas":["` + URNUser + `","` + urnEntraGroup + `"],"userName":"a@x.com"}`, 400},
		{"the User schema on a group", "POST", "/scim/v2/Groups", `{"schemas":["` + URNUser + `"],"displayName":"G"}`, 400},
		{"core URN", "POST", "/scim/v2/Users", `{` + userSchemas + `,"userName":"a@x.com"}`, 201},
		{"schemas spelt Schemas", "POST", "/scim/v2/Users", `{"Schemas":["` + URNUser + `"],"userName":"a@x.com"}`, 201},
		{"core URN in lower case", "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:user"],"userName":"a@x.com"}`, 201},
		{"OneLogin's SCIM 1.1 URNs", "POST", "/scim/v2/Users", `{"schemas":["urn:scim:schemas:core:1.0","urn:scim:schemas:extension:enterprise:1.0"],"userName":"a@x.com"}`, 201},
		{"Entra's malformed enterprise URN", "POST", "/scim/v2/Users", `{"schemas":["` + URNUser + `","urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],"userName":"a@x.com"}`, 201},
		{"the Freshservice extension", "POST", "/scim/v2/Users", `{"schemas":["` + URNUser + `","` + URNFreshservice + `"],"userName":"a@x.com"}`, 201},
		{"Entra's group schema on a group", "POST", "/scim/v2/Groups", `{"schemas":["` + URNGroup + `","` + urnEntraGroup + `"],"displayName":"G"}`, 201},
		{"PATCH without schemas", "PATCH", "/scim/v2/Users/1", `{"Operations":[{"op":"replace","path":"active","value":false}]}`, 400},
		{"PATCH with a resource schema", "PATCH", "/scim/v2/Users/1", `{` + userSchemas + `,"Operations":[{"op":"replace","path":"active","value":false}]}`, 400},
		{"PATCH with PatchOp in lower case", "PATCH", "/scim/v2/Users/1", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:patchop"],"Operations":[{"op":"replace","path":"active","value":false}]}`, 200},
		{"empty userName", "POST", "/scim/v2/Users", `{` + userSchemas + `,"userName":""}`, 400},
		{"blank displayName", "PUT", "/scim/v2/Groups/1", `{"schemas":["` + URNGroup + `"],"displayName":"  "}`, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users, groups := &fakeBackend{}, &fakeBackend{}
			srv := newEdge(t, users, groups)
			resp, body := call(t, srv, tc.method, tc.path, tc.body, nil)
			if tc.status == 400 {
				wantError(t, resp, body, 400, TypeInvalidValue)
				if len(users.created)+len(users.patched)+len(groups.created) != 0 {
					t.Error("the backend was called")
				}
				return
			}
			if resp.StatusCode != tc.status {
				t.Errorf("%d %v, want %d", resp.StatusCode, body, tc.status)
			}
		})
	}
	// What the backend gets: the canonical URNs.
	users := &fakeBackend{}
	srv := newEdge(t, users, &fakeBackend{})
	call(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:scim:schemas:core:1.0"],"userName":"a@x.com"}`, nil)
	if len(users.created) != 1 {
		t.Fatal("not created")
	}
	if diff := cmp.Diff(map[string]any{"userName": "a@x.com"}, users.created[0]); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}
