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
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/health"
	"github.com/fsbridge/fsbridge/internal/status"
	"github.com/fsbridge/fsbridge/internal/store"
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

func (e *statusEnv) report(query string) status.Report {
	e.t.Helper()
	resp, body := e.get("/status.json"+query, bearer(stStatusToken))
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("/status.json%s: %d %s", query, resp.StatusCode, body)
	}
	var rep status.Report
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

// TestStatusAcceptsTheConfiguredCredentials: the status page opens to
// the configured SCIM tokens, the SCIM Basic credential and the status
// token, and the status token opens nothing else. How the page reads
// credentials (headers, cookie, query) is tested in internal/status.
func TestStatusAcceptsTheConfiguredCredentials(t *testing.T) {
	e := newStatusEnv(t, nil)
	basic := func(u, p string) map[string]string {
		req, _ := http.NewRequest(http.MethodGet, "/", nil)
		req.SetBasicAuth(u, p)
		return map[string]string{"Authorization": req.Header.Get("Authorization")}
	}
	for _, c := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"SCIM bearer token", bearer(stSCIMToken), 200},
		{"status bearer token", bearer(stStatusToken), 200},
		{"SCIM token as Basic password", basic("x", stSCIMToken), 200},
		{"status token as Basic password", basic("admin", stStatusToken), 200},
		{"SCIM Basic credential", basic("idp", stBasicPass), 200},
		{"SCIM Basic password with another user", basic("someone", stBasicPass), 401},
		{"the API key", bearer(stAPIKey), 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/status", "/status.json"} {
				resp, body := e.get(path, c.hdr)
				if resp.StatusCode != c.want {
					t.Errorf("%s: status %d, want %d: %s", path, resp.StatusCode, c.want, body)
				}
				noSecrets(t, path, body)
			}
		})
	}

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
		want       status.FailureReport // Call is filled in with the user's id
		reason     []string
	}{
		{"EveryFieldNamed", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"description":"Validation failed","errors":[`+
				`{"field":"time_zone","message":"Mars","code":"invalid_value"},{"field":"language","message":"Klingon","code":"invalid_value"}]}`)
		}, http.StatusBadRequest,
			status.FailureReport{Kind: "invalid", Status: 400, Field: "time_zone", Code: "invalid_value"},
			[]string{"the value of time_zone", "the value of language"}},
		{"ServerFailed", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusBadGateway)
		}, http.StatusServiceUnavailable,
			status.FailureReport{Kind: "transient", Status: 502},
			[]string{"failed on its side (502)", "retried"}},
		{"NoAnswer", func(w http.ResponseWriter) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}, http.StatusServiceUnavailable,
			status.FailureReport{Kind: "transient"},
			[]string{"Freshservice did not answer", "retried"}},
		{"PermissionDenied", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"code":"access_denied","message":"You are not authorized to perform this action."}`)
		}, http.StatusServiceUnavailable,
			status.FailureReport{Kind: "forbidden", Status: 403, Code: "access_denied"},
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
		Health  status.HealthReport  `json:"health"`
		Account status.AccountReport `json:"account"`
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
