package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/bridge"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/server"
	"github.com/fsbridge/fsbridge/internal/status"
	"github.com/fsbridge/fsbridge/mapping"
)

// The first-contact report: what `fsbridge check` says of an account
// beyond the configuration, ending with `ready` or `not ready: N
// problems`, each problem with its fix (docs/first-day.md). Its facts are
// the status page's Account card (status.AccountReport); check adds what
// only it asks: the mandatory requester fields, the agents, and the rules
// that do not resolve (which stop serve from starting at all).

// errNotReady makes check exit 1 once the verdict is printed.
var errNotReady = errLogged{errors.New("not ready")}

// checkProblems are the problems check found, in the order found.
type checkProblems []status.AccountProblem

func (p *checkProblems) add(what, fix string) {
	*p = append(*p, status.AccountProblem{What: what, Fix: fix})
}

// newCheckServer assembles the bridge for check. Rules that name what the
// account does not have stop a server; check reports them as problems, so
// it assembles one without rules to report the rest.
func newCheckServer(ctx context.Context, cfg config.Config, opts server.Options) (*server.Server, *bridge.RulesError, error) {
	srv, err := server.New(ctx, cfg, opts)
	var rerr *bridge.RulesError
	if err == nil || !errors.As(err, &rerr) {
		return srv, nil, err
	}
	bare := cfg
	bare.Rules = config.Rules{MaxAgents: cfg.Rules.MaxAgents}
	srv, err = server.New(ctx, bare, opts)
	return srv, rerr, err
}

// printAccountReport prints the account's limits, the key's rights, the
// workspaces, the mandatory fields and the agents, and adds what is wrong
// to problems. It makes a few calls: agent list pages (when the key may
// list agents) and one requester create Freshservice always refuses.
func printAccountReport(ctx context.Context, w io.Writer, srv *server.Server, rulesErr *bridge.RulesError, problems *checkProblems) {
	acct := srv.Account()
	fmt.Fprintf(w, "rate limit: %s\n", acct.LimitWords())
	if note := planNote(acct); note != "" {
		fmt.Fprintf(w, "  %s\n", note)
	}
	fmt.Fprintf(w, "api key rights: %s\n", acct.AccessWords())
	for _, p := range acct.Problems {
		problems.add(p.What, p.Fix)
	}
	fmt.Fprintf(w, "workspaces: %s\n", acct.WorkspaceWords())

	if rulesErr != nil {
		fmt.Fprintln(w, "rules: some names do not resolve (see the problems below)")
		for _, p := range rulesErr.Problems {
			problems.add("rules: "+p,
				"correct the name in the configuration's rules to one the account has, create it in Freshservice, or give the rule the workspace that has it (workspace: NAME; see docs/rules.md)")
		}
	}

	fields, known, err := mandatoryRequesterFields(ctx, srv.Client)
	switch {
	case err != nil:
		fmt.Fprintf(w, "mandatory requester fields: could not be asked (%s)\n", freshservice.Classify(err))
	case !known:
		fmt.Fprintln(w, "mandatory requester fields: Freshservice did not name them")
	default:
		missing := missingMandatoryFields(fields, srv.Config.Mapping)
		if len(missing) == 0 {
			fmt.Fprintln(w, "mandatory requester fields: none the mapping leaves empty")
		} else {
			fmt.Fprintf(w, "mandatory requester fields: %s, which the mapping does not fill for every user\n", strings.Join(missing, ", "))
			problems.add(fmt.Sprintf("Freshservice requires the requester fields %s, which the bridge does not fill for every user: a create without them is refused (missing_field)", strings.Join(missing, ", ")),
				"map each under mapping.custom_fields with a source and a default (docs/mapping.md), or make it optional in Freshservice (Admin > User Fields)")
		}
	}

	full, occasional, counted := countAgents(ctx, srv, acct.ManageAgents)
	switch {
	case !counted:
		fmt.Fprintf(w, "agents: not counted (the key may not list agents); the mirror knows %d full-time, %d occasional\n", acct.FullTimeAgents, acct.OccasionalAgents)
	case acct.MaxAgents > 0:
		free := max(acct.MaxAgents-full, 0)
		fmt.Fprintf(w, "agents: %d full-time, %d occasional; seats: %d of rules.max_agents %d free (Freshservice's API does not say how many seats the account has)\n",
			full, occasional, free, acct.MaxAgents)
		if free == 0 {
			fmt.Fprintln(w, "  no seat is free under rules.max_agents: promotions to full-time agent will be refused until one is")
		}
	default:
		fmt.Fprintf(w, "agents: %d full-time, %d occasional; seats: Freshservice's API does not say how many the account has, and rules.max_agents sets no cap\n", full, occasional)
	}
}

// printVerdict prints every problem with its fix, then the last line:
// `ready` or `not ready: N problems`. It returns errNotReady when there
// are problems.
func printVerdict(w io.Writer, problems checkProblems) error {
	if len(problems) == 0 {
		fmt.Fprintln(w, "ready")
		return nil
	}
	fmt.Fprintln(w, "problems:")
	for i, p := range problems {
		fmt.Fprintf(w, "  %d. %s\n", i+1, p.What)
		fmt.Fprintf(w, "     fix: %s\n", p.Fix)
	}
	fmt.Fprintf(w, "not ready: %s\n", plural(len(problems), "problem", "problems"))
	return errNotReady
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// planNote says when the configured plan's per-minute limit is not the
// one Freshservice showed: the budget follows Freshservice, but the
// configuration should say the truth.
func planNote(a status.AccountReport) string {
	if !a.Measured {
		return ""
	}
	if a.Per == "hour" {
		return "the account has the legacy per-hour limits; set freshservice.hourly_limits: true so the budget counts per hour from the first call"
	}
	want, ok := freshservice.PlanLimits[freshservice.Plan(a.Plan)]
	if !ok || want.Overall == a.Limit {
		return ""
	}
	for p, l := range freshservice.PlanLimits {
		if l.Overall == a.Limit {
			return fmt.Sprintf("the configuration says plan %s (%d a minute) but Freshservice shows %d, the limit of plan %s: set freshservice.plan: %s", a.Plan, want.Overall, a.Limit, p, p)
		}
	}
	return fmt.Sprintf("the configuration says plan %s (%d a minute) but Freshservice shows %d (an add-on?); the budget follows Freshservice", a.Plan, want.Overall, a.Limit)
}

// mandatoryRequesterFields asks Freshservice which requester fields are
// mandatory: the client cannot read the field definitions
// (/requester_fields), so it sends one POST /api/v2/requesters with an
// empty body, which Freshservice always refuses (first_name is
// mandatory), and reads the missing_field errors. Nothing is created.
// known is false when the answer named no field.
func mandatoryRequesterFields(ctx context.Context, fs *freshservice.Client) (fields []string, known bool, err error) {
	_, _, err = fs.Requesters.Create(ctx, &freshservice.RequesterFields{})
	var er *freshservice.ErrorResponse
	if err == nil {
		// Cannot happen on Freshservice; say nothing rather than guess.
		return nil, false, nil
	}
	if !errors.As(err, &er) || er.Status != 400 {
		return nil, false, err
	}
	for _, fe := range er.Errors {
		if fe.Code == "missing_field" && fe.Field != "" {
			fields = append(fields, fe.Field)
		}
	}
	return fields, len(fields) > 0, nil
}

// alwaysSent are the mandatory requester fields every create the bridge
// sends carries (a user without them is refused before Freshservice).
var alwaysSent = map[string]bool{"first_name": true, "primary_email": true}

// missingMandatoryFields are the mandatory fields the bridge's creates
// may leave empty: the mandatory custom fields no mapping.custom_fields
// entry fills for every user (mapping.MissingMandatoryFields).
func missingMandatoryFields(mandatory []string, m config.Mapping) []string {
	var defs []mapping.CustomFieldDef
	for _, f := range mandatory {
		if !alwaysSent[f] {
			defs = append(defs, mapping.CustomFieldDef{Name: f, Required: true})
		}
	}
	return mapping.MissingMandatoryFields(defs, m.Extras().CustomFields)
}

// countAgents counts the active agents, full-time and occasional, with
// list calls (one per 100 agents); counted is false when the key may not
// list agents or the list failed.
func countAgents(ctx context.Context, srv *server.Server, may bool) (full, occasional int, counted bool) {
	if !may {
		return 0, 0, false
	}
	for u, err := range srv.Client.Agents.All(ctx, &freshservice.AgentListOptions{Active: freshservice.Ptr(true), ListOptions: freshservice.ListOptions{PerPage: 100}}) {
		if err != nil {
			return 0, 0, false
		}
		if u.Occasional {
			occasional++
		} else {
			full++
		}
	}
	return full, occasional, true
}
