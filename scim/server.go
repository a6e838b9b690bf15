package scim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	escim "github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"
	"github.com/scim2/filter-parser/v2"
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

// Mount adds the SCIM routes under Prefix to r.
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
	// Entra without aadOptscim062020 sends booleans as "True"/"False".
	// The setting is global to the library and read by every request, so
	// it is set once per process.
	allowStrings.Do(func() { schema.SetAllowStringValues(true) })
	e := &edge{
		cfg:    cfg,
		users:  &adapter{b: users, rs: UserSchema(), kind: "User"},
		groups: &adapter{b: groups, rs: GroupSchema(), kind: "Group"},
	}
	if cfg.ClientRateLimit > 0 {
		e.limiters = map[string]*rate.Limiter{}
	}
	r.Route(Prefix, func(r chi.Router) {
		r.Use(e.requestInfo, e.recoverer, e.authenticate, e.clientLimit)
		r.NotFound(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, Errorf(http.StatusNotFound, "", "no SCIM endpoint at %s", r.URL.Path))
		})
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, Errorf(http.StatusMethodNotAllowed, "", "%s is not allowed on %s", r.Method, r.URL.Path))
		})
		serve := http.HandlerFunc(e.serveLibrary)
		for _, res := range []string{"Users", "Groups"} {
			r.With(e.tag(res)).Get("/"+res, serve)
			r.With(e.tag(res), e.body(res, false)).Post("/"+res, serve)
			r.With(e.tag(res), e.body(res, false)).Post("/"+res+"/.search", serve)
			r.With(e.tag(res)).Get("/"+res+"/{id}", serve)
			r.With(e.tag(res), e.body(res, false)).Put("/"+res+"/{id}", serve)
			r.With(e.tag(res), e.body(res, true)).Patch("/"+res+"/{id}", serve)
			r.With(e.tag(res)).Delete("/"+res+"/{id}", serve)
		}
		for _, p := range []string{"/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/{id}", "/Schemas", "/Schemas/{id}"} {
			r.With(e.tag("discovery")).Get(p, serve)
		}
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
	cfg    Config
	users  *adapter
	groups *adapter

	mu       sync.Mutex
	limiters map[string]*rate.Limiter

	// servers caches the library's server per base URL: building one
	// rebuilds and validates every schema, which cost more than the rest
	// of a lookup. With no base_url configured the base URL comes from the
	// request's Host, so the cache is bounded; past maxServers hosts a
	// server is built per request.
	srvMu   sync.Mutex
	servers map[string]escim.Server
}

const maxServers = 8

type ctxKey int

const (
	keyState ctxKey = iota
)

// state is per-request: the error a backend reported (answered instead of
// the library's rendering of it), the resource kind, and the no-op flag.
type state struct {
	err      error
	resource string
	filter   filter.Expression
}

func stateOf(r *http.Request) *state {
	s, _ := r.Context().Value(keyState).(*state)
	return s
}

// requestInfo assigns the request id, sets the deadline, and writes the
// access log line when the request is done.
func (e *edge) requestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		info := &reqctx.Info{RequestID: id}
		st := &state{}
		ctx, cancel := context.WithTimeout(r.Context(), e.cfg.RequestTimeout)
		defer cancel()
		ctx = reqctx.With(ctx, info)
		ctx = context.WithValue(ctx, keyState, st)
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		d := time.Since(start)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		ev := e.cfg.Log.Info()
		if sw.status >= 500 {
			ev = e.cfg.Log.Error()
		} else if sw.status >= 400 {
			ev = e.cfg.Log.Warn()
		}
		ev = ev.Str("request_id", id).Str("method", r.Method).Str("path", r.URL.Path).
			Int("status", sw.status).Dur("duration", d).Str("client", info.Client).
			Int64("fs_calls", info.FSCalls.Load()).Dur("fs_wait", time.Duration(info.FSWait.Load()))
		if st.err != nil {
			ev = ev.AnErr("error", st.err)
		}
		ev.Msg("scim request")
		if e.cfg.Observe != nil {
			e.cfg.Observe(RequestRecord{
				Resource: st.resource, Method: r.Method, Status: sw.status, Duration: d, Client: info.Client,
				FSCalls: info.FSCalls.Load(), FSTime: time.Duration(info.FSTime.Load()), FSWait: time.Duration(info.FSWait.Load()),
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
				err := fmt.Errorf("panic: %v", p)
				if st := stateOf(r); st != nil {
					st.err = err
				}
				e.cfg.Log.Error().Str("request_id", reqctx.RequestID(r.Context())).Str("panic", fmt.Sprint(p)).Stack().Msg("handler panicked")
				writeError(w, r, AsError(err))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// authenticate accepts a bearer token (compared by SHA-256 in constant
// time against every configured token, so timing says nothing about which
// one almost matched) or, when configured, HTTP Basic.
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
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Bearer") && cred != "":
		sum := sha256.Sum256([]byte(cred))
		match := -1
		for i, t := range e.cfg.Tokens {
			if subtle.ConstantTimeCompare(sum[:], t.Hash[:]) == 1 && match < 0 {
				match = i
			}
		}
		if match >= 0 {
			return e.cfg.Tokens[match].Name, true
		}
	case strings.EqualFold(scheme, "Basic") && e.cfg.Basic != nil:
		u, p, ok := r.BasicAuth()
		if !ok {
			return "", false
		}
		uh, ph := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		wu, wp := sha256.Sum256([]byte(e.cfg.Basic.Username)), sha256.Sum256([]byte(e.cfg.Basic.Password))
		if subtle.ConstantTimeCompare(uh[:], wu[:])&subtle.ConstantTimeCompare(ph[:], wp[:]) == 1 {
			name := e.cfg.Basic.Name
			if name == "" {
				name = "basic"
			}
			return name, true
		}
	}
	return "", false
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

func (e *edge) tag(resource string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if st := stateOf(r); st != nil {
				st.resource = resource
			}
			next.ServeHTTP(w, r)
		})
	}
}

// body reads the request body within the size limit, checks its content
// type, normalises the IdP dialects and hands the rewritten body on.
func (e *edge) body(resource string, patch bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !jsonContentType(r.Header.Get("Content-Type")) {
				writeError(w, r, Errorf(http.StatusUnsupportedMediaType, "", "send the body as application/scim+json or application/json"))
				return
			}
			data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, e.cfg.MaxBodyBytes))
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					writeError(w, r, Errorf(http.StatusRequestEntityTooLarge, "", "the request body is larger than %d bytes", e.cfg.MaxBodyBytes))
					return
				}
				writeError(w, r, Errorf(http.StatusBadRequest, TypeInvalidSyntax, "the request body could not be read"))
				return
			}
			m, serr := decodeBody(data)
			if serr != nil {
				writeError(w, r, serr)
				return
			}
			user := resource == "Users"
			rs := e.groups.rs
			if user {
				rs = e.users.rs
			}
			switch {
			case strings.HasSuffix(r.URL.Path, "/.search"):
				// The filter is compiled here, as a query's is, and
				// handed to the adapter; the library never sees it.
				expr, serr := prepareSearch(m, rs)
				if serr != nil {
					writeError(w, r, serr)
					return
				}
				if expr != nil {
					stateOf(r).filter = expr
				}
			case patch:
				if serr := checkPatchSchemas(m); serr != nil {
					writeError(w, r, serr)
					return
				}
				m = NormalizePatch(m, user)
				if serr := checkPatchOperations(m); serr != nil {
					writeError(w, r, serr)
					return
				}
			default:
				if serr := checkResourceSchemas(m, rs); serr != nil {
					writeError(w, r, serr)
					return
				}
				m = NormalizeResource(m, user)
				if serr := checkRequiredValues(m, rs); serr != nil {
					writeError(w, r, serr)
					return
				}
			}
			// The rewrites unpack values (an Entra app role is JSON inside a
			// string), which may bring out what decodeBody refused.
			if serr := checkControlChars(m, ""); serr != nil {
				writeError(w, r, serr)
				return
			}
			out, err := json.Marshal(m)
			if err != nil {
				writeError(w, r, AsError(err))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(out))
			r.ContentLength = int64(len(out))
			next.ServeHTTP(w, r)
		})
	}
}

func jsonContentType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || mt == "application/scim+json" || strings.HasSuffix(mt, "+json") || mt == "text/json"
}

// serveLibrary runs the request through the SCIM library, capturing its
// answer: when a backend reported an error, that error is answered instead
// (the library would turn 429 and 503 into 500 and show raw error text);
// list responses get itemsPerPage set to the number of resources returned.
func (e *edge) serveLibrary(w http.ResponseWriter, r *http.Request) {
	// The library reads the query's filter; Entra's non-RFC form and
	// legacy quirks are rewritten first.
	q := r.URL.Query()
	if err := checkPaging(q); err != nil {
		writeError(w, r, err)
		return
	}
	lr := r.Clone(r.Context())
	lr.URL.Path = strings.TrimPrefix(r.URL.Path, Prefix)
	// Every filter is bounded, whatever the endpoint: the library parses
	// the filter of /Schemas and /ResourceTypes itself.
	for _, f := range q["filter"] {
		if err := checkFilterBounds(f); err != nil {
			writeError(w, r, err)
			return
		}
	}
	if f := strings.TrimSpace(q.Get("filter")); f != "" && r.Method == http.MethodGet {
		rs, ok := e.schemaFor(lr.URL.Path)
		if ok {
			expr, ferr := compileFilter(f, rs)
			if ferr != nil {
				writeError(w, r, ferr)
				return
			}
			// The library gets no filter; the adapter takes it from here.
			stateOf(r).filter = expr
			lq := lr.URL.Query()
			lq.Del("filter")
			lr.URL.RawQuery = lq.Encode()
		}
	}
	srv, err := e.server(e.baseURL(r))
	if err != nil {
		writeError(w, r, AsError(err))
		return
	}
	cw := &captureWriter{header: http.Header{}}
	srv.ServeHTTP(cw, lr)
	if st := stateOf(r); st != nil && st.err != nil {
		writeError(w, r, AsError(st.err))
		return
	}
	body := cw.body.Bytes()
	status := cw.status
	if status == 0 {
		status = http.StatusOK
	}
	if status >= 400 {
		// The library's own validation errors; keep them, but make sure
		// they are well-formed and logged.
		var le escimError
		if json.Unmarshal(body, &le) == nil && le.Status != 0 {
			if st := stateOf(r); st != nil {
				st.err = &Error{Status: le.Status, ScimType: string(le.ScimType), Detail: le.Detail}
			}
		}
	}
	// GET lists and POST .search alike: the library answers a search with
	// itemsPerPage set to the count asked for, not the number returned.
	if status == http.StatusOK && bytes.Contains(body, []byte(URNListResponse)) {
		body = fixItemsPerPage(body)
	}
	for k, v := range cw.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/scim+json; charset=utf-8")
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// checkPaging refuses paging values that are not integers or out of range,
// before they reach the library (which would clamp some silently).
func checkPaging(q url.Values) *Error {
	for _, k := range []string{"startIndex", "count"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		if _, err := pagingValue(k, v); err != nil {
			return err
		}
	}
	return nil
}

// pagingValue reads startIndex or count as an integer within int32. Values
// below 1 (startIndex) or 0 (count) are not errors: the library clamps them,
// as RFC 7644 §3.4.2.4 asks.
func pagingValue(k, v string) (int64, *Error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, Errorf(http.StatusBadRequest, TypeInvalidValue, "%s must be an integer, got %q", k, truncate(v, 32))
	}
	if n > math.MaxInt32 || n < math.MinInt32 {
		return 0, Errorf(http.StatusBadRequest, TypeInvalidValue, "%s is out of range", k)
	}
	return n, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func fixItemsPerPage(body []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	var res []json.RawMessage
	if raw, ok := m["Resources"]; ok {
		_ = json.Unmarshal(raw, &res)
	}
	if res == nil {
		m["Resources"] = json.RawMessage("[]")
	}
	m["itemsPerPage"] = json.RawMessage(strconv.Itoa(len(res)))
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

// schemaFor is the resource schema of a list path, for the edge's own
// filter handling.
func (e *edge) schemaFor(path string) (ResourceSchema, bool) {
	switch path {
	case "/Users":
		return e.users.rs, true
	case "/Groups":
		return e.groups.rs, true
	}
	return ResourceSchema{}, false
}

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

// server returns the library's server for a base URL, built once.
func (e *edge) server(base string) (escim.Server, error) {
	e.srvMu.Lock()
	srv, ok := e.servers[base]
	e.srvMu.Unlock()
	if ok {
		return srv, nil
	}
	srv, err := escim.NewServer(&escim.ServerArgs{
		ServiceProviderConfig: e.serviceProviderConfig(),
		ResourceTypes:         e.resourceTypes(),
	}, escim.WithBaseURL(base), escim.WithLogger(libLogger{e.cfg.Log}))
	if err != nil {
		return srv, err
	}
	e.srvMu.Lock()
	if e.servers == nil {
		e.servers = map[string]escim.Server{}
	}
	if len(e.servers) < maxServers {
		e.servers[base] = srv
	}
	e.srvMu.Unlock()
	return srv, nil
}

func (e *edge) serviceProviderConfig() *escim.ServiceProviderConfig {
	var schemes []escim.AuthenticationScheme
	if len(e.cfg.Tokens) > 0 {
		schemes = append(schemes, escim.AuthenticationScheme{
			Type: escim.AuthenticationTypeOauthBearerToken, Name: "Bearer token", Primary: true,
			Description: "A bearer token configured in fsbridge, sent as Authorization: Bearer <token>.",
		})
	}
	if e.cfg.Basic != nil {
		schemes = append(schemes, escim.AuthenticationScheme{
			Type: escim.AuthenticationTypeHTTPBasic, Name: "HTTP Basic", Primary: len(schemes) == 0,
			Description: "The user name and password configured in fsbridge.",
		})
	}
	return &escim.ServiceProviderConfig{
		DocumentationURI:      optional.NewString("https://github.com/fsbridge/fsbridge/tree/main/docs"),
		AuthenticationSchemes: schemes,
		MaxResults:            100,
		SupportFiltering:      true,
		SupportPatch:          true,
	}
}

func (e *edge) resourceTypes() []escim.ResourceType {
	us, gs := UserSchema(), GroupSchema()
	var ext []escim.SchemaExtension
	for _, s := range us.Extensions {
		ext = append(ext, escim.SchemaExtension{Schema: s})
	}
	return []escim.ResourceType{
		{
			ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
			Description: optional.NewString("People, provisioned as Freshservice requesters or agents"),
			Schema:      us.Core, SchemaExtensions: ext, Handler: e.users,
		},
		{
			ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups",
			Description: optional.NewString("Freshservice requester groups, agent groups, or role groups that make members agents"),
			Schema:      gs.Core, Handler: e.groups,
		},
	}
}

// captureWriter buffers the library's answer so it can be replaced.
type captureWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *captureWriter) Header() http.Header { return c.header }
func (c *captureWriter) WriteHeader(s int) {
	if c.status == 0 {
		c.status = s
	}
}
func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}

// writeError answers with an RFC 7644 error body.
func writeError(w http.ResponseWriter, r *http.Request, e *Error) {
	if st := stateOf(r); st != nil && st.err == nil {
		st.err = e
	}
	body := map[string]any{
		"schemas": []string{URNError},
		"status":  strconv.Itoa(e.Status),
		"detail":  e.Detail,
	}
	if e.ScimType != "" {
		body["scimType"] = e.ScimType
	}
	if e.Plan != nil {
		body["plan"] = e.Plan
	}
	data, _ := json.Marshal(body)
	if e.RetryAfter > 0 && (e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable) {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	w.Header().Set("Content-Type", "application/scim+json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(data)
}

// libLogger adapts zerolog to the library's logger.
type libLogger struct{ l zerolog.Logger }

func (l libLogger) Error(args ...any) { l.l.Error().Msg(fmt.Sprint(args...)) }
