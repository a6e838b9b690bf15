package scim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// memBackend keeps resources in memory, as a backend that does what the Backend interface asks:
// filters with Match, sorts with Sort, patches with ApplyPatch, and versions every resource.
type memBackend struct {
	mu      sync.Mutex
	rs      ResourceSchema
	kind    string
	next    int
	docs    map[string]map[string]any
	version map[string]int
	created []map[string]any
	patched [][]PatchOperation
	// noContent makes Patch answer 204 with the new version, as the bridge does for groups.
	noContent bool
}

func newMemBackend(rs ResourceSchema, kind string) *memBackend {
	return &memBackend{rs: rs, kind: kind, docs: map[string]map[string]any{}, version: map[string]int{}}
}

func (m *memBackend) resource(id string) Resource {
	attrs := jsonClone(m.docs[id]).(map[string]any)
	ext, _ := attrs["externalId"].(string)
	return Resource{ID: id, ExternalID: ext, Attributes: attrs, Created: time.Unix(1700000000+int64(len(id)), 0),
		Version: `W/"` + strconv.Itoa(m.version[id]) + `"`}
}

func (m *memBackend) Create(_ context.Context, attrs map[string]any) (Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.created = append(m.created, jsonClone(attrs).(map[string]any))
	m.next++
	id := strconv.Itoa(m.next)
	m.docs[id] = jsonClone(attrs).(map[string]any)
	m.version[id] = 1
	return m.resource(id), nil
}

func (m *memBackend) Get(_ context.Context, id string) (Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.docs[id]; !ok {
		return Resource{}, NotFound(m.kind, id)
	}
	return m.resource(id), nil
}

func (m *memBackend) List(_ context.Context, q ListQuery) (Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.docs))
	for id := range m.docs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return len(ids[i]) < len(ids[j]) || len(ids[i]) == len(ids[j]) && ids[i] < ids[j] })
	doc := func(id string) map[string]any {
		d := jsonClone(m.docs[id]).(map[string]any)
		d["id"] = id
		return d
	}
	var matched []string
	for _, id := range ids {
		if Match(doc(id), q.Filter, m.rs) {
			matched = append(matched, id)
		}
	}
	Sort(matched, doc, q, m.rs)
	page := Page{Total: len(matched), Resources: []Resource{}}
	for i := q.StartIndex - 1; i < len(matched) && len(page.Resources) < q.Count; i++ {
		page.Resources = append(page.Resources, m.resource(matched[i]))
	}
	return page, nil
}

func (m *memBackend) Replace(_ context.Context, id string, attrs map[string]any) (Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.docs[id]; !ok {
		return Resource{}, NotFound(m.kind, id)
	}
	m.docs[id] = jsonClone(attrs).(map[string]any)
	m.version[id]++
	return m.resource(id), nil
}

func (m *memBackend) Patch(_ context.Context, id string, ops []PatchOperation) (Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.patched = append(m.patched, ops)
	cur, ok := m.docs[id]
	if !ok {
		return Resource{}, NotFound(m.kind, id)
	}
	next, err := ApplyPatch(cur, ops, m.rs)
	if err != nil {
		return Resource{}, err
	}
	m.docs[id] = next
	m.version[id]++
	if m.noContent {
		return Resource{Version: m.resource(id).Version}, nil
	}
	return m.resource(id), nil
}

func (m *memBackend) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.docs[id]; !ok {
		return NotFound(m.kind, id)
	}
	delete(m.docs, id)
	return nil
}

func (m *memBackend) doc(id string) map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return jsonClone(m.docs[id]).(map[string]any)
}

func newMemEdge(t *testing.T) (*memBackend, *memBackend, string, func(method, path, body string, hdr map[string]string) (*http.Response, map[string]any)) {
	t.Helper()
	users, groups := newMemBackend(UserSchema(), "User"), newMemBackend(GroupSchema(), "Group")
	srv := newEdge(t, users, groups, func(c *Config) { c.MaxBodyBytes = 1 << 20 })
	return users, groups, srv.URL, func(method, path, body string, hdr map[string]string) (*http.Response, map[string]any) {
		t.Helper()
		return call(t, srv, method, path, body, hdr)
	}
}

func userBody(userName string, extra string) string {
	return `{` + userSchemas + `,"userName":"` + userName + `"` + extra + `}`
}

// Endpoint names are matched whatever their case, and a trailing slash is accepted: IdP admins type
// these URLs by hand, and a 404 for /users or /Users/ is only ever a failed setup.
func TestEndpointNamesAreCaseInsensitive(t *testing.T) {
	_, _, _, do := newMemEdge(t)
	resp, created := do("POST", "/scim/v2/Users", userBody("ada@example.com", ""), nil)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, created)
	}
	id := created["id"].(string)
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string // a key the answer must have
	}{
		{"lower-case list", "GET", "/scim/v2/users", "", 200, "Resources"},
		{"upper-case list", "GET", "/scim/v2/USERS", "", 200, "Resources"},
		{"trailing slash on a list", "GET", "/scim/v2/Users/", "", 200, "Resources"},
		{"trailing slash with a filter", "GET", "/scim/v2/Users/?filter=" + url.QueryEscape(`userName eq "ada@example.com"`), "", 200, "Resources"},
		{"lower-case resource", "GET", "/scim/v2/users/" + id, "", 200, "userName"},
		{"resource with a trailing slash", "GET", "/scim/v2/Users/" + id + "/", "", 200, "userName"},
		{"search in any case", "POST", "/scim/v2/users/.SEARCH", `{` + searchSchemas + `}`, 200, "Resources"},
		{"groups", "GET", "/scim/v2/groups/", "", 200, "Resources"},
		{"service provider config", "GET", "/scim/v2/serviceproviderconfig", "", 200, "etag"},
		{"a resource type", "GET", "/scim/v2/resourcetypes/user", "", 200, "endpoint"},
		{"schemas", "GET", "/scim/v2/SCHEMAS/", "", 200, "Resources"},
		{"the wrong method still 405", "PUT", "/scim/v2/users/", `{}`, 405, "detail"},
		{"an unknown endpoint still 404", "GET", "/scim/v2/widgets/", "", 404, "detail"},
		{"an unknown id still 404", "GET", "/scim/v2/users/999/", "", 404, "detail"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(tc.method, tc.path, tc.body, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %v, want %d", resp.StatusCode, body, tc.status)
			}
			if _, ok := body[tc.want]; !ok {
				t.Errorf("answer lacks %q: %v", tc.want, body)
			}
			if tc.status == 200 && tc.want == "Resources" && body["totalResults"] == nil {
				t.Errorf("not a list: %v", body)
			}
		})
	}
}

// ETags: every answer carries the resource's version; If-None-Match gets 304 when it is current,
// If-Match gets 412 when it is not, and a refused write changes nothing.
func TestETags(t *testing.T) {
	users, groups, _, do := newMemEdge(t)
	groups.noContent = true
	resp, created := do("POST", "/scim/v2/Users", userBody("ada@example.com", `,"title":"Engineer"`), nil)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, created)
	}
	id := created["id"].(string)
	path := "/scim/v2/Users/" + id
	v1 := resp.Header.Get("ETag")
	if v1 == "" || created["meta"].(map[string]any)["version"] != v1 {
		t.Fatalf("201: ETag %q, meta.version %v", v1, created["meta"])
	}

	t.Run("GET carries the ETag", func(t *testing.T) {
		resp, _ := do("GET", path, "", nil)
		if resp.Header.Get("ETag") != v1 {
			t.Errorf("ETag %q, want %q", resp.Header.Get("ETag"), v1)
		}
	})
	t.Run("If-None-Match", func(t *testing.T) {
		for _, tc := range []struct {
			name, header string
			status       int
		}{
			{"current version", v1, 304},
			{"current version, strong form", strings.TrimPrefix(v1, "W/"), 304},
			{"in a list", `W/"x", ` + v1, 304},
			{"another version", `W/"99"`, 200},
		} {
			resp, body := do("GET", path, "", map[string]string{"If-None-Match": tc.header})
			if resp.StatusCode != tc.status {
				t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
			}
			if tc.status == 304 && (body != nil || resp.Header.Get("ETag") != v1) {
				t.Errorf("%s: 304 with body %v, ETag %q", tc.name, body, resp.Header.Get("ETag"))
			}
		}
	})
	t.Run("If-Match on PUT, PATCH and DELETE", func(t *testing.T) {
		stale := `W/"99"`
		put := userBody("ada@example.com", `,"title":"Director"`)
		patch := `{` + patchSchemas + `,"Operations":[{"op":"replace","path":"title","value":"CTO"}]}`
		for _, tc := range []struct {
			name, method, body string
		}{{"PUT", "PUT", put}, {"PATCH", "PATCH", patch}, {"DELETE", "DELETE", ""}} {
			resp, body := do(tc.method, path, tc.body, map[string]string{"If-Match": stale})
			wantError(t, resp, body, 412, "")
			if got := users.doc(id)["title"]; got != "Engineer" {
				t.Errorf("%s with a stale If-Match changed the user: title %v", tc.name, got)
			}
		}
		resp, body := do("PUT", path, put, map[string]string{"If-Match": v1})
		if resp.StatusCode != 200 || body["title"] != "Director" {
			t.Fatalf("PUT with the current version: %d %v", resp.StatusCode, body)
		}
		v2 := resp.Header.Get("ETag")
		if v2 == "" || v2 == v1 || body["meta"].(map[string]any)["version"] != v2 {
			t.Errorf("after PUT: ETag %q (was %q), meta %v", v2, v1, body["meta"])
		}
		resp, body = do("PATCH", path, patch, map[string]string{"If-Match": v1})
		wantError(t, resp, body, 412, "")
		resp, body = do("PATCH", path, patch, map[string]string{"If-Match": strings.TrimPrefix(v2, "W/")})
		if resp.StatusCode != 200 || body["title"] != "CTO" {
			t.Fatalf("PATCH with the current version: %d %v", resp.StatusCode, body)
		}
		resp, body = do("DELETE", "/scim/v2/Users/999", "", map[string]string{"If-Match": "*"})
		wantError(t, resp, body, 404, "")
		resp, _ = do("DELETE", path, "", map[string]string{"If-Match": "*"})
		if resp.StatusCode != 204 {
			t.Errorf("DELETE with If-Match *: %d", resp.StatusCode)
		}
	})
	t.Run("a 204 PATCH carries the new ETag", func(t *testing.T) {
		resp, g := do("POST", "/scim/v2/Groups", `{"schemas":["`+URNGroup+`"],"displayName":"G"}`, nil)
		if resp.StatusCode != 201 {
			t.Fatalf("%d %v", resp.StatusCode, g)
		}
		resp, _ = do("PATCH", "/scim/v2/Groups/"+g["id"].(string), `{`+patchSchemas+`,"Operations":[{"op":"replace","path":"displayName","value":"H"}]}`,
			map[string]string{"If-Match": resp.Header.Get("ETag")})
		if resp.StatusCode != 204 || resp.Header.Get("ETag") != `W/"2"` {
			t.Errorf("%d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
		}
	})
}

func TestServiceProviderConfigAdvertises(t *testing.T) {
	_, _, _, do := newMemEdge(t)
	resp, spc := do("GET", "/scim/v2/ServiceProviderConfig", "", nil)
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	for feature, want := range map[string]bool{"etag": true, "sort": true, "patch": true, "filter": true, "bulk": false, "changePassword": false} {
		m, _ := spc[feature].(map[string]any)
		if m["supported"] != want {
			t.Errorf("%s.supported = %v, want %v", feature, m["supported"], want)
		}
	}
	if spc["filter"].(map[string]any)["maxResults"] != float64(maxResults) {
		t.Errorf("filter.maxResults %v", spc["filter"])
	}
	resp, body := do("GET", "/scim/v2/ServiceProviderConfig?filter="+url.QueryEscape(`patch.supported eq true`), "", nil)
	wantError(t, resp, body, 403, "")
}

// sortBy and sortOrder order the list before it is paged, by GET and by .search alike.
func TestSorting(t *testing.T) {
	_, _, _, do := newMemEdge(t)
	for _, u := range []struct{ userName, family, email string }{
		{"carol@example.com", "Zeta", "c@x.com"},
		{"Alice@example.com", "Mu", "a@x.com"},
		{"bob@example.com", "", "b@x.com"},
		{"dave@example.com", "Alpha", ""},
	} {
		extra := ""
		if u.family != "" {
			extra += `,"name":{"familyName":"` + u.family + `"}`
		}
		if u.email != "" {
			extra += `,"emails":[{"value":"z` + u.email + `","type":"home"},{"value":"` + u.email + `","primary":true}]`
		}
		if resp, body := do("POST", "/scim/v2/Users", userBody(u.userName, extra), nil); resp.StatusCode != 201 {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
	}
	names := func(body map[string]any) []string {
		var out []string
		res, _ := body["Resources"].([]any)
		for _, r := range res {
			out = append(out, r.(map[string]any)["userName"].(string))
		}
		return out
	}
	tests := []struct {
		name, query string
		want        []string
	}{
		{"userName ascending, ignoring case", "sortBy=userName", []string{"Alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"}},
		{"userName descending", "sortBy=USERNAME&sortOrder=Descending", []string{"dave@example.com", "carol@example.com", "bob@example.com", "Alice@example.com"}},
		{"a sub-attribute; missing values last", "sortBy=name.familyName", []string{"dave@example.com", "Alice@example.com", "carol@example.com", "bob@example.com"}},
		{"missing values last when descending too", "sortBy=name.familyName&sortOrder=descending", []string{"carol@example.com", "Alice@example.com", "dave@example.com", "bob@example.com"}},
		{"a multi-valued attribute by its primary value", "sortBy=emails", []string{"Alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"}},
		{"sorted, then paged", "sortBy=userName&startIndex=2&count=2", []string{"bob@example.com", "carol@example.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do("GET", "/scim/v2/Users?"+tc.query, "", nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %v", resp.StatusCode, body)
			}
			if diff := cmp.Diff(tc.want, names(body)); diff != "" {
				t.Errorf("GET order (-want +got):\n%s", diff)
			}
			q, _ := url.ParseQuery(tc.query)
			search := `{` + searchSchemas + `,"sortBy":"` + q.Get("sortBy") + `"`
			if o := q.Get("sortOrder"); o != "" {
				search += `,"sortOrder":"` + o + `"`
			}
			for _, k := range []string{"startIndex", "count"} {
				if v := q.Get(k); v != "" {
					search += `,"` + k + `":` + v
				}
			}
			resp, body = do("POST", "/scim/v2/Users/.search", search+`}`, nil)
			if resp.StatusCode != 200 {
				t.Fatalf(".search: %d %v", resp.StatusCode, body)
			}
			if diff := cmp.Diff(tc.want, names(body)); diff != "" {
				t.Errorf(".search order (-want +got):\n%s", diff)
			}
		})
	}
	for _, tc := range []struct{ name, query string }{
		{"an unknown attribute", "sortBy=shoeSize"},
		{"a complex attribute without a value", "sortBy=name"},
		{"an unknown order", "sortBy=userName&sortOrder=sideways"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do("GET", "/scim/v2/Users?"+tc.query, "", nil)
			wantError(t, resp, body, 400, TypeInvalidValue)
		})
	}
}

// attributes and excludedAttributes name sub-attributes too, on GET of one resource, of a list and
// on .search.
func TestProjectionOfSubAttributes(t *testing.T) {
	_, _, _, do := newMemEdge(t)
	resp, created := do("POST", "/scim/v2/Users", userBody("ada@example.com",
		`,"externalId":"x1","name":{"givenName":"Ada","familyName":"Lovelace"},"title":"Countess","emails":[{"value":"ada@example.com","type":"work","primary":true},{"value":"ada@home.example","type":"home"}]`), nil)
	if resp.StatusCode != 201 {
		t.Fatalf("%d %v", resp.StatusCode, created)
	}
	id := created["id"].(string)
	always := []string{"id", "meta", "schemas"}
	tests := []struct {
		name, query string
		want        map[string]any // besides always
	}{
		{"name.givenName", "attributes=name.givenName", map[string]any{"name": map[string]any{"givenName": "Ada"}}},
		{"emails.value", "attributes=emails.value", map[string]any{"emails": []any{map[string]any{"value": "ada@example.com"}, map[string]any{"value": "ada@home.example"}}}},
		{"two, in any case", "attributes=NAME.familyName,userName", map[string]any{"name": map[string]any{"familyName": "Lovelace"}, "userName": "ada@example.com"}},
		{"exclude a sub-attribute", "excludedAttributes=name.givenName,emails.type,emails.primary,externalId",
			map[string]any{"userName": "ada@example.com", "title": "Countess", "name": map[string]any{"familyName": "Lovelace"},
				"emails": []any{map[string]any{"value": "ada@example.com"}, map[string]any{"value": "ada@home.example"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := func(how string, got map[string]any) {
				t.Helper()
				for _, k := range always {
					if _, ok := got[k]; !ok {
						t.Errorf("%s: %s missing", how, k)
					}
					delete(got, k)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", how, diff)
				}
			}
			resp, got := do("GET", "/scim/v2/Users/"+id+"?"+tc.query, "", nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %v", resp.StatusCode, got)
			}
			check("GET one", got)
			resp, list := do("GET", "/scim/v2/Users?"+tc.query, "", nil)
			if resp.StatusCode != 200 || len(list["Resources"].([]any)) != 1 {
				t.Fatalf("%d %v", resp.StatusCode, list)
			}
			check("GET list", list["Resources"].([]any)[0].(map[string]any))
			q, _ := url.ParseQuery(tc.query)
			var fields []string
			for _, k := range []string{"attributes", "excludedAttributes"} {
				if v := q.Get(k); v != "" {
					fields = append(fields, fmt.Sprintf("%q:%q", k, v))
				}
			}
			resp, list = do("POST", "/scim/v2/Users/.search", `{`+searchSchemas+`,`+strings.Join(fields, ",")+`}`, nil)
			if resp.StatusCode != 200 || len(list["Resources"].([]any)) != 1 {
				t.Fatalf(".search: %d %v", resp.StatusCode, list)
			}
			check(".search", list["Resources"].([]any)[0].(map[string]any))
		})
	}
}

// RFC 7643 §2.4: at most one primary, and a value held once, whatever the IdP sent, the same on
// POST, PUT and PATCH.
func TestMultiValuedAttributesAreNormalised(t *testing.T) {
	users, _, _, do := newMemEdge(t)
	twoPrimaries := `"emails":[{"value":"a@x.com","type":"work","primary":"True"},{"value":"b@x.com","type":"home","primary":true},{"value":"A@X.com","type":"work","display":"A"}]`
	want := []any{
		map[string]any{"value": "a@x.com", "type": "work", "primary": true, "display": "A"},
		map[string]any{"value": "b@x.com", "type": "home", "primary": false},
	}
	resp, created := do("POST", "/scim/v2/Users", userBody("ada@example.com", ","+twoPrimaries), nil)
	if resp.StatusCode != 201 {
		t.Fatalf("%d %v", resp.StatusCode, created)
	}
	id := created["id"].(string)
	if diff := cmp.Diff(want, users.created[0]["emails"]); diff != "" {
		t.Errorf("POST: emails reaching the backend (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, created["emails"]); diff != "" {
		t.Errorf("POST: emails answered (-want +got):\n%s", diff)
	}
	resp, body := do("PUT", "/scim/v2/Users/"+id, userBody("ada@example.com", `,"emails":[{"value":"c@x.com","primary":true},{"value":"c@x.com","primary":true}]`), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("PUT: %d %v", resp.StatusCode, body)
	}
	if diff := cmp.Diff([]any{map[string]any{"value": "c@x.com", "primary": true}}, users.doc(id)["emails"]); diff != "" {
		t.Errorf("PUT (-want +got):\n%s", diff)
	}
	resp, body = do("PATCH", "/scim/v2/Users/"+id, `{`+patchSchemas+`,"Operations":[{"op":"replace","path":"emails","value":[`+strings.TrimPrefix(strings.TrimSuffix(twoPrimaries, "]"), `"emails":[`)+`]}]}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("PATCH replace: %d %v", resp.StatusCode, body)
	}
	if diff := cmp.Diff(want, users.doc(id)["emails"]); diff != "" {
		t.Errorf("PATCH replace (-want +got):\n%s", diff)
	}
	resp, body = do("PATCH", "/scim/v2/Users/"+id, `{`+patchSchemas+`,"Operations":[{"op":"add","path":"emails","value":[{"value":"d@x.com","type":"other","primary":"true"}]}]}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("PATCH add: %d %v", resp.StatusCode, body)
	}
	wantAdd := []any{
		map[string]any{"value": "a@x.com", "type": "work", "primary": false, "display": "A"},
		map[string]any{"value": "b@x.com", "type": "home", "primary": false},
		map[string]any{"value": "d@x.com", "type": "other", "primary": true},
	}
	if diff := cmp.Diff(wantAdd, users.doc(id)["emails"]); diff != "" {
		t.Errorf("PATCH add of a new primary (-want +got):\n%s", diff)
	}
}

// Relative references the backend keeps ("Users/42") reach the IdP absolute; absolute ones as they
// are.
func TestReferencesAreAbsolute(t *testing.T) {
	_, groups, base, do := newMemEdge(t)
	groups.docs["g1"] = map[string]any{"displayName": "G", "members": []any{
		map[string]any{"value": "42", "$ref": "Users/42", "type": "User", "display": "Ada"},
		map[string]any{"value": "43", "$ref": "https://elsewhere.example/Users/43"},
	}}
	groups.version["g1"] = 1
	resp, body := do("GET", "/scim/v2/Groups/g1", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	members := body["members"].([]any)
	if got, want := members[0].(map[string]any)["$ref"], base+Prefix+"/Users/42"; got != want {
		t.Errorf("$ref %v, want %v", got, want)
	}
	if got := members[1].(map[string]any)["$ref"]; got != "https://elsewhere.example/Users/43" {
		t.Errorf("absolute $ref rewritten: %v", got)
	}
}

// Sort reads meta.created and meta.lastModified as instants, whatever their zone, and a sortBy in
// any case names them.
func TestSortByMeta(t *testing.T) {
	docs := []map[string]any{
		{"userName": "b", "meta": map[string]any{"created": "2024-01-02T00:00:00Z"}},
		{"userName": "a", "meta": map[string]any{"created": "2024-01-01T23:00:00-02:00"}},
		{"userName": "c"},
		{"userName": "d", "meta": map[string]any{"created": "2023-12-31T00:00:00Z"}},
	}
	by, desc, err := sortOf("META.CREATED", "descending", UserSchema())
	if err != nil || by != "meta.created" || !desc {
		t.Fatalf("sortOf: %q %v %v", by, desc, err)
	}
	Sort(docs, func(d map[string]any) map[string]any { return d }, ListQuery{SortBy: by, SortDescending: desc}, UserSchema())
	var got []string
	for _, d := range docs {
		got = append(got, d["userName"].(string))
	}
	if want := []string{"a", "b", "d", "c"}; !cmp.Equal(want, got) {
		t.Errorf("order %v, want %v (2024-01-02T01:00Z, 2024-01-02, 2023-12-31, none)", got, want)
	}
}

// omitProbe records what Omitted says during Get and List.
type omitProbe struct {
	*memBackend
	omitted []bool
}

func (o *omitProbe) Get(ctx context.Context, id string) (Resource, error) {
	o.omitted = append(o.omitted, Omitted(ctx, "members"))
	return o.memBackend.Get(ctx, id)
}

func (o *omitProbe) List(ctx context.Context, q ListQuery) (Page, error) {
	o.omitted = append(o.omitted, Omitted(ctx, "members"))
	return o.memBackend.List(ctx, q)
}

// A backend learns when the IdP asked not to get an attribute back, so it can skip assembling it:
// Entra reads every group with excludedAttributes=members.
func TestOmittedTellsTheBackend(t *testing.T) {
	groups := &omitProbe{memBackend: newMemBackend(GroupSchema(), "Group")}
	groups.docs["g1"] = map[string]any{"displayName": "G", "members": []any{map[string]any{"value": "1"}}}
	srv := newEdge(t, newMemBackend(UserSchema(), "User"), groups)
	for _, tc := range []struct {
		query string
		want  bool
	}{
		{"", false},
		{"?excludedAttributes=members", true},
		{"?excludedAttributes=displayName,MEMBERS", true},
		{"?excludedAttributes=members.display", false},
		{"?attributes=displayName", true},
		{"?attributes=displayName,members.value", false},
		{"?attributes=urn:ietf:params:scim:schemas:core:2.0:Group:members", false},
	} {
		for _, path := range []string{"/scim/v2/Groups/g1", "/scim/v2/Groups"} {
			groups.omitted = nil
			resp, body := call(t, srv, "GET", path+tc.query, "", nil)
			if resp.StatusCode != 200 || len(groups.omitted) != 1 {
				t.Fatalf("GET %s%s: %d %v", path, tc.query, resp.StatusCode, body)
			}
			if groups.omitted[0] != tc.want {
				t.Errorf("GET %s%s: Omitted(members) = %v, want %v", path, tc.query, groups.omitted[0], tc.want)
			}
		}
	}
}
