package simulator_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name   string
		set    func(r *http.Request)
		status int
	}{
		{"key and X", func(r *http.Request) { r.SetBasicAuth(testKey, "X") }, 200},
		{"key and empty password", func(r *http.Request) { r.SetBasicAuth(testKey, "") }, 200},
		{"key and any password", func(r *http.Request) { r.SetBasicAuth(testKey, "secret") }, 200},
		{"wrong key", func(r *http.Request) { r.SetBasicAuth("nope", "X") }, 401},
		{"key as password", func(r *http.Request) { r.SetBasicAuth("X", testKey) }, 401},
		{"no header", func(r *http.Request) { r.Header.Del("Authorization") }, 401},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testKey) }, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := e.request("GET", "/api/v2/roles", nil)
			tc.set(req)
			r := e.send(req).want(t, tc.status)
			if tc.status == 401 && r.obj(t)["code"] != "invalid_credentials" {
				t.Errorf("body %s", r.body)
			}
		})
	}
}

func TestProtocolErrors(t *testing.T) {
	e := newEnv(t, nil)
	rid := e.createRequester(map[string]any{"first_name": "P", "primary_email": "p@example.com"})
	tests := []struct {
		name        string
		method      string
		path        string
		body        string
		contentType string
		accept      string
		status      int
		code        string
	}{
		{"405 wrong verb", "POST", "/api/v2/roles/1", "", "", "", 405, "method_not_allowed"},
		{"405 roles are read-only", "PUT", "/api/v2/roles/" + itoa(e.roleID("Admin")), `{}`, "application/json", "", 405, "method_not_allowed"},
		{"405 patch", "PATCH", "/api/v2/requesters/" + itoa(rid), `{}`, "application/json", "", 405, "method_not_allowed"},
		{"406 html only", "GET", "/api/v2/roles", "", "", "text/html", 406, "invalid_accept_header"},
		{"json accept", "GET", "/api/v2/roles", "", "", "application/json", 200, ""},
		{"any accept", "GET", "/api/v2/roles", "", "", "*/*", 200, ""},
		{"accept list with json", "GET", "/api/v2/roles", "", "", "text/html, application/json;q=0.9", 200, ""},
		{"415 text body", "PUT", "/api/v2/requesters/" + itoa(rid), `{"job_title":"x"}`, "text/plain", "", 415, "invalid_content_type"},
		{"415 form body", "POST", "/api/v2/requesters", `first_name=x`, "application/x-www-form-urlencoded", "", 415, "invalid_content_type"},
		{"415 missing content type", "PUT", "/api/v2/requesters/" + itoa(rid), `{"job_title":"x"}`, "", "", 415, "invalid_content_type"},
		{"json with charset", "PUT", "/api/v2/requesters/" + itoa(rid), `{"job_title":"x"}`, "application/json; charset=utf-8", "", 200, ""},
		{"404 unknown resource", "GET", "/api/v2/tickets_v3", "", "", "", 404, ""},
		{"404 non-numeric id", "GET", "/api/v2/requesters/me", "", "", "", 404, ""},
		{"404 bare base path", "GET", "/api/v2", "", "", "", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.SetBasicAuth(testKey, "X")
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			r := e.send(req).want(t, tc.status)
			if tc.code != "" {
				if got := r.obj(t)["code"]; got != tc.code {
					t.Errorf("code %v, want %s", got, tc.code)
				}
			}
			if tc.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			if r.header.Get("X-RateLimit-Total") == "" || r.header.Get("X-Request-Id") == "" {
				t.Errorf("missing headers: %v", r.header)
			}
		})
	}
}

func TestRequestIDsDiffer(t *testing.T) {
	e := newEnv(t, nil)
	a := e.do("GET", "/api/v2/roles", nil).header.Get("X-Request-Id")
	b := e.do("GET", "/api/v2/roles", nil).header.Get("X-Request-Id")
	if a == b || len(a) != 36 {
		t.Errorf("request ids %q %q", a, b)
	}
}

func TestOutsideTheAPI(t *testing.T) {
	e := newEnv(t, nil)
	res, err := http.Get(e.srv.URL + "/helpdesk")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 || e.sim.Stats().Total != 0 {
		t.Errorf("status %d, stats %+v", res.StatusCode, e.sim.Stats())
	}
}

// Concurrent creates of the same email: exactly one wins, under -race.
func TestConcurrentCreatesKeepEmailsUnique(t *testing.T) {
	e := newEnv(t, nil)
	const n = 20
	statuses := make(chan int, n)
	for range n {
		go func() {
			res, err := e.srv.Client().Do(e.request("POST", "/api/v2/requesters", map[string]any{"first_name": "R", "primary_email": "race@example.com"}))
			if err != nil {
				statuses <- 0
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	count := map[int]int{}
	for range n {
		count[<-statuses]++
	}
	if count[201] != 1 || count[409] != n-1 {
		t.Errorf("statuses %v", count)
	}
}
