package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/store"
)

// Creates whose answer is lost leave an intent the background pass
// settles. These tests make creates that cannot be settled and check that
// the bridge pays for them with a bounded number of calls: tries spaced by
// a growing backoff, an end after which the create shows as failed, and a
// ceiling on what all such tries spend per rate-limit window.

// stuckCalls sits in front of the simulator: it fails every create of an
// email starting with "stuck" (502, the create did not happen), and, when
// failLookups is set, every lookup of such an email (503). It records
// every call Freshservice received about those emails.
type stuckCalls struct {
	failLookups bool

	mu    sync.Mutex
	calls []stuckCall
}

type stuckCall struct {
	at     time.Time
	email  string
	create bool // POST /requesters or /agents; else a lookup
}

func (s *stuckCalls) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email, create := "", false
		switch {
		case r.Method == http.MethodGet && r.URL.Query().Get("email") != "":
			email = strings.ToLower(r.URL.Query().Get("email"))
		case r.Method == http.MethodPost && (r.URL.Path == "/api/v2/requesters" || r.URL.Path == "/api/v2/agents"):
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var u struct {
				Email string `json:"primary_email"`
				Agent string `json:"email"`
			}
			_ = json.Unmarshal(body, &u)
			email, create = strings.ToLower(u.Email+u.Agent), true
		}
		if !strings.HasPrefix(email, "stuck") {
			next.ServeHTTP(w, r)
			return
		}
		s.mu.Lock()
		s.calls = append(s.calls, stuckCall{at: time.Now(), email: email, create: create})
		s.mu.Unlock()
		switch {
		case create:
			w.WriteHeader(http.StatusBadGateway)
		case s.failLookups:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// of returns the calls about email, or about every stuck email when email
// is empty, made after since.
func (s *stuckCalls) of(email string, since time.Time) []stuckCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []stuckCall
	for _, c := range s.calls {
		if (email == "" || c.email == email) && !c.at.Before(since) {
			out = append(out, c)
		}
	}
	return out
}

// statusCreates reads the creates section of /status.json.
func (e *env) statusCreates() statusCreatesJSON {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(e.url, "/scim/v2")+"/status.json", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep struct {
		Health struct {
			Checks []struct{ Name, State, Detail string } `json:"checks"`
		} `json:"health"`
		Creates statusCreatesJSON `json:"creates"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || resp.StatusCode != 200 {
		e.t.Fatalf("/status.json: %d %v", resp.StatusCode, err)
	}
	for _, c := range rep.Health.Checks {
		if c.Name == "creates" {
			rep.Creates.check = c.State + ": " + c.Detail
		}
	}
	return rep.Creates
}

type statusCreatesJSON struct {
	Retrying       int `json:"retrying"`
	Failed         int `json:"failed"`
	CallsPerWindow int `json:"calls_per_window"`
	Items          []struct {
		Email     string `json:"email"`
		UserName  string `json:"user_name"`
		State     string `json:"state"`
		Attempts  int    `json:"attempts"`
		LastError string `json:"last_error"`
		WhatToDo  string `json:"what_to_do"`
	} `json:"items"`
	check string // the "creates" health check
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// postStuck POSTs a user whose create Freshservice fails: the IdP gets a
// retryable error and the create stays in flight.
func postStuck(e *env, email string) {
	e.t.Helper()
	status, res := e.do("POST", "/Users", userBody(email, "Stuck", "User", nil))
	if status != http.StatusServiceUnavailable {
		e.t.Fatalf("POST %s with Freshservice failing the create: %d %v, want 503", email, status, res)
	}
}

func TestUnsettledCreatesBackOffAndGiveUp(t *testing.T) {
	const (
		interval   = 50 * time.Millisecond
		maxBackoff = 400 * time.Millisecond
	)
	for _, c := range []struct {
		name        string
		failLookups bool
		creates     int
		maxAttempts int
		// perTry is the most calls one background try may make: two
		// lookups (all users, then deactivated ones), the create, and the
		// two lookups that tell whether it happened; or, when the lookup
		// fails, the client's four attempts at the first one.
		perTry int
		// foreground is what the IdP's own POST cost.
		foreground int
	}{
		// A failing lookup is slow (the client's own retries back off for
		// about 1.5 s), so that case makes fewer tries.
		{name: "the create fails and the lookup finds nothing", creates: 3, maxAttempts: 4, perTry: 5, foreground: 3},
		{name: "the lookup fails", failLookups: true, creates: 1, maxAttempts: 2, perTry: 4, foreground: 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			maxAttempts := c.maxAttempts
			calls := &stuckCalls{failLookups: c.failLookups}
			e := newEnvWrapped(t, calls.wrap, func(cfg *config.Config, _ *simulator.Options) {
				cfg.Reconcile.Interval, cfg.Reconcile.MaxBackoff = interval, maxBackoff
				cfg.Reconcile.CreateRetryAttempts = maxAttempts
				cfg.Reconcile.CreateRetryMaxAge = time.Hour // the attempts end it here
				cfg.Reconcile.CreateRetryShare = 1          // so is not the ceiling
			})
			start := time.Now()
			var emails []string
			for i := range c.creates {
				email := fmt.Sprintf("stuck%d@example.com", i)
				emails = append(emails, email)
				postStuck(e, email)
			}
			waitFor(t, 30*time.Second, "the bridge giving up on every create", func() bool {
				return e.statusCreates().Failed == c.creates
			})

			// Each create was tried maxAttempts times, no more, with
			// growing gaps between tries.
			for _, email := range emails {
				got := calls.of(email, start)
				if max := c.foreground + maxAttempts*c.perTry; len(got) > max {
					t.Errorf("%s: %d calls, want at most %d (%d for the IdP's POST, then %d tries of at most %d)",
						email, len(got), max, c.foreground, maxAttempts, c.perTry)
				}
				if min := c.foreground + maxAttempts; len(got) < min {
					t.Errorf("%s: %d calls, want at least %d (%d for the IdP's POST, then %d tries)", email, len(got), min, c.foreground, maxAttempts)
				}
				if c.failLookups {
					continue // a try is a burst of the client's retries: no one call marks it
				}
				var tries []time.Time // one create per try, the IdP's first
				for _, call := range got {
					if call.create {
						tries = append(tries, call.at)
					}
				}
				if len(tries) != 1+maxAttempts {
					t.Fatalf("%s: %d creates sent, want %d (the IdP's and %d tries)", email, len(tries), 1+maxAttempts, maxAttempts)
				}
				var gaps []time.Duration
				for i := 2; i < len(tries); i++ {
					gaps = append(gaps, tries[i].Sub(tries[i-1]))
				}
				for i, g := range gaps {
					// After failed try n the next waits backoff(n): the
					// interval doubled n-1 times, capped.
					want := min(interval<<i, maxBackoff)
					if g < want {
						t.Errorf("%s: gap %d between tries was %s, want at least %s (gaps %v)", email, i+1, g, want, gaps)
					}
				}
			}

			// Failed: on /status with what to do, and in the audit trail.
			sc := e.statusCreates()
			if sc.Retrying != 0 || !strings.HasPrefix(sc.check, "warn: the bridge gave up on") {
				t.Errorf("/status.json creates: %d retrying, health check %q; want 0 and a warning", sc.Retrying, sc.check)
			}
			for _, it := range sc.Items {
				if it.State != "failed" || it.Attempts != maxAttempts || it.UserName != it.Email ||
					!strings.Contains(it.LastError, "failed: Freshservice answered 50") || !strings.Contains(it.WhatToDo, "send the user again from the IdP") {
					t.Errorf("/status.json create %+v: want failed after %d tries, with the last error and what to do", it, maxAttempts)
				}
			}
			events, err := e.srv.Store.ListAudit(t.Context(), store.AuditQuery{Operation: "user.create", Outcome: "error", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, email := range emails {
				if !slices.ContainsFunc(events, func(ev store.AuditEvent) bool {
					return strings.HasPrefix(ev.Detail, "gave up creating "+email+" ") && strings.Contains(ev.Detail, "tries failed")
				}) {
					t.Errorf("no audit event says the bridge gave up creating %s; events: %+v", email, events)
				}
			}

			// Given up means no more calls: while another create goes
			// through all its tries, the failed ones get none.
			before := len(calls.of("", start))
			postStuck(e, "stuck-witness@example.com")
			witness := len(calls.of("stuck-witness@example.com", start))
			waitFor(t, 30*time.Second, "the bridge giving up on the witness", func() bool {
				return e.statusCreates().Failed == c.creates+1
			})
			if got := len(calls.of("", start)) - before - len(calls.of("stuck-witness@example.com", start)); got != 0 {
				t.Errorf("%d calls about creates already given up on", got)
			}
			if len(calls.of("stuck-witness@example.com", start)) <= witness {
				t.Error("the witness was never tried in the background")
			}
		})
	}
}

// TestUnsettledCreatesStayWithinTheirShare: many creates that fail fast,
// each due again after a short backoff, would spend calls as fast as the
// background pass runs; all of them together stay within their share of
// the scarcest bucket per window.
func TestUnsettledCreatesStayWithinTheirShare(t *testing.T) {
	const (
		creates = 8
		share   = 0.05 // of the enterprise plan's 140 list calls per window: 7
		perTry  = 5
		windows = 3
	)
	calls := &stuckCalls{}
	e := newEnvWrapped(t, calls.wrap, func(cfg *config.Config, _ *simulator.Options) {
		cfg.Reconcile.Interval, cfg.Reconcile.MaxBackoff = 20*time.Millisecond, 20*time.Millisecond
		cfg.Reconcile.CreateRetryAttempts = 1000
		cfg.Reconcile.CreateRetryShare = share
	})
	window := e.cfg.Freshservice.Window
	for i := range creates {
		postStuck(e, fmt.Sprintf("stuck%d@example.com", i))
	}
	allowance := e.statusCreates().CallsPerWindow
	if allowance != 7 {
		t.Fatalf("/status.json says %d calls per window for create retries, want 7 (5%% of 140)", allowance)
	}
	// Measure from the first background try on, over whole windows.
	start := time.Now()
	waitFor(t, 10*time.Second, "a background try", func() bool { return len(calls.of("", start)) > 0 })
	from := calls.of("", start)[0].at
	waitFor(t, 30*time.Second, fmt.Sprintf("%d windows passing", windows), func() bool {
		return time.Since(from) > windows*window
	})
	got := 0
	for _, c := range calls.of("", from) {
		if c.at.Before(from.Add(windows * window)) {
			got++
		}
	}
	// A try starts only while less than the allowance was spent in the
	// last window, and is charged what it cost when it ends: any window
	// holds at most allowance-1+perTry calls, and a try under way at the
	// end of the span adds its own.
	if max := windows*(allowance-1+perTry) + perTry; got > max {
		t.Errorf("%d calls on creates being retried in %d windows; want at most %d (%d per window, plus one try of %d at the edge)",
			got, windows, max, allowance-1+perTry, perTry)
	}
	if got < allowance {
		t.Errorf("%d calls in %d windows: the creates were hardly retried at all", got, windows)
	}
	t.Logf("%d creates failing in the background: %.1f calls per window (allowance %d)", creates, float64(got)/windows, allowance)
}

// TestCreateSentAgainStartsAfresh: once the bridge has given up, the IdP
// sending the user again (an admin's retry, a re-push) is a new create:
// it is tried, and when Freshservice takes it the user is provisioned.
func TestCreateSentAgainStartsAfresh(t *testing.T) {
	calls := &stuckCalls{}
	var healed sync.Once
	heal := make(chan struct{})
	e := newEnvWrapped(t, func(next http.Handler) http.Handler {
		failing := calls.wrap(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-heal:
				next.ServeHTTP(w, r)
			default:
				failing.ServeHTTP(w, r)
			}
		})
	}, func(cfg *config.Config, _ *simulator.Options) {
		cfg.Reconcile.MaxBackoff = 100 * time.Millisecond
		cfg.Reconcile.CreateRetryAttempts = 2
	})
	postStuck(e, "stuck-again@example.com")
	waitFor(t, 30*time.Second, "the bridge giving up", func() bool { return e.statusCreates().Failed == 1 })
	healed.Do(func() { close(heal) })
	status, res := e.do("POST", "/Users", userBody("stuck-again@example.com", "Stuck", "User", nil))
	if status != http.StatusCreated {
		t.Fatalf("POST after the bridge gave up and Freshservice recovered: %d %v, want 201", status, res)
	}
	if sc := e.statusCreates(); sc.Failed != 0 || sc.Retrying != 0 {
		t.Errorf("/status.json after the create succeeded: %d failed, %d retrying; want none", sc.Failed, sc.Retrying)
	}
	if _, ok := e.sim.UserByEmail("stuck-again@example.com"); !ok {
		t.Error("Freshservice has no user for the create that succeeded")
	}
}

// TestUnsettledCreateGivesUpWhenTooOld: with tries to spare, a create is
// still given up once it is older than create_retry_max_age, after at
// least one try.
func TestUnsettledCreateGivesUpWhenTooOld(t *testing.T) {
	const maxAge = 500 * time.Millisecond
	calls := &stuckCalls{}
	e := newEnvWrapped(t, calls.wrap, func(cfg *config.Config, _ *simulator.Options) {
		cfg.Reconcile.MaxBackoff = 100 * time.Millisecond
		cfg.Reconcile.CreateRetryAttempts = 1000
		cfg.Reconcile.CreateRetryMaxAge = maxAge
	})
	start := time.Now()
	postStuck(e, "stuck-old@example.com")
	waitFor(t, 10*time.Second, "the bridge giving up", func() bool { return e.statusCreates().Failed == 1 })
	if took := time.Since(start); took < maxAge {
		t.Errorf("gave up after %s, before create_retry_max_age (%s)", took, maxAge)
	}
	if it := e.statusCreates().Items[0]; it.Attempts < 1 || it.Attempts >= 1000 {
		t.Errorf("/status.json: %+v; want given up by age after at least one try", it)
	}
	events, err := e.srv.Store.ListAudit(t.Context(), store.AuditQuery{Operation: "user.create", Outcome: "error"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(events, func(ev store.AuditEvent) bool {
		return strings.HasPrefix(ev.Detail, "gave up creating stuck-old@example.com ") && strings.Contains(ev.Detail, "have passed since the IdP sent it")
	}) {
		t.Errorf("no audit event says the create was given up for its age: %+v", events)
	}
}
