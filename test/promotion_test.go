package test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/store"
)

// rulesEnv is an env with the demo's rules plus a "Network Ops" role
// group whose on_leave is given.
func rulesEnv(t *testing.T, onLeave string, mod ...envOption) *env {
	t.Helper()
	opts := append([]envOption{func(c *config.Config, _ *simulator.Options) {
		c.Rules = config.Rules{
			RoleGroups: []config.RoleGroup{
				{Match: config.Match{DisplayName: "FS Agents"}, Roles: []config.RoleGrant{{Role: "SD Agent", Scope: "member_groups"}}, MemberOf: []string{"Service Desk"}},
				{Name: "admins", Match: config.Match{DisplayName: "FS Admins", Role: "Admin"}, Roles: []config.RoleGrant{{Role: "Account Admin", Scope: "entire_helpdesk"}}},
				{Match: config.Match{DisplayName: "Network Ops"}, Roles: []config.RoleGrant{{Role: "IT Ops Agent", Scope: "entire_helpdesk"}}, MemberOf: []string{"Network Team"}, OnLeave: onLeave, Occasional: true},
			},
			AgentGroups: []config.AgentGroupMap{{Match: config.Match{DisplayName: "Network Team"}}},
		}
	}}, mod...)
	return newEnv(t, opts...)
}

func (e *env) mustGroup(name string, members ...string) string {
	e.t.Helper()
	var m []any
	for _, id := range members {
		m = append(m, map[string]any{"value": id})
	}
	status, body := e.do("POST", "/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name, "members": m,
	})
	if status != 201 {
		e.t.Fatalf("POST /Groups %s: %d %v", name, status, body)
	}
	return body["id"].(string)
}

func (e *env) addMembers(group string, ids ...string) (int, map[string]any) {
	e.t.Helper()
	var m []any
	for _, id := range ids {
		m = append(m, map[string]any{"value": id})
	}
	return e.do("PATCH", "/Groups/"+group, patchBody(map[string]any{"op": "add", "path": "members", "value": m}))
}

func (e *env) removeMember(group, id string) (int, map[string]any) {
	e.t.Helper()
	return e.do("PATCH", "/Groups/"+group, patchBody(map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, id)}))
}

// roleNames are the names of a simulator user's roles, sorted.
func (e *env) roleNames(u simulator.User) []string {
	var out []string
	for _, r := range u.Roles {
		for _, known := range e.sim.Roles() {
			if known.ID == r.RoleID {
				out = append(out, known.Name+"/"+r.AssignmentScope)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (e *env) inAgentGroup(name string, userID int64) bool {
	g, ok := e.sim.AgentGroupByName(name)
	return ok && slices.Contains(g.Members, userID)
}

func TestPromotionByRoleGroups(t *testing.T) {
	e := rulesEnv(t, config.OnLeaveDemote)
	id := e.mustCreate(userBody("pat@example.com", "Pat", "Lee", nil))
	su := e.simUser(id)
	contractors := e.mustGroup("Contractors", id)
	rg, _ := e.sim.RequesterGroupByName("Contractors")
	if !slices.Contains(e.sim.RequesterGroupMembers(rg.ID), su.ID) {
		t.Fatal("not a requester-group member")
	}
	_ = contractors

	// Joining FS Agents: a full-time agent with SD Agent in Service Desk,
	// in two calls (convert, then one PUT).
	agents := e.mustGroup("FS Agents")
	before := e.sim.Stats().Total
	if status, body := e.addMembers(agents, id); status != 204 {
		t.Fatalf("add to FS Agents: %d %v", status, body)
	}
	if n := e.sim.Stats().Total - before; n > 2 {
		t.Errorf("promotion took %d calls, want at most 2", n)
	}
	su = e.simUser(id)
	if !su.IsAgent || su.Occasional || !slices.Equal(e.roleNames(su), []string{"SD Agent/member_groups"}) || !e.inAgentGroup("Service Desk", su.ID) {
		t.Fatalf("after FS Agents: agent=%v occasional=%v roles=%v desk=%v", su.IsAgent, su.Occasional, e.roleNames(su), e.inAgentGroup("Service Desk", su.ID))
	}
	// The SCIM view says so.
	if _, body := e.do("GET", "/Users/"+id, nil); body["urn:ietf:params:scim:schemas:extension:freshservice:2.0:User"].(map[string]any)["agentType"] != "fulltime" {
		t.Errorf("agentType not shown: %v", body)
	}

	// A second role group: the union.
	admins := e.mustGroup("FS Admins", id)
	su = e.simUser(id)
	if !slices.Equal(e.roleNames(su), []string{"Account Admin/entire_helpdesk", "SD Agent/member_groups"}) {
		t.Errorf("union of two rules: %v", e.roleNames(su))
	}
	// Leaving one removes only what it gave.
	if status, body := e.removeMember(agents, id); status != 204 {
		t.Fatalf("leave FS Agents: %d %v", status, body)
	}
	su = e.simUser(id)
	if !su.IsAgent || !slices.Equal(e.roleNames(su), []string{"Account Admin/entire_helpdesk"}) || e.inAgentGroup("Service Desk", su.ID) {
		t.Errorf("after leaving FS Agents: agent=%v roles=%v desk=%v", su.IsAgent, e.roleNames(su), e.inAgentGroup("Service Desk", su.ID))
	}
	// Leaving the last one demotes, and the requester groups come back.
	if status, body := e.removeMember(admins, id); status != 204 {
		t.Fatalf("leave FS Admins: %d %v", status, body)
	}
	su = e.simUser(id)
	if su.IsAgent || len(su.Roles) != 0 {
		t.Errorf("not demoted: %+v", su)
	}
	if !slices.Contains(e.sim.RequesterGroupMembers(rg.ID), su.ID) {
		t.Error("demotion did not restore the requester-group membership")
	}
}

func TestOnLeave(t *testing.T) {
	for _, tc := range []struct {
		onLeave       string
		agent, active bool
	}{
		{config.OnLeaveDemote, false, true},
		{config.OnLeaveKeep, true, true},
		{config.OnLeaveDeactivate, true, false},
	} {
		t.Run(tc.onLeave, func(t *testing.T) {
			e := rulesEnv(t, tc.onLeave)
			id := e.mustCreate(userBody("ops@example.com", "Op", "S", nil))
			g := e.mustGroup("Network Ops", id)
			su := e.simUser(id)
			if !su.IsAgent || !su.Occasional || !e.inAgentGroup("Network Team", su.ID) {
				t.Fatalf("not an occasional agent in Network Team: %+v", su)
			}
			if status, body := e.removeMember(g, id); status != 204 {
				t.Fatalf("leave: %d %v", status, body)
			}
			su = e.simUser(id)
			if su.IsAgent != tc.agent || su.Active != tc.active {
				t.Errorf("on_leave %s: agent=%v active=%v, want %v %v", tc.onLeave, su.IsAgent, su.Active, tc.agent, tc.active)
			}
		})
	}
}

func TestNewUserInRoleGroupIsCreatedAsAgentInOneCall(t *testing.T) {
	e := rulesEnv(t, config.OnLeaveDemote)
	// Entra app role on the user: roles JSON-in-string form, normalised.
	before := e.sim.Stats().Total
	id := e.mustCreate(userBody("boss@example.com", "Big", "Boss", map[string]any{
		"roles": []any{map[string]any{"value": `{"id":"827f","value":"Admin","displayName":"Admin"}`}},
	}))
	if n := e.sim.Stats().Total - before; n != 1 {
		t.Errorf("creating an agent with roles took %d calls, want 1", n)
	}
	su := e.simUser(id)
	if !su.IsAgent || !slices.Equal(e.roleNames(su), []string{"Account Admin/entire_helpdesk"}) {
		t.Errorf("agent from the roles attribute: agent=%v roles=%v", su.IsAgent, e.roleNames(su))
	}
	// The extension says requester: demoted although the role stays.
	status, body := e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "add",
		"path": "urn:ietf:params:scim:schemas:extension:freshservice:2.0:User:userType", "value": "requester"}))
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	if su := e.simUser(id); su.IsAgent {
		t.Error("userType requester did not demote")
	}
	// An unknown role is refused, and nothing changes.
	status, body = e.do("PATCH", "/Users/"+id, patchBody(
		map[string]any{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:freshservice:2.0:User:userType", "value": "agent"},
		map[string]any{"op": "replace", "path": "roles", "value": []any{map[string]any{"value": "Astronaut"}}}))
	if status != 400 || body["scimType"] != "invalidValue" {
		t.Errorf("unknown role: %d %v", status, body)
	}
}

func TestSeatCap(t *testing.T) {
	e := rulesEnv(t, config.OnLeaveDemote, func(c *config.Config, _ *simulator.Options) { c.Rules.MaxAgents = 2 })
	// The account owner holds one seat.
	a := e.mustCreate(userBody("a1@example.com", "A", "1", nil))
	b := e.mustCreate(userBody("a2@example.com", "A", "2", nil))
	g := e.mustGroup("FS Agents", a)
	status, body := e.addMembers(g, b)
	if status != 403 || !containsAll(fmt.Sprint(body["detail"]), "max_agents", "2") {
		t.Fatalf("beyond the cap: %d %v", status, body)
	}
	if su := e.simUser(b); su.IsAgent {
		t.Error("the user beyond the cap was promoted")
	}
	_, grp := e.do("GET", "/Groups/"+g, nil)
	if members, _ := grp["members"].([]any); len(members) != 1 {
		t.Errorf("the refused member was kept in the group: %v", grp["members"])
	}
	// It is recorded in the audit trail.
	events, err := e.srv.Store.ListAudit(t.Context(), auditQuery("error"))
	if err != nil || len(events) == 0 {
		t.Errorf("no audit event for the refused promotion: %v %v", events, err)
	}
}

func TestConcurrentAgentGroupChangesLoseNoMember(t *testing.T) {
	e := rulesEnv(t, config.OnLeaveDemote)
	const n = 12
	var ids []string
	for i := range n {
		ids = append(ids, e.mustCreate(userBody(fmt.Sprintf("net%d@example.com", i), "N", fmt.Sprint(i), nil)))
	}
	// Make them agents first (the Network Team mapping is an agent group).
	ops := e.mustGroup("Network Ops", ids...)
	_ = ops
	team := e.mustGroup("Network Team")
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			if status, body := e.addMembers(team, id); status != 204 {
				t.Errorf("add %s: %d %v", id, status, body)
			}
		})
	}
	wg.Wait()
	g, _ := e.sim.AgentGroupByName("Network Team")
	for _, id := range ids {
		var n int64
		fmt.Sscan(id, &n)
		if !slices.Contains(g.Members, n) {
			t.Errorf("user %s lost from Network Team (members %v)", id, g.Members)
		}
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func auditQuery(outcome string) store.AuditQuery { return store.AuditQuery{Outcome: outcome} }

// A request refused before anything was written (here a department
// Freshservice does not have) is in the audit trail with the person's
// userName, so "why was she not provisioned" has an answer besides the
// IdP's error log. (TestSeatCap covers the seat cap's refusal.)
func TestRefusalsAreAudited(t *testing.T) {
	e := rulesEnv(t, config.OnLeaveDemote)
	// A time format no Freshservice user can have is refused before any
	// write (an unknown department is not: the user is provisioned
	// without it, gaps_test.go).
	const ext = "urn:ietf:params:scim:schemas:extension:freshservice:2.0:User"
	bad := map[string]any{ext: map[string]any{"timeFormat": "13h"}}
	if status, body := e.do("POST", "/Users", userBody("badformat@example.com", "No", "Format", bad)); status != 400 {
		t.Fatalf("create with time format 13h: %d %v", status, body)
	}
	id := e.mustCreate(userBody("later@example.com", "Later", "Format", nil))
	if status, body := e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "add", "path": ext + ":timeFormat", "value": "13h"})); status != 400 {
		t.Fatalf("PATCH to time format 13h: %d %v", status, body)
	}
	events, err := e.srv.Store.ListAudit(t.Context(), auditQuery("error"))
	if err != nil {
		t.Fatal(err)
	}
	var create, update bool
	for _, ev := range events {
		switch {
		case ev.Operation == "user.create" && containsAll(ev.Detail, "badformat@example.com", "13h", "nothing changed"):
			create = true
		case ev.Operation == "user.update" && ev.SCIMID == id && containsAll(ev.Detail, "later@example.com", "13h"):
			update = true
		}
	}
	if !create || !update {
		t.Errorf("refusals in the audit trail: create %v, update %v; events %+v", create, update, events)
	}
	if n := len(events); n != 2 {
		t.Errorf("%d error events, want the 2 refusals: %+v", n, events)
	}
}
