package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/reqctx"
	"github.com/fsbridge/fsbridge/internal/server"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/scim"
)

const (
	benchToken  = "bench-token-0123456789abcdef"
	benchAPIKey = "bench-api-key-0123456789"
)

// envOptions describe one simulator + bridge pair.
type envOptions struct {
	Plan      string
	TimeScale float64
	// Share is the fraction of the plan's budget the bridge may spend.
	Share float64
	// NoMirror builds the naive baseline: no mirror, no walk, no
	// background pass.
	NoMirror bool
	// Dir holds the SQLite file; a fresh temporary directory when empty.
	Dir string
	// MaxWait overrides the longest budget wait before the IdP gets 429
	// (default: the configured 10 s, scaled).
	MaxWait time.Duration
	// Concurrency sizes the HTTP client's connection pool.
	Concurrency int
	Log         io.Writer
}

// env is a simulator and a bridge over real HTTP in this process, with
// every SCIM request and every Freshservice attempt recorded.
type env struct {
	opts   envOptions
	sim    *simulator.Server
	simSrv *httptest.Server
	srv    *server.Server
	scim   *httptest.Server
	url    string // SCIM base URL
	cfg    config.Config
	rec    *recorder
	srec   *storeRecorder
	store  store.Store // the bridge's store, opened here so its calls can be timed
	client *http.Client
	dir    string
	ownDir bool

	stopRun func()
	seq     atomic.Int64
}

// benchRules are the demo's rules: the SCIM group "FS Agents" makes
// full-time SD Agents in Service Desk, the group "FS Admins" or the app
// role "Admin" makes Account Admins, and the SCIM group "Network Team" is
// the agent group of that name.
func benchRules() config.Rules {
	return config.Rules{
		RoleGroups: []config.RoleGroup{
			{Match: config.Match{DisplayName: "FS Agents"}, Roles: []config.RoleGrant{{Role: "SD Agent", Scope: "member_groups"}}, MemberOf: []string{"Service Desk"}},
			{Name: "admins", Match: config.Match{DisplayName: "FS Admins", Role: "Admin"}, Roles: []config.RoleGrant{{Role: "Account Admin", Scope: "entire_helpdesk"}}},
		},
		AgentGroups: []config.AgentGroupMap{{Match: config.Match{DisplayName: "Network Team"}}},
	}
}

// scaled divides a real-world duration by the time scale, so that
// intervals the configuration gives in Freshservice time (the walk
// interval, the longest budget wait an IdP tolerates) keep their meaning
// when a simulated minute passes in a fraction of a second.
func scaled(d time.Duration, scale float64) time.Duration {
	if scale <= 1 {
		return d
	}
	return time.Duration(float64(d) / scale)
}

// newEnv starts a simulator and a bridge. With a mirror it runs the first
// walk and then the background work, as the serve command does.
func newEnv(ctx context.Context, o envOptions) (*env, error) {
	e, err := newSimEnv(o)
	if err != nil {
		return nil, err
	}
	if err := e.start(ctx, !e.opts.NoMirror); err != nil {
		e.Close()
		return nil, err
	}
	if !e.opts.NoMirror {
		if err := e.srv.Bridge.Walk(ctx); err != nil {
			e.Close()
			return nil, fmt.Errorf("first walk: %w", err)
		}
		e.runBackground()
	}
	return e, nil
}

// newSimEnv starts the simulator and prepares the bridge's configuration,
// without starting the bridge.
func newSimEnv(o envOptions) (*env, error) {
	if o.Plan == "" {
		o.Plan = "starter"
	}
	if o.TimeScale <= 0 {
		o.TimeScale = 1
	}
	if o.Share <= 0 {
		o.Share = 1
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	e := &env{opts: o, rec: newRecorder(), srec: newStoreRecorder()}
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "fsbridge-bench-")
		if err != nil {
			return nil, err
		}
		e.dir, e.ownDir = d, true
	} else {
		e.dir = o.Dir
	}
	sim, err := simulator.New(simulator.Options{APIKey: benchAPIKey, Plan: o.Plan, TimeScale: o.TimeScale})
	if err != nil {
		e.Close()
		return nil, err
	}
	e.sim = sim
	e.simSrv = httptest.NewServer(sim)

	cfg := config.Default()
	cfg.Freshservice.URL = e.simSrv.URL
	cfg.Freshservice.APIKey = config.Secret(benchAPIKey)
	cfg.Freshservice.Plan = o.Plan
	cfg.Freshservice.Share = o.Share
	cfg.Freshservice.Window = sim.Window()
	cfg.Freshservice.MaxWait = scaled(cfg.Freshservice.MaxWait, o.TimeScale)
	if o.MaxWait > 0 {
		cfg.Freshservice.MaxWait = o.MaxWait
	}
	cfg.SCIM.Tokens = []config.Token{{Name: "bench", Token: config.Secret(benchToken)}}
	cfg.Store.Path = filepath.Join(e.dir, "fsbridge.db")
	cfg.Mirror.RefreshInterval = max(scaled(cfg.Mirror.RefreshInterval, o.TimeScale), time.Second)
	cfg.Reconcile.Interval = max(scaled(cfg.Reconcile.Interval, o.TimeScale), 50*time.Millisecond)
	cfg.Rules = benchRules()
	if err := cfg.Validate(); err != nil {
		e.Close()
		return nil, err
	}
	e.cfg = cfg
	return e, nil
}

// start builds the bridge on e.cfg and serves it; the simulator must be
// running.
func (e *env) start(ctx context.Context, mirror bool) error {
	logw := e.opts.Log
	if logw == nil {
		logw = io.Discard
	}
	st, err := server.OpenStore(ctx, e.cfg.Store)
	if err != nil {
		return err
	}
	e.store = st
	srv, err := server.New(ctx, e.cfg, server.Options{
		Store:          &timedStore{Store: st, rec: e.srec},
		Log:            zerolog.New(logw).Level(zerolog.WarnLevel),
		ObserveRequest: e.rec.observeRequest,
		ObserveCall:    e.rec.observeCall,
		HTTPClient:     &http.Client{Timeout: e.cfg.Freshservice.Timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	})
	if err != nil {
		return err
	}
	e.srv = srv
	h := srv.Handler
	if !mirror {
		h = naive(srv.Bridge, srv.Client, h)
	}
	e.scim = httptest.NewServer(e.rec.middleware(h))
	e.url = e.scim.URL + scim.Prefix
	e.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * e.opts.Concurrency, MaxIdleConns: 4 * e.opts.Concurrency}}
	return nil
}

// runBackground runs the bridge's background work (walks, reconcile)
// until Close.
func (e *env) runBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.srv.Bridge.Run(ctx)
	}()
	e.stopRun = func() {
		cancel()
		<-done
	}
}

// Close stops everything e started and removes its temporary directory.
func (e *env) Close() {
	if e.stopRun != nil {
		e.stopRun()
		e.stopRun = nil
	}
	if e.scim != nil {
		e.scim.Close()
	}
	if e.srv != nil {
		e.srv.Close()
	}
	if e.store != nil {
		_ = e.store.Close()
	}
	if e.simSrv != nil {
		e.simSrv.Close()
	}
	if e.ownDir {
		_ = os.RemoveAll(e.dir)
	}
}

// response is one SCIM answer as the IdP saw it.
type response struct {
	Status int
	Body   map[string]any
	Raw    []byte
	Header http.Header
}

// do performs one IdP operation: it sends the SCIM request tagged with
// kind and records it. A 429 is retried as an IdP honouring Retry-After
// does, until the operation succeeds or maxIdPRetries is reached; every 429
// is counted.
//
// Retry-After is whole seconds of the bridge's (real) clock. At real time
// its rounding is negligible against a 60-second window; in a time-scaled
// run one second can be many simulated minutes. So the benchmark's IdP
// comes back when the bridge's budget has room again (Budget.EstimateWait,
// which is what the header rounds up), at least 1 ms later and at most
// one rate-limit window later.
func (e *env) do(ctx context.Context, kind, method, path string, body any) (response, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return response{}, err
		}
	}
	op := opRecord{Kind: kind, Start: time.Now()}
	defer func() { e.rec.addOp(op) }()
	for attempt := 1; ; attempt++ {
		id := "bench-" + strconv.FormatInt(e.seq.Add(1), 10)
		var r io.Reader
		if payload != nil {
			r = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, e.url+path, r)
		if err != nil {
			return response{}, err
		}
		req.Header.Set("Authorization", "Bearer "+benchToken)
		req.Header.Set("X-Request-Id", id)
		req.Header.Set("Accept", "application/scim+json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/scim+json")
		}
		start := time.Now()
		resp, err := e.client.Do(req)
		if err != nil {
			return response{}, fmt.Errorf("%s %s: %w", method, path, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		op.Attempts = append(op.Attempts, attemptRecord{ID: id, Status: resp.StatusCode, RTT: time.Since(start)})
		out := response{Status: resp.StatusCode, Raw: raw, Header: resp.Header}
		if len(bytes.TrimSpace(raw)) > 0 {
			_ = json.Unmarshal(raw, &out.Body)
		}
		if resp.StatusCode != http.StatusTooManyRequests || attempt >= maxIdPRetries {
			return out, nil
		}
		wait := e.srv.Client.Budget().EstimateWait(freshservice.BucketOverall)
		wait = min(max(wait, time.Millisecond), e.cfg.Freshservice.Window)
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// maxIdPRetries bounds the attempts of one operation.
const maxIdPRetries = 1000

// opRecord is one IdP operation: a SCIM request and its retries after 429.
type opRecord struct {
	Kind     string
	Start    time.Time
	Attempts []attemptRecord
}

// attemptRecord is one SCIM request the benchmark sent.
type attemptRecord struct {
	ID     string
	Status int
	RTT    time.Duration // as the IdP saw it, loopback HTTP included
	// Filled in by the recorder's join.
	Server time.Duration // time in the bridge's handler
	Calls  []callRecord
	Store  storeCost // time in store calls and lock waits
}

// final is the attempt whose answer the operation ended with.
func (o opRecord) final() attemptRecord { return o.Attempts[len(o.Attempts)-1] }

// calls returns the Freshservice attempts made for every attempt of op.
func (o opRecord) calls() []callRecord {
	var out []callRecord
	for _, a := range o.Attempts {
		out = append(out, a.Calls...)
	}
	return out
}

// callRecord is one Freshservice HTTP attempt.
type callRecord struct {
	At       time.Time
	ReqID    string // the SCIM request it was made for; "" for background work
	Method   string
	Route    string
	Bucket   freshservice.BucketName
	Status   int
	Reason   freshservice.Reason
	Attempt  int
	Duration time.Duration
	Waited   time.Duration
}

// useful is a call that did its work: it got an answer and the answer was
// not a failure (429, 5xx, 4xx, transport). A retry that succeeds is
// useful; the failed attempts before it are not.
func (c callRecord) useful() bool { return c.Reason == "" && c.Status >= 200 && c.Status < 300 }

func (c callRecord) name() string { return c.Method + " " + c.Route }

// recorder collects what the observers report.
type recorder struct {
	mu       sync.Mutex
	ops      []opRecord
	calls    []callRecord
	server   map[string]time.Duration // request id -> handler time
	requests []scim.RequestRecord
}

func newRecorder() *recorder { return &recorder{server: map[string]time.Duration{}} }

func (r *recorder) observeCall(ctx context.Context, c freshservice.Call) {
	rec := callRecord{
		At: time.Now(), ReqID: reqctx.RequestID(ctx), Method: c.Method, Route: c.Route, Bucket: c.Bucket,
		Status: c.Status, Reason: c.Reason, Attempt: c.Attempt, Duration: c.Duration, Waited: c.Waited,
	}
	r.mu.Lock()
	r.calls = append(r.calls, rec)
	r.mu.Unlock()
}

func (r *recorder) observeRequest(rr scim.RequestRecord) {
	r.mu.Lock()
	r.requests = append(r.requests, rr)
	r.mu.Unlock()
}

func (r *recorder) addOp(o opRecord) {
	r.mu.Lock()
	r.ops = append(r.ops, o)
	r.mu.Unlock()
}

// middleware times each request inside the server, keyed by the request
// id the benchmark sent.
func (r *recorder) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, req)
		d := time.Since(start)
		if id := req.Header.Get("X-Request-Id"); id != "" {
			r.mu.Lock()
			r.server[id] = d
			r.mu.Unlock()
		}
	})
}

// mark is a position in the recorder's logs.
type mark struct {
	ops, calls, requests int
	at                   time.Time
}

func (r *recorder) mark() mark {
	r.mu.Lock()
	defer r.mu.Unlock()
	return mark{ops: len(r.ops), calls: len(r.calls), requests: len(r.requests), at: time.Now()}
}

// window is what was recorded between two marks: the benchmark's
// requests joined with their handler time and Freshservice calls, the
// calls made by background work, and the edge's request records.
type window struct {
	Ops        []opRecord
	Background []callRecord
	Calls      []callRecord
	Requests   []scim.RequestRecord
	Start, End time.Time
}

func (r *recorder) since(from, to mark) window {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := window{Start: from.at, End: to.at}
	w.Ops = append([]opRecord(nil), r.ops[from.ops:to.ops]...)
	w.Calls = append([]callRecord(nil), r.calls[from.calls:to.calls]...)
	w.Requests = append([]scim.RequestRecord(nil), r.requests[from.requests:to.requests]...)
	type pos struct{ op, attempt int }
	byID := map[string]pos{}
	for i := range w.Ops {
		w.Ops[i].Attempts = append([]attemptRecord(nil), w.Ops[i].Attempts...)
		for j := range w.Ops[i].Attempts {
			a := &w.Ops[i].Attempts[j]
			byID[a.ID] = pos{i, j}
			a.Server = r.server[a.ID]
		}
	}
	for _, c := range w.Calls {
		if p, ok := byID[c.ReqID]; ok && c.ReqID != "" {
			a := &w.Ops[p.op].Attempts[p.attempt]
			a.Calls = append(a.Calls, c)
		} else {
			w.Background = append(w.Background, c)
		}
	}
	return w
}

// since is the recorder's window between two marks, with each request's
// store time.
func (e *env) since(from, to mark) window {
	w := e.rec.since(from, to)
	for i := range w.Ops {
		for j := range w.Ops[i].Attempts {
			a := &w.Ops[i].Attempts[j]
			a.Store = e.srec.cost(a.ID)
		}
	}
	return w
}

// doOnce sends one SCIM request without retrying a 429 and without
// recording it.
func (e *env) doOnce(ctx context.Context, method, path string, body any) (response, error) {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, r)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+benchToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, Raw: raw, Header: resp.Header}
	if len(bytes.TrimSpace(raw)) > 0 {
		_ = json.Unmarshal(raw, &out.Body)
	}
	return out, nil
}
