package simulator

import (
	"maps"
	"strconv"
	"sync"
	"time"
)

// Stats counts the /api/v2 requests served since start or the last Reset.
// Control endpoints under /_simulator are not counted.
type Stats struct {
	// Total counts every /api/v2 request, including unauthenticated,
	// rate-limited, faulted and dropped ones.
	Total int `json:"total"`
	// RateLimited counts requests the rate limiter refused with 429;
	// injected 429s are counted in Injected instead.
	RateLimited int `json:"rate_limited"`
	// ByRoute counts by "METHOD /api/v2/path", with every numeric path
	// segment written as {id} and the query string left out.
	ByRoute map[string]int `json:"by_route"`
	// ByStatus counts by the status sent. Dropped connections sent no
	// status and are not counted here.
	ByStatus map[string]int `json:"by_status"`
	// Injected counts the faults injected, by kind.
	Injected InjectedStats `json:"injected"`
}

// InjectedStats counts injected faults by kind.
type InjectedStats struct {
	TooManyRequests int `json:"429"`
	ServerError     int `json:"5xx"`
	Drop            int `json:"drop"`
	CommitThenFail  int `json:"commit_then_fail"`
}

// Injected fault kinds, as they appear in Request.Injected.
const (
	Injected429            = "429"
	Injected5xx            = "5xx"
	InjectedDrop           = "drop"
	InjectedCommitThenFail = "commit_then_fail"
)

// Request describes one /api/v2 request the server received.
type Request struct {
	// Time is the real time the request arrived (Options.Now).
	Time time.Time `json:"time"`
	// SimTime is the simulated time the request arrived.
	SimTime time.Time `json:"sim_time"`
	// ID is the X-Request-Id the response carried.
	ID     string `json:"id"`
	Method string `json:"method"`
	// Route is the templated path, e.g. "/api/v2/requesters/{id}".
	Route string `json:"route"`
	Path  string `json:"path"`
	// Query is the raw query string.
	Query string `json:"query,omitempty"`
	// Body is the request body, cut at maxRecordedBody bytes.
	Body string `json:"body,omitempty"`
	// Status is the status sent, or 0 when the connection was dropped.
	Status int `json:"status"`
	// Bucket is the rate-limit bucket the request drew from: "overall",
	// "list_agents" or "list_requesters"; empty when unauthenticated.
	Bucket string `json:"bucket,omitempty"`
	// RateLimited is true when the rate limiter refused the request.
	RateLimited bool `json:"rate_limited,omitempty"`
	// Injected is the fault injected: "", "429", "5xx", "drop" or
	// "commit_then_fail".
	Injected string `json:"injected,omitempty"`
}

const (
	maxRecordedBody     = 4 << 10
	maxRecordedRequests = 100_000
)

// recorder keeps the stats and the request log.
type recorder struct {
	mu       sync.Mutex
	stats    Stats
	requests []Request
}

func newRecorder() *recorder {
	r := &recorder{}
	r.reset()
	return r
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats = Stats{ByRoute: map[string]int{}, ByStatus: map[string]int{}}
	r.requests = nil
}

func (r *recorder) record(req Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Total++
	r.stats.ByRoute[req.Method+" "+req.Route]++
	if req.Status != 0 {
		r.stats.ByStatus[strconv.Itoa(req.Status)]++
	}
	if req.RateLimited {
		r.stats.RateLimited++
	}
	switch req.Injected {
	case Injected429:
		r.stats.Injected.TooManyRequests++
	case Injected5xx:
		r.stats.Injected.ServerError++
	case InjectedDrop:
		r.stats.Injected.Drop++
	case InjectedCommitThenFail:
		r.stats.Injected.CommitThenFail++
	}
	// The log is capped so that a long-running simulator does not grow
	// without bound; tests never come near the cap.
	if len(r.requests) >= maxRecordedRequests {
		r.requests = append(r.requests[:0], r.requests[len(r.requests)/2:]...)
	}
	r.requests = append(r.requests, req)
}

func (r *recorder) snapshot() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.ByRoute = maps.Clone(r.stats.ByRoute)
	s.ByStatus = maps.Clone(r.stats.ByStatus)
	return s
}

func (r *recorder) log() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}
