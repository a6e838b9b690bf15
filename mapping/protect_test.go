package mapping

import (
	"testing"

	"github.com/fsbridge/fsbridge/freshservice"
)

// TestProtectedUsersAreNeverLockedOut: for each change an IdP could ask of
// a protected user, LocksOut names the step that would lock them out, and
// the plan for Protect's target has no such step and still makes the
// harmless part of the change.
func TestProtectedUsersAreNeverLockedOut(t *testing.T) {
	admin := []freshservice.RoleAssignment{{RoleID: 7, AssignmentScope: freshservice.ScopeEntireHelpdesk}}
	managed := map[int64]bool{3: true, 7: true}
	inactive := func(p *Profile) { p.Active = false }
	retitled := func(p *Profile) { p.JobTitle = "CTO"; p.Set |= FieldJobTitle }
	cases := []struct {
		name      string
		cur       *freshservice.User
		target    Target
		lockStep  StepKind // "" when the change locks nobody out
		keepsStep StepKind // a step the protected plan must still hold, or ""
	}{
		{"deactivating an agent", agent(), Target{Profile: profile(inactive), Kind: KindKeep}, StepDeactivateAgent, ""},
		{"deactivating a requester", requester(), Target{Profile: profile(inactive), Kind: KindKeep}, StepDeactivateRequester, ""},
		{"erasing", agent(), Target{Profile: profile(inactive), Kind: KindKeep, Forget: true}, StepForgetAgent, ""},
		{"demoting", agent(), Target{Profile: profile(retitled), Kind: KindRequester}, StepConvertToRequester, StepUpdateAgent},
		{"promoting a protected requester", requester(), Target{Profile: profile(), Kind: KindAgent, Agent: AgentSpec{Roles: sdAgent}, ManagedRoles: managed}, "", StepConvertToAgent},
		{"taking a managed role away", agent(func(u *freshservice.User) { u.Roles = admin }),
			Target{Profile: profile(), Kind: KindAgent, Agent: AgentSpec{Roles: sdAgent}, ManagedRoles: managed}, StepUpdateAgent, StepUpdateAgent},
		{"narrowing a role's scope", agent(func(u *freshservice.User) { u.Roles = admin }),
			Target{Profile: profile(), Kind: KindAgent, Agent: AgentSpec{Roles: []freshservice.RoleAssignment{{RoleID: 7, AssignmentScope: freshservice.ScopeMemberGroups}}}, ManagedRoles: managed}, StepUpdateAgent, ""},
		{"making a full-time agent occasional", agent(func(u *freshservice.User) { u.Roles = admin }),
			Target{Profile: profile(), Kind: KindAgent, Agent: AgentSpec{Occasional: true, Roles: admin}, ManagedRoles: managed}, StepUpdateAgent, ""},
		{"adding a role", agent(func(u *freshservice.User) { u.Roles = admin }),
			Target{Profile: profile(), Kind: KindAgent, Agent: AgentSpec{Roles: append(append([]freshservice.RoleAssignment{}, admin...), sdAgent...)}, ManagedRoles: managed}, "", StepUpdateAgent},
		{"changing a field", agent(), Target{Profile: profile(retitled), Kind: KindKeep}, "", StepUpdateAgent},
		{"joining an agent group", agent(), Target{Profile: profile(), Kind: KindKeep, MemberOf: []int64{5}, ManagedAgentGroups: map[int64]bool{5: true}}, "", StepJoinAgentGroup},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan := PlanUser(tc.cur, tc.target, Applied{Fields: tc.target.Profile.Set, Promoted: true})
			s, locks := LocksOut(tc.cur, plan)
			switch {
			case tc.lockStep == "" && locks:
				t.Fatalf("LocksOut named %s in %v, want no lock-out", s.Kind, steps(plan))
			case tc.lockStep != "" && (!locks || s.Kind != tc.lockStep):
				t.Fatalf("LocksOut = %s, %v on %v, want %s", s.Kind, locks, steps(plan), tc.lockStep)
			}
			safe := PlanUser(tc.cur, Protect(tc.cur, tc.target), Applied{Fields: tc.target.Profile.Set, Promoted: true})
			if s, locks := LocksOut(tc.cur, safe); locks {
				t.Fatalf("the protected plan %v still locks out with %s", steps(safe), s.Kind)
			}
			if tc.keepsStep != "" {
				found := false
				for _, s := range safe {
					found = found || s.Kind == tc.keepsStep
				}
				if !found {
					t.Errorf("the protected plan %v lost the harmless %s", steps(safe), tc.keepsStep)
				}
			}
		})
	}
}
