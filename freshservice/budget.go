package freshservice

import (
	"context"
	"fmt"
	"math"
	"sort"
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

// DefaultPlan is the plan assumed when none is named: fsbridge's
// configuration default, a client built without a budget, and a budget
// given an unknown plan. The first answer's X-RateLimit-Total resizes the
// budget to the account's real limit whatever was assumed.
const DefaultPlan = PlanGrowth

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

// PlanHourlyLimits are the per-hour limits of accounts created before
// September 2020 that are still on them (§10, §19): Blossom, Garden, Estate
// and Forest, the plans Starter, Growth, Pro and Enterprise replaced. Those
// accounts have one bucket; list calls draw from it like any other.
var PlanHourlyLimits = map[Plan]int{
	PlanStarter:    1000,
	PlanGrowth:     2500,
	PlanPro:        5000,
	PlanEnterprise: 7500,
}

// minHourlyTotal is the smallest legacy hourly limit (§10): a smaller
// X-RateLimit-Total is a per-minute bucket.
const minHourlyTotal = 1000

// perMinuteTotals are the X-RateLimit-Total values a per-minute bucket can
// show on a plan (§10): the plans' own limits, and the add-ons' on Pro and
// Enterprise, the only plans that can buy them.
func perMinuteTotals(p Plan) map[int]bool {
	t := map[int]bool{100: true, 200: true, 400: true, 500: true, 40: true, 70: true, 120: true, 140: true}
	if p != PlanStarter && p != PlanGrowth {
		for _, v := range []int{1000, 2000, 180, 480} {
			t[v] = true
		}
	}
	return t
}

// BudgetConfig sizes a Budget.
type BudgetConfig struct {
	// Plan selects the published limits; Limits, when non-zero, overrides it.
	Plan   Plan
	Limits Limits
	// Share is the fraction of each bucket this client may spend (0 < Share
	// <= 1; 0 means 1). Other integrations of the account spend the rest.
	Share float64
	// Window is the length of a rate-limit minute: one minute for
	// Freshservice, less for a time-scaled simulator.
	Window time.Duration
	// Hourly says the account still has the legacy per-hour limits (§10,
	// §19): Limits (default: PlanHourlyLimits of Plan) count over an hour,
	// sixty Windows. Without it the budget still turns hourly when
	// Freshservice shows it: an X-RateLimit-Total no per-minute bucket of
	// the plan has (3000, say), or a 429 whose Retry-After outlasts a
	// minute. A Total of 1000 or 2000 is also a per-minute add-on of Pro and
	// Enterprise, so only the first 429 tells; set Hourly to avoid it.
	Hourly bool
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
// is recorded as spent, so the budget slows down when others spend, and when
// it says more is left, what was recorded is given back.
//
// What Freshservice says holds for as long as it says and no longer. A 429
// holds the bucket that refused until its Retry-After, and only that bucket;
// credit recorded as spent by others never outlasts a Retry-After that says
// when the credit comes back. So one 429 cannot hold calls longer than
// Freshservice asked, while a bucket that is really empty is never spent.
type Budget struct {
	mu      sync.Mutex
	cfg     BudgetConfig
	buckets map[BucketName]*bucket
	// hourly is set from the start by BudgetConfig.Hourly, or once
	// Freshservice shows per-hour limits; it never goes back.
	hourly bool
	waited time.Duration
}

type bucket struct {
	total int // the account's limit for this bucket
	limit int // our share of it
	// log holds the start times of our recent and reserved calls, oldest
	// first; times are non-decreasing (reservations only append). Entries
	// older than a window are pruned: they cannot constrain a later call.
	log []time.Time
	// others is the credit other integrations spent, as inferred from
	// X-RateLimit-Remaining: one entry per credit, the time from which it
	// counts, oldest first. Each frees a window after its time, like a call
	// of ours, unless a 429 says credit comes back sooner.
	others []time.Time
	// pausedUntil is when the Retry-After of the last 429 this bucket gave
	// ends.
	pausedUntil time.Time
	used        int64 // calls started, for statistics
	extra       int64 // credit others spent, as inferred from X-RateLimit-Remaining
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
		p = PlanLimits[DefaultPlan]
	}
	if cfg.Hourly {
		// One bucket an hour: the list buckets are as large as the overall
		// one they count in, so only the overall one binds.
		h, ok := PlanHourlyLimits[cfg.Plan]
		if !ok {
			h = PlanHourlyLimits[DefaultPlan]
		}
		p = Limits{Overall: h, ListAgents: h, ListRequesters: h}
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
	b := &Budget{cfg: cfg, buckets: map[BucketName]*bucket{}, hourly: cfg.Hourly}
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
	k.log = pruned(k.log, now.Add(-window))
	k.others = pruned(k.others, now.Add(-window))
}

// pruned drops the times at or before from, in place.
func pruned(ts []time.Time, from time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(from) {
		i++
	}
	if i == 0 {
		return ts
	}
	return append(ts[:0], ts[i:]...)
}

// next is the earliest start time at or after now that keeps at most limit
// calls, ours and others', in any window (plus slack), and spreads ours:
// after a small burst, our calls are spaced window/limit apart, so a busy
// caller waits a little per call rather than a whole window after spending
// the window's credit at once (which would turn into 429s for the IdP).
func (k *bucket) next(now time.Time, window, slack time.Duration, burst int) time.Time {
	k.prune(now, window+slack)
	t := now
	if k.pausedUntil.After(t) {
		t = k.pausedUntil
	}
	n := len(k.log)
	if n > 0 && k.log[n-1].After(t) {
		t = k.log[n-1]
	}
	// The call at t is the latest so far, so the window ending at t holds
	// every entry after t-window-slack; the limit-th latest entry must be
	// out of it.
	if all := n + len(k.others); all >= k.limit {
		if free := kthLatest(k.log, k.others, k.limit).Add(window + slack); free.After(t) {
			t = free
		}
	}
	if n >= burst {
		spacing := time.Duration(int64(window) * int64(burst) / int64(k.limit))
		if free := k.log[n-burst].Add(spacing); free.After(t) {
			t = free
		}
	}
	return t
}

// kthLatest returns the k-th latest time of two sorted lists together
// (k >= 1, k <= len(a)+len(b)).
func kthLatest(a, b []time.Time, k int) time.Time {
	i, j := len(a)-1, len(b)-1
	var t time.Time
	for ; k > 0; k-- {
		if j < 0 || (i >= 0 && a[i].After(b[j])) {
			t = a[i]
			i--
		} else {
			t = b[j]
			j--
		}
	}
	return t
}

func (k *bucket) add(t time.Time) { k.log = append(k.log, t) }

// remove takes one reservation at t out of the log, wherever it is.
func (k *bucket) remove(t time.Time) bool {
	i := sort.Search(len(k.log), func(i int) bool { return !k.log[i].Before(t) })
	if i < len(k.log) && k.log[i].Equal(t) {
		k.log = append(k.log[:i], k.log[i+1:]...)
		return true
	}
	return false
}

// inWindow counts entries after now-window, ours and others', reservations
// for later included: they are credit already promised.
func (k *bucket) inWindow(now time.Time, window time.Duration) int {
	k.prune(now, window)
	return len(k.log) + len(k.others)
}

// chain is the buckets a call on bucket draws from.
func (b *Budget) chain(name BucketName) []*bucket {
	k, ok := b.buckets[name]
	if !ok || name == BucketOverall {
		return []*bucket{b.buckets[BucketOverall]}
	}
	return []*bucket{k, b.buckets[BucketOverall]}
}

// window is the length of a rate-limit window: Window, or sixty of them on
// an account with hourly limits.
func (b *Budget) window() time.Duration {
	if b.hourly {
		return 60 * b.cfg.Window
	}
	return b.cfg.Window
}

// burst is how many of our calls may start together on k: a twentieth of
// a minute's credit, so an hourly bucket is spread as evenly as a
// per-minute one.
func (b *Budget) burst(k *bucket) int {
	perMinute := k.limit
	if b.hourly {
		perMinute /= 60
	}
	return max(1, perMinute/20)
}

func (b *Budget) nextLocked(name BucketName, now time.Time, unpaced bool) time.Time {
	t := now
	for _, k := range b.chain(name) {
		burst := b.burst(k)
		if unpaced {
			burst = k.limit
		}
		if n := k.next(now, b.window(), b.slack(), burst); n.After(t) {
			t = n
		}
	}
	return t
}

// slack widens the window a little: Freshservice counts a call when it
// arrives, which can be a little later than when it was allowed to start.
// It is about network time, so it does not grow with an hourly window.
func (b *Budget) slack() time.Duration { return min(b.cfg.Window/50, time.Second) }

// paused reports whether a 429 holds any bucket of the chain at now.
func (b *Budget) paused(name BucketName, now time.Time) bool {
	for _, k := range b.chain(name) {
		if k.pausedUntil.After(now) {
			return true
		}
	}
	return false
}

// EstimateWait returns how long a call on the bucket would wait for credit
// if it were made now.
func (b *Budget) EstimateWait(name BucketName) time.Duration {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.nextLocked(name, now, false).Sub(now)
}

type unpacedKey struct{}

// Unpaced marks calls made with the returned context as exempt from the
// budget's spreading: they still never exceed a window's limit, ours and
// others' together, but do not wait their turn behind a small burst. It is
// for the handful of calls a start or a reload makes (the catalog, the key's
// owner), which would otherwise hold the first answer for seconds on a
// small plan while the budget is idle.
func Unpaced(ctx context.Context) context.Context {
	return context.WithValue(ctx, unpacedKey{}, true)
}

func isUnpaced(ctx context.Context) bool {
	v, _ := ctx.Value(unpacedKey{}).(bool)
	return v
}

// Wait reserves credit for one call on the bucket and blocks until it may
// start. It returns how long it waited. If the wait would exceed MaxWait it
// returns a *RateLimitError at once without reserving; if ctx ends first it
// returns ctx's error.
func (b *Budget) Wait(ctx context.Context, name BucketName) (time.Duration, error) {
	return b.wait(ctx, name, time.Time{})
}

// wait is Wait for a call that may not start before notBefore either: the
// retry of a call Freshservice refused with a Retry-After of its own. It
// reserves no credit until notBefore, so calls that may go sooner are not
// queued behind it.
func (b *Budget) wait(ctx context.Context, name BucketName, notBefore time.Time) (time.Duration, error) {
	start := time.Now()
	if d := notBefore.Sub(start); d > 0 {
		if b.cfg.MaxWait > 0 && d > b.cfg.MaxWait {
			return 0, &RateLimitError{Bucket: name, RetryAfter: d}
		}
		if dl, ok := ctx.Deadline(); ok && notBefore.After(dl) {
			return 0, fmt.Errorf("waiting %s for Retry-After (bucket %s): %w", d.Round(time.Millisecond), name, context.DeadlineExceeded)
		}
		if err := sleep(ctx, d); err != nil {
			return time.Since(start), err
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return time.Since(start), err
		}
		now := time.Now()
		b.mu.Lock()
		t := b.nextLocked(name, now, isUnpaced(ctx))
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
		if !b.paused(name, time.Now()) {
			b.waited += time.Since(start)
			b.mu.Unlock()
			return time.Since(start), nil
		}
		b.mu.Unlock()
		// A 429 arrived while this call waited: its slot is void. Give it
		// back, or the credit would count as spent for a whole window, and
		// queue again.
		b.release(name, t)
	}
}

// release gives back a reservation at t that was not used.
func (b *Budget) release(name BucketName, t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range b.chain(name) {
		if k.remove(t) {
			k.used--
		}
	}
}

// Refused records a 429 from Freshservice on a call on the bucket, with the
// response's rate-limit headers and its Retry-After, and returns when that
// call may be tried again: now+retryAfter. Three things can follow:
//   - The headers show the bucket they describe empty (Remaining 0), or
//     show nothing usable: that bucket (when unclear, every bucket the
//     call draws from) is held until the Retry-After ends. Credit recorded
//     as spent by others in it frees by then at the latest: Freshservice
//     just said when its credit comes back.
//   - They show a list bucket with credit left: the overall bucket, which
//     list calls also draw from, is what refused; it is held.
//   - They show the overall bucket with credit left: no bucket ran out, so
//     none is held. Only the refused call waits; other calls go on, and
//     if Freshservice refuses them too, their own 429s say for how long.
//
// The 429's Remaining is never recorded as others' spending: the
// Retry-After already says when credit returns, and a window of credit
// recorded at now would hold the bucket a whole window instead. A 429 on an
// empty bucket whose Retry-After outlasts two minutes means the account
// has hourly limits (§19).
func (b *Budget) Refused(name BucketName, r Rate, retryAfter time.Duration, now time.Time) time.Time {
	until := now.Add(max(retryAfter, 0))
	b.mu.Lock()
	defer b.mu.Unlock()
	call, ok := b.buckets[name]
	if !ok {
		name, call = BucketOverall, b.buckets[BucketOverall]
	}
	overall := b.buckets[BucketOverall]
	if !b.hourly && r.Total >= minHourlyTotal && !perMinuteTotals(b.cfg.Plan)[r.Total] {
		b.setHourly(r.Total)
	}
	// Which bucket do the headers describe? The endpoint's own (§10); on a
	// list call, the one whose total they show, if only one has it.
	var shown *bucket
	switch {
	case r.Total <= 0 || r.Remaining < 0:
	case call == overall:
		shown = overall
	case r.Total == call.total && r.Total != overall.total:
		shown = call
	case r.Total == overall.total && r.Total != call.total:
		shown = overall
	}
	var held []*bucket
	switch {
	case shown == nil:
		held = b.chain(name)
	case r.Remaining == 0:
		held = []*bucket{shown}
	case shown != overall:
		held = []*bucket{overall}
	}
	for _, k := range held {
		if until.After(k.pausedUntil) {
			k.pausedUntil = until
		}
		// Others' credit counts from at most until-window-slack, so it frees
		// by until, as Freshservice said.
		latest := until.Add(-b.window() - b.slack())
		for i := len(k.others) - 1; i >= 0 && k.others[i].After(latest); i-- {
			k.others[i] = latest
		}
	}
	if len(held) > 0 && (shown == nil || r.Remaining == 0) && !b.hourly && retryAfter > 2*b.cfg.Window {
		b.setHourly(0)
	}
	return until
}

// setHourly turns the budget to hourly limits, sizing every bucket to total
// when it is known: a legacy account has one bucket, shown by every
// endpoint. Calls logged so far keep counting, now for an hour.
func (b *Budget) setHourly(total int) {
	b.hourly = true
	if total <= 0 {
		total = b.buckets[BucketOverall].total
	}
	for _, k := range b.buckets {
		k.total = total
		k.limit = shareOf(total, b.cfg.Share)
	}
}

// Observe corrects the bucket from the rate-limit headers of a response
// that was not a 429 (for a 429, see Refused). A different X-RateLimit-Total
// resizes the bucket, or, if no per-minute bucket of the plan has that
// total, turns the budget hourly (§19). X-RateLimit-Remaining is compared
// with what the budget has left: when less is left, the difference is
// recorded as spent by others, and when more is left than others' recorded
// spending allows, that record shrinks to fit: Freshservice's window has
// moved on, or they spent less than inferred.
func (b *Budget) Observe(name BucketName, r Rate, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k, ok := b.buckets[name]
	if !ok {
		return
	}
	if r.Total > 0 && r.Total != k.total {
		if !b.hourly && r.Total >= minHourlyTotal && !perMinuteTotals(b.cfg.Plan)[r.Total] {
			b.setHourly(r.Total)
		}
		k.total = r.Total
		k.limit = shareOf(r.Total, b.cfg.Share)
	}
	if r.Remaining < 0 {
		return
	}
	k.prune(now, b.window())
	// Others' spending beyond the part of the account that is not ours
	// (total-limit) is at most limit-Remaining, and at least that less all
	// our calls in the window (Freshservice may not have counted them all
	// yet, or counted them in a window that has since ended).
	most := max(k.limit-r.Remaining, 0)
	least := k.limit - r.Remaining - len(k.log)
	if len(k.others) > most {
		k.others = append(k.others[:0], k.others[len(k.others)-most:]...)
	}
	// Record the rest as spent now, while there is room.
	for i := least - len(k.others); i > 0 && len(k.log)+len(k.others) < k.limit; i-- {
		k.others = append(k.others, now)
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
	// PausedFor is how much longer a Freshservice 429 holds the bucket;
	// Remaining cannot be spent before it ends.
	PausedFor time.Duration `json:"paused_for_ns,omitempty"`
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
		rem := max(k.limit-k.inWindow(now, b.window()), 0)
		out = append(out, BucketStats{Bucket: name, Total: k.total, Limit: k.limit, Remaining: rem, Started: k.used, OthersSpent: k.extra,
			PausedFor: max(k.pausedUntil.Sub(now), 0)})
	}
	return out, b.waited
}

// Window returns the length of the rate-limit window: the configured one,
// or an hour's worth of them once the account shows hourly limits.
func (b *Budget) Window() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.window()
}

// Hourly reports whether the budget counts the account's limits per hour.
func (b *Budget) Hourly() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hourly
}
