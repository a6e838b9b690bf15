package test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
)

// failAgentPUTs makes Freshservice answer 503 to PUT /agents/{id} while
// *failing is set: a promotion stops between convert_to_agent and the PUT
// that gives the roles.
func failAgentPUTs(failing *atomic.Bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() && r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v2/agents/") && !strings.Contains(r.URL.Path[len("/api/v2/agents/"):], "/") {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInterruptedPromotionConverges(t *testing.T) {
	for _, finish := range []string{"next request", "background pass"} {
		t.Run(finish, func(t *testing.T) {
			var failing atomic.Bool
			e := newEnvWrapped(t, failAgentPUTs(&failing), func(c *config.Config, _ *simulator.Options) {
				c.Rules = config.Rules{RoleGroups: []config.RoleGroup{{
					Match: config.Match{DisplayName: "FS Admins"}, Roles: []config.RoleGrant{{Role: "Account Admin", Scope: "entire_helpdesk"}},
				}}}
				if finish == "next request" {
					c.Reconcile.Interval = time.Hour // no background help
				}
			})
			id := e.mustCreate(userBody("half@example.com", "Half", "Way", nil))
			g := e.mustGroup("FS Admins")
			failing.Store(true)
			status, body := e.addMembers(g, id)
			if status != 503 || body["detail"] == "" {
				t.Fatalf("promotion with Freshservice failing: %d %v, want 503", status, body)
			}
			// Half done: converted, but with convert_to_agent's SD Agent role.
			su := e.simUser(id)
			if !su.IsAgent || !su.Occasional {
				t.Fatalf("expected the convert to have happened: %+v", su)
			}
			failing.Store(false)
			if finish == "next request" {
				if status, body := e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "replace", "path": "title", "value": "Admin"})); status != 200 {
					t.Fatalf("next request: %d %v", status, body)
				}
			}
			eventually(t, "the promotion finishing", func() bool {
				su := e.simUser(id)
				return su.IsAgent && !su.Occasional && slices.Equal(e.roleNames(su), []string{"Account Admin/entire_helpdesk"})
			})
		})
	}
}

// TestLostCreateAnswerNeverDuplicatesOrConflicts: the create happens but
// its answer is lost, and the lookup that would tell fails too. The IdP
// must get a retryable error, not 409, and its retry must get the user.
func TestLostCreateAnswerNeverDuplicatesOrConflicts(t *testing.T) {
	var posts, lookups atomic.Int32
	e := newEnvWrapped(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method == "POST" && r.URL.Path == "/api/v2/requesters" && posts.Add(1) == 1:
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)               // the write happens...
				w.WriteHeader(http.StatusBadGateway) // ...the answer is lost
				return
			case r.Method == "GET" && r.URL.Query().Get("email") != "" && lookups.Add(1) <= 4:
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	body := userBody("lost@example.com", "Lo", "St", nil)
	status, res := e.do("POST", "/Users", body)
	if status != 503 {
		t.Fatalf("first attempt: %d %v, want 503 (retryable)", status, res)
	}
	status, res = e.do("POST", "/Users", body)
	if status != 201 {
		t.Fatalf("retry: %d %v, want 201", status, res)
	}
	su, ok := e.sim.UserByEmail("lost@example.com")
	if !ok || res["id"] != itoa(su.ID) {
		t.Errorf("the retry answered %v; Freshservice has %+v", res["id"], su)
	}
	n := 0
	for _, u := range e.sim.Users() {
		if strings.EqualFold(u.PrimaryEmail, "lost@example.com") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d users with the email, want 1", n)
	}
}

// TestLostConvertAnswerIsFinished: convert_to_agent happens but its answer
// is lost, so the bridge does not know; the next attempt's convert is
// refused (the user is already an agent) and the bridge must notice and
// finish the promotion instead of retrying the convert forever.
func TestLostConvertAnswerIsFinished(t *testing.T) {
	var converts atomic.Int32
	e := newEnvWrapped(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/convert_to_agent") && converts.Add(1) == 1 {
				next.ServeHTTP(httptest.NewRecorder(), r)
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, func(c *config.Config, _ *simulator.Options) {
		c.Rules = config.Rules{RoleGroups: []config.RoleGroup{{
			Match: config.Match{DisplayName: "FS Admins"}, Roles: []config.RoleGrant{{Role: "Account Admin", Scope: "entire_helpdesk"}},
		}}}
	})
	id := e.mustCreate(userBody("conv.lost@example.com", "Con", "Lost", nil))
	g := e.mustGroup("FS Admins")
	if status, body := e.addMembers(g, id); status != 503 {
		t.Fatalf("promotion with the convert's answer lost: %d %v, want 503", status, body)
	}
	eventually(t, "the promotion finishing", func() bool {
		su := e.simUser(id)
		return su.IsAgent && !su.Occasional && slices.Equal(e.roleNames(su), []string{"Account Admin/entire_helpdesk"})
	})
	if n := converts.Load(); n > 2 {
		t.Errorf("convert_to_agent was sent %d times", n)
	}
}

// TestBackgroundPassRunsDuringAWalk: a walk of a large account is long (at
// 100,000 users, most of an hour on a small plan). The background pass must
// go on beside it: a write that failed is retried while the walk still
// waits for its pages, not after.
func TestBackgroundPassRunsDuringAWalk(t *testing.T) {
	var holdWalk, failPUTs atomic.Bool
	var waiting atomic.Int32 // walk page requests being held
	held := make(chan struct{}, 1)
	release := make(chan struct{})
	e := newEnvWrapped(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if holdWalk.Load() && r.Method == http.MethodGet && r.URL.Path == "/api/v2/requesters" && r.URL.Query().Get("email") == "" {
				waiting.Add(1)
				select {
				case held <- struct{}{}:
				default:
				}
				select {
				case <-release:
					waiting.Add(-1)
				case <-r.Context().Done():
					waiting.Add(-1)
					return
				}
			}
			if failPUTs.Load() && r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v2/requesters/") {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, func(c *config.Config, _ *simulator.Options) {
		c.Mirror.RefreshInterval = time.Second
	})
	t.Cleanup(func() { close(release) })
	id := e.mustCreate(userBody("walk.long@example.com", "Walk", "Long", nil))

	holdWalk.Store(true)
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("no walk started within 10 s of a 1 s refresh interval")
	}
	// The walk now waits for a page. An update fails in Freshservice...
	failPUTs.Store(true)
	status, body := e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "replace", "path": "title", "value": "Walker"}))
	if status < 500 {
		t.Fatalf("PATCH with Freshservice failing: %d %v, want a 5xx (the plan is left to the background pass)", status, body)
	}
	failPUTs.Store(false)
	// ...and the background pass finishes it while the walk still waits.
	eventually(t, "the background pass finishing the update during the walk", func() bool {
		return e.simUser(id).JobTitle == "Walker"
	})
	if waiting.Load() == 0 {
		t.Error("the walk was no longer waiting: the test did not hold it")
	}
}
