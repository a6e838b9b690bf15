package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
)

// simAPI calls the simulator's API directly, as an admin or another tool
// would change Freshservice behind the bridge's back.
func (e *env) simAPI(method, path string, body any) map[string]any {
	e.t.Helper()
	var r *bytes.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	} else {
		r = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, e.simURL+"/api/v2"+path, r)
	req.SetBasicAuth(testAPIKey, "X")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode >= 300 {
		e.t.Fatalf("simulator %s %s: %d %v", method, path, resp.StatusCode, m)
	}
	return m
}

func (e *env) scimUserByName(name string) map[string]any {
	e.t.Helper()
	_, list := e.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`), nil)
	res, _ := list["Resources"].([]any)
	if len(res) != 1 {
		return nil
	}
	return res[0].(map[string]any)
}

// TestChangesInFreshserviceShowWithinOneRefresh: users created, edited,
// deactivated and converted directly in Freshservice are visible over
// SCIM after the next walk.
func TestChangesInFreshserviceShowWithinOneRefresh(t *testing.T) {
	const interval = time.Second
	e := newEnv(t, func(c *config.Config, o *simulator.Options) {
		c.Mirror.RefreshInterval = interval
		// A time-scaled account, so a walk's pacing takes a fraction of
		// the interval as it does on a real account with a 15-minute one.
		o.TimeScale = 60
		c.Freshservice.Window = time.Second
	})
	edited := e.mustCreate(userBody("edit@example.com", "Ed", "It", nil))
	gone := e.mustCreate(userBody("gone@example.com", "Go", "Ne", nil))
	promoted := e.mustCreate(userBody("conv@example.com", "Con", "Vert", nil))

	changed := time.Now()
	created := e.simAPI("POST", "/requesters", map[string]any{"first_name": "New", "primary_email": "outside@example.com"})
	e.simAPI("PUT", "/requesters/"+edited, map[string]any{"job_title": "Changed in Freshservice"})
	e.simAPI("DELETE", "/requesters/"+gone, nil)
	e.simAPI("PUT", "/requesters/"+promoted+"/convert_to_agent", nil)

	eventually(t, "Freshservice's changes showing over SCIM", func() bool {
		u := e.scimUserByName("outside@example.com")
		_, ed := e.do("GET", "/Users/"+edited, nil)
		_, g := e.do("GET", "/Users/"+gone, nil)
		_, p := e.do("GET", "/Users/"+promoted, nil)
		ext, _ := p["urn:ietf:params:scim:schemas:extension:freshservice:2.0:User"].(map[string]any)
		return u != nil && ed["title"] == "Changed in Freshservice" && g["active"] == false && ext["agentType"] == "occasional"
	})
	if took := time.Since(changed); took > 3*interval {
		t.Errorf("changes took %s to show, more than the refresh interval (%s) and a walk", took, interval)
	}
	_ = created
}

// TestWalkStaysWithinItsShare: a walk of many pages on a time-scaled
// Starter account spends no more than its share of the list bucket in any
// window.
func TestWalkStaysWithinItsShare(t *testing.T) {
	const share = 0.25
	var sim *simulator.Server
	e := newEnv(t, func(c *config.Config, o *simulator.Options) {
		o.Plan, o.TimeScale = "starter", 120
		c.Freshservice.Plan = "starter"
		c.Freshservice.Window = time.Minute / 120
		c.Mirror.Share = share
		c.Mirror.RefreshInterval = time.Hour
	})
	sim = e.sim
	var users []simulator.SeedUser
	for i := range 1500 {
		users = append(users, simulator.SeedUser{FirstName: "W", PrimaryEmail: fmt.Sprintf("w%d@example.com", i)})
	}
	if err := sim.Seed(simulator.SeedData{Requesters: users}); err != nil {
		t.Fatal(err)
	}
	start := len(sim.Requests())
	if err := e.srv.Bridge.Walk(context.Background()); err != nil {
		t.Fatal(err)
	}
	var times []time.Time
	for _, r := range sim.Requests()[start:] {
		if r.Method == "GET" && (r.Route == "/api/v2/requesters" || r.Route == "/api/v2/agents") {
			times = append(times, r.Time)
		}
	}
	if len(times) < 15 {
		t.Fatalf("the walk made only %d list calls", len(times))
	}
	window := sim.Window()
	limit := int(40*share) + 1 // the Starter list bucket is 40 a minute
	for i := range times {
		n := 0
		for j := i; j < len(times) && times[j].Sub(times[i]) < window; j++ {
			n++
		}
		if n > limit {
			t.Fatalf("%d list calls in one window; the walk's share allows %d", n, limit)
		}
	}
	if e.srv.Bridge.Directory().Len() < 1501 {
		t.Errorf("the walk saw %d users", e.srv.Bridge.Directory().Len())
	}
}

func TestWebhookRefreshesOneUser(t *testing.T) {
	const secret = "webhook-secret-0123456789"
	e := newEnv(t, func(c *config.Config, _ *simulator.Options) {
		c.Webhook.Secret = config.Secret(secret)
		c.Mirror.RefreshInterval = time.Hour // no walk will help
	})
	id := e.mustCreate(userBody("hook@example.com", "Hoo", "K", nil))
	e.simAPI("PUT", "/requesters/"+id, map[string]any{"job_title": "Set by an admin"})
	e.simAPI("PUT", "/requesters/"+id+"/convert_to_agent", nil)
	post := func(auth, body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", strings.TrimSuffix(e.url, "/scim/v2")+"/webhooks/freshservice", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("X-Webhook-Secret", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if status, _ := post("wrong-secret-0123456789", `{"agent_id":`+id+`}`); status != 401 {
		t.Errorf("wrong secret: %d", status)
	}
	before := e.sim.Stats().Total
	status, body := post(secret, `{"event":"agent_updated","agent":{"id":"`+id+`","email":"hook@example.com"}}`)
	if status != 200 || body["refreshed"] != mustFloat(id) {
		t.Fatalf("webhook: %d %v", status, body)
	}
	if n := e.sim.Stats().Total - before; n != 1 {
		t.Errorf("the webhook made %d calls, want 1", n)
	}
	_, u := e.do("GET", "/Users/"+id, nil)
	ext, _ := u["urn:ietf:params:scim:schemas:extension:freshservice:2.0:User"].(map[string]any)
	if u["title"] != "Set by an admin" || ext["agentType"] != "occasional" {
		t.Errorf("the mirror was not refreshed: %v", u)
	}
	if status, _ := post(secret, `{"note":"nothing"}`); status != 400 {
		t.Errorf("no user in the body: %d", status)
	}
}

func mustFloat(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// TestBackpressureConverges: when the budget cannot serve a request within
// max_wait, the IdP gets 429 with Retry-After; a client that waits and
// retries ends with every user created exactly once and no 429 from
// Freshservice.
func TestBackpressureConverges(t *testing.T) {
	e := newEnv(t, func(c *config.Config, o *simulator.Options) {
		o.Plan, o.TimeScale = "starter", 60
		c.Freshservice.Plan = "starter"
		c.Freshservice.Window = time.Second
		c.Freshservice.Share = 0.1 // 10 calls per 1 s window
		c.Freshservice.MaxWait = 300 * time.Millisecond
	})
	const n = 25
	var mu sync.Mutex
	throttled := 0
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := userBody(fmt.Sprintf("bp%d@example.com", i), "B", fmt.Sprint(i), nil)
			for attempt := 0; ; attempt++ {
				data, _ := json.Marshal(body)
				status, raw, hdr := e.doRaw("POST", "/Users", data, nil)
				if status == 201 {
					return
				}
				if status != 429 || attempt > 50 {
					t.Errorf("create %d: %d %s", i, status, raw)
					return
				}
				ra, err := strconv.Atoi(hdr.Get("Retry-After"))
				if err != nil || ra < 1 {
					t.Errorf("429 without a usable Retry-After: %q", hdr.Get("Retry-After"))
					return
				}
				mu.Lock()
				throttled++
				mu.Unlock()
				time.Sleep(time.Duration(ra) * time.Second)
			}
		})
	}
	wg.Wait()
	if throttled == 0 {
		t.Error("the IdP was never told to slow down; the test checks nothing")
	}
	if st := e.sim.Stats(); st.RateLimited != 0 {
		t.Errorf("Freshservice answered 429 %d times", st.RateLimited)
	}
	for i := range n {
		if _, ok := e.sim.UserByEmail(fmt.Sprintf("bp%d@example.com", i)); !ok {
			t.Errorf("user %d missing", i)
		}
	}
	if got := len(e.sim.Users()); got != n+1 {
		t.Errorf("%d users in Freshservice, want %d (no duplicates)", got, n+1)
	}
}
