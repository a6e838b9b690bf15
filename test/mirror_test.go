package test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/rs/zerolog"

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
