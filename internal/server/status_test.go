package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/health"
	"github.com/fsbridge/fsbridge/internal/reqctx"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/scim"
)

const (
	stSCIMToken   = "status-test-scim-token-0123456789"
	stStatusToken = "status-test-read-only-token-0123"
	stAPIKey      = "status-test-api-key-0123456789"
	stBasicPass   = "status-test-basic-password-0123"
)

var stSecrets = []string{stSCIMToken, stStatusToken, stAPIKey, stBasicPass}

// statusEnv is a bridge (behind a real HTTP server) in front of a
// simulator, with a SCIM token, a SCIM Basic credential and a status token.
type statusEnv struct {
	t   *testing.T
	srv *Server
	url string
}

func newStatusEnv(t *testing.T, edit func(*config.Config, *simulator.Options)) *statusEnv {
	t.Helper()
	return newStatusEnvWrapped(t, nil, edit)
}

// newStatusEnvWrapped is newStatusEnv with the simulator's handler wrapped,
// to fail chosen calls.
func newStatusEnvWrapped(t *testing.T, wrap func(http.Handler) http.Handler, edit func(*config.Config, *simulator.Options)) *statusEnv {
	t.Helper()
	// A time-scaled account (a rate-limit minute in a second) so the
	// first walk's pacing does not slow the tests.
	simOpts := simulator.Options{APIKey: stAPIKey, Plan: "enterprise", TimeScale: 60}
	cfg := config.Default()
	cfg.Freshservice.APIKey = config.Secret(stAPIKey)
	cfg.Freshservice.Plan = "enterprise"
	cfg.Freshservice.Window = time.Second
	cfg.SCIM.Tokens = []config.Token{{Name: "okta", Token: config.Secret(stSCIMToken)}}
	cfg.SCIM.Basic = &config.Basic{Username: "idp", Password: config.Secret(stBasicPass)}
	cfg.Status.Token = config.Secret(stStatusToken)
	cfg.Store.Path = filepath.Join(t.TempDir(), "fsbridge.db")
	if edit != nil {
		edit(&cfg, &simOpts)
	}
	sim, err := simulator.New(simOpts)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	simSrv := httptest.NewServer(h)
	t.Cleanup(simSrv.Close)
	cfg.Freshservice.URL = simSrv.URL
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	srv, err := New(context.Background(), cfg, Options{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if err := srv.Bridge.Walk(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler)
	t.Cleanup(hs.Close)
	return &statusEnv{t: t, srv: srv, url: hs.URL}
}

// get fetches path with the given request headers, not following
// redirects.
func (e *statusEnv) get(path string, hdr map[string]string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func (e *statusEnv) scim(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, e.url+"/scim/v2"+path, r)
	req.Header.Set("Authorization", "Bearer "+stSCIMToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &m)
	return resp.StatusCode, m
}

func (e *statusEnv) createUser(userName, email string) string {
	e.t.Helper()
	st, m := e.scim(http.MethodPost, "/Users", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"name":     map[string]any{"givenName": "Grace", "familyName": "Hopper"},
		"emails":   []any{map[string]any{"value": email, "primary": true, "type": "work"}},
		"active":   true,
	})
	if st != http.StatusCreated {
		e.t.Fatalf("create %s: %d %v", userName, st, m)
	}
	id, _ := m["id"].(string)
	return id
}

func (e *statusEnv) report(query string) statusReport {
	e.t.Helper()
	resp, body := e.get("/status.json"+query, bearer(stStatusToken))
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("/status.json%s: %d %s", query, resp.StatusCode, body)
	}
	var rep statusReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		e.t.Fatalf("/status.json is not the report: %v\n%s", err, body)
	}
	return rep
}

func noSecrets(t *testing.T, where, s string) {
	t.Helper()
	for _, sec := range stSecrets {
		if strings.Contains(s, sec) {
			t.Errorf("%s contains a secret (%.8s…)", where, sec)
		}
	}
}

func TestStatusAuth(t *testing.T) {
	e := newStatusEnv(t, nil)
	basic := func(u, p string) map[string]string {
		req, _ := http.NewRequest(http.MethodGet, "/", nil)
		req.SetBasicAuth(u, p)
		return map[string]string{"Authorization": req.Header.Get("Authorization")}
	}
	cases := []struct {
		name string
		path string
		hdr  map[string]string
		want int
	}{
		{"nothing", "/status", nil, 401},
		{"nothing, JSON", "/status.json", nil, 401},
		{"SCIM bearer token", "/status", bearer(stSCIMToken), 200},
		{"SCIM bearer token, JSON", "/status.json", bearer(stSCIMToken), 200},
		{"status bearer token", "/status", bearer(stStatusToken), 200},
		{"status bearer token, JSON", "/status.json", bearer(stStatusToken), 200},
		{"wrong bearer token", "/status", bearer("not-the-token-at-all-0123"), 401},
		{"empty bearer", "/status", map[string]string{"Authorization": "Bearer "}, 401},
		{"status token as Basic password, any user", "/status", basic("admin", stStatusToken), 200},
		{"status token as Basic password, empty user", "/status.json", basic("", stStatusToken), 200},
		{"SCIM token as Basic password", "/status", basic("x", stSCIMToken), 200},
		{"SCIM Basic credential", "/status", basic("idp", stBasicPass), 200},
		{"SCIM Basic password with another user", "/status", basic("someone", stBasicPass), 401},
		{"wrong Basic password", "/status", basic("admin", "wrong-password-0123456789"), 401},
		{"status token in the query, JSON", "/status.json?token=" + stStatusToken, nil, 200},
		{"SCIM token in the query, JSON", "/status.json?token=" + stSCIMToken, nil, 200},
		{"wrong token in the query", "/status.json?token=nope-nope-nope-nope-nope", nil, 401},
		{"forged cookie", "/status", map[string]string{"Cookie": statusCookie + "=0123456789abcdef"}, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.get(c.path, c.hdr)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, body)
			}
			if c.want == 401 {
				if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="fsbridge status"` {
					t.Errorf("WWW-Authenticate %q: a browser would not prompt", got)
				}
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
			noSecrets(t, c.path, body)
		})
	}

	t.Run("?token= on the page trades the token for a cookie", func(t *testing.T) {
		resp, _ := e.get("/status?outcome=error&token="+stStatusToken, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d, want 303", resp.StatusCode)
		}
		if loc := resp.Header.Get("Location"); loc != "/status?outcome=error" {
			t.Errorf("Location %q: the token must leave the address bar and the filter stay", loc)
		}
		var ck *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == statusCookie {
				ck = c
			}
		}
		if ck == nil {
			t.Fatal("no session cookie set")
		}
		if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
			t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/", ck)
		}
		noSecrets(t, "the cookie", ck.Value)
		for _, p := range []string{"/status?outcome=error", "/status.json"} {
			resp, body := e.get(p, map[string]string{"Cookie": statusCookie + "=" + ck.Value})
			if resp.StatusCode != 200 {
				t.Errorf("%s with the cookie: %d", p, resp.StatusCode)
			}
			noSecrets(t, p, body)
		}
	})

	t.Run("the status token does not open SCIM", func(t *testing.T) {
		resp, _ := e.get("/scim/v2/Users", bearer(stStatusToken))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /scim/v2/Users with the status token: %d, want 401", resp.StatusCode)
		}
	})
}

func TestStatusAuthWithoutStatusToken(t *testing.T) {
	e := newStatusEnv(t, func(c *config.Config, _ *simulator.Options) {
		c.Status.Token = ""
		c.SCIM.Basic = nil
		c.SCIM.Tokens = []config.Token{{Name: "hashed", SHA256: func() string {
			h := config.HashToken(stSCIMToken)
			return strings.ToLower(hexString(h[:]))
		}()}}
	})
	if resp, _ := e.get("/status", bearer(stSCIMToken)); resp.StatusCode != 200 {
		t.Errorf("a SCIM token given by its SHA-256: %d", resp.StatusCode)
	}
	if resp, _ := e.get("/status", bearer(stStatusToken)); resp.StatusCode != 401 {
		t.Errorf("no status token configured, yet one was accepted: %d", resp.StatusCode)
	}
	if resp, _ := e.get("/status", map[string]string{"Authorization": "Basic Og=="}); resp.StatusCode != 401 {
		t.Errorf("empty Basic credentials accepted: %d", resp.StatusCode)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestStatusJSONShape(t *testing.T) {
	e := newStatusEnv(t, nil)
	e.createUser("grace@example.com", "grace@example.com")
	resp, body := e.get("/status.json", bearer(stSCIMToken))
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	noSecrets(t, "/status.json", body)
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	obj := func(v any, path string) map[string]any {
		t.Helper()
		o, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s is not an object: %v", path, v)
		}
		return o
	}
	arr := func(v any, path string) []any {
		t.Helper()
		a, ok := v.([]any)
		if !ok {
			t.Fatalf("%s is not an array: %v", path, v)
		}
		return a
	}
	has := func(o map[string]any, path string, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if _, ok := o[k]; !ok {
				t.Errorf("%s has no %q", path, k)
			}
		}
	}
	has(m, "", "generated_at", "dry_run", "health", "budget", "calls", "counts", "creates", "account", "audit")
	acct := obj(m["account"], "account")
	has(acct, "account", "url", "plan", "limit", "per", "measured", "key_owner", "manage_agents", "see_agents_as_requesters", "all_workspaces",
		"full_time_agents", "occasional_agents", "problems", "ready")
	if acct["ready"] != true || acct["limit"] != 500.0 || acct["per"] != "minute" || acct["measured"] != true || acct["key_owner"] != "owner@example.com" {
		t.Errorf("account %v", acct)
	}
	has(obj(m["creates"], "creates"), "creates", "retrying", "failed", "max_attempts", "max_age_seconds", "calls_per_window", "spent_last_window", "items")
	if _, err := time.Parse(time.RFC3339, m["generated_at"].(string)); err != nil {
		t.Errorf("generated_at: %v", err)
	}

	health := obj(m["health"], "health")
	if health["state"] != "ok" {
		t.Errorf("health.state %v, want ok: %s", health["state"], body)
	}
	var names []string
	for _, c := range arr(health["checks"], "health.checks") {
		co := obj(c, "health.checks[]")
		has(co, "health.checks[]", "name", "state", "detail")
		names = append(names, co["name"].(string))
	}
	if strings.Join(names, ",") != "store,freshservice,permissions,mirror,backlog" {
		t.Errorf("health checks %v", names)
	}

	budget := obj(m["budget"], "budget")
	has(budget, "budget", "window_seconds", "wait_seconds_total", "buckets")
	buckets := arr(budget["buckets"], "budget.buckets")
	if len(buckets) != 3 {
		t.Fatalf("%d buckets, want overall, list_agents, list_requesters", len(buckets))
	}
	for i, want := range []string{"overall", "list_agents", "list_requesters"} {
		b := obj(buckets[i], "budget.buckets[]")
		has(b, "budget.buckets[]", "bucket", "limit", "account_limit", "used", "remaining", "used_percent", "started_total", "others_spent_total")
		if b["bucket"] != want {
			t.Errorf("bucket %d is %v, want %s", i, b["bucket"], want)
		}
	}
	if ov := obj(buckets[0], "overall"); ov["account_limit"].(float64) != 500 || ov["limit"].(float64) != 400 || ov["used"].(float64) < 1 {
		t.Errorf("overall bucket %v: want the enterprise plan's 500, the 0.8 share 400, and the create's call used", ov)
	}

	calls := obj(m["calls"], "calls")
	has(calls, "calls", "minutes", "last_hour", "since_start")
	minutes := arr(calls["minutes"], "calls.minutes")
	if len(minutes) != 60 {
		t.Fatalf("%d minutes, want 60", len(minutes))
	}
	countKeys := []string{"writes", "lookups", "walks", "retries", "failures", "calls", "rate_limited_seen", "rate_limited_returned", "scim_requests", "scim_errors"}
	for _, mm := range minutes {
		has(obj(mm, "calls.minutes[]"), "calls.minutes[]", append([]string{"start"}, countKeys...)...)
	}
	first, _ := time.Parse(time.RFC3339, obj(minutes[0], "")["start"].(string))
	last, _ := time.Parse(time.RFC3339, obj(minutes[59], "")["start"].(string))
	if last.Sub(first) != 59*time.Minute || time.Since(last) > 2*time.Minute {
		t.Errorf("minutes run from %s to %s, want the last hour oldest first", first, last)
	}
	hour := obj(calls["last_hour"], "calls.last_hour")
	has(hour, "calls.last_hour", countKeys...)
	if hour["writes"].(float64) < 1 || hour["walks"].(float64) < 1 || hour["scim_requests"].(float64) != 1 {
		t.Errorf("last hour %v: want the create's write, the walk's reads and one SCIM request", hour)
	}

	counts := obj(m["counts"], "counts")
	has(counts, "counts", "users", "seats", "groups", "plans_pending", "drift_users")
	users := obj(counts["users"], "counts.users")
	has(users, "counts.users", "in_mirror", "managed", "full_time_agents", "occasional_agents", "requesters", "deactivated")
	if users["managed"].(float64) != 1 || users["requesters"].(float64) < 1 {
		t.Errorf("users %v", users)
	}
	has(obj(counts["seats"], "counts.seats"), "counts.seats", "used", "max_agents", "used_percent")
	has(obj(counts["groups"], "counts.groups"), "counts.groups", "total", "role_groups", "agent_groups", "requester_groups", "not_applied")

	audit := obj(m["audit"], "audit")
	has(audit, "audit", "outcome", "limit", "events")
	events := arr(audit["events"], "audit.events")
	if len(events) == 0 {
		t.Fatal("no audit events")
	}
	ev := obj(events[0], "audit.events[0]")
	has(ev, "audit.events[]", "id", "time", "client", "operation", "subject", "subject_kind", "outcome", "detail")
	if ev["operation"] != "user.create" || ev["client"] != "okta" || ev["subject"] != "grace@example.com" || ev["subject_kind"] != "user" || ev["outcome"] != "ok" {
		t.Errorf("event %v", ev)
	}
	if _, ok := ev["failure"]; ok {
		t.Error("an ok event has a failure")
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestStatusSeriesAndCategories(t *testing.T) {
	p := newStatusPage(nil)
	clk := &fakeClock{t: time.Date(2026, 11, 27, 10, 0, 30, 0, time.UTC)}
	p.now = clk.now
	bg := context.Background()
	req := reqctx.With(bg, &reqctx.Info{RequestID: "r1", Client: "okta"})
	ok := func(m string, attempt int) freshservice.Call {
		return freshservice.Call{Method: m, Route: "/api/v2/requesters", Status: 200, Attempt: attempt}
	}
	p.observeCall(req, ok(http.MethodPost, 1)) // write for a SCIM request
	p.observeCall(bg, ok(http.MethodPut, 1))   // write of the reconcile pass
	p.observeCall(req, ok(http.MethodGet, 1))  // lookup
	p.observeCall(bg, ok(http.MethodGet, 1))   // walk
	p.observeCall(bg, ok(http.MethodGet, 1))   // walk
	// The background pass counts its calls under an Info without a
	// request id: a background read, not a SCIM lookup.
	p.observeCall(reqctx.With(bg, &reqctx.Info{}), ok(http.MethodGet, 1))
	p.observeCall(req, ok(http.MethodGet, 2))    // a retry that worked
	p.observeCall(req, ok(http.MethodDelete, 3)) // another retry
	p.observeCall(bg, freshservice.Call{Method: http.MethodPut, Status: 503, Reason: freshservice.ReasonServer, Attempt: 1})
	p.observeCall(req, freshservice.Call{Method: http.MethodPost, Status: 429, Reason: freshservice.ReasonRateLimited, Attempt: 1})
	p.observeRequest(scim.RequestRecord{Method: http.MethodPost, Status: http.StatusTooManyRequests})
	p.observeRequest(scim.RequestRecord{Method: http.MethodPost, Status: http.StatusCreated})
	p.observeRequest(scim.RequestRecord{Method: http.MethodGet, Status: http.StatusServiceUnavailable})

	want := callCounts{Writes: 2, Lookups: 1, Walks: 3, Retries: 2, Failures: 2, Calls: 10, RateLimitedSeen: 1, RateLimitedReturned: 1, SCIMRequests: 3, SCIMErrors: 1}
	ms, hour, total := p.series(clk.now())
	if len(ms) != statusMinutes {
		t.Fatalf("%d minutes", len(ms))
	}
	if got := ms[59].callCounts; got != want {
		t.Errorf("this minute %+v\nwant %+v", got, want)
	}
	if hour != want || total != want {
		t.Errorf("hour %+v total %+v, want %+v", hour, total, want)
	}
	if !ms[59].Start.Equal(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)) || !ms[0].Start.Equal(time.Date(2026, 11, 27, 9, 1, 0, 0, time.UTC)) {
		t.Errorf("minutes from %s to %s", ms[0].Start, ms[59].Start)
	}

	// A minute later: the old minute moves left, the new one counts alone.
	clk.add(time.Minute)
	p.observeCall(bg, ok(http.MethodGet, 1))
	ms, hour, _ = p.series(clk.now())
	if ms[58].callCounts != want || ms[59].Calls != 1 || ms[59].Walks != 1 {
		t.Errorf("after a minute: [58] %+v [59] %+v", ms[58].callCounts, ms[59].callCounts)
	}
	if hour.Calls != 11 {
		t.Errorf("hour has %d calls, want 11", hour.Calls)
	}

	// Quiet minutes read as zero, and an hour later the first minute is
	// gone from the chart (its slot reused) but not from the totals.
	clk.add(59 * time.Minute)
	p.observeCall(req, ok(http.MethodGet, 1))
	ms, hour, total = p.series(clk.now())
	if hour.Calls != 2 || hour.Lookups != 1 || hour.Walks != 1 {
		t.Errorf("an hour later, the last hour %+v: want only the walk and the lookup", hour)
	}
	if ms[0].Calls != 1 || ms[59].Calls != 1 || ms[30].Calls != 0 {
		t.Errorf("an hour later: [0] %+v [30] %+v [59] %+v", ms[0].callCounts, ms[30].callCounts, ms[59].callCounts)
	}
	if total.Calls != 12 || total.RateLimitedSeen != 1 || total.RateLimitedReturned != 1 {
		t.Errorf("since start %+v", total)
	}
	clk.add(3 * time.Hour)
	if _, hour, _ := p.series(clk.now()); hour != (callCounts{}) {
		t.Errorf("after three quiet hours the last hour reads %+v", hour)
	}
}

func TestStatusSeriesConcurrent(t *testing.T) {
	p := newStatusPage(nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				p.observeCall(context.Background(), freshservice.Call{Method: http.MethodGet, Status: 200, Attempt: 1 + i%2})
				p.observeRequest(scim.RequestRecord{Status: 200})
				p.series(time.Now())
			}
		}()
	}
	wg.Wait()
	if _, _, total := p.series(time.Now()); total.Calls != 4000 || total.SCIMRequests != 4000 || total.Walks+total.Retries != 4000 {
		t.Errorf("total %+v", total)
	}
}

func TestStatusOutcomeFilter(t *testing.T) {
	e := newStatusEnv(t, nil)
	ctx := context.Background()
	base := time.Now().Add(-time.Minute)
	for i, ev := range []store.AuditEvent{
		{Operation: "user.create", Client: "okta", FSID: 1, Outcome: "ok", Detail: "POST /api/v2/requesters {\"first_name\":\"OkMarker\"}", Call: "POST /api/v2/requesters"},
		{Operation: "user.update", Client: "okta", FSID: 2, Outcome: "error", Detail: "PUT /api/v2/requesters/2 failed: Freshservice answered 400 Bad Request; field time_zone: invalid_value",
			Call: "PUT /api/v2/requesters/2", Kind: "invalid", Status: 400, Field: "time_zone", Code: "invalid_value"},
		{Operation: "plan", Client: "entra", Outcome: "planned", Detail: "POST /api/v2/requesters PlannedMarker"},
		{Operation: "user.promote", Client: "okta", FSID: 3, Outcome: "error", Detail: "no full-time agent seat left: rules.max_agents is 2 and 2 full-time agents are active; the user is left as before",
			Kind: "no_seat", Field: "rules.max_agents"},
		// Recorded before schema 3: the detail only.
		{Operation: "user.update", Client: "okta", FSID: 4, Outcome: "error", Detail: "PUT /api/v2/requesters/4 failed: Freshservice answered 400 Bad Request; field language: OldRowMarker"},
	} {
		ev.Time = base.Add(time.Duration(i) * time.Second)
		if _, err := e.srv.Store.AppendAudit(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"", []string{"error", "error", "planned", "error", "ok"}},
		{"?outcome=all", []string{"error", "error", "planned", "error", "ok"}},
		{"?outcome=error", []string{"error", "error", "error"}},
		{"?outcome=ok", []string{"ok"}},
		{"?outcome=planned", []string{"planned"}},
		{"?outcome=error&limit=1", []string{"error"}},
	} {
		rep := e.report(c.q)
		var got []string
		for _, ev := range rep.Audit.Events {
			got = append(got, ev.Outcome)
			if (ev.Outcome == "error") != (ev.Failure != nil) {
				t.Errorf("%s: event %d outcome %s with failure %v", c.q, ev.ID, ev.Outcome, ev.Failure)
			}
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: outcomes %v, want %v", c.q, got, c.want)
		}
	}
	for _, q := range []string{"?outcome=bogus", "?limit=0", "?limit=9999", "?limit=x"} {
		if resp, _ := e.get("/status.json"+q, bearer(stStatusToken)); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, resp.StatusCode)
		}
		if resp, _ := e.get("/status"+q, bearer(stStatusToken)); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("HTML %s: %d, want 400", q, resp.StatusCode)
		}
	}

	_, page := e.get("/status?outcome=error", bearer(stStatusToken))
	if strings.Contains(page, "OkMarker") || strings.Contains(page, "PlannedMarker") {
		t.Error("the error filter shows other outcomes")
	}
	for _, want := range []string{
		"Freshservice does not accept the value of time_zone", "<code>time_zone</code>", "<code>invalid_value</code>", "HTTP 400",
		"No full-time agent seat is left under the bridge&#39;s cap rules.max_agents, so nothing was changed", "field <code>rules.max_agents</code>",
		// An old event is explained by its own words, as they are.
		"PUT /api/v2/requesters/4 failed: Freshservice answered 400 Bad Request; field language: OldRowMarker.",
		`<a href="/status?outcome=error" class="on">error</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the error-filtered page lacks %q", want)
		}
	}
	for _, bad := range []string{"<code>language</code>", "<code>OldRowMarker</code>"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page read %q out of an old event's words", bad)
		}
	}
	for _, ev := range e.report("?outcome=error").Audit.Events {
		if ev.FSID == 4 && (ev.Failure == nil || *ev.Failure != failureReport{Reason: ev.Detail + "."}) {
			t.Errorf("old event's failure %+v, want its detail as the reason and no fields", ev.Failure)
		}
	}
	_, page = e.get("/status", bearer(stStatusToken))
	for _, want := range []string{"OkMarker", "PlannedMarker", `<a href="/status" class="on">all</a>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the unfiltered page lacks %q", want)
		}
	}
}

func TestStatusExplainFailure(t *testing.T) {
	const put42 = "PUT /api/v2/requesters/42"
	cases := []struct {
		name   string
		ev     store.AuditEvent
		reason []string // what the sentence must say
	}{
		{"FieldRefused",
			store.AuditEvent{Kind: "invalid", Call: put42, Status: 400, Field: "time_zone", Code: "invalid_value"},
			[]string{"Freshservice does not accept the value of time_zone"}},
		{"DuplicateEmail",
			store.AuditEvent{Kind: "conflict", Call: "POST /api/v2/requesters", Status: 409, Field: "primary_email", Code: "duplicate_value"},
			[]string{"Another Freshservice user already has this primary_email"}},
		{"MissingField",
			store.AuditEvent{Kind: "invalid", Call: "POST /api/v2/agents", Status: 400, Field: "roles", Code: "missing_field"},
			[]string{"Freshservice requires roles"}},
		{"WrongType",
			store.AuditEvent{Kind: "invalid", Call: put42, Status: 400, Field: "custom_fields.cost_center", Code: "datatype_mismatch"},
			[]string{"The field custom_fields.cost_center has the wrong type"}},
		{"EveryFieldNamed",
			store.AuditEvent{Kind: "invalid", Call: put42, Status: 400, Field: "vip_user", Code: "invalid_field",
				Fields: []store.AuditField{{Field: "vip_user", Code: "invalid_field"}, {Field: "language", Code: "invalid_value"}}},
			[]string{"Freshservice does not know or does not take the field vip_user (a custom field renamed or removed?); Freshservice does not accept the value of language"}},
		{"TopLevelCodeBesideFields",
			store.AuditEvent{Kind: "invalid", Call: put42, Status: 400, Field: "language", Code: "invalid_value",
				Fields: []store.AuditField{{Field: "language", Code: "invalid_value"}, {Code: "invalid_request"}}},
			[]string{"Freshservice does not accept the value of language (not one of its allowed values, or badly formed)."}},
		{"ReadOnly",
			store.AuditEvent{Kind: "invalid", Call: put42, Status: 400, Field: "primary_email", Code: "readonly_field"},
			[]string{"The field primary_email cannot be changed through Freshservice's API"}},
		{"PlanLacksFeature",
			store.AuditEvent{Kind: "forbidden", Call: "PUT /api/v2/groups/5", Status: 403, Code: "require_feature"},
			[]string{"plan lacks a feature"}},
		{"FreshserviceHasNoSeat",
			store.AuditEvent{Kind: "no_seat", Call: "PUT /api/v2/requesters/7/convert_to_agent", Status: 403, Code: "access_denied"},
			[]string{"Freshservice has no agent seat left", "not made an agent"}},
		{"KeyRefused",
			store.AuditEvent{Kind: "unavailable", Call: "GET /api/v2/roles", Status: 401, Code: "invalid_credentials"},
			[]string{"refused the bridge's API key"}},
		{"ForbiddenNoCode",
			store.AuditEvent{Kind: "forbidden", Call: "DELETE /api/v2/agents/7", Status: 403},
			[]string{"forbade it (403)", "lacks a permission"}},
		{"PlanLacksAFeature",
			store.AuditEvent{Kind: "requires_feature", Call: "POST /api/v2/agents", Status: 403, Code: "require_feature"},
			[]string{"plan lacks a feature", "not retried"}},
		{"Gone",
			store.AuditEvent{Kind: "not_found", Call: "DELETE /api/v2/requesters/9", Status: 404},
			[]string{"no longer has this object (404)"}},
		{"BareConflict",
			store.AuditEvent{Kind: "conflict", Call: "POST /api/v2/requesters", Status: 409},
			[]string{"conflicts with what Freshservice holds (409)"}},
		{"Upstream429",
			store.AuditEvent{Kind: "rate_limited", Call: "PUT /api/v2/requesters/9", Status: 429},
			[]string{"rate limit was hit (429)", "retried"}},
		{"BudgetSpent",
			store.AuditEvent{Kind: "rate_limited", Call: "PUT /api/v2/requesters/9"},
			[]string{"share of the Freshservice API budget was used up"}},
		{"ServerFailed",
			store.AuditEvent{Kind: "transient", Call: "PUT /api/v2/requesters/9", Status: 502},
			[]string{"failed on its side (502)", "retried"}},
		{"NoAnswer",
			store.AuditEvent{Kind: "transient", Call: "PUT /api/v2/requesters/9"},
			[]string{"Freshservice did not answer", "retried"}},
		{"RequestEnded",
			store.AuditEvent{Kind: "canceled", Call: "PUT /api/v2/requesters/9"},
			[]string{"The request ended before Freshservice answered", "finished in the background"}},
		{"BridgeFailed",
			store.AuditEvent{Kind: "internal"},
			[]string{"The bridge failed on its side", "log"}},
		{"SeatCap",
			store.AuditEvent{Kind: "no_seat", Field: "rules.max_agents",
				Detail: "no full-time agent seat left: rules.max_agents is 25, 25 full-time agents are active, and this change would add 1; nothing was changed"},
			[]string{"No full-time agent seat is left under the bridge's cap rules.max_agents", "raise the cap or free a seat"}},
		{"ProtectedUser",
			store.AuditEvent{Kind: "protected", Detail: "refused admin@example.com, nothing changed: user 1 (admin@example.com) is protected"},
			[]string{"The user is protected", "nothing was changed"}},
		{"BridgesOwnRefusalInItsWords",
			store.AuditEvent{Kind: "invalid", Field: "timezone",
				Detail: `refused ann@example.com, nothing changed: timezone: "Mars/Base" has no Freshservice time zone (scim.strict_attributes is on)`},
			[]string{`Refused ann@example.com, nothing changed: timezone: "Mars/Base" has no Freshservice time zone (scim.strict_attributes is on).`}},
		{"AgentGroupMembers",
			store.AuditEvent{Kind: "invalid", Call: "GET+PUT /api/v2/groups/5", Status: 400, Field: "members", Code: "invalid_value"},
			[]string{"the value of members"}},
		// Events recorded without their fields keep their words: nothing
		// is read back out of them, however they read.
		{"OldEventShowsItsDetail",
			store.AuditEvent{Detail: "PUT /api/v2/requesters/42 failed: Freshservice answered 400 Bad Request; field time_zone: invalid_value"},
			[]string{"PUT /api/v2/requesters/42 failed: Freshservice answered 400 Bad Request; field time_zone: invalid_value."}},
		{"NothingRecorded",
			store.AuditEvent{},
			[]string{"No reason was recorded."}},
		{"GaveUp",
			store.AuditEvent{Detail: `gave up creating ann@example.com (userName "ann") in the background: 10 tries failed; the last error: POST /api/v2/requesters failed: Freshservice did not answer (connection failed or dropped); fix the cause, then send the user again from the IdP`},
			[]string{"Gave up creating ann@example.com", "10 tries failed", "send the user again from the IdP"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.ev.Outcome = "error"
			f := explainFailure(c.ev)
			for _, r := range c.reason {
				if !strings.Contains(f.Reason, r) {
					t.Errorf("reason %q\nlacks  %q", f.Reason, r)
				}
			}
			// The fields shown are the ones recorded, whatever the words.
			want := failureReport{Reason: f.Reason, Kind: c.ev.Kind, Call: c.ev.Call, Status: c.ev.Status, Field: c.ev.Field, Code: c.ev.Code}
			if f != want {
				t.Errorf("failure %+v, want %+v", f, want)
			}
			if strings.HasPrefix(c.ev.Detail, "gave up") && strings.Contains(f.Reason, "retried") {
				t.Errorf("reason %q promises a retry after the bridge gave up", f.Reason)
			}
			if !strings.HasSuffix(f.Reason, ".") || strings.ToUpper(f.Reason[:1]) != f.Reason[:1] {
				t.Errorf("reason %q is not a sentence", f.Reason)
			}
		})
	}
}

// TestStatusRealFailure makes Freshservice refuse a change, as it does a
// time zone it does not know, and checks the page explains the audit event
// the bridge wrote.
func TestStatusRealFailure(t *testing.T) {
	refuse := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v2/requesters/") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"description":"Validation failed","errors":[{"field":"time_zone","message":"It should be one of these values: 'Eastern Time (US & Canada)', ...","code":"invalid_value"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newStatusEnvWrapped(t, refuse, nil)
	id := e.createUser("lin@example.com", "lin@example.com")
	st, body := e.scim(http.MethodPatch, "/Users/"+id, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": "Rear Admiral"}},
	})
	if st != http.StatusBadRequest {
		t.Fatalf("the refused update answered %d %v, want 400", st, body)
	}
	rep := e.report("?outcome=error")
	if len(rep.Audit.Events) == 0 {
		t.Fatal("no error event in the audit trail")
	}
	ev := rep.Audit.Events[0]
	f := ev.Failure
	if f == nil || f.Field != "time_zone" || f.Code != "invalid_value" || f.Status != 400 || f.Call != "PUT /api/v2/requesters/"+id ||
		f.Reason != "Freshservice does not accept the value of time_zone (not one of its allowed values, or badly formed)." {
		t.Fatalf("event %+v, failure %+v", ev, f)
	}
	if ev.Subject != "lin@example.com" || ev.Client != "okta" || ev.Operation != "user.update" {
		t.Errorf("subject %q client %q operation %q", ev.Subject, ev.Client, ev.Operation)
	}
	if rep.Calls.LastHour.Failures < 1 || !strings.Contains(rep.Calls.LastFailure, "PUT /api/v2/requesters/{id}: 400 client") {
		t.Errorf("the failed call is not counted: %+v %q", rep.Calls.LastHour, rep.Calls.LastFailure)
	}
	_, page := e.get("/status?outcome=error", bearer(stStatusToken))
	for _, want := range []string{
		"Freshservice does not accept the value of time_zone", "kind <code>invalid</code> field <code>time_zone</code> code <code>invalid_value</code> HTTP 400",
		"<summary>PUT /api/v2/requesters/" + id + "</summary>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "It should be one of these values") {
		t.Error("the page shows Freshservice's own message, which the bridge never keeps")
	}
}

// TestStatusRealFailureKinds makes Freshservice fail a change in each way
// a user's write can fail, and checks that the failure's fields on the
// page are the ones the bridge recorded from the error itself.
func TestStatusRealFailureKinds(t *testing.T) {
	for _, c := range []struct {
		name string
		// fail answers the user's PUT instead of the simulator.
		fail       func(w http.ResponseWriter)
		scimStatus int
		want       failureReport // Call is filled in with the user's id
		reason     []string
	}{
		{"EveryFieldNamed", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"description":"Validation failed","errors":[`+
				`{"field":"time_zone","message":"Mars","code":"invalid_value"},{"field":"language","message":"Klingon","code":"invalid_value"}]}`)
		}, http.StatusBadRequest,
			failureReport{Kind: "invalid", Status: 400, Field: "time_zone", Code: "invalid_value"},
			[]string{"the value of time_zone", "the value of language"}},
		{"ServerFailed", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusBadGateway)
		}, http.StatusServiceUnavailable,
			failureReport{Kind: "transient", Status: 502},
			[]string{"failed on its side (502)", "retried"}},
		{"NoAnswer", func(w http.ResponseWriter) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}, http.StatusServiceUnavailable,
			failureReport{Kind: "transient"},
			[]string{"Freshservice did not answer", "retried"}},
		{"PermissionDenied", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"code":"access_denied","message":"You are not authorized to perform this action."}`)
		}, http.StatusServiceUnavailable,
			failureReport{Kind: "forbidden", Status: 403, Code: "access_denied"},
			[]string{"lacks a permission"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fail := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v2/requesters/") {
						c.fail(w)
						return
					}
					next.ServeHTTP(w, r)
				})
			}
			e := newStatusEnvWrapped(t, fail, nil)
			id := e.createUser("lin@example.com", "lin@example.com")
			st, body := e.scim(http.MethodPatch, "/Users/"+id, map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": "Rear Admiral"}},
			})
			if st != c.scimStatus {
				t.Fatalf("the failed update answered %d %v, want %d", st, body, c.scimStatus)
			}
			rep := e.report("?outcome=error")
			if len(rep.Audit.Events) == 0 || rep.Audit.Events[0].Failure == nil {
				t.Fatalf("no failed event: %+v", rep.Audit.Events)
			}
			ev := rep.Audit.Events[0]
			got := *ev.Failure
			for _, r := range c.reason {
				if !strings.Contains(got.Reason, r) {
					t.Errorf("reason %q lacks %q", got.Reason, r)
				}
			}
			want := c.want
			want.Reason, want.Call = got.Reason, "PUT /api/v2/requesters/"+id
			if got != want {
				t.Errorf("failure %+v, want %+v (event %+v)", got, want, ev)
			}
			if ev.Operation != "user.update" || ev.Subject != "lin@example.com" {
				t.Errorf("operation %q subject %q", ev.Operation, ev.Subject)
			}
		})
	}
}

// TestStatusRealRefusal: a request the bridge refuses itself, before
// any Freshservice write, is recorded with its kind, and the page explains
// it from that.
func TestStatusRealRefusal(t *testing.T) {
	const ext = "urn:ietf:params:scim:schemas:extension:freshservice:2.0:User"
	for _, c := range []struct {
		name       string
		request    func(e *statusEnv, id string) (int, map[string]any)
		scimStatus int
		kind, op   string
		reason     []string
	}{
		{"ProtectedUser", func(e *statusEnv, id string) (int, map[string]any) {
			return e.scim(http.MethodDelete, "/Users/"+id, nil)
		}, http.StatusConflict, "protected", "user.protect", []string{"The user is protected"}},
		{"ValueWithoutEquivalent", func(e *statusEnv, id string) (int, map[string]any) {
			return e.scim(http.MethodPatch, "/Users/"+id, map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []any{map[string]any{"op": "add", "path": ext + ":timeFormat", "value": "13h"}},
			})
		}, http.StatusBadRequest, "invalid", "user.update", []string{"Refused root@example.com, nothing changed", "13h"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newStatusEnv(t, func(c *config.Config, _ *simulator.Options) { c.ProtectedUsers = []string{"root@example.com"} })
			id := e.createUser("root@example.com", "root@example.com")
			if st, body := c.request(e, id); st != c.scimStatus {
				t.Fatalf("answered %d %v, want %d", st, body, c.scimStatus)
			}
			rep := e.report("?outcome=error")
			if len(rep.Audit.Events) != 1 || rep.Audit.Events[0].Failure == nil {
				t.Fatalf("want the one refusal: %+v", rep.Audit.Events)
			}
			ev := rep.Audit.Events[0]
			f := ev.Failure
			if f.Kind != c.kind || f.Status != 0 || f.Call != "" {
				t.Errorf("failure %+v, want kind %s and no Freshservice call or status", f, c.kind)
			}
			for _, r := range c.reason {
				if !strings.Contains(f.Reason, r) {
					t.Errorf("reason %q lacks %q", f.Reason, r)
				}
			}
			if ev.Operation != c.op || ev.Subject != "root@example.com" {
				t.Errorf("operation %q subject %q, want %s", ev.Operation, ev.Subject, c.op)
			}
		})
	}
}

func TestStatusEscapesHostileValues(t *testing.T) {
	e := newStatusEnv(t, nil)
	e.createUser(`<script>alert("pwned")</script>`, "mallory@example.com")
	st, _ := e.scim(http.MethodPost, "/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": `<img src=x onerror=alert(1)>`,
	})
	if st != http.StatusCreated {
		t.Fatalf("group create: %d", st)
	}
	_, err := e.srv.Store.AppendAudit(context.Background(), store.AuditEvent{
		Operation: `user.update"><svg onload=alert(2)>`, Client: `</td><script>alert(3)</script>`, Outcome: "error",
		Detail: `PUT /api/v2/requesters/1 failed: Freshservice answered 400 Bad Request; field <b>x</b>: invalid_value`,
		Call:   `PUT /api/v2/requesters/1<i>`, Kind: "invalid", Status: 400, Field: "<b>x</b>", Code: `<u>c</u>`,
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, page := e.get("/status", bearer(stStatusToken))
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	for _, bad := range []string{"<script", "<img", "<svg onload", "<b>x</b>", `"><svg`, "<i>", "<u>c</u>"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page carries %q unescaped", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "&lt;/td&gt;&lt;script&gt;alert(3)&lt;/script&gt;",
		"field <code>&lt;b&gt;x&lt;/b&gt;</code>", "code <code>&lt;u&gt;c&lt;/u&gt;</code>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not show %q escaped", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	// The JSON carries the values as data.
	rep := e.report("")
	found := false
	for _, ev := range rep.Audit.Events {
		if ev.Subject == `<script>alert("pwned")</script>` {
			found = true
		}
	}
	if !found {
		t.Error("the JSON does not name the hostile user")
	}
}

func TestStatusPageRenders(t *testing.T) {
	e := newStatusEnv(t, func(c *config.Config, _ *simulator.Options) { c.Rules.MaxAgents = 5 })
	e.createUser("ada@example.com", "ada@example.com")
	resp, page := e.get("/status", bearer(stSCIMToken))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	noSecrets(t, "/status", page)
	if n := strings.Count(page, `<svg class="gauge"`); n != 3 {
		t.Errorf("%d gauges, want one per bucket", n)
	}
	for _, want := range []string{
		`<svg class="chart"`, `<g class="bar"><title>`, `class="c-writes"`, `class="c-walks"`, // the chart, with this minute's write and walk
		`data-bucket="overall"`, `class="g-fill ok"`, // the overall gauge, partly filled
		"ada@example.com", "<code>user.create</code>", `<span class="badge ok">ok</span>`, // the audit event
		"of <b>5</b> full-time seats used", "full-time agents", "requesters", "deactivated", "role groups", "plans waiting to re-run", "drifted",
		"429s from Freshservice", "429s returned to IdPs",
		`<a href="/status.json">JSON</a>`,
		// The Account card: the facts fsbridge check prints.
		`<section id="account">`, "500 calls per minute, list agents 140, list requesters 140, measured from Freshservice",
		"owned by owner@example.com (Account Owner); may manage agents", "Ready: the key may do everything the bridge needs.",
		"1 full-time, 0 occasional; at most 5 full-time (rules.max_agents)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// No script, no external asset: it must work offline with JavaScript off.
	for _, bad := range []string{"<script", "src=\"http", "href=\"http", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("the page carries %q", bad)
		}
	}
}

func TestStatusGaugeAndChartGeometry(t *testing.T) {
	g := buildGauge(bucketReport{Bucket: "list_agents", Limit: 100, Used: 0})
	if g.Fill != "" || g.Label != "list agents" || g.Level != "ok" {
		t.Errorf("empty gauge %+v", g)
	}
	if g := buildGauge(bucketReport{Limit: 100, Used: 95}); g.Fill == "" || g.Level != "fail" {
		t.Errorf("full gauge %+v", g)
	}
	if g := buildGauge(bucketReport{Limit: 100, Used: 150}); g.Fill != "M 14.0 70.0 A 56 56 0 0 1 126.00 70.00" {
		t.Errorf("over-full gauge is not capped at the whole arc: %q", g.Fill)
	}
	ms := make([]minuteReport, statusMinutes)
	ms[10].callCounts = callCounts{Writes: 3, Lookups: 4, Walks: 5, Retries: 1, Failures: 1, Calls: 14, RateLimitedSeen: 1}
	ms[59].callCounts = callCounts{Walks: 2, Calls: 2, RateLimitedReturned: 2}
	c := buildChart(ms)
	if c.Max != 20 || c.Empty || len(c.Bars) != 60 || len(c.SeenMarks) != 1 || len(c.RetMarks) != 1 {
		t.Fatalf("chart max %d empty %v bars %d marks %d/%d", c.Max, c.Empty, len(c.Bars), len(c.SeenMarks), len(c.RetMarks))
	}
	b := c.Bars[10]
	if len(b.Segs) != 5 || b.Segs[0].Class != "c-writes" || b.Segs[4].Class != "c-failures" {
		t.Errorf("bar segments %+v", b.Segs)
	}
	var h float64
	for _, s := range b.Segs {
		h += s.H
	}
	if want := c.PlotH * 14 / 20; h < want-0.01 || h > want+0.01 {
		t.Errorf("the stack is %.2f high, want %.2f", h, want)
	}
	if !strings.Contains(b.Title, "14 Freshservice calls (3 writes, 4 lookups, 5 walks, 1 retries, 1 failures); 429s: 1 seen, 0 returned") {
		t.Errorf("tooltip %q", b.Title)
	}
	if c.Labels[len(c.Labels)-1].Label != "now" {
		t.Errorf("labels %+v", c.Labels)
	}
	if c := buildChart(make([]minuteReport, statusMinutes)); !c.Empty || c.Max != 4 {
		t.Errorf("empty chart %+v", c)
	}
	for v, want := range map[int64]int64{0: 4, 3: 4, 5: 5, 6: 10, 11: 20, 21: 50, 101: 200, 499: 500} {
		if got := niceMax(v); got != want {
			t.Errorf("niceMax(%d) = %d, want %d", v, got, want)
		}
	}
}

// TestStatusListsCreatesNotFinished: creates whose answer was lost show
// on the page and in the JSON, the given-up ones with what to do, and a
// create whose user the bridge now manages does not show at all.
func TestStatusListsCreatesNotFinished(t *testing.T) {
	e := newStatusEnv(t, nil)
	e.createUser("grace@example.com", "grace@example.com")
	ctx := t.Context()
	now := time.Now()
	for _, in := range []store.Intent{
		{Key: "grace@example.com", Doc: json.RawMessage(`{"userName":"grace@example.com"}`), Created: now}, // settled
		{Key: "ann@example.com", Doc: json.RawMessage(`{"userName":"ann"}`), Created: now.Add(-time.Hour), Attempts: 3,
			NextAttempt: now.Add(10 * time.Minute), LastError: "POST /api/v2/requesters failed: Freshservice answered 502 Bad Gateway"},
		{Key: "bob@example.com", Doc: json.RawMessage(`{"userName":"bob"}`), Created: now.Add(-2 * time.Hour), Attempts: 10,
			LastError: `the email bob@example.com belongs to user 7, which is already provisioned`, Failed: now.Add(-time.Minute)},
	} {
		if err := e.srv.Store.PutIntent(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	rep := e.report("")
	c := rep.Creates
	if c.Retrying != 1 || c.Failed != 1 || len(c.Items) != 2 || c.MaxAttempts != 10 || c.CallsPerWindow < 1 {
		t.Fatalf("creates = %+v; want bob failed and ann retrying, grace settled and not listed", c)
	}
	bob, ann := c.Items[0], c.Items[1]
	if bob.Email != "bob@example.com" || bob.UserName != "bob" || bob.State != "failed" || bob.FailedAt == nil ||
		!strings.Contains(bob.LastError, "already provisioned") || !strings.Contains(bob.WhatToDo, "send the user again from the IdP") {
		t.Errorf("the given-up create: %+v", bob)
	}
	if ann.Email != "ann@example.com" || ann.State != "retrying" || ann.NextAttempt == nil || ann.Attempts != 3 ||
		!strings.Contains(ann.WhatToDo, "tries again by itself (in 10m") {
		t.Errorf("the create being retried: %+v", ann)
	}
	var check health.Check
	for _, h := range rep.Health.Checks {
		if h.Name == "creates" {
			check = h
		}
	}
	if check.State != "warn" || !strings.Contains(check.Detail, "gave up on 1 create") || rep.Health.State == "ok" {
		t.Errorf("health: %+v (overall %s); want a warning naming the create given up on", check, rep.Health.State)
	}
	resp, page := e.get("/status", bearer(stStatusToken))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/status: %d", resp.StatusCode)
	}
	for _, want := range []string{`id="creates"`, "1 given up, 1 retrying", "bob@example.com", "ann@example.com", "Provision on demand"} {
		if !strings.Contains(page, want) {
			t.Errorf("/status lacks %q", want)
		}
	}
	if strings.Contains(page[strings.Index(page, `id="creates"`):strings.Index(page, `id="audit"`)], "grace@example.com") {
		t.Error("/status lists a create that has settled")
	}
}

// A key whose owner lacks Manage Agents: the Account card and the health
// say so, name the permission and the fix; workspaces are listed.
func TestStatusAccountCardNamesAMissingPermission(t *testing.T) {
	e := newStatusEnv(t, func(_ *config.Config, o *simulator.Options) {
		o.Switches.KeyRole = "no_manage_agents"
		o.Switches.Workspaces = true
	})
	_, page := e.get("/status", bearer(stSCIMToken))
	for _, want := range []string{
		`<section id="account">`,
		"owned by owner@example.com (Account Owner); may NOT manage agents (requesters only)",
		"IT (2, primary), HR (3), Facilities (4)",
		"Not ready: 1 problem.",
		"the API key&#39;s owner owner@example.com lacks the Manage Agents permission (GET /api/v2/agents answered 403)",
		"Fix: give owner@example.com a role with the Manage Agents permission",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	_, body := e.get("/status.json", bearer(stSCIMToken))
	var rep struct {
		Health  healthReport  `json:"health"`
		Account AccountReport `json:"account"`
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Account.Ready || rep.Account.ManageAgents || len(rep.Account.Problems) != 1 || len(rep.Account.Workspaces) != 3 {
		t.Errorf("account %+v", rep.Account)
	}
	if rep.Health.State != "fail" {
		t.Errorf("health %+v", rep.Health)
	}
	found := false
	for _, c := range rep.Health.Checks {
		if c.Name == "permissions" && c.State == "fail" && strings.Contains(c.Detail, "lacks the Manage Agents permission") {
			found = true
		}
	}
	if !found {
		t.Errorf("no failed permissions check: %+v", rep.Health.Checks)
	}
}
