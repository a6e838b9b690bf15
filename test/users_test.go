package test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/store"
)

func userBody(userName, given, family string, extra map[string]any) map[string]any {
	b := map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"name":     map[string]any{"givenName": given, "familyName": family},
		"emails":   []any{map[string]any{"value": userName, "type": "work", "primary": true}},
		"active":   true,
	}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func patchBody(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": list}
}

// mustCreate POSTs a user and returns its id.
func (e *env) mustCreate(body map[string]any) string {
	e.t.Helper()
	status, res := e.do("POST", "/Users", body)
	if status != 201 {
		e.t.Fatalf("POST /Users = %d %v", status, res)
	}
	id, _ := res["id"].(string)
	if id == "" {
		e.t.Fatalf("no id in %v", res)
	}
	return id
}

func (e *env) simUser(id string) simulator.User {
	e.t.Helper()
	var n int64
	fmt.Sscan(id, &n)
	u, ok := e.sim.User(n)
	if !ok {
		e.t.Fatalf("the simulator has no user %s", id)
	}
	return u
}

func listIDs(t *testing.T, body map[string]any) []string {
	t.Helper()
	res, _ := body["Resources"].([]any)
	var ids []string
	for _, r := range res {
		ids = append(ids, r.(map[string]any)["id"].(string))
	}
	return ids
}

func TestUserLifecycle(t *testing.T) {
	e := newEnv(t)
	body := userBody("ada@example.com", "Ada", "Lovelace", map[string]any{
		"externalId": "00u-ada", "title": "Analyst", "password": "hunter2!",
		"name":     map[string]any{"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada King, Countess of Lovelace"},
		"timezone": "America/New_York", "locale": "en-US",
		"phoneNumbers": []any{map[string]any{"type": "work", "value": "+1 555 0100"}},
	})
	status, created := e.do("POST", "/Users", body)
	if status != 201 {
		t.Fatalf("create: %d %v", status, created)
	}
	id := created["id"].(string)
	if _, ok := created["password"]; ok {
		t.Error("the password was returned")
	}
	su := e.simUser(id)
	if su.PrimaryEmail != "ada@example.com" || su.FirstName != "Ada" || su.LastName != "Lovelace" || su.JobTitle != "Analyst" ||
		su.TimeZone != "Eastern Time (US & Canada)" || su.Language != "en" || su.WorkPhoneNumber != "+1 555 0100" || su.IsAgent || !su.Active {
		t.Errorf("Freshservice requester after create: %+v", su)
	}
	// What Freshservice cannot hold round-trips from the store.
	if created["externalId"] != "00u-ada" || created["name"].(map[string]any)["formatted"] != "Ada King, Countess of Lovelace" ||
		created["timezone"] != "America/New_York" || created["locale"] != "en-US" {
		t.Errorf("created body lost SCIM-only values: %v", created)
	}
	if strings.Contains(e.logs.String(), "hunter2") {
		t.Error("the password reached the logs")
	}

	// A second POST with the same userName (any case) is a conflict.
	status, conflict := e.do("POST", "/Users", userBody("ADA@example.com", "Ada", "L", nil))
	if status != 409 || conflict["scimType"] != "uniqueness" {
		t.Errorf("duplicate create: %d %v", status, conflict)
	}

	// Lookups the IdPs make.
	for name, q := range map[string]string{
		"okta userName":       `filter=` + url.QueryEscape(`userName eq "ada@example.com"`) + `&startIndex=1&count=100`,
		"entra plus-encoded":  `filter=userName+eq+%22ADA%40example.com%22`,
		"entra work email":    `filter=` + url.QueryEscape(`emails[type eq "work"].value eq "ada@example.com"`),
		"externalId":          `filter=` + url.QueryEscape(`externalId eq "00u-ada"`),
		"id and userName":     `filter=` + url.QueryEscape(`id eq "`+id+`" and userName eq "ada@example.com"`),
		"title contains":      `filter=` + url.QueryEscape(`title co "naly"`),
		"not requester owner": `filter=` + url.QueryEscape(`not (userName eq "owner@example.com") and active eq true`),
	} {
		status, list := e.do("GET", "/Users?"+q, nil)
		if status != 200 || list["totalResults"] != float64(1) || len(listIDs(t, list)) != 1 || listIDs(t, list)[0] != id {
			t.Errorf("%s: %d %v", name, status, list)
		}
	}
	status, none := e.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "nobody@example.com"`), nil)
	if status != 200 || none["totalResults"] != float64(0) || none["Resources"] == nil {
		t.Errorf("no match: %d %v", status, none)
	}

	// Okta deactivates with a path-less replace; the user is still readable.
	status, patched := e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "replace", "value": map[string]any{"active": false}}))
	if status != 200 || patched["active"] != false {
		t.Fatalf("deactivate: %d %v", status, patched)
	}
	if e.simUser(id).Active {
		t.Error("Freshservice user still active")
	}
	status, got := e.do("GET", "/Users/"+id, nil)
	if status != 200 || got["active"] != false {
		t.Errorf("GET of a deactivated user: %d %v", status, got)
	}
	// Entra reactivates with a capitalised op and a string boolean.
	status, patched = e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "Replace", "path": "active", "value": "True"}))
	if status != 200 || patched["active"] != true || !e.simUser(id).Active {
		t.Fatalf("reactivate: %d %v", status, patched)
	}

	// Okta's GET then PUT of the whole object, echoing id and meta.
	got["active"] = true
	got["title"] = "Lead Analyst"
	got["password"] = "new-pass"
	status, put := e.do("PUT", "/Users/"+id, got)
	if status != 200 || put["title"] != "Lead Analyst" || e.simUser(id).JobTitle != "Lead Analyst" {
		t.Errorf("PUT: %d %v / %+v", status, put, e.simUser(id))
	}

	// DELETE deactivates; the user is gone for SCIM, not for Freshservice.
	status, _ = e.do("DELETE", "/Users/"+id, nil)
	if status != 204 {
		t.Fatalf("delete: %d", status)
	}
	if su := e.simUser(id); su.Active {
		t.Errorf("after DELETE the Freshservice user is active: %+v", su)
	}
	if status, body := e.do("GET", "/Users/"+id, nil); status != 404 || body["status"] != "404" {
		t.Errorf("GET after delete: %d %v", status, body)
	}
	if status, _ := e.do("DELETE", "/Users/"+id, nil); status != 404 {
		t.Errorf("second DELETE: %d", status)
	}
	// A later POST of the same userName brings the same record back.
	status, again := e.do("POST", "/Users", userBody("ada@example.com", "Ada", "Byron", nil))
	if status != 201 || again["id"] != id {
		t.Fatalf("re-create: %d %v (want id %s)", status, again, id)
	}
	if su := e.simUser(id); !su.Active || su.LastName != "Byron" {
		t.Errorf("re-created Freshservice user %+v", su)
	}
}

func TestCreateTakesOverExistingFreshserviceUsers(t *testing.T) {
	for _, adopt := range []bool{true, false} {
		t.Run(fmt.Sprintf("adopt=%v", adopt), func(t *testing.T) {
			e := newEnv(t, func(c *config.Config, _ *simulator.Options) { c.SCIM.AdoptExisting = adopt })
			// Users made in Freshservice before the bridge: one active,
			// one deactivated.
			err := e.sim.Seed(simulator.SeedData{Requesters: []simulator.SeedUser{
				{FirstName: "Old", PrimaryEmail: "old@example.com", Active: ptr(false)},
				{FirstName: "Live", PrimaryEmail: "live@example.com"},
			}})
			if err != nil {
				t.Fatal(err)
			}
			old, _ := e.sim.UserByEmail("old@example.com")
			live, _ := e.sim.UserByEmail("live@example.com")
			status, res := e.do("POST", "/Users", userBody("old@example.com", "Old", "Timer", nil))
			if status != 201 || res["id"] != fmt.Sprint(old.ID) {
				t.Errorf("deactivated user: %d %v, want 201 with id %d", status, res, old.ID)
			}
			if u, _ := e.sim.User(old.ID); !u.Active || u.LastName != "Timer" {
				t.Errorf("deactivated user not reactivated and updated: %+v", u)
			}
			status, res = e.do("POST", "/Users", userBody("live@example.com", "Live", "Wire", nil))
			if adopt && (status != 201 || res["id"] != fmt.Sprint(live.ID)) {
				t.Errorf("adopt: %d %v", status, res)
			}
			if !adopt && (status != 409 || res["scimType"] != "uniqueness") {
				t.Errorf("no adopt: %d %v", status, res)
			}
			if n := len(e.sim.Users()); n != 3 {
				t.Errorf("the simulator has %d users, want 3: no duplicate", n)
			}
		})
	}
}

func TestListPagingIsStable(t *testing.T) {
	e := newEnv(t)
	var want []string
	for i := range 7 {
		want = append(want, e.mustCreate(userBody(fmt.Sprintf("p%d@example.com", i), "P", fmt.Sprint(i), nil)))
	}
	var got []string
	for start := 1; ; start += 3 {
		status, page := e.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=3", start), nil)
		if status != 200 {
			t.Fatal(status, page)
		}
		if page["totalResults"] != float64(8) {
			t.Fatalf("totalResults %v, want 8 (7 + the owner)", page["totalResults"])
		}
		ids := listIDs(t, page)
		if page["itemsPerPage"] != float64(len(ids)) || page["startIndex"] != float64(start) {
			t.Errorf("page fields %v", page)
		}
		got = append(got, ids...)
		if len(ids) < 3 {
			break
		}
	}
	if len(got) != 8 || got[1] != want[0] || got[7] != want[6] {
		t.Errorf("pages gave %v; want the owner then %v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }

func TestProjectionAndGroupUniqueness(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate(userBody("pro@example.com", "Pro", "Jection", map[string]any{"title": "T"}))
	status, body := e.do("GET", "/Users/"+id+"?attributes=userName,name.givenName", nil)
	if status != 200 || body["userName"] != "pro@example.com" || body["title"] != nil || body["emails"] != nil {
		t.Errorf("attributes=userName,name.givenName: %d %v", status, body)
	}
	if n, _ := body["name"].(map[string]any); n["givenName"] != "Pro" || n["familyName"] != nil {
		t.Errorf("name projection: %v", body["name"])
	}
	status, body = e.do("GET", "/Users/"+id+"?excludedAttributes=emails,title", nil)
	if status != 200 || body["emails"] != nil || body["title"] != nil || body["userName"] == nil || body["id"] != id {
		t.Errorf("excludedAttributes: %d %v", status, body)
	}
	g := e.mustGroup("Contractors", id)
	status, body = e.do("POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "contractors"})
	if status != 409 || body["scimType"] != "uniqueness" {
		t.Errorf("duplicate displayName: %d %v", status, body)
	}
	status, body = e.do("GET", "/Groups/"+g+"?excludedAttributes=members", nil)
	if _, ok := body["members"]; status != 200 || ok || body["displayName"] != "Contractors" {
		t.Errorf("group without members: %d %v", status, body)
	}
}

// TestActiveIsLeftAloneWhenTheIdPNeverSendsIt: an IdP whose template has
// no active (OneLogin's may not) does not manage it: a deactivation made in
// Freshservice survives later changes, and reads show Freshservice's value.
func TestActiveIsLeftAloneWhenTheIdPNeverSendsIt(t *testing.T) {
	e := newEnv(t)
	body := userBody("quiet@example.com", "Qui", "Et", map[string]any{"active": ""})
	id := e.mustCreate(body)
	if _, got := e.do("GET", "/Users/"+id, nil); got["active"] != true {
		t.Errorf("a new user reads as active=%v", got["active"])
	}
	e.simAPI("DELETE", "/requesters/"+id, nil)
	if err := e.srv.Bridge.Walk(t.Context()); err != nil {
		t.Fatal(err)
	}
	delete(body, "active")
	body["title"] = "Changed"
	if status, got := e.do("PUT", "/Users/"+id, body); status != 200 || got["active"] != false {
		t.Errorf("PUT without active: %d active=%v", status, got["active"])
	}
	if su := e.simUser(id); su.Active || su.JobTitle != "" && su.JobTitle != "Changed" {
		t.Errorf("the user deactivated in Freshservice was reactivated: %+v", su)
	}
	// The create's audit row names the user it made.
	events, err := e.srv.Store.ListAudit(t.Context(), store.AuditQuery{Operation: "user.create"})
	if err != nil || len(events) != 1 || events[0].SCIMID != id || itoa(events[0].FSID) != id {
		t.Errorf("audit of the create: %+v %v", events, err)
	}
}
