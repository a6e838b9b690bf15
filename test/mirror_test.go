package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/server"
)

// TestWarmLookupsCostNoCall: the IdP's lookups by id, userName, email and
// externalId are answered from the mirror.
func TestWarmLookupsCostNoCall(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate(userBody("lin@example.com", "Lin", "Wu", map[string]any{"externalId": "ext-lin"}))
	before := e.sim.Stats().Total
	for _, q := range []string{
		"/Users/" + id,
		"/Users?filter=" + url.QueryEscape(`userName eq "LIN@example.com"`),
		"/Users?filter=" + url.QueryEscape(`emails[type eq "work"].value eq "lin@example.com"`),
		"/Users?filter=" + url.QueryEscape(`externalId eq "ext-lin"`),
		"/Users?filter=" + url.QueryEscape(`userName eq "nobody@example.com"`),
		"/Users?startIndex=1&count=2",
	} {
		if status, body := e.do("GET", q, nil); status != 200 {
			t.Fatalf("%s: %d %v", q, status, body)
		}
	}
	if n := e.sim.Stats().Total - before; n != 0 {
		t.Errorf("warm lookups made %d Freshservice calls, want 0", n)
	}
}

// TestRestartServesFromTheStore: a bridge restarted on the same store
// answers lookups from the mirror it saved, without walking Freshservice.
func TestRestartServesFromTheStore(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 5 {
		ids = append(ids, e.mustCreate(userBody(fmt.Sprintf("r%d@example.com", i), "R", fmt.Sprint(i), nil)))
	}
	// Close the first bridge's store, then start a second one on the file.
	e.srv.Close()
	srv2, err := server.New(context.Background(), e.cfg, server.Options{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	h := httptest.NewServer(srv2.Handler)
	defer h.Close()
	e2 := *e
	e2.url = h.URL + "/scim/v2"
	before := e.sim.Stats().ByRoute
	status, list := e2.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "r3@example.com"`), nil)
	if status != 200 || len(listIDs(t, list)) != 1 || listIDs(t, list)[0] != ids[3] {
		t.Fatalf("lookup after restart: %d %v", status, list)
	}
	after := e.sim.Stats().ByRoute
	for _, route := range []string{"GET /api/v2/requesters", "GET /api/v2/agents", "GET /api/v2/requesters/{id}"} {
		if after[route] != before[route] {
			t.Errorf("the restarted bridge called %s %d times; it should serve from the store", route, after[route]-before[route])
		}
	}
}

// TestWalkReadsOnlyUsersMissedTwice: a user the walk's pages do not show
// may have been erased in Freshservice, or may have been shifted off the
// pages: they are numbered, and users created or deactivated during a
// walk move between them (a bulk deactivation shifts tens per walk). A
// user is read (one GET) only when two walks in a row missed it, and never
// when the bridge wrote it through after the walk began; an erased user is
// dropped at the second walk.
func TestWalkReadsOnlyUsersMissedTwice(t *testing.T) {
	var hide sync.Map           // Freshservice ids the requester pages leave out
	var duringWalk atomic.Value // func(), run once before the next active page is answered
	duringWalk.Store(func() {})
	e := newEnvWrapped(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != "GET" || r.URL.Path != "/api/v2/requesters" || r.URL.Query().Get("email") != "" {
				next.ServeHTTP(w, r)
				return
			}
			if r.URL.Query().Get("active") == "true" {
				duringWalk.Swap(func() {}).(func())()
			}
			filterListPage(w, r, next, "requesters", func(id int64) bool { _, ok := hide.Load(id); return ok })
		})
	})
	ids := map[string]int64{}
	for _, name := range []string{"written", "shifted", "erased"} {
		id, err := strconv.ParseInt(e.mustCreate(userBody(name+"@example.com", name, "Walk", nil)), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}
	// "written" and "shifted" are on no page; "written" is deactivated over
	// SCIM while the first walk runs, so the bridge writes it through after
	// that walk began. "erased" is erased in Freshservice behind the
	// bridge's back.
	hide.Store(ids["written"], true)
	hide.Store(ids["shifted"], true)
	e.simAPI("DELETE", "/requesters/"+itoa(ids["erased"])+"/forget", nil)
	deactivated := make(chan int, 1)
	duringWalk.Store(func() {
		deactivated <- e.patchFromHandler(ids["written"], `{"op":"replace","value":{"active":false}}`)
	})
	walk := func() map[string]int {
		t.Helper()
		before := len(e.sim.Requests())
		if err := e.srv.Bridge.Walk(t.Context()); err != nil {
			t.Fatal(err)
		}
		gets := map[string]int{}
		for _, r := range e.sim.Requests()[before:] {
			for name, id := range ids {
				if r.Method == "GET" && (r.Path == "/api/v2/requesters/"+itoa(id) || r.Path == "/api/v2/agents/"+itoa(id)) {
					gets[name]++
				}
			}
		}
		return gets
	}

	if gets := walk(); len(gets) != 0 {
		t.Errorf("first walk read %v; want no GET (each was missed once, or written through during the walk)", gets)
	}
	if status := <-deactivated; status != http.StatusOK {
		t.Fatalf("deactivating during the walk: %d, want 200", status)
	}
	if status, body := e.do("GET", "/Users/"+itoa(ids["written"]), nil); status != 200 || body["active"] != false {
		t.Errorf("GET /Users/written after the walk: %d active=%v, want inactive", status, body["active"])
	}
	if status, _ := e.do("GET", "/Users/"+itoa(ids["erased"]), nil); status != 200 {
		t.Errorf("GET /Users/erased after one walk: %d, want 200 (dropped only when a second walk misses it too)", status)
	}

	// The erased requester is asked of both views before it is dropped:
	// where the requester view answers 404 for agents, its 404 alone does
	// not say the user is gone.
	gets := walk()
	if want := map[string]int{"shifted": 1, "erased": 2}; !maps.Equal(gets, want) {
		t.Errorf("second walk read %v, want %v (the users two walks missed)", gets, want)
	}
	if status, _ := e.do("GET", "/Users/"+itoa(ids["erased"]), nil); status != 404 {
		t.Errorf("GET /Users/erased after the second walk: %d, want 404 (Freshservice no longer has it)", status)
	}
	if status, _ := e.do("GET", "/Users/"+itoa(ids["shifted"]), nil); status != 200 {
		t.Errorf("GET /Users/shifted after the second walk: %d, want 200 (it exists)", status)
	}

	// "shifted" was read by the second walk, "written" missed once: the
	// third reads only "written".
	if gets := walk(); !maps.Equal(gets, map[string]int{"written": 1}) {
		t.Errorf("third walk read %v, want only written once", gets)
	}
}

// TestAgentSeenOnlyAsRequesterJoinsAgentGroups: when a walk's agent pages
// miss an agent (a page shift) that its requester pages show, the mirror
// holds the agent as the requester view showed it. Joining and leaving an
// agent group must still be recorded: the membership change used to be
// dropped by the merge of the two views, so the plan never settled and
// the IdP got 500.
func TestAgentSeenOnlyAsRequesterJoinsAgentGroups(t *testing.T) {
	var hide sync.Map // Freshservice ids the agent pages leave out
	e := newEnvWrapped(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != "GET" || r.URL.Path != "/api/v2/agents" || r.URL.Query().Get("email") != "" {
				next.ServeHTTP(w, r)
				return
			}
			filterListPage(w, r, next, "agents", func(id int64) bool { _, ok := hide.Load(id); return ok })
		})
	}, func(c *config.Config, _ *simulator.Options) {
		c.Rules = config.Rules{
			RoleGroups: []config.RoleGroup{{Match: config.Match{DisplayName: "FS Agents"},
				Roles: []config.RoleGrant{{Role: "SD Agent", Scope: "member_groups"}}, MemberOf: []string{"Service Desk"}}},
			AgentGroups: []config.AgentGroupMap{{Match: config.Match{DisplayName: "Network Team"}}},
		}
	})
	id := e.mustCreate(userBody("view@example.com", "View", "Merge", nil))
	e.mustGroup("FS Agents", id)
	n, _ := strconv.ParseInt(id, 10, 64)
	if !e.simUser(id).IsAgent || !e.inAgentGroup("Service Desk", n) {
		t.Fatalf("promotion: %+v", e.simUser(id))
	}
	hide.Store(n, true)
	if err := e.srv.Bridge.Walk(t.Context()); err != nil {
		t.Fatal(err)
	}

	team := e.mustGroup("Network Team")
	if status, body := e.addMembers(team, id); status != 204 && status != 200 {
		t.Fatalf("adding the agent to Network Team: %d %v", status, body)
	}
	if !e.inAgentGroup("Network Team", n) {
		t.Errorf("after adding the agent to Network Team: not a member in Freshservice")
	}
	if status, body := e.removeMember(team, id); status != 204 && status != 200 {
		t.Fatalf("removing the agent from Network Team: %d %v", status, body)
	}
	if e.inAgentGroup("Network Team", n) {
		t.Errorf("after the removal: still a member of Network Team in Freshservice")
	}
	if !e.inAgentGroup("Service Desk", n) {
		t.Errorf("the agent lost Service Desk, which its role group gives")
	}
}

// TestWalkReadYieldsToConcurrentWrite: the walk reads a user its pages
// missed twice while the IdP changes that user. Freshservice answers the
// walk's GET with the state before the change, and the bridge writes the
// change through before that answer arrives: the older answer must not
// overwrite the mirror (the user would then show the old title, and the
// drift check would report a difference nobody made).
func TestWalkReadYieldsToConcurrentWrite(t *testing.T) {
	var hidden atomic.Int64 // the id the requester pages leave out
	var intercept atomic.Bool
	patched := make(chan int, 1)
	var e *env
	e = newEnvWrapped(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := hidden.Load()
			switch {
			case r.Method == "GET" && r.URL.Path == "/api/v2/requesters" && r.URL.Query().Get("email") == "" && id != 0:
				filterListPage(w, r, next, "requesters", func(u int64) bool { return u == id })
			case r.Method == "GET" && r.URL.Path == "/api/v2/requesters/"+itoa(id) && intercept.CompareAndSwap(true, false):
				// Freshservice reads the user now, and answers after the
				// IdP's change has been made and written through.
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				patched <- e.patchFromHandler(id, `{"op":"replace","path":"title","value":"After"}`)
				copyResponse(w, rec)
			default:
				next.ServeHTTP(w, r)
			}
		})
	})
	idStr := e.mustCreate(userBody("race@example.com", "Race", "Walk", map[string]any{"title": "Before"}))
	id, _ := strconv.ParseInt(idStr, 10, 64)
	hidden.Store(id)
	if err := e.srv.Bridge.Walk(t.Context()); err != nil { // missed once
		t.Fatal(err)
	}
	intercept.Store(true)
	if err := e.srv.Bridge.Walk(t.Context()); err != nil { // missed twice: read
		t.Fatal(err)
	}
	select {
	case status := <-patched:
		if status != http.StatusOK {
			t.Fatalf("the PATCH made during the walk's read: %d", status)
		}
	default:
		t.Fatal("the second walk did not read the user it missed twice")
	}
	if got := e.simUser(idStr).JobTitle; got != "After" {
		t.Fatalf("Freshservice title %q, want After", got)
	}
	if _, body := e.do("GET", "/Users/"+idStr, nil); body["title"] != "After" {
		t.Errorf("GET /Users after the walk: title %v, want After (the walk's older answer overwrote the mirror)", body["title"])
	}
	drift, err := e.srv.Bridge.FindDrift(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(drift) != 0 {
		t.Errorf("drift after the walk: %+v, want none", drift)
	}
}

// filterListPage answers a list request through next, leaving out the
// rows (under key: "requesters" or "agents") whose id hide reports, as a
// page that shifted under a walk would.
func filterListPage(w http.ResponseWriter, r *http.Request, next http.Handler, key string, hide func(id int64) bool) {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	var page map[string][]map[string]any
	if rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &page) == nil {
		page[key] = slices.DeleteFunc(page[key], func(u map[string]any) bool {
			id, _ := u["id"].(float64)
			return hide(int64(id))
		})
		body, _ := json.Marshal(page)
		rec.Body = bytes.NewBuffer(body)
		rec.Header().Del("Content-Length")
	}
	copyResponse(w, rec)
}

// patchFromHandler sends one SCIM PATCH operation (JSON) for user id and
// returns the status (0 if it could not be sent). It does not touch the
// test's T, so a simulator handler may call it.
func (e *env) patchFromHandler(id int64, op string) int {
	req, err := http.NewRequest("PATCH", e.url+"/Users/"+itoa(id), strings.NewReader(
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`+op+`]}`))
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// copyResponse writes a recorded response.
func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}
