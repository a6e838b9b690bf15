package test

import (
	"slices"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
)

// Real Freshservice accounts vary (reference §19); the simulator can be
// each variation, and the bridge must be right under every setting.

// TestApprovalGatedAgentGroups: in restricted groups that need approval a
// join waits for approval. Another agent's pending request survives the
// bridge's read-modify-write, and the bridge does not ask again for its
// own pending joins.
func TestApprovalGatedAgentGroups(t *testing.T) {
	e := rulesEnv(t, config.OnLeaveDemote, func(_ *config.Config, o *simulator.Options) {
		o.Switches.RestrictedGroupApproval = true
	})
	a := e.mustCreate(userBody("gated.a@example.com", "Gated", "A", nil))
	b := e.mustCreate(userBody("gated.b@example.com", "Gated", "B", nil))
	c := e.mustCreate(userBody("gated.c@example.com", "Gated", "C", nil))
	e.mustGroup("FS Agents", a, b, c) // agents first
	// The SCIM group Network Team is the agent group of that name: its
	// members change by read-modify-write of the group's member list.
	teamGroup := e.mustGroup("Network Team", a, b)
	team, _ := e.sim.AgentGroupByName("Network Team")
	if !containsID(team.MembersPendingApproval, a) || !containsID(team.MembersPendingApproval, b) {
		t.Fatalf("Network Team: members %v, pending %v; want both joins pending", team.Members, team.MembersPendingApproval)
	}
	// A third agent joins through the same read-modify-write: the two
	// pending requests must be repeated, not dropped.
	if status, body := e.addMembers(teamGroup, c); status != 204 && status != 200 {
		t.Fatalf("adding a third member: %d %v", status, body)
	}
	team, _ = e.sim.AgentGroupByName("Network Team")
	for _, id := range []string{a, b, c} {
		if !containsID(team.MembersPendingApproval, id) {
			t.Errorf("user %s's request was dropped: pending %v", id, team.MembersPendingApproval)
		}
	}
	// Reconciling again asks for nothing: pending counts as joined.
	before := len(e.sim.Requests())
	for _, id := range []string{a, b, c} {
		// Read each agent as Freshservice holds it now (pending joins
		// included), as a walk would.
		if err := e.srv.Bridge.RefreshUser(t.Context(), mustID(t, id), true); err != nil {
			t.Fatal(err)
		}
		if status, _ := e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "replace", "path": "title", "value": "Net"})); status != 200 {
			t.Fatalf("PATCH %s: %d", id, status)
		}
	}
	var groupPuts int
	for _, r := range e.sim.Requests()[before:] {
		if r.Method == "PUT" && r.Route == "/api/v2/groups/{id}" {
			groupPuts++
		}
	}
	if groupPuts != 0 {
		t.Errorf("%d group PUTs after the joins were requested, want none", groupPuts)
	}
	if err := e.sim.ApproveAgentGroupMembers(team.ID); err != nil {
		t.Fatal(err)
	}
	team, _ = e.sim.AgentGroupByName("Network Team")
	got := slices.Clone(team.Members)
	slices.Sort(got)
	if len(got) != 3 {
		t.Errorf("after approval Network Team has members %v, want the three", got)
	}
}
