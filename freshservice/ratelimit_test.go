package freshservice_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

// bubbleSim starts, inside a synctest bubble, a simulated Starter account
// (100 calls a minute overall, 40 per list bucket, fixed windows from now)
// and a client whose budget knows the plan; other is a second client of the
// same account with its own budget, as another integration would be.
func bubbleSim(t *testing.T, o simulator.Options, cfg freshservice.BudgetConfig) (sim *simulator.Server, c *freshservice.Client, hc *http.Client) {
	t.Helper()
	o.APIKey = simKey
	sim, err := simulator.New(o)
	if err != nil {
		t.Fatal(err)
	}
	hc = bubbleHTTP(t, sim)
	c, err = freshservice.NewClient("http://fs.test", simKey, freshservice.WithHTTPClient(hc), freshservice.WithBudget(freshservice.NewBudget(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	return sim, c, hc
}

// spend makes n raw calls to path as another integration of the account.
func spend(t *testing.T, hc *http.Client, path string, n int) {
	t.Helper()
	for range n {
		req, _ := http.NewRequest("GET", "http://fs.test"+path, nil)
		req.SetBasicAuth(simKey, "X")
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("the other integration's call got %d", res.StatusCode)
		}
	}
}

func createRequester(ctx context.Context, c *freshservice.Client, email string) error {
	_, _, err := c.Requesters.Create(ctx, &freshservice.RequesterFields{Email: &email, Profile: freshservice.Profile{FirstName: freshservice.Ptr("R")}})
	return err
}

// TestA429HoldsCallsAsLongAsItsRetryAfter runs the client against the
// simulator over HTTP, on the synctest clock, and checks that a 429 holds
// calls for its Retry-After and no longer, only on the bucket that ran
// out, and that calls go through as soon as it ends when credit remains.
func TestA429HoldsCallsAsLongAsItsRetryAfter(t *testing.T) {
	tests := []struct {
		name string
		// setup runs 40 s into the first window and makes the next call of
		// the refused kind get a 429 whose Retry-After is the 20 s left.
		setup func(t *testing.T, sim *simulator.Server, hc *http.Client)
		// refused is the call that gets the 429.
		refused func(ctx context.Context, c *freshservice.Client) error
		// otherWrite is whether a write made while the refused call waits
		// goes at once (true), or waits the Retry-After too (false: the
		// overall bucket is empty).
		otherWriteAtOnce bool
	}{
		{
			name: "another integration emptied the overall bucket",
			setup: func(t *testing.T, sim *simulator.Server, hc *http.Client) {
				spend(t, hc, "/api/v2/roles", 100)
			},
			refused: func(ctx context.Context, c *freshservice.Client) error {
				return createRequester(ctx, c, "refused@acme.com")
			},
		},
		{
			name: "another integration emptied the list-agents bucket",
			setup: func(t *testing.T, sim *simulator.Server, hc *http.Client) {
				spend(t, hc, "/api/v2/agents", 40)
			},
			refused: func(ctx context.Context, c *freshservice.Client) error {
				_, _, err := c.Agents.List(ctx, nil)
				return err
			},
			otherWriteAtOnce: true,
		},
		{
			name: "an injected 429 the budget does not explain",
			setup: func(t *testing.T, sim *simulator.Server, hc *http.Client) {
				sim.SetFaults(simulator.Faults{Rate429: 1})
			},
			refused: func(ctx context.Context, c *freshservice.Client) error {
				return createRequester(ctx, c, "refused@acme.com")
			},
			otherWriteAtOnce: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sim, c, hc := bubbleSim(t, simulator.Options{Plan: "starter"}, freshservice.BudgetConfig{Plan: freshservice.PlanStarter})
				ctx := context.Background()
				start := time.Now()
				time.Sleep(40 * time.Second)
				tc.setup(t, sim, hc)

				var refusedDone time.Duration
				var refusedErr error
				done := make(chan struct{})
				go func() {
					defer close(done)
					refusedErr = tc.refused(ctx, c)
					refusedDone = time.Since(start)
				}()
				synctest.Wait() // the refused call got its 429 and waits to retry
				sim.SetFaults(simulator.Faults{})
				if st := sim.Stats(); st.RateLimited+st.Injected.TooManyRequests != 1 {
					t.Fatalf("stats %+v, want one 429 so far", st)
				}

				// A write now goes at once, or when Retry-After ends: the
				// 429 may hold the overall bucket for 20 s, never for the
				// minute a window of others' calls recorded at 40 s would.
				if err := createRequester(ctx, c, "other@acme.com"); err != nil {
					t.Fatal(err)
				}
				want := 60 * time.Second
				if tc.otherWriteAtOnce {
					want = 40 * time.Second
				}
				if got := time.Since(start); got != want {
					t.Errorf("a write made at 40s went at %s, want %s", got, want)
				}
				<-done
				if refusedErr != nil {
					t.Fatalf("refused call: %v", refusedErr)
				}
				if refusedDone != 60*time.Second {
					t.Errorf("the refused call was retried at %s, want 60s: after its Retry-After of 20s", refusedDone)
				}
				// Credit remains after the Retry-After, and it is spent at
				// once: nothing holds the bucket any more.
				time.Sleep(time.Until(start.Add(61 * time.Second)))
				if err := createRequester(ctx, c, "after@acme.com"); err != nil {
					t.Fatal(err)
				}
				if got := time.Since(start); got != 61*time.Second {
					t.Errorf("a create at 61s went at %s, want at once", got)
				}
				if stats, _ := c.Budget().Stats(); stats[0].Remaining < 90 || stats[0].PausedFor != 0 {
					t.Errorf("overall bucket after the Retry-After: %+v, want at least 90 of 100 left and no pause", stats[0])
				}
				if st := sim.Stats(); st.RateLimited+st.Injected.TooManyRequests != 1 {
					t.Errorf("%d limiter and %d injected 429s, want the one", st.RateLimited, st.Injected.TooManyRequests)
				}
			})
		})
	}
}

// TestHourlyAccountIsPacedPerHour runs a budget against a time-scaled
// simulator of a legacy account with hourly limits (§19) for 70 simulated
// minutes, with more demand than the account allows: the budget must never
// get a 429 and must spread its calls evenly over the hour, into the next.
func TestHourlyAccountIsPacedPerHour(t *testing.T) {
	const scale = 60 // a simulated minute per second, an hour per minute
	tests := []struct {
		name   string
		hourly int
		cfg    freshservice.BudgetConfig
	}{
		// 2,500 (Garden) is no per-minute bucket's total: the first
		// response tells.
		{"detected from the total", 2500, freshservice.BudgetConfig{Plan: freshservice.PlanEnterprise}},
		// 1,000 is also Pro and Enterprise's per-minute add-on: the
		// configuration says hourly, with the plan's default hourly limit
		// (7,500) until the headers show the account's.
		{"told by the configuration", 1000, freshservice.BudgetConfig{Plan: freshservice.PlanEnterprise, Hourly: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				minute := time.Minute / scale
				cfg := tc.cfg
				cfg.Window = minute
				sim, c, _ := bubbleSim(t, simulator.Options{Plan: "enterprise", TimeScale: scale, Switches: simulator.Switches{HourlyLimit: tc.hourly}}, cfg)
				const minutes = 70
				ctx, cancel := context.WithTimeout(context.Background(), minutes*minute)
				defer cancel()
				start := time.Now()
				var mu sync.Mutex
				var at []time.Duration
				var n atomic.Int64
				var wg sync.WaitGroup
				for range 4 {
					wg.Go(func() {
						for ctx.Err() == nil {
							err := createRequester(ctx, c, fmt.Sprintf("u%d@acme.com", n.Add(1)))
							if errors.Is(err, context.DeadlineExceeded) {
								return // the run is over; this call's slot lay beyond it
							}
							if err != nil {
								t.Error(err)
								return
							}
							mu.Lock()
							at = append(at, time.Since(start))
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				if !c.Budget().Hourly() || c.Budget().Window() != 60*minute {
					t.Errorf("budget hourly=%v window %s, want hourly with a window of %s", c.Budget().Hourly(), c.Budget().Window(), 60*minute)
				}
				if st := sim.Stats(); st.RateLimited != 0 {
					t.Errorf("the simulator answered 429 %d times", st.RateLimited)
				}
				// Every ten minutes get a sixth of the hour's limit.
				slices := make([]int, minutes/10)
				for _, d := range at {
					slices[min(int(d/(10*minute)), len(slices)-1)]++
				}
				t.Logf("calls per ten simulated minutes: %v", slices)
				sixth := tc.hourly / 6
				for i, got := range slices {
					if got < sixth*9/10 || got > sixth*11/10 {
						t.Errorf("minutes %d-%d: %d calls, want about %d (a sixth of %d an hour); all: %v", 10*i, 10*i+10, got, sixth, tc.hourly, slices)
						break
					}
				}
			})
		})
	}
}

// TestInjected429sDoNotStopWrites is the reported case: 8 writers on an
// Enterprise account with a share of 0.8 (400 calls a minute) and a
// max_wait of 10 s, for 6 minutes, while about one request in 250 gets an
// injected 429 whose Retry-After is the rest of the window. Each 429 may
// refuse its own call, never the other writers: the budget still spends
// its share.
func TestInjected429sDoNotStopWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, c, _ := bubbleSim(t, simulator.Options{Plan: "enterprise", Faults: simulator.Faults{Rate429: 0.004, Seed: 3}},
			freshservice.BudgetConfig{Plan: freshservice.PlanEnterprise, Share: 0.8, MaxWait: 10 * time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
		defer cancel()
		var created, refused atomic.Int64
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := 0; ; i++ {
					err := createRequester(ctx, c, fmt.Sprintf("u%d-%d@acme.com", w, i))
					var rl *freshservice.RateLimitError
					switch {
					case err == nil:
						created.Add(1)
					case errors.Is(err, context.DeadlineExceeded):
						return
					case errors.As(err, &rl):
						// The IdP is answered 429 and comes back after
						// Retry-After.
						refused.Add(1)
						time.Sleep(rl.RetryAfter)
					default:
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		injected := int64(sim.Stats().Injected.TooManyRequests)
		t.Logf("%d created, %d refused, %d injected 429s", created.Load(), refused.Load(), injected)
		if injected < 5 {
			t.Fatalf("only %d injected 429s; the test needs several", injected)
		}
		if share := int64(6 * 400); created.Load() < share*95/100 {
			t.Errorf("%d created in 6 minutes, want at least 95%% of the budget's %d", created.Load(), share)
		}
		if refused.Load() > injected {
			t.Errorf("%d calls refused for %d injected 429s: a 429 held calls it did not refuse", refused.Load(), injected)
		}
	})
}
