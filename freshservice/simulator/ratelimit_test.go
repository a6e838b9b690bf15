package simulator_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

type rateHeaders struct{ total, remaining, used string }

func rates(r resp) rateHeaders {
	return rateHeaders{r.header.Get("X-RateLimit-Total"), r.header.Get("X-RateLimit-Remaining"), r.header.Get("X-RateLimit-Used-CurrentRequest")}
}

// §10: the headers describe the bucket the endpoint draws from; the list
// sub-buckets count inside overall.
func TestRateLimitHeadersPerBucket(t *testing.T) {
	e := newEnv(t, nil)
	steps := []struct {
		path string
		want rateHeaders
	}{
		{"/api/v2/agents", rateHeaders{"140", "139", "1"}},
		{"/api/v2/agents?page=2", rateHeaders{"140", "138", "1"}},
		{"/api/v2/roles", rateHeaders{"500", "497", "1"}},
		{"/api/v2/requesters", rateHeaders{"140", "139", "1"}},
		{"/api/v2/groups", rateHeaders{"500", "495", "1"}},
		{"/api/v2/agents/" + itoa(e.sim.Users()[0].ID), rateHeaders{"500", "494", "1"}},
		{`/api/v2/agents?query="first_name:'A'"`, rateHeaders{"140", "137", "1"}},
	}
	for _, s := range steps {
		r := e.do("GET", s.path, nil)
		if got := rates(r); got != s.want {
			t.Errorf("%s: %+v, want %+v", s.path, got, s.want)
		}
		if r.header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", s.path)
		}
	}
}

func TestRateLimitPlans(t *testing.T) {
	tests := []struct {
		plan, overall, list string
	}{
		{"starter", "100", "40"},
		{"growth", "200", "70"},
		{"pro", "400", "120"},
		{"enterprise", "500", "140"},
		{"", "500", "140"},
	}
	for _, tc := range tests {
		t.Run(tc.plan, func(t *testing.T) {
			e := newEnv(t, func(o *simulatorOptions) { o.Plan = tc.plan })
			if got := e.do("GET", "/api/v2/roles", nil).header.Get("X-RateLimit-Total"); got != tc.overall {
				t.Errorf("overall %s, want %s", got, tc.overall)
			}
			if got := e.do("GET", "/api/v2/requesters", nil).header.Get("X-RateLimit-Total"); got != tc.list {
				t.Errorf("list requesters %s, want %s", got, tc.list)
			}
		})
	}
}

// §13 item 16: invalid calls count; the list sub-bucket runs out before
// overall; a refused call does nothing and says when to come back.
func TestTrapRateLimits(t *testing.T) {
	e := newEnv(t, func(o *simulatorOptions) { o.Plan = "starter" })
	e.clock.Advance(20 * time.Second) // 40 s left in the first window
	// Failed and invalid requests are charged: 404s, 400s, 405s.
	e.do("GET", "/api/v2/requesters/99", nil).want(t, 404)
	e.do("POST", "/api/v2/requesters", `{}`).want(t, 400)
	e.do("DELETE", "/api/v2/roles", nil).want(t, 405)
	// Unauthenticated requests are not.
	req := e.request("GET", "/api/v2/roles", nil)
	req.SetBasicAuth("wrong", "X")
	e.send(req).want(t, 401)
	if got := e.do("GET", "/api/v2/roles", nil).header.Get("X-RateLimit-Remaining"); got != "96" {
		t.Errorf("remaining after 4 charged calls: %s", got)
	}
	for range 39 {
		e.do("GET", "/api/v2/requesters", nil).want(t, 200)
	}
	r := e.do("GET", "/api/v2/requesters", nil)
	if r.status != 200 {
		t.Fatalf("40th list call: %d", r.status)
	}
	r = e.do("GET", "/api/v2/requesters", nil).want(t, http.StatusTooManyRequests)
	if got := rates(r); got != (rateHeaders{"40", "0", "0"}) {
		t.Errorf("429 headers %+v", got)
	}
	if got := r.header.Get("Retry-After"); got != "40" {
		t.Errorf("Retry-After %q, want 40", got)
	}
	// Other endpoints still work: overall has 100-5-40 = 55 left.
	if got := rates(e.do("GET", "/api/v2/roles", nil).want(t, 200)); got.remaining != "55" {
		t.Errorf("overall after the list bucket ran out: %+v", got)
	}
	// Spend overall; then a write is refused and does nothing.
	for range 55 {
		e.do("GET", "/api/v2/roles", nil)
	}
	r = e.do("POST", "/api/v2/requesters", map[string]any{"first_name": "X", "primary_email": "x@example.com"}).want(t, 429)
	if _, ok := e.sim.UserByEmail("x@example.com"); ok {
		t.Error("a rate-limited create was performed")
	}
	if got := rates(r); got != (rateHeaders{"100", "0", "0"}) {
		t.Errorf("overall 429 headers %+v", got)
	}
	st := e.sim.Stats()
	if st.RateLimited != 2 || st.ByStatus["429"] != 2 {
		t.Errorf("stats: %+v", st)
	}
	// The next window starts afresh.
	e.clock.Advance(40 * time.Second)
	e.do("POST", "/api/v2/requesters", map[string]any{"first_name": "X", "primary_email": "x@example.com"}).want(t, 201)
	if got := rates(e.do("GET", "/api/v2/requesters", nil)); got != (rateHeaders{"40", "39", "1"}) {
		t.Errorf("new window: %+v", got)
	}
}

// Retry-After is in real seconds: with TimeScale 60 a minute passes in one,
// and a second in 1/60 s, so time-scaled values keep their fraction.
func TestRetryAfterFollowsTimeScale(t *testing.T) {
	tests := []struct {
		scale   float64
		advance time.Duration // real time into the window
		want    string
	}{
		{1, 0, "60"},
		{1, 59500 * time.Millisecond, "1"},
		{60, 0, "1"},
		{60, 500 * time.Millisecond, "0.5"},
		{60, 990 * time.Millisecond, "0.017"},
		{6, 0, "10"},
		{6, 5 * time.Second, "5"},
		{6, 5500 * time.Millisecond, "4.5"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("scale %v at %v", tc.scale, tc.advance), func(t *testing.T) {
			e := newEnv(t, func(o *simulatorOptions) { o.Plan = "starter"; o.TimeScale = tc.scale })
			e.clock.Advance(tc.advance)
			for range 40 {
				e.do("GET", "/api/v2/agents", nil).want(t, 200)
			}
			r := e.do("GET", "/api/v2/agents", nil).want(t, 429)
			if got := r.header.Get("Retry-After"); got != tc.want {
				t.Errorf("Retry-After %q, want %q", got, tc.want)
			}
			secs, err := strconv.ParseFloat(r.header.Get("Retry-After"), 64)
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Duration(secs * float64(time.Second)))
			e.do("GET", "/api/v2/agents", nil).want(t, 200)
		})
	}
	e := newEnv(t, func(o *simulatorOptions) { o.TimeScale = 60 })
	if w := e.sim.Window(); w != time.Second {
		t.Errorf("Window %v", w)
	}
}

func TestRateWindowSliding(t *testing.T) {
	for _, mode := range []string{"fixed", "sliding"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, func(o *simulatorOptions) {
				o.Plan = "starter"
				if mode == "sliding" {
					o.Switches.RateWindow = "sliding"
				}
			})
			spend := func(n int) {
				for range n {
					e.do("GET", "/api/v2/roles", nil).want(t, 200)
				}
			}
			spend(50)
			e.clock.Advance(30 * time.Second)
			spend(50)
			e.clock.Advance(15 * time.Second) // t=45s
			r := e.do("GET", "/api/v2/roles", nil).want(t, 429)
			want := map[string]string{"fixed": "15", "sliding": "15"}[mode]
			if got := r.header.Get("Retry-After"); got != want {
				t.Errorf("Retry-After %q, want %q", got, want)
			}
			e.clock.Advance(16 * time.Second) // t=61s
			// Fixed: a new window with 100. Sliding: the 50 of t=0 expired,
			// the 50 of t=30s still count.
			wantRemaining := map[string]string{"fixed": "99", "sliding": "49"}[mode]
			if got := e.do("GET", "/api/v2/roles", nil).want(t, 200).header.Get("X-RateLimit-Remaining"); got != wantRemaining {
				t.Errorf("remaining at 61s: %s, want %s", got, wantRemaining)
			}
		})
	}
}

// §10, §19: an account on the legacy hourly limits has one bucket per hour,
// which list calls draw from too, and a 429 lasts until the hour ends.
func TestHourlyLimit(t *testing.T) {
	tests := []struct {
		mode string
		// Fixed: the hour began at the start of the simulation. Sliding:
		// every call was made at 10 minutes and leaves the window an hour
		// later.
		wantRetryAfter time.Duration
	}{
		{"fixed", 50 * time.Minute},
		{"sliding", time.Hour},
	}
	for _, tc := range tests {
		mode := tc.mode
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, func(o *simulatorOptions) {
				o.Plan = "starter"
				o.Switches.HourlyLimit = 300
				if mode == "sliding" {
					o.Switches.RateWindow = "sliding"
				}
			})
			e.clock.Advance(10 * time.Minute)
			// Far past Starter's 40 list calls and 100 calls a minute:
			// only the hour counts.
			for i := range 150 {
				want := rateHeaders{"300", strconv.Itoa(300 - 2*i - 1), "1"}
				if got := rates(e.do("GET", "/api/v2/agents", nil).want(t, 200)); got != want {
					t.Fatalf("list call %d: %+v, want %+v", i, got, want)
				}
				want.remaining = strconv.Itoa(300 - 2*i - 2)
				if got := rates(e.do("GET", "/api/v2/roles", nil).want(t, 200)); got != want {
					t.Fatalf("call %d: %+v, want %+v", i, got, want)
				}
			}
			r := e.do("POST", "/api/v2/requesters", map[string]any{"first_name": "X", "primary_email": "x@example.com"}).want(t, 429)
			if got := rates(r); got != (rateHeaders{"300", "0", "0"}) {
				t.Errorf("429 headers %+v", got)
			}
			if got, want := r.header.Get("Retry-After"), strconv.Itoa(int(tc.wantRetryAfter.Seconds())); got != want {
				t.Errorf("Retry-After %q, want %s", got, want)
			}
			if !strings.Contains(string(r.body), "per hour") {
				t.Errorf("429 body %s does not say the limit is per hour", r.body)
			}
			e.clock.Advance(tc.wantRetryAfter - time.Second)
			e.do("GET", "/api/v2/roles", nil).want(t, 429)
			e.clock.Advance(time.Second)
			e.do("POST", "/api/v2/requesters", map[string]any{"first_name": "X", "primary_email": "x@example.com"}).want(t, 201)
		})
	}
}

// An injected 429 is a refusal like the limiter's: it costs nothing, and its
// headers show the credit really left, with none used.
func TestInjected429CostsNothing(t *testing.T) {
	e := newEnv(t, func(o *simulatorOptions) { o.Plan = "starter" })
	e.clock.Advance(45 * time.Second)
	for range 3 {
		e.do("GET", "/api/v2/roles", nil).want(t, 200)
	}
	e.sim.SetFaults(simulator.Faults{Rate429: 1})
	r := e.do("GET", "/api/v2/agents", nil).want(t, 429)
	if got := rates(r); got != (rateHeaders{"40", "40", "0"}) {
		t.Errorf("injected 429 on a list call: %+v, want the list bucket's 40 left and none used", got)
	}
	r = e.do("POST", "/api/v2/requesters", map[string]any{"first_name": "X", "primary_email": "x@example.com"}).want(t, 429)
	if got := rates(r); got != (rateHeaders{"100", "97", "0"}) {
		t.Errorf("injected 429 on a write: %+v, want overall's 97 left and none used", got)
	}
	if got := r.header.Get("Retry-After"); got != "15" {
		t.Errorf("Retry-After %q, want 15, the rest of the window", got)
	}
	e.sim.SetFaults(simulator.Faults{})
	if got := rates(e.do("GET", "/api/v2/roles", nil).want(t, 200)); got.remaining != "96" {
		t.Errorf("remaining %s after two injected 429s and one call, want 96", got.remaining)
	}
}
