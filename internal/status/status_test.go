package status

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/bridge"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/health"
	"github.com/fsbridge/fsbridge/internal/reqctx"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/internal/store/sqlite"
	"github.com/fsbridge/fsbridge/mapping"
	"github.com/fsbridge/fsbridge/scim"
)

const (
	stSCIMToken   = "status-test-scim-token-0123456789"
	stStatusToken = "status-test-read-only-token-0123"
	stAPIKey      = "status-test-api-key-0123456789"
	stBasicPass   = "status-test-basic-password-0123"
)

var stSecrets = []string{stSCIMToken, stStatusToken, stAPIKey, stBasicPass}

// fakeSource is a bridge as the page sees it: a healthy enterprise account
// whose API key's owner may do everything, a walked mirror, and a store of
// its own (groups and the audit trail). Tests change what they need.
type fakeSource struct {
	st store.Store

	mu         sync.Mutex
	pingErr    error
	credsOK    bool
	credsWhy   string
	accessOK   bool
	accessWhy  string
	mirror     health.Mirror
	last       health.Calls
	account    AccountReport
	facts      Facts
	creates    []bridge.PendingCreate
	createsErr error
	// users are the mirror's user names by id.
	users map[int64]string
}

func newFakeSource(t *testing.T) *fakeSource {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "status.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Now()
	return &fakeSource{
		st: st, credsOK: true, credsWhy: "ok", accessOK: true, accessWhy: "ok",
		mirror: health.Mirror{Loaded: true, Users: 2, WalkedAt: now.Add(-time.Minute), RefreshEvery: 15 * time.Minute},
		last:   health.Calls{AnsweredAt: now.Add(-time.Second)},
		account: AccountReport{
			URL: "https://acme.freshservice.com", Plan: "enterprise", Limit: 500, Per: "minute", ListAgents: 140, ListRequesters: 140, Measured: true,
			KeyOwner: "owner@example.com", KeyOwnerName: "Account Owner", ManageAgents: true, SeeAgentsAsRequesters: true, AllWorkspaces: true,
			FullTimeAgents: 1, Problems: []AccountProblem{}, Ready: true,
		},
		facts: Facts{
			Budget: Budget{Window: time.Minute, Buckets: []freshservice.BucketStats{
				{Bucket: freshservice.BucketOverall, Limit: 400, Total: 500, Remaining: 398, Started: 2},
				{Bucket: freshservice.BucketListAgents, Limit: 112, Total: 140, Remaining: 112},
				{Bucket: freshservice.BucketListRequesters, Limit: 112, Total: 140, Remaining: 111, Started: 1},
			}},
			Users:       directory.Counts{Users: 2, Active: 2, Requesters: 1, Agents: 1, FullTimeAgents: 1, Managed: 1},
			KeyOwner:    &bridge.KeyOwner{ID: 1, Email: "owner@example.com", Name: "Account Owner"},
			CreateRetry: CreateRetry{Policy: bridge.CreateRetry{MaxAttempts: 10, MaxAge: 24 * time.Hour}, Allowance: 7},
		},
		users: map[int64]string{1: "owner@example.com"},
	}
}

func (f *fakeSource) PingStore(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pingErr
}

func (f *fakeSource) Credentials(context.Context) (bool, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.credsOK, f.credsWhy
}

func (f *fakeSource) KeyAccess(context.Context) (bool, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.accessOK, f.accessWhy
}

func (f *fakeSource) Mirror() health.Mirror {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mirror
}

func (f *fakeSource) LastCalls() health.Calls {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func (f *fakeSource) Account() AccountReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.account
}

func (f *fakeSource) Facts() Facts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.facts
}

func (f *fakeSource) PendingCreates(context.Context) ([]bridge.PendingCreate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.creates, f.createsErr
}

func (f *fakeSource) ForEachGroup(ctx context.Context, fn func(store.Group) error) error {
	return f.st.ForEachGroup(ctx, fn)
}

func (f *fakeSource) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	return f.st.ListAudit(ctx, q)
}

func (f *fakeSource) UserName(id int64) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.users[id]
}

// pageEnv is the page behind a real HTTP server, reading a fakeSource,
// open to a SCIM token (okta), a SCIM Basic credential (idp) and a status
// token, as the server mounts it.
type pageEnv struct {
	t    *testing.T
	page *Page
	url  string
}

func newPageEnv(t *testing.T, src Source) *pageEnv {
	t.Helper()
	p := New(src, zerolog.Nop())
	r := chi.NewRouter()
	p.Mount(r, scim.NewVerifier([]scim.Credential{
		{Name: "okta", Hash: config.HashToken(stSCIMToken)},
		{Name: "status", Hash: config.HashToken(stStatusToken)},
	}, &scim.BasicCredential{Name: "idp", Username: "idp", Password: stBasicPass}))
	hs := httptest.NewServer(r)
	t.Cleanup(hs.Close)
	return &pageEnv{t: t, page: p, url: hs.URL}
}

// get fetches path with the given request headers, not following
// redirects.
func (e *pageEnv) get(path string, hdr map[string]string) (*http.Response, string) {
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

func (e *pageEnv) report(query string) Report {
	e.t.Helper()
	resp, body := e.get("/status.json"+query, bearer(stStatusToken))
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("/status.json%s: %d %s", query, resp.StatusCode, body)
	}
	var rep Report
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
	e := newPageEnv(t, newFakeSource(t))
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
	p := New(nil, zerolog.Nop())
	clk := &fakeClock{t: time.Date(2026, 11, 27, 10, 0, 30, 0, time.UTC)}
	p.now = clk.now
	bg := context.Background()
	req := reqctx.With(bg, &reqctx.Info{RequestID: "r1", Client: "okta"})
	ok := func(m string, attempt int) freshservice.Call {
		return freshservice.Call{Method: m, Route: "/api/v2/requesters", Status: 200, Attempt: attempt}
	}
	p.ObserveCall(req, ok(http.MethodPost, 1)) // write for a SCIM request
	p.ObserveCall(bg, ok(http.MethodPut, 1))   // write of the reconcile pass
	p.ObserveCall(req, ok(http.MethodGet, 1))  // lookup
	p.ObserveCall(bg, ok(http.MethodGet, 1))   // walk
	p.ObserveCall(bg, ok(http.MethodGet, 1))   // walk
	// The background pass counts its calls under an Info without a
	// request id: a background read, not a SCIM lookup.
	p.ObserveCall(reqctx.With(bg, &reqctx.Info{}), ok(http.MethodGet, 1))
	p.ObserveCall(req, ok(http.MethodGet, 2))    // a retry that worked
	p.ObserveCall(req, ok(http.MethodDelete, 3)) // another retry
	p.ObserveCall(bg, freshservice.Call{Method: http.MethodPut, Status: 503, Reason: freshservice.ReasonServer, Attempt: 1})
	p.ObserveCall(req, freshservice.Call{Method: http.MethodPost, Status: 429, Reason: freshservice.ReasonRateLimited, Attempt: 1})
	p.ObserveRequest(scim.RequestRecord{Method: http.MethodPost, Status: http.StatusTooManyRequests})
	p.ObserveRequest(scim.RequestRecord{Method: http.MethodPost, Status: http.StatusCreated})
	p.ObserveRequest(scim.RequestRecord{Method: http.MethodGet, Status: http.StatusServiceUnavailable})

	want := CallCounts{Writes: 2, Lookups: 1, Walks: 3, Retries: 2, Failures: 2, Calls: 10, RateLimitedSeen: 1, RateLimitedReturned: 1, SCIMRequests: 3, SCIMErrors: 1}
	ms, hour, total := p.series(clk.now())
	if len(ms) != statusMinutes {
		t.Fatalf("%d minutes", len(ms))
	}
	if got := ms[59].CallCounts; got != want {
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
	p.ObserveCall(bg, ok(http.MethodGet, 1))
	ms, hour, _ = p.series(clk.now())
	if ms[58].CallCounts != want || ms[59].Calls != 1 || ms[59].Walks != 1 {
		t.Errorf("after a minute: [58] %+v [59] %+v", ms[58].CallCounts, ms[59].CallCounts)
	}
	if hour.Calls != 11 {
		t.Errorf("hour has %d calls, want 11", hour.Calls)
	}

	// Quiet minutes read as zero, and an hour later the first minute is
	// gone from the chart (its slot reused) but not from the totals.
	clk.add(59 * time.Minute)
	p.ObserveCall(req, ok(http.MethodGet, 1))
	ms, hour, total = p.series(clk.now())
	if hour.Calls != 2 || hour.Lookups != 1 || hour.Walks != 1 {
		t.Errorf("an hour later, the last hour %+v: want only the walk and the lookup", hour)
	}
	if ms[0].Calls != 1 || ms[59].Calls != 1 || ms[30].Calls != 0 {
		t.Errorf("an hour later: [0] %+v [30] %+v [59] %+v", ms[0].CallCounts, ms[30].CallCounts, ms[59].CallCounts)
	}
	if total.Calls != 12 || total.RateLimitedSeen != 1 || total.RateLimitedReturned != 1 {
		t.Errorf("since start %+v", total)
	}
	clk.add(3 * time.Hour)
	if _, hour, _ := p.series(clk.now()); hour != (CallCounts{}) {
		t.Errorf("after three quiet hours the last hour reads %+v", hour)
	}
}

func TestStatusSeriesConcurrent(t *testing.T) {
	p := New(nil, zerolog.Nop())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				p.ObserveCall(context.Background(), freshservice.Call{Method: http.MethodGet, Status: 200, Attempt: 1 + i%2})
				p.ObserveRequest(scim.RequestRecord{Status: 200})
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
	src := newFakeSource(t)
	e := newPageEnv(t, src)
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
		if _, err := src.st.AppendAudit(ctx, ev); err != nil {
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
		if ev.FSID == 4 && (ev.Failure == nil || *ev.Failure != FailureReport{Reason: ev.Detail + "."}) {
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
			want := FailureReport{Reason: f.Reason, Kind: c.ev.Kind, Call: c.ev.Call, Status: c.ev.Status, Field: c.ev.Field, Code: c.ev.Code}
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

// TestStatusEscapesHostileValues: what an IdP or Freshservice sent (a
// userName, a group's displayName, the words of a failure) is shown as
// text, never as markup.
func TestStatusEscapesHostileValues(t *testing.T) {
	src := newFakeSource(t)
	e := newPageEnv(t, src)
	ctx := context.Background()
	// A user and a group the IdP named with markup, as the bridge records
	// their creation.
	src.users[7] = `<script>alert("pwned")</script>`
	g, err := src.st.CreateGroup(ctx, store.Group{ID: "g1", DisplayName: `<img src=x onerror=alert(1)>`})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []store.AuditEvent{
		{Operation: "user.create", Client: "okta", FSID: 7, SCIMID: "7", Outcome: "ok", Detail: "POST /api/v2/requesters", Call: "POST /api/v2/requesters"},
		{Operation: "group.create", Client: "okta", SCIMID: g.ID, Outcome: "ok", Detail: "stored"},
	} {
		if _, err := src.st.AppendAudit(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	_, err = src.st.AppendAudit(ctx, store.AuditEvent{
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
	src := newFakeSource(t)
	src.facts.MaxAgents, src.account.MaxAgents = 5, 5
	e := newPageEnv(t, src)
	// ada was just created: a write and a walk this minute, and its event.
	e.page.ObserveCall(reqctx.With(context.Background(), &reqctx.Info{RequestID: "r1", Client: "okta"}),
		freshservice.Call{Method: http.MethodPost, Route: "/api/v2/requesters", Status: 201, Attempt: 1})
	e.page.ObserveCall(context.Background(), freshservice.Call{Method: http.MethodGet, Route: "/api/v2/requesters", Status: 200, Attempt: 1})
	src.users[9] = "ada@example.com"
	if _, err := src.st.AppendAudit(context.Background(), store.AuditEvent{
		Operation: "user.create", Client: "okta", FSID: 9, SCIMID: "9", Outcome: "ok", Detail: "POST /api/v2/requesters", Call: "POST /api/v2/requesters",
	}); err != nil {
		t.Fatal(err)
	}
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
	g := buildGauge(BucketReport{Bucket: "list_agents", Limit: 100, Used: 0})
	if g.Fill != "" || g.Label != "list agents" || g.Level != "ok" {
		t.Errorf("empty gauge %+v", g)
	}
	if g := buildGauge(BucketReport{Limit: 100, Used: 95}); g.Fill == "" || g.Level != "fail" {
		t.Errorf("full gauge %+v", g)
	}
	if g := buildGauge(BucketReport{Limit: 100, Used: 150}); g.Fill != "M 14.0 70.0 A 56 56 0 0 1 126.00 70.00" {
		t.Errorf("over-full gauge is not capped at the whole arc: %q", g.Fill)
	}
	ms := make([]MinuteReport, statusMinutes)
	ms[10].CallCounts = CallCounts{Writes: 3, Lookups: 4, Walks: 5, Retries: 1, Failures: 1, Calls: 14, RateLimitedSeen: 1}
	ms[59].CallCounts = CallCounts{Walks: 2, Calls: 2, RateLimitedReturned: 2}
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
	if c := buildChart(make([]MinuteReport, statusMinutes)); !c.Empty || c.Max != 4 {
		t.Errorf("empty chart %+v", c)
	}
	for v, want := range map[int64]int64{0: 4, 3: 4, 5: 5, 6: 10, 11: 20, 21: 50, 101: 200, 499: 500} {
		if got := niceMax(v); got != want {
			t.Errorf("niceMax(%d) = %d, want %d", v, got, want)
		}
	}
}

// TestStatusHealthChecks: the page reports the health model's checks
// (the ones /readyz serves) first, then its own, which need only a look at
// what the bridge keeps; the overall state is the worst of them.
func TestStatusHealthChecks(t *testing.T) {
	now := time.Now()
	failed := bridge.PendingCreate{Email: "bob@example.com", Since: now.Add(-time.Hour), Attempts: 10, Failed: now.Add(-time.Minute)}
	retrying := bridge.PendingCreate{Email: "ann@example.com", Since: now.Add(-time.Hour), Attempts: 2, NextAttempt: now.Add(time.Minute)}
	type check struct{ name, state, detail string }
	ready := []check{{"store", "ok", ""}, {"freshservice", "ok", ""}, {"permissions", "ok", ""}, {"mirror", "ok", ""}}
	with := func(extra ...check) []check { return append(append([]check{}, ready...), extra...) }
	backlogOK := check{"backlog", "ok", "no plan waiting to re-run"}
	for _, c := range []struct {
		name  string
		edit  func(*fakeSource)
		want  []check
		state string
	}{
		{"healthy", nil, with(backlogOK), "ok"},
		{"users with gaps", func(f *fakeSource) {
			f.facts.Gaps = []bridge.UserGaps{{ID: 2, UserName: "a"}, {ID: 3, UserName: "b"}}
		}, with(check{"attributes", "warn", "2 users provisioned without a value Freshservice cannot hold yet (see Needs attention)"}, backlogOK), "warn"},
		{"agents downgraded", func(f *fakeSource) {
			f.facts.Downgraded = []bridge.UserDowngrade{{ID: 2, UserName: "a"}}
		}, with(check{"seats", "warn", "1 agent occasional instead of full-time: Freshservice had no full-time seat free (see Needs attention)"}, backlogOK), "warn"},
		{"a create given up", func(f *fakeSource) { f.creates = []bridge.PendingCreate{failed, retrying, retrying} },
			with(check{"creates", "warn", "the bridge gave up on 1 create (see Creates not finished); 2 more retrying"}, backlogOK), "warn"},
		{"a create retrying", func(f *fakeSource) { f.creates = []bridge.PendingCreate{retrying} },
			with(check{"creates", "ok", "1 create whose answer was lost, retrying in the background"}, backlogOK), "ok"},
		{"plans waiting", func(f *fakeSource) { f.facts.PlansPending = 3 },
			with(check{"backlog", "warn", "3 plans waiting to re-run (the background pass retries them)"}), "warn"},
		{"the store fails beside a warning", func(f *fakeSource) { f.pingErr = errors.New("closed"); f.facts.PlansPending = 1 },
			[]check{{"store", "fail", "unreachable: the bridge cannot save or read state"}, {"freshservice", "ok", ""}, {"permissions", "ok", ""}, {"mirror", "ok", ""},
				{"backlog", "warn", "1 plan waiting to re-run (the background pass retries them)"}}, "fail"},
		{"the key refused", func(f *fakeSource) { f.credsOK, f.credsWhy = false, "the API key is refused (401)" },
			[]check{{"store", "ok", ""}, {"freshservice", "fail", "the API key is refused (401)"}, {"mirror", "ok", ""}, backlogOK}, "fail"},
		{"a permission missing", func(f *fakeSource) { f.accessOK, f.accessWhy = false, "lacks Manage Agents. Fix: give it" },
			[]check{{"store", "ok", ""}, {"freshservice", "ok", ""}, {"permissions", "fail", "lacks Manage Agents. Fix: give it"}, {"mirror", "ok", ""}, backlogOK}, "fail"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := newFakeSource(t)
			if c.edit != nil {
				c.edit(src)
			}
			rep := newPageEnv(t, src).report("")
			var got []check
			for _, h := range rep.Health.Checks {
				got = append(got, check{h.Name, h.State, h.Detail})
			}
			if len(got) != len(c.want) {
				t.Fatalf("checks %+v\nwant %+v", got, c.want)
			}
			for i, w := range c.want {
				g := got[i]
				if g.name != w.name || g.state != w.state || (w.detail != "" && g.detail != w.detail) {
					t.Errorf("check %d: %+v, want %+v", i, g, w)
				}
			}
			if rep.Health.State != c.state {
				t.Errorf("overall %s, want %s", rep.Health.State, c.state)
			}
		})
	}
}

// TestStatusReportsWhatTheBridgeKeeps: each section of /status.json is
// built from the source's facts as they are.
func TestStatusReportsWhatTheBridgeKeeps(t *testing.T) {
	src := newFakeSource(t)
	ctx := context.Background()
	now := time.Now()
	for i, kind := range []string{"role_group", "role_group", "agent_group", "requester_group", ""} {
		g := store.Group{ID: "g" + string(rune('a'+i)), DisplayName: "group " + string(rune('a'+i))}
		if kind != "" {
			g.Applied = json.RawMessage(`{"kind":"` + kind + `"}`)
		}
		if _, err := src.st.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	src.facts.DryRun = true
	src.facts.Users = directory.Counts{Users: 10, Active: 7, Requesters: 4, Agents: 3, FullTimeAgents: 2, OccasionalAgents: 1, Managed: 6}
	src.facts.MaxAgents = 3
	src.facts.DriftUsers = 2
	src.facts.ProtectedUsers = []string{"root@example.com"}
	src.facts.Budget = Budget{Window: time.Minute, Waited: 1500 * time.Millisecond, Buckets: []freshservice.BucketStats{
		{Bucket: freshservice.BucketOverall, Limit: 400, Total: 500, Remaining: 100, Started: 300, OthersSpent: 12, PausedFor: 1200 * time.Millisecond},
	}}
	src.facts.Connections = &Connections{Open: 3, Max: 8, PerClient: 4, Idle: 90 * time.Second, ClosedForRoom: 2, Refused: 1}
	src.last = health.Calls{AnsweredAt: now.Add(-time.Minute), FailedAt: now.Add(-10 * time.Minute), Failure: "PUT /api/v2/requesters/{id}: 400 client"}
	src.facts.Gaps = []bridge.UserGaps{{ID: 5, UserName: "tz@example.com", Gaps: []mapping.Gap{{Attr: "timezone", Value: "Mars/Base", Reason: "no Freshservice time zone"}}}}
	src.facts.Downgraded = []bridge.UserDowngrade{{ID: 6, UserName: "seat@example.com",
		Downgrade: mapping.Downgrade{Rules: []string{"IT"}, FullTime: 2, At: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}}}

	rep := newPageEnv(t, src).report("")
	if !rep.DryRun {
		t.Error("dry run not reported")
	}
	if got, want := rep.Counts.Users, (UserCounts{InMirror: 10, Managed: 6, FullTimeAgents: 2, OccasionalAgents: 1, Requesters: 4, Deactivated: 3}); got != want {
		t.Errorf("users %+v, want %+v", got, want)
	}
	if got, want := rep.Counts.Seats, (SeatCounts{Used: 2, Max: 3, UsedPercent: 66.7}); got != want {
		t.Errorf("seats %+v, want %+v", got, want)
	}
	if got, want := rep.Counts.Groups, (GroupCounts{Total: 5, RoleGroups: 2, AgentGroups: 1, RequesterGroup: 1, NotApplied: 1}); got != want {
		t.Errorf("groups %+v, want %+v", got, want)
	}
	if rep.Counts.DriftUsers != 2 || rep.Counts.PlansPending != 0 {
		t.Errorf("counts %+v", rep.Counts)
	}
	if rep.Budget.WindowSeconds != 60 || rep.Budget.WaitSecondsTotal != 1.5 || len(rep.Budget.Buckets) != 1 {
		t.Fatalf("budget %+v", rep.Budget)
	}
	if got, want := rep.Budget.Buckets[0], (BucketReport{Bucket: "overall", Limit: 400, AccountLimit: 500, Used: 300, Remaining: 100, UsedPercent: 75,
		StartedTotal: 300, OthersSpent: 12, HeldSeconds: 2}); got != want {
		t.Errorf("bucket %+v, want %+v", got, want)
	}
	if c := rep.Connections; c == nil || *c != (ConnectionsReport{Open: 3, Max: 8, PerClient: 4, IdleTimeoutSeconds: 90, ClosedForRoomTotal: 2, RefusedTotal: 1}) {
		t.Errorf("connections %+v", c)
	}
	if rep.Calls.LastFailure != "PUT /api/v2/requesters/{id}: 400 client" || rep.Calls.LastFailureAt == nil || !rep.Calls.LastFailureAt.Equal(src.last.FailedAt) {
		t.Errorf("last failure %q at %v", rep.Calls.LastFailure, rep.Calls.LastFailureAt)
	}
	if p := rep.Protection; p.KeyOwner != "owner@example.com" || p.KeyOwnerID != 1 || len(p.ProtectedUsers) != 1 || p.ProtectedUsers[0] != "root@example.com" {
		t.Errorf("protection %+v", p)
	}
	// Agents short of a seat come first: a seat is money.
	a := rep.Attention
	if a.Users != 2 || len(a.Items) != 2 || a.Items[0].UserName != "seat@example.com" || a.Items[0].Attr != "occasional" ||
		!strings.Contains(a.Items[0].Reason, "(2 full-time agents): Freshservice made the agent occasional on 2026-11-27 10:00 UTC") ||
		a.Items[0].Value != "false (full-time, rules IT)" || a.Items[1] != (AttentionEntry{ID: 5, UserName: "tz@example.com", Attr: "timezone", Value: "Mars/Base", Reason: "no Freshservice time zone"}) {
		t.Errorf("attention %+v", a)
	}

	// Before a listener, no connections; a store that cannot list the
	// creates says so and lists none.
	src.facts.Connections = nil
	src.createsErr = errors.New("closed")
	rep = newPageEnv(t, src).report("")
	if rep.Connections != nil {
		t.Errorf("connections %+v before a listener", rep.Connections)
	}
	if c := rep.Creates; c.Error != "the creates in flight could not be read" || len(c.Items) != 0 || c.MaxAttempts != 10 || c.CallsPerWindow != 7 {
		t.Errorf("creates %+v", c)
	}
}

// TestStatusCreatesSayWhatToDo: a create being retried says when the next
// try is and when the bridge gives up; one given up says how to start
// afresh. The list is capped, the counts are not.
func TestStatusCreatesSayWhatToDo(t *testing.T) {
	src := newFakeSource(t)
	e := newPageEnv(t, src)
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	e.page.now = func() time.Time { return now }
	src.facts.CreateRetry = CreateRetry{Policy: bridge.CreateRetry{MaxAttempts: 10, MaxAge: 24 * time.Hour}, Allowance: 7, Spent: 3}
	src.creates = []bridge.PendingCreate{
		{Email: "bob@example.com", UserName: "bob", Since: now.Add(-2 * time.Hour), Attempts: 10, LastError: "already provisioned", Failed: now.Add(-time.Minute)},
		{Email: "ann@example.com", Since: now.Add(-time.Hour), Attempts: 3, NextAttempt: now.Add(10 * time.Minute)},
		{Email: "cy@example.com", Since: now.Add(-time.Hour), Attempts: 1, NextAttempt: now.Add(-time.Second)},
	}
	for range statusMaxCreates {
		src.creates = append(src.creates, bridge.PendingCreate{Email: "more@example.com", Since: now})
	}
	c := e.report("").Creates
	if c.Failed != 1 || c.Retrying != 2+statusMaxCreates || len(c.Items) != statusMaxCreates || c.SpentLastWindow != 3 || c.CallsPerWindow != 7 || c.MaxAgeSeconds != 86400 {
		t.Fatalf("creates: %d failed, %d retrying, %d listed, %+v", c.Failed, c.Retrying, len(c.Items), c)
	}
	bob, ann, cy := c.Items[0], c.Items[1], c.Items[2]
	if bob.State != "failed" || bob.FailedAt == nil || !bob.FailedAt.Equal(now.Add(-time.Minute)) || bob.NextAttempt != nil ||
		!strings.HasPrefix(bob.WhatToDo, "The bridge stopped trying.") || !strings.Contains(bob.WhatToDo, "Entra ID: Provision on demand") {
		t.Errorf("given up: %+v", bob)
	}
	if ann.State != "retrying" || ann.NextAttempt == nil || ann.FailedAt != nil ||
		ann.WhatToDo != "Nothing yet: the bridge tries again by itself (in 10m), and gives up after 10 tries or 24h after the IdP sent it." {
		t.Errorf("retrying: %+v", ann)
	}
	if cy.NextAttempt != nil || !strings.Contains(cy.WhatToDo, "(at the next background pass)") {
		t.Errorf("retrying, its time passed: %+v", cy)
	}
}
