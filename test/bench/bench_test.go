package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

// The benchmark's scenarios, small, as a regression test of what the
// targets in docs/performance.md promise about calls: each operation
// costs what mapping.md says, warm lookups cost nothing, and a paced
// import gets no 429 from Freshservice.

func startEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	o.Log = io.Discard
	e, err := newEnv(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func runOne(t *testing.T, e *env, p params, keys ...string) map[string]*summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runs, err := runScenarios(ctx, e, keys, p)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*summary{}
	for _, r := range runs {
		for _, pr := range r.Problems {
			t.Errorf("%s: %s", r.Key, pr)
		}
		out[r.Key] = summarize(r)
	}
	return out
}

func kinds(s *summary) map[string]*kindStats {
	m := map[string]*kindStats{}
	for _, k := range s.Kinds {
		m[k.Kind] = k
	}
	return m
}

// TestOperationCosts runs the ops scenario (each operation on fresh users,
// one request at a time) on a budget that never binds, and checks the
// Freshservice calls of every operation the targets name.
func TestOperationCosts(t *testing.T) {
	e := startEnv(t, envOptions{Plan: "enterprise", TimeScale: 600})
	s := runOne(t, e, params{N: 10, Concurrency: 4, OpsRepeats: 2, NoIdle: true}, "ops")["ops"]
	ks := kinds(s)
	for _, c := range []struct {
		kind     string
		min, max int // calls per operation
	}{
		{kCreateRequester, 1, 1},
		{kCreateAgent, 1, 1},
		{kLookupID, 0, 0},
		{kLookupUserName, 0, 0},
		{kLookupEmail, 0, 0},
		{kLookupExternalID, 0, 0},
		{kLookupWalked, 0, 0},
		{kUpdateOneField, 1, 1},
		{kDeactivate, 1, 1},
		{kReactivate, 1, 1},
		{kPromoteGroup, 1, 2},
		{kPromoteRole, 1, 2},
		{kRGAdd, 1, 1},
		{kRGRemove, 1, 1},
	} {
		k := ks[c.kind]
		if k == nil || k.Ops == 0 {
			t.Errorf("%s: not measured", c.kind)
			continue
		}
		if k.MaxCalls > c.max {
			t.Errorf("%s: an operation made %d Freshservice calls, want at most %d", c.kind, k.MaxCalls, c.max)
		}
		if k.Calls < c.min*k.Ops {
			t.Errorf("%s: %d calls for %d operations, want at least %d each", c.kind, k.Calls, k.Ops, c.min)
		}
		if k.IdP429 > 0 || k.Failed > 0 {
			t.Errorf("%s: %d answers 429, %d failed", c.kind, k.IdP429, k.Failed)
		}
	}
	for _, tg := range callTargets([]*summary{s}) {
		if tg.Status != "PASS" {
			t.Errorf("target %s: %s (%s)", tg.Name, tg.Status, tg.Measured)
		}
	}
}

// TestWarmLookupsInScenarios: the IdPs' lookups during an import, an Entra
// cycle and the updates (misses before a create, GET by id before a PUT)
// cost no Freshservice call, and each create, manager PATCH and group
// member add costs one.
func TestWarmLookupsInScenarios(t *testing.T) {
	e := startEnv(t, envOptions{Plan: "enterprise", TimeScale: 600})
	sums := runOne(t, e, params{N: 12, Concurrency: 4, NoIdle: true}, "import", "entra", "updates")
	for key, s := range sums {
		for _, k := range s.Kinds {
			switch k.Kind {
			case kLookupMiss, kGetByID, kGroupLookup:
				if k.Calls != 0 {
					t.Errorf("%s: %s made %d Freshservice calls in %d lookups, want 0", key, k.Kind, k.Calls, k.Ops)
				}
			case kCreateRequester, kManagerPatch, kPutUpdate, kPatchUpdate:
				if k.MaxCalls != 1 || k.Calls != k.Ops {
					t.Errorf("%s: %s made %d calls in %d operations (max %d), want 1 each", key, k.Kind, k.Calls, k.Ops, k.MaxCalls)
				}
			case kGroupAddOne:
				// Concurrent PATCHes of one group queue for its lock; the
				// background pass may add a queued member first, and the
				// PATCH then has nothing left to do. Either way each member
				// costs one call.
				const route = "POST /api/v2/requester_groups/{id}/members/{id}"
				if k.Calls != k.Ops {
					t.Logf("%s: %d of %d member adds were made by the background pass", key, k.Ops-k.Calls, k.Ops)
				}
				if k.MaxCalls > 1 || s.ByRoute[route] != k.Ops {
					t.Errorf("%s: %d member adds made %d %s calls (max %d in one request), want 1 each", key, k.Ops, s.ByRoute[route], route, k.MaxCalls)
				}
			}
		}
	}
}

// TestPacedImportGetsNo429: an Okta import larger than a minute of the
// Starter plan's budget, time-scaled, is paced by the bridge: Freshservice
// never answers 429, and every user is created with one call.
func TestPacedImportGetsNo429(t *testing.T) {
	if testing.Short() {
		t.Skip("takes two simulated minutes (a little over one second)")
	}
	e := startEnv(t, envOptions{Plan: "starter", TimeScale: 60, Concurrency: 8})
	const n = 120 // more than the 100 calls one window allows (the first walk spent a few too)
	s := runOne(t, e, params{N: n, Concurrency: 8, NoIdle: true}, "import")["import"]
	if s.FS429 != 0 || s.Run.SimStats.RateLimited != 0 {
		t.Errorf("Freshservice answered 429 %d times (simulator counted %d); the budget should pace below the limit", s.FS429, s.Run.SimStats.RateLimited)
	}
	k := kinds(s)[kCreateRequester]
	if k == nil || k.Ops != n || k.Calls != n || k.Failed != 0 {
		t.Fatalf("creates: %+v, want %d operations with one call each", k, n)
	}
	if w := e.cfg.Freshservice.Window; s.Run.Elapsed < w {
		t.Logf("the import took %s, less than one window (%s): the budget was not exercised", s.Run.Elapsed, w)
	}
}

// postUntilAnswered sends a POST once and, if the bridge answers 429 (its
// budget is short), once more after a window, as an IdP would. A 201 from
// either is what the IdP must see: a retried POST answered 409 would leave
// the IdP without the resource's id.
func postUntilAnswered(t *testing.T, e *env, path string, body map[string]any) response {
	t.Helper()
	ctx := context.Background()
	resp, err := e.doOnce(ctx, "POST", path, body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status == http.StatusTooManyRequests {
		time.Sleep(e.cfg.Freshservice.Window)
		first := resp.Status
		if resp, err = e.doOnce(ctx, "POST", path, body); err != nil {
			t.Fatal(err)
		}
		if resp.Status != http.StatusCreated {
			t.Fatalf("first POST %d, retried POST %d %s; want 201 with the resource's id", first, resp.Status, resp.Raw)
		}
	}
	if resp.Status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, resp.Status, resp.Raw)
	}
	return resp
}

// A POST /Groups with more members than one window of budget allows is
// answered 201 (or 429 and then 201 on the retry), never 409, and the
// background pass adds every member in Freshservice.
func TestGroupPostBeyondTheBudget(t *testing.T) {
	ctx := context.Background()
	e := startEnv(t, envOptions{Plan: "starter", TimeScale: 60, Concurrency: 4})
	st := &state{}
	oktaImport(ctx, e, st, params{N: 110, Concurrency: 8}, &run{})
	time.Sleep(e.cfg.Freshservice.Window) // a full bucket: 100 calls
	var ms []any
	for _, id := range st.okta[:105] { // more member adds than one window allows
		ms = append(ms, map[string]any{"value": id})
	}
	postUntilAnswered(t, e, "/Groups", map[string]any{"schemas": []string{urnGroup}, "displayName": "Big Group", "members": ms})
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, members := 0, 0
		for _, g := range e.sim.RequesterGroups() {
			if g.Name == "Big Group" {
				n++
				members = len(e.sim.RequesterGroupMembers(g.ID))
			}
		}
		if n > 1 {
			t.Fatalf("%d requester groups named Big Group in Freshservice, want 1", n)
		}
		if n == 1 && members == 105 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: %d groups named Big Group, %d of 105 members in Freshservice", n, members)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A POST /Users that brings back a user deleted over SCIM while an import
// spends the budget is answered 201 (or 429 and then 201 on the retry), and
// the same Freshservice record comes back, active, with the new title.
func TestReturningUserPostUnderBudgetPressure(t *testing.T) {
	ctx := context.Background()
	e := startEnv(t, envOptions{Plan: "starter", TimeScale: 60, Concurrency: 4})
	un := "returning@" + benchDomain
	resp, err := e.doOnce(ctx, "POST", "/Users", oktaUser(un, 1))
	if err != nil || resp.Status != 201 {
		t.Fatalf("create: %v %d", err, resp.Status)
	}
	id := idOf(resp)
	if resp, err = e.doOnce(ctx, "DELETE", "/Users/"+id, nil); err != nil || resp.Status != 204 {
		t.Fatalf("delete: %v %d", err, resp.Status)
	}
	time.Sleep(e.cfg.Freshservice.Window)
	// An import is using the budget when the user comes back.
	base := e.sim.Stats().Total
	go oktaImport(ctx, e, &state{}, params{N: 250, Concurrency: 8}, &run{})
	for e.sim.Stats().Total < base+100 {
		time.Sleep(time.Millisecond)
	}
	body := oktaUser(un, 1)
	body["title"] = "Back"
	if got := idOf(postUntilAnswered(t, e, "/Users", body)); got != id {
		t.Errorf("the returning user got id %s, want her old record %s", got, id)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var found []simulator.User
		for _, u := range e.sim.Users() {
			if strings.EqualFold(u.PrimaryEmail, un) {
				found = append(found, u)
			}
		}
		if len(found) > 1 {
			t.Fatalf("%d Freshservice users with %s, want 1", len(found), un)
		}
		if len(found) == 1 && found[0].Active && found[0].JobTitle == "Back" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: %+v; want one active user titled Back", found)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
