package simulator_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Field sets and JSON types of real responses (reference §18). A type of
// "null" means the field must be null for the object the test creates.
var shapes = map[string]map[string]string{
	"agent": {
		"active": "bool", "address": "null", "auto_assign_status_changed_at": "null", "auto_assign_tickets": "bool",
		"background_information": "null", "can_see_all_tickets_from_associated_departments": "bool",
		"created_at": "time", "custom_fields": "object", "department_ids": "array", "department_names": "null",
		"email": "string", "external_id": "null", "first_name": "string", "group_ids": "array",
		"has_logged_in": "bool", "id": "number", "job_title": "null", "language": "string",
		"last_active_at": "null", "last_login_at": "null", "last_name": "string", "location_id": "null",
		"location_name": "null", "member_of": "array", "member_of_pending_approval": "array",
		"mobile_phone_number": "null", "observer_of": "array", "observer_of_pending_approval": "array",
		"occasional": "bool", "reporting_manager_id": "null", "role_ids": "array", "roles": "array",
		"scopes": "object", "scoreboard_level_id": "null", "scoreboard_points": "null", "signature": "null",
		"time_format": "string", "time_zone": "string", "updated_at": "time", "vip_user": "bool",
		"work_phone_number": "null",
	},
	"requester": {
		"active": "bool", "address": "null", "background_information": "null",
		"can_see_all_changes_from_associated_departments": "bool", "can_see_all_tickets_from_associated_departments": "bool",
		"created_at": "time", "custom_fields": "object", "department_ids": "array", "department_names": "null",
		"external_id": "null", "first_name": "string", "has_logged_in": "bool", "id": "number", "is_agent": "bool",
		"job_title": "null", "language": "string", "last_name": "string", "location_id": "null", "location_name": "null",
		"mobile_phone_number": "null", "primary_email": "string", "reporting_manager_id": "null",
		"secondary_emails": "array", "time_format": "string", "time_zone": "string", "updated_at": "time",
		"vip_user": "bool", "work_phone_number": "null", "work_schedule_id": "null",
	},
	"group": {
		"agent_ids": "array", "approval_required": "bool", "auto_ticket_assign": "bool", "business_hours_id": "null",
		"created_at": "time", "description": "null", "escalate_to": "null", "id": "number", "leaders": "array",
		"leaders_pending_approval": "array", "members": "array", "members_pending_approval": "array", "name": "string",
		"observers": "array", "observers_pending_approval": "array", "ocs_schedule_id": "null", "restricted": "bool",
		"unassigned_for": "null", "updated_at": "time",
	},
	"role": {
		"created_at": "time", "default": "bool", "description": "string", "id": "number", "name": "string",
		"scopes": "object", "updated_at": "time",
	},
	"requester_group": {"description": "null", "id": "number", "name": "string", "type": "string", "workspace_id": "number"},
	"department": {
		"created_at": "time", "custom_fields": "object", "description": "null", "domains": "array", "head_name": "null",
		"head_user_id": "null", "id": "number", "name": "string", "prime_user_id": "null", "prime_user_name": "null",
		"updated_at": "time", "workspace_id": "number",
	},
}

var timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case string:
		if timeRE.MatchString(x) {
			return "time"
		}
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "number"
}

func checkShape(t *testing.T, kind string, obj map[string]any) {
	t.Helper()
	want := shapes[kind]
	got := map[string]string{}
	for k, v := range obj {
		got[k] = jsonType(v)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s fields (-want +got):\n%s", kind, diff)
	}
}

func TestResponseShapes(t *testing.T) {
	e := newEnv(t, nil)
	rid := e.createRequester(map[string]any{"first_name": "Alex", "last_name": "Smith", "primary_email": "alex@example.com"})
	aid := e.createAgent(map[string]any{"first_name": "Korsie", "last_name": "B", "email": "korsie@example.com"})
	rgid := id(t, e.do("POST", "/api/v2/requester_groups", map[string]any{"name": "Staff"}).want(t, http.StatusOK).item(t, "requester_group")["id"])
	gid := e.groupID("Service Desk")

	tests := []struct {
		name, path, envelope, kind string
		list                       bool
	}{
		{"requester by id", "/api/v2/requesters/" + itoa(rid), "requester", "requester", false},
		{"requester list", "/api/v2/requesters", "requesters", "requester", true},
		{"agent by id", "/api/v2/agents/" + itoa(aid), "agent", "agent", false},
		{"agent list", "/api/v2/agents", "agents", "agent", true},
		{"group by id", "/api/v2/groups/" + itoa(gid), "group", "group", false},
		{"group list", "/api/v2/groups", "groups", "group", true},
		{"role list", "/api/v2/roles", "roles", "role", true},
		{"requester group by id", "/api/v2/requester_groups/" + itoa(rgid), "requester_group", "requester_group", false},
		{"requester group list", "/api/v2/requester_groups", "requester_groups", "requester_group", true},
		{"department list", "/api/v2/departments", "departments", "department", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, nil).want(t, http.StatusOK)
			if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.list {
				items := r.items(t, tc.envelope)
				if len(items) == 0 {
					t.Fatal("empty list")
				}
				if len(r.obj(t)) != 1 {
					t.Errorf("list envelope has more than the list (no totals): %s", r.body)
				}
				checkShape(t, tc.kind, items[len(items)-1])
				return
			}
			checkShape(t, tc.kind, r.item(t, tc.envelope))
		})
	}
}

func TestAgentScopesAndRolesShape(t *testing.T) {
	e := newEnv(t, nil)
	aid := e.createAgent(map[string]any{"first_name": "A", "email": "a@example.com"})
	a := e.do("GET", "/api/v2/agents/"+itoa(aid), nil).want(t, http.StatusOK).item(t, "agent")
	scopes := a["scopes"].(map[string]any)
	keys := []string{}
	for k, v := range scopes {
		if v != nil {
			t.Errorf("scopes.%s = %v, want null", k, v)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"asset", "change", "contract", "problem", "release", "solution", "ticket"}; !slices.Equal(keys, want) {
		t.Errorf("scopes keys %v, want %v", keys, want)
	}
	roles := a["roles"].([]any)
	role := roles[0].(map[string]any)
	if diff := cmp.Diff(map[string]string{"role_id": "number", "assignment_scope": "string", "groups": "array"}, map[string]string{
		"role_id": jsonType(role["role_id"]), "assignment_scope": jsonType(role["assignment_scope"]), "groups": jsonType(role["groups"]),
	}); diff != "" {
		t.Errorf("role assignment shape (-want +got):\n%s", diff)
	}
	if got := ids(t, a["role_ids"]); !slices.Equal(got, []int64{e.roleID("SD Agent")}) {
		t.Errorf("role_ids %v", got)
	}
}

func TestDefaultAccount(t *testing.T) {
	e := newEnv(t, nil)
	var names []string
	for _, r := range e.do("GET", "/api/v2/roles", nil).want(t, http.StatusOK).items(t, "roles") {
		names = append(names, r["name"].(string))
		if r["default"] != true {
			t.Errorf("role %v not default", r["name"])
		}
	}
	want := []string{"Account Admin", "Admin", "SD Supervisor", "SD Agent", "Problem Manager", "Change Manager", "Release Manager",
		"Configuration Manager", "Contract Manager", "IT Ops Agent", "Project Manager", "Project Member", "Procurement Manager"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	agents := e.do("GET", "/api/v2/agents", nil).want(t, http.StatusOK).items(t, "agents")
	if len(agents) != 1 || agents[0]["email"] != "owner@example.com" || agents[0]["occasional"] != false || agents[0]["active"] != true {
		t.Fatalf("default agents: %v", agents)
	}
	roles := agents[0]["roles"].([]any)
	if r := roles[0].(map[string]any); id(t, r["role_id"]) != e.roleID("Account Admin") || r["assignment_scope"] != "entire_helpdesk" {
		t.Errorf("owner roles %v", roles)
	}
	var deps []string
	for _, d := range e.do("GET", "/api/v2/departments", nil).want(t, http.StatusOK).items(t, "departments") {
		deps = append(deps, d["name"].(string))
	}
	if !slices.Equal(deps, []string{"Engineering", "Sales", "IT"}) {
		t.Errorf("departments %v", deps)
	}
	if locs := e.do("GET", "/api/v2/locations", nil).want(t, http.StatusOK).items(t, "locations"); len(locs) != 1 || locs[0]["name"] != "HQ" {
		t.Errorf("locations %v", locs)
	}
	var groups []string
	for _, g := range e.do("GET", "/api/v2/groups", nil).want(t, http.StatusOK).items(t, "groups") {
		groups = append(groups, g["name"].(string))
	}
	if !slices.Equal(groups, []string{"Service Desk", "Network Team"}) {
		t.Errorf("groups %v", groups)
	}
	if rg := e.do("GET", "/api/v2/requester_groups", nil).want(t, http.StatusOK).items(t, "requester_groups"); len(rg) != 0 {
		t.Errorf("requester groups %v", rg)
	}
	if reqs := e.do("GET", "/api/v2/requesters", nil).want(t, http.StatusOK); !strings.Contains(string(reqs.body), `"requesters":[]`) {
		t.Errorf("requesters of a fresh account: %s", reqs.body)
	}
}

func TestNoDefaults(t *testing.T) {
	e := newEnv(t, func(o *simulatorOptions) { o.NoDefaults = true })
	for _, p := range []string{"roles", "agents", "groups", "departments", "locations"} {
		if got := e.do("GET", "/api/v2/"+p, nil).want(t, http.StatusOK).items(t, p); len(got) != 0 {
			t.Errorf("%s: %v", p, got)
		}
	}
}

func TestTimestampsFollowSimulatedClock(t *testing.T) {
	e := newEnv(t, func(o *simulatorOptions) { o.TimeScale = 60 })
	e.clock.Advance(10 * 1e9) // 10 real seconds = 10 simulated minutes
	r := e.do("POST", "/api/v2/requesters", map[string]any{"first_name": "T", "primary_email": "t@example.com"}).want(t, http.StatusCreated)
	if got := r.item(t, "requester")["created_at"]; got != "2026-03-02T09:40:15Z" {
		t.Errorf("created_at %v, want 2026-03-02T09:40:15Z", got)
	}
	if loc := r.header.Get("Location"); !strings.HasPrefix(loc, e.srv.URL+"/api/v2/requesters/") {
		t.Errorf("Location %q", loc)
	}
}
