package test

import (
	"net/url"
	"path/filepath"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
)

// TestLostStoreRecovery pins down what docs/operations.md tells an admin
// about a bridge restarted on an empty store (a lost volume, no backup):
// users keep their ids and are found by userName and email; what only the
// store held (externalId, the SCIM groups, which agents the bridge made)
// is gone; an IdP's re-push adopts the same records.
func TestLostStoreRecovery(t *testing.T) {
	e := rulesEnv(t, "")
	a := e.mustCreate(userBody("a.lost@example.com", "A", "Lost", map[string]any{"externalId": "ext-a"}))
	b := e.mustCreate(userBody("b.lost@example.com", "B", "Lost", nil))
	gid := e.mustGroup("FS Agents", b)
	if !e.simUser(b).IsAgent {
		t.Fatal("B was not promoted")
	}

	e2 := newEnvSharing(t, e, func(c *config.Config, _ *simulator.Options) {
		c.Store.Path = filepath.Join(t.TempDir(), "empty.db")
	})
	if err := e2.srv.Bridge.Walk(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := len(e2.sim.Users())

	// Users: same ids, found by userName; externalId is gone.
	if status, body := e2.do("GET", "/Users/"+a, nil); status != 200 || body["userName"] != "a.lost@example.com" || body["externalId"] != nil {
		t.Errorf("GET /Users/A on an empty store: %d userName=%v externalId=%v; want 200, the email, no externalId", status, body["userName"], body["externalId"])
	}
	if _, body := e2.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "a.lost@example.com"`), nil); body["totalResults"] != float64(1) {
		t.Errorf("lookup by userName on an empty store: %v results, want 1", body["totalResults"])
	}
	if _, body := e2.do("GET", "/Users?filter="+url.QueryEscape(`externalId eq "ext-a"`), nil); body["totalResults"] != float64(0) {
		t.Errorf("lookup by externalId on an empty store: %v results, want 0 (only the store held it)", body["totalResults"])
	}
	// The IdP's re-push adopts the same record and restores externalId.
	if status, body := e2.do("POST", "/Users", userBody("a.lost@example.com", "A", "Lost", map[string]any{"externalId": "ext-a"})); status != 201 || body["id"] != a {
		t.Errorf("re-push of A: %d id=%v, want 201 and the old id %s", status, body["id"], a)
	}
	if _, body := e2.do("GET", "/Users?filter="+url.QueryEscape(`externalId eq "ext-a"`), nil); body["totalResults"] != float64(1) {
		t.Errorf("lookup by externalId after the re-push: %v results, want 1", body["totalResults"])
	}
	if n := len(e2.sim.Users()); n != before {
		t.Errorf("Freshservice has %d users after the re-push, %d before: a duplicate", n, before)
	}

	// Groups: gone; a re-push makes a new one.
	if status, _ := e2.do("GET", "/Groups/"+gid, nil); status != 404 {
		t.Errorf("GET of the old group on an empty store: %d, want 404", status)
	}
	gid2 := e2.mustGroup("FS Agents", b)
	if gid2 == gid {
		t.Errorf("the re-pushed group got the old id")
	}
	// The bridge no longer knows it made B an agent, so it does not demote
	// B when B leaves the role group (agents it did not make are never
	// demoted); the admin does.
	if status, _ := e2.removeMember(gid2, b); status != 204 && status != 200 {
		t.Fatalf("removing B from the re-pushed group: %d", status)
	}
	if !e2.simUser(b).IsAgent {
		t.Errorf("B was demoted although the empty store does not say the bridge promoted B")
	}
}
