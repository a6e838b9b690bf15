package freshservice_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

const simKey = "sim-key-ABCDEF0123456789"

// newSim starts a simulator over real HTTP and a client for it.
func newSim(t *testing.T, o simulator.Options, copts ...freshservice.Option) (*simulator.Server, *freshservice.Client) {
	t.Helper()
	o.APIKey = simKey
	if o.TimeScale == 0 {
		// A rate-limit minute passes in a second, and the client paces to
		// match, so these tests do not wait real minutes.
		o.TimeScale = 60
	}
	sim, err := simulator.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	plan := freshservice.Plan(o.Plan)
	if plan == "" {
		plan = freshservice.PlanEnterprise
	}
	copts = append([]freshservice.Option{freshservice.WithBudget(freshservice.NewBudget(freshservice.BudgetConfig{Plan: plan, Window: sim.Window()}))}, copts...)
	c, err := freshservice.NewClient(ts.URL, simKey, copts...)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

// TestEveryCallAgainstTheSimulator runs each service method once, checking
// the result against the simulator's state.
func TestEveryCallAgainstTheSimulator(t *testing.T) {
	sim, c := newSim(t, simulator.Options{})
	ctx := context.Background()

	// Catalog reads.
	var roles []*freshservice.Role
	for r, err := range c.Roles.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		roles = append(roles, r)
	}
	sdAgent, _ := sim.RoleByName("SD Agent")
	if len(roles) != len(sim.Roles()) {
		t.Errorf("roles: %d, simulator has %d", len(roles), len(sim.Roles()))
	}
	if r, _, err := c.Roles.Get(ctx, sdAgent.ID); err != nil || r.Name != "SD Agent" {
		t.Errorf("Roles.Get = %v, %v", r, err)
	}
	depts, _, err := c.Departments.List(ctx, nil)
	if err != nil || len(depts) != len(sim.Departments()) {
		t.Fatalf("departments %d, %v", len(depts), err)
	}
	d, _, err := c.Departments.Create(ctx, &freshservice.DepartmentFields{Name: freshservice.Ptr("Finance")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Departments.Update(ctx, d.ID, &freshservice.DepartmentFields{Description: freshservice.Ptr("money")}); err != nil {
		t.Error(err)
	}
	if got, _, err := c.Departments.Get(ctx, d.ID); err != nil || got.Description != "money" {
		t.Errorf("department after update %+v %v", got, err)
	}
	if _, err := c.Departments.Delete(ctx, d.ID); err != nil {
		t.Error(err)
	}
	locs, _, err := c.Locations.List(ctx, nil)
	if err != nil || len(locs) == 0 {
		t.Fatalf("locations %v %v", locs, err)
	}
	l, _, err := c.Locations.Create(ctx, &freshservice.LocationFields{Name: freshservice.Ptr("Branch")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Locations.Update(ctx, l.ID, &freshservice.LocationFields{Name: freshservice.Ptr("Branch 2")}); err != nil {
		t.Error(err)
	}
	if got, _, _ := c.Locations.Get(ctx, l.ID); got == nil || got.Name != "Branch 2" {
		t.Errorf("location %+v", got)
	}
	if _, err := c.Locations.Delete(ctx, l.ID); err != nil {
		t.Error(err)
	}

	// Requester lifecycle.
	r, _, err := c.Requesters.Create(ctx, &freshservice.RequesterFields{
		Email: freshservice.Ptr("Jane@Acme.com"), SecondaryEmails: &[]string{"j.doe@acme.com"},
		Profile: freshservice.Profile{FirstName: freshservice.Ptr("Jane"), JobTitle: freshservice.Ptr("Analyst"), TimeZone: freshservice.Ptr("Eastern Time (US & Canada)")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if su, ok := sim.User(r.ID); !ok || su.PrimaryEmail != "Jane@Acme.com" || su.IsAgent {
		t.Errorf("simulator user %+v", su)
	}
	if _, _, err := c.Requesters.Create(ctx, &freshservice.RequesterFields{Email: freshservice.Ptr("j.DOE@acme.com"), Profile: freshservice.Profile{FirstName: freshservice.Ptr("X")}}); !errors.Is(err, freshservice.ErrDuplicate) {
		t.Errorf("create with another user's secondary email: %v, want ErrDuplicate", err)
	}
	u, _, err := c.Requesters.Update(ctx, r.ID, &freshservice.RequesterFields{Profile: freshservice.Profile{JobTitle: freshservice.Ptr("")}})
	if err != nil || u.JobTitle != "" || u.FirstName != "Jane" {
		t.Errorf("partial update cleared job title only? %+v %v", u, err)
	}
	list, _, err := c.Requesters.List(ctx, &freshservice.RequesterListOptions{Email: "jane@acme.com"})
	if err != nil || len(list) != 1 || list[0].ID != r.ID {
		t.Errorf("list by email: %v %v", list, err)
	}
	if _, err := c.Requesters.Deactivate(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := c.Requesters.Get(ctx, r.ID); got == nil || got.Active {
		t.Errorf("after deactivate %+v", got)
	}
	if got, _, err := c.Requesters.Reactivate(ctx, r.ID); err != nil || !got.Active {
		t.Errorf("reactivate %+v %v", got, err)
	}

	// Requester groups.
	rg, _, err := c.RequesterGroups.Create(ctx, &freshservice.RequesterGroupFields{Name: freshservice.Ptr("Contractors")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RequesterGroups.AddMember(ctx, rg.ID, r.ID); err != nil {
		t.Fatal(err)
	}
	var members []int64
	for m, err := range c.RequesterGroups.AllMembers(ctx, rg.ID) {
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, m.ID)
	}
	if !slices.Equal(members, []int64{r.ID}) || !slices.Equal(sim.RequesterGroupMembers(rg.ID), []int64{r.ID}) {
		t.Errorf("members %v / %v", members, sim.RequesterGroupMembers(rg.ID))
	}
	if _, err := c.RequesterGroups.RemoveMember(ctx, rg.ID, r.ID); err != nil {
		t.Error(err)
	}
	if _, _, err := c.RequesterGroups.Update(ctx, rg.ID, &freshservice.RequesterGroupFields{Name: freshservice.Ptr("Vendors")}); err != nil {
		t.Error(err)
	}
	if g, _, _ := c.RequesterGroups.Get(ctx, rg.ID); g == nil || g.Name != "Vendors" {
		t.Errorf("group %+v", g)
	}
	var rgs []*freshservice.RequesterGroup
	for g, err := range c.RequesterGroups.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		rgs = append(rgs, g)
	}
	if len(rgs) != 1 {
		t.Errorf("requester groups %v", rgs)
	}

	// Promotion and agent groups.
	a, _, err := c.Requesters.ConvertToAgent(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != r.ID || !a.Occasional || len(a.Roles) != 1 || a.Roles[0].RoleID != sdAgent.ID || len(a.MemberOf) != 0 {
		t.Errorf("convert_to_agent gave %+v", a)
	}
	desk, _ := sim.AgentGroupByName("Service Desk")
	_, _, err = c.Agents.Update(ctx, r.ID, &freshservice.AgentFields{
		Occasional: freshservice.Ptr(false), MemberOf: &[]int64{desk.ID},
		Roles: &[]freshservice.RoleAssignment{{RoleID: sdAgent.ID, AssignmentScope: freshservice.ScopeMemberGroups}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := sim.AgentGroup(desk.ID); !slices.Contains(g.Members, r.ID) {
		t.Errorf("agent's member_of did not reach the group: %v", g.Members)
	}
	g, _, err := c.Groups.Get(ctx, desk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Groups.Update(ctx, desk.ID, &freshservice.GroupFields{Members: &[]int64{}}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := c.Agents.Get(ctx, r.ID); got == nil || len(got.MemberOf) != 0 {
		t.Errorf("group PUT members [] did not reach the agent: %+v (group had %v)", got, g.Members)
	}
	ng, _, err := c.Groups.Create(ctx, &freshservice.GroupFields{Name: freshservice.Ptr("Tier 2")})
	if err != nil {
		t.Fatal(err)
	}
	var groups []*freshservice.Group
	for g, err := range c.Groups.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g)
	}
	if len(groups) != len(sim.AgentGroups()) {
		t.Errorf("agent groups %d, simulator %d", len(groups), len(sim.AgentGroups()))
	}
	if _, err := c.Groups.Delete(ctx, ng.ID); err != nil {
		t.Error(err)
	}
	agents, _, err := c.Agents.List(ctx, &freshservice.AgentListOptions{Email: "jane@acme.com"})
	if err != nil || len(agents) != 1 || agents[0].View != freshservice.ViewAgent {
		t.Errorf("agents by email %v %v", agents, err)
	}
	if _, _, err := c.Agents.Deactivate(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Agents.Reactivate(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	back, _, err := c.Agents.ConvertToRequester(ctx, r.ID)
	if err != nil || back.ID != r.ID || back.IsAgent {
		t.Fatalf("convert_to_requester %+v %v", back, err)
	}
	na, _, err := c.Agents.Create(ctx, &freshservice.AgentFields{
		Email: freshservice.Ptr("new.agent@acme.com"), Occasional: freshservice.Ptr(false),
		Profile: freshservice.Profile{FirstName: freshservice.Ptr("New")},
		Roles:   &[]freshservice.RoleAssignment{{RoleID: sdAgent.ID, AssignmentScope: freshservice.ScopeEntireHelpdesk}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Agents.Forget(ctx, na.ID); err != nil {
		t.Error(err)
	}
	if _, ok := sim.User(na.ID); ok {
		t.Error("forgotten agent still in the simulator")
	}
	if _, err := c.Requesters.Forget(ctx, r.ID); err != nil {
		t.Error(err)
	}
	// Forget frees the email.
	if _, _, err := c.Requesters.Create(ctx, &freshservice.RequesterFields{Email: freshservice.Ptr("jane@acme.com"), Profile: freshservice.Profile{FirstName: freshservice.Ptr("Jane")}}); err != nil {
		t.Errorf("create after forget: %v", err)
	}
	if _, _, err := c.Requesters.Get(ctx, 1); !errors.Is(err, freshservice.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
}

// TestPacedClientGetsNo429 drives a time-scaled Starter account harder
// than its limit; the client's budget must keep every call within it.
func TestPacedClientGetsNo429(t *testing.T) {
	const scale = 60
	sim, _ := newSim(t, simulator.Options{Plan: "starter", TimeScale: scale})
	budget := freshservice.NewBudget(freshservice.BudgetConfig{Plan: freshservice.PlanStarter, Window: sim.Window()})
	_, c := newSimClient(t, sim, freshservice.WithBudget(budget))
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 60 {
				_, _, err := c.Requesters.Create(ctx, &freshservice.RequesterFields{
					Email: freshservice.Ptr(fmt.Sprintf("u%d-%d@acme.com", w, i)), Profile: freshservice.Profile{FirstName: freshservice.Ptr("U")},
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := sim.Stats()
	if st.RateLimited != 0 {
		t.Errorf("the simulator answered 429 %d times to a paced client", st.RateLimited)
	}
	if st.Total < 240 {
		t.Errorf("only %d calls reached the simulator", st.Total)
	}
}

func newSimClient(t *testing.T, sim *simulator.Server, copts ...freshservice.Option) (*httptest.Server, *freshservice.Client) {
	t.Helper()
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	c, err := freshservice.NewClient(ts.URL, simKey, copts...)
	if err != nil {
		t.Fatal(err)
	}
	return ts, c
}

// TestRetriesThroughFaults shows 429s and 5xx waited out and retried for
// idempotent reads, with every attempt reported.
func TestRetriesThroughFaults(t *testing.T) {
	sim, c := newSim(t, simulator.Options{TimeScale: 600, Faults: simulator.Faults{Rate5xx: 0.3, Rate429: 0.1, Seed: 7}},
		freshservice.WithRetrier(freshservice.Retrier{MaxAttempts: 10, MaxRateLimited: 20, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}))
	ctx := context.Background()
	for range 12 {
		if _, _, err := c.Roles.List(ctx, nil); err != nil {
			t.Fatalf("idempotent read failed through faults: %v", err)
		}
	}
	st := sim.Stats()
	if st.Injected.TooManyRequests == 0 || st.Injected.ServerError == 0 {
		t.Errorf("no faults injected: %+v", st.Injected)
	}
}

// TestAPIKeyNeverLogged gathers everything the client can print on failure
// and checks that the API key is in none of it.
func TestAPIKeyNeverLogged(t *testing.T) {
	sim, c := newSim(t, simulator.Options{Faults: simulator.Faults{RateDrop: 0.5, Rate5xx: 0.3, Seed: 3}},
		freshservice.WithRetrier(freshservice.Retrier{MaxAttempts: 2, MaxRateLimited: 2, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
	_ = sim
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	ctx := context.Background()
	for i := range 40 {
		_, _, err := c.Requesters.Create(ctx, &freshservice.RequesterFields{Email: freshservice.Ptr(fmt.Sprintf("x%d@acme.com", i))})
		if err != nil {
			log.Error().Err(err).Msg("create failed")
			fmt.Fprintf(&buf, "%v %+v %#v\n", err, err, err)
		}
		_, _, err = c.Requesters.Get(ctx, int64(i))
		if err != nil {
			log.Error().Err(err).Msg("get failed")
			fmt.Fprintf(&buf, "%v %+v %#v\n", err, err, err)
		}
	}
	// And a client with a wrong key gets 401s.
	_, bad := newSimClient(t, sim)
	_ = bad
	wrong, _ := freshservice.NewClient(c.BaseURL(), "wrong-key-"+simKey)
	if _, _, err := wrong.Roles.List(ctx, nil); !errors.Is(err, freshservice.ErrUnauthorized) {
		t.Errorf("wrong key: %v", err)
	} else {
		fmt.Fprintf(&buf, "%v %#v\n", err, err)
	}
	if buf.Len() == 0 {
		t.Fatal("no failures were produced; the test checks nothing")
	}
	if strings.Contains(buf.String(), simKey) {
		t.Errorf("the API key appears in error or log output:\n%s", buf.String())
	}
	_ = http.StatusOK
}

// TestEveryWriteSendsJSONContentType runs every POST and PUT of the client
// against an account that refuses writes without Content-Type:
// application/json, bodyless ones included (§1, §19).
func TestEveryWriteSendsJSONContentType(t *testing.T) {
	sim, c := newSim(t, simulator.Options{Switches: simulator.Switches{WriteContentTypeRequired: true}})
	ctx := context.Background()
	sdAgent, _ := sim.RoleByName("SD Agent")
	desk, _ := sim.AgentGroupByName("Service Desk")
	dept := sim.Departments()[0]
	loc := sim.Locations()[0]
	newRequester := func(t *testing.T, email string) int64 {
		t.Helper()
		if err := sim.Seed(simulator.SeedData{Requesters: []simulator.SeedUser{{FirstName: "R", PrimaryEmail: email}}}); err != nil {
			t.Fatal(err)
		}
		u, _ := sim.UserByEmail(email)
		return u.ID
	}
	agentRoles := &[]freshservice.RoleAssignment{{RoleID: sdAgent.ID, AssignmentScope: freshservice.ScopeEntireHelpdesk}}
	newAgent := func(t *testing.T, email string) int64 {
		t.Helper()
		a, _, err := c.Agents.Create(ctx, &freshservice.AgentFields{Email: &email, Roles: agentRoles, Profile: freshservice.Profile{FirstName: freshservice.Ptr("A")}})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	tests := []struct {
		method string // Service.Method, so the test can tell that every write is here
		write  func(t *testing.T) error
	}{
		{"Requesters.Create", func(t *testing.T) error {
			_, _, err := c.Requesters.Create(ctx, &freshservice.RequesterFields{Email: freshservice.Ptr("rc@acme.com"), Profile: freshservice.Profile{FirstName: freshservice.Ptr("R")}})
			return err
		}},
		{"Requesters.Update", func(t *testing.T) error {
			_, _, err := c.Requesters.Update(ctx, newRequester(t, "ru@acme.com"), &freshservice.RequesterFields{Profile: freshservice.Profile{JobTitle: freshservice.Ptr("x")}})
			return err
		}},
		{"Requesters.Reactivate", func(t *testing.T) error {
			id := newRequester(t, "rr@acme.com")
			if _, err := c.Requesters.Deactivate(ctx, id); err != nil {
				t.Fatal(err)
			}
			_, _, err := c.Requesters.Reactivate(ctx, id)
			return err
		}},
		{"Requesters.ConvertToAgent", func(t *testing.T) error {
			_, _, err := c.Requesters.ConvertToAgent(ctx, newRequester(t, "rca@acme.com"))
			return err
		}},
		{"Agents.Create", func(t *testing.T) error {
			_, _, err := c.Agents.Create(ctx, &freshservice.AgentFields{Email: freshservice.Ptr("ac@acme.com"), Roles: agentRoles, Profile: freshservice.Profile{FirstName: freshservice.Ptr("A")}})
			return err
		}},
		{"Agents.Update", func(t *testing.T) error {
			_, _, err := c.Agents.Update(ctx, newAgent(t, "au@acme.com"), &freshservice.AgentFields{MemberOf: &[]int64{desk.ID}})
			return err
		}},
		{"Agents.Reactivate", func(t *testing.T) error {
			id := newAgent(t, "ar@acme.com")
			if _, _, err := c.Agents.Deactivate(ctx, id); err != nil {
				t.Fatal(err)
			}
			_, _, err := c.Agents.Reactivate(ctx, id)
			return err
		}},
		{"Agents.ConvertToRequester", func(t *testing.T) error {
			_, _, err := c.Agents.ConvertToRequester(ctx, newAgent(t, "acr@acme.com"))
			return err
		}},
		{"Groups.Create", func(t *testing.T) error {
			_, _, err := c.Groups.Create(ctx, &freshservice.GroupFields{Name: freshservice.Ptr("Tier 3")})
			return err
		}},
		{"Groups.Update", func(t *testing.T) error {
			_, _, err := c.Groups.Update(ctx, desk.ID, &freshservice.GroupFields{Description: freshservice.Ptr("desk")})
			return err
		}},
		{"RequesterGroups.Create", func(t *testing.T) error {
			_, _, err := c.RequesterGroups.Create(ctx, &freshservice.RequesterGroupFields{Name: freshservice.Ptr("Vendors")})
			return err
		}},
		{"RequesterGroups.Update", func(t *testing.T) error {
			g, _, err := c.RequesterGroups.Create(ctx, &freshservice.RequesterGroupFields{Name: freshservice.Ptr("Temps")})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.RequesterGroups.Update(ctx, g.ID, &freshservice.RequesterGroupFields{Name: freshservice.Ptr("Temporary staff")})
			return err
		}},
		{"RequesterGroups.AddMember", func(t *testing.T) error {
			g, _, err := c.RequesterGroups.Create(ctx, &freshservice.RequesterGroupFields{Name: freshservice.Ptr("Contractors")})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.RequesterGroups.AddMember(ctx, g.ID, newRequester(t, "rgm@acme.com"))
			return err
		}},
		{"Departments.Create", func(t *testing.T) error {
			_, _, err := c.Departments.Create(ctx, &freshservice.DepartmentFields{Name: freshservice.Ptr("Finance")})
			return err
		}},
		{"Departments.Update", func(t *testing.T) error {
			_, _, err := c.Departments.Update(ctx, dept.ID, &freshservice.DepartmentFields{Description: freshservice.Ptr("d")})
			return err
		}},
		{"Locations.Create", func(t *testing.T) error {
			_, _, err := c.Locations.Create(ctx, &freshservice.LocationFields{Name: freshservice.Ptr("Branch")})
			return err
		}},
		{"Locations.Update", func(t *testing.T) error {
			_, _, err := c.Locations.Update(ctx, loc.ID, &freshservice.LocationFields{Name: freshservice.Ptr("HQ 2")})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			before := sim.Stats().ByStatus["415"]
			if err := tc.write(t); err != nil {
				t.Errorf("%s: %v", tc.method, err)
			}
			if n := sim.Stats().ByStatus["415"] - before; n != 0 {
				t.Errorf("%s: %d requests refused for their Content-Type", tc.method, n)
			}
		})
	}

	// Every method that sends POST or PUT is in the table: the services'
	// write methods are named by these verbs.
	covered := map[string]bool{}
	for _, tc := range tests {
		covered[tc.method] = true
	}
	writeVerb := regexp.MustCompile(`^(Create|Update|Reactivate|Convert|Add)`)
	services := reflect.ValueOf(c).Elem()
	for i := range services.NumField() {
		f := services.Type().Field(i)
		if !f.IsExported() || f.Type.Kind() != reflect.Pointer {
			continue
		}
		for j := range f.Type.NumMethod() {
			if m := f.Type.Method(j).Name; writeVerb.MatchString(m) && !covered[f.Name+"."+m] {
				t.Errorf("%s.%s is not in the table", f.Name, m)
			}
		}
	}
}
