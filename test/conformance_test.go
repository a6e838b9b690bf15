package test

// Conformance of the SCIM endpoint as a whole, through the real bridge and the simulator: resource
// names in any case, ETags, sorting, projection of sub-attributes, primary and repeated values,
// group members as their users read, users' groups as the groups read, and group PATCHes whose
// cost does not grow with the group. The edge alone is tested in scim/conformance_test.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/store"
)

func groupBody(name string, members ...string) map[string]any {
	ms := []any{}
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name, "members": ms}
}

func (e *env) mustCreateGroup(body map[string]any) string {
	e.t.Helper()
	status, res := e.do("POST", "/Groups", body)
	if status != 201 {
		e.t.Fatalf("POST /Groups = %d %v", status, res)
	}
	return res["id"].(string)
}

// groupNamesOf reads a user and returns the display names of its groups.
func (e *env) groupNamesOf(id string) []string {
	e.t.Helper()
	status, u := e.do("GET", "/Users/"+id, nil)
	if status != 200 {
		e.t.Fatalf("GET /Users/%s = %d %v", id, status, u)
	}
	var out []string
	gs, _ := u["groups"].([]any)
	for _, g := range gs {
		out = append(out, g.(map[string]any)["display"].(string))
	}
	slices.Sort(out)
	return out
}

func TestConformanceResourceNamesInAnyCase(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate(userBody("ada@example.com", "Ada", "Lovelace", nil))
	for _, path := range []string{
		"/users/?filter=" + url.QueryEscape(`userName eq "ada@example.com"`),
		"/USERS?filter=" + url.QueryEscape(`userName eq "ADA@example.com"`),
		"/Users/?filter=userName+eq+%22ada%40example.com%22",
	} {
		status, body := e.do("GET", path, nil)
		if status != 200 || !slices.Equal(listIDs(t, body), []string{id}) {
			t.Errorf("GET %s: %d %v", path, status, body)
		}
	}
	if status, body := e.do("GET", "/users/"+id+"/", nil); status != 200 || body["id"] != id {
		t.Errorf("GET /users/%s/: %d %v", id, status, body)
	}
	if status, body := e.do("POST", "/users/.Search", map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"filter": `userName eq "ada@example.com"`}); status != 200 || !slices.Equal(listIDs(t, body), []string{id}) {
		t.Errorf("POST /users/.Search: %d %v", status, body)
	}
}

// Group members carry their user's displayName (its userName when it has none) and an absolute
// reference to the user.
func TestConformanceGroupMembers(t *testing.T) {
	e := newEnv(t)
	ada := e.mustCreate(userBody("ada@example.com", "Ada", "Lovelace", map[string]any{"displayName": "Countess Ada"}))
	bob := e.mustCreate(userBody("bob@example.com", "Bob", "Byte", nil))
	// Bob has no displayName, so his display is his userName.
	want := map[string]string{ada: "Countess Ada", bob: "bob@example.com"}
	if _, u := e.do("GET", "/Users/"+bob, nil); u["displayName"] != nil {
		t.Fatalf("bob reads with displayName %v; this test needs a user without one", u["displayName"])
	}
	gid := e.mustCreateGroup(groupBody("Readers", ada, bob))
	status, g := e.do("GET", "/Groups/"+gid, nil)
	if status != 200 {
		t.Fatalf("%d %v", status, g)
	}
	members, _ := g["members"].([]any)
	if len(members) != 2 {
		t.Fatalf("members %v", g["members"])
	}
	for _, m := range members {
		mm := m.(map[string]any)
		id := mm["value"].(string)
		if mm["display"] != want[id] {
			t.Errorf("member %s: display %v, want %q", id, mm["display"], want[id])
		}
		if mm["$ref"] != e.url+"/Users/"+id {
			t.Errorf("member %s: $ref %v, want %s", id, mm["$ref"], e.url+"/Users/"+id)
		}
	}
	// A rename of the user shows in the group's members at once.
	if status, body := e.do("PATCH", "/Users/"+ada, patchBody(map[string]any{"op": "replace", "path": "displayName", "value": "Lady Lovelace"})); status != 200 {
		t.Fatalf("rename: %d %v", status, body)
	}
	_, g = e.do("GET", "/Groups/"+gid, nil)
	for _, m := range g["members"].([]any) {
		if mm := m.(map[string]any); mm["value"] == ada && mm["display"] != "Lady Lovelace" {
			t.Errorf("after the rename, display %v", mm["display"])
		}
	}
	// A user's groups carry an absolute reference too.
	_, u := e.do("GET", "/Users/"+ada, nil)
	gs, _ := u["groups"].([]any)
	if len(gs) != 1 || gs[0].(map[string]any)["$ref"] != e.url+"/Groups/"+gid {
		t.Errorf("user's groups %v", u["groups"])
	}
}

// A user's groups are read from memory, and every group write reaches them: add, remove in each
// IdP's form, replace, rename, PUT and delete.
func TestConformanceUserGroupsFollowGroupWrites(t *testing.T) {
	e := newEnv(t)
	ada := e.mustCreate(userBody("ada@example.com", "Ada", "Lovelace", nil))
	bob := e.mustCreate(userBody("bob@example.com", "Bob", "Byte", nil))
	g1 := e.mustCreateGroup(groupBody("Alpha", ada))
	g2 := e.mustCreateGroup(groupBody("Beta"))
	patch := func(gid string, ops ...map[string]any) {
		t.Helper()
		if status, body := e.do("PATCH", "/Groups/"+gid, patchBody(ops...)); status != 204 {
			t.Fatalf("PATCH /Groups/%s: %d %v", gid, status, body)
		}
	}
	steps := []struct {
		name     string
		do       func()
		ada, bob []string
	}{
		{"created with a member", func() {}, []string{"Alpha"}, nil},
		{"Okta add", func() {
			patch(g2, map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": ada, "display": "ada@example.com"}, map[string]any{"value": bob}}})
		}, []string{"Alpha", "Beta"}, []string{"Beta"}},
		{"RFC remove by filter", func() {
			patch(g2, map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, ada)})
		}, []string{"Alpha"}, []string{"Beta"}},
		{"Entra remove by value list", func() {
			patch(g2, map[string]any{"op": "Remove", "path": "members", "value": []any{map[string]any{"value": bob}}})
		}, []string{"Alpha"}, nil},
		{"path-less add with a rename", func() {
			patch(g2, map[string]any{"op": "replace", "value": map[string]any{"id": g2, "displayName": "Gamma"}},
				map[string]any{"op": "add", "value": map[string]any{"members": []any{map[string]any{"value": bob}}}})
		}, []string{"Alpha"}, []string{"Gamma"}},
		{"replace the member list", func() {
			patch(g1, map[string]any{"op": "replace", "path": "members", "value": []any{map[string]any{"value": bob}}})
		}, nil, []string{"Alpha", "Gamma"}},
		{"PUT", func() {
			if status, body := e.do("PUT", "/Groups/"+g1, groupBody("Alpha", ada)); status != 200 {
				t.Fatalf("PUT: %d %v", status, body)
			}
		}, []string{"Alpha"}, []string{"Gamma"}},
		{"a member filter applied to the whole group", func() {
			patch(g1, map[string]any{"op": "remove", "path": fmt.Sprintf(`members[type eq "User" and value eq "%s"]`, ada)})
		}, nil, []string{"Gamma"}},
		{"remove every member", func() {
			patch(g2, map[string]any{"op": "remove", "path": "members"})
		}, nil, nil},
		{"delete the group", func() {
			if status, body := e.do("DELETE", "/Groups/"+g1, nil); status != 204 {
				t.Fatalf("DELETE: %d %v", status, body)
			}
		}, nil, nil},
	}
	for _, s := range steps {
		s.do()
		if got := e.groupNamesOf(ada); !slices.Equal(got, s.ada) {
			t.Errorf("%s: ada's groups %v, want %v", s.name, got, s.ada)
		}
		if got := e.groupNamesOf(bob); !slices.Equal(got, s.bob) {
			t.Errorf("%s: bob's groups %v, want %v", s.name, got, s.bob)
		}
	}
	// A filter on groups reads the same memory.
	status, body := e.do("GET", "/Users?filter="+url.QueryEscape(fmt.Sprintf(`groups.value eq "%s"`, g2)), nil)
	if status != 200 || len(listIDs(t, body)) != 0 {
		t.Errorf("groups filter: %d %v", status, body)
	}
	patch(g2, map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": ada}}})
	_, body = e.do("GET", "/Users?filter="+url.QueryEscape(fmt.Sprintf(`groups.value eq "%s"`, g2)), nil)
	if !slices.Equal(listIDs(t, body), []string{ada}) {
		t.Errorf("groups filter after add: %v", body)
	}
	_, body = e.do("GET", "/Groups?filter="+url.QueryEscape(fmt.Sprintf(`members.value eq "%s"`, ada)), nil)
	if !slices.Equal(listIDs(t, body), []string{g2}) {
		t.Errorf("groups of ada by members.value: %v", body)
	}
}

// ETags through the bridge: a stale If-Match changes nothing in Freshservice.
func TestConformanceETags(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate(userBody("ada@example.com", "Ada", "Lovelace", map[string]any{"title": "Analyst"}))
	status, raw, hdr := e.doRaw("GET", "/Users/"+id, nil, nil)
	etag := hdr.Get("ETag")
	if status != 200 || etag == "" || !strings.Contains(string(raw), `"version":"`+strings.ReplaceAll(etag, `"`, `\"`)+`"`) {
		t.Fatalf("GET: %d, ETag %q, %s", status, etag, raw)
	}
	if status, raw, _ := e.doRaw("GET", "/Users/"+id, nil, http.Header{"If-None-Match": {etag}}); status != 304 || len(raw) != 0 {
		t.Errorf("If-None-Match with the current version: %d %s", status, raw)
	}
	stale := http.Header{"If-Match": {`W/"0000000000000000"`}}
	put := userBody("ada@example.com", "Ada", "Lovelace", map[string]any{"title": "Director"})
	for _, tc := range []struct {
		method string
		body   any
	}{
		{"PUT", put},
		{"PATCH", patchBody(map[string]any{"op": "replace", "path": "active", "value": false})},
		{"DELETE", nil},
	} {
		if status, raw, _ := e.doRaw(tc.method, "/Users/"+id, tc.body, stale); status != 412 || !strings.Contains(string(raw), `"status":"412"`) {
			t.Errorf("%s with a stale If-Match: %d %s", tc.method, status, raw)
		}
	}
	if u := e.simUser(id); u.JobTitle != "Analyst" || !u.Active {
		t.Errorf("a refused write reached Freshservice: title %q, active %v", u.JobTitle, u.Active)
	}
	status, raw, hdr = e.doRaw("PUT", "/Users/"+id, put, http.Header{"If-Match": {etag}})
	if status != 200 || hdr.Get("ETag") == etag {
		t.Fatalf("PUT with the current version: %d, ETag %q: %s", status, hdr.Get("ETag"), raw)
	}
	if u := e.simUser(id); u.JobTitle != "Director" {
		t.Errorf("title %q after the PUT", u.JobTitle)
	}

	gid := e.mustCreateGroup(groupBody("Readers", id))
	_, _, hdr = e.doRaw("GET", "/Groups/"+gid, nil, nil)
	gtag := hdr.Get("ETag")
	rename := patchBody(map[string]any{"op": "replace", "path": "displayName", "value": "Writers"})
	if status, _, _ := e.doRaw("PATCH", "/Groups/"+gid, rename, http.Header{"If-Match": {`W/"999"`}}); status != 412 {
		t.Errorf("group PATCH with a stale If-Match: %d", status)
	}
	status, _, hdr = e.doRaw("PATCH", "/Groups/"+gid, rename, http.Header{"If-Match": {gtag}})
	if status != 204 || hdr.Get("ETag") == "" || hdr.Get("ETag") == gtag {
		t.Errorf("group PATCH with the current version: %d, ETag %q (was %q)", status, hdr.Get("ETag"), gtag)
	}
	_, _, after := e.doRaw("GET", "/Groups/"+gid, nil, nil)
	if after.Get("ETag") != hdr.Get("ETag") {
		t.Errorf("the 204's ETag %q is not the group's %q", hdr.Get("ETag"), after.Get("ETag"))
	}
	status, body := e.do("GET", "/ServiceProviderConfig", nil)
	if status != 200 || body["etag"].(map[string]any)["supported"] != true || body["sort"].(map[string]any)["supported"] != true {
		t.Errorf("ServiceProviderConfig: %v", body)
	}
}

// Two primaries and repeated values are normalised on POST, PUT and PATCH, as Entra's and the
// Microsoft validator's string booleans arrive.
func TestConformancePrimaryEmails(t *testing.T) {
	e := newEnv(t)
	body := userBody("ada@example.com", "Ada", "Lovelace", map[string]any{"emails": []any{
		map[string]any{"value": "ada@example.com", "type": "work", "primary": "True"},
		map[string]any{"value": "ada@home.example", "type": "home", "primary": "true"},
		map[string]any{"value": "ADA@example.com", "type": "work"},
	}})
	want := []any{
		map[string]any{"value": "ada@example.com", "type": "work", "primary": true},
		map[string]any{"value": "ada@home.example", "type": "home", "primary": false},
	}
	status, created := e.do("POST", "/Users", body)
	if status != 201 {
		t.Fatalf("%d %v", status, created)
	}
	id := created["id"].(string)
	if diff := cmp.Diff(want, created["emails"]); diff != "" {
		t.Errorf("POST (-want +got):\n%s", diff)
	}
	if u := e.simUser(id); u.PrimaryEmail != "ada@example.com" {
		t.Errorf("Freshservice's primary email %q", u.PrimaryEmail)
	}
	status, got := e.do("PUT", "/Users/"+id, body)
	if status != 200 {
		t.Fatalf("PUT: %d %v", status, got)
	}
	if diff := cmp.Diff(want, got["emails"]); diff != "" {
		t.Errorf("PUT (-want +got):\n%s", diff)
	}
	status, got = e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "add", "path": "emails", "value": []any{
		map[string]any{"value": "ada@home.example", "type": "home", "primary": "True"},
		map[string]any{"value": "ada@work2.example", "type": "other", "primary": true},
	}}))
	if status != 200 {
		t.Fatalf("PATCH: %d %v", status, got)
	}
	primaries := 0
	for _, em := range got["emails"].([]any) {
		m := em.(map[string]any)
		if m["primary"] == true {
			primaries++
			if m["value"] != "ada@home.example" {
				t.Errorf("primary after the PATCH: %v", m)
			}
		}
	}
	if primaries != 1 || len(got["emails"].([]any)) != 3 {
		t.Errorf("emails after the PATCH: %v", got["emails"])
	}
}

// sortBy, sortOrder, attributes and excludedAttributes through the bridge, by GET and .search.
func TestConformanceSortAndProjection(t *testing.T) {
	e := newEnv(t)
	for _, u := range []struct{ user, given, family string }{{"carol@sort.example", "Carol", "Cray"}, {"alice@sort.example", "Alice", "Zuse"}, {"bob@sort.example", "Bob", "Babbage"}} {
		e.mustCreate(userBody(u.user, u.given, u.family, nil))
	}
	userNames := func(body map[string]any) []string {
		var out []string
		for _, r := range body["Resources"].([]any) {
			if s, ok := r.(map[string]any)["userName"].(string); ok && strings.HasSuffix(s, "@sort.example") {
				out = append(out, s)
			}
		}
		return out
	}
	filter := url.QueryEscape(`userName ew "@sort.example"`)
	status, body := e.do("GET", "/Users?filter="+filter+"&sortBy=userName&sortOrder=descending", nil)
	if want := []string{"carol@sort.example", "bob@sort.example", "alice@sort.example"}; status != 200 || !slices.Equal(userNames(body), want) {
		t.Errorf("sorted by userName descending: %d %v, want %v", status, userNames(body), want)
	}
	search := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "filter": `userName ew "@sort.example"`,
		"sortBy": "name.familyName", "attributes": []string{"userName", "name.familyName"}}
	status, body = e.do("POST", "/Users/.search", search)
	if want := []string{"bob@sort.example", "carol@sort.example", "alice@sort.example"}; status != 200 || !slices.Equal(userNames(body), want) {
		t.Errorf(".search sorted by name.familyName: %d %v, want %v", status, userNames(body), want)
	}
	for _, r := range body["Resources"].([]any) {
		m := r.(map[string]any)
		if _, ok := m["emails"]; ok || m["name"].(map[string]any)["givenName"] != nil {
			t.Errorf(".search attributes: %v", m)
		}
	}
	status, body = e.do("GET", "/Users?filter="+filter+"&excludedAttributes=emails.value,name.givenName", nil)
	if status != 200 {
		t.Fatal(status)
	}
	for _, r := range body["Resources"].([]any) {
		m := r.(map[string]any)
		if strings.Contains(fmt.Sprint(m["emails"]), "@sort.example") || m["name"].(map[string]any)["givenName"] != nil || m["userName"] == nil {
			t.Errorf("excludedAttributes: %v", m)
		}
	}
}

// Entra's work-email filter and the other lookups IdPs send find the user, and only by its own
// email of that type.
func TestConformanceLookups(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate(userBody("ada@example.com", "Ada", "Lovelace", map[string]any{"externalId": "00u-ada"}))
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{`userName eq "ADA@example.com"`, []string{id}},
		{`externalId eq "00u-ada"`, []string{id}},
		{`externalId eq "00U-ADA"`, nil},
		{`id eq "` + id + `"`, []string{id}},
		{`emails eq "ada@example.com"`, []string{id}},
		{`emails[type eq "work"].value eq "ada@example.com"`, []string{id}},
		{`emails[type eq "home"].value eq "ada@example.com"`, nil},
		{`emails[type eq "work" and value eq "Ada@Example.com"]`, []string{id}},
		{`userName eq "nobody@example.com"`, nil},
	} {
		status, body := e.do("GET", "/Users?filter="+url.QueryEscape(tc.filter), nil)
		if got := listIDs(t, body); status != 200 || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %d %v, want %v", tc.filter, status, got, tc.want)
		}
	}
}

// Adding a member to a group and taking it out again costs the same in a group of ten as in a group
// of two thousand: the change is applied to the stored list of member ids, not to a rendering of
// every member. Counted in allocations, which do not depend on the machine's speed: rendering and
// reading back two thousand members allocates tens of thousands of times.
func TestGroupMemberPatchCostDoesNotGrowWithTheGroup(t *testing.T) {
	e := newEnv(t, func(c *config.Config, o *simulator.Options) {
		// No background work during the count.
		c.Reconcile.Interval = time.Hour
		c.Mirror.RefreshInterval = time.Hour
	})
	const big = 2000
	var seed []simulator.SeedUser
	for i := range big + 1 {
		seed = append(seed, simulator.SeedUser{FirstName: "M", LastName: strconv.Itoa(i), PrimaryEmail: fmt.Sprintf("m%04d@example.com", i)})
	}
	if err := e.sim.Seed(simulator.SeedData{Requesters: seed, RequesterGroups: []simulator.SeedRequesterGroup{{Name: "Small"}, {Name: "Big"}}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.srv.Bridge.Walk(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range big + 1 {
		u, ok := e.sim.UserByEmail(fmt.Sprintf("m%04d@example.com", i))
		if !ok {
			t.Fatalf("seeded user %d missing", i)
		}
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	guest := strconv.FormatInt(ids[big], 10)
	mkGroup := func(name string, members []int64) string {
		rg, ok := e.sim.RequesterGroupByName(name)
		if !ok {
			t.Fatalf("requester group %s missing", name)
		}
		g, err := e.srv.Store.CreateGroup(ctx, store.Group{ID: "g-" + strings.ToLower(name), DisplayName: name, FSID: rg.ID,
			Doc: []byte(`{}`), Applied: []byte(`{"kind":"requester_group"}`), Members: members})
		if err != nil {
			t.Fatal(err)
		}
		return g.ID
	}
	small, large := mkGroup("Small", ids[:10]), mkGroup("Big", ids[:big])
	send := func(gid string, body map[string]any) {
		data := mustJSON(t, body)
		req := httptest.NewRequest("PATCH", "/scim/v2/Groups/"+gid, strings.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/scim+json")
		rec := httptest.NewRecorder()
		e.srv.Handler.ServeHTTP(rec, req)
		if rec.Code != 204 {
			t.Fatalf("PATCH %s: %d %s", gid, rec.Code, rec.Body.String())
		}
	}
	toggle := func(gid string) func() {
		return func() {
			send(gid, patchBody(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": guest}}}))
			send(gid, patchBody(map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, guest)}))
		}
	}
	smallCost := testing.AllocsPerRun(5, toggle(small))
	largeCost := testing.AllocsPerRun(5, toggle(large))
	t.Logf("allocations per add and remove of one member: %.0f in a group of 10, %.0f in a group of %d", smallCost, largeCost, big)
	if largeCost > smallCost+500 {
		t.Errorf("a member add and remove allocates %.0f times in a group of %d, %.0f in a group of 10: the cost grows with the group", largeCost, big, smallCost)
	}
	// And the big group is intact, without the guest.
	g, err := e.srv.Store.GetGroup(ctx, large)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.Members, ids[:big]) {
		t.Errorf("the big group has %d members after the toggles, want %d", len(g.Members), big)
	}
	if got := e.sim.RequesterGroupMembers(g.FSID); slices.Contains(got, ids[big]) {
		t.Errorf("the guest is still in the Freshservice requester group")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
