package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/store"
)

// The guardrails: what one request, however careless or hostile, must not
// do to the account: overspend seats, lock the bridge out, wipe what the
// IdP did not send, leave users nobody manages, or lose the record of what
// Freshservice did.

// fullTimeAgents counts the active full-time agents in the simulator.
func fullTimeAgents(sim *simulator.Server) int {
	n := 0
	for _, u := range sim.Users() {
		if u.IsAgent && !u.Occasional && u.Active {
			n++
		}
	}
	return n
}

// TestSeatCapHoldsUnderConcurrentPromotions: with max_agents 5 (the owner
// holds one seat), twenty parallel promotions make exactly four agents,
// through PATCH and through POST alike.
func TestSeatCapHoldsUnderConcurrentPromotions(t *testing.T) {
	const maxAgents, n = 5, 20
	capped := func(c *config.Config, _ *simulator.Options) { c.Rules.MaxAgents = maxAgents }
	admin := map[string]any{"roles": []any{map[string]any{"value": "Admin"}}}

	t.Run("PATCH", func(t *testing.T) {
		e := rulesEnv(t, config.OnLeaveDemote, capped)
		var ids []string
		for i := range n {
			ids = append(ids, e.mustCreate(userBody(fmt.Sprintf("seat%d@example.com", i), "S", fmt.Sprint(i), nil)))
		}
		statuses := parallel(n, func(i int) int {
			status, _ := e.do("PATCH", "/Users/"+ids[i], patchBody(map[string]any{"op": "replace", "path": "roles", "value": admin["roles"]}))
			return status
		})
		if got := fullTimeAgents(e.sim); got != maxAgents {
			t.Errorf("Freshservice has %d full-time agents, want %d (rules.max_agents); answers %v", got, maxAgents, statuses)
		}
		if statuses[200] != maxAgents-1 || statuses[403] != n-maxAgents+1 {
			t.Errorf("answers %v, want %d x 200 and %d x 403", statuses, maxAgents-1, n-maxAgents+1)
		}
	})
	t.Run("POST", func(t *testing.T) {
		e := rulesEnv(t, config.OnLeaveDemote, capped)
		statuses := parallel(n, func(i int) int {
			status, _ := e.do("POST", "/Users", userBody(fmt.Sprintf("newseat%d@example.com", i), "N", fmt.Sprint(i), admin))
			return status
		})
		if got := fullTimeAgents(e.sim); got != maxAgents {
			t.Errorf("Freshservice has %d full-time agents, want %d; answers %v", got, maxAgents, statuses)
		}
		if statuses[201] != maxAgents-1 || statuses[403] != n-maxAgents+1 {
			t.Errorf("answers %v, want %d x 201 and %d x 403", statuses, maxAgents-1, n-maxAgents+1)
		}
		if got := len(e.sim.Users()); got != maxAgents {
			t.Errorf("Freshservice has %d users, want %d: a refused create wrote nothing", got, maxAgents)
		}
	})
}

// parallel runs f(0..n-1) at once and counts the statuses it returns.
func parallel(n int, f func(i int) int) map[int]int {
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := f(i)
			mu.Lock()
			counts[s]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return counts
}

// TestTheKeyOwnerIsNeverLockedOut: the IdP may manage the account owner
// once it matched her by userName (harmless changes go through), but
// deactivating her would revoke the bridge's key: 409, nothing changed,
// and the refusal is in the audit trail.
func TestTheKeyOwnerIsNeverLockedOut(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.sim.UserByEmail(simulator.OwnerEmail)
	// Entra and Okta match an existing user by userName, then manage it.
	status, res := e.do("POST", "/Users", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": simulator.OwnerEmail,
	})
	if status != 201 || res["id"] != fmt.Sprint(owner.ID) {
		t.Fatalf("POST of the owner's userName: %d %v, want 201 with id %d", status, res, owner.ID)
	}
	id := fmt.Sprint(owner.ID)
	refusals := []struct {
		name, method string
		body         any
	}{
		{"DELETE", "DELETE", nil},
		{"PATCH active false", "PATCH", patchBody(map[string]any{"op": "replace", "value": map[string]any{"active": false}})},
		{"PUT active false", "PUT", userBody(simulator.OwnerEmail, "Account", "Owner", map[string]any{"active": false})},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			status, body := e.do(r.method, "/Users/"+id, r.body)
			if status != http.StatusConflict || !containsAll(fmt.Sprint(body["detail"]), "protected", "API key") {
				t.Fatalf("%d %v, want 409 saying the user owns the API key", status, body)
			}
			if u := e.simUser(id); !u.Active || !u.IsAgent {
				t.Fatalf("the owner after a refused %s: active %v agent %v", r.name, u.Active, u.IsAgent)
			}
			if status, _ := e.do("GET", "/Users/"+id, nil); status != 200 {
				t.Errorf("GET after a refused %s: %d, want 200 (nothing changed)", r.name, status)
			}
		})
	}
	events, err := e.srv.Store.ListAudit(t.Context(), store.AuditQuery{Operation: "user.protect"})
	if err != nil || len(events) != len(refusals) {
		t.Errorf("audit events for the refusals: %d %v, want %d", len(events), err, len(refusals))
	}
	// A change that locks nobody out goes through, and the key still works.
	if status, body := e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "replace", "path": "title", "value": "Founder"})); status != 200 {
		t.Errorf("PATCH title of the owner: %d %v", status, body)
	}
	if u := e.simUser(id); u.JobTitle != "Founder" {
		t.Errorf("the owner's title is %q, want Founder", u.JobTitle)
	}
	e.mustCreate(userBody("after@example.com", "After", "Wards", nil))
}

// TestAdoptionKeepsWhatTheIdPDidNotSend: a POST carrying only a userName
// that matches an existing Freshservice user adopts her without touching
// her name or title.
func TestAdoptionKeepsWhatTheIdPDidNotSend(t *testing.T) {
	e := newEnv(t)
	if err := e.sim.Seed(simulator.SeedData{Requesters: []simulator.SeedUser{
		{FirstName: "Katherine", LastName: "Johnson", PrimaryEmail: "kj@example.com", JobTitle: "Mathematician"},
	}}); err != nil {
		t.Fatal(err)
	}
	kj, _ := e.sim.UserByEmail("kj@example.com")
	status, res := e.do("POST", "/Users", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "kj@example.com", "active": true,
	})
	if status != 201 || res["id"] != fmt.Sprint(kj.ID) {
		t.Fatalf("POST: %d %v, want 201 adopting %d", status, res, kj.ID)
	}
	u := e.simUser(fmt.Sprint(kj.ID))
	if u.FirstName != "Katherine" || u.LastName != "Johnson" || u.JobTitle != "Mathematician" {
		t.Errorf("after adoption Freshservice has %q %q, %q; want Katherine Johnson, Mathematician", u.FirstName, u.LastName, u.JobTitle)
	}
	if name, _ := res["name"].(map[string]any); name["givenName"] != "Katherine" || name["familyName"] != "Johnson" {
		t.Errorf("the SCIM answer shows name %v", res["name"])
	}
}

// TestSameUserNameCreatesOnce: parallel POSTs of one userName (not an
// email) with different emails make one Freshservice user; the rest are
// 409 uniqueness, and nothing is left for the background to retry.
func TestSameUserNameCreatesOnce(t *testing.T) {
	e := newEnv(t)
	const n = 10
	before := len(e.sim.Users())
	statuses := parallel(n, func(i int) int {
		email := fmt.Sprintf("jdoe+%d@example.com", i)
		status, _ := e.do("POST", "/Users", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "jdoe",
			"name":   map[string]any{"givenName": "J", "familyName": "Doe"},
			"emails": []any{map[string]any{"value": email, "primary": true}},
		})
		return status
	})
	if statuses[201] != 1 || statuses[409] != n-1 {
		t.Errorf("answers %v, want one 201 and %d x 409", statuses, n-1)
	}
	if got := len(e.sim.Users()) - before; got != 1 {
		t.Errorf("Freshservice gained %d users, want 1", got)
	}
	intents, err := e.srv.Store.ListIntents(t.Context())
	if err != nil || len(intents) != 0 {
		t.Errorf("pending creates left: %v %v", intents, err)
	}
}

// TestDeletedUserLeavesItsGroups: after DELETE the user is in no SCIM
// group and no agent group the bridge manages, member filters no longer
// find her, and a re-POST brings her back without her old agent rights.
func TestDeletedUserLeavesItsGroups(t *testing.T) {
	e := rulesEnv(t, config.OnLeaveDemote)
	id := e.mustCreate(userBody("leaver@example.com", "Lee", "Ver", nil))
	other := e.mustCreate(userBody("stayer@example.com", "Stay", "Er", nil))
	agents := e.mustGroup("FS Agents", id, other)
	readers := e.mustGroup("Readers", id)
	if u := e.simUser(id); !u.IsAgent {
		t.Fatalf("not promoted by FS Agents: %+v", u)
	}
	desk, _ := e.sim.AgentGroupByName("Service Desk")
	if status, body := e.do("DELETE", "/Users/"+id, nil); status != 204 {
		t.Fatalf("DELETE: %d %v", status, body)
	}
	for _, g := range []string{agents, readers} {
		_, grp := e.do("GET", "/Groups/"+g, nil)
		for _, m := range listOf(grp["members"]) {
			if m["value"] == id {
				t.Errorf("group %s still lists the deleted user: %v", grp["displayName"], grp["members"])
			}
		}
		status, page := e.do("GET", "/Groups?filter="+url.QueryEscape(fmt.Sprintf(`members.value eq "%s"`, id)), nil)
		if status != 200 || page["totalResults"] != float64(0) {
			t.Errorf("member filter for the deleted user: %d %v", status, page["totalResults"])
		}
	}
	if g, _ := e.sim.AgentGroupByName("Service Desk"); containsID(g.Members, id) {
		t.Errorf("the deleted user is still in the agent group Service Desk (%v, was %v)", g.Members, desk.Members)
	}
	if g, _ := e.sim.AgentGroupByName("Service Desk"); !containsID(g.Members, other) {
		t.Errorf("the other member left Service Desk: %v", g.Members)
	}
	// Back again: the same record, reactivated, a requester in no group.
	status, res := e.do("POST", "/Users", userBody("leaver@example.com", "Lee", "Ver", nil))
	if status != 201 || res["id"] != id {
		t.Fatalf("re-POST: %d %v, want 201 with id %s", status, res, id)
	}
	if u := e.simUser(id); !u.Active || u.IsAgent {
		t.Errorf("after the re-POST: active %v, agent %v; want an active requester", u.Active, u.IsAgent)
	}
	if groups := listOf(res["groups"]); len(groups) != 0 {
		t.Errorf("the returning user is in groups %v", groups)
	}
}

// TestIdPHangUpKeepsRecords: the IdP hangs up while the bridge's PUT to
// Freshservice is in flight and Freshservice has applied it. The bridge
// still records what happened (the audit names the cause), and the
// background pass settles the user with the value Freshservice holds.
func TestIdPHangUpKeepsRecords(t *testing.T) {
	var hang sync.Once
	engaged := make(chan struct{})
	applied := make(chan struct{})
	e := newEnvWrapped(t, func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-engaged:
			default:
				sim.ServeHTTP(w, r)
				return
			}
			if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v2/requesters/") {
				done := false
				hang.Do(func() {
					// Freshservice applies the change; its answer never
					// reaches the bridge before the IdP is gone.
					sim.ServeHTTP(discard{}, r)
					close(applied)
					<-r.Context().Done()
					done = true
				})
				if done {
					return
				}
			}
			sim.ServeHTTP(w, r)
		})
	})
	id := e.mustCreate(userBody("hangup@example.com", "Hang", "Up", nil))
	close(engaged)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "PATCH", e.url+"/Users/"+id,
			strings.NewReader(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Gone"}]}`))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-applied
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("the PATCH answered although the client hung up")
	}
	if u := e.simUser(id); u.JobTitle != "Gone" {
		t.Fatalf("Freshservice title %q, want Gone (the PUT was applied)", u.JobTitle)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		events, _ := e.srv.Store.ListAudit(t.Context(), store.AuditQuery{Outcome: "error"})
		found := false
		for _, ev := range events {
			found = found || strings.Contains(ev.Detail, "client closed the request")
		}
		_, res := e.do("GET", "/Users/"+id, nil)
		rec, err := e.srv.Store.GetUser(t.Context(), mustID(t, id))
		if found && res["title"] == "Gone" && err == nil && !rec.Dirty {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the hang-up: audit names the cause %v, SCIM title %v, record %+v %v", found, res["title"], rec, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRefusedBeforeAnyWrite: values Freshservice would refuse are refused
// locally, with 400 invalidValue, and cost no call.
func TestRefusedBeforeAnyWrite(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate(userBody("self@example.com", "Self", "Managed", nil))
	long := strings.Repeat("é", 256)
	cases := []struct {
		name, method, path string
		body               any
	}{
		{"own manager", "PATCH", "/Users/" + id, patchBody(map[string]any{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": map[string]any{"value": id}})},
		{"over-long given name", "PATCH", "/Users/" + id, patchBody(map[string]any{"op": "replace", "path": "name.givenName", "value": long})},
		{"over-long title on create", "POST", "/Users", userBody("long@example.com", "L", "T", map[string]any{"title": long})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.sim.Stats().Total
			status, body := e.do(tc.method, tc.path, tc.body)
			if status != 400 || body["scimType"] != "invalidValue" {
				t.Errorf("%d %v, want 400 invalidValue", status, body)
			}
			if strings.Contains(fmt.Sprint(body["detail"]), long) {
				t.Errorf("the detail echoes the whole value")
			}
			if n := e.sim.Stats().Total - before; n != 0 {
				t.Errorf("%d Freshservice calls, want none", n)
			}
		})
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

func listOf(v any) []map[string]any {
	l, _ := v.([]any)
	var out []map[string]any
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func mustID(t *testing.T, id string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(id, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestConcurrentGroupCreatesKeepTheCatalog: requester groups created at
// once are all remembered, so none is looked up or created again.
func TestConcurrentGroupCreatesKeepTheCatalog(t *testing.T) {
	e := newEnv(t)
	const n = 20
	statuses := parallel(n, func(i int) int {
		status, _ := e.do("POST", "/Groups", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": fmt.Sprintf("Team %02d", i),
		})
		return status
	})
	if statuses[201] != n {
		t.Fatalf("answers %v, want %d x 201", statuses, n)
	}
	known := map[string]bool{}
	for _, rg := range e.srv.Bridge.Catalog().RequesterGroups {
		known[rg.Name] = true
	}
	for i := range n {
		if name := fmt.Sprintf("Team %02d", i); !known[name] {
			t.Errorf("the catalog lost the requester group %q it created", name)
		}
	}
}

// TestProtectedUsersSetting: a user listed in protected_users, by email,
// is never deactivated or demoted: DELETE answers 409, and leaving the role
// group that made her an agent keeps her an agent (her other changes go
// through).
func TestProtectedUsersSetting(t *testing.T) {
	e := rulesEnv(t, config.OnLeaveDemote, func(c *config.Config, _ *simulator.Options) {
		c.ProtectedUsers = []string{"Helpdesk.Lead@example.com"}
	})
	lead := e.mustCreate(userBody("helpdesk.lead@example.com", "Help", "Lead", nil))
	plain := e.mustCreate(userBody("plain@example.com", "Plain", "User", nil))
	g := e.mustGroup("FS Agents", lead, plain)
	if !e.simUser(lead).IsAgent || !e.simUser(plain).IsAgent {
		t.Fatal("FS Agents did not promote its members")
	}
	if status, body := e.do("DELETE", "/Users/"+lead, nil); status != http.StatusConflict || !strings.Contains(fmt.Sprint(body["detail"]), "protected_users") {
		t.Errorf("DELETE of a protected user: %d %v, want 409 naming protected_users", status, body)
	}
	for _, id := range []string{lead, plain} {
		if status, body := e.removeMember(g, id); status != 204 && status != 200 {
			t.Fatalf("removing %s from FS Agents: %d %v", id, status, body)
		}
	}
	if u := e.simUser(lead); !u.IsAgent || !u.Active {
		t.Errorf("the protected user after leaving the role group: agent %v active %v, want an active agent", u.IsAgent, u.Active)
	}
	if u := e.simUser(plain); u.IsAgent {
		t.Errorf("an unprotected user was not demoted on leaving the role group")
	}
	if status, _ := e.do("PATCH", "/Users/"+lead, patchBody(map[string]any{"op": "replace", "path": "title", "value": "Lead"})); status != 200 || e.simUser(lead).JobTitle != "Lead" {
		t.Errorf("a harmless change to the protected user: %d, title %q", status, e.simUser(lead).JobTitle)
	}
	// A demotion already pending (from the group) does not let a
	// deactivation through.
	if status, body := e.do("DELETE", "/Users/"+lead, nil); status != http.StatusConflict {
		t.Errorf("DELETE of a protected user with a demotion pending: %d %v, want 409", status, body)
	}
	if u := e.simUser(lead); !u.Active {
		t.Error("the protected user was deactivated")
	}
}

// TestRequestIDOnEveryLineARequestCauses: a line the bridge logs while
// serving a request (here, that it kept a protected user an agent) carries
// the request's id, as the access log line does, so an operator can find
// everything one IdP request did.
func TestRequestIDOnEveryLineARequestCauses(t *testing.T) {
	e := rulesEnv(t, config.OnLeaveDemote, func(c *config.Config, _ *simulator.Options) {
		c.ProtectedUsers = []string{"lead@example.com"}
	})
	lead := e.mustCreate(userBody("lead@example.com", "Help", "Lead", nil))
	g := e.mustGroup("FS Agents", lead)
	body := patchBody(map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, lead)})
	status, raw, _ := e.doRaw("PATCH", "/Groups/"+g, body, http.Header{"X-Request-Id": {"req-leave-7"}})
	if status != 204 && status != 200 {
		t.Fatalf("removing the protected user from FS Agents: %d %s", status, raw)
	}
	var kept, access bool
	for _, line := range strings.Split(e.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		msg, _ := m["message"].(string)
		switch {
		case strings.HasPrefix(msg, "not locking out a protected user"):
			kept = true
			if m["request_id"] != "req-leave-7" {
				t.Errorf("the bridge's line %q has request_id %v, want req-leave-7", msg, m["request_id"])
			}
		case msg == "scim request" && m["request_id"] == "req-leave-7":
			access = true
		}
	}
	if !kept || !access {
		t.Errorf("log lines: protection line %v, access line %v; want both", kept, access)
	}
}
