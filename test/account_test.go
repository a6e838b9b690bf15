package test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
)

// A workspace account with a Service Desk in IT and another in HR: a rule
// that names workspace HR puts its agents in HR's, a rule that names none
// in the primary workspace's, and a name two non-primary workspaces share
// is a configuration error naming both.
func TestWorkspaceRulePromotesIntoThatWorkspacesGroup(t *testing.T) {
	e := newEnv(t, func(_ *config.Config, o *simulator.Options) { o.Switches.Workspaces = true })
	if err := e.sim.Seed(simulator.SeedData{
		Roles:       []simulator.SeedRole{{Name: "HR Agent", WorkspaceID: 3}},
		AgentGroups: []simulator.SeedAgentGroup{{Name: "Service Desk", WorkspaceID: 3}, {Name: "Payroll", WorkspaceID: 3}, {Name: "Payroll", WorkspaceID: 4}},
	}); err != nil {
		t.Fatal(err)
	}
	desk := map[int64]int64{} // workspace -> Service Desk id
	for _, g := range e.sim.AgentGroups() {
		if g.Name == "Service Desk" {
			desk[g.WorkspaceID] = g.ID
		}
	}
	if len(desk) != 2 {
		t.Fatalf("service desks %v", desk)
	}
	ctx := context.Background()
	ambiguous := config.Rules{RoleGroups: []config.RoleGroup{
		{Match: config.Match{DisplayName: "Payroll Agents"}, Roles: []config.RoleGrant{{Role: "SD Agent", Scope: "member_groups"}}, MemberOf: []string{"Payroll"}},
	}}
	err := e.srv.Bridge.Reload(ctx, ambiguous)
	if err == nil || !strings.Contains(err.Error(), `"Payroll" (workspace HR, id `) || !strings.Contains(err.Error(), `"Payroll" (workspace Facilities, id `) {
		t.Errorf("ambiguous name: %v", err)
	}
	rules := config.Rules{RoleGroups: []config.RoleGroup{
		{Match: config.Match{DisplayName: "HR Agents"}, Workspace: "HR", Roles: []config.RoleGrant{{Role: "HR Agent", Scope: "member_groups"}}, MemberOf: []string{"Service Desk"}},
		{Match: config.Match{DisplayName: "IT Agents"}, Roles: []config.RoleGrant{{Role: "SD Agent", Scope: "member_groups"}}, MemberOf: []string{"Service Desk"}},
	}}
	if err := e.srv.Bridge.Reload(ctx, rules); err != nil {
		t.Fatal(err)
	}
	hr := e.mustCreate(userBody("hanna@example.com", "Hanna", "HR", nil))
	it := e.mustCreate(userBody("ivan@example.com", "Ivan", "IT", nil))
	e.mustGroup("HR Agents", hr)
	e.mustGroup("IT Agents", it)
	if u := e.simUser(hr); !u.IsAgent || !slices.Equal(u.MemberOf, []int64{desk[3]}) {
		t.Errorf("HR agent: agent %v, member of %v; want HR's Service Desk %d", u.IsAgent, u.MemberOf, desk[3])
	}
	if u := e.simUser(it); !u.IsAgent || !slices.Equal(u.MemberOf, []int64{desk[simulator.PrimaryWorkspaceID]}) {
		t.Errorf("IT agent: agent %v, member of %v; want IT's Service Desk %d", u.IsAgent, u.MemberOf, desk[simulator.PrimaryWorkspaceID])
	}
}

// A key whose owner lacks Manage Agents: /readyz says why in words, the
// status page shows it, requesters are still served, and an agent
// operation is refused with a 403 naming the permission, before any call.
func TestMissingManageAgentsIsExplained(t *testing.T) {
	e := rulesEnv(t, "", func(_ *config.Config, o *simulator.Options) { o.Switches.KeyRole = "no_manage_agents" })
	status, body := e.get("/readyz")
	if status != http.StatusServiceUnavailable {
		t.Errorf("/readyz: %d %s", status, body)
	}
	for _, want := range []string{`"permissions"`, "the API key's owner owner@example.com lacks the Manage Agents permission", "Fix: give owner@example.com a role with the Manage Agents permission"} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz body lacks %q: %s", want, body)
		}
	}
	var rep struct {
		Account struct {
			Ready        bool `json:"ready"`
			ManageAgents bool `json:"manage_agents"`
			Problems     []struct {
				What string `json:"what"`
				Fix  string `json:"fix"`
			} `json:"problems"`
		} `json:"account"`
	}
	e.statusJSON(&rep)
	if rep.Account.Ready || rep.Account.ManageAgents || len(rep.Account.Problems) != 1 || !strings.Contains(rep.Account.Problems[0].What, "Manage Agents") {
		t.Errorf("status account %+v", rep.Account)
	}

	// Requesters are served.
	id := e.mustCreate(userBody("rita@example.com", "Rita", "Requester", nil))
	if u := e.simUser(id); u.IsAgent {
		t.Errorf("requester %+v", u)
	}
	// An agent is refused, naming the permission.
	before := e.sim.Stats().ByRoute["POST /api/v2/agents"]
	st, res := e.do("POST", "/Users", userBody("adam@example.com", "Adam", "Admin", map[string]any{"roles": []any{map[string]any{"value": "Admin"}}}))
	detail, _ := res["detail"].(string)
	if st != http.StatusForbidden || !strings.Contains(detail, "lacks the Manage Agents permission") || !strings.Contains(detail, "POST /api/v2/agents") {
		t.Errorf("agent create: %d %v", st, res)
	}
	if n := e.sim.Stats().ByRoute["POST /api/v2/agents"] - before; n != 0 {
		t.Errorf("%d agent creates sent", n)
	}
}
