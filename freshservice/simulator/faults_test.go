package simulator_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

// freshClient opens a new connection per request, so that a dropped
// connection surfaces as an error instead of a transparent retry on a reused
// one.
func freshClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func TestFaultInjection(t *testing.T) {
	create := func(i int) map[string]any {
		return map[string]any{"first_name": "F", "primary_email": fmt.Sprintf("f%d@example.com", i)}
	}
	tests := []struct {
		name        string
		faults      simulator.Faults
		wantErr     bool
		wantStatus  []int
		wantCreated bool
		injected    func(simulator.InjectedStats) int
	}{
		{"429", simulator.Faults{Rate429: 1}, false, []int{429}, false, func(s simulator.InjectedStats) int { return s.TooManyRequests }},
		{"5xx", simulator.Faults{Rate5xx: 1}, false, []int{500, 502, 503}, false, func(s simulator.InjectedStats) int { return s.ServerError }},
		{"drop", simulator.Faults{RateDrop: 1}, true, nil, false, func(s simulator.InjectedStats) int { return s.Drop }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *simulatorOptions) { o.Faults = tc.faults })
			for i := range 5 {
				res, err := freshClient().Do(e.request("POST", "/api/v2/requesters", create(i)))
				if tc.wantErr {
					if err == nil {
						res.Body.Close()
						t.Fatalf("got %d, want a transport error", res.StatusCode)
					}
				} else {
					if err != nil {
						t.Fatal(err)
					}
					res.Body.Close()
					if !slices.Contains(tc.wantStatus, res.StatusCode) {
						t.Fatalf("status %d, want one of %v", res.StatusCode, tc.wantStatus)
					}
					if res.StatusCode == 429 && res.Header.Get("Retry-After") == "" {
						t.Error("injected 429 without Retry-After")
					}
				}
				if _, ok := e.sim.UserByEmail(fmt.Sprintf("f%d@example.com", i)); ok != tc.wantCreated {
					t.Errorf("created=%v", ok)
				}
			}
			st := e.sim.Stats()
			if got := tc.injected(st.Injected); got != 5 || st.Total != 5 || st.RateLimited != 0 {
				t.Errorf("stats %+v", st)
			}
			for _, r := range e.sim.Requests() {
				if r.Injected != tc.name {
					t.Errorf("request %+v", r)
				}
			}
		})
	}
}

// A commit-then-fail performs the write, then drops the connection or
// answers 5xx; reads are never affected.
func TestFaultCommitThenFail(t *testing.T) {
	e := newEnv(t, func(o *simulatorOptions) { o.Faults = simulator.Faults{RateCommitThenFail: 1, Seed: 7} })
	outcomes := map[string]int{}
	for i := range 12 {
		email := fmt.Sprintf("c%d@example.com", i)
		res, err := freshClient().Do(e.request("POST", "/api/v2/requesters", map[string]any{"first_name": "C", "primary_email": email}))
		switch {
		case err != nil:
			outcomes["drop"]++
		case res.StatusCode >= 500:
			res.Body.Close()
			outcomes["5xx"]++
		default:
			res.Body.Close()
			t.Fatalf("status %d", res.StatusCode)
		}
		if _, ok := e.sim.UserByEmail(email); !ok {
			t.Errorf("write %d was not committed", i)
		}
	}
	if outcomes["drop"] == 0 || outcomes["5xx"] == 0 {
		t.Errorf("outcomes %v: want both drops and 5xx", outcomes)
	}
	e.do("GET", "/api/v2/requesters", nil).want(t, 200)
	if got := e.sim.Stats().Injected.CommitThenFail; got != 12 {
		t.Errorf("injected commit_then_fail %d", got)
	}
}

func TestFaultsComeAfterAuthAndRateLimit(t *testing.T) {
	e := newEnv(t, func(o *simulatorOptions) {
		o.Plan = "starter"
		o.Faults = simulator.Faults{Rate5xx: 1}
	})
	req := e.request("GET", "/api/v2/roles", nil)
	req.Header.Del("Authorization")
	e.send(req).want(t, 401)
	for range 100 {
		e.do("GET", "/api/v2/roles", nil)
	}
	r := e.do("GET", "/api/v2/roles", nil).want(t, 429)
	if r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("not the limiter's 429: %v", r.header)
	}
	st := e.sim.Stats()
	if st.Injected.ServerError != 100 || st.RateLimited != 1 || st.ByStatus["401"] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestFaultLatency(t *testing.T) {
	e := newEnv(t, func(o *simulatorOptions) {
		o.Faults = simulator.Faults{Latency: 40 * time.Millisecond, Jitter: 10 * time.Millisecond}
	})
	start := time.Now()
	e.do("GET", "/api/v2/roles", nil).want(t, 200)
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("answered after %v, want at least 40ms", d)
	}
}

func TestFaultsReproducible(t *testing.T) {
	run := func() []int {
		e := newEnv(t, func(o *simulatorOptions) { o.Faults = simulator.Faults{Rate5xx: 0.3, Rate429: 0.2, Seed: 42} })
		var out []int
		for range 30 {
			out = append(out, e.do("GET", "/api/v2/roles", nil).status)
		}
		return out
	}
	a, b := run(), run()
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different runs:\n%v\n%v", a, b)
	}
	if !slices.Contains(a, 200) || !slices.ContainsFunc(a, func(s int) bool { return s >= 500 }) || !slices.Contains(a, 429) {
		t.Errorf("rates 0.3/0.2 gave %v", a)
	}
}

func TestSetFaultsAtRuntime(t *testing.T) {
	e := newEnv(t, nil)
	e.do("GET", "/api/v2/roles", nil).want(t, 200)
	e.sim.SetFaults(simulator.Faults{Rate429: 1})
	e.do("GET", "/api/v2/roles", nil).want(t, 429)
	e.sim.SetFaults(simulator.Faults{})
	e.do("GET", "/api/v2/roles", nil).want(t, 200)
}
