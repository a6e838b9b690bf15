package simulator_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

func TestAgentCreateValidation(t *testing.T) {
	e := newEnv(t, nil)
	sd, admin := e.roleID("SD Agent"), e.roleID("Admin")
	desk, net := e.groupID("Service Desk"), e.groupID("Network Team")
	role := func(id int64, scope string, groups ...int64) map[string]any {
		m := map[string]any{"role_id": id, "assignment_scope": scope}
		if groups != nil {
			m["groups"] = groups
		}
		return m
	}
	tests := []struct {
		name   string
		body   map[string]any
		status int
		errors []string
	}{
		{"minimal", map[string]any{"first_name": "A", "email": "a@example.com", "roles": []any{role(sd, "entire_helpdesk")}}, 201, nil},
		{"specified groups", map[string]any{"first_name": "A", "email": "a@example.com", "roles": []any{role(admin, "specified_groups", desk, net)}}, 201, nil},
		{"missing email", map[string]any{"first_name": "A", "roles": []any{role(sd, "entire_helpdesk")}}, 400, []string{"email:missing_field"}},
		{"missing first name", map[string]any{"email": "a@example.com", "roles": []any{role(sd, "entire_helpdesk")}}, 400, []string{"first_name:missing_field"}},
		{"missing roles", map[string]any{"first_name": "A", "email": "a@example.com"}, 400, []string{"roles:missing_field"}},
		{"empty roles", map[string]any{"first_name": "A", "email": "a@example.com", "roles": []any{}}, 400, []string{"roles:invalid_value"}},
		{"unknown role", map[string]any{"first_name": "A", "email": "a@example.com", "roles": []any{role(42, "entire_helpdesk")}}, 400, []string{"roles:invalid_value"}},
		{"bad scope", map[string]any{"first_name": "A", "email": "a@example.com", "roles": []any{role(sd, "everything")}}, 400, []string{"roles:invalid_value"}},
		{"specified groups without groups", map[string]any{"first_name": "A", "email": "a@example.com", "roles": []any{role(sd, "specified_groups")}}, 400, []string{"roles:missing_field"}},
		{"specified groups unknown group", map[string]any{"first_name": "A", "email": "a@example.com", "roles": []any{role(sd, "specified_groups", 42)}}, 400, []string{"roles:invalid_value"}},
		{"role without role_id", map[string]any{"first_name": "A", "email": "a@example.com", "roles": []any{map[string]any{"assignment_scope": "entire_helpdesk"}}}, 400, []string{"roles:missing_field"}},
		{"unknown member_of group", map[string]any{"first_name": "A", "email": "a@example.com", "roles": []any{role(sd, "entire_helpdesk")}, "member_of": []int64{42}}, 400, []string{"member_of:invalid_value"}},
		{"unknown location", map[string]any{"first_name": "A", "email": "a@example.com", "roles": []any{role(sd, "entire_helpdesk")}, "location_id": 42}, 400, []string{"location_id:invalid_value"}},
		{"scoreboard out of range", map[string]any{"first_name": "A", "email": "a@example.com", "roles": []any{role(sd, "entire_helpdesk")}, "scoreboard_level_id": 7}, 400, []string{"scoreboard_level_id:invalid_value"}},
		{"requester key", map[string]any{"first_name": "A", "email": "a@example.com", "roles": []any{role(sd, "entire_helpdesk")}, "secondary_emails": []string{}}, 400, []string{"secondary_emails:invalid_field"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if em, ok := tc.body["email"].(string); ok {
				tc.body["email"] = strings.Replace(em, "a@", fmt.Sprintf("a%d@", i), 1)
			}
			r := e.do("POST", "/api/v2/agents", tc.body).want(t, tc.status)
			if tc.status != 201 {
				got := r.errorCodes(t)
				slices.Sort(got)
				if diff := cmp.Diff(tc.errors, got); diff != "" {
					t.Errorf("errors (-want +got):\n%s\n%s", diff, r.body)
				}
			}
		})
	}
}

// §13 item 12: deprecated agent keys are rejected on input.
func TestTrapDeprecatedAgentKeys(t *testing.T) {
	values := map[string]any{
		"role_ids": []int64{1}, "group_ids": []int64{1}, "ticket_scope": 1, "problem_scope": 1,
		"change_scope": 1, "release_scope": 1, "scopes": map[string]any{"ticket": nil},
	}
	for key, val := range values {
		for _, method := range []string{"POST", "PUT"} {
			t.Run(method+" "+key, func(t *testing.T) {
				e := newEnv(t, nil)
				aid := e.createAgent(map[string]any{"first_name": "A", "email": "a@example.com"})
				body := map[string]any{key: val}
				path := "/api/v2/agents/" + itoa(aid)
				if method == "POST" {
					body["first_name"], body["email"], path = "B", "b@example.com", "/api/v2/agents"
					body["roles"] = []any{map[string]any{"role_id": e.roleID("SD Agent"), "assignment_scope": "entire_helpdesk"}}
				}
				r := e.do(method, path, body).want(t, 400)
				if got := r.errorCodes(t); !slices.Equal(got, []string{key + ":invalid_field"}) {
					t.Errorf("errors %v", got)
				}
				if !strings.Contains(string(r.body), "deprecated") {
					t.Errorf("the message does not say the key is deprecated: %s", r.body)
				}
			})
		}
	}
	// A GET body echoed back in a PUT fails for the same reason.
	e := newEnv(t, nil)
	owner := e.do("GET", "/api/v2/agents", nil).want(t, 200).items(t, "agents")[0]
	e.do("PUT", "/api/v2/agents/"+itoa(id(t, owner["id"])), owner).want(t, 400)
}

func TestAgentUpdateReplacesRolesAndGroups(t *testing.T) {
	e := newEnv(t, nil)
	sd, admin := e.roleID("SD Agent"), e.roleID("Admin")
	desk, net := e.groupID("Service Desk"), e.groupID("Network Team")
	aid := e.createAgent(map[string]any{"first_name": "R", "email": "r@example.com", "member_of": []int64{desk}, "observer_of": []int64{net}})
	path := "/api/v2/agents/" + itoa(aid)
	a := e.do("PUT", path, map[string]any{
		"roles":     []any{map[string]any{"role_id": admin, "assignment_scope": "member_groups", "groups": []int64{desk}}},
		"member_of": []int64{net},
	}).want(t, 200).item(t, "agent")
	if diff := cmp.Diff([]any{map[string]any{"role_id": jsonNumber(itoa(admin)), "assignment_scope": "member_groups", "groups": []any{}}}, a["roles"]); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	if got := ids(t, a["member_of"]); !slices.Equal(got, []int64{net}) {
		t.Errorf("member_of %v", got)
	}
	if got := ids(t, a["group_ids"]); !slices.Equal(got, []int64{net}) {
		t.Errorf("group_ids %v", got)
	}
	if got := ids(t, a["observer_of"]); !slices.Equal(got, []int64{net}) {
		t.Errorf("observer_of untouched by a PUT without it: %v", got)
	}
	if g, _ := e.sim.AgentGroup(desk); slices.Contains(g.Members, aid) {
		t.Errorf("still in %v", g)
	}
	// Read-modify-write: add a role by sending the whole list.
	a = e.do("PUT", path, map[string]any{"roles": []any{
		map[string]any{"role_id": admin, "assignment_scope": "member_groups"},
		map[string]any{"role_id": sd, "assignment_scope": "entire_helpdesk"},
	}}).want(t, 200).item(t, "agent")
	if got := ids(t, a["role_ids"]); !slices.Equal(got, []int64{admin, sd}) {
		t.Errorf("role_ids %v", got)
	}
}

func TestAgentListFilters(t *testing.T) {
	e := newEnv(t, nil)
	e.createAgent(map[string]any{"first_name": "Occ", "email": "occ@example.com", "occasional": true, "mobile_phone_number": "9"})
	e.createAgent(map[string]any{"first_name": "Full", "email": "full@example.com"})
	names := func(q string) []string {
		var out []string
		for _, a := range e.do("GET", "/api/v2/agents?"+q, nil).want(t, 200).items(t, "agents") {
			out = append(out, a["first_name"].(string))
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"state=occasional", []string{"Occ"}},
		{"state=fulltime", []string{"Account", "Full"}},
		{"email=FULL@example.com", []string{"Full"}},
		{"mobile_phone_number=9", []string{"Occ"}},
		{"state=fulltime&email=occ@example.com", nil},
	}
	for _, tc := range tests {
		if got := names(tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	e.do("GET", "/api/v2/agents?state=parttime", nil).want(t, 400)
}

// §13 item 9: DELETE on an agent deactivates it; it does not become a
// requester.
func TestTrapAgentDeleteDeactivates(t *testing.T) {
	e := newEnv(t, nil)
	desk := e.groupID("Service Desk")
	aid := e.createAgent(map[string]any{"first_name": "D", "email": "d@example.com", "member_of": []int64{desk}})
	rg := id(t, e.do("POST", "/api/v2/requester_groups", map[string]any{"name": "All"}).want(t, 200).item(t, "requester_group")["id"])
	e.do("POST", fmt.Sprintf("/api/v2/requester_groups/%d/members/%d", rg, aid), nil).want(t, 200)

	a := e.do("DELETE", "/api/v2/agents/"+itoa(aid), nil).want(t, 200).item(t, "agent")
	if a["active"] != false {
		t.Errorf("active %v", a["active"])
	}
	got := e.do("GET", "/api/v2/agents/"+itoa(aid), nil).want(t, 200).item(t, "agent")
	if got["active"] != false || len(ids(t, got["role_ids"])) != 1 {
		t.Errorf("after delete: %v", got)
	}
	if got := ids(t, got["member_of"]); !slices.Equal(got, []int64{desk}) {
		t.Errorf("member_of after deactivation %v (default keeps it)", got)
	}
	if r := e.do("GET", "/api/v2/requesters/"+itoa(aid), nil).want(t, 200).item(t, "requester"); r["is_agent"] != true {
		t.Errorf("became a requester: %v", r)
	}
	if m := e.sim.RequesterGroupMembers(rg); len(m) != 0 {
		t.Errorf("still in requester group: %v", m)
	}
	a = e.do("PUT", "/api/v2/agents/"+itoa(aid)+"/reactivate", nil).want(t, 200).item(t, "agent")
	if a["active"] != true || !slices.Equal(ids(t, a["member_of"]), []int64{desk}) {
		t.Errorf("after reactivate: %v", a)
	}
	// /requesters cannot deactivate or change an agent.
	e.do("DELETE", "/api/v2/requesters/"+itoa(aid), nil).want(t, 404)
	e.do("PUT", "/api/v2/requesters/"+itoa(aid), map[string]any{"job_title": "x"}).want(t, 404)
}

// §13 item 10: convert_to_agent gives an occasional SD Agent with no groups,
// keeps the id and uses no seat; making it full-time needs one.
func TestTrapConvertToAgent(t *testing.T) {
	e := newEnv(t, func(o *simulatorOptions) { o.FullTimeSeats = 1 }) // the owner has it
	rid := e.createRequester(map[string]any{"first_name": "C", "primary_email": "c@example.com", "job_title": "Dev"})
	a := e.do("PUT", "/api/v2/requesters/"+itoa(rid)+"/convert_to_agent", nil).want(t, 200).item(t, "agent")
	want := map[string]any{
		"id": jsonNumber(itoa(rid)), "occasional": true, "email": "c@example.com", "job_title": "Dev", "member_of": []any{},
		"roles": []any{map[string]any{"role_id": jsonNumber(itoa(e.roleID("SD Agent"))), "assignment_scope": "entire_helpdesk", "groups": []any{}}},
	}
	got := map[string]any{}
	for k := range want {
		got[k] = a[k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("converted agent (-want +got):\n%s", diff)
	}
	before := e.user(rid)
	r := e.do("PUT", "/api/v2/agents/"+itoa(rid), map[string]any{"occasional": false}).want(t, 403)
	if r.obj(t)["code"] != "access_denied" {
		t.Errorf("body %s", r.body)
	}
	if after := e.user(rid); !cmp.Equal(before, after) {
		t.Errorf("a refused update changed the user:\n%s", cmp.Diff(before, after))
	}
	e.sim.SetSeats(2)
	e.do("PUT", "/api/v2/agents/"+itoa(rid), map[string]any{"occasional": false}).want(t, 200)

	// Converting an agent, a deactivated requester, or nobody fails.
	e.do("PUT", "/api/v2/requesters/"+itoa(rid)+"/convert_to_agent", nil).want(t, 409)
	gone := e.createRequester(map[string]any{"first_name": "G", "primary_email": "g@example.com"})
	e.do("DELETE", "/api/v2/requesters/"+itoa(gone), nil).want(t, 204)
	e.do("PUT", "/api/v2/requesters/"+itoa(gone)+"/convert_to_agent", nil).want(t, 400)
	e.do("PUT", "/api/v2/requesters/99/convert_to_agent", nil).want(t, 404)
}

func TestConvertToRequester(t *testing.T) {
	e := newEnv(t, func(o *simulatorOptions) { o.FullTimeSeats = 2 })
	desk, net := e.groupID("Service Desk"), e.groupID("Network Team")
	aid := e.createAgent(map[string]any{"first_name": "C", "email": "c@example.com", "member_of": []int64{desk}, "observer_of": []int64{net}})
	if err := e.sim.EditAgentGroup(net, func(g *simulator.Group) { g.Leaders = []int64{aid} }); err != nil {
		t.Fatal(err)
	}
	r := e.do("PUT", "/api/v2/agents/"+itoa(aid)+"/convert_to_requester", nil).want(t, 200).item(t, "requester")
	if id(t, r["id"]) != aid || r["is_agent"] != false || r["primary_email"] != "c@example.com" {
		t.Errorf("converted: %v", r)
	}
	u := e.user(aid)
	if u.IsAgent || len(u.Roles) != 0 || len(u.MemberOf) != 0 || len(u.ObserverOf) != 0 {
		t.Errorf("user after conversion: %+v", u)
	}
	for _, gid := range []int64{desk, net} {
		g, _ := e.sim.AgentGroup(gid)
		if slices.Contains(slices.Concat(g.Members, g.Observers, g.Leaders), aid) {
			t.Errorf("still in group %v", g)
		}
	}
	e.do("GET", "/api/v2/agents/"+itoa(aid), nil).want(t, 404)
	e.do("PUT", "/api/v2/agents/"+itoa(aid)+"/convert_to_requester", nil).want(t, 404)
	// The seat is free again.
	e.createAgent(map[string]any{"first_name": "N", "email": "n@example.com"})
}

func TestSeats(t *testing.T) {
	e := newEnv(t, func(o *simulatorOptions) { o.FullTimeSeats = 2 })
	full := e.createAgent(map[string]any{"first_name": "F", "email": "f@example.com"})
	r := e.do("POST", "/api/v2/agents", map[string]any{"first_name": "X", "email": "x@example.com",
		"roles": []any{map[string]any{"role_id": e.roleID("SD Agent"), "assignment_scope": "entire_helpdesk"}}}).want(t, 403)
	if r.obj(t)["code"] != "access_denied" {
		t.Errorf("body %s", r.body)
	}
	if _, ok := e.sim.UserByEmail("x@example.com"); ok {
		t.Error("refused agent was created")
	}
	// Occasional agents use no seat.
	e.createAgent(map[string]any{"first_name": "O", "email": "o@example.com", "occasional": true})
	// Deactivation frees the seat, reactivation needs it back.
	e.do("DELETE", "/api/v2/agents/"+itoa(full), nil).want(t, 200)
	other := e.createAgent(map[string]any{"first_name": "Y", "email": "y@example.com"})
	e.do("PUT", "/api/v2/agents/"+itoa(full)+"/reactivate", nil).want(t, 403)
	if e.user(full).Active {
		t.Error("refused reactivation activated the agent")
	}
	e.do("DELETE", "/api/v2/agents/"+itoa(other)+"/forget", nil).want(t, 204)
	e.do("PUT", "/api/v2/agents/"+itoa(full)+"/reactivate", nil).want(t, 200)
}

func TestAgentForget(t *testing.T) {
	e := newEnv(t, nil)
	desk := e.groupID("Service Desk")
	aid := e.createAgent(map[string]any{"first_name": "F", "email": "f@example.com", "member_of": []int64{desk}})
	e.do("DELETE", "/api/v2/requesters/"+itoa(aid)+"/forget", nil).want(t, 404)
	e.do("DELETE", "/api/v2/agents/"+itoa(aid)+"/forget", nil).want(t, 204)
	e.do("GET", "/api/v2/requesters/"+itoa(aid), nil).want(t, 404)
	if g, _ := e.sim.AgentGroup(desk); slices.Contains(g.Members, aid) {
		t.Errorf("forgotten agent still a member: %v", g.Members)
	}
	e.createAgent(map[string]any{"first_name": "F", "email": "f@example.com"})
}
