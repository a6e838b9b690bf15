package freshservice

import (
	"slices"
	"strings"
)

// Plan-gated features (reference §4.3, §5, §19). A request that uses a
// feature the account's plan lacks is answered 403 require_feature and
// changes nothing; the message names the feature. This table is the one
// place that says which plans have which feature the bridge can use: the
// SCIM error, the audit trail and `fsbridge check` all read it.

// Feature is a Freshservice feature some plans lack.
type Feature struct {
	// Name is the feature as Freshservice's require_feature message
	// names it.
	Name string
	// Plans are the plans that have it.
	Plans []Plan
	// UsedBy says in plain words what in the bridge's requests needs it.
	UsedBy string
}

// The gated features the bridge's requests can use.
var (
	// FeatureSpecifiedGroups is the specified_groups assignment scope of
	// an agent's role (§4.3).
	FeatureSpecifiedGroups = Feature{
		Name:   "Specified Groups Scope",
		Plans:  []Plan{PlanPro, PlanEnterprise},
		UsedBy: "a role with assignment scope specified_groups",
	}
	// FeatureAccessControlsPro covers agent-group observers and leaders,
	// and restricted, approval-gated agent groups (§5).
	FeatureAccessControlsPro = Feature{
		Name:   "Access Controls Pro",
		Plans:  []Plan{PlanEnterprise},
		UsedBy: "agent-group observers (observer_of), leaders, and restricted agent groups",
	}
)

// Features lists every gated feature the bridge knows.
var Features = []Feature{FeatureSpecifiedGroups, FeatureAccessControlsPro}

// FeatureNamed finds a feature by the name a require_feature message
// gives it, without regard to case or surrounding space.
func FeatureNamed(name string) (Feature, bool) {
	name = strings.TrimSpace(name)
	for _, f := range Features {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Feature{}, false
}

// On reports whether plan p has the feature.
func (f Feature) On(p Plan) bool { return slices.Contains(f.Plans, p) }

// PlanList names the plans that have the feature, as Freshservice
// spells them: "Pro, Enterprise".
func (f Feature) PlanList() string {
	names := make([]string, len(f.Plans))
	for i, p := range f.Plans {
		names[i] = p.Title()
	}
	return strings.Join(names, ", ")
}

// Title is the plan's name as Freshservice writes it ("Pro").
func (p Plan) Title() string {
	s := string(p)
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// PlansFromRateLimit infers the plans an account may be on from the
// X-RateLimit-Total its responses show for the overall bucket (§10): the
// per-minute limit (100 Starter, 200 Growth, 400 Pro, 500 Enterprise), or
// the legacy per-hour limit of an account created before September 2020
// (2500 Growth, 5000 Pro, 7500 Enterprise; 3000 is the documentation's own
// sample and tells nothing). 1000 and 2000 are also the per-minute add-ons
// only Pro and Enterprise can buy; 1000 is besides the legacy Starter
// hourly limit, so it leaves three plans. Nil when the total tells nothing.
func PlansFromRateLimit(overallTotal int) []Plan {
	switch overallTotal {
	case 100:
		return []Plan{PlanStarter}
	case 200, 2500:
		return []Plan{PlanGrowth}
	case 400, 5000:
		return []Plan{PlanPro}
	case 500, 7500:
		return []Plan{PlanEnterprise}
	case 2000:
		return []Plan{PlanPro, PlanEnterprise}
	case 1000:
		return []Plan{PlanStarter, PlanPro, PlanEnterprise}
	}
	return nil
}
