package scim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/elimity-com/scim/schema"
	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/fsbridge/fsbridge/internal/reqctx"
)

// Credential is one accepted bearer token, by its SHA-256.
type Credential struct {
	Name string
	Hash [sha256.Size]byte
}

// BasicCredential is an accepted HTTP Basic user and password.
type BasicCredential struct {
	Name     string
	Username string
	Password string
}

// Config configures the SCIM edge.
type Config struct {
	Tokens []Credential
	Basic  *BasicCredential
	// MaxBodyBytes caps request bodies (413 beyond).
	MaxBodyBytes int64
	// BaseURL is the public URL of the bridge (https://host); empty derives
	// it from each request.
	BaseURL string
	// RequestTimeout bounds the work done for one request.
	RequestTimeout time.Duration
	// ClientRateLimit caps requests per second per client (0: no cap).
	ClientRateLimit float64
	Log             zerolog.Logger
	// Observe is told about every finished request, for metrics.
	Observe func(r RequestRecord)
	// UserExtensions are extension schemas /Users accepts beside the
	// enterprise and Freshservice ones (CustomExtension).
	UserExtensions []schema.Schema
}

// RequestRecord describes one finished SCIM request.
type RequestRecord struct {
	Resource string // Users, Groups, discovery, or "" for others
	Method   string
	Status   int
	Duration time.Duration
	Client   string
	// FSCalls is the number of Freshservice HTTP attempts made for the
	// request, FSTime the time they took and FSWait the time spent waiting
	// for API budget before them.
	FSCalls int64
	FSTime  time.Duration
	FSWait  time.Duration
}

var allowStrings sync.Once

// Prefix is where SCIM is served.
const Prefix = "/scim/v2"

// maxResults is the most resources one list answer holds (RFC 7644 §3.4.2.4: a larger count is
// lowered to it), advertised as filter.maxResults.
const maxResults = 100

// Mount adds the SCIM routes under Prefix to r. Every request runs one pipeline the edge owns:
// request id and deadline, recovery, the resource name matched case-insensitively, authentication
// and the client's rate; then the route's handler reads and checks the query or body, normalises
// the IdP's dialect, calls the Backend, and writes the answer. Every error, whatever found it, is
// written by writeError.
func Mount(r chi.Router, cfg Config, users, groups Backend) error {
	if len(cfg.Tokens) == 0 && cfg.Basic == nil {
		return errors.New("scim: no credentials configured")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 50 * time.Second
	}
	// Entra without aadOptscim062020 sends booleans as "True"/"False". The
	// schema library's validation reads this process-wide setting, so it is
	// set once per process.
	allowStrings.Do(func() { schema.SetAllowStringValues(true) })
	e := &edge{cfg: cfg, verifier: NewVerifier(cfg.Tokens, cfg.Basic)}
	e.users = newResourceType("User", "/Users", "People, provisioned as Freshservice requesters or agents", UserSchema(cfg.UserExtensions...), users)
	e.groups = newResourceType("Group", "/Groups", "Freshservice requester groups, agent groups, or role groups that make members agents", GroupSchema(), groups)
	e.discovery = newDiscovery(e)
	if cfg.ClientRateLimit > 0 {
		e.limiters = map[string]*rate.Limiter{}
	}
	r.Route(Prefix, func(r chi.Router) {
		r.Use(e.requestInfo, e.recoverer, canonicalPath, e.authenticate, e.clientLimit)
		r.NotFound(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, Errorf(http.StatusNotFound, "", "no SCIM endpoint at %s", truncate(r.URL.Path, 200)))
		})
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, Errorf(http.StatusMethodNotAllowed, "", "%s is not allowed on %s", r.Method, truncate(r.URL.Path, 200)))
		})
		for _, rt := range []*resourceType{e.users, e.groups} {
			r.Get(rt.endpoint, e.handle(rt, e.list))
			r.Post(rt.endpoint, e.handle(rt, e.create))
			r.Post(rt.endpoint+"/.search", e.handle(rt, e.search))
			r.Get(rt.endpoint+"/{id}", e.handle(rt, e.get))
			r.Put(rt.endpoint+"/{id}", e.handle(rt, e.replace))
			r.Patch(rt.endpoint+"/{id}", e.handle(rt, e.patch))
			r.Delete(rt.endpoint+"/{id}", e.handle(rt, e.delete))
		}
		d := e.discovery
		r.Get("/ServiceProviderConfig", e.handleDiscovery(d.serviceProviderConfig))
		r.Get("/ResourceTypes", e.handleDiscovery(d.resourceTypes))
		r.Get("/ResourceTypes/{id}", e.handleDiscovery(d.resourceType))
		r.Get("/Schemas", e.handleDiscovery(d.schemas))
		r.Get("/Schemas/{id}", e.handleDiscovery(d.schema))
		r.HandleFunc("/Bulk", func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, Errorf(http.StatusNotImplemented, "", "bulk operations are not supported"))
		})
		r.HandleFunc("/Me", func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, Errorf(http.StatusNotImplemented, "", "/Me is not supported"))
		})
	})
	return nil
}

type edge struct {
	cfg       Config
	verifier  *Verifier
	users     *resourceType
	groups    *resourceType
	discovery *discovery

	mu       sync.Mutex
	limiters map[string]*rate.Limiter

	// writes serialises the writes to one resource made through this
	// process, so that an If-Match is checked and the write made with no
	// other write in between (see preconditions).
	writes keyedMutex
}

// resourceType is one of the resource types the edge serves.
type resourceType struct {
	name, endpoint, description string
	rs                          ResourceSchema
	backend                     Backend
	// validator is the core schema with the common attribute externalId, which the schema
	// library validates POST and PUT bodies against.
	validator schema.Schema
	// dropped are the lower-cased names of the top-level attributes never returned by default
	// (returned "never" or "request"), and project is set when a sub-attribute is returned only
	// on request, so that the default rendering needs the general projection.
	dropped map[string]bool
	project bool
}

func newResourceType(name, endpoint, description string, rs ResourceSchema, b Backend) *resourceType {
	rt := &resourceType{name: name, endpoint: endpoint, description: description, rs: rs, backend: b, dropped: map[string]bool{"password": true}}
	v := rs.Core
	attrs := make(schema.Attributes, len(v.Attributes), len(v.Attributes)+1)
	copy(attrs, v.Attributes)
	v.Attributes = append(attrs, schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		Name: "externalId", CaseExact: true, Mutability: schema.AttributeMutabilityReadWrite(),
	})))
	rt.validator = v
	for _, a := range rs.Core.Attributes {
		if a.Returned() == "never" || a.Returned() == "request" {
			rt.dropped[strings.ToLower(a.Name())] = true
		}
		for _, s := range a.SubAttributes() {
			if s.Returned() == "never" || s.Returned() == "request" {
				rt.project = true
			}
		}
	}
	for _, x := range rs.Extensions {
		for _, a := range x.Attributes {
			if a.Returned() == "never" || a.Returned() == "request" {
				rt.project = true
			}
		}
	}
	return rt
}

type ctxKey int

const keyState ctxKey = iota

// state is what the edge knows of one request: the facts the bridge reads (reqctx.Info), the
// resource type for the access log and metrics, and the error answered, logged once at the end.
// It is one allocation per request.
type state struct {
	info     reqctx.Info
	resource string
	err      *Error
	sw       statusWriter
	// projection is what the IdP asked to get back (see Omitted).
	projection projection
}

// Omitted reports whether the request being served asked not to get attribute attr back (a
// top-level attribute, such as "members"): excludedAttributes names it, or attributes names others
// and not it. A backend may then skip assembling it; the edge leaves it out of the answer anyway.
// Entra reads every group with excludedAttributes=members.
func Omitted(ctx context.Context, attr string) bool {
	st, _ := ctx.Value(keyState).(*state)
	if st == nil {
		return false
	}
	p := st.projection
	if includes(p.excluded, attr) {
		return true
	}
	if len(p.attributes) == 0 {
		return false
	}
	for _, a := range p.attributes {
		name, _, _ := strings.Cut(strings.TrimSpace(a), ".")
		if strings.EqualFold(name, attr) || strings.Contains(a, ":") {
			return false
		}
	}
	return true
}

func stateOf(r *http.Request) *state {
	s, _ := r.Context().Value(keyState).(*state)
	return s
}

// requestInfo assigns the request id, sets the deadline, and writes the access log line when the
// request is done.
func (e *edge) requestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &state{}
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		st.info.RequestID = id
		ctx, cancel := context.WithTimeout(r.Context(), e.cfg.RequestTimeout)
		defer cancel()
		ctx = context.WithValue(reqctx.With(ctx, &st.info), keyState, st)
		// Every line the request causes, in the edge or behind it
		// (zerolog.Ctx), carries its id.
		if e.cfg.Log.GetLevel() != zerolog.Disabled {
			ctx = e.cfg.Log.With().Str("request_id", id).Logger().WithContext(ctx)
		}
		w.Header()["X-Request-Id"] = []string{id}
		st.sw.ResponseWriter = w
		next.ServeHTTP(&st.sw, r.WithContext(ctx))
		d := time.Since(start)
		status := st.sw.status
		if status == 0 {
			status = http.StatusOK
		}
		log := e.cfg.Log
		ev := log.Info()
		if status >= 500 {
			ev = log.Error()
		} else if status >= 400 {
			ev = log.Warn()
		}
		if ev != nil {
			ev = ev.Str("request_id", id).Str("method", r.Method).Str("path", r.URL.Path).
				Int("status", status).Dur("duration", d).Str("client", st.info.Client).
				Int64("fs_calls", st.info.FSCalls.Load()).Dur("fs_wait", time.Duration(st.info.FSWait.Load()))
			if st.err != nil {
				ev = ev.Str("detail", st.err.Detail)
				if st.err.Err != nil {
					ev = ev.AnErr("error", st.err.Err)
				}
			}
			ev.Msg("scim request")
		}
		if e.cfg.Observe != nil {
			e.cfg.Observe(RequestRecord{
				Resource: st.resource, Method: r.Method, Status: status, Duration: d, Client: st.info.Client,
				FSCalls: st.info.FSCalls.Load(), FSTime: time.Duration(st.info.FSTime.Load()), FSWait: time.Duration(st.info.FSWait.Load()),
			})
		}
	})
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// recoverer turns a panic into a SCIM 500 and logs it with the stack.
func (e *edge) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				e.cfg.Log.Error().Str("request_id", reqctx.RequestID(r.Context())).Str("panic", fmt.Sprint(p)).Stack().Msg("handler panicked")
				writeError(w, r, AsError(fmt.Errorf("panic: %v", p)))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// endpointNames are the names of the SCIM endpoints under Prefix, by lower case.
var endpointNames = map[string]string{
	"users": "Users", "groups": "Groups", "serviceproviderconfig": "ServiceProviderConfig",
	"resourcetypes": "ResourceTypes", "schemas": "Schemas", "bulk": "Bulk", "me": "Me",
}

// canonicalPath matches endpoint names case-insensitively and accepts trailing slashes, so that
// /scim/v2/users, /scim/v2/Users/ and /scim/v2/USERS/.SEARCH reach the routes their canonical
// spelling names. RFC 7644 does not say paths are case-sensitive, IdP admins type them by hand,
// and a 404 for a lower-case "users" is only ever a setup failure. Resource ids keep their case.
func canonicalPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rctx := chi.RouteContext(r.Context())
		if rctx == nil {
			next.ServeHTTP(w, r)
			return
		}
		path := rctx.RoutePath
		if path == "" {
			path = strings.TrimPrefix(r.URL.Path, Prefix)
		}
		if p, ok := canonicalRoute(path); ok {
			rctx.RoutePath = p
		}
		next.ServeHTTP(w, r)
	})
}

// canonicalRoute spells a path under Prefix canonically; ok is false when it already is.
func canonicalRoute(path string) (string, bool) {
	trimmed := path
	for len(trimmed) > 1 && strings.HasSuffix(trimmed, "/") {
		trimmed = trimmed[:len(trimmed)-1]
	}
	rest := strings.TrimPrefix(trimmed, "/")
	name, tail, _ := strings.Cut(rest, "/")
	canon, known := endpointNames[strings.ToLower(name)]
	if known && canon != name {
		name = canon
	}
	if strings.EqualFold(tail, ".search") {
		tail = ".search"
	}
	out := "/" + name
	if tail != "" {
		out += "/" + tail
	}
	if out == path {
		return path, false
	}
	return out, true
}

// authenticate accepts a bearer token (compared by SHA-256 in constant time against every
// configured token, so timing says nothing about which one almost matched) or, when configured,
// HTTP Basic.
func (e *edge) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := e.identify(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fsbridge"`)
			writeError(w, r, Errorf(http.StatusUnauthorized, "", "missing or invalid credentials; send Authorization: Bearer <token>"))
			return
		}
		if info := reqctx.From(r.Context()); info != nil {
			info.Client = name
		}
		next.ServeHTTP(w, r)
	})
}

func (e *edge) identify(r *http.Request) (string, bool) {
	return e.verifier.Authorization(r, false)
}

// clientLimit applies the optional per-client request rate.
func (e *edge) clientLimit(next http.Handler) http.Handler {
	if e.limiters == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := reqctx.Client(r.Context())
		e.mu.Lock()
		l, ok := e.limiters[client]
		if !ok {
			burst := int(math.Ceil(e.cfg.ClientRateLimit))
			l = rate.NewLimiter(rate.Limit(e.cfg.ClientRateLimit), max(burst, 1))
			e.limiters[client] = l
		}
		e.mu.Unlock()
		res := l.Reserve()
		if d := res.Delay(); d > 0 {
			res.Cancel()
			writeError(w, r, &Error{Status: http.StatusTooManyRequests, Detail: "too many requests from this client", RetryAfter: d})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handle adapts a resource handler: it tags the request with its resource type and writes the
// error the handler returns.
func (e *edge) handle(rt *resourceType, h func(w http.ResponseWriter, r *http.Request, rt *resourceType) error) http.HandlerFunc {
	tag := rt.endpoint[1:]
	return func(w http.ResponseWriter, r *http.Request) {
		if st := stateOf(r); st != nil {
			st.resource = tag
		}
		if err := h(w, r, rt); err != nil {
			writeError(w, r, AsError(err))
		}
	}
}

// handleDiscovery adapts a discovery handler as handle does.
func (e *edge) handleDiscovery(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if st := stateOf(r); st != nil {
			st.resource = "discovery"
		}
		if err := h(w, r); err != nil {
			writeError(w, r, AsError(err))
		}
	}
}

// baseURL is the SCIM base URL as the IdP reaches it: the configured base_url, or the scheme and
// host of the request.
func (e *edge) baseURL(r *http.Request) string {
	if e.cfg.BaseURL != "" {
		return strings.TrimRight(e.cfg.BaseURL, "/") + Prefix
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host + Prefix
}

// keyedMutex is a set of mutexes by key, each created on first use and dropped when unused.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

// lock takes the mutex of key and returns its unlock.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
