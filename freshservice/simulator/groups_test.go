package simulator_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

func TestAgentGroupMembershipBothDirections(t *testing.T) {
	e := newEnv(t, nil)
	desk, net := e.groupID("Service Desk"), e.groupID("Network Team")
	a1 := e.createAgent(map[string]any{"first_name": "A1", "email": "a1@example.com"})
	a2 := e.createAgent(map[string]any{"first_name": "A2", "email": "a2@example.com"})
	memberOf := func(uid int64) []int64 {
		return ids(t, e.do("GET", "/api/v2/agents/"+itoa(uid), nil).want(t, 200).item(t, "agent")["member_of"])
	}
	observerOf := func(uid int64) []int64 {
		return ids(t, e.do("GET", "/api/v2/agents/"+itoa(uid), nil).want(t, 200).item(t, "agent")["observer_of"])
	}
	group := func(gid int64) map[string]any {
		return e.do("GET", "/api/v2/groups/"+itoa(gid), nil).want(t, 200).item(t, "group")
	}

	// Group side: members replace whole and show on the agents.
	g := e.do("PUT", "/api/v2/groups/"+itoa(desk), map[string]any{"members": []int64{a1, a2}, "observers": []int64{a2}}).want(t, 200).item(t, "group")
	if got := ids(t, g["members"]); !slices.Equal(got, []int64{a1, a2}) {
		t.Errorf("members %v", got)
	}
	if got := ids(t, g["agent_ids"]); !slices.Equal(got, []int64{a1, a2}) {
		t.Errorf("agent_ids %v", got)
	}
	if !slices.Equal(memberOf(a1), []int64{desk}) || !slices.Equal(memberOf(a2), []int64{desk}) || !slices.Equal(observerOf(a2), []int64{desk}) {
		t.Errorf("agents after group PUT: %v %v %v", memberOf(a1), memberOf(a2), observerOf(a2))
	}
	e.do("PUT", "/api/v2/groups/"+itoa(desk), map[string]any{"members": []int64{a2}}).want(t, 200)
	if len(memberOf(a1)) != 0 {
		t.Errorf("a1 still member_of %v", memberOf(a1))
	}
	if !slices.Equal(observerOf(a2), []int64{desk}) {
		t.Errorf("observers changed by a PUT of members only: %v", observerOf(a2))
	}

	// Agent side: member_of and observer_of show on the groups.
	e.do("PUT", "/api/v2/agents/"+itoa(a1), map[string]any{"member_of": []int64{net, desk}, "observer_of": []int64{net}}).want(t, 200)
	if got := ids(t, group(desk)["members"]); !slices.Equal(got, []int64{a2, a1}) {
		t.Errorf("desk members %v", got)
	}
	if got := ids(t, group(net)["members"]); !slices.Equal(got, []int64{a1}) {
		t.Errorf("net members %v", got)
	}
	if got := ids(t, group(net)["observers"]); !slices.Equal(got, []int64{a1}) {
		t.Errorf("net observers %v", got)
	}
	e.do("PUT", "/api/v2/agents/"+itoa(a1), map[string]any{"member_of": []int64{}}).want(t, 200)
	if got := ids(t, group(desk)["members"]); !slices.Equal(got, []int64{a2}) {
		t.Errorf("desk members after leaving %v", got)
	}
	// Leaders are set on the group only.
	g = e.do("PUT", "/api/v2/groups/"+itoa(net), map[string]any{"leaders": []int64{a2}}).want(t, 200).item(t, "group")
	if got := ids(t, g["leaders"]); !slices.Equal(got, []int64{a2}) {
		t.Errorf("leaders %v", got)
	}
}

func TestAgentGroupMembersMustBeAgents(t *testing.T) {
	e := newEnv(t, nil)
	rid := e.createRequester(map[string]any{"first_name": "R", "primary_email": "r@example.com"})
	for _, key := range []string{"members", "observers", "leaders"} {
		r := e.do("PUT", "/api/v2/groups/"+itoa(e.groupID("Service Desk")), map[string]any{key: []int64{rid}}).want(t, 400)
		if got := r.errorCodes(t); !slices.Equal(got, []string{key + ":invalid_value"}) {
			t.Errorf("%s: %v", key, got)
		}
	}
	e.do("POST", "/api/v2/groups", map[string]any{"name": "X", "members": []int64{99}}).want(t, 400)
}

func TestAgentGroupCRUD(t *testing.T) {
	e := newEnv(t, nil)
	aid := e.createAgent(map[string]any{"first_name": "A", "email": "a@example.com"})
	r := e.do("POST", "/api/v2/groups", map[string]any{"name": "Ops", "description": "Operations", "unassigned_for": "30m",
		"escalate_to": aid, "members": []int64{aid}, "auto_ticket_assign": true}).want(t, 201)
	g := r.item(t, "group")
	gid := id(t, g["id"])
	if loc := r.header.Get("Location"); loc != e.srv.URL+"/api/v2/groups/"+itoa(gid) {
		t.Errorf("Location %q", loc)
	}
	if g["description"] != "Operations" || g["unassigned_for"] != "30m" || id(t, g["escalate_to"]) != aid || g["auto_ticket_assign"] != true {
		t.Errorf("created %v", g)
	}
	e.do("POST", "/api/v2/groups", map[string]any{"name": "ops"}).want(t, 409)
	e.do("POST", "/api/v2/groups", map[string]any{"description": "no name"}).want(t, 400)
	e.do("POST", "/api/v2/groups", map[string]any{"name": "Y", "unassigned_for": "5m"}).want(t, 400)
	e.do("POST", "/api/v2/groups", map[string]any{"name": "Y", "agent_ids": []int64{aid}}).want(t, 400)
	e.do("PUT", "/api/v2/groups/"+itoa(gid), map[string]any{"name": "Service Desk"}).want(t, 409)
	g = e.do("PUT", "/api/v2/groups/"+itoa(gid), map[string]any{"description": nil}).want(t, 200).item(t, "group")
	if g["description"] != nil || g["name"] != "Ops" || len(ids(t, g["members"])) != 1 {
		t.Errorf("after partial PUT %v", g)
	}
	// A role scoped to the group loses it when the group goes.
	e.do("PUT", "/api/v2/agents/"+itoa(aid), map[string]any{"roles": []any{map[string]any{"role_id": e.roleID("Admin"), "assignment_scope": "specified_groups", "groups": []int64{gid, e.groupID("Service Desk")}}}}).want(t, 200)
	e.do("DELETE", "/api/v2/groups/"+itoa(gid), nil).want(t, 204)
	e.do("GET", "/api/v2/groups/"+itoa(gid), nil).want(t, 404)
	u := e.user(aid)
	if len(u.MemberOf) != 0 || !slices.Equal(u.Roles[0].Groups, []int64{e.groupID("Service Desk")}) {
		t.Errorf("agent after group delete: %+v", u)
	}
}

func TestAgentGroupApprovalPending(t *testing.T) {
	e := newEnv(t, nil)
	a1 := e.createAgent(map[string]any{"first_name": "A1", "email": "a1@example.com"})
	a2 := e.createAgent(map[string]any{"first_name": "A2", "email": "a2@example.com"})
	gid := id(t, e.do("POST", "/api/v2/groups", map[string]any{"name": "Secure", "restricted": true, "approval_required": true}).want(t, 201).item(t, "group")["id"])
	g := e.do("PUT", "/api/v2/groups/"+itoa(gid), map[string]any{"members": []int64{a1}}).want(t, 200).item(t, "group")
	if len(ids(t, g["members"])) != 0 || !slices.Equal(ids(t, g["members_pending_approval"]), []int64{a1}) {
		t.Errorf("group %v", g)
	}
	a := e.do("GET", "/api/v2/agents/"+itoa(a1), nil).want(t, 200).item(t, "agent")
	if len(ids(t, a["member_of"])) != 0 || !slices.Equal(ids(t, a["member_of_pending_approval"]), []int64{gid}) {
		t.Errorf("agent %v", a)
	}
	// An admin approves in the UI.
	if err := e.sim.EditAgentGroup(gid, func(g *simulator.Group) {
		g.Members, g.MembersPendingApproval = g.MembersPendingApproval, nil
	}); err != nil {
		t.Fatal(err)
	}
	// Approved members stay approved; the input must repeat pending ones to
	// keep them; new ones wait.
	e.do("PUT", "/api/v2/agents/"+itoa(a2), map[string]any{"member_of": []int64{gid}}).want(t, 200)
	got, _ := e.sim.AgentGroup(gid)
	if !slices.Equal(got.Members, []int64{a1}) || !slices.Equal(got.MembersPendingApproval, []int64{a2}) {
		t.Errorf("after agent PUT: %+v", got)
	}
	e.do("PUT", "/api/v2/groups/"+itoa(gid), map[string]any{"members": []int64{a1}}).want(t, 200)
	got, _ = e.sim.AgentGroup(gid)
	if !slices.Equal(got.Members, []int64{a1}) || len(got.MembersPendingApproval) != 0 {
		t.Errorf("after dropping the pending member: %+v", got)
	}
}

func TestRequesterGroupCRUD(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.sim.Seed(simulator.SeedData{RequesterGroups: []simulator.SeedRequesterGroup{{Name: "Rules", Type: "rule_based"}}}); err != nil {
		t.Fatal(err)
	}
	rules, _ := e.sim.RequesterGroupByName("Rules")
	r := e.do("POST", "/api/v2/requester_groups", map[string]any{"name": "Staff", "description": "Everyone"}).want(t, 200)
	g := r.item(t, "requester_group")
	gid := id(t, g["id"])
	want := map[string]any{"id": jsonNumber(itoa(gid)), "name": "Staff", "description": "Everyone", "type": "manual", "workspace_id": jsonNumber("2")}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	e.do("POST", "/api/v2/requester_groups", map[string]any{"name": "STAFF"}).want(t, 409)
	e.do("POST", "/api/v2/requester_groups", map[string]any{"name": "T", "type": "rule_based"}).want(t, 400)
	g = e.do("PUT", "/api/v2/requester_groups/"+itoa(gid), map[string]any{"name": "Staff 2"}).want(t, 200).item(t, "requester_group")
	if g["name"] != "Staff 2" || g["description"] != "Everyone" {
		t.Errorf("after PUT %v", g)
	}
	r = e.do("PUT", "/api/v2/requester_groups/"+itoa(rules.ID), map[string]any{"name": "Rules 2"}).want(t, 400)
	if got := r.errorCodes(t); !slices.Equal(got, []string{"type:invalid_value"}) {
		t.Errorf("rule-based update: %v", got)
	}
	e.do("DELETE", "/api/v2/requester_groups/"+itoa(gid), nil).want(t, 204)
	e.do("GET", "/api/v2/requester_groups/"+itoa(gid), nil).want(t, 404)
}

func TestRequesterGroupMembers(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.sim.Seed(simulator.SeedData{RequesterGroups: []simulator.SeedRequesterGroup{{Name: "Rules", Type: "rule_based"}}}); err != nil {
		t.Fatal(err)
	}
	rules, _ := e.sim.RequesterGroupByName("Rules")
	gid := id(t, e.do("POST", "/api/v2/requester_groups", map[string]any{"name": "Staff"}).want(t, 200).item(t, "requester_group")["id"])
	var members []int64
	for i := range 3 {
		members = append(members, e.createRequester(map[string]any{"first_name": fmt.Sprint("M", i), "primary_email": fmt.Sprintf("m%d@example.com", i)}))
	}
	path := func(g, u int64) string { return fmt.Sprintf("/api/v2/requester_groups/%d/members/%d", g, u) }
	for _, m := range members {
		r := e.do("POST", path(gid, m), nil).want(t, 200)
		if len(r.body) != 0 {
			t.Errorf("add body %q", r.body)
		}
	}
	e.do("POST", path(gid, members[0]), nil).want(t, 200) // idempotent
	if got := e.sim.RequesterGroupMembers(gid); !slices.Equal(got, members) {
		t.Errorf("members %v", got)
	}

	r := e.do("GET", fmt.Sprintf("/api/v2/requester_groups/%d/members?per_page=2", gid), nil).want(t, 200)
	items := r.items(t, "requesters")
	want := []map[string]any{
		{"id": jsonNumber(itoa(members[0])), "first_name": "M0", "last_name": nil, "email": "m0@example.com"},
		{"id": jsonNumber(itoa(members[1])), "first_name": "M1", "last_name": nil, "email": "m1@example.com"},
	}
	if diff := cmp.Diff(want, items); diff != "" {
		t.Errorf("member page (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.header.Get("Link"), "page=2") {
		t.Errorf("Link %q", r.header.Get("Link"))
	}

	e.do("DELETE", path(gid, members[1]), nil).want(t, 204)
	e.do("DELETE", path(gid, members[1]), nil).want(t, 404) // a non-member (§19)
	if got := e.sim.RequesterGroupMembers(gid); !slices.Equal(got, []int64{members[0], members[2]}) {
		t.Errorf("after remove %v", got)
	}

	gone := e.createRequester(map[string]any{"first_name": "G", "primary_email": "g@example.com"})
	e.do("DELETE", "/api/v2/requesters/"+itoa(gone), nil).want(t, 204)
	tests := []struct {
		name   string
		method string
		path   string
		status int
	}{
		{"unknown user", "POST", path(gid, 99), 400},
		{"deactivated user", "POST", path(gid, gone), 400},
		{"rule-based add", "POST", path(rules.ID, members[0]), 400},
		{"rule-based remove", "DELETE", path(rules.ID, members[0]), 400},
		{"unknown group", "POST", path(99, members[0]), 404},
		{"unknown group list", "GET", "/api/v2/requester_groups/99/members", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { e.do(tc.method, tc.path, nil).want(t, tc.status) })
	}
	// Agents may join requester groups by default (§6 UNCERTAIN).
	aid := e.createAgent(map[string]any{"first_name": "A", "email": "a@example.com"})
	e.do("POST", path(gid, aid), nil).want(t, 200)
}
