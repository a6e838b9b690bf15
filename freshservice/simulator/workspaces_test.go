package simulator_test

import (
	"slices"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

// Workspace accounts (reference §5, §19): groups and roles carry
// workspace_id, and a key whose owner sees one workspace sees only its
// groups and roles.
func TestWorkspaces(t *testing.T) {
	hr := simulator.SeedData{
		Roles:       []simulator.SeedRole{{Name: "HR Agent", WorkspaceID: 3}},
		AgentGroups: []simulator.SeedAgentGroup{{Name: "HR Team", WorkspaceID: 3}},
	}
	names := func(t *testing.T, e *env, path, envelope string) []string {
		t.Helper()
		var out []string
		for _, it := range e.do("GET", path, nil).want(t, 200).items(t, envelope) {
			out = append(out, it["name"].(string))
		}
		return out
	}
	tests := []struct {
		name string
		sw   simulator.Switches
		run  func(t *testing.T, e *env)
	}{
		{"one workspace and no workspace_id by default", simulator.Switches{}, func(t *testing.T, e *env) {
			ws := e.do("GET", "/api/v2/workspaces", nil).want(t, 200).items(t, "workspaces")
			if len(ws) != 1 || ws[0]["name"] != "IT" || ws[0]["primary"] != true || id(t, ws[0]["id"]) != simulator.PrimaryWorkspaceID {
				t.Errorf("workspaces %v", ws)
			}
			g := e.do("GET", "/api/v2/groups/"+itoa(e.groupID("Service Desk")), nil).want(t, 200).item(t, "group")
			r := e.do("GET", "/api/v2/roles/"+itoa(e.roleID("SD Agent")), nil).want(t, 200).item(t, "role")
			if _, has := g["workspace_id"]; has {
				t.Errorf("group has workspace_id: %v", g)
			}
			if _, has := r["workspace_id"]; has {
				t.Errorf("role has workspace_id: %v", r)
			}
			e.do("POST", "/api/v2/groups", map[string]any{"name": "G", "workspace_id": 3}).want(t, 400)
		}},
		{"several workspaces; groups and roles carry workspace_id", simulator.Switches{Workspaces: true}, func(t *testing.T, e *env) {
			if got := names(t, e, "/api/v2/workspaces", "workspaces"); !slices.Equal(got, []string{"IT", "HR", "Facilities"}) {
				t.Errorf("workspaces %v", got)
			}
			for _, g := range e.do("GET", "/api/v2/groups", nil).want(t, 200).items(t, "groups") {
				want := int64(simulator.PrimaryWorkspaceID)
				if g["name"] == "HR Team" {
					want = 3
				}
				if id(t, g["workspace_id"]) != want {
					t.Errorf("group %v: workspace_id %v, want %d", g["name"], g["workspace_id"], want)
				}
			}
			if r := e.do("GET", "/api/v2/roles/"+itoa(e.roleID("HR Agent")), nil).want(t, 200).item(t, "role"); id(t, r["workspace_id"]) != 3 {
				t.Errorf("role workspace_id %v", r["workspace_id"])
			}
			if got := names(t, e, "/api/v2/groups", "groups"); len(got) != 3 {
				t.Errorf("an owner of every workspace sees every group: %v", got)
			}
		}},
		{"a group created in a workspace", simulator.Switches{Workspaces: true}, func(t *testing.T, e *env) {
			g := e.do("POST", "/api/v2/groups", map[string]any{"name": "Desks", "workspace_id": 4}).want(t, 201).item(t, "group")
			if id(t, g["workspace_id"]) != 4 {
				t.Errorf("workspace_id %v", g["workspace_id"])
			}
			g = e.do("POST", "/api/v2/groups", map[string]any{"name": "Plain"}).want(t, 201).item(t, "group")
			if id(t, g["workspace_id"]) != simulator.PrimaryWorkspaceID {
				t.Errorf("default workspace_id %v", g["workspace_id"])
			}
			r := e.do("POST", "/api/v2/groups", map[string]any{"name": "Nowhere", "workspace_id": 9}).want(t, 400)
			if got := r.errorCodes(t); !slices.Equal(got, []string{"workspace_id:invalid_value"}) {
				t.Errorf("errors %v", got)
			}
		}},
		{"a key that sees one workspace sees only its groups and roles", simulator.Switches{Workspaces: true, KeyWorkspaceID: 3}, func(t *testing.T, e *env) {
			if got := names(t, e, "/api/v2/workspaces", "workspaces"); !slices.Equal(got, []string{"HR"}) {
				t.Errorf("workspaces %v", got)
			}
			if got := names(t, e, "/api/v2/groups", "groups"); !slices.Equal(got, []string{"HR Team"}) {
				t.Errorf("groups %v", got)
			}
			if got := names(t, e, "/api/v2/roles", "roles"); !slices.Equal(got, []string{"HR Agent"}) {
				t.Errorf("roles %v", got)
			}
			desk := itoa(e.groupID("Service Desk"))
			e.do("GET", "/api/v2/groups/"+desk, nil).want(t, 404)
			e.do("PUT", "/api/v2/groups/"+desk, map[string]any{"description": "x"}).want(t, 404)
			e.do("DELETE", "/api/v2/groups/"+desk, nil).want(t, 404)
			e.do("GET", "/api/v2/roles/"+itoa(e.roleID("SD Agent")), nil).want(t, 404)
			e.do("GET", "/api/v2/groups/"+itoa(e.groupID("HR Team")), nil).want(t, 200)
			// New groups land in the key's workspace; others are refused.
			if g := e.do("POST", "/api/v2/groups", map[string]any{"name": "HR Desk"}).want(t, 201).item(t, "group"); id(t, g["workspace_id"]) != 3 {
				t.Errorf("workspace_id %v", g["workspace_id"])
			}
			e.do("POST", "/api/v2/groups", map[string]any{"name": "IT Desk", "workspace_id": 2}).want(t, 400)
			if _, ok := e.sim.AgentGroupByName("Service Desk"); !ok {
				t.Error("a refused delete removed the group")
			}
		}},
		{"group names are unique within a workspace, not across", simulator.Switches{Workspaces: true}, func(t *testing.T, e *env) {
			if err := e.sim.Seed(simulator.SeedData{AgentGroups: []simulator.SeedAgentGroup{{Name: "Service Desk", WorkspaceID: 3}}}); err != nil {
				t.Fatalf("a second Service Desk in HR: %v", err)
			}
			g := e.do("POST", "/api/v2/groups", map[string]any{"name": "service desk", "workspace_id": 4}).want(t, 201).item(t, "group")
			if id(t, g["workspace_id"]) != 4 {
				t.Errorf("workspace_id %v", g["workspace_id"])
			}
			e.do("POST", "/api/v2/groups", map[string]any{"name": "Service Desk", "workspace_id": 3}).want(t, 409)
			e.do("POST", "/api/v2/groups", map[string]any{"name": "Service Desk"}).want(t, 409)
			if err := e.sim.Seed(simulator.SeedData{AgentGroups: []simulator.SeedAgentGroup{{Name: "HR Team", WorkspaceID: 3}}}); err == nil {
				t.Error("a second HR Team was seeded in HR")
			}
		}},
		{"seeds name known workspaces only", simulator.Switches{}, func(t *testing.T, e *env) {
			if err := e.sim.Seed(simulator.SeedData{AgentGroups: []simulator.SeedAgentGroup{{Name: "X", WorkspaceID: 7}}}); err == nil {
				t.Error("a group in workspace 7 was seeded")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *simulatorOptions) { o.Switches = tc.sw })
			if err := e.sim.Seed(hr); err != nil {
				t.Fatal(err)
			}
			tc.run(t, e)
		})
	}
}
