package scim

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	"github.com/scim2/filter-parser/v2"
)

// fakeBackend records what the edge hands it and answers as told.
type fakeBackend struct {
	mu      sync.Mutex
	created []map[string]any
	patched [][]PatchOperation
	queries []ListQuery
	err     error
}

func (f *fakeBackend) Create(_ context.Context, attrs map[string]any) (Resource, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = append(f.created, attrs)
	if f.err != nil {
		return Resource{}, f.err
	}
	return Resource{ID: "1", Attributes: attrs}, nil
}
func (f *fakeBackend) Get(_ context.Context, id string) (Resource, error) {
	if f.err != nil {
		return Resource{}, f.err
	}
	if id != "1" {
		return Resource{}, NotFound("User", id)
	}
	return Resource{ID: "1", Attributes: map[string]any{"userName": "a@x.com", "password": "never"}}, nil
}
func (f *fakeBackend) List(_ context.Context, q ListQuery) (Page, error) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	if f.err != nil {
		return Page{}, f.err
	}
	return Page{Total: 0}, nil
}
func (f *fakeBackend) Replace(_ context.Context, id string, attrs map[string]any) (Resource, error) {
	return Resource{ID: id, Attributes: attrs}, f.err
}
func (f *fakeBackend) Patch(_ context.Context, id string, ops []PatchOperation) (Resource, error) {
	f.mu.Lock()
	f.patched = append(f.patched, ops)
	f.mu.Unlock()
	if f.err != nil {
		return Resource{}, f.err
	}
	return Resource{ID: id, Attributes: map[string]any{"userName": "a@x.com"}}, nil
}
func (f *fakeBackend) Delete(context.Context, string) error { return f.err }

const goodToken = "edge-test-token-0123456789"

func newEdge(t *testing.T, users, groups Backend, mod ...func(*Config)) *httptest.Server {
	t.Helper()
	cfg := Config{
		Tokens:       []Credential{{Name: "okta", Hash: sha256.Sum256([]byte(goodToken))}, {Name: "old", Hash: sha256.Sum256([]byte("rotated-out-token-0123"))}},
		MaxBodyBytes: 4096,
		Log:          zerolog.Nop(),
	}
	for _, m := range mod {
		m(&cfg)
	}
	r := chi.NewRouter()
	if err := Mount(r, cfg, users, groups); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, method, path, body string, hdr map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+goodToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, path, data)
		}
	}
	if ct := resp.Header.Get("Content-Type"); len(data) > 0 && !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return resp, m
}

func wantError(t *testing.T, resp *http.Response, body map[string]any, status int, scimType string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d (%v)", resp.StatusCode, status, body)
	}
	if body["status"] != fmt.Sprint(status) || body["detail"] == "" {
		t.Errorf("error body %v: want status %q and a detail", body, fmt.Sprint(status))
	}
	if s, _ := body["schemas"].([]any); len(s) != 1 || s[0] != URNError {
		t.Errorf("error schemas %v", body["schemas"])
	}
	if scimType != "" && body["scimType"] != scimType {
		t.Errorf("scimType %v, want %s", body["scimType"], scimType)
	}
}

func TestAuthentication(t *testing.T) {
	srv := newEdge(t, &fakeBackend{}, &fakeBackend{}, func(c *Config) {
		c.Basic = &BasicCredential{Username: "onelogin", Password: "basic-password-123"}
	})
	tests := []struct {
		name   string
		header string
		status int
	}{
		{"no credentials", "", 401},
		{"wrong token", "Bearer wrong-token-0123456789", 401},
		{"token of another length", "Bearer x", 401},
		{"good token", "Bearer " + goodToken, 200},
		{"second token (rotation)", "Bearer rotated-out-token-0123", 200},
		{"lower-case scheme", "bearer " + goodToken, 200},
		{"basic", "Basic b25lbG9naW46YmFzaWMtcGFzc3dvcmQtMTIz", 200},
		{"basic wrong password", "Basic b25lbG9naW46bm9wZQ==", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := call(t, srv, "GET", "/scim/v2/Users", "", map[string]string{"Authorization": tc.header})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status == 401 {
				wantError(t, resp, body, 401, "")
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("no WWW-Authenticate header")
				}
			}
		})
	}
}

func TestProtocolErrors(t *testing.T) {
	srv := newEdge(t, &fakeBackend{}, &fakeBackend{})
	tests := []struct {
		name, method, path, body string
		hdr                      map[string]string
		status                   int
		scimType                 string
	}{
		{"unknown endpoint", "GET", "/scim/v2/Widgets", "", nil, 404, ""},
		{"wrong method", "PUT", "/scim/v2/Users", `{}`, nil, 405, ""},
		{"delete the collection", "DELETE", "/scim/v2/Groups", "", nil, 405, ""},
		{"bulk", "POST", "/scim/v2/Bulk", `{}`, nil, 501, ""},
		{"unknown user", "GET", "/scim/v2/Users/2", "", nil, 404, ""},
		{"body too large", "POST", "/scim/v2/Users", `{"userName":"` + strings.Repeat("a", 5000) + `"}`, nil, 413, ""},
		{"not JSON", "POST", "/scim/v2/Users", `{"userName":`, nil, 400, TypeInvalidSyntax},
		{"not an object", "POST", "/scim/v2/Users", `["a"]`, nil, 400, TypeInvalidSyntax},
		{"two values", "POST", "/scim/v2/Users", `{} {}`, nil, 400, TypeInvalidSyntax},
		{"invalid UTF-8", "POST", "/scim/v2/Users", "{\"userName\":\"a\xff\xfe\"}", nil, 400, TypeInvalidSyntax},
		{"deep nesting", "POST", "/scim/v2/Users", strings.Repeat("[", 40) + strings.Repeat("]", 40), nil, 400, TypeInvalidSyntax},
		{"wrong content type", "POST", "/scim/v2/Users", `{}`, map[string]string{"Content-Type": "text/xml"}, 415, ""},
		{"wrong type", "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":42}`, nil, 400, TypeInvalidValue},
		{"missing userName", "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`, nil, 400, TypeInvalidValue},
		{"bad filter", "GET", "/scim/v2/Users?filter=userName%20eq", "", nil, 400, TypeInvalidFilter},
		{"unknown filter attribute", "GET", "/scim/v2/Users?filter=shoeSize%20eq%20%2242%22", "", nil, 400, TypeInvalidFilter},
		{"count not a number", "GET", "/scim/v2/Users?count=lots", "", nil, 400, TypeInvalidValue},
		{"huge startIndex", "GET", "/scim/v2/Users?startIndex=99999999999999", "", nil, 400, TypeInvalidValue},
		{"patch without operations", "PATCH", "/scim/v2/Users/1", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}`, nil, 400, TypeInvalidValue},
		{"patch unknown path", "PATCH", "/scim/v2/Users/1", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"shoeSize","value":"42"}]}`, nil, 400, TypeInvalidPath},
		{"patch remove without path", "PATCH", "/scim/v2/Users/1", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove"}]}`, nil, 400, TypeNoTarget},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := call(t, srv, tc.method, tc.path, tc.body, tc.hdr)
			wantError(t, resp, body, tc.status, tc.scimType)
		})
	}
}

func TestBackendErrorsReachTheIdPAsSuch(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		retryAfter string
		leak       string
	}{
		{"rate limited", &Error{Status: 429, Detail: "budget", RetryAfter: 1500 * time.Millisecond}, 429, "2", ""},
		{"unavailable", &Error{Status: 503, Detail: "down", RetryAfter: 30 * time.Second}, 503, "30", ""},
		{"conflict on GET", &Error{Status: 409, ScimType: TypeUniqueness, Detail: "taken"}, 409, "", ""},
		{"plain error", errors.New("dial tcp 10.0.0.7:443: secret-upstream-detail"), 500, "", "secret-upstream-detail"},
		{"timeout", context.DeadlineExceeded, 503, "5", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newEdge(t, &fakeBackend{err: tc.err}, &fakeBackend{})
			for _, method := range []string{"GET", "POST"} {
				path, body := "/scim/v2/Users/1", ""
				if method == "POST" {
					path, body = "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@x.com"}`
				}
				resp, m := call(t, srv, method, path, body, nil)
				wantError(t, resp, m, tc.status, "")
				if got := resp.Header.Get("Retry-After"); got != tc.retryAfter {
					t.Errorf("%s: Retry-After %q, want %q", method, got, tc.retryAfter)
				}
				if tc.leak != "" && strings.Contains(fmt.Sprint(m), tc.leak) {
					t.Errorf("%s: the error text reached the IdP: %v", method, m)
				}
			}
		})
	}
}

func TestDialectsAreNormalisedBeforeTheBackend(t *testing.T) {
	users := &fakeBackend{}
	srv := newEdge(t, users, &fakeBackend{})
	// OneLogin's SCIM 1.1 template: 1.1 URNs, emails as an object, a
	// string boolean, manager with managerId, and a typo.
	resp, body := call(t, srv, "POST", "/scim/v2/Users", `{
		"schemas":["urn:scim:schemas:core:1.0","urn:scim:schemas:extension:enterprise:1.0"],
		"userName":"a@x.com","active":"True","password":"secret1","prefferedLanguage":"fr",
		"emails":{"value":"a@x.com","type":"work","primary":"true"},
		"urn:scim:schemas:extension:enterprise:1.0":{"department":"IT","manager":{"managerId":"77","displayName":"Boss"}},
		"roles":[{"value":"{\"id\":\"827f\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}],
		"id":null,"meta":{"resourceType":"User"}}`, nil)
	if resp.StatusCode != 201 {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	got := users.created[0]
	want := map[string]any{
		"userName": "a@x.com", "active": true, "preferredLanguage": "fr",
		"emails":      []any{map[string]any{"value": "a@x.com", "type": "work", "primary": true}},
		URNEnterprise: map[string]any{"department": "IT", "manager": map[string]any{"value": "77"}},
		"roles":       []any{map[string]any{"value": "Admin", "display": "Admin"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("attributes reaching the backend (-want +got):\n%s", diff)
	}
	if _, ok := body["password"]; ok {
		t.Error("password echoed")
	}

	// Entra: capitalised op, manager as a plain string on the legacy path.
	resp, body = call(t, srv, "PATCH", "/scim/v2/Users/1", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"Add","path":"manager","value":"2c2f"},{"op":"Replace","path":"active","value":"False"},
		{"op":"replace","value":{"title":null}}]}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	ops := users.patched[0]
	if len(ops) != 3 || ops[0].Op != "add" || ops[0].Path.String() != URNEnterprise+":manager" || ops[1].Value != false {
		t.Errorf("ops %+v", ops)
	}
	if ops[2].Op != "remove" || ops[2].Path.String() != "title" {
		t.Errorf("a path-less null did not become a remove: %+v", ops[2])
	}

	// Entra's filter on the work email reaches the backend in RFC form.
	resp, _ = call(t, srv, "GET", `/scim/v2/Users?filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22a%40x.com%22`, "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("filter: %d", resp.StatusCode)
	}
	vp, ok := users.queries[0].Filter.(*filter.ValuePath)
	if !ok || vp.AttributePath.AttributeName != "emails" {
		t.Errorf("filter reached the backend as %#v", users.queries[0].Filter)
	}
}

func TestListResponseShape(t *testing.T) {
	srv := newEdge(t, &fakeBackend{}, &fakeBackend{})
	resp, body := call(t, srv, "GET", "/scim/v2/Groups?startIndex=1&count=100", "", nil)
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	if r, ok := body["Resources"].([]any); !ok || len(r) != 0 || body["itemsPerPage"] != float64(0) || body["totalResults"] != float64(0) {
		t.Errorf("empty list %v: want Resources [] and integers", body)
	}
	resp, body = call(t, srv, "GET", "/scim/v2/Users/1?attributes=userName", "", nil)
	if resp.StatusCode != 200 || body["userName"] != "a@x.com" || body["id"] != "1" {
		t.Errorf("GET %d %v", resp.StatusCode, body)
	}
	if _, ok := body["password"]; ok {
		t.Error("password returned by GET")
	}
}

func TestDiscovery(t *testing.T) {
	srv := newEdge(t, &fakeBackend{}, &fakeBackend{})
	resp, spc := call(t, srv, "GET", "/scim/v2/ServiceProviderConfig", "", nil)
	if resp.StatusCode != 200 || spc["patch"].(map[string]any)["supported"] != true {
		t.Errorf("SPC %d %v", resp.StatusCode, spc)
	}
	resp, schemas := call(t, srv, "GET", "/scim/v2/Schemas", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(fmt.Sprint(schemas), URNFreshservice) {
		t.Errorf("Schemas %d lacks the Freshservice extension", resp.StatusCode)
	}
	resp, rt := call(t, srv, "GET", "/scim/v2/ResourceTypes/User", "", nil)
	if resp.StatusCode != 200 || rt["endpoint"] != "/Users" {
		t.Errorf("ResourceTypes/User %d %v", resp.StatusCode, rt)
	}
}

func TestClientRateLimit(t *testing.T) {
	srv := newEdge(t, &fakeBackend{}, &fakeBackend{}, func(c *Config) { c.ClientRateLimit = 1 })
	var limited bool
	for range 5 {
		resp, body := call(t, srv, "GET", "/scim/v2/Users", "", nil)
		if resp.StatusCode == 429 {
			limited = true
			wantError(t, resp, body, 429, "")
			if resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
	}
	if !limited {
		t.Error("five requests in a burst at 1/s were all served")
	}
}

// With no base_url configured, meta.location names the host and scheme the
// IdP called, request after request, whichever host came first; with
// base_url set it is always the configured one.
func TestLocationFollowsTheRequestHost(t *testing.T) {
	location := func(srv *httptest.Server, host, proto string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+Prefix+"/Users/1", nil)
		req.Host = host
		req.Header.Set("Authorization", "Bearer "+goodToken)
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m struct {
			Meta struct {
				Location string `json:"location"`
			} `json:"meta"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET via %s: status %d, %v", host, resp.StatusCode, err)
		}
		return m.Meta.Location
	}
	srv := newEdge(t, &fakeBackend{}, &fakeBackend{})
	for range 2 {
		for i := range 11 {
			host := fmt.Sprintf("scim%d.example.com", i)
			if got, want := location(srv, host, ""), "http://"+host+Prefix+"/Users/1"; got != want {
				t.Errorf("location %q, want %q", got, want)
			}
		}
		if got, want := location(srv, "scim0.example.com", "https"), "https://scim0.example.com"+Prefix+"/Users/1"; got != want {
			t.Errorf("behind a TLS proxy: location %q, want %q", got, want)
		}
	}
	fixed := newEdge(t, &fakeBackend{}, &fakeBackend{}, func(c *Config) { c.BaseURL = "https://scim.example.com/" })
	if got, want := location(fixed, "internal:8080", ""), "https://scim.example.com"+Prefix+"/Users/1"; got != want {
		t.Errorf("with base_url: location %q, want %q", got, want)
	}
}
