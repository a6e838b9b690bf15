package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
)

// callsSince lists the Freshservice calls made since the request log held
// mark entries, as "METHOD path".
func (e *env) callsSince(mark int) []string {
	e.t.Helper()
	var out []string
	for _, r := range e.sim.Requests()[mark:] {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// expectCalls runs do and checks that it made exactly the Freshservice
// calls want, in order.
func (e *env) expectCalls(what string, want []string, do func()) {
	e.t.Helper()
	mark := len(e.sim.Requests())
	do()
	if got := e.callsSince(mark); !slices.Equal(got, want) {
		e.t.Errorf("%s made the calls %q, want %q", what, got, want)
	}
}

// realTenantEnv is an env whose simulator answers repeated agent calls as
// repeat says, with a role group that makes agents and a mapped agent
// group. No walk runs on its own: the tests count every call.
func realTenantEnv(t *testing.T, repeat string, mod ...envOption) *env {
	t.Helper()
	opts := append([]envOption{func(c *config.Config, o *simulator.Options) {
		o.Switches.AgentRepeatCalls = repeat
		c.Mirror.RefreshInterval = 24 * time.Hour
		c.Rules = config.Rules{
			RoleGroups: []config.RoleGroup{{Match: config.Match{DisplayName: "FS Agents"},
				Roles: []config.RoleGrant{{Role: "SD Agent", Scope: "member_groups"}}, MemberOf: []string{"Service Desk"}}},
			AgentGroups: []config.AgentGroupMap{{Match: config.Match{DisplayName: "Network Team"}}},
		}
	}}, mod...)
	return newEnv(t, opts...)
}

func (e *env) patchActive(id string, active bool) {
	e.t.Helper()
	status, body := e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "replace", "path": "active", "value": active}))
	if status != 200 || body["active"] != active {
		e.t.Errorf("PATCH active=%v: %d %v, want 200 with active %v", active, status, body, active)
	}
	if got := e.simUser(id).Active; got != active {
		e.t.Errorf("after PATCH active=%v the Freshservice user has active=%v", active, got)
	}
}

// TestRealTenantRepeatAnswersAreTakenInStride: a real tenant answers 404 to
// the deactivation of a deactivated requester, 400 contact_already_active
// to the reactivation of an active one, and 404 to the removal of a
// requester-group member who is not one; agents may answer so too
// (agent_repeat_calls=fail) or as the first call did (succeed). When an
// admin did the change in Freshservice first, the IdP's same change
// succeeds, leaves Freshservice as asked, and costs the one call it asks
// for: no second attempt, no read to find out.
func TestRealTenantRepeatAnswersAreTakenInStride(t *testing.T) {
	for _, repeat := range []string{simulator.RepeatSucceed, simulator.RepeatFail} {
		for _, kind := range []string{"requester", "agent"} {
			t.Run(kind+"/agent_repeat_calls="+repeat, func(t *testing.T) {
				e := realTenantEnv(t, repeat)
				email := kind + "-" + repeat + "@example.com"
				id := e.mustCreate(userBody(email, "Rea", "Tenant", nil))
				n, _ := strconv.ParseInt(id, 10, 64)
				view := "/requesters/" + id
				if kind == "agent" {
					e.mustGroup("FS Agents", id)
					if !e.simUser(id).IsAgent {
						t.Fatalf("the role group did not make %s an agent", email)
					}
					view = "/agents/" + id
				}

				// A group membership an admin removed in Freshservice first.
				if kind == "requester" {
					g := e.mustGroup("Contractors", id)
					rg, ok := e.sim.RequesterGroupByName("Contractors")
					if !ok || !slices.Contains(e.sim.RequesterGroupMembers(rg.ID), n) {
						t.Fatalf("requester group Contractors in Freshservice: %v %v", rg, e.sim.RequesterGroupMembers(rg.ID))
					}
					members := fmt.Sprintf("/requester_groups/%d/members/%s", rg.ID, id)
					e.simAPI("DELETE", members, nil)
					e.expectCalls("removing a member an admin removed", []string{"DELETE /api/v2" + members}, func() {
						if status, body := e.removeMember(g, id); status != 204 && status != 200 {
							t.Errorf("PATCH remove member: %d %v, want 2xx", status, body)
						}
					})
					if slices.Contains(e.sim.RequesterGroupMembers(rg.ID), n) {
						t.Errorf("%s is a member of Contractors in Freshservice again", email)
					}
				} else {
					g := e.mustGroup("Network Team", id)
					if !e.inAgentGroup("Network Team", n) {
						t.Fatalf("%s did not join Network Team", email)
					}
					team, _ := e.sim.AgentGroupByName("Network Team")
					if err := e.sim.EditAgentGroup(team.ID, func(g *simulator.Group) {
						g.Members = slices.DeleteFunc(g.Members, func(m int64) bool { return m == n })
					}); err != nil {
						t.Fatal(err)
					}
					e.expectCalls("removing a member an admin removed", []string{fmt.Sprintf("GET /api/v2/groups/%d", team.ID)}, func() {
						if status, body := e.removeMember(g, id); status != 204 && status != 200 {
							t.Errorf("PATCH remove member: %d %v, want 2xx", status, body)
						}
					})
					if e.inAgentGroup("Network Team", n) {
						t.Errorf("%s is a member of Network Team in Freshservice again", email)
					}
				}

				// Deactivated by an admin, then by the IdP, twice.
				e.simAPI("DELETE", view, nil)
				e.expectCalls("deactivating a user an admin deactivated", []string{"DELETE /api/v2" + view}, func() {
					e.patchActive(id, false)
				})
				e.expectCalls("deactivating again", nil, func() { e.patchActive(id, false) })

				// Reactivated by an admin, then by the IdP.
				e.simAPI("PUT", view+"/reactivate", nil)
				e.expectCalls("reactivating a user an admin reactivated", []string{"PUT /api/v2" + view + "/reactivate"}, func() {
					e.patchActive(id, true)
				})
				status, got := e.do("GET", "/Users/"+id, nil)
				ext, _ := got["urn:ietf:params:scim:schemas:extension:freshservice:2.0:User"].(map[string]any)
				if status != 200 || got["active"] != true || (kind == "agent") != (ext["agentType"] != nil) {
					t.Errorf("GET /Users/%s: %d %v", id, status, got)
				}
				if u := e.simUser(id); !u.Active || u.IsAgent != (kind == "agent") {
					t.Errorf("Freshservice user at the end: %+v", u)
				}
				if logs := e.logs.String(); strings.Contains(logs, "retrying later") {
					t.Errorf("a plan was left to the background pass:\n%s", logs)
				}
			})
		}
	}
}

// TestAgentsAreReadThroughTheAgentView: where Freshservice's requester
// view answers 404 for agents (requester_view_of_agents=404), a 404 to
// GET /requesters/{id} does not mean the user is gone. An agent the walk's
// pages missed twice, so that the walk reads it by id, and an agent a
// webhook reports as a requester, stay in the mirror, as agents.
func TestAgentsAreReadThroughTheAgentView(t *testing.T) {
	const secret = "webhook-secret-0123456789"
	var hidden atomic.Int64 // the id the list pages leave out
	e := newEnvWrapped(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := strings.TrimPrefix(r.URL.Path, "/api/v2/")
			if r.Method != "GET" || (key != "requesters" && key != "agents") || r.URL.Query().Get("email") != "" {
				next.ServeHTTP(w, r)
				return
			}
			filterListPage(w, r, next, key, func(id int64) bool { return id == hidden.Load() })
		})
	}, func(c *config.Config, o *simulator.Options) {
		o.Switches.RequesterViewOfAgents = simulator.RequesterViewNotFound
		c.Webhook.Secret = config.Secret(secret)
		c.Mirror.RefreshInterval = 24 * time.Hour
		c.Rules = config.Rules{RoleGroups: []config.RoleGroup{{Match: config.Match{DisplayName: "FS Agents"},
			Roles: []config.RoleGrant{{Role: "SD Agent", Scope: "member_groups"}}, MemberOf: []string{"Service Desk"}}}}
	})
	id := e.mustCreate(userBody("viewed@example.com", "Vie", "Wed", nil))
	e.mustGroup("FS Agents", id)
	n, _ := strconv.ParseInt(id, 10, 64)
	if !e.simUser(id).IsAgent {
		t.Fatalf("the role group did not make the user an agent: %+v", e.simUser(id))
	}
	isAgent := func(when string) {
		t.Helper()
		status, got := e.do("GET", "/Users/"+id, nil)
		ext, _ := got["urn:ietf:params:scim:schemas:extension:freshservice:2.0:User"].(map[string]any)
		if status != 200 || ext["agentType"] != "fulltime" || got["userName"] != "viewed@example.com" {
			t.Errorf("GET /Users/%s %s: %d %v, want the full-time agent", id, when, status, got)
		}
	}

	hidden.Store(n)
	for range 2 {
		if err := e.srv.Bridge.Walk(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	isAgent("after two walks that missed it")
	read := 0
	for _, r := range e.sim.Requests() {
		if r.Method == "GET" && r.Path == "/api/v2/agents/"+id {
			read++
		}
	}
	if read == 0 {
		t.Error("the second walk did not read the agent its pages missed twice through the agent view")
	}

	e.simAPI("PUT", "/agents/"+id, map[string]any{"job_title": "Set by an admin"})
	req, _ := http.NewRequest("POST", strings.TrimSuffix(e.url, "/scim/v2")+"/webhooks/freshservice", strings.NewReader(`{"requester_id":`+id+`}`))
	req.Header.Set("X-Webhook-Secret", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body["exists"] != true {
		t.Errorf("webhook for the agent as a requester: %d %v, want 200 exists", resp.StatusCode, body)
	}
	isAgent("after the webhook")
	if _, got := e.do("GET", "/Users/"+id, nil); got["title"] != "Set by an admin" {
		t.Errorf("the webhook did not refresh the agent: title %v", got["title"])
	}
}

// TestRewrittenValuesAreNotSentAgain: where Freshservice rewrites phone
// numbers and names on write (normalize_on_write), what it stores differs
// from what the IdP sent. The bridge takes the rewritten value for the one
// it sent: no walk, reconcile or repeated PUT of the same user sends it
// again, and the IdP reads back what it wrote.
func TestRewrittenValuesAreNotSentAgain(t *testing.T) {
	e := newEnv(t, func(c *config.Config, o *simulator.Options) {
		o.Switches.NormalizeOnWrite = true
		c.Mirror.RefreshInterval = 24 * time.Hour
	})
	body := userBody("mary@example.com", " Mary  Ann", "Smith", map[string]any{
		"phoneNumbers": []any{map[string]any{"type": "work", "value": "+1 (800) 555-0100"}},
	})
	status, created := e.do("POST", "/Users", body)
	if status != 201 {
		t.Fatalf("POST /Users: %d %v", status, created)
	}
	id := created["id"].(string)
	if u := e.simUser(id); u.FirstName != "Mary Ann" || u.WorkPhoneNumber != "+18005550100" {
		t.Fatalf("Freshservice did not rewrite the values: %q %q", u.FirstName, u.WorkPhoneNumber)
	}
	puts := func() int {
		n := 0
		for _, r := range e.sim.Requests() {
			if r.Method == "PUT" && r.Path == "/api/v2/requesters/"+id {
				n++
			}
		}
		return n
	}
	if n := puts(); n != 0 {
		t.Errorf("the create sent %d PUTs of the user, want none", n)
	}
	for range 2 {
		if err := e.srv.Bridge.Walk(t.Context()); err != nil {
			t.Fatal(err)
		}
		e.srv.Bridge.ReconcilePass(t.Context())
	}
	// Okta's GET then PUT of the whole user, unchanged.
	_, got := e.do("GET", "/Users/"+id, nil)
	if status, put := e.do("PUT", "/Users/"+id, got); status != 200 {
		t.Errorf("PUT of the unchanged user: %d %v", status, put)
	}
	// An IdP that sends its own values again (Entra, Okta's next push).
	if status, put := e.do("PUT", "/Users/"+id, body); status != 200 {
		t.Errorf("PUT of the IdP's values again: %d %v", status, put)
	}
	e.srv.Bridge.ReconcilePass(t.Context())
	if n := puts(); n != 0 {
		t.Errorf("walks, reconciles and unchanged PUTs sent %d PUTs of the user, want none", n)
	}
	if drift, err := e.srv.Bridge.FindDrift(t.Context(), false); err != nil || len(drift) != 0 {
		t.Errorf("drift: %+v %v, want none", drift, err)
	}
	_, got = e.do("GET", "/Users/"+id, nil)
	name, _ := got["name"].(map[string]any)
	phones, _ := got["phoneNumbers"].([]any)
	if name["givenName"] != " Mary  Ann" || len(phones) != 1 || phones[0].(map[string]any)["value"] != "+1 (800) 555-0100" {
		t.Errorf("GET /Users/%s shows name %v phones %v, want the IdP's values", id, got["name"], got["phoneNumbers"])
	}

	// A real change is still sent.
	got["phoneNumbers"] = []any{map[string]any{"type": "work", "value": "+1 (800) 555-0199"}}
	if status, put := e.do("PUT", "/Users/"+id, got); status != 200 {
		t.Errorf("PUT with a new phone: %d %v", status, put)
	}
	if n, u := puts(), e.simUser(id); n != 1 || u.WorkPhoneNumber != "+18005550199" {
		t.Errorf("a new phone: %d PUTs, Freshservice holds %q; want 1 PUT and +18005550199", n, u.WorkPhoneNumber)
	}
}

// TestLimitedKeyWalkKeepsAgentsItCannotList: a key whose owner's role sees
// part of the account (key_role=limited) lists only the agents who share
// an agent group with the owner. Walks that see only part of the account
// read the others by id, which such a key may, and keep them: no managed
// user is dropped, made again or changed, and the IdP still reads them;
// also where the requester view answers 404 for agents.
func TestLimitedKeyWalkKeepsAgentsItCannotList(t *testing.T) {
	for _, view := range []string{simulator.RequesterViewShow, simulator.RequesterViewNotFound} {
		t.Run("requester_view_of_agents="+view, func(t *testing.T) {
			limitedKeyWalk(t, view)
		})
	}
}

func limitedKeyWalk(t *testing.T, view string) {
	e := realTenantEnv(t, simulator.RepeatSucceed, func(_ *config.Config, o *simulator.Options) {
		o.Switches.RequesterViewOfAgents = view
	})
	agents := []string{
		e.mustCreate(userBody("hidden1@example.com", "Hid", "Den", nil)),
		e.mustCreate(userBody("hidden2@example.com", "Hid", "Den", nil)),
	}
	requester := e.mustCreate(userBody("plain@example.com", "Pla", "In", nil))
	e.mustGroup("FS Agents", agents...)
	for _, id := range agents {
		if !e.simUser(id).IsAgent {
			t.Fatalf("user %s is not an agent", id)
		}
	}
	sw := e.sim.Switches()
	sw.KeyRole = simulator.KeyRoleLimited
	e.sim.SetSwitches(sw)
	mark := len(e.sim.Requests())
	for range 3 {
		if err := e.srv.Bridge.Walk(t.Context()); err != nil {
			t.Fatal(err)
		}
		e.srv.Bridge.ReconcilePass(t.Context())
	}
	for _, id := range append(slices.Clone(agents), requester) {
		status, got := e.do("GET", "/Users/"+id, nil)
		ext, _ := got["urn:ietf:params:scim:schemas:extension:freshservice:2.0:User"].(map[string]any)
		if status != 200 || (id != requester) != (ext["agentType"] == "fulltime") {
			t.Errorf("GET /Users/%s after walks with a limited key: %d %v", id, status, got)
		}
	}
	listed := map[string]bool{}
	for _, c := range e.callsSince(mark) {
		if !strings.HasPrefix(c, "GET ") {
			t.Errorf("the walks made a write: %s", c)
		}
		listed[c] = true
	}
	for _, id := range agents {
		if !listed["GET /api/v2/requesters/"+id] && !listed["GET /api/v2/agents/"+id] {
			t.Errorf("no walk read agent %s, which the lists leave out", id)
		}
		if u := e.simUser(id); !u.IsAgent || !u.Active || !e.inAgentGroup("Service Desk", u.ID) {
			t.Errorf("agent %s in Freshservice after the walks: %+v", id, u)
		}
	}

	// The IdP's next change to a hidden agent is an update, not a create.
	mark = len(e.sim.Requests())
	_, got := e.do("GET", "/Users/"+agents[0], nil)
	got["title"] = "Changed by the IdP"
	if status, put := e.do("PUT", "/Users/"+agents[0], got); status != 200 || put["title"] != "Changed by the IdP" {
		t.Errorf("PUT of a hidden agent: %d %v", status, put)
	}
	for _, c := range e.callsSince(mark) {
		if strings.HasPrefix(c, "POST ") || strings.Contains(c, "convert") {
			t.Errorf("the PUT of a hidden agent made %s", c)
		}
	}
	if u := e.simUser(agents[0]); u.JobTitle != "Changed by the IdP" {
		t.Errorf("Freshservice agent after the PUT: %+v", u)
	}
}

// TestLimitedKeyWalkReadsWithinItsShare: with a key that lists part of the
// account, every walk misses the agents it cannot list and reads them by
// id. Those reads keep to the walk's share of the budget per window, as
// its pages do, so a large account's walk leaves the IdP's writes their
// credit.
func TestLimitedKeyWalkReadsWithinItsShare(t *testing.T) {
	const share = 0.25
	e := newEnv(t, func(c *config.Config, o *simulator.Options) {
		o.Plan, o.TimeScale = "starter", 120
		c.Freshservice.Plan = "starter"
		c.Freshservice.Window = time.Minute / 120
		c.Mirror.Share = share
		c.Mirror.RefreshInterval = 24 * time.Hour
	})
	var agents []simulator.SeedUser
	for i := range 40 {
		agents = append(agents, simulator.SeedUser{FirstName: "L", Email: fmt.Sprintf("l%d@example.com", i),
			Roles: []simulator.SeedRoleAssignment{{Role: "SD Agent"}}})
	}
	if err := e.sim.Seed(simulator.SeedData{Agents: agents}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Bridge.Walk(t.Context()); err != nil {
		t.Fatal(err)
	}
	sw := e.sim.Switches()
	sw.KeyRole = simulator.KeyRoleLimited
	e.sim.SetSwitches(sw)
	mark := len(e.sim.Requests())
	for range 2 {
		if err := e.srv.Bridge.Walk(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	var times []time.Time
	for _, r := range e.sim.Requests()[mark:] {
		if r.Method == "GET" && (r.Route == "/api/v2/requesters/{id}" || r.Route == "/api/v2/agents/{id}") {
			times = append(times, r.Time)
		}
	}
	if len(times) < 40 {
		t.Fatalf("the walks read %d users by id, want the 40 agents the lists leave out", len(times))
	}
	window := e.sim.Window()
	limit := int(40*share) + 1 // the Starter list bucket is 40 a minute
	for i := range times {
		n := 0
		for j := i; j < len(times) && times[j].Sub(times[i]) < window; j++ {
			n++
		}
		if n > limit {
			t.Fatalf("%d reads by id in one window; the walk's share allows %d", n, limit)
		}
	}
	if got := e.srv.Bridge.Directory().Len(); got < 41 {
		t.Errorf("the mirror holds %d users after the walks, want the 40 agents and the owner", got)
	}
}

// TestHealingARemovalAnAdminMadeMeanwhile: drift found a requester-group
// member the IdP's group does not have; an admin removes it in Freshservice
// before the heal runs. The heal's removal is answered 404 (not a member)
// and counts as done.
func TestHealingARemovalAnAdminMadeMeanwhile(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate(userBody("kept@example.com", "Kep", "T", nil))
	extra := e.mustCreate(userBody("extra@example.com", "Ext", "Ra", nil))
	e.mustGroup("Contractors", id)
	rg, _ := e.sim.RequesterGroupByName("Contractors")
	members := "/requester_groups/" + itoa(rg.ID) + "/members/" + extra
	e.simAPI("POST", members, nil)
	items, err := e.srv.Bridge.FindDrift(t.Context(), true)
	if err != nil || len(items) != 1 {
		t.Fatalf("drift: %+v %v, want the extra member", items, err)
	}
	e.simAPI("DELETE", members, nil)
	e.expectCalls("healing", []string{"DELETE /api/v2" + members}, func() {
		if err := e.srv.Bridge.Heal(t.Context(), items); err != nil {
			t.Errorf("heal: %v", err)
		}
	})
	if got := e.sim.RequesterGroupMembers(rg.ID); len(got) != 1 || itoa(got[0]) != id {
		t.Errorf("Contractors in Freshservice after healing: %v, want only %s", got, id)
	}
}

// TestTakenEmailIsAUniquenessConflictWhateverTheBody: a real tenant
// answers 409 to a create whose email any user holds, with a body that is
// not public (duplicate_email_body=conflict names no field). The IdP gets
// 409 uniqueness, as with the documented duplicate_value body, not a 400.
func TestTakenEmailIsAUniquenessConflictWhateverTheBody(t *testing.T) {
	for _, body := range []string{"validation", "conflict"} {
		t.Run("duplicate_email_body="+body, func(t *testing.T) {
			e := newEnv(t, func(c *config.Config, o *simulator.Options) {
				o.Switches.DuplicateEmailBody = body
				c.Mirror.RefreshInterval = 24 * time.Hour
			})
			// Made in Freshservice after the bridge's walk: the mirror does
			// not know the email is taken.
			e.simAPI("POST", "/requesters", map[string]any{"first_name": "Own", "primary_email": "taken@example.com"})
			status, got := e.do("POST", "/Users", userBody("new@example.com", "Ne", "W", map[string]any{
				"emails": []any{
					map[string]any{"value": "new@example.com", "type": "work", "primary": true},
					map[string]any{"value": "taken@example.com", "type": "other"},
				},
			}))
			if status != 409 || got["scimType"] != "uniqueness" {
				t.Errorf("create with a taken secondary email: %d %v, want 409 uniqueness", status, got)
			}
			if _, ok := e.sim.UserByEmail("new@example.com"); ok {
				t.Error("Freshservice has a user for new@example.com")
			}
		})
	}
}

// TestDeactivationAnswered404IsConfirmedByTheWalk: a 404 to a deactivation
// is taken as done without a read, as a real tenant answers so for a user
// already deactivated; the next walk confirms it at no cost. But it is the
// answer too when an admin moved the user to the other view first (DELETE
// /requesters/{id} of an agent): the walk then shows the user still active,
// and the bridge deactivates it through the view it is in now, so a leaver
// keeps no access.
func TestDeactivationAnswered404IsConfirmedByTheWalk(t *testing.T) {
	for _, tc := range []struct{ name, kind, admin string }{
		{"requester deactivated by an admin", "requester", "DELETE /requesters/{id}"},
		{"requester made agent by an admin", "requester", "PUT /requesters/{id}/convert_to_agent"},
		{"agent made requester by an admin", "agent", "PUT /agents/{id}/convert_to_requester"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := realTenantEnv(t, simulator.RepeatFail)
			id := e.mustCreate(userBody(tc.kind+"@example.com", "Mov", "Ed", nil))
			view := "/requesters/" + id
			if tc.kind == "agent" {
				e.mustGroup("FS Agents", id)
				view = "/agents/" + id
			}
			method, path, _ := strings.Cut(strings.ReplaceAll(tc.admin, "{id}", id), " ")
			e.simAPI(method, path, nil)
			e.expectCalls("deactivating", []string{"DELETE /api/v2" + view}, func() {
				status, body := e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "replace", "path": "active", "value": false}))
				if status != 200 || body["active"] != false {
					t.Errorf("PATCH active=false: %d %v", status, body)
				}
			})
			mark := len(e.sim.Requests())
			if err := e.srv.Bridge.Walk(t.Context()); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the user deactivated in Freshservice and shown so", func() bool {
				status, got := e.do("GET", "/Users/"+id, nil)
				return !e.simUser(id).Active && status == 200 && got["active"] == false
			})
			if drift, err := e.srv.Bridge.FindDrift(t.Context(), false); err != nil || len(drift) != 0 {
				t.Errorf("drift after the walk: %+v %v, want none", drift, err)
			}
			if tc.admin == "DELETE /requesters/{id}" {
				if err := e.srv.Bridge.Walk(t.Context()); err != nil {
					t.Fatal(err)
				}
				e.srv.Bridge.ReconcilePass(t.Context())
				for _, c := range e.callsSince(mark) {
					if strings.Contains(c, "/"+id) {
						t.Errorf("the walks made %s for a user whose deactivation they confirmed", c)
					}
				}
			}
		})
	}
}
