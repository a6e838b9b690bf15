package freshservice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const testKey = "sk_live_TESTKEY_0123456789"

// setup returns a client whose base URL carries a non-empty path prefix, so
// a wrongly built URL fails loudly, and the mux behind it (go-github style).
func setup(t *testing.T, opts ...Option) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	api := http.NewServeMux()
	api.Handle("/prefix/", http.StripPrefix("/prefix", mux))
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the base path: %s %s", r.Method, r.URL)
		http.Error(w, "wrong path", http.StatusBadGateway)
	})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	opts = append([]Option{WithRetrier(Retrier{MaxAttempts: 3, MaxRateLimited: 3, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})}, opts...)
	c, err := NewClient(srv.URL+"/prefix", testKey, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func TestNewClientRejectsBadConfig(t *testing.T) {
	for name, tc := range map[string]struct{ url, key string }{
		"relative url":       {"acme.freshservice.com", "k"},
		"credentials in url": {"https://k:X@acme.freshservice.com", "k"},
		"empty key":          {"https://acme.freshservice.com", ""},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewClient(tc.url, tc.key); err == nil {
				t.Fatal("NewClient accepted it")
			}
		})
	}
}

func TestBaseURLGetsAPIPrefixOnce(t *testing.T) {
	for _, in := range []string{"https://acme.freshservice.com", "https://acme.freshservice.com/", "https://acme.freshservice.com/api/v2", "https://acme.freshservice.com/api/v2/"} {
		c, err := NewClient(in, "k")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.BaseURL(), "https://acme.freshservice.com/api/v2/"; got != want {
			t.Errorf("NewClient(%q).BaseURL() = %q, want %q", in, got, want)
		}
	}
}

func TestRequestCarriesBasicAuthAndJSONHeaders(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /api/v2/requesters", func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != testKey || pass == "" {
			t.Errorf("basic auth = %q/%q/%v, want the key as username", user, pass, ok)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		if a := r.Header.Get("Accept"); a != "application/json" {
			t.Errorf("Accept = %q", a)
		}
		if strings.Contains(r.URL.String(), testKey) {
			t.Errorf("API key in URL %s", r.URL)
		}
		writeJSON(w, 201, map[string]any{"requester": map[string]any{"id": 7, "primary_email": "a@x.com", "first_name": "A", "active": true}})
	})
	u, _, err := c.Requesters.Create(context.Background(), &RequesterFields{Email: Ptr("a@x.com"), Profile: Profile{FirstName: Ptr("A")}})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != 7 || u.Email != "a@x.com" || u.View != ViewRequester {
		t.Errorf("got %+v", u)
	}
}

func TestUserDecodesBothViews(t *testing.T) {
	requester := `{"active":true,"address":null,"can_see_all_tickets_from_associated_departments":false,
	 "created_at":"2023-03-03T14:27:49Z","custom_fields":{"employee_id":null},"department_ids":[],"department_names":null,
	 "external_id":"ext-1","first_name":"Alex","has_logged_in":false,"id":21001799737,"is_agent":true,
	 "job_title":"Analyst II","language":"en","last_name":"Smith","location_id":null,"mobile_phone_number":"800-555-9999",
	 "primary_email":"Alex.test1@example.com","reporting_manager_id":null,"secondary_emails":["Alex.test2@example.com"],
	 "time_format":"12h","time_zone":"Eastern Time (US & Canada)","updated_at":"2023-03-31T01:15:40Z","vip_user":false,"work_phone_number":null}`
	agent := `{"active":true,"address":null,"email":"korsie@example.com","external_id":null,"first_name":"Korsie","id":21000049726,
	 "last_name":"Ballesteros","occasional":false,"role_ids":[21000049414],
	 "roles":[{"role_id":21000049414,"assignment_scope":"entire_helpdesk","groups":[]}],
	 "scopes":{"ticket":null},"member_of":[21000061286,21000061290],"observer_of":[],"group_ids":[21000061286],
	 "member_of_pending_approval":[],"observer_of_pending_approval":[],"department_ids":[],"time_zone":"Chennai","language":"en",
	 "created_at":"2022-07-04T11:09:29Z","updated_at":"2022-07-04T11:09:29Z","reporting_manager_id":21000000001}`
	var r, a User
	if err := json.Unmarshal([]byte(requester), &r); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(agent), &a); err != nil {
		t.Fatal(err)
	}
	if r.View != ViewRequester || r.Email != "Alex.test1@example.com" || !r.IsAgent || r.ExternalID != "ext-1" ||
		r.Address != "" || r.LocationID != 0 || r.MobilePhone != "800-555-9999" || len(r.SecondaryEmails) != 1 {
		t.Errorf("requester view decoded as %+v", r)
	}
	if a.View != ViewAgent || a.Email != "korsie@example.com" || !a.IsAgent || a.Occasional ||
		len(a.Roles) != 1 || a.Roles[0].AssignmentScope != ScopeEntireHelpdesk || len(a.MemberOf) != 2 || a.ReportingManagerID != 21000000001 {
		t.Errorf("agent view decoded as %+v", a)
	}
	// Our own encoding reads back unchanged (the mirror persists users so).
	for _, u := range []User{r, a} {
		data, err := json.Marshal(u)
		if err != nil {
			t.Fatal(err)
		}
		var back User
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(u, back, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestFieldsOmitNilAndSendClearedAsNull(t *testing.T) {
	f := RequesterFields{
		Email:   Ptr("a@x.com"),
		Profile: Profile{JobTitle: Ptr(""), ReportingManagerID: Ptr(int64(0)), DepartmentIDs: &[]int64{}, LocationID: Ptr(int64(5))},
	}
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.Unmarshal(data, &got)
	want := map[string]any{
		"primary_email": "a@x.com", "job_title": nil, "reporting_manager_id": nil, "department_ids": []any{}, "location_id": float64(5),
		"can_see_all_tickets_from_associated_departments": false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	a, _ := json.Marshal(AgentFields{Email: Ptr("b@x.com"), Roles: &[]RoleAssignment{{RoleID: 1, AssignmentScope: ScopeEntireHelpdesk}}})
	if !bytes.Contains(a, []byte(`"email":"b@x.com"`)) || bytes.Contains(a, []byte("primary_email")) || bytes.Contains(a, []byte("role_ids")) {
		t.Errorf("agent body %s", a)
	}
}

func TestPaginationFollowsLinkNext(t *testing.T) {
	c, mux := setup(t)
	var pagesSeen []string
	mux.HandleFunc("GET /api/v2/requesters", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		pagesSeen = append(pagesSeen, q.Get("page"))
		if q.Get("per_page") != "100" || q.Get("include_agents") != "true" || q.Get("active") != "true" {
			t.Errorf("query %s", r.URL.RawQuery)
		}
		page := q.Get("page")
		var items []map[string]any
		switch page {
		case "1":
			items = []map[string]any{{"id": 1, "primary_email": "a@x"}, {"id": 2, "primary_email": "b@x"}}
			w.Header().Set("Link", fmt.Sprintf(`<http://%s/prefix/api/v2/requesters?per_page=100&page=2>; rel="next"`, r.Host))
		case "2":
			items = []map[string]any{{"id": 3, "primary_email": "c@x"}}
		}
		writeJSON(w, 200, map[string]any{"requesters": items})
	})
	var ids []int64
	for u, err := range c.Requesters.All(context.Background(), &RequesterListOptions{IncludeAgents: true, Active: Ptr(true)}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	if diff := cmp.Diff([]int64{1, 2, 3}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1", "2"}, pagesSeen); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
}

func TestRateParsedOnEveryResponse(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("GET /api/v2/agents", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Total", "140")
		w.Header().Set("X-RateLimit-Remaining", "139")
		w.Header().Set("X-RateLimit-Used-CurrentRequest", "1")
		writeJSON(w, 200, map[string]any{"agents": []any{}})
	})
	_, resp, err := c.Agents.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Rate{Total: 140, Remaining: 139, Used: 1}); resp.Rate != want || resp.Bucket != BucketListAgents {
		t.Errorf("rate %+v bucket %s, want %+v list_agents", resp.Rate, resp.Bucket, want)
	}
}

func TestErrorResponses(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		is       error
		field    string
		code     string
		wantText string
	}{
		{"duplicate email 409", 409, `{"description":"Validation failed","errors":[{"field":"primary_email","message":"It should be a unique value","code":"duplicate_value"}]}`, ErrDuplicate, "primary_email", "duplicate_value", "409 Conflict"},
		{"duplicate email 400", 400, `{"description":"Validation failed","errors":[{"field":"email","message":"It should be a unique value","code":"duplicate_value"}]}`, ErrDuplicate, "email", "duplicate_value", "email duplicate_value"},
		{"invalid value", 400, `{"description":"Validation failed","errors":[{"field":"time_zone","message":"It should be one of these values","code":"invalid_value"}]}`, nil, "time_zone", "invalid_value", "time_zone invalid_value"},
		{"missing fields", 400, `{"description":"Validation failed","errors":[{"field":"first_name","message":"x","code":"missing_field"},{"field":"cf_emp","message":"x","code":"missing_field"}]}`, nil, "cf_emp", "missing_field", "first_name missing_field, cf_emp missing_field"},
		{"not found empty body", 404, ``, ErrNotFound, "", "", "404 Not Found"},
		{"not found html body", 404, `<html><body>Not Found</body></html>`, ErrNotFound, "", "", "404 Not Found"},
		{"not found json", 404, `{"code":"not_found","message":"nope"}`, ErrNotFound, "", "", "not_found"},
		{"unauthorized", 401, `{"code":"invalid_credentials","message":"You have to be logged in to perform this action."}`, ErrUnauthorized, "", "", "invalid_credentials"},
		{"seats exhausted", 403, `{"code":"access_denied","message":"You are not authorized to perform this action."}`, ErrForbidden, "", "", "access_denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, mux := setup(t)
			mux.HandleFunc("PUT /api/v2/requesters/{id}", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			_, _, err := c.Requesters.Update(context.Background(), 42, &RequesterFields{Profile: Profile{JobTitle: Ptr("x")}})
			var er *ErrorResponse
			if !errors.As(err, &er) {
				t.Fatalf("err = %v, want *ErrorResponse", err)
			}
			if er.Status != tc.status {
				t.Errorf("status %d", er.Status)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.is)
			}
			if tc.field != "" {
				if code, ok := er.FieldCode(tc.field); !ok || code != tc.code {
					t.Errorf("FieldCode(%s) = %q, %v", tc.field, code, ok)
				}
			}
			if !strings.Contains(err.Error(), tc.wantText) || !strings.Contains(err.Error(), "/api/v2/requesters/{id}") {
				t.Errorf("error text %q lacks %q or the route", err, tc.wantText)
			}
			if strings.Contains(err.Error(), "<html>") || strings.Contains(err.Error(), "42") {
				t.Errorf("error text %q copies the raw body or the id", err)
			}
		})
	}
}

// TestRetryVerdicts is the table of what the client does with each answer:
// how many attempts reach the server for an idempotent (PUT) and a
// non-idempotent (POST) call.
func TestRetryVerdicts(t *testing.T) {
	tests := []struct {
		status               int
		idempotent, nonIdemp int // attempts seen by the server
		reason               Reason
	}{
		{400, 1, 1, ReasonClient},
		{401, 1, 1, ReasonAuth},
		{403, 1, 1, ReasonAuth},
		{404, 1, 1, ReasonNotFound},
		{405, 1, 1, ReasonClient},
		{406, 1, 1, ReasonClient},
		{409, 1, 1, ReasonConflict},
		{415, 1, 1, ReasonClient},
		{429, 3, 3, ReasonRateLimited},
		{500, 3, 1, ReasonServer},
		{502, 3, 1, ReasonServer},
		{503, 3, 1, ReasonServer},
		{504, 3, 1, ReasonServer},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			var mu sync.Mutex
			seen := map[string]int{}
			var reasons []Reason
			c, mux := setup(t, WithObserver(func(_ context.Context, call Call) {
				mu.Lock()
				reasons = append(reasons, call.Reason)
				mu.Unlock()
			}))
			h := func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen[r.Method]++
				mu.Unlock()
				if tc.status == 429 {
					w.Header().Set("Retry-After", "0")
				}
				w.WriteHeader(tc.status)
			}
			mux.HandleFunc("PUT /api/v2/requesters/{id}", h)
			mux.HandleFunc("POST /api/v2/requesters", h)
			ctx := context.Background()
			_, _, errPut := c.Requesters.Update(ctx, 1, &RequesterFields{})
			_, _, errPost := c.Requesters.Create(ctx, &RequesterFields{})
			if errPut == nil || errPost == nil {
				t.Fatalf("errors %v / %v, want both to fail", errPut, errPost)
			}
			if seen["PUT"] != tc.idempotent || seen["POST"] != tc.nonIdemp {
				t.Errorf("attempts PUT=%d POST=%d, want %d and %d", seen["PUT"], seen["POST"], tc.idempotent, tc.nonIdemp)
			}
			if got := Classify(errPut); got != tc.reason {
				t.Errorf("Classify = %s, want %s", got, tc.reason)
			}
			if len(reasons) == 0 || reasons[0] != tc.reason {
				t.Errorf("observer reasons %v", reasons)
			}
		})
	}
}

func TestTransportErrorsRetriedOnlyWhenIdempotent(t *testing.T) {
	c, mux := setup(t)
	var puts, posts atomic.Int32
	drop := func(counter *atomic.Int32) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if counter.Add(1) == 1 {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.Close()
				}
				return
			}
			writeJSON(w, 200, map[string]any{"requester": map[string]any{"id": 1, "primary_email": "a@x"}})
		}
	}
	mux.HandleFunc("PUT /api/v2/requesters/{id}", drop(&puts))
	mux.HandleFunc("POST /api/v2/requesters", drop(&posts))
	if _, _, err := c.Requesters.Update(context.Background(), 1, &RequesterFields{}); err != nil {
		t.Errorf("idempotent update after one dropped connection: %v", err)
	}
	_, _, err := c.Requesters.Create(context.Background(), &RequesterFields{})
	var te *TransportError
	if !errors.As(err, &te) {
		t.Errorf("create after a dropped connection: err = %v, want *TransportError (the create may have happened)", err)
	}
	if puts.Load() != 2 || posts.Load() != 1 {
		t.Errorf("attempts PUT=%d POST=%d, want 2 and 1", puts.Load(), posts.Load())
	}
}

func TestRetryAfterIsWaitedOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		var second time.Time
		first := time.Now()
		// An in-memory round tripper keeps the test inside the bubble.
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if calls.Add(1) == 1 {
				return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"7"}}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
			}
			second = time.Now()
			return jsonResponse(r, 200, `{"roles":[{"id":1,"name":"SD Agent"}]}`), nil
		})
		c, err := NewClient("https://acme.freshservice.com", testKey, WithHTTPClient(&http.Client{Transport: rt}))
		if err != nil {
			t.Fatal(err)
		}
		roles, _, err := c.Roles.List(context.Background(), nil)
		if err != nil || len(roles) != 1 {
			t.Fatalf("roles %v err %v", roles, err)
		}
		if d := second.Sub(first); d < 7*time.Second || d > 8*time.Second {
			t.Errorf("retried after %s, want Retry-After's 7s", d)
		}
	})
}

func TestWaitsHonourContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"60"}}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
		})
		c, _ := NewClient("https://acme.freshservice.com", testKey, WithHTTPClient(&http.Client{Transport: rt}))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, _, err := c.Roles.List(ctx, nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want deadline exceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("returned after %s, past the context's 5s", d)
		}
	})
}

func TestAPIKeyNeverInErrors(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("GET /api/v2/requesters/{id}", func(w http.ResponseWriter, r *http.Request) {
		// A hostile or broken server echoing the credentials back.
		w.WriteHeader(400)
		_, _ = io.WriteString(w, `{"description":"bad `+r.Header.Get("Authorization")+` `+testKey+`","errors":[{"field":"x","message":"`+testKey+`","code":"invalid_value"}]}`)
	})
	_, _, err := c.Requesters.Get(context.Background(), 1)
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), testKey) || strings.Contains(fmt.Sprintf("%#v", err), testKey) {
		t.Errorf("error text leaks the API key: %q", err)
	}
	// Transport errors: an unreachable host.
	c2, _ := NewClient("http://127.0.0.1:1", testKey, WithRetrier(Retrier{MaxAttempts: 1, MaxRateLimited: 1}))
	_, _, err = c2.Requesters.Get(context.Background(), 1)
	if err == nil || strings.Contains(err.Error(), testKey) || strings.Contains(fmt.Sprintf("%#v", err), testKey) {
		t.Errorf("transport error %v leaks the key or is nil", err)
	}
}

func TestConvertToRequesterReadsEitherEnvelope(t *testing.T) {
	for _, key := range []string{"requester", "agent"} {
		t.Run(key, func(t *testing.T) {
			c, mux := setup(t)
			mux.HandleFunc("PUT /api/v2/agents/{id}/convert_to_requester", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, map[string]any{key: map[string]any{"id": 9, "primary_email": "a@x", "is_agent": false}})
			})
			u, _, err := c.Agents.ConvertToRequester(context.Background(), 9)
			if err != nil || u == nil || u.ID != 9 || u.IsAgent || u.Email != "a@x" {
				t.Errorf("got %+v, %v", u, err)
			}
		})
	}
}

func TestAgentDeactivateAcceptsBodyOrNoContent(t *testing.T) {
	for _, status := range []int{200, 204} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			c, mux := setup(t)
			mux.HandleFunc("DELETE /api/v2/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
				if status == 204 {
					w.WriteHeader(204)
					return
				}
				writeJSON(w, 200, map[string]any{"agent": map[string]any{"id": 5, "email": "a@x", "active": false}})
			})
			u, _, err := c.Agents.Deactivate(context.Background(), 5)
			if err != nil {
				t.Fatal(err)
			}
			if status == 200 && (u == nil || u.Active) {
				t.Errorf("agent %+v", u)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func jsonResponse(r *http.Request, status int, body string) *http.Response {
	return &http.Response{
		StatusCode: status, Request: r,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(strings.NewReader(body)),
	}
}

// TestErrorKinds is what callers learn from an error body through
// errors.Is and the ErrorResponse helpers, whatever call failed.
func TestErrorKinds(t *testing.T) {
	tests := []struct {
		name        string
		method      string // POST create, PUT update, POST member add
		status      int
		body        string
		is, isNot   []error
		feature     string
		wantFeature bool
	}{
		{"409 without a code on a create is a duplicate", "create", 409, `{"code":"inconsistent_state","message":"x"}`, []error{ErrDuplicate}, nil, "", false},
		{"409 with an empty body on a create is a duplicate", "create", 409, ``, []error{ErrDuplicate}, nil, "", false},
		{"409 without a code on an update is not a duplicate", "update", 409, `{"code":"inconsistent_state","message":"x"}`, nil, []error{ErrDuplicate}, "", false},
		{"409 on a member add is not a duplicate", "add", 409, `{"code":"inconsistent_state","message":"x"}`, nil, []error{ErrDuplicate}, "", false},
		{"400 duplicate_value on an update is a duplicate", "update", 400, `{"description":"Validation failed","errors":[{"field":"email","message":"x","code":"duplicate_value"}]}`, []error{ErrDuplicate}, nil, "", false},
		{"contact_already_active", "update", 400, `{"code":"contact_already_active","message":"Contact is already active and cannot be restored."}`, []error{ErrAlreadyActive}, []error{ErrDuplicate, ErrNotFound}, "", false},
		{"require_feature naming the feature", "create", 403, `{"code":"require_feature","message":"The Access Controls Pro feature(s) is/are not supported in your plan. Please upgrade your account to use it."}`, []error{ErrRequiresFeature, ErrForbidden}, []error{ErrDuplicate}, "Access Controls Pro", true},
		{"require_feature in other words", "update", 403, `{"code":"require_feature","message":"Upgrade to use this."}`, []error{ErrRequiresFeature}, nil, "", true},
		{"access_denied is no missing feature", "update", 403, `{"code":"access_denied","message":"You are not authorized to perform this action."}`, []error{ErrForbidden}, []error{ErrRequiresFeature}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, mux := setup(t)
			answer := func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}
			mux.HandleFunc("POST /api/v2/requesters", answer)
			mux.HandleFunc("PUT /api/v2/requesters/{id}", answer)
			mux.HandleFunc("POST /api/v2/requester_groups/{id}/members/{uid}", answer)
			var err error
			switch tc.method {
			case "create":
				_, _, err = c.Requesters.Create(context.Background(), &RequesterFields{Email: Ptr("a@example.com")})
			case "update":
				_, _, err = c.Requesters.Update(context.Background(), 1, &RequesterFields{Email: Ptr("a@example.com")})
			case "add":
				_, err = c.RequesterGroups.AddMember(context.Background(), 1, 2)
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			for _, target := range tc.isNot {
				if errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = true", err, target)
				}
			}
			var er *ErrorResponse
			if !errors.As(err, &er) {
				t.Fatalf("err %v is no *ErrorResponse", err)
			}
			feature, ok := er.RequiresFeature()
			if feature != tc.feature || ok != tc.wantFeature {
				t.Errorf("RequiresFeature() = %q, %v; want %q, %v", feature, ok, tc.feature, tc.wantFeature)
			}
		})
	}
}
