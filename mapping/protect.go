package mapping

import (
	"slices"

	"github.com/fsbridge/fsbridge/freshservice"
)

// A protected user is one the bridge must never lock out of Freshservice:
// the agent who owns its API key (deactivating, demoting or stripping that
// agent revokes or weakens the key, and with it the bridge), and anyone the
// administrator lists in protected_users (DESIGN D12).

// LocksOut returns the first step of plan that would deactivate, erase,
// convert to requester, make occasional, or take a role from the user cur,
// and true; or false when the plan leaves the user's access whole.
// Promotion, changes to profile fields and agent-group memberships are
// not lock-outs.
func LocksOut(cur *freshservice.User, plan Plan) (Step, bool) {
	if l := LockOuts(cur, plan); len(l) > 0 {
		return l[0], true
	}
	return Step{}, false
}

// LockOuts returns every step of plan that LocksOut would name, in order.
func LockOuts(cur *freshservice.User, plan Plan) []Step {
	if cur == nil {
		return nil
	}
	var out []Step
	for _, s := range plan {
		switch s.Kind {
		case StepDeactivateAgent, StepDeactivateRequester, StepForgetAgent, StepForgetRequester,
			StepConvertToRequester:
			out = append(out, s)
		case StepUpdateAgent:
			if s.Agent == nil {
				continue
			}
			if s.Agent.Occasional != nil && *s.Agent.Occasional && cur.IsAgent && !cur.Occasional ||
				s.Agent.Roles != nil && dropsRole(cur.Roles, *s.Agent.Roles) {
				out = append(out, s)
			}
		}
	}
	return out
}

// dropsRole reports whether some role assignment in cur is not in next,
// exactly (the same role with a narrower scope counts as taken away).
func dropsRole(cur, next []freshservice.RoleAssignment) bool {
	for _, r := range cur {
		if !slices.ContainsFunc(next, func(n freshservice.RoleAssignment) bool { return roleKey(n) == roleKey(r) }) {
			return true
		}
	}
	return false
}

// Protect turns t into the nearest target that does not lock the user cur
// out: an active user stays active and is not erased, and an agent stays a
// full-time or occasional agent as now and keeps every role assignment it
// has. Everything else the target says (profile fields, agent groups,
// requester groups, a promotion, added roles) stands.
func Protect(cur *freshservice.User, t Target) Target {
	if cur == nil {
		return t
	}
	if cur.Active {
		t.Profile.Active = true
		t.Forget = false
	}
	switch {
	case !cur.IsAgent:
	case t.Kind == KindRequester:
		t.Kind = KindKeep
	case t.Kind == KindAgent:
		if !cur.Occasional {
			t.Agent.Occasional = false
		}
		// The roles the rules manage are replaced by the target's; those
		// the user has among them are kept too. Roles the rules do not
		// manage are never touched.
		roles := slices.Clone(t.Agent.Roles)
		for _, r := range cur.Roles {
			if t.ManagedRoles[r.RoleID] && !slices.ContainsFunc(roles, func(n freshservice.RoleAssignment) bool { return roleKey(n) == roleKey(r) }) {
				roles = slices.DeleteFunc(roles, func(n freshservice.RoleAssignment) bool { return n.RoleID == r.RoleID })
				roles = append(roles, r)
			}
		}
		t.Agent.Roles = roles
	}
	return t
}
