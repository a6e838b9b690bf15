package test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/store"
)

// starterEnv is a bridge on a Starter account whose "Network" rule gives
// a role scoped specified_groups (Pro and Enterprise only).
func starterEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, func(c *config.Config, o *simulator.Options) {
		o.Plan = "starter"
		c.Rules = config.Rules{RoleGroups: []config.RoleGroup{
			{Name: "Network", Match: config.Match{DisplayName: "FS Network", Role: "network"},
				Roles: []config.RoleGrant{{Role: "IT Ops Agent", Scope: "specified_groups", Groups: []string{"Network Team"}}}},
		}}
	})
}

const featureDetail = "needs the Specified Groups Scope feature (plans: Pro, Enterprise); this account's plan lacks it"

// TestFeatureThePlanLacksOnCreate: the IdP is told which feature and which
// plans, the audit trail records it as requires_feature, and nothing
// retries it.
func TestFeatureThePlanLacksOnCreate(t *testing.T) {
	e := starterEnv(t)
	status, res := e.do("POST", "/Users", userBody("net@example.com", "Net", "Op", map[string]any{
		"roles": []any{map[string]any{"value": "network"}},
	}))
	if status != 403 || !strings.Contains(res["detail"].(string), featureDetail) {
		t.Fatalf("POST /Users needing a feature Starter lacks: %d %v, want 403 naming the feature and its plans", status, res)
	}
	events, _ := e.srv.Store.ListAudit(t.Context(), store.AuditQuery{Outcome: "error", Operation: "user.create_agent"})
	if len(events) != 1 || events[0].Kind != "requires_feature" || events[0].Status != 403 || !strings.Contains(events[0].Detail, "Specified Groups Scope") {
		t.Errorf("audit of the refused create: %+v", events)
	}
	before := e.sim.Stats().ByRoute["POST /api/v2/agents"]
	for range 3 {
		e.srv.Bridge.ReconcilePass(t.Context())
	}
	time.Sleep(200 * time.Millisecond) // and a few background passes
	if n := e.sim.Stats().ByRoute["POST /api/v2/agents"] - before; n != 0 {
		t.Errorf("the refused create was sent %d more times", n)
	}
}

// TestFeatureThePlanLacksIsNotRetried: a user whose rules come to need the
// feature through a role group is refused by Freshservice once, recorded
// with the feature, and left for the next change rather than re-planned
// by every background pass.
func TestFeatureThePlanLacksIsNotRetried(t *testing.T) {
	e := starterEnv(t)
	id := e.mustCreate(userBody("ops@example.com", "Op", "S", nil))
	g := e.mustGroup("FS Network")
	if status, body := e.addMembers(g, id); status != 204 {
		t.Fatalf("add to FS Network: %d %v", status, body)
	}
	fsid, _ := strconv.ParseInt(id, 10, 64)
	events, _ := e.srv.Store.ListAudit(t.Context(), store.AuditQuery{Outcome: "error", FSID: fsid})
	if len(events) == 0 || events[0].Kind != "requires_feature" || !strings.Contains(events[0].Detail, "Specified Groups Scope") {
		t.Fatalf("audit of the refused promotion: %+v", events)
	}
	rec, _ := e.srv.Store.GetUser(t.Context(), fsid)
	if rec.Dirty || !strings.Contains(rec.LastError, featureDetail) {
		t.Errorf("user record: dirty %v, last error %q; want not waiting for a retry, the feature named", rec.Dirty, rec.LastError)
	}
	put := func() int { return e.sim.Stats().ByRoute["PUT /api/v2/agents/{id}"] }
	before := put()
	for range 3 {
		e.srv.Bridge.ReconcilePass(t.Context())
	}
	time.Sleep(300 * time.Millisecond) // and a few background passes
	if n := put() - before; n != 0 {
		t.Errorf("background passes sent the refused PUT %d more times", n)
	}
}
