// Package status is the status page: /status (HTML for a browser, no
// script, no external asset) and /status.json (the same report for
// scripts). It answers "is it healthy, is it keeping up, what did it do,
// what failed and why" from what the bridge already keeps, read through a
// Source: the health model's checks (internal/health, the ones /readyz
// serves), the client's budget, the mirror's counts, the store's groups
// and the last audit events; and from per-minute counters of the
// Freshservice calls and SCIM requests of the last hour, kept here and fed
// by the observers. Rendering makes no Freshservice call, except the
// credentials check, which is cached for a minute and usually answered
// from the last call.
package status

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

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/reqctx"
	"github.com/fsbridge/fsbridge/scim"
)

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

// CallCounts are the counters of one minute (or of a longer span).
//
// Every Freshservice HTTP attempt is counted once, in exactly one of the
// first five: retries (attempt > 1, whatever its outcome), failures (a
// first attempt that failed), else writes (not GET), lookups (GET made for
// a SCIM request) or walks (GET made in the background: mirror walks,
// reconcile reads). Calls is their sum.
type CallCounts struct {
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

func (c *CallCounts) add(o CallCounts) {
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
	c      CallCounts
}

// Page serves /status and /status.json and keeps the last hour's
// per-minute counters.
type Page struct {
	src Source
	log zerolog.Logger
	now func() time.Time
	// session is the value of the cookie a ?token= visit sets, so the
	// page's links work without carrying the token. Random per process.
	session string

	mu    sync.Mutex
	ring  [statusMinutes]minuteSlot
	total CallCounts

	// verifier holds the accepted credentials, set by Mount.
	verifier *scim.Verifier
}

// New returns the page, reading its facts from src and logging what it
// cannot read to log. Its counters start counting at once; it serves
// nothing until Mount.
func New(src Source, log zerolog.Logger) *Page {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return &Page{src: src, log: log, now: time.Now, session: hex.EncodeToString(b[:])}
}

// slot returns the counters of the minute t falls in, resetting a slot
// left over from an hour ago. The caller holds mu.
func (p *Page) slot(t time.Time) *CallCounts {
	m := t.Unix() / 60
	sl := &p.ring[int(m%statusMinutes)]
	if sl.minute != m {
		*sl = minuteSlot{minute: m}
	}
	return &sl.c
}

// ObserveCall counts one Freshservice HTTP attempt.
func (p *Page) ObserveCall(ctx context.Context, c freshservice.Call) {
	var d CallCounts
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

// ObserveRequest counts one finished SCIM request.
func (p *Page) ObserveRequest(rr scim.RequestRecord) {
	d := CallCounts{SCIMRequests: 1}
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

// MinuteReport is one minute of the chart.
type MinuteReport struct {
	Start time.Time `json:"start"`
	CallCounts
}

// series returns the last statusMinutes minutes, oldest first, the last
// being the current (partial) minute, with their sum and the totals since
// the start.
func (p *Page) series(now time.Time) (out []MinuteReport, hour, total CallCounts) {
	cur := now.Unix() / 60
	out = make([]MinuteReport, statusMinutes)
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range out {
		m := cur - statusMinutes + 1 + int64(i)
		out[i].Start = time.Unix(m*60, 0).UTC()
		if sl := p.ring[int(m%statusMinutes)]; sl.minute == m {
			out[i].CallCounts = sl.c
			hour.add(sl.c)
		}
	}
	return out, hour, p.total
}

// Mount serves /status and /status.json on r to whoever v accepts: the
// server gives it the SCIM tokens and Basic credential, and the status
// token.
func (p *Page) Mount(r chi.Router, v *scim.Verifier) {
	p.verifier = v
	r.Get("/status", p.serveHTML)
	r.Get("/status.json", p.serveJSON)
}

// tokenOK reports whether tok is a SCIM token or the status token, in
// constant time.
func (p *Page) tokenOK(tok string) bool {
	_, ok := p.verifier.Token(tok)
	return ok
}

// authorize accepts, in this order: Authorization: Bearer <token>, HTTP
// Basic with a token as the password (any user name) or the SCIM Basic
// credential, the session cookie a ?token= visit set, and ?token=. fromQuery
// says the last one was used.
func (p *Page) authorize(r *http.Request) (ok, fromQuery bool) {
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

func (p *Page) unauthorized(w http.ResponseWriter, asJSON bool) {
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

func (p *Page) serveJSON(w http.ResponseWriter, r *http.Request) {
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

func (p *Page) serveHTML(w http.ResponseWriter, r *http.Request) {
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
	view := statusView{Report: rep, Chart: buildChart(rep.Calls.Minutes), Filters: auditFilters(outcome)}
	for _, b := range rep.Budget.Buckets {
		view.Gauges = append(view.Gauges, buildGauge(b))
	}
	view.UserBar = buildUserBar(rep.Counts.Users)
	var buf strings.Builder
	if err := statusTemplate.Execute(&buf, view); err != nil {
		p.log.Error().Err(err).Msg("rendering the status page failed")
		http.Error(w, "rendering the status page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(buf.String()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
