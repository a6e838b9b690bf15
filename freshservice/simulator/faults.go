package simulator

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// faultInjector draws the faults of each request from one seeded RNG. The
// RNG is shared by all requests, so runs are reproducible when requests
// arrive in the same order.
type faultInjector struct {
	mu  sync.Mutex
	f   Faults
	rng *rand.Rand
}

func newFaultInjector(f Faults) *faultInjector {
	fi := &faultInjector{}
	fi.set(f)
	return fi
}

// set replaces the faults and reseeds the RNG, so a test that sets the same
// faults twice sees the same sequence twice.
func (fi *faultInjector) set(f Faults) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.f = f
	fi.rng = rand.New(rand.NewPCG(uint64(f.Seed), 0x5eed))
}

func (fi *faultInjector) get() Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.f
}

// fault is what one request gets.
type fault struct {
	latency time.Duration
	kind    string // "", Injected429, Injected5xx, InjectedDrop, InjectedCommitThenFail
	status  int    // for 5xx, and for commit_then_fail when it does not drop
	drop    bool   // for commit_then_fail: drop instead of answering 5xx
}

// draw decides the fault of one request; write says whether commit-then-fail
// applies.
func (fi *faultInjector) draw(write bool) fault {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f := fi.f
	var out fault
	out.latency = f.Latency
	if f.Jitter > 0 {
		out.latency += time.Duration(fi.rng.Int64N(int64(f.Jitter) + 1))
	}
	if f.Rate429+f.Rate5xx+f.RateDrop+f.RateCommitThenFail == 0 {
		return out
	}
	r := fi.rng.Float64()
	switch {
	case r < f.Rate429:
		out.kind = Injected429
	case r < f.Rate429+f.Rate5xx:
		out.kind = Injected5xx
	case r < f.Rate429+f.Rate5xx+f.RateDrop:
		out.kind = InjectedDrop
	case write && r < f.Rate429+f.Rate5xx+f.RateDrop+f.RateCommitThenFail:
		out.kind = InjectedCommitThenFail
		out.drop = fi.rng.IntN(2) == 0
	}
	if out.kind == Injected5xx || (out.kind == InjectedCommitThenFail && !out.drop) {
		out.status = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[fi.rng.IntN(3)]
	}
	return out
}
