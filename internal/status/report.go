package status

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/fsbridge/fsbridge/internal/bridge"
	"github.com/fsbridge/fsbridge/internal/health"
	"github.com/fsbridge/fsbridge/internal/store"
)

// Report is the whole report, as /status.json serves it.
type Report struct {
	GeneratedAt time.Time     `json:"generated_at"`
	DryRun      bool          `json:"dry_run"`
	Health      HealthReport  `json:"health"`
	Budget      BudgetReport  `json:"budget"`
	Calls       CallsReport   `json:"calls"`
	Counts      CountsReport  `json:"counts"`
	Creates     CreatesReport `json:"creates"`
	// Attention lists the users provisioned without a value Freshservice
	// cannot hold yet (DESIGN D10).
	Attention AttentionReport `json:"needs_attention"`
	// Protection says whom the bridge never locks out (DESIGN D12).
	Protection ProtectionReport `json:"protection"`
	// Account is the account and what the API key may do, as `fsbridge
	// check` reports them.
	Account AccountReport `json:"account"`
	// Connections is absent until the bridge serves a listener.
	Connections *ConnectionsReport `json:"connections,omitempty"`
	Audit       AuditReport        `json:"audit"`
}

// HealthReport is the health model's checks and the page's own.
type HealthReport struct {
	// State is the worst of the checks: ok, warn or fail.
	State  string         `json:"state"`
	Checks []health.Check `json:"checks"`
}

// BudgetReport is the client's rate-limit budget.
type BudgetReport struct {
	WindowSeconds    float64        `json:"window_seconds"`
	WaitSecondsTotal float64        `json:"wait_seconds_total"`
	Buckets          []BucketReport `json:"buckets"`
}

// BucketReport is one rate-limit bucket in the current window.
type BucketReport struct {
	Bucket string `json:"bucket"`
	// Limit is the bridge's share of the bucket per window, AccountLimit
	// the account's whole limit; Used and Remaining are of the current
	// window.
	Limit        int     `json:"limit"`
	AccountLimit int     `json:"account_limit"`
	Used         int     `json:"used"`
	Remaining    int     `json:"remaining"`
	UsedPercent  float64 `json:"used_percent"`
	StartedTotal int64   `json:"started_total"`
	OthersSpent  int64   `json:"others_spent_total"`
	// HeldSeconds is how much longer a Freshservice 429 holds the bucket:
	// its remaining credit cannot be spent until then.
	HeldSeconds float64 `json:"held_seconds,omitempty"`
}

// CallsReport counts the Freshservice calls and SCIM requests.
type CallsReport struct {
	// Minutes are the last 60 minutes, oldest first; the last is the
	// current minute, still counting.
	Minutes    []MinuteReport `json:"minutes"`
	LastHour   CallCounts     `json:"last_hour"`
	SinceStart CallCounts     `json:"since_start"`
	// LastFailure describes the last failed Freshservice attempt.
	LastFailure   string     `json:"last_failure,omitempty"`
	LastFailureAt *time.Time `json:"last_failure_at,omitempty"`
}

// CountsReport counts the users, seats, groups and backlog.
type CountsReport struct {
	Users        UserCounts  `json:"users"`
	Seats        SeatCounts  `json:"seats"`
	Groups       GroupCounts `json:"groups"`
	PlansPending int         `json:"plans_pending"`
	DriftUsers   int         `json:"drift_users"`
}

// UserCounts are the mirror's users by kind.
type UserCounts struct {
	InMirror         int `json:"in_mirror"`
	Managed          int `json:"managed"`
	FullTimeAgents   int `json:"full_time_agents"`
	OccasionalAgents int `json:"occasional_agents"`
	Requesters       int `json:"requesters"`
	Deactivated      int `json:"deactivated"`
}

// SeatCounts are the full-time agent seats against rules.max_agents.
type SeatCounts struct {
	// Used is the number of active full-time agents; Max is
	// rules.max_agents (0: no cap of the bridge's own).
	Used        int     `json:"used"`
	Max         int     `json:"max_agents"`
	UsedPercent float64 `json:"used_percent"`
}

// GroupCounts are the SCIM groups by what the rules make of them.
type GroupCounts struct {
	Total          int `json:"total"`
	RoleGroups     int `json:"role_groups"`
	AgentGroups    int `json:"agent_groups"`
	RequesterGroup int `json:"requester_groups"`
	// NotApplied counts groups not (yet) applied to Freshservice.
	NotApplied int `json:"not_applied"`
}

// ConnectionsReport is the listener's connections against its limits.
type ConnectionsReport struct {
	Open               int     `json:"open"`
	Max                int     `json:"max"`
	PerClient          int     `json:"per_client"`
	IdleTimeoutSeconds float64 `json:"idle_timeout_seconds"`
	// ClosedForRoomTotal counts idle connections closed to make room for
	// a newcomer; RefusedTotal newcomers answered 503 because no
	// connection in the way was idle.
	ClosedForRoomTotal int64 `json:"closed_for_room_total"`
	RefusedTotal       int64 `json:"refused_total"`
}

// CreatesReport lists the creates whose answer was lost and that the
// background pass has not settled, and what their retries may spend.
type CreatesReport struct {
	Retrying int `json:"retrying"`
	Failed   int `json:"failed"`
	// The policy: tries, and time since the IdP sent the create, before
	// the bridge gives up.
	MaxAttempts   int     `json:"max_attempts"`
	MaxAgeSeconds float64 `json:"max_age_seconds"`
	// CallsPerWindow is the most the background tries may spend per
	// rate-limit window, all creates together; SpentLastWindow is what
	// they spent in the last one.
	CallsPerWindow  int           `json:"calls_per_window"`
	SpentLastWindow int           `json:"spent_last_window"`
	Items           []CreateEntry `json:"items"`
	Error           string        `json:"error,omitempty"`
}

// CreateEntry is one create not settled.
type CreateEntry struct {
	Email    string `json:"email"`
	UserName string `json:"user_name,omitempty"`
	// State is "retrying" or "failed" (the bridge gave up).
	State string `json:"state"`
	// Since is when the IdP last sent the create.
	Since       time.Time  `json:"since"`
	Attempts    int        `json:"attempts"`
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
	FailedAt    *time.Time `json:"failed_at,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	WhatToDo    string     `json:"what_to_do"`
}

// AttentionReport is the "needs attention" list: users provisioned
// without some value, with the attribute and the value the IdP sent.
type AttentionReport struct {
	Users int              `json:"users"`
	Items []AttentionEntry `json:"items"`
}

// AttentionEntry is one value a user was provisioned without.
type AttentionEntry struct {
	ID       int64  `json:"id"`
	UserName string `json:"user_name"`
	Attr     string `json:"attribute"`
	Value    string `json:"value"`
	Reason   string `json:"reason"`
}

// statusMaxAttention caps the lines listed; Users counts them all.
const statusMaxAttention = 200

func attention(f Facts) AttentionReport {
	all, down := f.Gaps, f.Downgraded
	users := map[int64]bool{}
	for _, u := range all {
		users[u.ID] = true
	}
	for _, u := range down {
		users[u.ID] = true
	}
	rep := AttentionReport{Users: len(users), Items: []AttentionEntry{}}
	// Agents Freshservice made occasional for want of a seat first: a
	// seat is money, and the fix is the account's.
	for _, u := range down {
		if len(rep.Items) == statusMaxAttention {
			return rep
		}
		rep.Items = append(rep.Items, AttentionEntry{ID: u.ID, UserName: u.UserName, Attr: "occasional", Value: "false (full-time, rules " + strings.Join(u.Rules, ", ") + ")",
			Reason: fmt.Sprintf("no full-time agent seat was free (%d full-time agents): Freshservice made the agent occasional on %s; the bridge asks again when a seat frees (buy one, or demote a full-time agent) or the user's role rules change", u.FullTime, u.At.UTC().Format("2006-01-02 15:04 MST"))})
	}
	for _, u := range all {
		for _, g := range u.Gaps {
			if len(rep.Items) == statusMaxAttention {
				return rep
			}
			rep.Items = append(rep.Items, AttentionEntry{ID: u.ID, UserName: u.UserName, Attr: g.Attr, Value: g.Value, Reason: g.Reason})
		}
	}
	return rep
}

// ProtectionReport names the API key's owner and the protected_users
// setting: the users the bridge never deactivates, demotes or strips.
type ProtectionReport struct {
	KeyOwner       string   `json:"key_owner,omitempty"`
	KeyOwnerID     int64    `json:"key_owner_id,omitempty"`
	ProtectedUsers []string `json:"protected_users,omitempty"`
}

func protection(f Facts) ProtectionReport {
	var rep ProtectionReport
	if o := f.KeyOwner; o != nil {
		rep.KeyOwner, rep.KeyOwnerID = o.Email, o.ID
	}
	rep.ProtectedUsers = f.ProtectedUsers
	return rep
}

// statusMaxCreates caps the creates listed; the counts cover them all.
const statusMaxCreates = 100

// creates reports the unsettled creates; it reads the store and the
// mirror, and makes no Freshservice call.
func (p *Page) creates(ctx context.Context, now time.Time, retry CreateRetry) CreatesReport {
	pol := retry.Policy
	rep := CreatesReport{
		MaxAttempts: pol.MaxAttempts, MaxAgeSeconds: pol.MaxAge.Seconds(),
		CallsPerWindow: retry.Allowance, SpentLastWindow: retry.Spent, Items: []CreateEntry{},
	}
	pending, err := p.src.PendingCreates(ctx)
	if err != nil {
		rep.Error = "the creates in flight could not be read"
		p.log.Warn().Err(err).Msg("status page: listing creates in flight failed")
		return rep
	}
	for _, c := range pending {
		e := CreateEntry{Email: c.Email, UserName: c.UserName, Since: c.Since.UTC(), Attempts: c.Attempts, LastError: c.LastError}
		if c.Failed.IsZero() {
			rep.Retrying++
			e.State = "retrying"
			next := "at the next background pass"
			if c.NextAttempt.After(now) {
				t := c.NextAttempt.UTC()
				e.NextAttempt = &t
				next = "in " + health.Ago(c.NextAttempt.Sub(now))
			}
			e.WhatToDo = fmt.Sprintf("Nothing yet: the bridge tries again by itself (%s), and gives up after %s or %s after the IdP sent it.",
				next, plural(pol.MaxAttempts, "try", "tries"), health.ShortDuration(pol.MaxAge))
		} else {
			rep.Failed++
			e.State = "failed"
			t := c.Failed.UTC()
			e.FailedAt = &t
			e.WhatToDo = "The bridge stopped trying. Fix what the last error names (in Freshservice, or the user's attributes in the IdP), " +
				"then send the user again from the IdP (Okta: Push or Retry; Entra ID: Provision on demand); the bridge then starts afresh. " +
				"The entry leaves this list 7 days after the bridge gave up."
		}
		if len(rep.Items) < statusMaxCreates {
			rep.Items = append(rep.Items, e)
		}
	}
	return rep
}

// AuditReport is the last audit events, as filtered.
type AuditReport struct {
	// Outcome is the filter applied ("" for all), Limit the most events
	// returned.
	Outcome string       `json:"outcome"`
	Limit   int          `json:"limit"`
	Events  []AuditEntry `json:"events"`
	Error   string       `json:"error,omitempty"`
}

// AuditEntry is one audit event as the page shows it.
type AuditEntry struct {
	ID        int64     `json:"id"`
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id,omitempty"`
	// Client is the IdP client (token name); "" for background work.
	Client    string `json:"client"`
	Operation string `json:"operation"`
	// Subject is the user's userName or the group's displayName, when the
	// bridge knows it; SubjectKind is user or group.
	Subject     string         `json:"subject,omitempty"`
	SubjectKind string         `json:"subject_kind,omitempty"`
	SCIMID      string         `json:"scim_id,omitempty"`
	FSID        int64          `json:"fs_id,omitempty"`
	Outcome     string         `json:"outcome"`
	Detail      string         `json:"detail"`
	Failure     *FailureReport `json:"failure,omitempty"`
	// Summary is what the table shows of Detail; More the rest (a
	// request body), behind a disclosure.
	Summary string `json:"-"`
	More    string `json:"-"`
}

// FailureReport is a failed event's detail in plain words, with the
// fields the bridge recorded.
type FailureReport struct {
	// Reason says what went wrong in a sentence.
	Reason string `json:"reason"`
	// Kind is the kind of failure (internal/fault): invalid, conflict,
	// not_found, no_seat, forbidden, protected, transient, unavailable,
	// rate_limited, canceled or internal; absent for an event recorded
	// without its fields.
	Kind string `json:"kind,omitempty"`
	// Call is the Freshservice call that failed, when there was one.
	Call string `json:"call,omitempty"`
	// Status is Freshservice's HTTP status; Field and Code the first field
	// error it named.
	Status int    `json:"status,omitempty"`
	Field  string `json:"field,omitempty"`
	Code   string `json:"code,omitempty"`
}

// report gathers everything: the health model's checks (one store ping),
// one pass over the groups, one audit query, the snapshot of the bridge's
// facts, the counters.
func (p *Page) report(ctx context.Context, outcome string, limit int) Report {
	now := p.now()

	// Health: readiness (what /readyz answers), then what only needs a
	// look.
	checks := health.Readiness(ctx, now, p.src)
	rep := Report{Account: p.src.Account()}
	f := p.src.Facts()
	rep.GeneratedAt, rep.DryRun = now.UTC().Truncate(time.Second), f.DryRun
	rep.Creates = p.creates(ctx, now, f.CreateRetry)
	rep.Attention = attention(f)
	rep.Protection = protection(f)
	rep.Health = HealthReport{Checks: append(checks, pageChecks(f, rep.Creates)...)}
	rep.Health.State = health.Worst(rep.Health.Checks)
	if c := f.Connections; c != nil {
		rep.Connections = &ConnectionsReport{
			Open: c.Open, Max: c.Max, PerClient: c.PerClient, IdleTimeoutSeconds: c.Idle.Seconds(),
			ClosedForRoomTotal: c.ClosedForRoom, RefusedTotal: c.Refused,
		}
	}
	rep.Budget = budget(f.Budget)

	// Calls.
	minutes, hour, total := p.series(now)
	rep.Calls = CallsReport{Minutes: minutes, LastHour: hour, SinceStart: total}
	if last := p.src.LastCalls(); !last.FailedAt.IsZero() {
		t := last.FailedAt.UTC()
		rep.Calls.LastFailure, rep.Calls.LastFailureAt = last.Failure, &t
	}

	// Counts.
	c := f.Users
	rep.Counts.Users = UserCounts{
		InMirror: c.Users, Managed: c.Managed, FullTimeAgents: c.FullTimeAgents, OccasionalAgents: c.OccasionalAgents,
		Requesters: c.Requesters, Deactivated: c.Users - c.Active,
	}
	rep.Counts.Seats = SeatCounts{Used: c.FullTimeAgents}
	if f.MaxAgents > 0 {
		rep.Counts.Seats.Max = f.MaxAgents
		rep.Counts.Seats.UsedPercent = math.Round(1000*float64(c.FullTimeAgents)/float64(f.MaxAgents)) / 10
	}
	rep.Counts.PlansPending = f.PlansPending
	rep.Counts.DriftUsers = f.DriftUsers
	groupNames := map[string]string{}
	err := p.src.ForEachGroup(ctx, func(g store.Group) error {
		groupNames[g.ID] = g.DisplayName
		rep.Counts.Groups.Total++
		var a struct {
			Kind bridge.GroupKind `json:"kind"`
		}
		_ = json.Unmarshal(g.Applied, &a)
		switch a.Kind {
		case bridge.KindRoleGroup:
			rep.Counts.Groups.RoleGroups++
		case bridge.KindAgentGroup:
			rep.Counts.Groups.AgentGroups++
		case bridge.KindRequesterGroup:
			rep.Counts.Groups.RequesterGroup++
		default:
			rep.Counts.Groups.NotApplied++
		}
		return nil
	})
	if err != nil {
		p.log.Warn().Err(err).Msg("status page: listing groups failed")
	}

	// Audit.
	rep.Audit = AuditReport{Outcome: outcome, Limit: limit, Events: []AuditEntry{}}
	events, err := p.src.ListAudit(ctx, store.AuditQuery{Outcome: outcome, Limit: limit})
	if err != nil {
		rep.Audit.Error = "the audit trail could not be read"
		p.log.Warn().Err(err).Msg("status page: reading the audit trail failed")
	}
	for _, ev := range events {
		e := AuditEntry{
			ID: ev.ID, Time: ev.Time.UTC(), RequestID: ev.RequestID, Client: ev.Client, Operation: ev.Operation,
			SCIMID: ev.SCIMID, FSID: ev.FSID, Outcome: ev.Outcome, Detail: ev.Detail,
		}
		e.Subject, e.SubjectKind = subjectOf(ev, groupNames, p.src.UserName)
		e.Summary, e.More = splitDetail(ev)
		if ev.Outcome == "error" {
			f := explainFailure(ev)
			e.Failure = &f
		}
		rep.Audit.Events = append(rep.Audit.Events, e)
	}
	return rep
}

// pageChecks are the checks the page adds to the health model's: they
// need only a look at what the bridge keeps, and make it need attention
// without making it unready.
func pageChecks(f Facts, creates CreatesReport) []health.Check {
	var checks []health.Check
	if n := len(f.Gaps); n > 0 {
		checks = append(checks, health.Check{Name: "attributes", State: "warn", Detail: fmt.Sprintf("%s provisioned without a value Freshservice cannot hold yet (see Needs attention)", plural(n, "user", "users"))})
	}
	if n := len(f.Downgraded); n > 0 {
		checks = append(checks, health.Check{Name: "seats", State: "warn", Detail: fmt.Sprintf("%s occasional instead of full-time: Freshservice had no full-time seat free (see Needs attention)", plural(n, "agent", "agents"))})
	}
	switch c := creates; {
	case c.Failed > 0:
		checks = append(checks, health.Check{Name: "creates", State: "warn", Detail: fmt.Sprintf("the bridge gave up on %s (see Creates not finished)%s", plural(c.Failed, "create", "creates"),
			map[bool]string{true: fmt.Sprintf("; %d more retrying", c.Retrying), false: ""}[c.Retrying > 0])})
	case c.Retrying > 0:
		checks = append(checks, health.Check{Name: "creates", State: "ok", Detail: fmt.Sprintf("%s whose answer was lost, retrying in the background", plural(c.Retrying, "create", "creates"))})
	}
	if n := f.PlansPending; n > 0 {
		checks = append(checks, health.Check{Name: "backlog", State: "warn", Detail: fmt.Sprintf("%s waiting to re-run (the background pass retries them)", plural(n, "plan", "plans"))})
	} else {
		checks = append(checks, health.Check{Name: "backlog", State: "ok", Detail: "no plan waiting to re-run"})
	}
	return checks
}

// budget reports each bucket's use in the current window.
func budget(b Budget) BudgetReport {
	rep := BudgetReport{WindowSeconds: b.Window.Seconds(), WaitSecondsTotal: b.Waited.Seconds()}
	for _, b := range b.Buckets {
		used := max(b.Limit-b.Remaining, 0)
		br := BucketReport{
			Bucket: string(b.Bucket), Limit: b.Limit, AccountLimit: b.Total, Used: used, Remaining: b.Remaining,
			StartedTotal: b.Started, OthersSpent: b.OthersSpent, HeldSeconds: math.Ceil(b.PausedFor.Seconds()),
		}
		if b.Limit > 0 {
			br.UsedPercent = math.Round(1000*float64(used)/float64(b.Limit)) / 10
		}
		rep.Buckets = append(rep.Buckets, br)
	}
	return rep
}

// subjectOf names the user or group an event is about; userName names a
// user of the mirror by its id ("" when unknown).
func subjectOf(ev store.AuditEvent, groups map[string]string, userName func(int64) string) (string, string) {
	if name, ok := groups[ev.SCIMID]; ok && ev.SCIMID != "" {
		return name, "group"
	}
	isGroupOp := strings.HasPrefix(ev.Operation, "group.create") || strings.HasPrefix(ev.Operation, "group.change") ||
		strings.HasPrefix(ev.Operation, "group.delete") || strings.HasPrefix(ev.Operation, "agent_group.change")
	if isGroupOp {
		return "", "group"
	}
	if ev.FSID > 0 {
		if n := userName(ev.FSID); n != "" {
			return n, "user"
		}
	}
	if id, err := strconv.ParseInt(ev.SCIMID, 10, 64); err == nil && id > 0 {
		if n := userName(id); n != "" {
			return n, "user"
		}
	}
	if ev.FSID > 0 || ev.SCIMID != "" {
		return "", "user"
	}
	return "", ""
}
