package test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
)

func (e *env) get(path string) (int, string) {
	e.t.Helper()
	resp, err := http.Get(strings.TrimSuffix(e.url, "/scim/v2") + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.mustCreate(userBody("m@example.com", "M", "Etric", nil))
	e.do("GET", "/Users/999", nil)
	status, body := e.get("/metrics")
	if status != 200 {
		t.Fatalf("/metrics: %d", status)
	}
	for _, want := range []string{
		`fsbridge_scim_requests_total{method="POST",resource="Users",status="201"} 1`,
		`fsbridge_scim_requests_total{method="GET",resource="Users",status="404"} 1`,
		`fsbridge_scim_request_duration_seconds_bucket{method="POST",resource="Users"`,
		`fsbridge_freshservice_calls_total{method="POST",route="/api/v2/requesters",status="201"} 1`,
		`fsbridge_freshservice_budget_remaining{bucket="overall"}`,
		`fsbridge_freshservice_budget_limit{bucket="list_requesters"} 140`,
		`fsbridge_freshservice_budget_wait_seconds_total`,
		`fsbridge_mirror_users 2`,
		`fsbridge_mirror_age_seconds`,
		`fsbridge_plans_pending 0`,
		`fsbridge_drift_users 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, testAPIKey) || strings.Contains(body, testToken) {
		t.Error("a secret appears in /metrics")
	}
}

func TestHealthAndReadiness(t *testing.T) {
	var refuse atomic.Bool
	e := newEnvWrapped(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse.Load() && strings.HasPrefix(r.URL.Path, "/api/v2/") {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"code":"invalid_credentials","message":"You have to be logged in to perform this action."}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	if status, body := e.get("/healthz"); status != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz: %d %s", status, body)
	}
	status, body := e.get("/readyz")
	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	_ = json.Unmarshal([]byte(body), &ready)
	if status != 200 || !ready.Ready || ready.Checks["store"] != "ok" || ready.Checks["freshservice"] != "ok" || !strings.HasPrefix(ready.Checks["mirror"], "ok") {
		t.Errorf("/readyz: %d %s", status, body)
	}
	// The API key is revoked: the next call sees 401 and readiness says so.
	refuse.Store(true)
	if status, _ := e.do("POST", "/Users", userBody("r@example.com", "R", "Eady", nil)); status != 503 {
		t.Errorf("create with the key refused: %d, want 503", status)
	}
	status, body = e.get("/readyz")
	if status != 503 || !strings.Contains(body, "refused (401)") {
		t.Errorf("/readyz with the key refused: %d %s", status, body)
	}
}

func TestDriftIsReportedAndHealed(t *testing.T) {
	e := rulesEnv(t, config.OnLeaveDemote)
	id := e.mustCreate(userBody("drift@example.com", "Dri", "Ft", map[string]any{"title": "Engineer"}))
	agentID := e.mustCreate(userBody("agent.drift@example.com", "Age", "Nt", nil))
	e.mustGroup("Contractors", id)
	e.mustGroup("FS Agents", agentID)
	// An admin edits Freshservice by hand.
	e.simAPI("PUT", "/requesters/"+id, map[string]any{"job_title": "Changed by hand"})
	rg, _ := e.sim.RequesterGroupByName("Contractors")
	e.simAPI("DELETE", "/requester_groups/"+itoa(rg.ID)+"/members/"+id, nil)
	e.simAPI("PUT", "/agents/"+agentID, map[string]any{"occasional": true})
	ctx := context.Background()
	if err := e.srv.Bridge.Walk(ctx); err != nil {
		t.Fatal(err)
	}
	items, err := e.srv.Bridge.FindDrift(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, d := range items {
		text = append(text, d.Kind+" "+d.ID+": "+strings.Join(d.Differences, "; "))
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{
		`user ` + id + `: job_title: Freshservice has "Changed by hand", the IdP asked for "Engineer"`,
		`user ` + agentID + `: occasional: Freshservice has true, the IdP asked for false`,
		`requester_group`, `(drift@example.com) is not a member in Freshservice`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("drift report lacks %q:\n%s", want, all)
		}
	}
	if status, body := e.get("/metrics"); status != 200 || !strings.Contains(body, "fsbridge_drift_users 2") {
		t.Errorf("drift metric not 2")
	}
	if err := e.srv.Bridge.Heal(ctx, items); err != nil {
		t.Fatal(err)
	}
	if su := e.simUser(id); su.JobTitle != "Engineer" {
		t.Errorf("job title not healed: %q", su.JobTitle)
	}
	if su := e.simUser(agentID); su.Occasional {
		t.Error("agent type not healed")
	}
	if !containsID(e.sim.RequesterGroupMembers(rg.ID), id) {
		t.Error("requester-group membership not healed")
	}
	left, _ := e.srv.Bridge.FindDrift(ctx, true)
	if len(left) != 0 {
		t.Errorf("still drifted after healing: %+v", left)
	}
}

func containsID(ids []int64, id string) bool {
	for _, x := range ids {
		if itoa(x) == id {
			return true
		}
	}
	return false
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestShutdownFinishesRequestsInFlight: stopping the server (SIGTERM in
// the serve command) stops accepting but lets a request in flight finish.
func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	var slow atomic.Bool
	e := newEnvWrapped(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if slow.Load() && r.Method == "POST" {
				time.Sleep(500 * time.Millisecond)
			}
			next.ServeHTTP(w, r)
		})
	}, func(_ *config.Config, o *simulator.Options) {})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, ln) }()
	e2 := *e
	e2.url = "http://" + ln.Addr().String() + "/scim/v2"
	slow.Store(true)
	result := make(chan int, 1)
	go func() {
		status, _ := e2.do("POST", "/Users", userBody("late@example.com", "La", "Te", nil))
		result <- status
	}()
	time.Sleep(150 * time.Millisecond) // the request is inside Freshservice's slow answer
	stop()
	if status := <-result; status != 201 {
		t.Errorf("the request in flight got %d, want 201", status)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := http.Get(e2.url + "/Users"); err == nil {
		t.Error("the server still accepts connections after shutdown")
	}
	if _, ok := e.sim.UserByEmail("late@example.com"); !ok {
		t.Error("the user of the finished request is not in Freshservice")
	}
}
