package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/server"
	"github.com/fsbridge/fsbridge/mapping"
)

// printPlanGatedRules names the account's plan and every configured rule
// that needs a feature the plan lacks (freshservice.Features): Freshservice
// refuses such a promotion with 403 require_feature, every time.
//
// Freshservice has no API that names an account's plan. The plan is
// inferred from the X-RateLimit-Total of the overall bucket (reference
// §10), read from one GET /api/v2/groups (which also says which agent
// groups are restricted): 100 Starter, 200 Growth, 400 Pro, 500
// Enterprise, or the legacy hourly 2500, 5000, 7500; 2000 (an add-on)
// leaves Pro or Enterprise, 1000 Starter, Pro or Enterprise. When the
// header tells nothing, freshservice.plan from the configuration is used.
func printPlanGatedRules(ctx context.Context, w io.Writer, srv *server.Server) {
	groups, resp, err := srv.Client.Groups.List(ctx, &freshservice.ListOptions{PerPage: 100})
	if err != nil {
		fmt.Fprintf(w, "plan: not read (GET /api/v2/groups failed: %v); plan-gated features not checked\n", err)
		return
	}
	total := 0
	if resp != nil {
		total = resp.Rate.Total
	}
	plans := freshservice.PlansFromRateLimit(total)
	source := fmt.Sprintf("from X-RateLimit-Total %d", total)
	if len(plans) == 0 {
		if srv.Config.Freshservice.Plan == "" {
			fmt.Fprintln(w, "plan: unknown (X-RateLimit-Total tells nothing and freshservice.plan is not set); plan-gated features not checked")
			return
		}
		plans = []freshservice.Plan{freshservice.Plan(srv.Config.Freshservice.Plan)}
		source = "from freshservice.plan; Freshservice's rate-limit headers did not tell"
		if total > 0 {
			source = fmt.Sprintf("from freshservice.plan; X-RateLimit-Total %d does not tell", total)
		}
	}
	names := make([]string, len(plans))
	for i, p := range plans {
		names[i] = p.Title()
	}
	fmt.Fprintf(w, "plan: %s (%s)\n", strings.Join(names, " or "), source)

	restricted := map[int64]bool{}
	for _, g := range groups {
		if g.Restricted || g.ApprovalRequired {
			restricted[g.ID] = true
		}
	}
	rs := srv.Bridge.Rules()
	cat := srv.Bridge.Catalog()
	var lines []string
	for _, r := range rs.RoleRules {
		spec := mapping.AgentSpec{Roles: r.Roles, MemberOf: r.MemberOf, ObserverOf: r.ObserverOf}
		for _, use := range mapping.AgentFeatures(spec, func(g int64) bool { return restricted[g] }) {
			surely, maybe := mapping.PlanLacks(plans, use.Feature)
			if !surely && !maybe {
				continue
			}
			var what string
			switch {
			case use.RoleID != 0:
				what = fmt.Sprintf("role %s scoped specified_groups", cat.Roles[use.RoleID])
			case use.Observer:
				what = fmt.Sprintf("observer of agent group %s", cat.AgentGroups[use.GroupID])
			default:
				what = fmt.Sprintf("restricted agent group %s", cat.AgentGroups[use.GroupID])
			}
			verdict := "this account's plan lacks it: Freshservice refuses these promotions (403 require_feature)"
			if maybe {
				verdict = "this account's plan may lack it"
			}
			lines = append(lines, fmt.Sprintf("  role group %q: %s needs the %s feature (plans: %s); %s",
				r.Name, what, use.Feature.Name, use.Feature.PlanList(), verdict))
		}
	}
	if len(lines) == 0 {
		fmt.Fprintln(w, "plan-gated features: every rule fits the plan")
		return
	}
	fmt.Fprintf(w, "plan-gated features: %d rule setting(s) need a feature the plan may lack:\n", len(lines))
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}
