package simulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

// The tests talk to the simulator over real HTTP with plain net/http, never
// through the fsbridge client: they check the API, not a client's view of it.

const testKey = "test-api-key"

// fakeClock is the real clock of the simulator under test; tests advance it
// instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a simulator behind an httptest server.
type env struct {
	t     *testing.T
	sim   *simulator.Server
	srv   *httptest.Server
	clock *fakeClock
}

var clockStart = time.Date(2026, 3, 2, 9, 30, 15, 0, time.UTC)

// newEnv starts a simulator with default options changed by mutate.
func newEnv(t *testing.T, mutate func(*simulator.Options)) *env {
	t.Helper()
	clock := &fakeClock{t: clockStart}
	opts := simulator.Options{APIKey: testKey, Now: clock.Now}
	if mutate != nil {
		mutate(&opts)
	}
	sim, err := simulator.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &env{t: t, sim: sim, srv: srv, clock: clock}
}

// resp is a response read in full.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// obj decodes the body as a JSON object, keeping numbers exact.
func (r resp) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// item returns the object under envelope key.
func (r resp) item(t *testing.T, key string) map[string]any {
	t.Helper()
	m, ok := r.obj(t)[key].(map[string]any)
	if !ok {
		t.Fatalf("no %q object in %s", key, r.body)
	}
	return m
}

// items returns the array under envelope key.
func (r resp) items(t *testing.T, key string) []map[string]any {
	t.Helper()
	raw, ok := r.obj(t)[key].([]any)
	if !ok {
		t.Fatalf("no %q array in %s", key, r.body)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i] = v.(map[string]any)
	}
	return out
}

// errorCodes returns "field:code" for each validation error of the body.
func (r resp) errorCodes(t *testing.T) []string {
	t.Helper()
	var out []string
	errs, _ := r.obj(t)["errors"].([]any)
	for _, e := range errs {
		m := e.(map[string]any)
		out = append(out, fmt.Sprintf("%v:%v", m["field"], m["code"]))
	}
	return out
}

func (r resp) want(t *testing.T, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	return r
}

// do sends an authenticated request. body is nil, a string sent as is, or a
// value sent as JSON.
func (e *env) do(method, path string, body any) resp {
	e.t.Helper()
	req := e.request(method, path, body)
	return e.send(req)
}

func (e *env) request(method, path string, body any) *http.Request {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.SetBasicAuth(testKey, "X")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func (e *env) send(req *http.Request) resp {
	e.t.Helper()
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: data}
}

// id reads a JSON number as int64.
func id(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func ids(t *testing.T, v any) []int64 {
	t.Helper()
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("%v (%T) is not an array", v, v)
	}
	out := []int64{}
	for _, x := range arr {
		out = append(out, id(t, x))
	}
	return out
}

// created POSTs body and expects success: 201, or 200 under
// Switches.CreateStatus.
func (e *env) created(path string, body map[string]any) resp {
	e.t.Helper()
	r := e.do("POST", path, body)
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		e.t.Fatalf("POST %s: %d %s", path, r.status, r.body)
	}
	return r
}

// createRequester creates a requester and returns its id.
func (e *env) createRequester(body map[string]any) int64 {
	e.t.Helper()
	return id(e.t, e.created("/api/v2/requesters", body).item(e.t, "requester")["id"])
}

// createAgent creates an agent with the SD Agent role unless body has roles.
func (e *env) createAgent(body map[string]any) int64 {
	e.t.Helper()
	if _, ok := body["roles"]; !ok {
		body["roles"] = []any{map[string]any{"role_id": e.roleID("SD Agent"), "assignment_scope": "entire_helpdesk"}}
	}
	return id(e.t, e.created("/api/v2/agents", body).item(e.t, "agent")["id"])
}

func (e *env) roleID(name string) int64 {
	e.t.Helper()
	r, ok := e.sim.RoleByName(name)
	if !ok {
		e.t.Fatalf("no role %q", name)
	}
	return r.ID
}

func (e *env) groupID(name string) int64 {
	e.t.Helper()
	g, ok := e.sim.AgentGroupByName(name)
	if !ok {
		e.t.Fatalf("no agent group %q", name)
	}
	return g.ID
}

func (e *env) departmentID(name string) int64 {
	e.t.Helper()
	for _, d := range e.sim.Departments() {
		if d.Name == name {
			return d.ID
		}
	}
	e.t.Fatalf("no department %q", name)
	return 0
}

func (e *env) user(uid int64) simulator.User {
	e.t.Helper()
	u, ok := e.sim.User(uid)
	if !ok {
		e.t.Fatalf("no user %d", uid)
	}
	return u
}

type simulatorOptions = simulator.Options

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func jsonNumber(s string) json.Number { return json.Number(s) }

// createRequesterGroup creates a manual requester group (200 on a real
// tenant, reference §19) and returns its id.
func (e *env) createRequesterGroup(name string) int64 {
	e.t.Helper()
	return id(e.t, e.do("POST", "/api/v2/requester_groups", map[string]any{"name": name}).want(e.t, 200).item(e.t, "requester_group")["id"])
}
