package test

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/store"
)

// metricValue reads one unlabelled sample from the bridge's /metrics.
func (e *env) metricValue(name string) float64 {
	e.t.Helper()
	resp, err := http.Get(strings.TrimSuffix(e.url, "/scim/v2") + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				e.t.Fatalf("%s: %q", name, v)
			}
			return f
		}
	}
	e.t.Fatalf("/metrics has no %s", name)
	return 0
}

// TestSeatDowngradeSettles: in a workspace account with no full-time seat
// free, Freshservice answers a promotion with success and an occasional
// agent. The person is provisioned (SCIM 2xx), the bridge says so (audit,
// /status, metric), does not ask again on every pass, and makes the agent
// full-time once a seat frees.
func TestSeatDowngradeSettles(t *testing.T) {
	e := rulesEnv(t, config.OnLeaveDemote, func(_ *config.Config, o *simulator.Options) {
		o.FullTimeSeats = 3 // the key's owner and two more
		o.Switches.SeatExhaustion = simulator.SeatsDowngrade
	})
	a := e.mustCreate(userBody("ada@example.com", "Ada", "A", nil))
	b := e.mustCreate(userBody("bo@example.com", "Bo", "B", nil))
	c := e.mustCreate(userBody("cy@example.com", "Cy", "C", nil))
	agents := e.mustGroup("FS Agents", a, b)
	for _, id := range []string{a, b} {
		if su := e.simUser(id); !su.IsAgent || su.Occasional {
			t.Fatalf("user %s: agent %v occasional %v, want full-time", id, su.IsAgent, su.Occasional)
		}
	}

	// One more than the seats: the IdP is told it worked.
	if status, body := e.addMembers(agents, c); status != 204 {
		t.Fatalf("adding a third agent: %d %v, want 204", status, body)
	}
	cu := e.simUser(c)
	if !cu.IsAgent || !cu.Occasional {
		t.Fatalf("Freshservice has agent %v occasional %v, want an occasional agent", cu.IsAgent, cu.Occasional)
	}

	// The audit trail says what happened, as a partial success.
	events, _ := e.srv.Store.ListAudit(t.Context(), store.AuditQuery{Outcome: "partial", FSID: cu.ID})
	if len(events) != 1 || events[0].Kind != "no_seat" || events[0].Field != "occasional" || !strings.Contains(events[0].Detail, "occasional") {
		t.Errorf("partial audit events for the downgraded agent: %+v", events)
	}
	// /status lists the agent under Needs attention, and warns.
	var rep struct {
		Health struct {
			Checks []struct {
				Name, State, Detail string
			} `json:"checks"`
		} `json:"health"`
		Attention struct {
			Users int `json:"users"`
			Items []struct {
				UserName  string `json:"user_name"`
				Attribute string `json:"attribute"`
				Reason    string `json:"reason"`
			} `json:"items"`
		} `json:"needs_attention"`
	}
	e.statusJSON(&rep)
	if rep.Attention.Users != 1 || len(rep.Attention.Items) != 1 || rep.Attention.Items[0].UserName != "cy@example.com" ||
		rep.Attention.Items[0].Attribute != "occasional" || !strings.Contains(rep.Attention.Items[0].Reason, "no full-time agent seat") {
		t.Errorf("/status.json needs attention: %+v", rep.Attention)
	}
	warned := false
	for _, c := range rep.Health.Checks {
		if c.Name == "seats" && c.State == "warn" {
			warned = true
		}
	}
	if !warned {
		t.Errorf("/status.json health has no seats warning: %+v", rep.Health.Checks)
	}
	if v := e.metricValue("fsbridge_agents_downgraded"); v != 1 {
		t.Errorf("fsbridge_agents_downgraded = %v, want 1", v)
	}

	// The plan settles: neither the background pass nor a forced re-plan
	// asks Freshservice again.
	agentPUT := func() int { return e.sim.Stats().ByRoute["PUT /api/v2/agents/{id}"] }
	before := agentPUT()
	id, _ := strconv.ParseInt(c, 10, 64)
	if _, err := e.srv.Store.UpdateUser(t.Context(), id, func(s *store.User) error { s.Dirty = true; return nil }); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		e.srv.Bridge.ReconcilePass(t.Context())
	}
	time.Sleep(200 * time.Millisecond) // and a few background passes
	if n := agentPUT() - before; n != 0 {
		t.Errorf("reconcile passes made %d more agent PUTs, want none", n)
	}
	if rec, _ := e.srv.Store.GetUser(t.Context(), id); rec.Dirty {
		t.Errorf("the downgraded user is still waiting for a plan: %+v", rec)
	}

	// A seat frees (another agent leaves and is demoted): the next pass
	// makes the downgraded agent full-time, and the warning goes.
	if status, body := e.removeMember(agents, a); status != 204 {
		t.Fatalf("leave FS Agents: %d %v", status, body)
	}
	e.srv.Bridge.ReconcilePass(t.Context())
	waitFor(t, 5*time.Second, "the downgraded agent to be made full-time", func() bool {
		u := e.simUser(c)
		return u.IsAgent && !u.Occasional
	})
	waitFor(t, 5*time.Second, "the attention list to empty", func() bool { return len(e.srv.Bridge.Downgraded()) == 0 })
	if v := e.metricValue("fsbridge_agents_downgraded"); v != 0 {
		t.Errorf("fsbridge_agents_downgraded = %v after the seat freed, want 0", v)
	}
}

// TestSeatDowngradeOnAgentCreate: a new user created straight as an agent
// (POST /agents) is answered 201 occasional; the create succeeds and the
// downgrade is recorded.
func TestSeatDowngradeOnAgentCreate(t *testing.T) {
	e := rulesEnv(t, config.OnLeaveDemote, func(_ *config.Config, o *simulator.Options) {
		o.FullTimeSeats = 1 // the key's owner only
		o.Switches.SeatExhaustion = simulator.SeatsDowngrade
	})
	body := userBody("dee@example.com", "Dee", "D", map[string]any{
		"roles": []any{map[string]any{"value": "Admin"}},
	})
	status, res := e.do("POST", "/Users", body)
	if status != 201 {
		t.Fatalf("POST /Users as an agent with no seat free: %d %v, want 201", status, res)
	}
	u := e.simUser(res["id"].(string))
	if !u.IsAgent || !u.Occasional {
		t.Fatalf("Freshservice has agent %v occasional %v, want an occasional agent", u.IsAgent, u.Occasional)
	}
	if d := e.srv.Bridge.Downgraded(); len(d) != 1 || d[0].ID != u.ID {
		t.Errorf("downgraded: %+v, want user %d", d, u.ID)
	}
	before := e.sim.Stats().ByRoute["PUT /api/v2/agents/{id}"]
	e.srv.Bridge.ReconcilePass(t.Context())
	if n := e.sim.Stats().ByRoute["PUT /api/v2/agents/{id}"] - before; n != 0 {
		t.Errorf("a reconcile pass made %d agent PUTs, want none", n)
	}
}

// TestSeatExhaustionErrorStillRefuses: an account that refuses an agent it
// has no seat for (403) is answered 403 as before, and nothing is listed as
// downgraded.
func TestSeatExhaustionErrorStillRefuses(t *testing.T) {
	e := rulesEnv(t, config.OnLeaveDemote, func(_ *config.Config, o *simulator.Options) {
		o.FullTimeSeats = 1
		o.Switches.SeatExhaustion = simulator.SeatsError
	})
	body := userBody("eve@example.com", "Eve", "E", map[string]any{
		"roles": []any{map[string]any{"value": "Admin"}},
	})
	status, res := e.do("POST", "/Users", body)
	if status != 403 || !strings.Contains(res["detail"].(string), "no agent seat") {
		t.Fatalf("POST /Users as an agent with no seat free: %d %v, want 403 naming the seat", status, res)
	}
	if d := e.srv.Bridge.Downgraded(); len(d) != 0 {
		t.Errorf("downgraded: %+v, want none", d)
	}
	if v := e.metricValue("fsbridge_agents_downgraded"); v != 0 {
		t.Errorf("fsbridge_agents_downgraded = %v, want 0", v)
	}
}

// TestSeatDowngradeOnReactivation: a full-time agent deactivated while its
// seat went to someone else comes back occasional; the reactivation
// succeeds and settles.
func TestSeatDowngradeOnReactivation(t *testing.T) {
	e := rulesEnv(t, config.OnLeaveDemote, func(_ *config.Config, o *simulator.Options) {
		o.FullTimeSeats = 2 // the key's owner and one more
		o.Switches.SeatExhaustion = simulator.SeatsDowngrade
	})
	a := e.mustCreate(userBody("ann@example.com", "Ann", "A", nil))
	b := e.mustCreate(userBody("ben@example.com", "Ben", "B", nil))
	agents := e.mustGroup("FS Agents", a)
	if su := e.simUser(a); !su.IsAgent || su.Occasional {
		t.Fatalf("ann: agent %v occasional %v, want full-time", su.IsAgent, su.Occasional)
	}
	// Ann leaves for a while; Ben takes the free seat.
	if status, body := e.do("PATCH", "/Users/"+a, patchBody(map[string]any{"op": "replace", "path": "active", "value": false})); status != 200 {
		t.Fatalf("deactivate ann: %d %v", status, body)
	}
	if status, body := e.addMembers(agents, b); status != 204 {
		t.Fatalf("promote ben: %d %v", status, body)
	}
	if su := e.simUser(b); !su.IsAgent || su.Occasional {
		t.Fatalf("ben: agent %v occasional %v, want full-time", su.IsAgent, su.Occasional)
	}
	// Ann comes back: Freshservice has no full-time seat for her.
	put := func() int { return e.sim.Stats().ByRoute["PUT /api/v2/agents/{id}"] }
	before := put()
	if status, body := e.do("PATCH", "/Users/"+a, patchBody(map[string]any{"op": "replace", "path": "active", "value": true})); status != 200 {
		t.Fatalf("reactivate ann: %d %v, want 200", status, body)
	}
	su := e.simUser(a)
	if !su.Active || !su.IsAgent || !su.Occasional {
		t.Fatalf("ann: active %v agent %v occasional %v, want an active occasional agent", su.Active, su.IsAgent, su.Occasional)
	}
	if n := put() - before; n != 0 {
		t.Errorf("the reactivation was followed by %d agent PUTs asking for full-time, want none", n)
	}
	if d := e.srv.Bridge.Downgraded(); len(d) != 1 || d[0].ID != su.ID {
		t.Errorf("downgraded: %+v, want ann", d)
	}
}
