package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/server"
	"github.com/fsbridge/fsbridge/scim"
)

// The lookup part (-lookup): what an IdP's find-before-create costs the bridge, alone. A fresh
// SQLite store holds N users (the 100,000-user part's synthetic users: mirror snapshot and desired
// state), the bridge starts on it as a restart does, and the benchmark's IdP sends
// GET /Users?filter=userName eq "…" for random users with C requests in flight, over loopback HTTP.
// It prints lookups per second, the latency the IdP sees (p50, p99, max), and the heap allocated
// per lookup: in the whole process (the bridge, Go's HTTP server, and the benchmark's client, which
// reuses its requests and buffers so that it adds as little as it can), and in the bridge's handler
// alone (the same lookups served in process, one at a time, without a connection).
//
// The client and the bridge share the machine's cores, as they do in every part of this benchmark,
// so the numbers are those of a bridge given what the client leaves it.

// lookupParams size the lookup part.
type lookupParams struct {
	Users       int
	Lookups     int
	Concurrency int
	Plan        string
	Progress    func(format string, args ...any)
}

// lookupResult is what the lookup part measured.
type lookupResult struct {
	P            lookupParams
	Start        time.Duration // from opening the store to the first answered lookup
	Open, New    time.Duration // of which opening the store, and server.New
	BudgetWait   time.Duration // of which Freshservice calls waited for API budget
	Elapsed      time.Duration
	Rate         float64
	Latency      []time.Duration // per lookup, as the IdP saw it
	AllocProcess float64         // heap bytes allocated in the process per lookup, concurrent run
	AllocHandler float64         // heap bytes allocated by the handler per lookup, in process
	GCCycles     uint64
	Problems     []string
}

const lookupWarmup = 500

func runLookups(ctx context.Context, p lookupParams, logw io.Writer) (*lookupResult, error) {
	res := &lookupResult{P: p}
	e, err := newSimEnv(envOptions{Plan: p.Plan, TimeScale: 1, Concurrency: p.Concurrency, Log: logw})
	if err != nil {
		return nil, err
	}
	defer e.Close()
	if err := seedScaleStore(ctx, e.cfg.Store.Path, e.sim, scaleParams{Users: p.Users, Managed: p.Users}); err != nil {
		return nil, fmt.Errorf("seeding the store: %w", err)
	}
	if p.Progress != nil {
		p.Progress("  lookup: %d users written; starting the bridge on them", p.Users)
	}
	start := time.Now()
	st, err := server.OpenStore(ctx, e.cfg.Store)
	if err != nil {
		return nil, err
	}
	e.store = st
	res.Open = time.Since(start)
	var waited atomic.Int64
	srv, err := server.New(ctx, e.cfg, server.Options{Store: st, Log: zerolog.New(logw).Level(zerolog.WarnLevel),
		ObserveCall: func(_ context.Context, c freshservice.Call) { waited.Add(int64(c.Waited)) }})
	if err != nil {
		return nil, err
	}
	res.New = time.Since(start) - res.Open
	e.srv = srv
	e.scim = httptest.NewServer(srv.Handler)
	base := e.scim.URL + scim.Prefix

	// The lookups: userName eq "…" of random users, as Okta sends them.
	rng := rand.New(rand.NewPCG(3, 4))
	query := func() string {
		u := scaleUser(rng.IntN(p.Users), nil, nil, nil, time.Now())
		return "filter=" + url.QueryEscape(`userName eq "`+u.Email+`"`) + "&startIndex=1&count=100"
	}
	queries := make([]string, lookupWarmup+p.Lookups)
	for i := range queries {
		queries[i] = query()
	}
	lc := newLeanClient(ctx, base, p.Concurrency)
	defer lc.close()
	var problems sync.Mutex
	problem := func(format string, args ...any) {
		problems.Lock()
		defer problems.Unlock()
		if len(res.Problems) < maxProblemsToKeep {
			res.Problems = append(res.Problems, fmt.Sprintf(format, args...))
		}
	}
	one := func(w *leanWorker, q string) time.Duration {
		status, body, d, err := lc.get(w, "/Users", q)
		if err != nil {
			problem("lookup: %v", err)
			return 0
		}
		if status != http.StatusOK || !bytes.Contains(body, []byte(`"totalResults":1`)) {
			problem("lookup %s: %d %.200s", q, status, body)
		}
		return d
	}
	// The restart ends with the first answer.
	first := lc.worker()
	for {
		one(first, queries[0])
		if len(res.Problems) == 0 {
			break
		}
		if time.Since(start) > time.Minute {
			return nil, fmt.Errorf("no answer to the first lookup after a minute: %v", res.Problems)
		}
		res.Problems = nil
		time.Sleep(time.Millisecond)
	}
	res.Start = time.Since(start)
	res.BudgetWait = time.Duration(waited.Load())
	workers := make([]*leanWorker, p.Concurrency)
	for i := range workers {
		workers[i] = lc.worker()
	}
	run := func(qs []string, lat []time.Duration) {
		runParallel(ctx, workers, len(qs), func(w *leanWorker, i int) {
			d := one(w, qs[i])
			if lat != nil {
				lat[i] = d
			}
		})
	}
	run(queries[:lookupWarmup], nil)
	if p.Progress != nil {
		p.Progress("  lookup: warm; %d lookups with %d in flight", p.Lookups, p.Concurrency)
	}
	runtime.GC()
	res.Latency = make([]time.Duration, p.Lookups)
	gc0, alloc0 := gcCycles(), heapAllocs()
	t := time.Now()
	run(queries[lookupWarmup:], res.Latency)
	res.Elapsed = time.Since(t)
	res.AllocProcess = float64(heapAllocs()-alloc0) / float64(p.Lookups)
	res.GCCycles = gcCycles() - gc0
	res.Rate = float64(p.Lookups) / res.Elapsed.Seconds()

	// The handler alone: the same lookups, in process, one at a time.
	n := min(p.Lookups, 2000)
	reqs := make([]*http.Request, n)
	for i := range reqs {
		r := httptest.NewRequest(http.MethodGet, scim.Prefix+"/Users?"+queries[lookupWarmup+i], nil)
		r.Header.Set("Authorization", "Bearer "+benchToken)
		reqs[i] = r
	}
	w := &discardWriter{h: http.Header{}}
	runtime.GC()
	alloc0 = heapAllocs()
	for _, r := range reqs {
		clear(w.h)
		w.status = 0
		srv.Handler.ServeHTTP(w, r)
		if w.status != 0 && w.status != http.StatusOK {
			problem("in-process lookup: %d", w.status)
		}
	}
	res.AllocHandler = float64(heapAllocs()-alloc0) / float64(n)
	return res, nil
}

// runParallel runs fn for i in [0, n), each worker taking the next i until none is left.
func runParallel(ctx context.Context, workers []*leanWorker, n int, fn func(w *leanWorker, i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				fn(w, i)
			}
		}()
	}
	wg.Wait()
}

// leanClient is the benchmark's IdP when what is measured is the bridge's own cost: each worker
// reuses one request and one buffer, and answers are checked as bytes, not decoded, so the client
// takes as little of the machine the bridge runs on as it can.
type leanClient struct {
	ctx       context.Context
	base      *url.URL
	transport *http.Transport
	client    *http.Client
}

type leanWorker struct {
	req *http.Request
	buf bytes.Buffer
}

func newLeanClient(ctx context.Context, base string, conc int) *leanClient {
	u, _ := url.Parse(base)
	t := &http.Transport{MaxIdleConnsPerHost: 2 * conc, MaxIdleConns: 4 * conc}
	return &leanClient{ctx: ctx, base: u, transport: t, client: &http.Client{Transport: t}}
}

func (c *leanClient) close() { c.transport.CloseIdleConnections() }

func (c *leanClient) worker() *leanWorker {
	u := *c.base
	req, _ := http.NewRequestWithContext(c.ctx, http.MethodGet, u.String(), nil)
	req.Header.Set("Authorization", "Bearer "+benchToken)
	req.Header.Set("Accept", "application/scim+json")
	return &leanWorker{req: req}
}

// get sends GET base+path?query and returns the status, the body (valid until the worker's next
// request) and the round trip.
func (c *leanClient) get(w *leanWorker, path, query string) (int, []byte, time.Duration, error) {
	w.req.URL.Path = c.base.Path + path
	w.req.URL.RawQuery = query
	t := time.Now()
	resp, err := c.client.Do(w.req)
	if err != nil {
		return 0, nil, 0, err
	}
	w.buf.Reset()
	_, _ = w.buf.ReadFrom(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, w.buf.Bytes(), time.Since(t), nil
}

// discardWriter is a ResponseWriter that keeps nothing but the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(b), nil
}

func (r *lookupResult) print(w io.Writer) {
	lat := append([]time.Duration(nil), r.Latency...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	fmt.Fprintf(w, "\n== lookups (-lookup): %d users in the store, GET /Users?filter=userName eq \"…\", %d in flight over loopback HTTP\n", r.P.Users, r.P.Concurrency)
	fmt.Fprintf(w, "   restart: %s to the first answer (opening the store %s, server.New %s, of which Freshservice calls waited %s for API budget)\n",
		r.Start.Round(time.Millisecond), r.Open.Round(time.Millisecond), r.New.Round(time.Millisecond), r.BudgetWait.Round(time.Millisecond))
	fmt.Fprintf(w, "   %d lookups in %s: %.0f lookups/s; latency p50 %s p99 %s max %s; %d garbage collections\n",
		len(r.Latency), r.Elapsed.Round(time.Millisecond), r.Rate, ms(pct(lat, 50)), ms(pct(lat, 99)), ms(pct(lat, 100)), r.GCCycles)
	fmt.Fprintf(w, "   allocated per lookup: %.1f KB in the process (bridge, HTTP server and client), %.1f KB in the bridge's handler\n",
		r.AllocProcess/1024, r.AllocHandler/1024)
	for _, pr := range r.Problems {
		fmt.Fprintf(w, "   PROBLEM: %s\n", pr)
	}
}

func (r *lookupResult) targets() []target {
	lat := append([]time.Duration(nil), r.Latency...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return []target{
		{Name: fmt.Sprintf("lookup allocations, %dk users", r.P.Users/1000), Measured: fmt.Sprintf("%.1f KB per lookup in the handler (%.1f KB in the process)", r.AllocHandler/1024, r.AllocProcess/1024),
			Want: "<= 10 KB", Status: passFail(r.AllocHandler <= 10*1024 && len(r.Problems) == 0)},
		{Name: fmt.Sprintf("lookups, %dk users, %d in flight", r.P.Users/1000, r.P.Concurrency), Measured: fmt.Sprintf("%.0f lookups/s, p99 %s", r.Rate, ms(pct(lat, 99))),
			Want: "measured (compare runs)", Status: "INFO"},
	}
}
