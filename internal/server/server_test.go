package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
)

// TestReadinessProbesCannotSpendTheBudget: /readyz needs no token, and
// when no Freshservice call has answered for a minute it checks the API
// key with a call. While Freshservice fails, every probe used to make
// that call again (four attempts with the client's retries), so anyone
// who could reach /readyz could spend the account's budget. The check now
// runs once a minute at most, whatever its outcome, one caller at a time.
func TestReadinessProbesCannotSpendTheBudget(t *testing.T) {
	for _, c := range []struct {
		name     string
		status   int // what Freshservice answers the check
		wantCode int
		wantWhy  string
	}{
		{"Freshservice failing", http.StatusServiceUnavailable, http.StatusServiceUnavailable, "unreachable: server"},
		{"the key refused", http.StatusUnauthorized, http.StatusServiceUnavailable, "the API key is refused (401)"},
		{"Freshservice answering", 0, http.StatusOK, "ok"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var checks atomic.Int32
			var failing atomic.Bool
			e := newStatusEnvWrapped(t, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if failing.Load() && r.URL.Path == "/api/v2/roles" {
						checks.Add(1)
						if c.status != 0 {
							w.WriteHeader(c.status)
							return
						}
					}
					next.ServeHTTP(w, r)
				})
			}, nil)
			failing.Store(true)
			// The last answer from Freshservice is over a minute old.
			e.srv.fsAuthAt.Store(time.Now().Add(-2 * time.Minute).UnixNano())
			const probes = 40
			var wg sync.WaitGroup
			bad := make(chan string, probes)
			for range probes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, body := e.get("/readyz", nil)
					if resp.StatusCode != c.wantCode || !strings.Contains(body, c.wantWhy) {
						bad <- body
					}
				}()
			}
			wg.Wait()
			close(bad)
			for b := range bad {
				t.Errorf("/readyz answered %s; want %d naming %q", b, c.wantCode, c.wantWhy)
			}
			// One check: one call, or the client's four attempts at it.
			if n := checks.Load(); n < 1 || n > 4 {
				t.Errorf("%d probes made %d calls to Freshservice; want one check (at most 4 attempts)", probes, n)
			}
		})
	}
}

// TestOversizedHeadersAreRefused: a request header is read into memory
// before anything else, per connection; with a thousand connections the
// default 1 MB each would let one client make the bridge hold a gigabyte.
// IdPs send a few kilobytes at most.
func TestOversizedHeadersAreRefused(t *testing.T) {
	e := serveWithLimits(t, config.Connections{Max: 8, PerClient: 8, IdleTimeout: time.Minute}, false)
	for _, c := range []struct {
		name string
		size int
		want int
	}{
		{"an IdP's headers", 8 << 10, http.StatusOK},
		{"over 64 KiB", 100 << 10, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := e.dial("127.0.0.1")
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: bridge\r\nX-Padding: %s\r\n\r\n", strings.Repeat("a", c.size))
			// The refusal may be followed by a reset (the rest of the
			// header is left unread), so only its status line is read.
			resp, err := http.ReadResponse(conn.r, nil)
			if err != nil || resp.StatusCode != c.want {
				t.Fatalf("a %d-byte header: %v %v, want %d", c.size, err, resp, c.want)
			}
		})
	}
}

// TestProtectedUsersReachTheBridge: protected_users, by email or by id,
// protects those users from what the IdP sends; others are not protected.
func TestProtectedUsersReachTheBridge(t *testing.T) {
	for _, c := range []struct {
		name      string
		protect   func(id string) []string // protected_users, given the user's id
		protected bool
	}{
		{"by email, in another case", func(string) []string { return []string{"Grace@Example.com"} }, true},
		{"by Freshservice id", func(id string) []string { return []string{id} }, true},
		{"someone else", func(string) []string { return []string{"ada@example.com", "1"} }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The user is made first, so the id can be listed; the setting
			// then comes with a restart on the same store and account.
			first := newStatusEnv(t, nil)
			id := first.createUser("grace@example.com", "grace@example.com")
			cfg := first.srv.Config
			cfg.ProtectedUsers = c.protect(id)
			srv, err := New(t.Context(), cfg, Options{Log: first.srv.Log, Store: first.srv.Store})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			hs := httptest.NewServer(srv.Handler)
			t.Cleanup(hs.Close)
			e := &statusEnv{t: t, srv: srv, url: hs.URL}
			status, body := e.scim(http.MethodDelete, "/Users/"+id, nil)
			_, after := e.scim(http.MethodGet, "/Users/"+id, nil)
			if c.protected {
				if status != http.StatusConflict || !strings.Contains(fmt.Sprint(body["detail"]), "protected") || after["active"] != true {
					t.Errorf("DELETE of a protected user: %d %v; then %v; want 409 naming the protection, the user still active", status, body, after)
				}
			} else if status != http.StatusNoContent {
				t.Errorf("DELETE of a user not protected: %d %v, want 204", status, body)
			}
		})
	}
}

// A key whose owner lacks Manage Agents: /readyz says so in words, and
// however many probes arrive, the permission is asked again at most once
// a minute; once it is given, the next probe after that minute is ready.
func TestReadinessNamesAMissingPermissionCheaply(t *testing.T) {
	var denied atomic.Bool
	var asked atomic.Int32
	denied.Store(true)
	e := newStatusEnvWrapped(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			agents := r.URL.Path == "/api/v2/agents"
			if agents {
				asked.Add(1)
			}
			if denied.Load() && (agents || (r.URL.Path == "/api/v2/requesters" && r.URL.Query().Get("include_agents") == "true")) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"code":"access_denied","message":"You are not authorized to perform this action."}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil)
	probe := func(wantCode int, want string) {
		t.Helper()
		const probes = 40
		var wg sync.WaitGroup
		bad := make(chan string, probes)
		for range probes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, body := e.get("/readyz", nil)
				if resp.StatusCode != wantCode || !strings.Contains(body, want) {
					bad <- fmt.Sprintf("%d %s", resp.StatusCode, body)
				}
			}()
		}
		wg.Wait()
		close(bad)
		for b := range bad {
			t.Errorf("/readyz answered %s; want %d naming %q", b, wantCode, want)
		}
	}
	backdate := func() { e.srv.Bridge.KeyAccess().ProbedAt = time.Now().Add(-2 * time.Minute) }
	missing := "the API key's owner owner@example.com lacks the Manage Agents permission"

	asked.Store(0)
	backdate()
	probe(http.StatusServiceUnavailable, missing)
	if n := asked.Load(); n != 1 {
		t.Errorf("40 probes asked for agents %d times; want once", n)
	}
	// Given the permission: the answer holds for the rest of the minute...
	denied.Store(false)
	asked.Store(0)
	probe(http.StatusServiceUnavailable, missing)
	if n := asked.Load(); n != 0 {
		t.Errorf("probes within the minute asked for agents %d times", n)
	}
	// ...and the first probe after it sees the fix.
	backdate()
	probe(http.StatusOK, `"permissions":"ok"`)
	if n := asked.Load(); n != 1 {
		t.Errorf("after the minute, 40 probes asked for agents %d times; want once", n)
	}
}

// TestReadinessIsTheStatusPagesHealth: /readyz and the status page's health
// come from one model, so they never disagree: each readiness check is on
// the status page with the same state, and a failing one with the same
// words.
func TestReadinessIsTheStatusPagesHealth(t *testing.T) {
	e := newStatusEnv(t, func(_ *config.Config, o *simulator.Options) { o.Switches.KeyRole = "no_manage_agents" })
	resp, body := e.get("/readyz", nil)
	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil || resp.StatusCode != http.StatusServiceUnavailable || ready.Ready {
		t.Fatalf("/readyz: %d %s, want 503", resp.StatusCode, body)
	}
	_, body = e.get("/status.json?token="+stStatusToken, nil)
	var rep struct {
		Health struct {
			Checks []struct{ Name, State, Detail string } `json:"checks"`
		} `json:"health"`
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	onPage := map[string][2]string{}
	for _, c := range rep.Health.Checks {
		onPage[c.Name] = [2]string{c.State, c.Detail}
	}
	for _, name := range []string{"store", "freshservice", "permissions", "mirror"} {
		got, ok := ready.Checks[name]
		page, onStatus := onPage[name]
		switch {
		case !ok || !onStatus:
			t.Errorf("check %s: on /readyz %v, on /status %v; want both", name, ok, onStatus)
		case page[0] == "fail" && got != page[1]:
			t.Errorf("check %s fails: /readyz says %q, /status says %q", name, got, page[1])
		case page[0] != "fail" && !strings.HasPrefix(got, "ok"):
			t.Errorf("check %s is %s on /status but %q on /readyz", name, page[0], got)
		}
	}
	if onPage["permissions"][0] != "fail" {
		t.Errorf("permissions on /status: %v, want fail", onPage["permissions"])
	}
}
