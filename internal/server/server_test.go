package server

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
