package freshservice

import (
	"slices"
	"testing"
)

func TestFeatureNamed(t *testing.T) {
	for _, c := range []struct {
		name, want, plans string
		ok                bool
	}{
		{"Specified Groups Scope", "Specified Groups Scope", "Pro, Enterprise", true},
		{" access controls pro ", "Access Controls Pro", "Enterprise", true},
		{"Sandbox", "", "", false},
	} {
		f, ok := FeatureNamed(c.name)
		if ok != c.ok || f.Name != c.want || f.PlanList() != c.plans {
			t.Errorf("FeatureNamed(%q) = %q (%s), %v; want %q (%s), %v", c.name, f.Name, f.PlanList(), ok, c.want, c.plans, c.ok)
		}
	}
}

func TestPlansFromRateLimit(t *testing.T) {
	for _, c := range []struct {
		total int
		want  []Plan
	}{
		{100, []Plan{PlanStarter}},
		{200, []Plan{PlanGrowth}},
		{400, []Plan{PlanPro}},
		{500, []Plan{PlanEnterprise}},
		{2500, []Plan{PlanGrowth}},
		{5000, []Plan{PlanPro}},
		{7500, []Plan{PlanEnterprise}},
		{2000, []Plan{PlanPro, PlanEnterprise}},
		{1000, []Plan{PlanStarter, PlanPro, PlanEnterprise}},
		{3000, nil},
		{0, nil},
		{140, nil}, // a list bucket's total, not the overall one
	} {
		if got := PlansFromRateLimit(c.total); !slices.Equal(got, c.want) {
			t.Errorf("PlansFromRateLimit(%d) = %v, want %v", c.total, got, c.want)
		}
	}
}
