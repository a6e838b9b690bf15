package simulator_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

// Approval-gated restricted agent groups (reference §4.4, §5, §19): new
// members wait for approval, responses list them apart, and a PUT that does
// not repeat a pending id drops its request.
func TestApprovalGatedGroups(t *testing.T) {
	gated := simulator.Switches{RestrictedGroupApproval: true}
	tests := []struct {
		name string
		sw   simulator.Switches
		run  func(t *testing.T, e *env, desk, a1, a2 int64)
	}{
		{"groups need no approval by default", simulator.Switches{}, func(t *testing.T, e *env, desk, a1, a2 int64) {
			g := e.do("PUT", "/api/v2/groups/"+itoa(desk), map[string]any{"members": []int64{a1}}).want(t, 200).item(t, "group")
			if !slices.Equal(ids(t, g["members"]), []int64{a1}) || len(ids(t, g["members_pending_approval"])) != 0 || g["restricted"] != false {
				t.Errorf("group %v", g)
			}
		}},
		{"a group PUT puts new members in members_pending_approval", gated, func(t *testing.T, e *env, desk, a1, a2 int64) {
			g := e.do("PUT", "/api/v2/groups/"+itoa(desk), map[string]any{"members": []int64{a1}}).want(t, 200).item(t, "group")
			if len(ids(t, g["members"])) != 0 || !slices.Equal(ids(t, g["members_pending_approval"]), []int64{a1}) {
				t.Errorf("group %v", g)
			}
			if g["restricted"] != true || g["approval_required"] != true {
				t.Errorf("the group does not show as restricted with approval: %v %v", g["restricted"], g["approval_required"])
			}
			a := e.do("GET", "/api/v2/agents/"+itoa(a1), nil).want(t, 200).item(t, "agent")
			if len(ids(t, a["member_of"])) != 0 || !slices.Equal(ids(t, a["member_of_pending_approval"]), []int64{desk}) {
				t.Errorf("agent member_of %v, pending %v", a["member_of"], a["member_of_pending_approval"])
			}
		}},
		{"an agent's member_of waits too", gated, func(t *testing.T, e *env, desk, a1, a2 int64) {
			a := e.do("PUT", "/api/v2/agents/"+itoa(a1), map[string]any{"member_of": []int64{desk}}).want(t, 200).item(t, "agent")
			if len(ids(t, a["member_of"])) != 0 || !slices.Equal(ids(t, a["member_of_pending_approval"]), []int64{desk}) {
				t.Errorf("agent member_of %v, pending %v", a["member_of"], a["member_of_pending_approval"])
			}
		}},
		{"observers and leaders wait too", gated, func(t *testing.T, e *env, desk, a1, a2 int64) {
			g := e.do("PUT", "/api/v2/groups/"+itoa(desk), map[string]any{"observers": []int64{a1}, "leaders": []int64{a2}}).want(t, 200).item(t, "group")
			if !slices.Equal(ids(t, g["observers_pending_approval"]), []int64{a1}) || !slices.Equal(ids(t, g["leaders_pending_approval"]), []int64{a2}) ||
				len(ids(t, g["observers"])) != 0 || len(ids(t, g["leaders"])) != 0 {
				t.Errorf("group %v", g)
			}
		}},
		{"a PUT that does not repeat a pending id drops its request", gated, func(t *testing.T, e *env, desk, a1, a2 int64) {
			e.do("PUT", "/api/v2/groups/"+itoa(desk), map[string]any{"members": []int64{a1, a2}}).want(t, 200)
			g := e.do("PUT", "/api/v2/groups/"+itoa(desk), map[string]any{"members": []int64{a2}}).want(t, 200).item(t, "group")
			if !slices.Equal(ids(t, g["members_pending_approval"]), []int64{a2}) {
				t.Errorf("group PUT: pending %v", g["members_pending_approval"])
			}
			a := e.do("PUT", "/api/v2/agents/"+itoa(a2), map[string]any{"member_of": []int64{}}).want(t, 200).item(t, "agent")
			if len(ids(t, a["member_of_pending_approval"])) != 0 {
				t.Errorf("agent PUT: pending %v", a["member_of_pending_approval"])
			}
			if got, _ := e.sim.AgentGroup(desk); len(got.MembersPendingApproval) != 0 || len(got.Members) != 0 {
				t.Errorf("group %+v", got)
			}
		}},
		{"repeating a pending id keeps it pending", gated, func(t *testing.T, e *env, desk, a1, a2 int64) {
			e.do("PUT", "/api/v2/agents/"+itoa(a1), map[string]any{"member_of": []int64{desk}}).want(t, 200)
			a := e.do("PUT", "/api/v2/agents/"+itoa(a1), map[string]any{"member_of": []int64{desk}, "job_title": "x"}).want(t, 200).item(t, "agent")
			if len(ids(t, a["member_of"])) != 0 || !slices.Equal(ids(t, a["member_of_pending_approval"]), []int64{desk}) {
				t.Errorf("agent member_of %v, pending %v", a["member_of"], a["member_of_pending_approval"])
			}
		}},
		{"approval moves pending ids to the approved lists, who then stay", gated, func(t *testing.T, e *env, desk, a1, a2 int64) {
			e.do("PUT", "/api/v2/groups/"+itoa(desk), map[string]any{"members": []int64{a1, a2}}).want(t, 200)
			if err := e.sim.ApproveAgentGroupMembers(desk, a1); err != nil {
				t.Fatal(err)
			}
			g := e.do("GET", "/api/v2/groups/"+itoa(desk), nil).want(t, 200).item(t, "group")
			if !slices.Equal(ids(t, g["members"]), []int64{a1}) || !slices.Equal(ids(t, g["members_pending_approval"]), []int64{a2}) {
				t.Errorf("after approving a1: %v %v", g["members"], g["members_pending_approval"])
			}
			if a := e.do("GET", "/api/v2/agents/"+itoa(a1), nil).want(t, 200).item(t, "agent"); !slices.Equal(ids(t, a["member_of"]), []int64{desk}) {
				t.Errorf("approved agent member_of %v", a["member_of"])
			}
			e.do("PUT", "/api/v2/groups/"+itoa(desk), map[string]any{"members": []int64{a1, a2}}).want(t, 200)
			if got, _ := e.sim.AgentGroup(desk); !slices.Equal(got.Members, []int64{a1}) || !slices.Equal(got.MembersPendingApproval, []int64{a2}) {
				t.Errorf("after repeating both: %+v", got)
			}
		}},
		{"approval through the control endpoint", gated, func(t *testing.T, e *env, desk, a1, a2 int64) {
			e.do("PUT", "/api/v2/groups/"+itoa(desk), map[string]any{"members": []int64{a1}, "observers": []int64{a2}}).want(t, 200)
			e.control("POST", "agent_groups/"+itoa(desk)+"/approve", `{"user_ids":[`+itoa(a2)+`]}`).want(t, 204)
			if got, _ := e.sim.AgentGroup(desk); !slices.Equal(got.Observers, []int64{a2}) || !slices.Equal(got.MembersPendingApproval, []int64{a1}) {
				t.Errorf("after approving a2: %+v", got)
			}
			e.control("POST", "agent_groups/"+itoa(desk)+"/approve", `{"user_ids":[`+itoa(a2)+`]}`).want(t, 400)
			e.control("POST", "agent_groups/99/approve", "").want(t, 404)
			e.control("POST", "agent_groups/"+itoa(desk)+"/approve", "").want(t, 204)
			if got, _ := e.sim.AgentGroup(desk); !slices.Equal(got.Members, []int64{a1}) || len(got.MembersPendingApproval) != 0 {
				t.Errorf("after approving everyone: %+v", got)
			}
		}},
		{"approving an id that is not pending changes nothing", gated, func(t *testing.T, e *env, desk, a1, a2 int64) {
			e.do("PUT", "/api/v2/groups/"+itoa(desk), map[string]any{"members": []int64{a1}}).want(t, 200)
			if err := e.sim.ApproveAgentGroupMembers(desk, a1, a2); !errors.Is(err, simulator.ErrInvalidEdit) {
				t.Errorf("err %v, want ErrInvalidEdit", err)
			}
			if got, _ := e.sim.AgentGroup(desk); len(got.Members) != 0 || !slices.Equal(got.MembersPendingApproval, []int64{a1}) {
				t.Errorf("group changed: %+v", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *simulatorOptions) { o.Switches = tc.sw })
			a1 := e.createAgent(map[string]any{"first_name": "A1", "email": "a1@example.com"})
			a2 := e.createAgent(map[string]any{"first_name": "A2", "email": "a2@example.com"})
			tc.run(t, e, e.groupID("Service Desk"), a1, a2)
		})
	}
}
