package simulator_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

func TestEditUser(t *testing.T) {
	e := newEnv(t, nil)
	desk := e.groupID("Service Desk")
	aid := e.createAgent(map[string]any{"first_name": "A", "email": "a@example.com"})
	rid := e.createRequester(map[string]any{"first_name": "R", "primary_email": "r@example.com"})
	e.clock.Advance(time.Hour)

	if err := e.sim.EditUser(aid, func(u *simulator.User) {
		u.JobTitle = "Lead"
		u.MemberOf = append(u.MemberOf, desk)
	}); err != nil {
		t.Fatal(err)
	}
	a := e.do("GET", "/api/v2/agents/"+itoa(aid), nil).want(t, 200).item(t, "agent")
	if a["job_title"] != "Lead" || a["updated_at"] != "2026-03-02T10:30:15Z" || !slices.Equal(ids(t, a["member_of"]), []int64{desk}) {
		t.Errorf("agent after edit %v", a)
	}
	if g, _ := e.sim.AgentGroup(desk); !slices.Equal(g.Members, []int64{aid}) {
		t.Errorf("group members %v", g.Members)
	}
	// Deactivating in the UI drops requester groups, as the API does.
	gid := id(t, e.do("POST", "/api/v2/requester_groups", map[string]any{"name": "G"}).want(t, 200).item(t, "requester_group")["id"])
	e.do("POST", "/api/v2/requester_groups/"+itoa(gid)+"/members/"+itoa(rid), nil).want(t, 200)
	if err := e.sim.EditUser(rid, func(u *simulator.User) { u.Active = false }); err != nil {
		t.Fatal(err)
	}
	if m := e.sim.RequesterGroupMembers(gid); len(m) != 0 {
		t.Errorf("members %v", m)
	}

	bad := []struct {
		name string
		id   int64
		edit func(u *simulator.User)
		want error
	}{
		{"no such user", 99, func(*simulator.User) {}, simulator.ErrNotFound},
		{"duplicate email", rid, func(u *simulator.User) { u.SecondaryEmails = []string{"A@example.com"} }, simulator.ErrInvalidEdit},
		{"id change", rid, func(u *simulator.User) { u.ID++ }, simulator.ErrInvalidEdit},
		{"unknown group", aid, func(u *simulator.User) { u.MemberOf = []int64{1} }, simulator.ErrInvalidEdit},
		{"bad time zone", rid, func(u *simulator.User) { u.TimeZone = "UTC+1" }, simulator.ErrInvalidEdit},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			before := e.sim.Users()
			if err := e.sim.EditUser(tc.id, tc.edit); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if after := e.sim.Users(); len(after) != len(before) || after[len(after)-1].UpdatedAt != before[len(before)-1].UpdatedAt {
				t.Error("a refused edit changed the state")
			}
		})
	}
	t.Run("seat limit", func(t *testing.T) {
		e.sim.SetSeats(2)
		occ := e.createAgent(map[string]any{"first_name": "O", "email": "o@example.com", "occasional": true})
		if err := e.sim.EditUser(occ, func(u *simulator.User) { u.Occasional = false }); !errors.Is(err, simulator.ErrInvalidEdit) {
			t.Errorf("error %v", err)
		}
	})
}

func TestEditAgentGroup(t *testing.T) {
	e := newEnv(t, nil)
	net := e.groupID("Network Team")
	aid := e.createAgent(map[string]any{"first_name": "A", "email": "a@example.com"})
	rid := e.createRequester(map[string]any{"first_name": "R", "primary_email": "r@example.com"})
	if err := e.sim.EditAgentGroup(net, func(g *simulator.Group) { g.Members = []int64{aid, aid}; g.Observers = []int64{aid} }); err != nil {
		t.Fatal(err)
	}
	u := e.user(aid)
	if !slices.Equal(u.MemberOf, []int64{net}) || !slices.Equal(u.ObserverOf, []int64{net}) {
		t.Errorf("agent %+v", u)
	}
	if g, _ := e.sim.AgentGroup(net); !slices.Equal(g.Members, []int64{aid}) {
		t.Errorf("members %v", g.Members)
	}
	if err := e.sim.EditAgentGroup(net, func(g *simulator.Group) { g.Members = []int64{rid} }); !errors.Is(err, simulator.ErrInvalidEdit) {
		t.Errorf("requester as member: %v", err)
	}
	if err := e.sim.EditAgentGroup(net, func(g *simulator.Group) { g.Name = "service desk" }); !errors.Is(err, simulator.ErrInvalidEdit) {
		t.Errorf("duplicate name: %v", err)
	}
	if err := e.sim.EditAgentGroup(1, func(*simulator.Group) {}); !errors.Is(err, simulator.ErrNotFound) {
		t.Errorf("missing group: %v", err)
	}
}

func TestAccessorsReturnCopies(t *testing.T) {
	e := newEnv(t, nil)
	rid := e.createRequester(map[string]any{"first_name": "C", "primary_email": "c@example.com", "secondary_emails": []string{"c2@example.com"}})
	u, ok := e.sim.UserByEmail("C2@EXAMPLE.COM")
	if !ok || u.ID != rid {
		t.Fatalf("UserByEmail: %+v %v", u, ok)
	}
	u.SecondaryEmails[0] = "changed@example.com"
	if got := e.user(rid).SecondaryEmails[0]; got != "c2@example.com" {
		t.Errorf("state changed through a copy: %s", got)
	}
	e.do("DELETE", "/api/v2/requesters/"+itoa(rid), nil).want(t, 204)
	if u, ok := e.sim.UserByEmail("c@example.com"); !ok || u.Active {
		t.Errorf("deactivated user: %+v %v", u, ok)
	}
	roles := e.sim.Roles()
	roles[0].Scopes[0] = "x"
	if e.sim.Roles()[0].Scopes[0] == "x" {
		t.Error("roles share memory with the state")
	}
	if len(e.sim.RequesterGroups()) != 0 || len(e.sim.Locations()) != 1 || len(e.sim.AgentGroups()) != 2 {
		t.Error("default objects")
	}
	if _, ok := e.sim.RequesterGroup(1); ok {
		t.Error("RequesterGroup(1)")
	}
}

func TestEditUserCanBackdate(t *testing.T) {
	e := newEnv(t, nil)
	rid := e.createRequester(map[string]any{"first_name": "Old", "primary_email": "old@example.com"})
	past := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := e.sim.EditUser(rid, func(u *simulator.User) { u.CreatedAt, u.UpdatedAt = past, past }); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/api/v2/requesters/"+itoa(rid), nil).want(t, 200).item(t, "requester")
	if r["created_at"] != "2020-01-02T03:04:05Z" || r["updated_at"] != "2020-01-02T03:04:05Z" {
		t.Errorf("timestamps %v %v", r["created_at"], r["updated_at"])
	}
	if got := e.queryNames("requesters", `created_at:<'2020-01-02'`); !slices.Equal(got, []string{"Old"}) {
		t.Errorf("query on a backdated user: %v", got)
	}
}
