package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// idpClient is a SCIM client that retries the way an IdP's provisioning
// engine does, for the chaos and crash tests:
//   - 429: waits Retry-After (whole seconds), then retries;
//   - 5xx (the bridge's 503 included) and transport errors (a lost answer,
//     a refused connection while the bridge restarts): retries with
//     exponential backoff and jitter;
//   - a POST whose earlier attempt may have taken effect and that now
//     answers 409 uniqueness: looks the resource up (userName, or
//     displayName for groups) and, only if it is there, takes it as created
//     by the earlier attempt, as Okta and Entra do;
//   - a DELETE retried after a lost answer that now answers 404: done.
//
// Anything else is final and returned to the caller.
type idpClient struct {
	base  string // the SCIM base URL, ending in /scim/v2
	token string
	hc    *http.Client
	// baseBackoff and maxBackoff bound the wait between retries after a
	// 5xx or a transport error.
	baseBackoff, maxBackoff time.Duration
	stats                   idpStats
}

// idpStats counts what the client went through.
type idpStats struct {
	Requests       atomic.Int64 // HTTP attempts
	Retry429       atomic.Int64 // 429s waited out
	Wait429        atomic.Int64 // total Retry-After waited, ns
	Retry5xx       atomic.Int64 // 5xx answers retried
	RetryTransport atomic.Int64 // transport errors retried
	Adopted409     atomic.Int64 // retried POSTs answered 409 and found by a lookup
	Gone404        atomic.Int64 // retried DELETEs answered 404 (the earlier attempt did it)
}

func (s *idpStats) String() string {
	return fmt.Sprintf("%d HTTP attempts; retried %d× after 429 (waited %s in Retry-After), %d× after 5xx, %d× after a transport error; "+
		"%d retried POSTs answered 409 and were found by a lookup; %d retried DELETEs answered 404",
		s.Requests.Load(), s.Retry429.Load(), time.Duration(s.Wait429.Load()).Round(time.Millisecond), s.Retry5xx.Load(),
		s.RetryTransport.Load(), s.Adopted409.Load(), s.Gone404.Load())
}

func newIDPClient(base, token string) *idpClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	return &idpClient{
		base: base, token: token,
		hc:          &http.Client{Timeout: 90 * time.Second, Transport: tr},
		baseBackoff: 25 * time.Millisecond, maxBackoff: 500 * time.Millisecond,
	}
}

// idpResponse is the final answer to one logical request.
type idpResponse struct {
	Status   int
	Body     map[string]any
	Raw      []byte
	Attempts int
	// Uncertain is set when an earlier attempt may have taken effect: it
	// got no answer, a 5xx, or a 429 (the bridge answers 429 and 503 after
	// saving the desired state: "retry later").
	Uncertain bool
}

// idpError is a request that ended with an unexpected status.
type idpError struct {
	Method, Path string
	Status       int
	Raw          string
	Attempts     int
}

func (e *idpError) Error() string {
	return fmt.Sprintf("%s %s: %d after %d attempt(s): %s", e.Method, e.Path, e.Status, e.Attempts, strings.TrimSpace(e.Raw))
}

func (c *idpClient) fail(method, path string, r idpResponse) error {
	raw := string(r.Raw)
	if len(raw) > 400 {
		raw = raw[:400] + "…"
	}
	return &idpError{Method: method, Path: path, Status: r.Status, Raw: raw, Attempts: r.Attempts}
}

// once sends one attempt.
func (c *idpClient) once(ctx context.Context, method, path string, payload []byte) (int, []byte, http.Header, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/scim+json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	c.stats.Requests.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err // the answer was cut: as good as lost
	}
	return resp.StatusCode, data, resp.Header, nil
}

// do sends the request until it gets an answer that is neither 429 nor
// 5xx, or ctx ends.
func (c *idpClient) do(ctx context.Context, method, path string, body any) (idpResponse, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return idpResponse{}, err
		}
	}
	var r idpResponse
	backoff := c.baseBackoff
	sleep := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s: gave up after %d attempts (last status %d): %w", method, path, r.Attempts, r.Status, ctx.Err())
		case <-t.C:
			return nil
		}
	}
	jittered := func() time.Duration {
		d := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, c.maxBackoff)
		return d
	}
	for {
		if err := ctx.Err(); err != nil {
			return r, fmt.Errorf("%s %s: gave up after %d attempts (last status %d): %w", method, path, r.Attempts, r.Status, err)
		}
		r.Attempts++
		status, data, hdr, err := c.once(ctx, method, path, payload)
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			r.Status, r.Uncertain = 0, true
			c.stats.RetryTransport.Add(1)
			if err := sleep(jittered()); err != nil {
				return r, err
			}
			continue
		}
		r.Status, r.Raw, r.Body = status, data, nil
		switch {
		case status == http.StatusTooManyRequests:
			wait := time.Second
			if s, err := strconv.Atoi(strings.TrimSpace(hdr.Get("Retry-After"))); err == nil && s >= 0 {
				wait = time.Duration(s) * time.Second
			}
			r.Uncertain = true
			c.stats.Retry429.Add(1)
			c.stats.Wait429.Add(int64(wait))
			if err := sleep(wait); err != nil {
				return r, err
			}
			continue
		case status >= 500:
			r.Uncertain = true
			c.stats.Retry5xx.Add(1)
			if err := sleep(jittered()); err != nil {
				return r, err
			}
			continue
		}
		if len(bytes.TrimSpace(data)) > 0 {
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				r.Body = m
			}
		}
		return r, nil
	}
}

// lookup finds one resource by an equality filter; found is false when
// the list is empty.
func (c *idpClient) lookup(ctx context.Context, resource, attr, value string) (id string, found bool, err error) {
	path := "/" + resource + "?filter=" + url.QueryEscape(fmt.Sprintf("%s eq %q", attr, value))
	r, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return "", false, err
	}
	if r.Status != http.StatusOK {
		return "", false, c.fail(http.MethodGet, path, r)
	}
	res, _ := r.Body["Resources"].([]any)
	switch len(res) {
	case 0:
		return "", false, nil
	case 1:
		m, _ := res[0].(map[string]any)
		id, _ := m["id"].(string)
		return id, id != "", nil
	}
	return "", false, fmt.Errorf("GET %s: %d resources for one %s", path, len(res), attr)
}

// create POSTs a resource and returns its id. A 409 uniqueness on a retry
// whose earlier attempt may have taken effect is resolved by a lookup of
// key (userName or displayName).
func (c *idpClient) create(ctx context.Context, resource, keyAttr, key string, body any) (string, error) {
	path := "/" + resource
	r, err := c.do(ctx, http.MethodPost, path, body)
	if err != nil {
		return "", err
	}
	switch {
	case r.Status == http.StatusCreated:
		id, _ := r.Body["id"].(string)
		if id == "" {
			return "", fmt.Errorf("POST %s: 201 without an id: %s", path, r.Raw)
		}
		return id, nil
	case r.Status == http.StatusConflict && r.Attempts > 1 && r.Uncertain:
		id, found, err := c.lookup(ctx, resource, keyAttr, key)
		if err != nil {
			return "", err
		}
		if found {
			c.stats.Adopted409.Add(1)
			return id, nil
		}
	}
	return "", c.fail(http.MethodPost, path, r)
}

func (c *idpClient) createUser(ctx context.Context, userName string, body map[string]any) (string, error) {
	return c.create(ctx, "Users", "userName", userName, body)
}

func (c *idpClient) createGroup(ctx context.Context, name string, memberIDs []string) (string, error) {
	members := []any{}
	for _, id := range memberIDs {
		members = append(members, map[string]any{"value": id})
	}
	return c.create(ctx, "Groups", "displayName", name, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name, "members": members,
	})
}

// expect sends a request that must end with one of the given statuses.
func (c *idpClient) expect(ctx context.Context, method, path string, body any, ok ...int) (idpResponse, error) {
	r, err := c.do(ctx, method, path, body)
	if err != nil {
		return r, err
	}
	for _, s := range ok {
		if r.Status == s {
			return r, nil
		}
	}
	return r, c.fail(method, path, r)
}

func (c *idpClient) patchUser(ctx context.Context, id string, ops ...map[string]any) error {
	_, err := c.expect(ctx, http.MethodPatch, "/Users/"+id, patchBody(ops...), http.StatusOK, http.StatusNoContent)
	return err
}

func (c *idpClient) putUser(ctx context.Context, id string, body map[string]any) error {
	_, err := c.expect(ctx, http.MethodPut, "/Users/"+id, body, http.StatusOK)
	return err
}

// deleteUser is SCIM DELETE; a 404 to a retry whose earlier attempt may
// have been done counts as done.
func (c *idpClient) deleteUser(ctx context.Context, id string) error {
	path := "/Users/" + id
	r, err := c.do(ctx, http.MethodDelete, path, nil)
	if err != nil {
		return err
	}
	switch {
	case r.Status == http.StatusNoContent:
		return nil
	case r.Status == http.StatusNotFound && r.Attempts > 1 && r.Uncertain:
		c.stats.Gone404.Add(1)
		return nil
	}
	return c.fail(http.MethodDelete, path, r)
}

// addMembers is Okta's form: one add with every member.
func (c *idpClient) addMembers(ctx context.Context, gid string, ids ...string) error {
	var m []any
	for _, id := range ids {
		m = append(m, map[string]any{"value": id})
	}
	_, err := c.expect(ctx, http.MethodPatch, "/Groups/"+gid,
		patchBody(map[string]any{"op": "add", "path": "members", "value": m}), http.StatusOK, http.StatusNoContent)
	return err
}

// removeMembers is Entra's form: one remove op per member, by value filter.
func (c *idpClient) removeMembers(ctx context.Context, gid string, ids ...string) error {
	var ops []map[string]any
	for _, id := range ids {
		ops = append(ops, map[string]any{"op": "Remove", "path": fmt.Sprintf(`members[value eq "%s"]`, id)})
	}
	_, err := c.expect(ctx, http.MethodPatch, "/Groups/"+gid, patchBody(ops...), http.StatusOK, http.StatusNoContent)
	return err
}

// runJobs runs jobs on n workers and returns every error, in job order.
func runJobs(ctx context.Context, n int, jobs []func(context.Context) error) []error {
	errs := make([]error, len(jobs))
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				errs[i] = jobs[i](ctx)
			}
		})
	}
	wg.Wait()
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}
