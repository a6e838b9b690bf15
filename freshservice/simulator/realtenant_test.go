package simulator_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
)

// The answers a real tenant gives (reference §19, first list) are the
// simulator's defaults.
func TestRealTenantAnswers(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"deactivating a deactivated requester is 404", func(t *testing.T, e *env) {
			rid := e.createRequester(map[string]any{"first_name": "D", "primary_email": "d@example.com"})
			e.do("DELETE", "/api/v2/requesters/"+itoa(rid), nil).want(t, 204)
			e.do("DELETE", "/api/v2/requesters/"+itoa(rid), nil).want(t, 404)
			if e.user(rid).Active {
				t.Error("active again")
			}
		}},
		{"reactivating an active requester is 400 contact_already_active", func(t *testing.T, e *env) {
			rid := e.createRequester(map[string]any{"first_name": "R", "primary_email": "r@example.com"})
			before := e.user(rid)
			r := e.do("PUT", "/api/v2/requesters/"+itoa(rid)+"/reactivate", nil).want(t, 400)
			want := map[string]any{"code": "contact_already_active", "message": "Contact is already active and cannot be restored."}
			if got := r.obj(t); !mapsEqual(got, want) {
				t.Errorf("body %s", r.body)
			}
			if e.user(rid).UpdatedAt != before.UpdatedAt {
				t.Error("the refused reactivate changed the requester")
			}
		}},
		{"adding a requester-group member is 200, also when already a member", func(t *testing.T, e *env) {
			gid := e.createRequesterGroup("Staff")
			rid := e.createRequester(map[string]any{"first_name": "M", "primary_email": "m@example.com"})
			for range 2 {
				if r := e.do("POST", fmt.Sprintf("/api/v2/requester_groups/%d/members/%d", gid, rid), nil).want(t, 200); len(r.body) != 0 {
					t.Errorf("body %q", r.body)
				}
			}
			if got := e.sim.RequesterGroupMembers(gid); !slices.Equal(got, []int64{rid}) {
				t.Errorf("members %v", got)
			}
		}},
		{"removing a non-member of a requester group is 404", func(t *testing.T, e *env) {
			gid := e.createRequesterGroup("Staff")
			rid := e.createRequester(map[string]any{"first_name": "M", "primary_email": "m@example.com"})
			e.do("DELETE", fmt.Sprintf("/api/v2/requester_groups/%d/members/%d", gid, rid), nil).want(t, 404)
			e.do("POST", fmt.Sprintf("/api/v2/requester_groups/%d/members/%d", gid, rid), nil).want(t, 200)
			e.do("DELETE", fmt.Sprintf("/api/v2/requester_groups/%d/members/%d", gid, rid), nil).want(t, 204)
			e.do("DELETE", fmt.Sprintf("/api/v2/requester_groups/%d/members/%d", gid, rid), nil).want(t, 404)
		}},
		{"creating a requester group or a department is 200, a requester 201", func(t *testing.T, e *env) {
			wantCreates(t, e, 200, map[string]map[string]any{"requester_groups": {"name": "G"}, "departments": {"name": "D"}})
			wantCreates(t, e, 201, map[string]map[string]any{"requesters": {"first_name": "C", "primary_email": "c@example.com"}})
		}},
		{"a duplicate requester-group name is 409", func(t *testing.T, e *env) {
			e.createRequesterGroup("Staff")
			r := e.do("POST", "/api/v2/requester_groups", map[string]any{"name": "STAFF"}).want(t, 409)
			if got := r.errorCodes(t); !slices.Equal(got, []string{"name:duplicate_value"}) {
				t.Errorf("errors %v", got)
			}
		}},
		{"a requester create with a used email is 409, any user, any case", func(t *testing.T, e *env) {
			off := e.createRequester(map[string]any{"first_name": "Off", "primary_email": "off@example.com", "secondary_emails": []string{"off.alias@example.com"}})
			e.do("DELETE", "/api/v2/requesters/"+itoa(off), nil).want(t, 204)
			for _, email := range []string{"OWNER@example.com", "off@example.com", "Off.Alias@Example.COM"} {
				e.do("POST", "/api/v2/requesters", map[string]any{"first_name": "X", "primary_email": email}).want(t, 409)
			}
		}},
		{"query= without the outer double quotes", func(t *testing.T, e *env) {
			e.createRequester(map[string]any{"first_name": "Q", "primary_email": "q@example.com"})
			got := e.do("GET", "/api/v2/requesters?"+url.Values{"query": {`first_name:'Q'`}}.Encode(), nil).want(t, 200).items(t, "requesters")
			if len(got) != 1 || got[0]["first_name"] != "Q" {
				t.Errorf("got %v", got)
			}
		}},
		{"external_id is a requester query field", func(t *testing.T, e *env) {
			e.createRequester(map[string]any{"first_name": "X", "primary_email": "x@example.com", "external_id": "00u1abc"})
			e.createRequester(map[string]any{"first_name": "Y", "primary_email": "y@example.com", "external_id": "00u2def"})
			if got := e.queryNames("requesters", `external_id:'00u1abc'`); !slices.Equal(got, []string{"X"}) {
				t.Errorf("got %v", got)
			}
			got := e.do("GET", "/api/v2/requesters?"+url.Values{"query": {`external_id:'00u2def'`}}.Encode(), nil).want(t, 200).items(t, "requesters")
			if len(got) != 1 || got[0]["external_id"] != "00u2def" {
				t.Errorf("unquoted: %v", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newEnv(t, nil))
		})
	}
}

func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
