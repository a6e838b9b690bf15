package simulator_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

// control sends an unauthenticated request to a /_simulator endpoint.
func (e *env) control(method, path, body string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+"/_simulator/"+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	return e.send(req)
}

func TestControlStats(t *testing.T) {
	e := newEnv(t, nil)
	rid := e.createRequester(map[string]any{"first_name": "S", "primary_email": "s@example.com"})
	e.do("GET", "/api/v2/requesters/"+itoa(rid), nil)
	e.do("GET", "/api/v2/requesters/"+itoa(rid)+"?x=1", nil)
	e.do("GET", "/api/v2/requesters?page=1", nil)
	e.do("GET", "/api/v2/requesters/99", nil)
	e.control("GET", "state", "").want(t, 200) // not counted
	r := e.control("GET", "stats", "").want(t, 200)
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"total": 5.0, "rate_limited": 0.0,
		"by_route": map[string]any{
			"POST /api/v2/requesters": 1.0, "GET /api/v2/requesters/{id}": 3.0, "GET /api/v2/requesters": 1.0,
		},
		"by_status": map[string]any{"201": 1.0, "200": 3.0, "404": 1.0},
		"injected":  map[string]any{"429": 0.0, "5xx": 0.0, "drop": 0.0, "commit_then_fail": 0.0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	reqs := e.sim.Requests()
	if len(reqs) != 5 {
		t.Fatalf("%d requests logged", len(reqs))
	}
	first := reqs[0]
	if first.Method != "POST" || first.Route != "/api/v2/requesters" || first.Status != 201 || first.Bucket != "overall" ||
		!strings.Contains(first.Body, "s@example.com") || !first.Time.Equal(clockStart) || first.ID == "" {
		t.Errorf("first request %+v", first)
	}
	if r := reqs[3]; r.Bucket != "list_requesters" || r.Query != "page=1" {
		t.Errorf("list request %+v", r)
	}
}

func TestControlResetKeepsSeeds(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.sim.Seed(simulator.SeedData{Requesters: []simulator.SeedUser{{FirstName: "Seeded", PrimaryEmail: "seeded@example.com"}}}); err != nil {
		t.Fatal(err)
	}
	e.createRequester(map[string]any{"first_name": "Made", "primary_email": "made@example.com"})
	for range 3 {
		e.do("GET", "/api/v2/roles", nil)
	}
	e.control("POST", "reset", "").want(t, 204)
	if _, ok := e.sim.UserByEmail("made@example.com"); ok {
		t.Error("API-created user survived reset")
	}
	if _, ok := e.sim.UserByEmail("seeded@example.com"); !ok {
		t.Error("seeded user lost by reset")
	}
	if st := e.sim.Stats(); st.Total != 0 || len(e.sim.Requests()) != 0 {
		t.Errorf("stats after reset %+v", st)
	}
	if got := e.do("GET", "/api/v2/roles", nil).header.Get("X-RateLimit-Remaining"); got != "499" {
		t.Errorf("rate limit not reset: remaining %s", got)
	}
	// Reset through the Go API too.
	e.createRequester(map[string]any{"first_name": "Made", "primary_email": "made@example.com"})
	e.sim.Reset()
	if _, ok := e.sim.UserByEmail("made@example.com"); ok {
		t.Error("Reset kept an API-created user")
	}
}

// The state dump seeds an identical account, ids included.
func TestControlStateRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.sim.SeedFile(filepath.Join("testdata", "seed.json")); err != nil {
		t.Fatal(err)
	}
	rid := e.createRequester(map[string]any{"first_name": "Made", "primary_email": "made@example.com", "department_ids": []int64{e.departmentID("IT")}})
	e.do("PUT", "/api/v2/requesters/"+itoa(rid)+"/convert_to_agent", nil).want(t, 200)
	body := e.control("GET", "state", "").want(t, 200).body

	clone := newEnv(t, func(o *simulatorOptions) { o.NoDefaults = true })
	clone.control("POST", "seed", string(body)).want(t, 204)
	ignore := cmpopts.IgnoreFields(simulator.User{}, "CreatedAt", "UpdatedAt")
	if diff := cmp.Diff(e.sim.Users(), clone.sim.Users(), ignore, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("users differ (-orig +clone):\n%s", diff)
	}
	ignoreG := cmpopts.IgnoreFields(simulator.Group{}, "CreatedAt", "UpdatedAt")
	if diff := cmp.Diff(e.sim.AgentGroups(), clone.sim.AgentGroups(), ignoreG, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("groups differ (-orig +clone):\n%s", diff)
	}
	rg, _ := e.sim.RequesterGroupByName("Contractors")
	if got, want := clone.sim.RequesterGroupMembers(rg.ID), e.sim.RequesterGroupMembers(rg.ID); !slices.Equal(got, want) {
		t.Errorf("requester group members %v, want %v", got, want)
	}
	// The clone's API shows the same requester as the original's.
	path := "/api/v2/requesters/" + itoa(rid)
	if a, b := e.do("GET", path, nil).item(t, "requester"), clone.do("GET", path, nil).item(t, "requester"); !cmp.Equal(a, b) {
		t.Errorf("requester differs:\n%s", cmp.Diff(a, b))
	}
}

func TestControlFaultsSwitchesSeats(t *testing.T) {
	e := newEnv(t, nil)
	r := e.control("PUT", "faults", `{"rate_429":1,"latency_ms":5,"jitter_ms":0,"seed":3}`).want(t, 200)
	var f simulator.Faults
	if err := json.Unmarshal(r.body, &f); err != nil {
		t.Fatal(err)
	}
	if want := (simulator.Faults{Rate429: 1, Latency: 5 * time.Millisecond, Seed: 3}); f != want || e.sim.Faults() != want {
		t.Errorf("faults %+v", f)
	}
	e.do("GET", "/api/v2/roles", nil).want(t, 429)
	e.control("PUT", "faults", `{"rate_429":1.5}`).want(t, 400)
	e.control("PUT", "faults", `{"rate_429s":1}`).want(t, 400)
	e.control("PUT", "faults", `{}`).want(t, 200)
	e.do("GET", "/api/v2/roles", nil).want(t, 200)

	e.control("PUT", "switches", `{"not_found_body":"json","query_index_lag_ms":60000}`).want(t, 200)
	if sw := e.sim.Switches(); sw.NotFoundBody != "json" || sw.QueryIndexLag != time.Minute {
		t.Errorf("switches %+v", sw)
	}
	if r := e.do("GET", "/api/v2/requesters/99", nil).want(t, 404); r.obj(t)["code"] != "not_found" {
		t.Errorf("404 body %s", r.body)
	}
	e.control("PUT", "switches", `{"not_found_body":"xml"}`).want(t, 400)
	e.control("GET", "switches", "").want(t, 200)
	// The switches of real-account variants, by their JSON keys.
	e.control("PUT", "switches", `{"duplicate_email_body":"conflict","agent_repeat_calls":"fail","requester_view_of_agents":"404",
		"normalize_on_write":true,"seat_exhaustion":"downgrade","restricted_group_approval":true,"workspaces":true,
		"key_workspace_id":3,"key_role":"limited","custom_field_required":true}`).want(t, 200)
	want := simulator.Switches{DuplicateEmailBody: "conflict", AgentRepeatCalls: "fail", RequesterViewOfAgents: "404",
		NormalizeOnWrite: true, SeatExhaustion: "downgrade", RestrictedGroupApproval: true, Workspaces: true,
		KeyWorkspaceID: 3, KeyRole: "limited", CustomFieldRequired: true}
	if got := e.sim.Switches(); got != want {
		t.Errorf("switches\n got %+v\nwant %+v", got, want)
	}
	e.control("PUT", "switches", `{"key_role":"owner"}`).want(t, 400)
	e.control("PUT", "switches", `{}`).want(t, 200)

	e.control("PUT", "seats", `{"full_time_seats":1}`).want(t, 204)
	e.do("POST", "/api/v2/agents", map[string]any{"first_name": "A", "email": "a@example.com",
		"roles": []any{map[string]any{"role_id": e.roleID("SD Agent"), "assignment_scope": "entire_helpdesk"}}}).want(t, 403)
	e.control("PUT", "seats", `{}`).want(t, 400)
	e.control("GET", "nothing", "").want(t, 404)
	if st := e.sim.Stats(); st.Total != 4 {
		t.Errorf("control requests counted: total %d", st.Total)
	}
}

func TestSeedFile(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.sim.SeedFile(filepath.Join("testdata", "seed.json")); err != nil {
		t.Fatal(err)
	}
	grace, ok := e.sim.UserByEmail("AMAZING.grace@example.com")
	if !ok {
		t.Fatal("no grace")
	}
	r := e.do("GET", "/api/v2/requesters/"+itoa(grace.ID), nil).want(t, 200).item(t, "requester")
	checks := map[string]any{"job_title": "CFO", "time_zone": "London", "department_names": []any{"Finance"}, "location_name": "Branch",
		"custom_fields": map[string]any{"employee_id": nil, "desk_number": nil, "hire_date": nil, "remote_worker": nil, "employment_type": nil, "cost_center": "CC-1"}}
	for k, want := range checks {
		if !cmp.Equal(r[k], want) {
			t.Errorf("%s = %v, want %v", k, r[k], want)
		}
	}
	hank, _ := e.sim.UserByEmail("hank@example.com")
	if hank.ReportingManagerID != grace.ID {
		t.Errorf("hank's manager %d", hank.ReportingManagerID)
	}
	ivy := e.do("GET", `/api/v2/requesters?mobile_phone_number=%2B44+7700+900000`, nil).want(t, 200).items(t, "requesters")
	if len(ivy) != 1 || ivy[0]["active"] != false || ivy[0]["primary_email"] != nil {
		t.Errorf("ivy %v", ivy)
	}
	tina, _ := e.sim.UserByEmail("tina@example.com")
	tier2, _ := e.sim.AgentGroupByName("Tier 2")
	if !tina.IsAgent || !tina.Occasional || !slices.Equal(tina.MemberOf, []int64{e.groupID("Service Desk"), tier2.ID}) ||
		len(tina.Roles) != 2 || !slices.Equal(tina.Roles[0].Groups, []int64{tier2.ID}) {
		t.Errorf("tina %+v", tina)
	}
	if !slices.Equal(tier2.Leaders, []int64{tina.ID}) || tier2.UnassignedFor != "1h" {
		t.Errorf("tier 2 %+v", tier2)
	}
	rg, _ := e.sim.RequesterGroupByName("Contractors")
	if got := e.sim.RequesterGroupMembers(rg.ID); !slices.Equal(got, []int64{hank.ID, grace.ID}) {
		t.Errorf("contractors %v", got)
	}
	if everyone, _ := e.sim.RequesterGroupByName("Everyone"); everyone.Type != "rule_based" {
		t.Errorf("everyone %+v", everyone)
	}
	var finance simulator.Department
	for _, d := range e.sim.Departments() {
		if d.Name == "Finance" {
			finance = d
		}
	}
	if finance.HeadUserID != grace.ID || !slices.Equal(finance.Domains, []string{"finance.example.com"}) {
		t.Errorf("finance %+v", finance)
	}
	locs := e.sim.Locations()
	if branch := locs[1]; branch.ParentLocationID != locs[0].ID || branch.Address.City != "Springfield" || branch.PrimaryContactID != grace.ID {
		t.Errorf("branch %+v", branch)
	}
}

func TestSeedErrorsLeaveStateUnchanged(t *testing.T) {
	tests := []struct {
		name string
		file string
	}{
		{"unknown key", `{"requesters":[{"first_name":"A","primary_email":"a@example.com","nick":"x"}]}`},
		{"unknown role", `{"agents":[{"first_name":"A","email":"a@example.com","roles":[{"role":"Wizard"}]}]}`},
		{"duplicate email", `{"requesters":[{"first_name":"A","primary_email":"owner@example.com"}]}`},
		{"unknown manager", `{"requesters":[{"first_name":"A","primary_email":"a@example.com","reporting_manager":"nobody@example.com"}]}`},
		{"bad time zone", `{"requesters":[{"first_name":"A","primary_email":"a@example.com","time_zone":"Mars"}]}`},
		{"requester with groups", `{"requesters":[{"first_name":"A","primary_email":"a@example.com","member_of":["Service Desk"]}]}`},
		{"taken id", `{"departments":[{"id":21000100001,"name":"Dup"}]}`},
		{"not json", `{`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			path := filepath.Join(t.TempDir(), "seed.json")
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			before := e.control("GET", "state", "").body
			if err := e.sim.SeedFile(path); err == nil {
				t.Fatal("no error")
			}
			if after := e.control("GET", "state", "").body; string(after) != string(before) {
				t.Error("a failed seed changed the state")
			}
		})
	}
	e := newEnv(t, nil)
	if err := e.sim.SeedFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
}

// The seed example in docs/simulator.md must stay valid.
func TestDocumentedSeedExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "simulator.md"))
	if err != nil {
		t.Skipf("docs not found: %v", err)
	}
	_, rest, ok := strings.Cut(string(doc), "```json\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no JSON example in docs/simulator.md")
	}
	path := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(path, []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil)
	if err := e.sim.SeedFile(path); err != nil {
		t.Fatalf("documented seed: %v", err)
	}
}
