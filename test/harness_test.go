package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/server"
)

const (
	testToken  = "test-token-0123456789abcdef"
	testAPIKey = "test-api-key-0123456789"
)

// env is one bridge in front of one simulator, both over real HTTP.
type env struct {
	t      *testing.T
	sim    *simulator.Server
	simURL string
	srv    *server.Server
	url    string // SCIM base URL
	cfg    config.Config
	logs   *syncWriter
}

type envOption func(*config.Config, *simulator.Options)

// newEnv starts a simulator and a bridge configured by opts.
func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	return newEnvWrapped(t, nil, opts...)
}

// newEnvWrapped is newEnv with the simulator's handler wrapped, to fail
// chosen calls.
func newEnvWrapped(t *testing.T, wrap func(http.Handler) http.Handler, opts ...envOption) *env {
	t.Helper()
	// A time-scaled account: a rate-limit minute passes in a second, so the
	// bridge's pacing (correct, and slow in real minutes) does not make the
	// suite slow. Tests that study pacing set their own scale.
	simOpts := simulator.Options{APIKey: testAPIKey, Plan: "enterprise", TimeScale: 60}
	cfg := config.Default()
	cfg.Freshservice.APIKey = config.Secret(testAPIKey)
	cfg.Freshservice.Plan = "enterprise"
	cfg.Freshservice.Share = 1
	cfg.Freshservice.Window = time.Second
	cfg.SCIM.Tokens = []config.Token{{Name: "test", Token: config.Secret(testToken)}}
	cfg.Store.Path = filepath.Join(t.TempDir(), "fsbridge.db")
	cfg.Reconcile.Interval = 50 * time.Millisecond
	for _, o := range opts {
		o(&cfg, &simOpts)
	}
	sim, err := simulator.New(simOpts)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	simSrv := httptest.NewServer(h)
	t.Cleanup(simSrv.Close)
	cfg.Freshservice.URL = simSrv.URL
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncWriter{w: &bytes.Buffer{}}
	log := zerolog.New(io.MultiWriter(logs, everything)).Level(zerolog.DebugLevel)
	srv, err := server.New(context.Background(), cfg, server.Options{Log: log})
	// Everything the suite produces is checked for secrets at the end
	// (secrets_test.go): the configuration dump, and at cleanup the metrics.
	fmt.Fprintln(everything, cfg.Dump())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	// As the serve command does: the first walk, then the background work.
	if err := srv.Bridge.Walk(context.Background()); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Bridge.Run(runCtx)
	}()
	t.Cleanup(func() {
		stop()
		<-done
	})
	hs := httptest.NewServer(srv.Handler)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { collectMetrics(hs.URL) })
	return &env{t: t, sim: sim, simURL: simSrv.URL, srv: srv, url: hs.URL + "/scim/v2", cfg: cfg, logs: logs}
}

// syncWriter makes a buffer safe for the concurrent writes of a logger.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

// do sends a SCIM request and returns the status and decoded body.
func (e *env) do(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	status, raw, _ := e.doRaw(method, path, body, nil)
	var m map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			e.t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	}
	return status, m
}

func (e *env) doRaw(method, path string, body any, hdr http.Header) (int, []byte, http.Header) {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	fmt.Fprintf(everything, "%s %s -> %d %v %s\n", method, path, resp.StatusCode, resp.Header, data)
	return resp.StatusCode, data, resp.Header
}

// newEnvSharing starts a second bridge on e's simulator and store file, as
// a restart with a changed configuration would; e's bridge is closed first.
func newEnvSharing(t *testing.T, e *env, opts ...envOption) *env {
	t.Helper()
	e.srv.Close()
	cfg := e.cfg
	simOpts := simulator.Options{}
	for _, o := range opts {
		o(&cfg, &simOpts)
	}
	logs := &syncWriter{w: &bytes.Buffer{}}
	srv, err := server.New(context.Background(), cfg, server.Options{Log: zerolog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	hs := httptest.NewServer(srv.Handler)
	t.Cleanup(hs.Close)
	return &env{t: t, sim: e.sim, simURL: e.simURL, srv: srv, url: hs.URL + "/scim/v2", cfg: cfg, logs: logs}
}
