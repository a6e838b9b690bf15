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

// limiter counts credits per bucket per simulated minute. A list request
// draws from its sub-bucket and from overall (sub-limits count inside the
// overall limit); every other request draws from overall only.
type limiter struct {
	mu     sync.Mutex
	start  time.Time // simulated start, the origin of fixed windows
	limits [numBuckets]int

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

// take spends one credit from b (and from overall) at simulated time now, or
// refuses without spending anything if any of them is exhausted.
func (l *limiter) take(b bucket, now time.Time, sliding bool) rateDecision {
	l.mu.Lock()
	defer l.mu.Unlock()
	draw := []bucket{bucketOverall}
	if b != bucketOverall {
		draw = []bucket{b, bucketOverall}
	}
	if sliding {
		for _, x := range draw {
			l.prune(x, now)
			if n := len(l.stamps[x]); n >= l.limits[x] {
				// Room comes back when the oldest credit that keeps the
				// bucket full leaves the window.
				oldest := l.stamps[x][n-l.limits[x]]
				return rateDecision{shown: x, total: l.limits[x], wait: oldest.Add(time.Minute).Sub(now)}
			}
		}
		for _, x := range draw {
			l.stamps[x] = append(l.stamps[x], now)
		}
		return rateDecision{ok: true, shown: b, total: l.limits[b], remaining: l.limits[b] - len(l.stamps[b]), used: 1}
	}
	l.roll(now)
	for _, x := range draw {
		if l.used[x] >= l.limits[x] {
			return rateDecision{shown: x, total: l.limits[x], wait: l.windowEnd().Sub(now)}
		}
	}
	for _, x := range draw {
		l.used[x]++
	}
	return rateDecision{ok: true, shown: b, total: l.limits[b], remaining: l.limits[b] - l.used[b], used: 1}
}

// peek describes b without spending, for responses that cost nothing.
func (l *limiter) peek(b bucket, now time.Time, sliding bool) rateDecision {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sliding {
		l.prune(b, now)
		return rateDecision{ok: true, shown: b, total: l.limits[b], remaining: max(0, l.limits[b]-len(l.stamps[b]))}
	}
	l.roll(now)
	return rateDecision{ok: true, shown: b, total: l.limits[b], remaining: max(0, l.limits[b]-l.used[b])}
}

// untilWindowEnd is the simulated time left in the current fixed window, or a
// whole minute in sliding mode.
func (l *limiter) untilWindowEnd(now time.Time, sliding bool) time.Duration {
	if sliding {
		return time.Minute
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll(now)
	return l.windowEnd().Sub(now)
}

func (l *limiter) roll(now time.Time) {
	w := int64(math.Floor(float64(now.Sub(l.start)) / float64(time.Minute)))
	if w != l.window {
		l.window = w
		l.used = [numBuckets]int{}
	}
}

func (l *limiter) windowEnd() time.Time {
	return l.start.Add(time.Duration(l.window+1) * time.Minute)
}

func (l *limiter) prune(b bucket, now time.Time) {
	cut := now.Add(-time.Minute)
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
