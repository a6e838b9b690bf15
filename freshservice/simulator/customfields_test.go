package simulator_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

// The default account's user custom fields, one of each kind, on requesters
// and on agents alike (reference §3.1, §19).
func TestDefaultUserCustomFields(t *testing.T) {
	allNull := map[string]any{"employee_id": nil, "desk_number": nil, "hire_date": nil, "remote_worker": nil, "employment_type": nil}
	good := map[string]any{"employee_id": "E-7", "desk_number": 42, "hire_date": "2026-01-05", "remote_worker": true, "employment_type": "Contractor"}
	goodBack := map[string]any{"employee_id": "E-7", "desk_number": jsonNumber("42"), "hire_date": "2026-01-05", "remote_worker": true, "employment_type": "Contractor"}
	tests := []struct {
		name   string
		view   string // "requesters" or "agents"
		custom map[string]any
		status int
		errors []string
		want   map[string]any
	}{
		{"a requester without custom fields shows each as null", "requesters", nil, 201, nil, allNull},
		{"an agent without custom fields shows each as null", "agents", nil, 201, nil, allNull},
		{"a requester with one value of each kind", "requesters", good, 201, nil, goodBack},
		{"an agent with one value of each kind", "agents", good, 201, nil, goodBack},
		{"text takes no number", "requesters", map[string]any{"employee_id": 7}, 400, []string{"employee_id:datatype_mismatch"}, nil},
		{"number takes no string", "agents", map[string]any{"desk_number": "42"}, 400, []string{"desk_number:datatype_mismatch"}, nil},
		{"number takes no fraction", "requesters", map[string]any{"desk_number": 4.5}, 400, []string{"desk_number:datatype_mismatch"}, nil},
		{"date takes YYYY-MM-DD only", "agents", map[string]any{"hire_date": "05/01/2026"}, 400, []string{"hire_date:invalid_value"}, nil},
		{"checkbox takes no string", "requesters", map[string]any{"remote_worker": "true"}, 400, []string{"remote_worker:datatype_mismatch"}, nil},
		{"dropdown takes its choices only", "agents", map[string]any{"employment_type": "Intern"}, 400, []string{"employment_type:invalid_value"}, nil},
		{"an unknown field", "agents", map[string]any{"shoe_size": 44}, 400, []string{"shoe_size:invalid_field"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			body := map[string]any{"first_name": "C", "primary_email": "c@example.com"}
			if tc.view == "agents" {
				body = map[string]any{"first_name": "C", "email": "c@example.com", "roles": []any{map[string]any{"role_id": e.roleID("SD Agent"), "assignment_scope": "entire_helpdesk"}}}
			}
			if tc.custom != nil {
				body["custom_fields"] = tc.custom
			}
			r := e.do("POST", "/api/v2/"+tc.view, body).want(t, tc.status)
			if tc.status != 201 {
				if got := r.errorCodes(t); !slices.Equal(got, tc.errors) {
					t.Errorf("errors %v, want %v", got, tc.errors)
				}
				return
			}
			envelope := tc.view[:len(tc.view)-1]
			created := r.item(t, envelope)
			if diff := cmp.Diff(tc.want, created["custom_fields"]); diff != "" {
				t.Errorf("custom_fields (-want +got):\n%s", diff)
			}
			// Both views of the user show the same values.
			uid := itoa(id(t, created["id"]))
			if diff := cmp.Diff(tc.want, e.do("GET", "/api/v2/requesters/"+uid, nil).want(t, 200).item(t, "requester")["custom_fields"]); diff != "" {
				t.Errorf("requester view (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAgentCustomFieldsWritable(t *testing.T) {
	e := newEnv(t, nil)
	owner := itoa(e.sim.Users()[0].ID)
	a := e.do("PUT", "/api/v2/agents/"+owner, map[string]any{"custom_fields": map[string]any{"employee_id": "E-1", "remote_worker": false}}).want(t, 200).item(t, "agent")
	cf := a["custom_fields"].(map[string]any)
	if cf["employee_id"] != "E-1" || cf["remote_worker"] != false || cf["desk_number"] != nil {
		t.Errorf("custom_fields %v", cf)
	}
	// custom_fields merges key by key: a later write keeps the others.
	a = e.do("PUT", "/api/v2/agents/"+owner, map[string]any{"custom_fields": map[string]any{"desk_number": 3}}).want(t, 200).item(t, "agent")
	if cf := a["custom_fields"].(map[string]any); cf["employee_id"] != "E-1" || cf["desk_number"] != jsonNumber("3") {
		t.Errorf("after a second write %v", cf)
	}
	if got := e.queryNames("agents", `employee_id:'E-1'`); !slices.Equal(got, []string{"Account"}) {
		t.Errorf("query on an agent's custom field: %v", got)
	}
}

// With custom_field_required, employee_id is mandatory on every create
// through the API, and each missing mandatory field is its own error
// (reference §3.5, §19).
func TestMandatoryCustomField(t *testing.T) {
	sdAgent := func(e *env) []any {
		return []any{map[string]any{"role_id": e.roleID("SD Agent"), "assignment_scope": "entire_helpdesk"}}
	}
	tests := []struct {
		name   string
		sw     simulator.Switches
		extra  []simulator.CustomField
		view   string
		custom map[string]any
		status int
		errors []string
	}{
		{"optional by default", simulator.Switches{}, nil, "requesters", nil, 201, nil},
		{"a requester without it", simulator.Switches{CustomFieldRequired: true}, nil, "requesters", nil, 400, []string{"employee_id:missing_field"}},
		{"an agent without it", simulator.Switches{CustomFieldRequired: true}, nil, "agents", map[string]any{"desk_number": 1}, 400, []string{"employee_id:missing_field"}},
		{"null is no value", simulator.Switches{CustomFieldRequired: true}, nil, "requesters", map[string]any{"employee_id": nil}, 400, []string{"employee_id:missing_field"}},
		{"one error per missing field", simulator.Switches{CustomFieldRequired: true}, []simulator.CustomField{{Name: "cost_center", Type: "custom_text", Required: true}},
			"requesters", nil, 400, []string{"cost_center:missing_field", "employee_id:missing_field"}},
		{"a requester with it", simulator.Switches{CustomFieldRequired: true}, nil, "requesters", map[string]any{"employee_id": "E-1"}, 201, nil},
		{"an agent with it", simulator.Switches{CustomFieldRequired: true}, nil, "agents", map[string]any{"employee_id": "E-1"}, 201, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *simulatorOptions) { o.Switches = tc.sw })
			if tc.extra != nil {
				if err := e.sim.Seed(simulator.SeedData{RequesterFields: tc.extra}); err != nil {
					t.Fatal(err)
				}
			}
			body := map[string]any{"first_name": "C", "primary_email": "c@example.com"}
			if tc.view == "agents" {
				body = map[string]any{"first_name": "C", "email": "c@example.com", "roles": sdAgent(e)}
			}
			if tc.custom != nil {
				body["custom_fields"] = tc.custom
			}
			usersBefore := len(e.sim.Users())
			r := e.do("POST", "/api/v2/"+tc.view, body).want(t, tc.status)
			if tc.status == 400 {
				if got := r.errorCodes(t); !slices.Equal(got, tc.errors) {
					t.Errorf("errors %v, want %v", got, tc.errors)
				}
				if len(e.sim.Users()) != usersBefore {
					t.Error("a refused create made a user")
				}
			}
		})
	}
	t.Run("updates need not repeat it, but may not clear it", func(t *testing.T) {
		e := newEnv(t, func(o *simulatorOptions) { o.Switches = simulator.Switches{CustomFieldRequired: true} })
		rid := itoa(id(t, e.do("POST", "/api/v2/requesters", map[string]any{"first_name": "C", "primary_email": "c@example.com",
			"custom_fields": map[string]any{"employee_id": "E-1"}}).want(t, 201).item(t, "requester")["id"]))
		e.do("PUT", "/api/v2/requesters/"+rid, map[string]any{"job_title": "Dev"}).want(t, 200)
		r := e.do("PUT", "/api/v2/requesters/"+rid, map[string]any{"custom_fields": map[string]any{"employee_id": nil}}).want(t, 400)
		if got := r.errorCodes(t); !slices.Equal(got, []string{"employee_id:missing_field"}) {
			t.Errorf("errors %v", got)
		}
		// The owner, who predates the switch, can still be updated.
		e.do("PUT", "/api/v2/agents/"+itoa(e.sim.Users()[0].ID), map[string]any{"job_title": "Boss"}).want(t, 200)
	})
}
