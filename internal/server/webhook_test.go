package server

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
)

const stWebhookSecret = "status-test-webhook-secret-0123"

// TestWebhookFloodStaysWithinTheMirrorShare: every webhook event costs a
// Freshservice call. A bulk change in Freshservice (an admin editing
// thousands of users, each firing the automator) must not spend the
// budget the IdP's requests need: refreshes by webhook spend at most
// mirror.share of the bridge's overall bucket per window, like the walk,
// and events beyond it are answered 429 (the next walk catches up).
func TestWebhookFloodStaysWithinTheMirrorShare(t *testing.T) {
	var reads atomic.Int32
	e := newStatusEnvWrapped(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v2/requesters/") {
				reads.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}, func(c *config.Config, _ *simulator.Options) {
		c.Webhook.Secret = config.Secret(stWebhookSecret)
		c.Mirror.Share = 0.01 // of the enterprise plan's 400 (0.8 of 500): 4 a window
	})
	id := e.createUser("grace@example.com", "grace@example.com")
	const events, perWindow = 30, 4
	window := e.srv.Client.Budget().Window()
	start := time.Now()
	codes := map[int]int{}
	for range events {
		req, _ := http.NewRequest(http.MethodPost, e.url+"/webhooks/freshservice", strings.NewReader(fmt.Sprintf(`{"requester_id": %s}`, id)))
		req.Header.Set("X-Webhook-Secret", stWebhookSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Error("a 429 without Retry-After")
		}
	}
	// However long the events took, no window held more than its share.
	windows := int(time.Since(start)/window) + 1
	allowed := min(perWindow*windows, events)
	if codes[http.StatusOK] > allowed || codes[http.StatusOK]+codes[http.StatusTooManyRequests] != events {
		t.Errorf("answers %v over %d windows; want at most %d refreshed and the rest told 429", codes, windows, allowed)
	}
	if n := int(reads.Load()); n != codes[http.StatusOK] || n < perWindow {
		t.Errorf("%d events made %d reads of Freshservice; want one per refreshed event, at least %d", events, n, perWindow)
	}
}
