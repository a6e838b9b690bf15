// Package server assembles fsbridge from a configuration: the store, the
// Freshservice client and its budget, the directory mirror, the bridge, the
// SCIM edge and the operational endpoints, behind one http.Handler. The
// binary's serve and demo commands and the end-to-end tests all build the
// bridge through it, so the tests exercise what ships.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elimity-com/scim/schema"
	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/bridge"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/health"
	"github.com/fsbridge/fsbridge/internal/metrics"
	"github.com/fsbridge/fsbridge/internal/reqctx"
	"github.com/fsbridge/fsbridge/internal/status"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/internal/store/postgres"
	"github.com/fsbridge/fsbridge/internal/store/sqlite"
	"github.com/fsbridge/fsbridge/mapping"
	"github.com/fsbridge/fsbridge/scim"
)

// Options are what a caller can supply instead of the configured defaults.
type Options struct {
	Log zerolog.Logger
	// HTTPClient is used to reach Freshservice (default: 30 s timeout from
	// the config).
	HTTPClient *http.Client
	// Store replaces the configured store (tests).
	Store store.Store
	// ObserveRequest is told about every finished SCIM request, and
	// ObserveCall about every Freshservice HTTP attempt (benchmarks,
	// metrics).
	ObserveRequest func(scim.RequestRecord)
	ObserveCall    func(ctx context.Context, c freshservice.Call)
}

// Server is an assembled bridge.
type Server struct {
	Config  config.Config
	Store   store.Store
	Client  *freshservice.Client
	Bridge  *bridge.Bridge
	Handler http.Handler
	Log     zerolog.Logger
	Metrics *metrics.Metrics
	status  *status.Page

	opts Options
	// fsAuth is what Freshservice last said of the credentials: 1 accepted,
	// -1 refused, 0 unknown; fsAuthAt when.
	fsAuth   atomic.Int32
	fsAuthAt atomic.Int64
	// checkMu serialises credentialsOK's own check; checkAt is when it
	// last called Freshservice, checkFailed what failed then ("" if not).
	checkMu     sync.Mutex
	checkAt     time.Time
	checkFailed string
	// saw403 is set when Freshservice refused a call with 403, so the next
	// readiness check probes what the key may do again; rates holds the
	// rate limits Freshservice showed (account.go).
	saw403 atomic.Bool
	rates  rateSeen
	// calls keeps what the last Freshservice calls said, for the health
	// checks.
	calls health.CallLog
	// webhookPace bounds what webhook events spend.
	webhookPace *webhookPace
	// conns limits the listener Serve serves on; nil before Serve.
	conns    atomic.Pointer[connLimiter]
	ownStore bool
	closeMu  sync.Mutex
	closed   bool
}

// OpenStore opens the configured store.
func OpenStore(ctx context.Context, cfg config.Store) (store.Store, error) {
	switch cfg.Driver {
	case "sqlite", "":
		return sqlite.Open(ctx, cfg.Path)
	case "postgres":
		return postgres.Open(ctx, cfg.DSN.Reveal())
	}
	return nil, fmt.Errorf("store driver %q is not sqlite or postgres", cfg.Driver)
}

// NewLogger builds the zerolog logger the configuration asks for.
func NewLogger(cfg config.Log, w io.Writer) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(cfg.Level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	var l zerolog.Logger
	if cfg.Format == "console" {
		l = zerolog.New(zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339})
	} else {
		l = zerolog.New(w)
	}
	return l.Level(lvl).With().Timestamp().Logger()
}

// New assembles the bridge. It reaches Freshservice to read the catalog
// and resolve the rules, and loads the mirror from the store.
func New(ctx context.Context, cfg config.Config, opts Options) (*Server, error) {
	s := &Server{Config: cfg, Log: opts.Log, opts: opts, Metrics: metrics.New()}
	s.status = status.New(source{s}, opts.Log)
	st := opts.Store
	if st == nil {
		var err error
		st, err = OpenStore(ctx, cfg.Store)
		if err != nil {
			return nil, fmt.Errorf("opening the store: %w", err)
		}
		s.ownStore = true
	}
	s.Store = st
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Freshservice.Timeout}
	}
	budget := freshservice.NewBudget(freshservice.BudgetConfig{
		Plan: freshservice.Plan(cfg.Freshservice.Plan),
		Limits: freshservice.Limits{
			Overall: cfg.Freshservice.Limits.Overall, ListAgents: cfg.Freshservice.Limits.ListAgents, ListRequesters: cfg.Freshservice.Limits.ListRequesters,
		},
		Share: cfg.Freshservice.Share, Window: cfg.Freshservice.Window, MaxWait: cfg.Freshservice.MaxWait,
		Hourly: cfg.Freshservice.HourlyLimits,
	})
	client, err := freshservice.NewClient(cfg.Freshservice.URL, cfg.Freshservice.APIKey.Reveal(),
		freshservice.WithHTTPClient(hc), freshservice.WithBudget(budget), freshservice.WithObserver(func(ctx context.Context, c freshservice.Call) {
			observeCall(ctx, c)
			s.Metrics.ObserveCall(ctx, c)
			s.status.ObserveCall(ctx, c)
			s.calls.Observe(time.Now(), c)
			s.noteAuth(c.Status)
			s.rates.observe(c)
			if opts.ObserveCall != nil {
				opts.ObserveCall(ctx, c)
			}
		}))
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Client = client
	br, err := bridge.New(ctx, bridge.Options{
		UserSchema: scim.UserSchema(userExtensions(cfg.Mapping.Extras())...),
		Client:     client, Store: st, Directory: directory.New(), Rules: cfg.Rules,
		AdoptExisting: cfg.SCIM.AdoptExisting, ForgetOnDelete: cfg.SCIM.ForgetOnDelete, DryRun: cfg.DryRun,
		StrictAttributes: cfg.SCIM.StrictAttributes, CreateDepartments: cfg.SCIM.CreateDepartments, CreateLocations: cfg.SCIM.CreateLocations,
		Log: opts.Log, RefreshInterval: cfg.Mirror.RefreshInterval, RefreshShare: cfg.Mirror.Share,
		ReconcileInterval: cfg.Reconcile.Interval, MaxBackoff: cfg.Reconcile.MaxBackoff,
		ProtectedUsers: cfg.ProtectedUsers,
		Extras:         cfg.Mapping.Extras(), AgentExternalIDReadOnly: cfg.Mapping.AgentExternalIDReadOnly,
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	br.SetCreateRetry(CreateRetry(cfg.Reconcile))
	s.Bridge = br
	s.Metrics.Watch(metricsSource{s})
	h, err := s.routes()
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Handler = h
	return s, nil
}

// CreateRetry is the background pass's policy for creates whose answer
// was lost, as the configuration gives it.
func CreateRetry(r config.Reconcile) bridge.CreateRetry {
	return bridge.CreateRetry{MaxAttempts: r.CreateRetryAttempts, MaxAge: r.CreateRetryMaxAge, Share: r.CreateRetryShare}
}

// metricsSource reads the scrape-time gauges from the bridge.
type metricsSource struct{ s *Server }

func (m metricsSource) BudgetStats() ([]freshservice.BucketStats, time.Duration) {
	return m.s.Client.Budget().Stats()
}
func (m metricsSource) MirrorUsers() int          { return m.s.Bridge.Directory().Len() }
func (m metricsSource) MirrorWalkedAt() time.Time { return m.s.Bridge.Directory().WalkedAt() }
func (m metricsSource) PlansPending() int         { return m.s.Bridge.PlansPending() }
func (m metricsSource) DriftUsers() int           { return m.s.Bridge.DriftCount() }
func (m metricsSource) UsersWithGaps() int        { return len(m.s.Bridge.Gaps()) }
func (m metricsSource) AgentsDowngraded() int     { return len(m.s.Bridge.Downgraded()) }

// observeCall counts Freshservice calls against the SCIM request that made
// them.
func observeCall(ctx context.Context, c freshservice.Call) {
	if info := reqctx.From(ctx); info != nil {
		info.FSCalls.Add(1)
		info.FSWait.Add(int64(c.Waited))
		info.FSTime.Add(int64(c.Duration))
	}
}

// scimCredentials are the credentials the SCIM endpoint accepts, as the
// configuration gives them: its tokens (or their hashes) and Basic.
func (s *Server) scimCredentials() ([]scim.Credential, *scim.BasicCredential, error) {
	var creds []scim.Credential
	for i, t := range s.Config.SCIM.Tokens {
		name := t.Name
		if name == "" {
			name = fmt.Sprintf("token%d", i+1)
		}
		c := scim.Credential{Name: name}
		if t.SHA256 != "" {
			h, err := config.ParseTokenHash(t.SHA256)
			if err != nil {
				return nil, nil, err
			}
			c.Hash = h
		} else {
			c.Hash = config.HashToken(t.Token.Reveal())
		}
		creds = append(creds, c)
	}
	var basic *scim.BasicCredential
	if b := s.Config.SCIM.Basic; b != nil {
		basic = &scim.BasicCredential{Name: b.Username, Username: b.Username, Password: b.Password.Reveal()}
	}
	return creds, basic, nil
}

func (s *Server) routes() (http.Handler, error) {
	r := chi.NewRouter()
	creds, basic, err := s.scimCredentials()
	if err != nil {
		return nil, err
	}
	err = scim.Mount(r, scim.Config{
		Tokens: creds, Basic: basic, MaxBodyBytes: s.Config.SCIM.MaxBodyBytes, BaseURL: s.Config.BaseURL,
		RequestTimeout: s.Config.SCIM.RequestTimeout, ClientRateLimit: s.Config.SCIM.ClientRateLimit, Log: s.Log,
		UserExtensions: userExtensions(s.Config.Mapping.Extras()),
		Observe: func(rr scim.RequestRecord) {
			s.Metrics.ObserveRequest(rr)
			s.status.ObserveRequest(rr)
			if s.opts.ObserveRequest != nil {
				s.opts.ObserveRequest(rr)
			}
		},
	}, s.Bridge.Users(), s.Bridge.Groups())
	if err != nil {
		return nil, err
	}
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	r.Get("/readyz", s.ready)
	r.Handle("/metrics", s.Metrics.Handler())
	// The status page accepts the SCIM tokens and Basic credential, and
	// the status token.
	statusCreds := slices.Clone(creds)
	if tok := s.Config.Status.Token.Reveal(); tok != "" {
		statusCreds = append(statusCreds, scim.Credential{Name: "status", Hash: config.HashToken(tok)})
	}
	s.status.Mount(r, scim.NewVerifier(statusCreds, basic))
	if s.Config.Webhook.Secret != "" {
		s.webhookPace = newWebhookPace(s.Client.Budget(), s.Config.Mirror.Share)
		r.Post("/webhooks/freshservice", s.webhook)
	}
	return r, nil
}

// noteAuth remembers whether Freshservice accepted the API key.
func (s *Server) noteAuth(status int) {
	if status == http.StatusForbidden {
		s.saw403.Store(true)
	}
	switch {
	case status == http.StatusUnauthorized:
		s.fsAuth.Store(-1)
	case status >= 200 && status < 300:
		s.fsAuth.Store(1)
	default:
		return
	}
	s.fsAuthAt.Store(time.Now().UnixNano())
}

// credentialsOK reports whether Freshservice accepts the API key: from the
// last answer when it is under a minute old, otherwise by one cheap call.
// /readyz needs no token, so that call is made at most once a minute
// whatever its outcome, by one caller at a time while the others wait for
// its answer: neither probes nor anyone else who can reach the port can
// spend the account's budget, even while Freshservice fails and no other
// call refreshes the answer.
func (s *Server) credentialsOK(ctx context.Context) (bool, string) {
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	answered := time.Unix(0, s.fsAuthAt.Load())
	if time.Since(answered) > credentialsCheckEvery && time.Since(s.checkAt) > credentialsCheckEvery {
		s.checkAt = time.Now()
		// Not the caller's context: a probe that gives up must not leave
		// "canceled" as the answer for the next minute.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_, _, err := s.Client.Roles.List(cctx, &freshservice.ListOptions{PerPage: 1})
		cancel()
		s.checkFailed = ""
		if err != nil && !errors.Is(err, freshservice.ErrUnauthorized) {
			s.checkFailed = "unreachable: " + string(freshservice.Classify(err))
		}
		answered = time.Unix(0, s.fsAuthAt.Load())
	}
	if s.checkFailed != "" && !answered.After(s.checkAt) {
		return false, s.checkFailed
	}
	if s.fsAuth.Load() < 0 {
		return false, "the API key is refused (401)"
	}
	return true, "ok"
}

// credentialsCheckEvery is how often credentialsOK may call Freshservice.
const credentialsCheckEvery = time.Minute

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Serve serves on ln and runs the background work until ctx ends, then
// stops accepting, lets requests in flight finish (up to 30 s), and
// returns. The listener holds the connection limits of the configuration
// (see connlimit.go).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	limits := resolveConnLimits(s.Config.Connections)
	lim := newConnLimiter(limits, s.Log)
	srv := &http.Server{
		Handler: s.Handler,
		// A connection that has not sent a whole request header within
		// this long is closed, so a new or idle slot cannot be held by
		// trickling bytes.
		ReadHeaderTimeout: 10 * time.Second,
		// A header is held in memory while it is read, on every
		// connection; IdPs send a few kilobytes (net/http's default is 1 MB).
		MaxHeaderBytes: 64 << 10,
		ReadTimeout:    30 * time.Second,
		WriteTimeout:   s.Config.SCIM.RequestTimeout + 10*time.Second,
		IdleTimeout:    limits.idle,
		ConnState:      lim.track,
		// TLS handshake failures and the like go to the structured log.
		ErrorLog: stdlog.New(logWriter{s.Log}, "", 0),
	}
	// The limits count TCP connections, below TLS: a connection is
	// admitted or refused before any handshake, and the handshakes of
	// refusal answers are bounded (maxRefusing).
	ln = lim.listener(ln)
	if s.Config.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.Config.TLS.CertFile, s.Config.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("loading the TLS certificate: %w", err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		lim.tls = srv.TLSConfig
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	s.conns.Store(lim)
	s.Log.Info().Int("max_connections", limits.max).Int("per_client", limits.perClient).Dur("idle_timeout", limits.idle).
		Msg("connection limits")
	bgCtx, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	bgDone := make(chan struct{})
	go func() {
		defer close(bgDone)
		s.Bridge.Run(bgCtx)
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		stopBG()
		<-bgDone
		return err
	case <-ctx.Done():
	}
	s.Log.Info().Msg("shutting down: finishing requests in flight")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	stopBG()
	<-bgDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// logWriter turns net/http's error log lines into zerolog events.
type logWriter struct{ l zerolog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Warn().Str("component", "http").Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Close releases the store if the server opened it.
func (s *Server) Close() {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	if s.ownStore && s.Store != nil {
		_ = s.Store.Close()
	}
}

// userExtensions are the extension schemas the custom field mappings read
// from (mapping.custom_fields sources given by URN), so that /Users accepts
// them; each attribute is typed as the custom field it feeds.
func userExtensions(x mapping.Extras) []schema.Schema {
	attrs := x.CustomFields.ExtensionAttributes()
	urns := make([]string, 0, len(attrs))
	for u := range attrs {
		urns = append(urns, u)
	}
	sort.Strings(urns)
	out := make([]schema.Schema, 0, len(urns))
	for _, u := range urns {
		typed := map[string]string{}
		for name, t := range attrs[u] {
			switch t {
			case mapping.CustomNumber:
				typed[name] = scim.TypeInteger
			case mapping.CustomDecimal:
				typed[name] = scim.TypeDecimal
			case mapping.CustomCheckbox:
				typed[name] = scim.TypeBoolean
			default:
				typed[name] = scim.TypeString
			}
		}
		out = append(out, scim.CustomExtension(u, typed))
	}
	return out
}
