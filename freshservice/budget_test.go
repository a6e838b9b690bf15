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
		// A Remaining above our own view changes nothing.
		b.Observe(BucketOverall, Rate{Total: 100, Remaining: 90}, time.Now())
		if s, _ := b.Stats(); s[0].Remaining != 10 {
			t.Errorf("remaining %d after a higher header", s[0].Remaining)
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

func TestPauseHoldsEveryCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(BudgetConfig{Plan: PlanEnterprise})
		b.Pause(30*time.Second, time.Now())
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
