package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// This file is the request pipeline of /api/v2: authentication, rate
// limiting, fault injection, content negotiation, routing and the response
// envelope, in that order.

const (
	jsonContentType = "application/json; charset=utf-8"
	maxBodyBytes    = 1 << 20
)

// reply is what a handler produces; the pipeline writes it.
type reply struct {
	status int
	body   any    // marshalled as JSON when not nil
	raw    []byte // a non-JSON body, sent with contentType
	// contentType overrides the JSON content type for raw bodies.
	contentType string
	header      http.Header
}

func (r reply) with(key, value string) reply {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(key, value)
	return r
}

// call is one API request as a handler sees it. Handlers run with the server
// mutex held, so they use st freely.
type call struct {
	s   *Server
	st  *state
	sw  Switches
	r   *http.Request
	q   url.Values
	ids []int64 // the numeric path segments, in order
	f   *form   // the parsed body of endpoints that take one
	// now is the simulated time, at second precision for timestamps;
	// exact is the same instant at full precision for the search index.
	now, exact time.Time
	// base is scheme://host of the request, for Link and Location.
	base string
}

type handler func(c *call) reply

// endpoint is one route of the API.
type endpoint struct {
	method  string
	pattern string // with {id} for numeric segments
	bucket  bucket
	body    bool // parses a JSON object body
	handle  handler
}

func (s *Server) endpoints() []endpoint {
	const (
		rq  = "/api/v2/requesters"
		ag  = "/api/v2/agents"
		gr  = "/api/v2/groups"
		rg  = "/api/v2/requester_groups"
		ro  = "/api/v2/roles"
		dep = "/api/v2/departments"
		loc = "/api/v2/locations"
	)
	o := bucketOverall
	return []endpoint{
		{"GET", rq, bucketListRequesters, false, func(c *call) reply { return c.listUsers(viewRequester) }},
		{"POST", rq, o, true, func(c *call) reply { return c.createUser(viewRequester) }},
		{"GET", rq + "/{id}", o, false, func(c *call) reply { return c.getUser(viewRequester) }},
		{"PUT", rq + "/{id}", o, true, func(c *call) reply { return c.updateUser(viewRequester) }},
		{"DELETE", rq + "/{id}", o, false, func(c *call) reply { return c.deactivateUser(viewRequester) }},
		{"PUT", rq + "/{id}/reactivate", o, false, func(c *call) reply { return c.reactivateUser(viewRequester) }},
		{"DELETE", rq + "/{id}/forget", o, false, func(c *call) reply { return c.forgetUser(viewRequester) }},
		{"PUT", rq + "/{id}/convert_to_agent", o, false, (*call).convertToAgent},

		{"GET", ag, bucketListAgents, false, func(c *call) reply { return c.listUsers(viewAgent) }},
		{"GET", ag + "/me", o, false, (*call).getMe},
		{"POST", ag, o, true, func(c *call) reply { return c.createUser(viewAgent) }},
		{"GET", ag + "/{id}", o, false, func(c *call) reply { return c.getUser(viewAgent) }},
		{"PUT", ag + "/{id}", o, true, func(c *call) reply { return c.updateUser(viewAgent) }},
		{"DELETE", ag + "/{id}", o, false, func(c *call) reply { return c.deactivateUser(viewAgent) }},
		{"PUT", ag + "/{id}/reactivate", o, false, func(c *call) reply { return c.reactivateUser(viewAgent) }},
		{"DELETE", ag + "/{id}/forget", o, false, func(c *call) reply { return c.forgetUser(viewAgent) }},
		{"PUT", ag + "/{id}/convert_to_requester", o, false, (*call).convertToRequester},

		{"GET", gr, o, false, (*call).listGroups},
		{"POST", gr, o, true, (*call).createGroup},
		{"GET", gr + "/{id}", o, false, (*call).getGroup},
		{"PUT", gr + "/{id}", o, true, (*call).updateGroup},
		{"DELETE", gr + "/{id}", o, false, (*call).deleteGroup},

		{"GET", rg, o, false, (*call).listRequesterGroups},
		{"POST", rg, o, true, (*call).createRequesterGroup},
		{"GET", rg + "/{id}", o, false, (*call).getRequesterGroup},
		{"PUT", rg + "/{id}", o, true, (*call).updateRequesterGroup},
		{"DELETE", rg + "/{id}", o, false, (*call).deleteRequesterGroup},
		{"GET", rg + "/{id}/members", o, false, (*call).listRequesterGroupMembers},
		{"POST", rg + "/{id}/members/{id}", o, false, (*call).addRequesterGroupMember},
		{"DELETE", rg + "/{id}/members/{id}", o, false, (*call).removeRequesterGroupMember},

		{"GET", "/api/v2/workspaces", o, false, (*call).listWorkspaces},

		{"GET", ro, o, false, (*call).listRoles},
		{"GET", ro + "/{id}", o, false, (*call).getRole},

		{"GET", dep, o, false, (*call).listDepartments},
		{"POST", dep, o, true, (*call).createDepartment},
		{"GET", dep + "/{id}", o, false, (*call).getDepartment},
		{"PUT", dep + "/{id}", o, true, (*call).updateDepartment},
		{"DELETE", dep + "/{id}", o, false, (*call).deleteDepartment},

		{"GET", loc, o, false, (*call).listLocations},
		{"POST", loc, o, true, (*call).createLocation},
		{"GET", loc + "/{id}", o, false, (*call).getLocation},
		{"PUT", loc + "/{id}", o, true, (*call).updateLocation},
		{"DELETE", loc + "/{id}", o, false, (*call).deleteLocation},
	}
}

// route finds the endpoint for method and path. When the path exists with
// other methods only, ep is nil and allow lists them (for 405).
func (s *Server) route(method, path string) (ep *endpoint, ids []int64, allow []string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := range s.eps {
		e := &s.eps[i]
		pat := strings.Split(strings.Trim(e.pattern, "/"), "/")
		if len(pat) != len(segs) {
			continue
		}
		var got []int64
		ok := true
		for j, p := range pat {
			if p == "{id}" {
				n, err := strconv.ParseInt(segs[j], 10, 64)
				if err != nil || n <= 0 {
					ok = false
					break
				}
				got = append(got, n)
			} else if p != segs[j] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if e.method == method {
			return e, got, nil
		}
		allow = append(allow, e.method)
	}
	return nil, nil, allow
}

// templated writes every numeric segment of path as {id}, for stats.
func templated(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if s != "" && strings.Trim(s, "0123456789") == "" {
			segs[i] = "{id}"
		}
	}
	return strings.Join(segs, "/")
}

// serveAPI runs one /api/v2 request through the pipeline.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	realNow := s.now()
	body, tooLarge := readBody(r)
	path := strings.TrimSuffix(r.URL.Path, "/")
	rec := Request{
		Time: realNow, SimTime: s.sim(realNow), ID: newRequestID(),
		Method: r.Method, Route: templated(path), Path: r.URL.Path, Query: r.URL.RawQuery,
		Body: string(body[:min(len(body), maxRecordedBody)]),
	}
	sw := s.switches()
	h := w.Header()
	h.Set("Content-Type", jsonContentType)
	h.Set("X-Request-Id", rec.ID)
	// Headers of every recorded real response (reference §1).
	h.Set("X-Freshservice-Api-Version", "latest=v2; requested=v2")
	h.Set("X-Fw-Ratelimiting-Managed", "true")
	h.Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")

	ep, ids, allow := s.route(r.Method, path)
	b := bucketOverall
	if ep != nil {
		b = ep.bucket
	}
	finish := func(rep reply) {
		rec.Status = writeReply(w, rep)
		s.rec.record(rec)
	}

	if !s.authorized(r) {
		// Unauthenticated requests are not charged: the account is not known.
		setRateHeaders(h, s.limiter.peek(bucketOverall, rec.SimTime, sw.rateMode()))
		finish(codeError(http.StatusUnauthorized, "invalid_credentials", "You have to be logged in to perform this action."))
		return
	}
	rec.Bucket = b.String()
	dec := s.limiter.take(b, rec.SimTime, sw.rateMode())
	setRateHeaders(h, dec)
	if !dec.ok {
		rec.RateLimited = true
		h.Set("Retry-After", retryAfter(dec.wait, s.scale))
		finish(tooManyRequests(sw.rateMode()))
		return
	}

	f := s.faults.draw(r.Method != http.MethodGet)
	if f.latency > 0 {
		t := time.NewTimer(f.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	rec.Injected = f.kind
	switch f.kind {
	case Injected429:
		// An injected 429 is a refusal the account's budget does not
		// explain, lasting until the current window ends. Like every 429
		// it does nothing and costs nothing, and its headers tell the
		// truth: the credit left in the endpoint's bucket, none used.
		setRateHeaders(h, s.limiter.refund(b, rec.SimTime, sw.rateMode()))
		wait := s.limiter.untilWindowEnd(s.sim(s.now()), sw.rateMode())
		h.Set("Retry-After", retryAfter(wait, s.scale))
		finish(tooManyRequests(sw.rateMode()))
		return
	case Injected5xx:
		finish(serverError(f.status))
		return
	case InjectedDrop:
		s.rec.record(rec)
		drop(w)
		return
	}

	rep := s.handle(r, ep, ids, allow, body, tooLarge, sw)
	if f.kind == InjectedCommitThenFail {
		if f.drop {
			s.rec.record(rec)
			drop(w)
			return
		}
		rep = serverError(f.status)
	}
	finish(rep)
}

// handle checks the request's form and runs the endpoint under the mutex.
func (s *Server) handle(r *http.Request, ep *endpoint, ids []int64, allow []string, body []byte, tooLarge bool, sw Switches) reply {
	if !acceptsJSON(r.Header.Values("Accept")) {
		return codeError(http.StatusNotAcceptable, "invalid_accept_header", "The Accept header must allow application/json.")
	}
	if ep == nil {
		if len(allow) > 0 {
			return codeError(http.StatusMethodNotAllowed, "method_not_allowed",
				fmt.Sprintf("%s is not allowed on this resource; allowed: %s", r.Method, strings.Join(allow, ", "))).
				with("Allow", strings.Join(allow, ", "))
		}
		return notFound(sw)
	}
	if tooLarge {
		return codeError(http.StatusRequestEntityTooLarge, "request_too_large", "The request body is too large.")
	}
	write := r.Method == http.MethodPost || r.Method == http.MethodPut
	if (len(bytes.TrimSpace(body)) > 0 || (write && sw.WriteContentTypeRequired)) && !isJSONContentType(r.Header.Get("Content-Type")) {
		return codeError(http.StatusUnsupportedMediaType, "invalid_content_type",
			fmt.Sprintf("Content-Type header is set to %q. It should be set to application/json", r.Header.Get("Content-Type")))
	}
	var f *form
	if ep.body {
		var ferr *fieldError
		if f, ferr = parseForm(body); ferr != nil {
			return validationError(http.StatusBadRequest, []fieldError{*ferr})
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exact := s.sim(s.now())
	c := &call{
		s: s, st: s.st, sw: sw, r: r, q: r.URL.Query(), ids: ids, f: f,
		now: timestamp(exact), exact: exact, base: scheme + "://" + r.Host,
	}
	if rep, ok := c.permitted(ep); !ok {
		return rep
	}
	return ep.handle(c)
}

func (s *Server) authorized(r *http.Request) bool {
	user, _, ok := r.BasicAuth()
	return ok && user == s.apiKey && !s.keyRevoked()
}

func readBody(r *http.Request) (body []byte, tooLarge bool) {
	if r.Body == nil {
		return nil, false
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if len(b) > maxBodyBytes {
		return nil, true
	}
	return b, false
}

// acceptsJSON reports whether the Accept header allows JSON (reference §1:
// JSON or */*, else 406). No header means anything.
func acceptsJSON(values []string) bool {
	if len(values) == 0 {
		return true
	}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
			if mt == "" || mt == "*/*" || mt == "application/*" || mt == "application/json" || strings.HasSuffix(mt, "+json") {
				return true
			}
		}
	}
	return false
}

func isJSONContentType(v string) bool {
	mt, _, err := mime.ParseMediaType(v)
	return err == nil && mt == "application/json"
}

func setRateHeaders(h http.Header, d rateDecision) {
	h.Set("X-RateLimit-Total", strconv.Itoa(d.total))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(d.remaining))
	h.Set("X-RateLimit-Used-CurrentRequest", strconv.Itoa(d.used))
}

// writeReply sends rep and returns the status sent.
func writeReply(w http.ResponseWriter, rep reply) int {
	h := w.Header()
	for k, v := range rep.header {
		h[k] = v
	}
	var data []byte
	switch {
	case rep.raw != nil:
		data = rep.raw
		h.Set("Content-Type", rep.contentType)
	case rep.body != nil:
		// Freshservice writes "&" and "<" as they are ("Eastern Time (US &
		// Canada)"), not as \u0026 escapes.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep.body); err != nil {
			rep.status = http.StatusInternalServerError
			data = []byte(`{"code":"internal_error","message":"simulator: cannot encode the response"}`)
		} else {
			data = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		}
	}
	if rep.status == http.StatusNoContent {
		data = nil
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(data)
	return rep.status
}

// drop closes the connection without a response. A handler that cannot
// hijack (HTTP/2, a recorder) aborts instead, which net/http turns into a
// reset stream or a closed connection.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

type validationBody struct {
	Description string       `json:"description"`
	Errors      []fieldError `json:"errors"`
}

// validationError is the body of 400 and 409 validation failures
// (reference §9).
func validationError(status int, errs []fieldError) reply {
	return reply{status: status, body: validationBody{Description: "Validation failed", Errors: errs}}
}

func invalid(field, msg string) reply {
	return validationError(http.StatusBadRequest, []fieldError{{Field: field, Message: msg, Code: codeInvalidValue}})
}

type codeBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// codeError is the body of non-validation errors (reference §9).
func codeError(status int, code, msg string) reply {
	return reply{status: status, body: codeBody{Code: code, Message: msg}}
}

// notFound is a 404 in the style Switches.NotFoundBody selects.
func notFound(sw Switches) reply {
	switch sw.NotFoundBody {
	case NotFoundJSON:
		return codeError(http.StatusNotFound, "not_found", "The requested resource was not found.")
	case NotFoundHTML:
		return reply{status: http.StatusNotFound, contentType: "text/html; charset=utf-8",
			raw: []byte("<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>\n")}
	}
	return reply{status: http.StatusNotFound, raw: []byte{}, contentType: jsonContentType}
}

// tooManyRequests is the body of a 429; the reference leaves it open (§10),
// so clients must rely on the status and Retry-After only.
func tooManyRequests(m rateMode) reply {
	per := "minute"
	if m.hourly > 0 {
		per = "hour"
	}
	return codeError(http.StatusTooManyRequests, "rate_limit_exceeded",
		"You have exceeded the limit of requests per "+per+". Please retry after the time given in Retry-After.")
}

// serverError is an injected 5xx. 500 comes from the application and is JSON;
// 502 and 503 come from the load balancer in front of it and are HTML.
func serverError(status int) reply {
	if status == http.StatusInternalServerError {
		return codeError(status, "internal_error", "We're sorry, but something went wrong.")
	}
	return reply{status: status, contentType: "text/html; charset=utf-8",
		raw: fmt.Appendf(nil, "<html><body><h1>%d %s</h1></body></html>\n", status, http.StatusText(status))}
}

func newRequestID() string {
	a, b := rand.Uint64(), rand.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0x0fff, (b>>48)&0x3fff|0x8000, b&0xffffffffffff)
}

// created is the reply of a successful create whose status no real tenant
// has shown: 201 (or 200, Switches.CreateStatus) with a Location header
// (reference §2).
func (c *call) created(envelope, path string, id int64, v any) reply {
	return createdWith(c.sw.createStatus(), c.base, envelope, path, id, v)
}

// createdWith is a create's reply with a status real tenants have shown:
// 201 for a requester, 200 for a requester group or a department (§19).
func createdWith(status int, base, envelope, path string, id int64, v any) reply {
	return reply{status: status, body: map[string]any{envelope: v}}.
		with("Location", fmt.Sprintf("%s%s/%d", base, path, id))
}

func okReply(envelope string, v any) reply {
	return reply{status: http.StatusOK, body: map[string]any{envelope: v}}
}

func noContent() reply { return reply{status: http.StatusNoContent} }

func (c *call) notFound() reply { return notFound(c.sw) }
