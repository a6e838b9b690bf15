package simulator

import (
	"fmt"
	"net/http"
	"slices"
)

// Plan gating (reference §4.3, §5, §19): a request that uses a feature the
// account's plan lacks answers 403 require_feature, naming the feature in
// the message in the wording of Freshservice's family. The feature names
// are the product's where the reference gives one (Access Controls Pro);
// the body's exact text is not public.

// Features the simulator gates.
const (
	// FeatureSpecifiedGroups is the specified_groups assignment scope of
	// agent roles: Pro and Enterprise (§4.3).
	FeatureSpecifiedGroups = "Specified Groups Scope"
	// FeatureAccessControlsPro covers agent-group observers, leaders,
	// restricted groups and approvals: Enterprise (§5).
	FeatureAccessControlsPro = "Access Controls Pro"
)

// planFeatures lists the gated features each plan has.
var planFeatures = map[string][]string{
	"starter":    {},
	"growth":     {},
	"pro":        {FeatureSpecifiedGroups},
	"enterprise": {FeatureSpecifiedGroups, FeatureAccessControlsPro},
}

func (c *call) planHas(feature string) bool {
	return slices.Contains(planFeatures[c.s.plan], feature)
}

// requireFeature is the answer to a request that needs feature.
func requireFeature(feature string) reply {
	return codeError(http.StatusForbidden, "require_feature",
		fmt.Sprintf("The %s feature(s) is/are not supported in your plan. Please upgrade your account to use it.", feature))
}

// gateUser answers 403 if an agent body uses a feature the plan lacks:
// roles with the specified_groups scope, or observer_of.
func (c *call) gateUser(in *userInput) (reply, bool) {
	if in.roles != nil && !c.planHas(FeatureSpecifiedGroups) {
		for _, r := range *in.roles {
			if r.AssignmentScope == scopeSpecifiedGroups {
				return requireFeature(FeatureSpecifiedGroups), true
			}
		}
	}
	if in.observerOf != nil && len(*in.observerOf) > 0 && !c.planHas(FeatureAccessControlsPro) {
		return requireFeature(FeatureAccessControlsPro), true
	}
	return reply{}, false
}

// gateGroup answers 403 if an agent-group body uses Access Controls Pro
// without it: observers, leaders, restricted or approval_required.
func (c *call) gateGroup(in *groupInput) (reply, bool) {
	if c.planHas(FeatureAccessControlsPro) {
		return reply{}, false
	}
	uses := (in.restricted != nil && *in.restricted) || (in.approval != nil && *in.approval)
	for _, m := range []membership{asObserver, asLeader} {
		if l := in.lists[m]; l != nil && len(*l) > 0 {
			uses = true
		}
	}
	if uses {
		return requireFeature(FeatureAccessControlsPro), true
	}
	return reply{}, false
}
