package simulator

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// bucket is a rate-limit bucket (reference §10).
type bucket int

const (
	bucketOverall bucket = iota
	bucketListAgents
	bucketListRequesters
	numBuckets
)

func (b bucket) String() string {
	switch b {
	case bucketListAgents:
		return "list_agents"
	case bucketListRequesters:
		return "list_requesters"
	}
	return "overall"
}

// rateMode is how the account's limits are counted, from the switches.
type rateMode struct {
	sliding bool
	// hourly, when positive, is a legacy account's per-hour limit (§10,
	// §19): one bucket, counted per simulated hour, that every request
	// draws from, list calls included.
	hourly int
}

func (m rateMode) period() time.Duration {
	if m.hourly > 0 {
		return time.Hour
	}
	return time.Minute
}

// limiter counts credits per bucket per simulated minute (or hour). A list
// request draws from its sub-bucket and from overall (sub-limits count
// inside the overall limit); every other request draws from overall only.
type limiter struct {
	mu     sync.Mutex
	start  time.Time // simulated start, the origin of fixed windows
	limits [numBuckets]int

	// mode is the mode the counts below were made in; a change of mode
	// starts counting afresh.
	mode   rateMode
	window int64 // index of the current fixed window
	used   [numBuckets]int

	stamps [numBuckets][]time.Time // sliding mode: simulated times of credits spent
}

func newLimiter(plan string, start time.Time) *limiter {
	p := plans[plan]
	return &limiter{start: start, limits: [numBuckets]int{p.overall, p.list, p.list}}
}

// rateDecision is the outcome of one take, and the values of the rate-limit
// headers.
type rateDecision struct {
	ok bool
	// shown is the bucket the headers describe: the endpoint's bucket, or
	// on a refusal the bucket that refused.
	shown            bucket
	total, remaining int
	used             int
	// wait is the simulated time until the refusing bucket has room.
	wait time.Duration
}

func (l *limiter) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.used = [numBuckets]int{}
	l.stamps = [numBuckets][]time.Time{}
}

// setMode switches to m, forgetting counts made in another mode.
func (l *limiter) setMode(m rateMode) {
	if m != l.mode {
		l.mode = m
		l.window = math.MinInt64
		l.used = [numBuckets]int{}
		l.stamps = [numBuckets][]time.Time{}
	}
}

// limit is b's limit in the current mode.
func (l *limiter) limit(b bucket) int {
	if l.mode.hourly > 0 {
		return l.mode.hourly
	}
	return l.limits[b]
}

// draws is the buckets a request on b draws from, its own first. On an
// hourly account there is only the one.
func (l *limiter) draws(b bucket) []bucket {
	if b == bucketOverall || l.mode.hourly > 0 {
		return []bucket{bucketOverall}
	}
	return []bucket{b, bucketOverall}
}

// take spends one credit from b (and from overall) at simulated time now, or
// refuses without spending anything if any of them is exhausted.
func (l *limiter) take(b bucket, now time.Time, m rateMode) rateDecision {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setMode(m)
	draw := l.draws(b)
	shown := draw[0]
	if m.sliding {
		for _, x := range draw {
			l.prune(x, now)
			if n := len(l.stamps[x]); n >= l.limit(x) {
				// Room comes back when the oldest credit that keeps the
				// bucket full leaves the window.
				oldest := l.stamps[x][n-l.limit(x)]
				return rateDecision{shown: x, total: l.limit(x), wait: oldest.Add(m.period()).Sub(now)}
			}
		}
		for _, x := range draw {
			l.stamps[x] = append(l.stamps[x], now)
		}
		return rateDecision{ok: true, shown: shown, total: l.limit(shown), remaining: l.limit(shown) - len(l.stamps[shown]), used: 1}
	}
	l.roll(now)
	for _, x := range draw {
		if l.used[x] >= l.limit(x) {
			return rateDecision{shown: x, total: l.limit(x), wait: l.windowEnd().Sub(now)}
		}
	}
	for _, x := range draw {
		l.used[x]++
	}
	return rateDecision{ok: true, shown: shown, total: l.limit(shown), remaining: l.limit(shown) - l.used[shown], used: 1}
}

// refund gives back the credit a take on b spent at now, for a request that
// was refused after all: a refused request does nothing and costs nothing.
func (l *limiter) refund(b bucket, now time.Time, m rateMode) rateDecision {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setMode(m)
	draw := l.draws(b)
	if m.sliding {
		for _, x := range draw {
			for i := len(l.stamps[x]) - 1; i >= 0; i-- {
				if l.stamps[x][i].Equal(now) {
					l.stamps[x] = append(l.stamps[x][:i], l.stamps[x][i+1:]...)
					break
				}
			}
		}
		l.prune(draw[0], now)
		return rateDecision{shown: draw[0], total: l.limit(draw[0]), remaining: max(0, l.limit(draw[0])-len(l.stamps[draw[0]]))}
	}
	l.roll(now)
	for _, x := range draw {
		l.used[x] = max(0, l.used[x]-1)
	}
	return rateDecision{shown: draw[0], total: l.limit(draw[0]), remaining: max(0, l.limit(draw[0])-l.used[draw[0]])}
}

// peek describes b without spending, for responses that cost nothing.
func (l *limiter) peek(b bucket, now time.Time, m rateMode) rateDecision {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setMode(m)
	b = l.draws(b)[0]
	if m.sliding {
		l.prune(b, now)
		return rateDecision{ok: true, shown: b, total: l.limit(b), remaining: max(0, l.limit(b)-len(l.stamps[b]))}
	}
	l.roll(now)
	return rateDecision{ok: true, shown: b, total: l.limit(b), remaining: max(0, l.limit(b)-l.used[b])}
}

// untilWindowEnd is the simulated time left in the current fixed window, or
// a whole window in sliding mode.
func (l *limiter) untilWindowEnd(now time.Time, m rateMode) time.Duration {
	if m.sliding {
		return m.period()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setMode(m)
	l.roll(now)
	return l.windowEnd().Sub(now)
}

func (l *limiter) roll(now time.Time) {
	w := int64(math.Floor(float64(now.Sub(l.start)) / float64(l.mode.period())))
	if w != l.window {
		l.window = w
		l.used = [numBuckets]int{}
	}
}

func (l *limiter) windowEnd() time.Time {
	return l.start.Add(time.Duration(l.window+1) * l.mode.period())
}

func (l *limiter) prune(b bucket, now time.Time) {
	cut := now.Add(-l.mode.period())
	s := l.stamps[b]
	i := 0
	for i < len(s) && !s[i].After(cut) {
		i++
	}
	l.stamps[b] = s[i:]
}

// retryAfter turns a simulated wait into the Retry-After value, in real
// seconds rounded up to one simulated second, at least one simulated
// second. At scale 1 that is Freshservice's whole seconds. Time-scaled, a
// whole real second would be a simulated minute, so the value keeps the
// fraction ("0.25"); clients that read Retry-After as a decimal number of
// seconds (the freshservice client does) wait as long as Freshservice
// would have made them wait.
func retryAfter(simWait time.Duration, scale float64) string {
	if scale <= 1 {
		secs := int(math.Ceil(float64(simWait) / scale / float64(time.Second)))
		return strconv.Itoa(max(secs, 1))
	}
	simSecs := max(math.Ceil(simWait.Seconds()), 1)
	return strconv.FormatFloat(math.Ceil(simSecs/scale*1000)/1000, 'f', -1, 64)
}
