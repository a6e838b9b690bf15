package mapping

import (
	"slices"

	"github.com/fsbridge/fsbridge/freshservice"
)

// FeatureUse is one thing an agent's rules ask for that needs a
// plan-gated feature (freshservice.Features).
type FeatureUse struct {
	Feature freshservice.Feature
	// RoleID is the role given with assignment scope specified_groups.
	RoleID int64
	// GroupID is the agent group observed (Observer) or the restricted
	// agent group the rules name.
	GroupID  int64
	Observer bool
}

// AgentFeatures lists the plan-gated features an agent spec uses, in the
// order of the spec: roles scoped specified_groups (Specified Groups
// Scope), agent groups to observe, and agent groups that are restricted
// (Access Controls Pro). restricted tells which agent groups are.
func AgentFeatures(spec AgentSpec, restricted func(group int64) bool) []FeatureUse {
	var out []FeatureUse
	for _, r := range spec.Roles {
		if r.AssignmentScope == freshservice.ScopeSpecifiedGroups {
			out = append(out, FeatureUse{Feature: freshservice.FeatureSpecifiedGroups, RoleID: r.RoleID})
		}
	}
	for _, g := range spec.ObserverOf {
		out = append(out, FeatureUse{Feature: freshservice.FeatureAccessControlsPro, GroupID: g, Observer: true})
	}
	if restricted != nil {
		seen := map[int64]bool{}
		for _, g := range append(slices.Clone(spec.MemberOf), spec.ObserverOf...) {
			if !seen[g] && restricted(g) {
				seen[g] = true
				out = append(out, FeatureUse{Feature: freshservice.FeatureAccessControlsPro, GroupID: g})
			}
		}
	}
	return out
}

// PlanLacks says whether an account on one of plans (the ones its
// rate-limit headers leave possible) lacks feature f: surely (none of the
// plans has it) or maybe (some have it, some do not). Neither when every
// plan has it, or when nothing is known of the plan.
func PlanLacks(plans []freshservice.Plan, f freshservice.Feature) (surely, maybe bool) {
	if len(plans) == 0 {
		return false, false
	}
	have := 0
	for _, p := range plans {
		if f.On(p) {
			have++
		}
	}
	return have == 0, have > 0 && have < len(plans)
}
