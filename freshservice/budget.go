package freshservice

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// Plan names a Freshservice plan, which sets the per-minute API limits (§10).
type Plan string

// The plans with published per-minute limits.
const (
	PlanStarter    Plan = "starter"
	PlanGrowth     Plan = "growth"
	PlanPro        Plan = "pro"
	PlanEnterprise Plan = "enterprise"
)

// BucketName names a Freshservice rate-limit bucket. List calls on agents and
// requesters draw from their own smaller bucket and from the overall one.
type BucketName string

// The buckets the client uses.
const (
	BucketOverall        BucketName = "overall"
	BucketListAgents     BucketName = "list_agents"
	BucketListRequesters BucketName = "list_requesters"
)

// Limits are per-minute call limits for each bucket.
type Limits struct {
	Overall        int `yaml:"overall" json:"overall"`
	ListAgents     int `yaml:"list_agents" json:"list_agents"`
	ListRequesters int `yaml:"list_requesters" json:"list_requesters"`
}

// PlanLimits are the published per-minute limits of each plan (§10).
var PlanLimits = map[Plan]Limits{
	PlanStarter:    {Overall: 100, ListAgents: 40, ListRequesters: 40},
	PlanGrowth:     {Overall: 200, ListAgents: 70, ListRequesters: 70},
	PlanPro:        {Overall: 400, ListAgents: 120, ListRequesters: 120},
	PlanEnterprise: {Overall: 500, ListAgents: 140, ListRequesters: 140},
}

// BudgetConfig sizes a Budget.
type BudgetConfig struct {
	// Plan selects the published limits; Limits, when non-zero, overrides it.
	Plan   Plan
	Limits Limits
	// Share is the fraction of each bucket this client may spend (0 < Share
	// <= 1; 0 means 1). Other integrations of the account spend the rest.
	Share float64
	// Window is the length of a rate-limit window: one minute for
	// Freshservice, less for a time-scaled simulator.
	Window time.Duration
	// MaxWait is the longest Wait will block; a longer wait returns a
	// *RateLimitError at once, so the caller can answer 429 upstream. Zero
	// means wait as long as the context allows.
	MaxWait time.Duration
}

// Budget spends the account's API credit. Each bucket is a sliding-window
// log: at most limit calls start in any window, so a server counting fixed
// or sliding windows never has to answer 429 because of us. Credit is
// reserved in order of arrival, and a reservation is a promise: a caller told
// to wait d will get its slot after d, whatever other callers do.
//
// Freshservice's X-RateLimit-Remaining counts every integration of the
// account; when it says less is left than this budget thinks, the difference
// is recorded as spent, so the budget slows down when others spend.
type Budget struct {
	mu          sync.Mutex
	cfg         BudgetConfig
	buckets     map[BucketName]*bucket
	pausedUntil time.Time
	waited      time.Duration
}

type bucket struct {
	total int // the account's limit for this bucket
	limit int // our share of it
	// log holds the start times of recent and reserved calls, oldest
	// first; times are non-decreasing (reservations only append). Entries
	// older than a window are pruned: they cannot constrain a later call.
	log   []time.Time
	used  int64 // calls started, for statistics
	extra int64 // credit others spent, as inferred from X-RateLimit-Remaining
}

// NewBudget returns a budget sized from cfg.
func NewBudget(cfg BudgetConfig) *Budget {
	if cfg.Window <= 0 {
		cfg.Window = time.Minute
	}
	if cfg.Share <= 0 || cfg.Share > 1 {
		cfg.Share = 1
	}
	// Limits override the plan's field by field; a list bucket is never
	// larger than the overall one it counts in.
	p, ok := PlanLimits[cfg.Plan]
	if !ok {
		p = PlanLimits[PlanStarter]
	}
	lim := cfg.Limits
	if lim.Overall == 0 {
		lim.Overall = p.Overall
	}
	if lim.ListAgents == 0 {
		lim.ListAgents = min(p.ListAgents, lim.Overall)
	}
	if lim.ListRequesters == 0 {
		lim.ListRequesters = min(p.ListRequesters, lim.Overall)
	}
	b := &Budget{cfg: cfg, buckets: map[BucketName]*bucket{}}
	b.buckets[BucketOverall] = &bucket{total: lim.Overall, limit: shareOf(lim.Overall, cfg.Share)}
	b.buckets[BucketListAgents] = &bucket{total: lim.ListAgents, limit: shareOf(lim.ListAgents, cfg.Share)}
	b.buckets[BucketListRequesters] = &bucket{total: lim.ListRequesters, limit: shareOf(lim.ListRequesters, cfg.Share)}
	return b
}

func shareOf(total int, share float64) int {
	n := int(math.Floor(float64(total) * share))
	if n < 1 {
		n = 1
	}
	return n
}

func (k *bucket) prune(now time.Time, window time.Duration) {
	from := now.Add(-window)
	i := 0
	for i < len(k.log) && !k.log[i].After(from) {
		i++
	}
	if i > 0 {
		k.log = append(k.log[:0], k.log[i:]...)
	}
}

// next is the earliest start time at or after now that keeps at most limit
// calls in any window (plus slack), and spreads them: after a small burst,
// calls are spaced window/limit apart, so a busy caller waits a little per
// call rather than a whole window after spending the window's credit at
// once (which would turn into 429s for the IdP).
func (k *bucket) next(now time.Time, window, slack time.Duration) time.Time {
	k.prune(now, window+slack)
	t := now
	n := len(k.log)
	if n == 0 {
		return t
	}
	if last := k.log[n-1]; last.After(t) {
		t = last
	}
	if n >= k.limit {
		if free := k.log[n-k.limit].Add(window + slack); free.After(t) {
			t = free
		}
	}
	if burst := k.burst(); n >= burst {
		spacing := time.Duration(int64(window) * int64(burst) / int64(k.limit))
		if free := k.log[n-burst].Add(spacing); free.After(t) {
			t = free
		}
	}
	return t
}

// burst is how many calls may start together: a twentieth of the limit.
func (k *bucket) burst() int { return max(1, k.limit/20) }

func (k *bucket) add(t time.Time) { k.log = append(k.log, t) }

// inWindow counts entries after now-window, reservations for later
// included: they are credit already promised.
func (k *bucket) inWindow(now time.Time, window time.Duration) int {
	k.prune(now, window)
	return len(k.log)
}

// chain is the buckets a call on bucket draws from.
func (b *Budget) chain(name BucketName) []*bucket {
	k, ok := b.buckets[name]
	if !ok || name == BucketOverall {
		return []*bucket{b.buckets[BucketOverall]}
	}
	return []*bucket{k, b.buckets[BucketOverall]}
}

func (b *Budget) nextLocked(name BucketName, now time.Time) time.Time {
	t := now
	if b.pausedUntil.After(t) {
		t = b.pausedUntil
	}
	for _, k := range b.chain(name) {
		if n := k.next(now, b.cfg.Window, b.slack()); n.After(t) {
			t = n
		}
	}
	return t
}

// slack widens the window a little: Freshservice counts a call when it
// arrives, which can be a little later than when it was allowed to start.
func (b *Budget) slack() time.Duration { return min(b.cfg.Window/50, time.Second) }

// EstimateWait returns how long a call on the bucket would wait for credit
// if it were made now.
func (b *Budget) EstimateWait(name BucketName) time.Duration {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.nextLocked(name, now).Sub(now)
}

// Wait reserves credit for one call on the bucket and blocks until it may
// start. It returns how long it waited. If the wait would exceed MaxWait it
// returns a *RateLimitError at once without reserving; if ctx ends first it
// returns ctx's error.
func (b *Budget) Wait(ctx context.Context, name BucketName) (time.Duration, error) {
	start := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return time.Since(start), err
		}
		now := time.Now()
		b.mu.Lock()
		t := b.nextLocked(name, now)
		d := t.Sub(now)
		if b.cfg.MaxWait > 0 && d+now.Sub(start) > b.cfg.MaxWait {
			b.mu.Unlock()
			return time.Since(start), &RateLimitError{Bucket: name, RetryAfter: d}
		}
		if dl, ok := ctx.Deadline(); ok && t.After(dl) {
			b.mu.Unlock()
			return time.Since(start), fmt.Errorf("waiting %s for API budget (bucket %s): %w", d.Round(time.Millisecond), name, context.DeadlineExceeded)
		}
		for _, k := range b.chain(name) {
			k.add(t)
			k.used++
		}
		b.mu.Unlock()
		if d > 0 {
			if err := sleep(ctx, d); err != nil {
				b.release(name, t)
				return time.Since(start), err
			}
		}
		b.mu.Lock()
		paused := b.pausedUntil.After(time.Now())
		if !paused {
			b.waited += time.Since(start)
		}
		b.mu.Unlock()
		if !paused {
			return time.Since(start), nil
		}
		// A 429 arrived while this call waited: its slot is void, queue again.
	}
}

// release gives back a reservation at t that was not used, when no later
// reservation was made on top of it.
func (b *Budget) release(name BucketName, t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range b.chain(name) {
		if n := len(k.log); n > 0 && k.log[n-1].Equal(t) {
			k.log = k.log[:n-1]
			k.used--
		}
	}
}

// Pause stops every call on this budget for d from now, after Freshservice
// answered 429 with Retry-After d.
func (b *Budget) Pause(d time.Duration, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until := now.Add(d); until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
}

// Observe corrects the bucket from a response's rate-limit headers: a
// different X-RateLimit-Total resizes it, and an X-RateLimit-Remaining below
// what this budget has left records the difference as spent by others.
func (b *Budget) Observe(name BucketName, r Rate, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k, ok := b.buckets[name]
	if !ok {
		return
	}
	if r.Total > 0 && r.Total != k.total {
		k.total = r.Total
		k.limit = shareOf(r.Total, b.cfg.Share)
	}
	if r.Remaining < 0 {
		return
	}
	left := k.limit - k.inWindow(now, b.cfg.Window)
	// Record the others' calls as made now, while there is room and no
	// reservation of ours lies ahead (the log stays in time order).
	for i := left - r.Remaining; i > 0; i-- {
		if len(k.log) >= k.limit || (len(k.log) > 0 && k.log[len(k.log)-1].After(now)) {
			break
		}
		k.add(now)
		k.extra++
	}
}

// BucketStats is a snapshot of one bucket.
type BucketStats struct {
	Bucket BucketName `json:"bucket"`
	// Total is the account's per-window limit; Limit is this budget's share.
	Total int `json:"total"`
	Limit int `json:"limit"`
	// Remaining is the credit left in the current window.
	Remaining int `json:"remaining"`
	// Started counts calls started since the budget was made; OthersSpent
	// counts credit inferred as spent by other integrations.
	Started     int64 `json:"started"`
	OthersSpent int64 `json:"others_spent"`
}

// Stats returns a snapshot of every bucket, and the total time callers
// spent waiting for credit.
func (b *Budget) Stats() ([]BucketStats, time.Duration) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]BucketStats, 0, len(b.buckets))
	for _, name := range []BucketName{BucketOverall, BucketListAgents, BucketListRequesters} {
		k := b.buckets[name]
		rem := k.limit - k.inWindow(now, b.cfg.Window)
		if rem < 0 {
			rem = 0
		}
		out = append(out, BucketStats{Bucket: name, Total: k.total, Limit: k.limit, Remaining: rem, Started: k.used, OthersSpent: k.extra})
	}
	return out, b.waited
}

// Window returns the length of the rate-limit window.
func (b *Budget) Window() time.Duration { return b.cfg.Window }
