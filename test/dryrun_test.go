package test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/store"
)

func TestDryRunPlansAndSendsNothing(t *testing.T) {
	e := rulesEnv(t, config.OnLeaveDemote)
	id := e.mustCreate(userBody("dry@example.com", "Dry", "Run", nil))
	g := e.mustGroup("FS Agents")
	// The same bridge, restarted in dry-run mode on the same store.
	d := newEnvSharing(t, e, func(c *config.Config, _ *simulator.Options) { c.DryRun = true })
	writes := func() int {
		n := 0
		for route, c := range e.sim.Stats().ByRoute {
			if !strings.HasPrefix(route, "GET ") {
				n += c
			}
		}
		return n
	}
	before := writes()

	status, body := d.do("POST", "/Users", userBody("new@example.com", "New", "Person", nil))
	if status != 202 || !strings.Contains(fmt.Sprint(body["plan"]), "POST /api/v2/requesters") {
		t.Errorf("dry-run create: %d %v", status, body)
	}
	status, body = d.addMembers(g, id)
	plan := fmt.Sprint(body["plan"])
	if status != 202 || !strings.Contains(plan, "/convert_to_agent") || !strings.Contains(plan, `"roles":[`) {
		t.Errorf("dry-run promotion: %d %v", status, body)
	}
	status, body = d.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "replace", "value": map[string]any{"active": false}}))
	if status != 202 || !strings.Contains(fmt.Sprint(body["plan"]), "DELETE /api/v2/requesters/"+id) {
		t.Errorf("dry-run deactivate: %d %v", status, body)
	}
	if n := writes() - before; n != 0 {
		t.Errorf("dry run sent %d writes to Freshservice", n)
	}
	if _, ok := e.sim.UserByEmail("new@example.com"); ok {
		t.Error("dry run created a user")
	}
	if su := e.simUser(id); su.IsAgent || !su.Active {
		t.Errorf("dry run changed the user: %+v", su)
	}
	// Nothing was kept: the group still has no member, and plans are audited.
	if _, grp := d.do("GET", "/Groups/"+g, nil); len(grp["members"].([]any)) != 0 {
		t.Errorf("dry run kept a membership: %v", grp["members"])
	}
	events, _ := d.srv.Store.ListAudit(t.Context(), store.AuditQuery{Outcome: "planned"})
	if len(events) < 3 {
		t.Errorf("%d planned audit events, want at least 3", len(events))
	}
}
