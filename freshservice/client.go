// Package freshservice is a client for the Freshservice REST API v2, shaped
// after go-github: one Client, one service per resource, methods of the form
// Verb(ctx, ...) (*T, *Response, error).
//
// The client is where the account's API budget is managed (DESIGN D6): every
// request first takes a credit from the Budget (a sliding-window limiter per
// Freshservice bucket, sized from the plan and a configurable share of it and
// corrected from X-RateLimit-Remaining), 429 responses are waited out for
// their Retry-After and retried, and 5xx and transport failures are retried
// only for idempotent calls. It knows nothing of SCIM.
//
// The API key is sent only in the Authorization header. It never appears in
// a URL, an error string or a log line.
//
// Section numbers in method comments refer to the Freshservice API notes in
// reference/freshservice-api.md.
package freshservice

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const (
	// maxErrorBody caps how much of an error response is read.
	maxErrorBody = 64 << 10
	// maxBody caps how much of a successful response is read (a page of 100
	// users is well under 1 MiB).
	maxBody   = 16 << 20
	userAgent = "fsbridge"
)

// Client talks to one Freshservice account.
type Client struct {
	baseURL *url.URL // ends in /api/v2/
	apiKey  string
	http    *http.Client
	budget  *Budget
	retrier Retrier
	observe Observer

	Requesters      *RequestersService
	Agents          *AgentsService
	Groups          *GroupsService
	RequesterGroups *RequesterGroupsService
	Roles           *RolesService
	Departments     *DepartmentsService
	Locations       *LocationsService
	Workspaces      *WorkspacesService
}

type service struct{ client *Client }

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client used for requests (default: one with a
// 30 s timeout).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithBudget sets the budget shared by every request of this client; several
// clients of one account may share one Budget.
func WithBudget(b *Budget) Option { return func(c *Client) { c.budget = b } }

// WithRetrier sets the retry policy.
func WithRetrier(r Retrier) Option { return func(c *Client) { c.retrier = r } }

// WithObserver sets a function told about every HTTP attempt, for metrics
// and per-request call accounting.
func WithObserver(o Observer) Option { return func(c *Client) { c.observe = o } }

// Observer is told about every HTTP attempt the client makes, successful or
// not, after it completes. It must be quick and safe for concurrent use.
type Observer func(ctx context.Context, c Call)

// Call describes one HTTP attempt.
type Call struct {
	Method string
	Route  string // path template, e.g. "/api/v2/requesters/{id}"
	Bucket BucketName
	Status int // 0 when no response arrived
	// Reason classifies a failure; empty on success.
	Reason   Reason
	Attempt  int // 1 for the first attempt
	Duration time.Duration
	Waited   time.Duration // time spent waiting for budget before this attempt
	Rate     Rate
}

// NewClient returns a client for the account at baseURL, for example
// "https://acme.freshservice.com" (the /api/v2 prefix is added). The API key
// authenticates with HTTP Basic, as the username.
func NewClient(baseURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("freshservice: base URL %q is not an absolute URL", baseURL)
	}
	if u.User != nil {
		return nil, errors.New("freshservice: base URL must not carry credentials; give the API key separately")
	}
	if apiKey == "" {
		return nil, errors.New("freshservice: API key is empty")
	}
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.Path = strings.TrimSuffix(u.Path, "/api/v2") + "/api/v2/"
	c := &Client{
		baseURL: u,
		apiKey:  apiKey,
		http:    &http.Client{Timeout: 30 * time.Second},
		retrier: DefaultRetrier(),
	}
	for _, o := range opts {
		o(c)
	}
	if c.budget == nil {
		c.budget = NewBudget(BudgetConfig{Plan: DefaultPlan})
	}
	s := service{client: c}
	c.Requesters = (*RequestersService)(&s)
	c.Agents = (*AgentsService)(&s)
	c.Groups = (*GroupsService)(&s)
	c.RequesterGroups = (*RequesterGroupsService)(&s)
	c.Roles = (*RolesService)(&s)
	c.Departments = (*DepartmentsService)(&s)
	c.Locations = (*LocationsService)(&s)
	c.Workspaces = (*WorkspacesService)(&s)
	return c, nil
}

// Budget returns the client's budget, so callers can ask how long a call
// would wait before making it.
func (c *Client) Budget() *Budget { return c.budget }

// BaseURL returns the API base URL, ending in /api/v2/.
func (c *Client) BaseURL() string { return c.baseURL.String() }

// Response wraps the HTTP response with what the client parsed from it.
type Response struct {
	*http.Response
	// NextPage is the page number of the next page, or 0 on the last page.
	NextPage int
	// Rate is the rate-limit state reported by this response's headers.
	Rate Rate
	// Bucket is the rate-limit bucket the request drew from.
	Bucket BucketName
}

// Rate is the rate-limit state Freshservice reports on every response, for
// the bucket the endpoint draws from (§10).
type Rate struct {
	Total     int // X-RateLimit-Total; 0 when absent
	Remaining int // X-RateLimit-Remaining; -1 when absent
	Used      int // X-RateLimit-Used-CurrentRequest
}

func parseRate(h http.Header) Rate {
	r := Rate{Remaining: -1}
	if v, err := strconv.Atoi(h.Get("X-RateLimit-Total")); err == nil {
		r.Total = v
	}
	if v, err := strconv.Atoi(h.Get("X-RateLimit-Remaining")); err == nil {
		r.Remaining = v
	}
	if v, err := strconv.Atoi(h.Get("X-RateLimit-Used-CurrentRequest")); err == nil {
		r.Used = v
	}
	return r
}

var linkNext = regexp.MustCompile(`<([^>]+)>\s*;\s*rel="?next"?`)

// nextPage reads the page number from a Link rel="next" header (§11).
func nextPage(h http.Header) int {
	for _, link := range h.Values("Link") {
		m := linkNext.FindStringSubmatch(link)
		if m == nil {
			continue
		}
		u, err := url.Parse(m[1])
		if err != nil {
			continue
		}
		if p, err := strconv.Atoi(u.Query().Get("page")); err == nil && p > 0 {
			return p
		}
	}
	return 0
}

// request is one logical API call, possibly sent several times.
type request struct {
	method string
	path   string // relative to /api/v2/, e.g. "requesters/123"
	route  string // templated, for metrics: "/api/v2/requesters/{id}"
	query  url.Values
	body   any
	// idempotent calls may be retried after 5xx and transport errors.
	idempotent bool
	bucket     BucketName
}

// do sends req, retrying as the Retrier says, and decodes a successful body
// into out (when out is non-nil and the body is not empty).
func (c *Client) do(ctx context.Context, req request, out any) (*Response, error) {
	var payload []byte
	if req.body != nil {
		var err error
		payload, err = json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("freshservice: %s %s: encoding body: %w", req.method, req.route, err)
		}
	}
	if req.bucket == "" {
		req.bucket = BucketOverall
	}
	u := *c.baseURL
	u.Path += req.path
	if len(req.query) > 0 {
		u.RawQuery = req.query.Encode()
	}
	var retryAt time.Time // set by a 429: the attempt after it waits for its Retry-After
	for attempt := 1; ; attempt++ {
		waited, err := c.budget.wait(ctx, req.bucket, retryAt)
		if err != nil {
			return nil, fmt.Errorf("freshservice: %s %s: %w", req.method, req.route, err)
		}
		call := Call{Method: req.method, Route: req.route, Bucket: req.bucket, Attempt: attempt, Waited: waited}
		start := time.Now()
		resp, err := c.send(ctx, req, &u, payload)
		if resp != nil {
			call.Status = resp.StatusCode
			call.Rate = resp.Rate
			if resp.StatusCode != http.StatusTooManyRequests {
				c.budget.Observe(req.bucket, resp.Rate, time.Now())
			}
			if err = checkResponse(resp, req, c.redact); err == nil && out != nil {
				if derr := decodeBody(resp, out); derr != nil {
					err = &DecodeError{Method: req.method, Route: req.route, err: derr}
				}
			}
			drain(resp)
		}
		call.Duration = time.Since(start)
		if err == nil {
			c.report(ctx, call)
			return resp, nil
		}
		var rl *RateLimitError
		limited := errors.As(err, &rl) && resp != nil
		if limited {
			// Freshservice refused with a Retry-After: this call waits it
			// out, and so does every call on the bucket that ran out, for
			// that long and no longer (Budget.Refused).
			retryAt = c.budget.Refused(req.bucket, resp.Rate, rl.RetryAfter, time.Now())
		}
		verdict := c.retrier.Check(err, req.idempotent, attempt)
		call.Reason = verdict.Reason
		c.report(ctx, call)
		if !verdict.Retry {
			return resp, err
		}
		if limited {
			continue
		}
		if err := sleep(ctx, verdict.Backoff); err != nil {
			return nil, fmt.Errorf("freshservice: %s %s: %w", req.method, req.route, err)
		}
	}
}

func (c *Client) report(ctx context.Context, call Call) {
	if c.observe != nil {
		c.observe(ctx, call)
	}
}

func (c *Client) send(ctx context.Context, req request, u *url.URL, payload []byte) (*Response, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("freshservice: %s %s: %w", req.method, req.route, err)
	}
	hr.SetBasicAuth(c.apiKey, "X")
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", userAgent)
	// Every POST and PUT says JSON, bodyless ones too (convert_to_agent,
	// reactivate, a requester-group member add): an account may refuse a
	// write without it with 415, as Freshdesk does (§1, §19).
	if payload != nil || req.method == http.MethodPost || req.method == http.MethodPut || req.method == http.MethodPatch {
		hr.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, &TransportError{Method: req.method, Route: req.route, err: sanitizeTransport(err, c.apiKey)}
	}
	return &Response{Response: resp, Rate: parseRate(resp.Header), Bucket: req.bucket, NextPage: nextPage(resp.Header)}, nil
}

// redact removes the API key, plain or inside a Basic credential, from text
// that came from the server, in case a broken server echoes it.
func (c *Client) redact(s string) string {
	if s == "" {
		return s
	}
	basic := base64.StdEncoding.EncodeToString([]byte(c.apiKey + ":X"))
	return strings.NewReplacer(basic, "<secret>", c.apiKey, "<secret>").Replace(s)
}

// sanitizeTransport strips the URL (which never holds the key, but may hold
// query values) and, defensively, the key itself from a transport error.
func sanitizeTransport(err error, apiKey string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if apiKey != "" && strings.Contains(err.Error(), apiKey) {
		return errors.New(strings.ReplaceAll(err.Error(), apiKey, "<secret>"))
	}
	return err
}

func decodeBody(resp *Response, out any) error {
	if resp.StatusCode == http.StatusNoContent {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	return json.Unmarshal(data, out)
}

func drain(resp *Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ListOptions are the paging parameters of list endpoints (§11).
type ListOptions struct {
	Page    int // 1-based; 0 means 1
	PerPage int // at most 100; 0 means 100
}

func (o ListOptions) values(v url.Values) url.Values {
	if v == nil {
		v = url.Values{}
	}
	page, per := o.Page, o.PerPage
	if page <= 0 {
		page = 1
	}
	if per <= 0 || per > 100 {
		per = 100
	}
	v.Set("page", strconv.Itoa(page))
	v.Set("per_page", strconv.Itoa(per))
	return v
}

func idPath(prefix string, id int64, suffix ...string) string {
	p := prefix + "/" + strconv.FormatInt(id, 10)
	for _, s := range suffix {
		p += "/" + s
	}
	return p
}
