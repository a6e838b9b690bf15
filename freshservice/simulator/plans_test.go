package simulator_test

import (
	"strings"
	"testing"
)

// Features the plan lacks answer 403 require_feature, naming the feature
// (reference §4.3, §5, §19); nothing is written.
func TestPlanGating(t *testing.T) {
	type write struct {
		method, path string
		body         func(e *env) map[string]any
	}
	specified := func(e *env) []any {
		return []any{map[string]any{"role_id": e.roleID("SD Agent"), "assignment_scope": "specified_groups", "groups": []int64{e.groupID("Service Desk")}}}
	}
	agentCreate := func(extra func(e *env) map[string]any) write {
		return write{"POST", "/api/v2/agents", func(e *env) map[string]any {
			b := map[string]any{"first_name": "A", "email": "a@example.com", "roles": []any{map[string]any{"role_id": e.roleID("SD Agent"), "assignment_scope": "entire_helpdesk"}}}
			for k, v := range extra(e) {
				b[k] = v
			}
			return b
		}}
	}
	groupCreate := func(body map[string]any) write {
		return write{"POST", "/api/v2/groups", func(e *env) map[string]any {
			body["name"] = "Secure"
			return body
		}}
	}
	ownerUpdate := func(body func(e *env) map[string]any) write {
		return write{"PUT", "", body} // path filled in with the owner's id
	}
	tests := []struct {
		name    string
		plans   map[string]int // plan: status
		w       write
		feature string
	}{
		{"specified_groups scope on an agent create", map[string]int{"starter": 403, "growth": 403, "pro": 201, "enterprise": 201},
			agentCreate(func(e *env) map[string]any { return map[string]any{"roles": specified(e)} }), "Specified Groups Scope"},
		{"specified_groups scope on an agent update", map[string]int{"growth": 403, "pro": 200},
			ownerUpdate(func(e *env) map[string]any { return map[string]any{"roles": specified(e)} }), "Specified Groups Scope"},
		{"observer_of on an agent create", map[string]int{"pro": 403, "enterprise": 201},
			agentCreate(func(e *env) map[string]any { return map[string]any{"observer_of": []int64{e.groupID("Network Team")}} }), "Access Controls Pro"},
		{"an empty observer_of needs nothing", map[string]int{"starter": 201},
			agentCreate(func(e *env) map[string]any { return map[string]any{"observer_of": []int64{}} }), ""},
		{"observers on a group", map[string]int{"pro": 403, "enterprise": 201},
			write{"POST", "/api/v2/groups", func(e *env) map[string]any {
				return map[string]any{"name": "Secure", "observers": []int64{e.sim.Users()[0].ID}}
			}}, "Access Controls Pro"},
		{"leaders on a group", map[string]int{"growth": 403, "enterprise": 201},
			write{"POST", "/api/v2/groups", func(e *env) map[string]any {
				return map[string]any{"name": "Secure", "leaders": []int64{e.sim.Users()[0].ID}}
			}}, "Access Controls Pro"},
		{"a restricted group", map[string]int{"pro": 403, "enterprise": 201}, groupCreate(map[string]any{"restricted": true}), "Access Controls Pro"},
		{"a group with approval", map[string]int{"starter": 403, "enterprise": 201}, groupCreate(map[string]any{"approval_required": true}), "Access Controls Pro"},
		{"a plain group on any plan", map[string]int{"starter": 201}, groupCreate(map[string]any{"restricted": false}), ""},
	}
	for _, tc := range tests {
		for plan, status := range tc.plans {
			t.Run(tc.name+"/"+plan, func(t *testing.T) {
				e := newEnv(t, func(o *simulatorOptions) { o.Plan = plan })
				path := tc.w.path
				if path == "" {
					path = "/api/v2/agents/" + itoa(e.sim.Users()[0].ID)
				}
				usersBefore, groupsBefore := len(e.sim.Users()), len(e.sim.AgentGroups())
				ownerBefore := e.sim.Users()[0]
				r := e.do(tc.w.method, path, tc.w.body(e)).want(t, status)
				if status != 403 {
					return
				}
				m := r.obj(t)
				if m["code"] != "require_feature" || !strings.Contains(m["message"].(string), "The "+tc.feature+" feature") {
					t.Errorf("body %s, want require_feature naming %q", r.body, tc.feature)
				}
				if len(e.sim.Users()) != usersBefore || len(e.sim.AgentGroups()) != groupsBefore || e.sim.Users()[0].UpdatedAt != ownerBefore.UpdatedAt {
					t.Error("a refused request wrote something")
				}
			})
		}
	}
}
