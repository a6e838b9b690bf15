package simulator_test

import (
	"slices"
	"sort"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

// The key carries its owner's permissions (reference §1, §3.2, §19).
func TestKeyRole(t *testing.T) {
	tests := []struct {
		name string
		role string
		run  func(t *testing.T, e *env, owner, mate, stranger, req int64)
	}{
		{"an admin key sees and does everything", "", func(t *testing.T, e *env, owner, mate, stranger, req int64) {
			if got := listedIDs(t, e, "/api/v2/agents", "agents"); !slices.Equal(got, sorted(owner, mate, stranger)) {
				t.Errorf("agents %v", got)
			}
			if got := listedIDs(t, e, "/api/v2/requesters?include_agents=true", "requesters"); len(got) != 4 {
				t.Errorf("requesters with agents %v", got)
			}
			if got := listedNames(t, e, "/api/v2/groups", "groups"); len(got) != 2 {
				t.Errorf("groups %v", got)
			}
		}},
		{"a key without Manage Agents is refused every agent call but /agents/me", simulator.KeyRoleNoManageAgents, func(t *testing.T, e *env, owner, mate, stranger, req int64) {
			before := e.sim.Users()
			for _, w := range []struct {
				method, path string
				body         any
			}{
				{"GET", "/api/v2/agents", nil},
				{"GET", "/api/v2/agents/" + itoa(mate), nil},
				{"POST", "/api/v2/agents", map[string]any{"first_name": "N", "email": "n@example.com", "roles": []any{map[string]any{"role_id": e.roleID("SD Agent"), "assignment_scope": "entire_helpdesk"}}}},
				{"PUT", "/api/v2/agents/" + itoa(mate), map[string]any{"job_title": "x"}},
				{"DELETE", "/api/v2/agents/" + itoa(mate), nil},
				{"PUT", "/api/v2/agents/" + itoa(mate) + "/reactivate", nil},
				{"PUT", "/api/v2/agents/" + itoa(mate) + "/convert_to_requester", nil},
				{"DELETE", "/api/v2/agents/" + itoa(mate) + "/forget", nil},
				{"GET", "/api/v2/requesters?include_agents=true", nil},
				{"PUT", "/api/v2/requesters/" + itoa(req) + "/convert_to_agent", nil},
			} {
				r := e.do(w.method, w.path, w.body).want(t, 403)
				if r.obj(t)["code"] != "access_denied" {
					t.Errorf("%s %s: body %s", w.method, w.path, r.body)
				}
			}
			if diff := len(e.sim.Users()) - len(before); diff != 0 || e.user(mate).JobTitle != "" || e.user(req).IsAgent {
				t.Error("a refused call wrote something")
			}
			if a := e.do("GET", "/api/v2/agents/me", nil).want(t, 200).item(t, "agent"); id(t, a["id"]) != owner {
				t.Errorf("me %v", a["id"])
			}
			if got := listedIDs(t, e, "/api/v2/requesters", "requesters"); !slices.Equal(got, []int64{req}) {
				t.Errorf("requesters %v", got)
			}
			e.do("PUT", "/api/v2/requesters/"+itoa(req), map[string]any{"job_title": "x"}).want(t, 200)
			e.do("GET", "/api/v2/groups", nil).want(t, 200)
		}},
		{"a limited key lists part of the account", simulator.KeyRoleLimited, func(t *testing.T, e *env, owner, mate, stranger, req int64) {
			if got := listedIDs(t, e, "/api/v2/agents", "agents"); !slices.Equal(got, sorted(owner, mate)) {
				t.Errorf("agents %v, want the owner and the group mate", got)
			}
			if got := listedIDs(t, e, "/api/v2/requesters?include_agents=true", "requesters"); !slices.Equal(got, sorted(owner, mate, req)) {
				t.Errorf("requesters with agents %v", got)
			}
			wantListed(t, e, "/api/v2/agents?email=stranger@example.com", "agents", 0)
			if got := e.queryNames("agents", `first_name:'Stranger' OR first_name:'Mate'`); !slices.Equal(got, []string{"Mate"}) {
				t.Errorf("query %v", got)
			}
			if got := listedNames(t, e, "/api/v2/groups", "groups"); !slices.Equal(got, []string{"Service Desk"}) {
				t.Errorf("groups %v, want the owner's", got)
			}
			// Reads by id and writes are not limited.
			e.do("GET", "/api/v2/agents/"+itoa(stranger), nil).want(t, 200)
			e.do("PUT", "/api/v2/agents/"+itoa(stranger), map[string]any{"job_title": "x"}).want(t, 200)
			e.do("GET", "/api/v2/agents/me", nil).want(t, 200)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *simulatorOptions) { o.Switches = simulator.Switches{KeyRole: tc.role} })
			err := e.sim.Seed(simulator.SeedData{
				Agents: []simulator.SeedUser{
					{FirstName: "Mate", Email: "mate@example.com", Roles: []simulator.SeedRoleAssignment{{Role: "SD Agent"}}, MemberOf: []string{"Service Desk"}},
					{FirstName: "Stranger", Email: "stranger@example.com", Roles: []simulator.SeedRoleAssignment{{Role: "SD Agent"}}, MemberOf: []string{"Network Team"}},
				},
				Requesters: []simulator.SeedUser{{FirstName: "Req", PrimaryEmail: "req@example.com"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			owner, _ := e.sim.UserByEmail(simulator.OwnerEmail)
			desk := e.groupID("Service Desk")
			if err := e.sim.EditUser(owner.ID, func(u *simulator.User) { u.MemberOf = []int64{desk} }); err != nil {
				t.Fatal(err)
			}
			mate, _ := e.sim.UserByEmail("mate@example.com")
			stranger, _ := e.sim.UserByEmail("stranger@example.com")
			req, _ := e.sim.UserByEmail("req@example.com")
			tc.run(t, e, owner.ID, mate.ID, stranger.ID, req.ID)
		})
	}
}

func listedIDs(t *testing.T, e *env, path, envelope string) []int64 {
	t.Helper()
	var out []int64
	for _, it := range e.do("GET", path, nil).want(t, 200).items(t, envelope) {
		out = append(out, id(t, it["id"]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func sorted(ids ...int64) []int64 {
	return slices.Sorted(slices.Values(ids))
}

func listedNames(t *testing.T, e *env, path, envelope string) []string {
	t.Helper()
	var out []string
	for _, it := range e.do("GET", path, nil).want(t, 200).items(t, envelope) {
		out = append(out, it["name"].(string))
	}
	return out
}
