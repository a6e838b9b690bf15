package freshservice

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestPlanPresets(t *testing.T) {
	want := map[Plan][2]int{PlanStarter: {100, 40}, PlanGrowth: {200, 70}, PlanPro: {400, 120}, PlanEnterprise: {500, 140}}
	for plan, w := range want {
		b := NewBudget(BudgetConfig{Plan: plan})
		stats, _ := b.Stats()
		if stats[0].Limit != w[0] || stats[1].Limit != w[1] || stats[2].Limit != w[1] {
			t.Errorf("%s: limits %+v, want overall %d and lists %d", plan, stats, w[0], w[1])
		}
	}
	b := NewBudget(BudgetConfig{Plan: PlanStarter, Share: 0.5})
	stats, _ := b.Stats()
	if stats[0].Limit != 50 || stats[1].Limit != 20 || stats[0].Total != 100 {
		t.Errorf("half of starter = %+v, want 50/20 of 100/40", stats)
	}
}

// starts runs n calls concurrently and returns their start times, sorted.
func starts(t *testing.T, b *Budget, bucket BucketName, n int) []time.Time {
	t.Helper()
	var mu sync.Mutex
	var out []time.Time
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := b.Wait(context.Background(), bucket); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			out = append(out, time.Now())
			mu.Unlock()
		})
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// maxInWindow is the most start times falling in any window.
func maxInWindow(ts []time.Time, window time.Duration) int {
	best := 0
	for i := range ts {
		n := 0
		for j := i; j < len(ts) && ts[j].Sub(ts[i]) < window; j++ {
			n++
		}
		best = max(best, n)
	}
	return best
}

func TestBudgetNeverExceedsLimitInAnyWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(BudgetConfig{Limits: Limits{Overall: 10, ListAgents: 4, ListRequesters: 4}})
		begin := time.Now()
		ts := starts(t, b, BucketOverall, 35)
		if got := maxInWindow(ts, time.Minute); got > 10 {
			t.Errorf("%d calls started within one minute, limit 10", got)
		}
		// 35 calls at 10 a minute: the last starts in the fourth minute, not later.
		if d := ts[len(ts)-1].Sub(begin); d < 3*time.Minute || d >= 4*time.Minute {
			t.Errorf("last call started after %s, want within the fourth minute", d)
		}
	})
}

func TestListBucketsAlsoDrawFromOverall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(BudgetConfig{Limits: Limits{Overall: 5, ListAgents: 3, ListRequesters: 3}})
		lists := starts(t, b, BucketListAgents, 4)
		if d := lists[3].Sub(lists[0]); d < time.Minute {
			t.Errorf("fourth agent list started %s after the first; the list bucket allows 3 a minute", d)
		}
		stats, _ := b.Stats()
		if stats[0].Started != 4 || stats[1].Started != 4 || stats[2].Started != 0 {
			t.Errorf("started counts %+v, want 4 overall, 4 list agents", stats)
		}
	})
}

func TestMaxWaitAnswersAtOnceWithRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Two calls a minute are spaced 30 s apart.
		b := NewBudget(BudgetConfig{Limits: Limits{Overall: 2}, MaxWait: 10 * time.Second})
		ctx := context.Background()
		if _, err := b.Wait(ctx, BucketOverall); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		if d := b.EstimateWait(BucketOverall); d != 25*time.Second {
			t.Errorf("EstimateWait = %s, want 25s", d)
		}
		start := time.Now()
		_, err := b.Wait(ctx, BucketOverall)
		var rl *RateLimitError
		if !errors.As(err, &rl) || rl.Upstream || rl.RetryAfter != 25*time.Second {
			t.Fatalf("err = %v, want a local RateLimitError with RetryAfter 25s", err)
		}
		if time.Since(start) != 0 {
			t.Errorf("Wait blocked for %s before refusing", time.Since(start))
		}
		// Refusing reserved nothing: when the time comes the call goes through.
		time.Sleep(25 * time.Second)
		if _, err := b.Wait(ctx, BucketOverall); err != nil {
			t.Errorf("after the wait: %v", err)
		}
	})
}

func TestCallsAreSpreadAfterABurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(BudgetConfig{Limits: Limits{Overall: 100}})
		ts := starts(t, b, BucketOverall, 20)
		// A burst of 5 (a twentieth), then one every 600 ms.
		if d := ts[4].Sub(ts[0]); d != 0 {
			t.Errorf("the first five calls spread over %s, want a burst", d)
		}
		if d := ts[19].Sub(ts[0]); d != 9*time.Second {
			t.Errorf("20 calls at 100 a minute took %s, want 9s (3 s per 5 after the first 5)", d)
		}
	})
}

func TestRemainingHeaderSlowsDownWhenOthersSpend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(BudgetConfig{Limits: Limits{Overall: 100}, Share: 0.5})
		ctx := context.Background()
		if _, err := b.Wait(ctx, BucketOverall); err != nil {
			t.Fatal(err)
		}
		// Our share is 50 and we used 1; the account has only 10 left
		// because other integrations spent 89.
		b.Observe(BucketOverall, Rate{Total: 100, Remaining: 10, Used: 1}, time.Now())
		stats, _ := b.Stats()
		if stats[0].Remaining != 10 || stats[0].OthersSpent != 39 {
			t.Errorf("after correction %+v, want 10 remaining and 39 spent by others", stats[0])
		}
		// A later Remaining of 90 says the others' credit came back (their
		// window ended): what was recorded for them is given back, and our
		// own call still counts.
		b.Observe(BucketOverall, Rate{Total: 100, Remaining: 90}, time.Now())
		if s, _ := b.Stats(); s[0].Remaining != 49 {
			t.Errorf("remaining %d after a higher header, want 49", s[0].Remaining)
		}
	})
}

func TestTotalHeaderResizesBucket(t *testing.T) {
	b := NewBudget(BudgetConfig{Plan: PlanStarter})
	b.Observe(BucketListRequesters, Rate{Total: 140, Remaining: 139}, time.Now())
	stats, _ := b.Stats()
	if stats[2].Total != 140 || stats[2].Limit != 140 {
		t.Errorf("list requesters %+v, want resized to 140", stats[2])
	}
}

func TestRefusalHoldsEveryCallerOfTheBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(BudgetConfig{Plan: PlanEnterprise})
		b.Refused(BucketOverall, Rate{Total: 500, Remaining: 0}, 30*time.Second, time.Now())
		ts := starts(t, b, BucketOverall, 3)
		begin := ts[0].Add(-30 * time.Second)
		for _, s := range ts {
			if s.Sub(begin) < 30*time.Second {
				t.Errorf("a call started %s into a 30s pause", s.Sub(begin))
			}
		}
	})
}

func TestWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(BudgetConfig{Limits: Limits{Overall: 1}})
		if _, err := b.Wait(context.Background(), BucketOverall); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(time.Second)
			cancel()
		}()
		start := time.Now()
		_, err := b.Wait(ctx, BucketOverall)
		if !errors.Is(err, context.Canceled) || time.Since(start) != time.Second {
			t.Errorf("err %v after %s, want canceled after 1s", err, time.Since(start))
		}
		// The cancelled call gave its slot back.
		if d := b.EstimateWait(BucketOverall); d != 60*time.Second {
			t.Errorf("EstimateWait after a cancelled wait = %s, want 60s (the window, a second of slack, less the second gone)", d)
		}
		// A deadline shorter than the wait fails at once.
		ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel2()
		start = time.Now()
		_, err = b.Wait(ctx2, BucketOverall)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 0 {
			t.Errorf("err %v after %s, want deadline exceeded at once", err, time.Since(start))
		}
	})
}

func TestOverallLimitAloneKeepsThePlansListLimits(t *testing.T) {
	b := NewBudget(BudgetConfig{Plan: PlanStarter, Limits: Limits{Overall: 6}})
	stats, _ := b.Stats()
	if stats[0].Limit != 6 || stats[1].Limit != 6 || stats[2].Limit != 6 {
		t.Errorf("overall 6 on starter: %+v, want lists capped at 6", stats)
	}
	b = NewBudget(BudgetConfig{Plan: PlanPro, Limits: Limits{Overall: 1000}})
	stats, _ = b.Stats()
	if stats[0].Limit != 1000 || stats[1].Limit != 120 || stats[2].Limit != 120 {
		t.Errorf("an add-on's overall on pro: %+v, want lists at pro's 120", stats)
	}
}

// TestRefusedHoldsOnlyTheBucketThatRanOut: which buckets a 429 holds, and
// for how long, from the headers it carried (Budget.Refused).
func TestRefusedHoldsOnlyTheBucketThatRanOut(t *testing.T) {
	const ra = 20 * time.Second
	tests := []struct {
		name   string
		bucket BucketName
		rate   Rate
		// want is the wait of a call on each bucket right after the 429.
		want map[BucketName]time.Duration
	}{
		{"overall empty holds every call", BucketOverall, Rate{Total: 100, Remaining: 0},
			map[BucketName]time.Duration{BucketOverall: ra, BucketListAgents: ra, BucketListRequesters: ra}},
		{"list bucket empty holds only that list", BucketListAgents, Rate{Total: 40, Remaining: 0},
			map[BucketName]time.Duration{BucketOverall: 0, BucketListAgents: ra, BucketListRequesters: 0}},
		{"list bucket with credit: overall refused", BucketListAgents, Rate{Total: 40, Remaining: 12},
			map[BucketName]time.Duration{BucketOverall: ra, BucketListAgents: ra, BucketListRequesters: ra}},
		{"list call showing overall's total", BucketListRequesters, Rate{Total: 100, Remaining: 0},
			map[BucketName]time.Duration{BucketOverall: ra, BucketListAgents: ra, BucketListRequesters: ra}},
		{"overall with credit left holds nothing", BucketOverall, Rate{Total: 100, Remaining: 60},
			map[BucketName]time.Duration{BucketOverall: 0, BucketListAgents: 0, BucketListRequesters: 0}},
		{"no headers hold the call's buckets", BucketListAgents, Rate{Remaining: -1},
			map[BucketName]time.Duration{BucketOverall: ra, BucketListAgents: ra, BucketListRequesters: ra}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := NewBudget(BudgetConfig{Plan: PlanStarter})
				// Others spent 60 earlier in the window; recorded, they would
				// hold the bucket a minute from now if a 429 did not say
				// when credit comes back.
				b.Observe(BucketOverall, Rate{Total: 100, Remaining: 40}, time.Now())
				time.Sleep(30 * time.Second)
				until := b.Refused(tc.bucket, tc.rate, ra, time.Now())
				if want := time.Now().Add(ra); !until.Equal(want) {
					t.Errorf("the refused call may retry at %v, want %v", until, want)
				}
				for name, want := range tc.want {
					if got := b.EstimateWait(name); got != want {
						t.Errorf("a call on %s waits %s, want %s", name, got, want)
					}
				}
				time.Sleep(ra)
				for name := range tc.want {
					if got := b.EstimateWait(name); got != 0 {
						t.Errorf("after the Retry-After a call on %s still waits %s", name, got)
					}
				}
			})
		})
	}
}

// TestVoidedReservationsAreGivenBack: callers queued for later slots when a
// 429 arrives wait out the Retry-After and then go, and the slots they had
// are not counted as spent.
func TestVoidedReservationsAreGivenBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(BudgetConfig{Limits: Limits{Overall: 100}})
		// 20 callers: 5 at once, then 5 every 3 s, up to 9 s.
		var ts []time.Time
		done := make(chan struct{})
		go func() {
			ts = starts(t, b, BucketOverall, 20)
			close(done)
		}()
		time.Sleep(time.Second)
		b.Refused(BucketOverall, Rate{Total: 100, Remaining: 0}, 10*time.Second, time.Now())
		<-done
		for i, s := range ts[5:] {
			if d := s.Sub(ts[0]); d < 11*time.Second {
				t.Errorf("caller %d started at %s, inside the 429's hold (1s to 11s)", i+5, d)
			}
		}
		if stats, _ := b.Stats(); stats[0].Remaining != 80 || stats[0].Started != 20 {
			t.Errorf("after 20 calls: %+v, want 80 of 100 left and 20 started", stats[0])
		}
	})
}

// TestHourlyLimitsAreDetected: when the budget turns hourly (§19), and
// when it stays per-minute.
func TestHourlyLimitsAreDetected(t *testing.T) {
	tests := []struct {
		name    string
		plan    Plan
		observe func(b *Budget)
		hourly  bool
		limit   int // overall, after
	}{
		{"a legacy total", PlanGrowth, func(b *Budget) { b.Observe(BucketOverall, Rate{Total: 3000, Remaining: 2990}, time.Now()) }, true, 3000},
		{"a legacy total on a list call", PlanEnterprise, func(b *Budget) { b.Observe(BucketListAgents, Rate{Total: 5000, Remaining: 4000}, time.Now()) }, true, 5000},
		{"1000 where no add-on exists", PlanStarter, func(b *Budget) { b.Observe(BucketOverall, Rate{Total: 1000, Remaining: 999}, time.Now()) }, true, 1000},
		{"1000 as an Enterprise add-on", PlanEnterprise, func(b *Budget) { b.Observe(BucketOverall, Rate{Total: 1000, Remaining: 999}, time.Now()) }, false, 1000},
		{"a per-minute plan", PlanStarter, func(b *Budget) { b.Observe(BucketOverall, Rate{Total: 500, Remaining: 499}, time.Now()) }, false, 500},
		{"a 429 that outlasts a minute", PlanEnterprise, func(b *Budget) {
			b.Refused(BucketOverall, Rate{Total: 1000, Remaining: 0}, 1521*time.Second, time.Now())
		}, true, 500},
		{"a 429 within a minute", PlanEnterprise, func(b *Budget) {
			b.Refused(BucketOverall, Rate{Total: 500, Remaining: 0}, 45*time.Second, time.Now())
		}, false, 500},
		{"a long 429 on an account with credit left", PlanEnterprise, func(b *Budget) {
			b.Refused(BucketOverall, Rate{Total: 500, Remaining: 300}, 1521*time.Second, time.Now())
		}, false, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBudget(BudgetConfig{Plan: tc.plan})
			tc.observe(b)
			stats, _ := b.Stats()
			wantWindow := time.Minute
			if tc.hourly {
				wantWindow = time.Hour
			}
			if b.Hourly() != tc.hourly || b.Window() != wantWindow || stats[0].Limit != tc.limit {
				t.Errorf("hourly=%v window %s overall %+v; want hourly=%v, window %s, limit %d", b.Hourly(), b.Window(), stats[0], tc.hourly, wantWindow, tc.limit)
			}
		})
	}
	// Told by the configuration: the plan's legacy limit for every bucket.
	b := NewBudget(BudgetConfig{Plan: PlanGrowth, Hourly: true})
	if stats, _ := b.Stats(); !b.Hourly() || b.Window() != time.Hour || stats[0].Limit != 2500 || stats[1].Limit != 2500 {
		t.Errorf("configured hourly Growth: %v %s %+v", b.Hourly(), b.Window(), stats)
	}
}

func TestUnpacedCallsSkipTheSpreadingButNotTheLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(BudgetConfig{Limits: Limits{Overall: 10}})
		ctx := Unpaced(context.Background())
		begin := time.Now()
		var ts []time.Time
		for range 12 {
			if _, err := b.Wait(ctx, BucketOverall); err != nil {
				t.Fatal(err)
			}
			ts = append(ts, time.Now())
		}
		// The window's ten start together (spread, the tenth would wait 18 s);
		// the eleventh waits for the window to pass.
		if d := ts[9].Sub(begin); d != 0 {
			t.Errorf("the tenth unpaced call started after %s, want at once", d)
		}
		if d := ts[10].Sub(begin); d < time.Minute {
			t.Errorf("the eleventh call started after %s, want a whole window", d)
		}
		if got := maxInWindow(ts, time.Minute); got > 10 {
			t.Errorf("%d calls started within one minute, limit 10", got)
		}
	})
}
