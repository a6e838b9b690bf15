package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/bridge"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/fault"
	"github.com/fsbridge/fsbridge/internal/health"
	"github.com/fsbridge/fsbridge/internal/reqctx"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/scim"
)

// The status page: /status (HTML for a browser, no script, no external
// asset) and /status.json (the same report for scripts). It answers "is it
// healthy, is it keeping up, what did it do, what failed and why" from
// what the bridge already keeps: per-minute counters of the Freshservice
// calls and SCIM requests of the last hour (kept here, fed by the
// observers), the client's budget, the mirror's counts, the store's groups
// and the last audit events. Rendering makes no Freshservice call, except
// the credentials check, which is cached for a minute and usually answered
// from the last call.

//go:embed status.html
var statusHTML string

var statusTemplate = template.Must(template.New("status").Funcs(template.FuncMap{
	"n":      func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"pct":    func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + "%" },
	"stamp":  func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 MST") },
	"sub2":   func(a, b float64) float64 { return a - b },
	"half":   func(a float64) float64 { return a / 2 },
	"deref":  func(t *time.Time) time.Time { return *t },
	"plural": plural,
	"seatLevel": func(pct float64) string {
		switch {
		case pct >= 100:
			return "fail"
		case pct >= 80:
			return "warn"
		}
		return "ok"
	},
	"seatWidth": func(pct, w float64) float64 { return math.Min(pct, 100) * w / 100 },
	"seconds": func(d float64) string {
		return (time.Duration(d * float64(time.Second))).Round(100 * time.Millisecond).String()
	},
}).Parse(statusHTML))

const (
	statusMinutes   = 60
	statusCookie    = "fsbridge_status"
	statusRealm     = `Basic realm="fsbridge status"`
	statusMaxEvents = 500
)

// callCounts are the counters of one minute (or of a longer span).
//
// Every Freshservice HTTP attempt is counted once, in exactly one of the
// first five: retries (attempt > 1, whatever its outcome), failures (a
// first attempt that failed), else writes (not GET), lookups (GET made for
// a SCIM request) or walks (GET made in the background: mirror walks,
// reconcile reads). Calls is their sum.
type callCounts struct {
	Writes   int64 `json:"writes"`
	Lookups  int64 `json:"lookups"`
	Walks    int64 `json:"walks"`
	Retries  int64 `json:"retries"`
	Failures int64 `json:"failures"`
	Calls    int64 `json:"calls"`
	// RateLimitedSeen counts 429 answers from Freshservice;
	// RateLimitedReturned counts 429 answers the bridge gave an IdP.
	RateLimitedSeen     int64 `json:"rate_limited_seen"`
	RateLimitedReturned int64 `json:"rate_limited_returned"`
	// SCIMRequests counts finished SCIM requests, SCIMErrors those answered
	// 5xx.
	SCIMRequests int64 `json:"scim_requests"`
	SCIMErrors   int64 `json:"scim_errors"`
}

func (c *callCounts) add(o callCounts) {
	c.Writes += o.Writes
	c.Lookups += o.Lookups
	c.Walks += o.Walks
	c.Retries += o.Retries
	c.Failures += o.Failures
	c.Calls += o.Calls
	c.RateLimitedSeen += o.RateLimitedSeen
	c.RateLimitedReturned += o.RateLimitedReturned
	c.SCIMRequests += o.SCIMRequests
	c.SCIMErrors += o.SCIMErrors
}

type minuteSlot struct {
	minute int64 // Unix minute the counts belong to
	c      callCounts
}

// statusPage serves /status and /status.json and keeps the last hour's
// per-minute counters.
type statusPage struct {
	s   *Server
	now func() time.Time
	// session is the value of the cookie a ?token= visit sets, so the
	// page's links work without carrying the token. Random per process.
	session string

	mu    sync.Mutex
	ring  [statusMinutes]minuteSlot
	total callCounts

	// verifier holds the accepted credentials, set by routes: the SCIM
	// tokens and Basic credential, and the status token.
	verifier *scim.Verifier
}

func newStatusPage(s *Server) *statusPage {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return &statusPage{s: s, now: time.Now, session: hex.EncodeToString(b[:])}
}

// slot returns the counters of the minute t falls in, resetting a slot
// left over from an hour ago. The caller holds mu.
func (p *statusPage) slot(t time.Time) *callCounts {
	m := t.Unix() / 60
	sl := &p.ring[int(m%statusMinutes)]
	if sl.minute != m {
		*sl = minuteSlot{minute: m}
	}
	return &sl.c
}

// observeCall counts one Freshservice HTTP attempt.
func (p *statusPage) observeCall(ctx context.Context, c freshservice.Call) {
	var d callCounts
	d.Calls = 1
	switch {
	case c.Attempt > 1:
		d.Retries = 1
	case c.Reason != "":
		d.Failures = 1
	case c.Method != http.MethodGet:
		d.Writes = 1
	case reqctx.RequestID(ctx) != "":
		// The background pass carries an Info without a request id, to
		// count its calls; those are background reads, not lookups.
		d.Lookups = 1
	default:
		d.Walks = 1
	}
	if c.Status == http.StatusTooManyRequests || c.Reason == freshservice.ReasonRateLimited {
		d.RateLimitedSeen = 1
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.slot(now).add(d)
	p.total.add(d)
}

// observeRequest counts one finished SCIM request.
func (p *statusPage) observeRequest(rr scim.RequestRecord) {
	d := callCounts{SCIMRequests: 1}
	if rr.Status == http.StatusTooManyRequests {
		d.RateLimitedReturned = 1
	}
	if rr.Status >= 500 {
		d.SCIMErrors = 1
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.slot(now).add(d)
	p.total.add(d)
}

// minuteReport is one minute of the chart.
type minuteReport struct {
	Start time.Time `json:"start"`
	callCounts
}

// series returns the last statusMinutes minutes, oldest first, the last
// being the current (partial) minute, with their sum and the totals since
// the start.
func (p *statusPage) series(now time.Time) (out []minuteReport, hour, total callCounts) {
	cur := now.Unix() / 60
	out = make([]minuteReport, statusMinutes)
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range out {
		m := cur - statusMinutes + 1 + int64(i)
		out[i].Start = time.Unix(m*60, 0).UTC()
		if sl := p.ring[int(m%statusMinutes)]; sl.minute == m {
			out[i].callCounts = sl.c
			hour.add(sl.c)
		}
	}
	return out, hour, p.total
}

func (p *statusPage) routes(r chi.Router) {
	creds, basic, _ := p.s.scimCredentials() // routes checked them first
	if tok := p.s.Config.Status.Token.Reveal(); tok != "" {
		creds = append(creds, scim.Credential{Name: "status", Hash: config.HashToken(tok)})
	}
	p.verifier = scim.NewVerifier(creds, basic)
	r.Get("/status", p.serveHTML)
	r.Get("/status.json", p.serveJSON)
}

// tokenOK reports whether tok is a SCIM token or the status token, in
// constant time.
func (p *statusPage) tokenOK(tok string) bool {
	_, ok := p.verifier.Token(tok)
	return ok
}

// authorize accepts, in this order: Authorization: Bearer <token>, HTTP
// Basic with a token as the password (any user name) or the SCIM Basic
// credential, the session cookie a ?token= visit set, and ?token=. fromQuery
// says the last one was used.
func (p *statusPage) authorize(r *http.Request) (ok, fromQuery bool) {
	if _, ok := p.verifier.Authorization(r, true); ok {
		return true, false
	}
	if c, err := r.Cookie(statusCookie); err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(p.session)) == 1 {
		return true, false
	}
	if p.tokenOK(r.URL.Query().Get("token")) {
		return true, true
	}
	return false, false
}

func statusHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

func (p *statusPage) unauthorized(w http.ResponseWriter, asJSON bool) {
	w.Header().Set("WWW-Authenticate", statusRealm)
	if asJSON {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "missing or wrong credentials: send Authorization: Bearer <SCIM or status token>, or HTTP Basic with the token as the password"})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintln(w, "fsbridge status: sign in with the status token (or a SCIM token) as the password; any user name will do.")
	fmt.Fprintln(w, "Scripts: Authorization: Bearer <token>. Links: /status?token=<token>.")
}

// query reads the outcome filter and the event limit.
func statusQuery(r *http.Request) (outcome string, limit int, err error) {
	q := r.URL.Query()
	outcome = q.Get("outcome")
	switch outcome {
	case "", "all":
		outcome = ""
	case "ok", "error", "planned":
	default:
		return "", 0, fmt.Errorf("outcome must be ok, error or planned (or absent for all)")
	}
	limit = 100
	if v := q.Get("limit"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > statusMaxEvents {
			return "", 0, fmt.Errorf("limit must be a number from 1 to %d", statusMaxEvents)
		}
		limit = n
	}
	return outcome, limit, nil
}

func (p *statusPage) serveJSON(w http.ResponseWriter, r *http.Request) {
	statusHeaders(w)
	if ok, _ := p.authorize(r); !ok {
		p.unauthorized(w, true)
		return
	}
	outcome, limit, err := statusQuery(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	rep := p.report(r.Context(), outcome, limit)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

func (p *statusPage) serveHTML(w http.ResponseWriter, r *http.Request) {
	statusHeaders(w)
	ok, fromQuery := p.authorize(r)
	if !ok {
		p.unauthorized(w, false)
		return
	}
	if fromQuery {
		// Trade the token in the address bar for a cookie: the page's links
		// then work without it, and it does not stay on screen.
		http.SetCookie(w, &http.Cookie{
			Name: statusCookie, Value: p.session, Path: "/", HttpOnly: true,
			Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
		})
		q := r.URL.Query()
		q.Del("token")
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	outcome, limit, err := statusQuery(r)
	if err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintln(w, err.Error())
		return
	}
	rep := p.report(r.Context(), outcome, limit)
	view := statusView{statusReport: rep, Chart: buildChart(rep.Calls.Minutes), Filters: auditFilters(outcome)}
	for _, b := range rep.Budget.Buckets {
		view.Gauges = append(view.Gauges, buildGauge(b))
	}
	view.UserBar = buildUserBar(rep.Counts.Users)
	var buf strings.Builder
	if err := statusTemplate.Execute(&buf, view); err != nil {
		p.s.Log.Error().Err(err).Msg("rendering the status page failed")
		http.Error(w, "rendering the status page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(buf.String()))
}

// statusReport is the whole report, as /status.json serves it.
type statusReport struct {
	GeneratedAt time.Time     `json:"generated_at"`
	DryRun      bool          `json:"dry_run"`
	Health      healthReport  `json:"health"`
	Budget      budgetReport  `json:"budget"`
	Calls       callsReport   `json:"calls"`
	Counts      countsReport  `json:"counts"`
	Creates     createsReport `json:"creates"`
	// Attention lists the users provisioned without a value Freshservice
	// cannot hold yet (DESIGN D10).
	Attention attentionReport `json:"needs_attention"`
	// Protection says whom the bridge never locks out (DESIGN D12).
	Protection protectionReport `json:"protection"`
	// Account is the account and what the API key may do, as `fsbridge
	// check` reports them.
	Account AccountReport `json:"account"`
	// Connections is absent until the bridge serves a listener.
	Connections *connectionsReport `json:"connections,omitempty"`
	Audit       auditReport        `json:"audit"`
}

type healthReport struct {
	// State is the worst of the checks: ok, warn or fail.
	State  string         `json:"state"`
	Checks []health.Check `json:"checks"`
}

type budgetReport struct {
	WindowSeconds    float64        `json:"window_seconds"`
	WaitSecondsTotal float64        `json:"wait_seconds_total"`
	Buckets          []bucketReport `json:"buckets"`
}

type bucketReport struct {
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

type callsReport struct {
	// Minutes are the last 60 minutes, oldest first; the last is the
	// current minute, still counting.
	Minutes    []minuteReport `json:"minutes"`
	LastHour   callCounts     `json:"last_hour"`
	SinceStart callCounts     `json:"since_start"`
	// LastFailure describes the last failed Freshservice attempt.
	LastFailure   string     `json:"last_failure,omitempty"`
	LastFailureAt *time.Time `json:"last_failure_at,omitempty"`
}

type countsReport struct {
	Users        userCounts  `json:"users"`
	Seats        seatCounts  `json:"seats"`
	Groups       groupCounts `json:"groups"`
	PlansPending int         `json:"plans_pending"`
	DriftUsers   int         `json:"drift_users"`
}

type userCounts struct {
	InMirror         int `json:"in_mirror"`
	Managed          int `json:"managed"`
	FullTimeAgents   int `json:"full_time_agents"`
	OccasionalAgents int `json:"occasional_agents"`
	Requesters       int `json:"requesters"`
	Deactivated      int `json:"deactivated"`
}

type seatCounts struct {
	// Used is the number of active full-time agents; Max is
	// rules.max_agents (0: no cap of the bridge's own).
	Used        int     `json:"used"`
	Max         int     `json:"max_agents"`
	UsedPercent float64 `json:"used_percent"`
}

type groupCounts struct {
	Total          int `json:"total"`
	RoleGroups     int `json:"role_groups"`
	AgentGroups    int `json:"agent_groups"`
	RequesterGroup int `json:"requester_groups"`
	// NotApplied counts groups not (yet) applied to Freshservice.
	NotApplied int `json:"not_applied"`
}

// connectionsReport is the listener's connections against its limits.
type connectionsReport struct {
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

// createsReport lists the creates whose answer was lost and that the
// background pass has not settled, and what their retries may spend.
type createsReport struct {
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
	Items           []createEntry `json:"items"`
	Error           string        `json:"error,omitempty"`
}

// createEntry is one create not settled.
type createEntry struct {
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

// attentionReport is the "needs attention" list: users provisioned
// without some value, with the attribute and the value the IdP sent.
type attentionReport struct {
	Users int              `json:"users"`
	Items []attentionEntry `json:"items"`
}

type attentionEntry struct {
	ID       int64  `json:"id"`
	UserName string `json:"user_name"`
	Attr     string `json:"attribute"`
	Value    string `json:"value"`
	Reason   string `json:"reason"`
}

// statusMaxAttention caps the lines listed; Users counts them all.
const statusMaxAttention = 200

func (p *statusPage) attention() attentionReport {
	all := p.s.Bridge.Gaps()
	down := p.s.Bridge.Downgraded()
	users := map[int64]bool{}
	for _, u := range all {
		users[u.ID] = true
	}
	for _, u := range down {
		users[u.ID] = true
	}
	rep := attentionReport{Users: len(users), Items: []attentionEntry{}}
	// Agents Freshservice made occasional for want of a seat first: a
	// seat is money, and the fix is the account's.
	for _, u := range down {
		if len(rep.Items) == statusMaxAttention {
			return rep
		}
		rep.Items = append(rep.Items, attentionEntry{ID: u.ID, UserName: u.UserName, Attr: "occasional", Value: "false (full-time, rules " + strings.Join(u.Rules, ", ") + ")",
			Reason: fmt.Sprintf("no full-time agent seat was free (%d full-time agents): Freshservice made the agent occasional on %s; the bridge asks again when a seat frees (buy one, or demote a full-time agent) or the user's role rules change", u.FullTime, u.At.UTC().Format("2006-01-02 15:04 MST"))})
	}
	for _, u := range all {
		for _, g := range u.Gaps {
			if len(rep.Items) == statusMaxAttention {
				return rep
			}
			rep.Items = append(rep.Items, attentionEntry{ID: u.ID, UserName: u.UserName, Attr: g.Attr, Value: g.Value, Reason: g.Reason})
		}
	}
	return rep
}

// protectionReport names the API key's owner and the protected_users
// setting: the users the bridge never deactivates, demotes or strips.
type protectionReport struct {
	KeyOwner       string   `json:"key_owner,omitempty"`
	KeyOwnerID     int64    `json:"key_owner_id,omitempty"`
	ProtectedUsers []string `json:"protected_users,omitempty"`
}

func (p *statusPage) protection() protectionReport {
	var rep protectionReport
	if o := p.s.Bridge.KeyOwner(); o != nil {
		rep.KeyOwner, rep.KeyOwnerID = o.Email, o.ID
	}
	rep.ProtectedUsers = p.s.Bridge.ProtectedUsers()
	return rep
}

// statusMaxCreates caps the creates listed; the counts cover them all.
const statusMaxCreates = 100

// creates reports the unsettled creates; it reads the store and the
// mirror, and makes no Freshservice call.
func (p *statusPage) creates(ctx context.Context, now time.Time) createsReport {
	br := p.s.Bridge
	pol := br.CreateRetryPolicy()
	rep := createsReport{
		MaxAttempts: pol.MaxAttempts, MaxAgeSeconds: pol.MaxAge.Seconds(),
		CallsPerWindow: br.CreateRetryAllowance(), SpentLastWindow: br.CreateRetrySpent(), Items: []createEntry{},
	}
	pending, err := br.PendingCreates(ctx)
	if err != nil {
		rep.Error = "the creates in flight could not be read"
		p.s.Log.Warn().Err(err).Msg("status page: listing creates in flight failed")
		return rep
	}
	for _, c := range pending {
		e := createEntry{Email: c.Email, UserName: c.UserName, Since: c.Since.UTC(), Attempts: c.Attempts, LastError: c.LastError}
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

type auditReport struct {
	// Outcome is the filter applied ("" for all), Limit the most events
	// returned.
	Outcome string       `json:"outcome"`
	Limit   int          `json:"limit"`
	Events  []auditEntry `json:"events"`
	Error   string       `json:"error,omitempty"`
}

type auditEntry struct {
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
	Failure     *failureReport `json:"failure,omitempty"`
	// Summary is what the table shows of Detail; More the rest (a
	// request body), behind a disclosure.
	Summary string `json:"-"`
	More    string `json:"-"`
}

// failureReport is a failed event's detail in plain words, with the
// fields the bridge recorded.
type failureReport struct {
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

// report gathers everything: one store ping, one pass over the groups,
// one audit query, the directory's counts, the budget, the counters.
func (p *statusPage) report(ctx context.Context, outcome string, limit int) statusReport {
	s := p.s
	now := p.now()
	rep := statusReport{GeneratedAt: now.UTC().Truncate(time.Second), DryRun: s.Config.DryRun}

	// Health: readiness (what /readyz answers), then what only needs a
	// look.
	checks := s.readiness(ctx, now)
	rep.Account = s.Account()
	rep.Creates = p.creates(ctx, now)
	rep.Attention = p.attention()
	rep.Protection = p.protection()
	if n := len(p.s.Bridge.Gaps()); n > 0 {
		checks = append(checks, health.Check{Name: "attributes", State: "warn", Detail: fmt.Sprintf("%s provisioned without a value Freshservice cannot hold yet (see Needs attention)", plural(n, "user", "users"))})
	}
	if n := len(p.s.Bridge.Downgraded()); n > 0 {
		checks = append(checks, health.Check{Name: "seats", State: "warn", Detail: fmt.Sprintf("%s occasional instead of full-time: Freshservice had no full-time seat free (see Needs attention)", plural(n, "agent", "agents"))})
	}
	if lim := s.conns.Load(); lim != nil {
		st := lim.stats()
		rep.Connections = &connectionsReport{
			Open: st.Open, Max: st.Max, PerClient: st.PerClient, IdleTimeoutSeconds: st.Idle.Seconds(),
			ClosedForRoomTotal: st.Evicted, RefusedTotal: st.Refused,
		}
	}
	switch c := rep.Creates; {
	case c.Failed > 0:
		checks = append(checks, health.Check{Name: "creates", State: "warn", Detail: fmt.Sprintf("the bridge gave up on %s (see Creates not finished)%s", plural(c.Failed, "create", "creates"),
			map[bool]string{true: fmt.Sprintf("; %d more retrying", c.Retrying), false: ""}[c.Retrying > 0])})
	case c.Retrying > 0:
		checks = append(checks, health.Check{Name: "creates", State: "ok", Detail: fmt.Sprintf("%s whose answer was lost, retrying in the background", plural(c.Retrying, "create", "creates"))})
	}
	if n := s.Bridge.PlansPending(); n > 0 {
		checks = append(checks, health.Check{Name: "backlog", State: "warn", Detail: fmt.Sprintf("%s waiting to re-run (the background pass retries them)", plural(n, "plan", "plans"))})
	} else {
		checks = append(checks, health.Check{Name: "backlog", State: "ok", Detail: "no plan waiting to re-run"})
	}
	rep.Health = healthReport{State: health.Worst(checks), Checks: checks}

	// Budget.
	stats, waited := s.Client.Budget().Stats()
	rep.Budget = budgetReport{WindowSeconds: s.Client.Budget().Window().Seconds(), WaitSecondsTotal: waited.Seconds()}
	for _, b := range stats {
		used := max(b.Limit-b.Remaining, 0)
		br := bucketReport{
			Bucket: string(b.Bucket), Limit: b.Limit, AccountLimit: b.Total, Used: used, Remaining: b.Remaining,
			StartedTotal: b.Started, OthersSpent: b.OthersSpent, HeldSeconds: math.Ceil(b.PausedFor.Seconds()),
		}
		if b.Limit > 0 {
			br.UsedPercent = math.Round(1000*float64(used)/float64(b.Limit)) / 10
		}
		rep.Budget.Buckets = append(rep.Budget.Buckets, br)
	}

	// Calls.
	minutes, hour, total := p.series(now)
	rep.Calls = callsReport{Minutes: minutes, LastHour: hour, SinceStart: total}
	if last := s.calls.Last(); !last.FailedAt.IsZero() {
		t := last.FailedAt.UTC()
		rep.Calls.LastFailure, rep.Calls.LastFailureAt = last.Failure, &t
	}

	// Counts.
	dir := s.Bridge.Directory()
	c := dir.Count()
	rep.Counts.Users = userCounts{
		InMirror: c.Users, Managed: c.Managed, FullTimeAgents: c.FullTimeAgents, OccasionalAgents: c.OccasionalAgents,
		Requesters: c.Requesters, Deactivated: c.Users - c.Active,
	}
	rep.Counts.Seats = seatCounts{Used: c.FullTimeAgents}
	if rs := s.Bridge.Rules(); rs != nil && rs.MaxAgents > 0 {
		rep.Counts.Seats.Max = rs.MaxAgents
		rep.Counts.Seats.UsedPercent = math.Round(1000*float64(c.FullTimeAgents)/float64(rs.MaxAgents)) / 10
	}
	rep.Counts.PlansPending = s.Bridge.PlansPending()
	rep.Counts.DriftUsers = s.Bridge.DriftCount()
	groupNames := map[string]string{}
	err := s.Store.ForEachGroup(ctx, func(g store.Group) error {
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
		s.Log.Warn().Err(err).Msg("status page: listing groups failed")
	}

	// Audit.
	rep.Audit = auditReport{Outcome: outcome, Limit: limit, Events: []auditEntry{}}
	events, err := s.Store.ListAudit(ctx, store.AuditQuery{Outcome: outcome, Limit: limit})
	if err != nil {
		rep.Audit.Error = "the audit trail could not be read"
		s.Log.Warn().Err(err).Msg("status page: reading the audit trail failed")
	}
	for _, ev := range events {
		e := auditEntry{
			ID: ev.ID, Time: ev.Time.UTC(), RequestID: ev.RequestID, Client: ev.Client, Operation: ev.Operation,
			SCIMID: ev.SCIMID, FSID: ev.FSID, Outcome: ev.Outcome, Detail: ev.Detail,
		}
		e.Subject, e.SubjectKind = subjectOf(ev, groupNames, dir)
		e.Summary, e.More = splitDetail(ev)
		if ev.Outcome == "error" {
			f := explainFailure(ev)
			e.Failure = &f
		}
		rep.Audit.Events = append(rep.Audit.Events, e)
	}
	return rep
}

// subjectOf names the user or group an event is about.
func subjectOf(ev store.AuditEvent, groups map[string]string, dir *directory.Directory) (string, string) {
	if name, ok := groups[ev.SCIMID]; ok && ev.SCIMID != "" {
		return name, "group"
	}
	userName := func(id int64) string {
		e, ok := dir.Get(id)
		if !ok {
			return ""
		}
		if e.Desired != nil && e.Desired.UserName != "" {
			return e.Desired.UserName
		}
		if e.User != nil {
			return e.User.Email
		}
		return ""
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

// explainFailure says in plain words why an event failed, from the fields
// the bridge recorded with it (DESIGN D11): the kind of failure, the
// call, Freshservice's status, and the fields and codes it named. An event
// recorded without them (before schema 3, or a failure known only by its
// words, such as a create the bridge gave up on) shows its detail as it
// is: nothing is read back out of the words.
func explainFailure(ev store.AuditEvent) failureReport {
	f := failureReport{Kind: ev.Kind, Call: ev.Call, Status: ev.Status, Field: ev.Field, Code: ev.Code}
	if ev.Kind == "" {
		f.Reason = sentence(orWord(ev.Detail, "no reason was recorded"))
		return f
	}
	f.Reason = sentence(failureReason(ev))
	return f
}

// failureReason is the sentence for a failure recorded with its fields.
func failureReason(ev store.AuditEvent) string {
	switch fault.Kind(ev.Kind) {
	case fault.NoSeat:
		if ev.Status == 0 {
			return "no full-time agent seat is left under the bridge's cap " + orWord(ev.Field, "rules.max_agents") +
				", so nothing was changed; raise the cap or free a seat"
		}
		return "Freshservice has no agent seat left (or the API key's agent may not manage agents), so the user was not made an agent"
	case fault.RequiresFeature:
		return "the account's Freshservice plan lacks a feature this needs (the detail names it and the plans that have it); upgrade the plan or change the rule: it is not retried"
	case fault.Protected:
		return "the user is protected (the API key's owner, or listed in protected_users) and the change would have locked the bridge out of Freshservice, so nothing was changed"
	case fault.RateLimited:
		if ev.Status == 0 {
			return "the bridge's share of the Freshservice API budget was used up; the change is kept and tried again later"
		}
	case fault.Transient:
		if ev.Status == 0 {
			return "Freshservice did not answer, or its answer could not be read (the connection failed, dropped or timed out); the change is kept and retried"
		}
	case fault.Canceled:
		return "the request ended before Freshservice answered (the IdP hung up, or its time ran out); what Freshservice did is recorded, and the rest of the change is kept and finished in the background"
	case fault.Internal:
		return "the bridge failed on its side (its store, or a bug); its log has the details under the request id"
	}
	if ev.Status == 0 {
		// The bridge's own refusal (a value it cannot send, a userName
		// taken): its detail was written to be read as it is.
		return orWord(ev.Detail, "no reason was recorded")
	}
	codes := ev.Fields
	if len(codes) == 0 && ev.Code != "" {
		codes = []store.AuditField{{Field: ev.Field, Code: ev.Code}}
	}
	var parts []string
	top := ""
	for _, c := range codes {
		if c.Field == "" {
			top = c.Code
			continue
		}
		parts = append(parts, codeWords(c.Code, c.Field))
	}
	switch {
	case len(parts) > 0:
		return strings.Join(parts, "; ")
	case top != "":
		return codeWords(top, "")
	}
	return statusWords(ev.Status)
}

// codeWords says what a Freshservice error code means, naming the field.
func codeWords(code, field string) string {
	the := "a field" // "the field time_zone"
	if field != "" {
		the = "the field " + field
	}
	switch code {
	case "duplicate_value":
		return fmt.Sprintf("another Freshservice user already has this %s (emails are unique across agents and requesters, active or deactivated)", orWord(field, "value"))
	case "invalid_value":
		return fmt.Sprintf("Freshservice does not accept the value of %s (not one of its allowed values, or badly formed)", orWord(field, "a field"))
	case "missing_field":
		return fmt.Sprintf("Freshservice requires %s, and it was missing or empty", orWord(field, "a field"))
	case "datatype_mismatch":
		return fmt.Sprintf("%s has the wrong type for Freshservice (for example text where a number or a list is expected)", the)
	case "invalid_field":
		return fmt.Sprintf("Freshservice does not know or does not take %s (a custom field renamed or removed?)", the)
	case "readonly_field":
		return fmt.Sprintf("%s cannot be changed through Freshservice's API", the)
	case "unexpected_field", "extra_field":
		return fmt.Sprintf("Freshservice does not expect %s in this request", the)
	case "access_denied":
		if field != "" {
			return fmt.Sprintf("the API key's agent may not change %s, or no agent seat is left", the)
		}
		return "Freshservice denied access: the API key's agent lacks a permission, or no agent seat is left"
	case "invalid_credentials":
		return "Freshservice refused the bridge's API key; fix freshservice.api_key"
	case "require_feature":
		return "the Freshservice plan lacks a feature this needs" + inField(field)
	case "inconsistent_state":
		return "the object is not in a state that allows this in Freshservice (for example already an agent)" + inField(field)
	case "invalid_size", "too_long":
		return fmt.Sprintf("the value of %s is too long or too large for Freshservice", orWord(field, "a field"))
	case "not_found":
		return "Freshservice no longer has this object" + inField(field)
	}
	if field != "" {
		return fmt.Sprintf("Freshservice rejected %s (code %s)", the, code)
	}
	return fmt.Sprintf("Freshservice rejected the request (code %s)", code)
}

func orWord(s, w string) string {
	if s == "" {
		return w
	}
	return s
}

func inField(field string) string {
	if field == "" {
		return ""
	}
	return " (field " + field + ")"
}

// statusWords says what an HTTP status from Freshservice means.
func statusWords(st int) string {
	switch {
	case st == 400 || st == 422:
		return fmt.Sprintf("Freshservice rejected the request as invalid (%d)", st)
	case st == 401:
		return "Freshservice refused the bridge's API key (401); fix freshservice.api_key"
	case st == 403:
		return "Freshservice forbade it (403): the API key's agent lacks a permission, the plan lacks a feature, or no agent seat is left"
	case st == 404:
		return "Freshservice no longer has this object (404): it was deleted or merged there"
	case st == 409:
		return "it conflicts with what Freshservice holds (409): a duplicate value, or the user is already in that state"
	case st == 429:
		return "Freshservice's rate limit was hit (429), perhaps by other integrations; the change is kept and retried"
	case st >= 500:
		return fmt.Sprintf("Freshservice failed on its side (%d); the change is kept and retried", st)
	}
	return fmt.Sprintf("Freshservice answered %d %s", st, http.StatusText(st))
}

func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// splitDetail separates the call an event recorded from its body
// ("POST /api/v2/requesters {...}"), and cuts other long details.
func splitDetail(ev store.AuditEvent) (string, string) {
	d := ev.Detail
	if ev.Call != "" {
		if rest, ok := strings.CutPrefix(d, ev.Call); ok {
			if rest = strings.TrimSpace(rest); strings.HasPrefix(rest, "{") {
				return ev.Call, rest
			}
		}
	}
	if len(d) > detailShown {
		return shortDetail(d), d
	}
	return d, ""
}

// detailShown is how much of an audit detail the table shows; the rest is
// behind a "full" disclosure.
const detailShown = 140

func shortDetail(s string) string {
	if len(s) <= detailShown {
		return s
	}
	cut := detailShown - 20
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// The drawings: geometry is computed here, the template only writes it
// out, so the page needs no script.

type statusView struct {
	statusReport
	Gauges  []gauge
	Chart   chart
	UserBar userBar
	Filters []auditFilter
}

type auditFilter struct {
	Label, Href string
	Active      bool
}

func auditFilters(cur string) []auditFilter {
	out := []auditFilter{{Label: "all", Href: "/status"}}
	for _, o := range []string{"ok", "error", "planned"} {
		out = append(out, auditFilter{Label: o, Href: "/status?outcome=" + o})
	}
	for i := range out {
		out[i].Active = out[i].Label == cur || (cur == "" && out[i].Label == "all")
	}
	return out
}

// gauge is a half-circle meter of one bucket's use in this window.
type gauge struct {
	bucketReport
	Label string
	Track string // the path of the whole arc
	Fill  string // the path of the used part ("" when nothing is used)
	Level string // ok, warn, fail
}

func buildGauge(b bucketReport) gauge {
	g := gauge{bucketReport: b, Label: strings.ReplaceAll(b.Bucket, "_", " ")}
	const cx, cy, r = 70.0, 70.0, 56.0
	point := func(frac float64) (float64, float64) {
		a := math.Pi * (1 - frac)
		return cx + r*math.Cos(a), cy - r*math.Sin(a)
	}
	x0, y0 := point(0)
	x1, y1 := point(1)
	g.Track = fmt.Sprintf("M %.1f %.1f A %.0f %.0f 0 0 1 %.1f %.1f", x0, y0, r, r, x1, y1)
	frac := 0.0
	if b.Limit > 0 {
		frac = math.Min(float64(b.Used)/float64(b.Limit), 1)
	}
	if frac > 0 {
		x, y := point(frac)
		g.Fill = fmt.Sprintf("M %.1f %.1f A %.0f %.0f 0 0 1 %.2f %.2f", x0, y0, r, r, x, y)
	}
	switch {
	case frac >= 0.9:
		g.Level = "fail"
	case frac >= 0.7:
		g.Level = "warn"
	default:
		g.Level = "ok"
	}
	return g
}

// chart is the stacked bar chart of calls per minute.
type chart struct {
	Width, Height       float64
	Left, Top, PlotW    float64
	PlotH, Bottom       float64
	Bars                []chartBar
	Ticks               []chartTick
	Labels              []chartLabel
	Max                 int64
	Empty               bool
	AxisY               float64
	AxisRight           float64
	SeenMarks, RetMarks []chartMark
}

type chartBar struct {
	X, W  float64
	Title string
	Segs  []chartSeg
}

type chartSeg struct {
	Y, H  float64
	Class string
}

type chartTick struct {
	Y     float64
	Label string
}

type chartLabel struct {
	X     float64
	Label string
}

type chartMark struct {
	X, Y  float64
	Title string
}

// chartCategories are the stacked series, bottom first.
var chartCategories = []struct {
	class string
	get   func(callCounts) int64
}{
	{"c-writes", func(c callCounts) int64 { return c.Writes }},
	{"c-lookups", func(c callCounts) int64 { return c.Lookups }},
	{"c-walks", func(c callCounts) int64 { return c.Walks }},
	{"c-retries", func(c callCounts) int64 { return c.Retries }},
	{"c-failures", func(c callCounts) int64 { return c.Failures }},
}

// niceMax rounds up to 1, 2 or 5 times a power of ten, at least 4.
func niceMax(v int64) int64 {
	if v < 4 {
		return 4
	}
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= v {
				return m * p
			}
		}
	}
}

func buildChart(ms []minuteReport) chart {
	c := chart{Width: 1100, Left: 44, Top: 28}
	c.PlotW = c.Width - c.Left - 12
	c.PlotH = 180
	c.Height = c.Top + c.PlotH + 28
	c.Bottom = c.Top + c.PlotH
	c.AxisY = c.Bottom
	c.AxisRight = c.Left + c.PlotW
	var top int64
	for _, m := range ms {
		top = max(top, m.Calls)
	}
	c.Empty = top == 0
	c.Max = niceMax(top)
	for i := 0; i <= 4; i++ {
		v := c.Max * int64(i) / 4
		if c.Max%4 != 0 && i%2 == 1 {
			continue
		}
		c.Ticks = append(c.Ticks, chartTick{Y: c.Bottom - c.PlotH*float64(v)/float64(c.Max), Label: strconv.FormatInt(v, 10)})
	}
	slot := c.PlotW / float64(len(ms))
	scale := c.PlotH / float64(c.Max)
	for i, m := range ms {
		x := c.Left + float64(i)*slot
		b := chartBar{X: x + 1, W: math.Max(slot-2, 1)}
		b.Title = fmt.Sprintf("%s: %s (%d writes, %d lookups, %d walks, %d retries, %d failures); 429s: %d seen, %d returned; %s",
			m.Start.Local().Format("15:04"), plural(int(m.Calls), "Freshservice call", "Freshservice calls"),
			m.Writes, m.Lookups, m.Walks, m.Retries, m.Failures, m.RateLimitedSeen, m.RateLimitedReturned,
			plural(int(m.SCIMRequests), "SCIM request", "SCIM requests"))
		y := c.Bottom
		for _, cat := range chartCategories {
			v := cat.get(m.callCounts)
			if v == 0 {
				continue
			}
			h := float64(v) * scale
			y -= h
			b.Segs = append(b.Segs, chartSeg{Y: y, H: h, Class: cat.class})
		}
		c.Bars = append(c.Bars, b)
		if m.RateLimitedSeen > 0 {
			c.SeenMarks = append(c.SeenMarks, chartMark{X: x + slot/2, Y: c.Top - 16, Title: fmt.Sprintf("%s: Freshservice answered 429 %s", m.Start.Local().Format("15:04"), plural(int(m.RateLimitedSeen), "time", "times"))})
		}
		if m.RateLimitedReturned > 0 {
			c.RetMarks = append(c.RetMarks, chartMark{X: x + slot/2, Y: c.Top - 6, Title: fmt.Sprintf("%s: the bridge answered an IdP 429 %s", m.Start.Local().Format("15:04"), plural(int(m.RateLimitedReturned), "time", "times"))})
		}
		if i%15 == 0 || i == len(ms)-1 {
			label := m.Start.Local().Format("15:04")
			if i == len(ms)-1 {
				label = "now"
			}
			c.Labels = append(c.Labels, chartLabel{X: x + slot/2, Label: label})
		}
	}
	return c
}

// userBar is a horizontal bar of users by kind.
type userBar struct {
	Width float64
	Segs  []userSeg
	Total int
}

type userSeg struct {
	X, W         float64
	Class, Title string
}

func buildUserBar(u userCounts) userBar {
	b := userBar{Width: 360}
	parts := []struct {
		n            int
		class, title string
	}{
		{u.FullTimeAgents, "c-fulltime", "full-time agents"},
		{u.OccasionalAgents, "c-occasional", "occasional agents"},
		{u.Requesters, "c-requesters", "requesters"},
		{u.Deactivated, "c-deactivated", "deactivated"},
	}
	for _, p := range parts {
		b.Total += p.n
	}
	if b.Total == 0 {
		return b
	}
	x := 0.0
	for _, p := range parts {
		if p.n == 0 {
			continue
		}
		w := b.Width * float64(p.n) / float64(b.Total)
		b.Segs = append(b.Segs, userSeg{X: x, W: w, Class: p.class, Title: fmt.Sprintf("%d %s", p.n, p.title)})
		x += w
	}
	return b
}
