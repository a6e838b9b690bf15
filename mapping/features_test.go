package mapping

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fsbridge/fsbridge/freshservice"
)

func TestAgentFeatures(t *testing.T) {
	sg, acp := freshservice.FeatureSpecifiedGroups, freshservice.FeatureAccessControlsPro
	restricted := func(g int64) bool { return g == 9 }
	for _, c := range []struct {
		name string
		spec AgentSpec
		want []FeatureUse
	}{
		{"PlainRolesNeedNothing", AgentSpec{Roles: []freshservice.RoleAssignment{
			{RoleID: 1, AssignmentScope: freshservice.ScopeEntireHelpdesk},
			{RoleID: 2, AssignmentScope: freshservice.ScopeMemberGroups}}, MemberOf: []int64{5}}, nil},
		{"SpecifiedGroupsScope", AgentSpec{Roles: []freshservice.RoleAssignment{
			{RoleID: 1, AssignmentScope: freshservice.ScopeSpecifiedGroups, Groups: []int64{5}}}},
			[]FeatureUse{{Feature: sg, RoleID: 1}}},
		{"Observer", AgentSpec{ObserverOf: []int64{5}}, []FeatureUse{{Feature: acp, GroupID: 5, Observer: true}}},
		{"RestrictedGroupOnce", AgentSpec{MemberOf: []int64{9, 5}, ObserverOf: []int64{9}},
			[]FeatureUse{{Feature: acp, GroupID: 9, Observer: true}, {Feature: acp, GroupID: 9}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if d := cmp.Diff(c.want, AgentFeatures(c.spec, restricted)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestPlanLacks(t *testing.T) {
	sg, acp := freshservice.FeatureSpecifiedGroups, freshservice.FeatureAccessControlsPro
	for _, c := range []struct {
		name          string
		total         int
		f             freshservice.Feature
		surely, maybe bool
	}{
		{"StarterLacksSpecifiedGroups", 100, sg, true, false},
		{"GrowthLacksSpecifiedGroups", 200, sg, true, false},
		{"ProHasSpecifiedGroups", 400, sg, false, false},
		{"ProLacksAccessControlsPro", 400, acp, true, false},
		{"EnterpriseHasBoth", 500, acp, false, false},
		{"LegacyHourlyGrowth", 2500, sg, true, false},
		{"AddOnMeansProOrEnterprise", 2000, sg, false, false},
		{"AddOnMayLackAccessControlsPro", 2000, acp, false, true},
		{"ThousandIsStarterHourlyOrAnAddOn", 1000, sg, false, true},
		{"UnknownTotalTellsNothing", 3000, sg, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			surely, maybe := PlanLacks(freshservice.PlansFromRateLimit(c.total), c.f)
			if surely != c.surely || maybe != c.maybe {
				t.Errorf("PlanLacks(total %d, %s) = %v, %v; want %v, %v", c.total, c.f.Name, surely, maybe, c.surely, c.maybe)
			}
		})
	}
}
