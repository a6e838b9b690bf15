package simulator_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

func TestRequesterCreateValidation(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
		errors []string
	}{
		{"email only", `{"first_name":"A","primary_email":"a@example.com"}`, 201, nil},
		{"work phone only", `{"first_name":"A","work_phone_number":"+1 555"}`, 201, nil},
		{"mobile only", `{"first_name":"A","mobile_phone_number":"+1 556"}`, 201, nil},
		{"no first name", `{"primary_email":"a@example.com"}`, 400, []string{"first_name:missing_field"}},
		{"blank first name", `{"first_name":" ","primary_email":"a@example.com"}`, 400, []string{"first_name:invalid_value"}},
		{"no contact", `{"first_name":"A","last_name":"B"}`, 400, []string{"primary_email:missing_field"}},
		{"bad email", `{"first_name":"A","primary_email":"not-an-email"}`, 400, []string{"primary_email:invalid_value"}},
		{"unknown key", `{"first_name":"A","primary_email":"a@example.com","nickname":"x"}`, 400, []string{"nickname:invalid_field"}},
		{"agent key email", `{"first_name":"A","email":"a@example.com"}`, 400, []string{"email:invalid_field"}},
		{"read-only active", `{"first_name":"A","primary_email":"a@example.com","active":false}`, 400, []string{"active:invalid_field"}},
		{"read-only vip_user", `{"first_name":"A","primary_email":"a@example.com","vip_user":true}`, 400, []string{"vip_user:invalid_field"}},
		{"string for id", `{"first_name":"A","primary_email":"a@example.com","location_id":"21000200001"}`, 400, []string{"location_id:datatype_mismatch"}},
		{"number for string", `{"first_name":1,"primary_email":"a@example.com"}`, 400, []string{"first_name:datatype_mismatch"}},
		{"array of strings for ids", `{"first_name":"A","primary_email":"a@example.com","department_ids":["x"]}`, 400, []string{"department_ids:datatype_mismatch"}},
		{"bool as string", `{"first_name":"A","primary_email":"a@example.com","can_see_all_tickets_from_associated_departments":"true"}`, 400, []string{"can_see_all_tickets_from_associated_departments:datatype_mismatch"}},
		{"unknown department", `{"first_name":"A","primary_email":"a@example.com","department_ids":[42]}`, 400, []string{"department_ids:invalid_value"}},
		{"bad time format", `{"first_name":"A","primary_email":"a@example.com","time_format":"13h"}`, 400, []string{"time_format:invalid_value"}},
		{"too long", `{"first_name":"` + strings.Repeat("x", 256) + `","primary_email":"a@example.com"}`, 400, []string{"first_name:invalid_value"}},
		{"several errors at once", `{"first_name":2,"primary_email":"x","zzz":1}`, 400, []string{"first_name:datatype_mismatch", "primary_email:invalid_value", "zzz:invalid_field"}},
		{"malformed json", `{"first_name":`, 400, []string{"<nil>:invalid_json"}},
		{"array body", `[{"first_name":"A"}]`, 400, []string{"<nil>:invalid_json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			r := e.do("POST", "/api/v2/requesters", tc.body).want(t, tc.status)
			if tc.status == 201 {
				return
			}
			got := r.errorCodes(t)
			slices.Sort(got)
			if diff := cmp.Diff(tc.errors, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s\n%s", diff, r.body)
			}
			if d := r.obj(t)["description"]; d != "Validation failed" {
				t.Errorf("description %v", d)
			}
		})
	}
}

// §13 item 1: requesters have primary_email and secondary_emails, agents
// email; the list filter is email= on both, the query field differs.
func TestTrapPrimaryEmailVersusEmail(t *testing.T) {
	e := newEnv(t, nil)
	aid := e.createAgent(map[string]any{"first_name": "Ann", "email": "ann@example.com"})
	a := e.do("GET", "/api/v2/agents/"+itoa(aid), nil).want(t, 200).item(t, "agent")
	for _, k := range []string{"primary_email", "secondary_emails", "is_agent"} {
		if _, ok := a[k]; ok {
			t.Errorf("agent view has %s", k)
		}
	}
	e.do("POST", "/api/v2/agents", map[string]any{"first_name": "B", "primary_email": "b@example.com",
		"roles": []any{map[string]any{"role_id": e.roleID("SD Agent"), "assignment_scope": "entire_helpdesk"}}}).want(t, 400)
	if got := e.do("GET", "/api/v2/agents?email=ann@example.com", nil).want(t, 200).items(t, "agents"); len(got) != 1 {
		t.Errorf("email= on agents: %v", got)
	}
	e.do("GET", `/api/v2/agents?query="email:'ann@example.com'"`, nil).want(t, 200)
	e.do("GET", `/api/v2/agents?query="primary_email:'ann@example.com'"`, nil).want(t, 400)
	e.do("GET", `/api/v2/requesters?query="email:'ann@example.com'"`, nil).want(t, 400)
	e.do("GET", `/api/v2/requesters?query="primary_email:'ann@example.com'"`, nil).want(t, 200)
}

func TestGetByID(t *testing.T) {
	e := newEnv(t, nil)
	rid := e.createRequester(map[string]any{"first_name": "R", "primary_email": "r@example.com"})
	aid := e.createAgent(map[string]any{"first_name": "A", "email": "a@example.com"})
	// §3.4: an agent's id on /requesters gives the requester view with is_agent.
	r := e.do("GET", "/api/v2/requesters/"+itoa(aid), nil).want(t, 200).item(t, "requester")
	if r["is_agent"] != true || r["primary_email"] != "a@example.com" {
		t.Errorf("agent as requester: %v", r)
	}
	// ... but a requester's id on /agents is 404.
	e.do("GET", "/api/v2/agents/"+itoa(rid), nil).want(t, 404)
	e.do("GET", "/api/v2/requesters/99", nil).want(t, 404)
	e.do("GET", "/api/v2/requesters/abc", nil).want(t, 404)
}

func TestPaginationAndLink(t *testing.T) {
	e := newEnv(t, nil)
	var created []int64
	for i := range 5 {
		created = append(created, e.createRequester(map[string]any{"first_name": fmt.Sprint("U", i), "primary_email": fmt.Sprintf("u%d@example.com", i)}))
	}
	var seen []int64
	path := "/api/v2/requesters?per_page=2&active=true"
	for page := 1; ; page++ {
		r := e.do("GET", path, nil).want(t, 200)
		for _, it := range r.items(t, "requesters") {
			seen = append(seen, id(t, it["id"]))
		}
		link := r.header.Get("Link")
		if page == 3 {
			if link != "" {
				t.Errorf("Link on the last page: %q", link)
			}
			break
		}
		want := fmt.Sprintf(`<%s/api/v2/requesters?active=true&page=%d&per_page=2>; rel="next"`, e.srv.URL, page+1)
		if link != want {
			t.Fatalf("page %d Link %q, want %q", page, link, want)
		}
		path = strings.TrimPrefix(strings.TrimSuffix(strings.SplitN(link, ">", 2)[0], ">"), "<"+e.srv.URL)
	}
	if !slices.Equal(seen, created) {
		t.Errorf("walk gave %v, want %v in id order", seen, created)
	}
	// A page past the end is empty, without Link.
	r := e.do("GET", "/api/v2/requesters?per_page=2&page=9", nil).want(t, 200)
	if len(r.items(t, "requesters")) != 0 || r.header.Get("Link") != "" {
		t.Errorf("page past the end: %s %v", r.body, r.header)
	}
	// The default page size is 30.
	for i := 5; i < 31; i++ {
		e.createRequester(map[string]any{"first_name": "V", "primary_email": fmt.Sprintf("v%d@example.com", i)})
	}
	r = e.do("GET", "/api/v2/requesters", nil).want(t, 200)
	if n := len(r.items(t, "requesters")); n != 30 || r.header.Get("Link") == "" {
		t.Errorf("default page: %d items, Link %q", n, r.header.Get("Link"))
	}
}

func TestPerPageLimits(t *testing.T) {
	tests := []struct {
		query  string
		status int
		field  string
	}{
		{"per_page=100", 200, ""},
		{"per_page=101", 400, "per_page"},
		{"per_page=0", 400, "per_page"},
		{"per_page=ten", 400, "per_page"},
		{"page=0", 400, "page"},
		{"page=-1", 400, "page"},
	}
	for _, path := range []string{"requesters", "agents", "groups", "roles", "requester_groups", "departments", "locations"} {
		for _, tc := range tests {
			t.Run(path+"?"+tc.query, func(t *testing.T) {
				e := newEnv(t, nil)
				r := e.do("GET", "/api/v2/"+path+"?"+tc.query, nil).want(t, tc.status)
				if tc.status == 400 {
					if got := r.errorCodes(t); !slices.Equal(got, []string{tc.field + ":invalid_value"}) {
						t.Errorf("errors %v", got)
					}
				}
			})
		}
	}
}

// §13 item 4: agents are hidden from /requesters unless include_agents=true.
func TestTrapAgentsHiddenFromRequesters(t *testing.T) {
	e := newEnv(t, nil)
	e.createRequester(map[string]any{"first_name": "R", "primary_email": "r@example.com"})
	e.createAgent(map[string]any{"first_name": "A", "email": "a@example.com"})
	emails := func(path string) []string {
		var out []string
		for _, it := range e.do("GET", path, nil).want(t, 200).items(t, "requesters") {
			out = append(out, fmt.Sprint(it["primary_email"], "/", it["is_agent"]))
		}
		return out
	}
	if got := emails("/api/v2/requesters"); !slices.Equal(got, []string{"r@example.com/false"}) {
		t.Errorf("default: %v", got)
	}
	if got := emails("/api/v2/requesters?include_agents=true"); !slices.Equal(got, []string{"owner@example.com/true", "r@example.com/false", "a@example.com/true"}) {
		t.Errorf("include_agents: %v", got)
	}
	if got := emails("/api/v2/requesters?email=a@example.com"); len(got) != 0 {
		t.Errorf("email= of an agent without include_agents: %v", got)
	}
	if got := emails("/api/v2/requesters?email=a@example.com&include_agents=true"); !slices.Equal(got, []string{"a@example.com/true"}) {
		t.Errorf("email= of an agent with include_agents: %v", got)
	}
	e.do("GET", "/api/v2/requesters?include_agents=yes", nil).want(t, 400)
}

// §13 item 3: deactivated users show up in unfiltered lists.
func TestTrapListsIncludeInactive(t *testing.T) {
	e := newEnv(t, nil)
	r1 := e.createRequester(map[string]any{"first_name": "On", "primary_email": "on@example.com"})
	r2 := e.createRequester(map[string]any{"first_name": "Off", "primary_email": "off@example.com"})
	a1 := e.createAgent(map[string]any{"first_name": "Gone", "email": "gone@example.com"})
	e.do("DELETE", "/api/v2/requesters/"+itoa(r2), nil).want(t, 204)
	e.do("DELETE", "/api/v2/agents/"+itoa(a1), nil).want(t, 200)
	list := func(path, env string) []int64 {
		var out []int64
		for _, it := range e.do("GET", path, nil).want(t, 200).items(t, env) {
			out = append(out, id(t, it["id"]))
		}
		return out
	}
	owner := e.user(e.sim.Users()[0].ID).ID
	tests := []struct {
		path, env string
		want      []int64
	}{
		{"/api/v2/requesters", "requesters", []int64{r1, r2}},
		{"/api/v2/requesters?active=true", "requesters", []int64{r1}},
		{"/api/v2/requesters?active=false", "requesters", []int64{r2}},
		{"/api/v2/agents", "agents", []int64{owner, a1}},
		{"/api/v2/agents?active=true", "agents", []int64{owner}},
		{"/api/v2/agents?active=false", "agents", []int64{a1}},
	}
	for _, tc := range tests {
		if got := list(tc.path, tc.env); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestListExactFilters(t *testing.T) {
	e := newEnv(t, nil)
	e.createRequester(map[string]any{"first_name": "A", "primary_email": "Alex@Example.com", "secondary_emails": []string{"alex.alt@example.com"}, "mobile_phone_number": "111", "work_phone_number": "222"})
	e.createRequester(map[string]any{"first_name": "B", "primary_email": "b@example.com", "mobile_phone_number": "333"})
	tests := []struct {
		query string
		want  []string
	}{
		{"email=alex@example.com", []string{"A"}},
		{"email=ALEX.ALT@example.com", []string{"A"}},
		{"email=nobody@example.com", nil},
		{"mobile_phone_number=333", []string{"B"}},
		{"work_phone_number=222", []string{"A"}},
		{"work_phone_number=222&mobile_phone_number=333", nil},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			var got []string
			for _, it := range e.do("GET", "/api/v2/requesters?"+tc.query, nil).want(t, 200).items(t, "requesters") {
				got = append(got, it["first_name"].(string))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// §13 item 2: email is unique account-wide, across agents and requesters,
// primary and secondary emails, any case, deactivated users included.
func TestTrapEmailUniqueAccountWide(t *testing.T) {
	setup := func(t *testing.T) (*env, int64) {
		e := newEnv(t, nil)
		e.createRequester(map[string]any{"first_name": "Taken", "primary_email": "taken@example.com", "secondary_emails": []string{"alias@example.com"}})
		gone := e.createRequester(map[string]any{"first_name": "Gone", "primary_email": "gone@example.com"})
		e.do("DELETE", "/api/v2/requesters/"+itoa(gone), nil).want(t, 204)
		free := e.createRequester(map[string]any{"first_name": "Free", "primary_email": "free@example.com", "secondary_emails": []string{"free2@example.com"}})
		return e, free
	}
	tests := []struct {
		name, method, path string
		body               map[string]any
		field              string
	}{
		{"same primary other case", "POST", "requesters", map[string]any{"first_name": "X", "primary_email": "TAKEN@example.com"}, "primary_email"},
		{"primary is another's secondary", "POST", "requesters", map[string]any{"first_name": "X", "primary_email": "alias@example.com"}, "primary_email"},
		{"secondary is another's primary", "POST", "requesters", map[string]any{"first_name": "X", "primary_email": "x@example.com", "secondary_emails": []string{"taken@example.com"}}, "secondary_emails"},
		{"deactivated user's email", "POST", "requesters", map[string]any{"first_name": "X", "primary_email": "gone@example.com"}, "primary_email"},
		{"agent with a requester's email", "POST", "agents", map[string]any{"first_name": "X", "email": "Gone@Example.com"}, "email"},
		{"agent with the owner's email", "POST", "agents", map[string]any{"first_name": "X", "email": "owner@example.com"}, "email"},
		{"requester with an agent's email", "POST", "requesters", map[string]any{"first_name": "X", "primary_email": "owner@example.com"}, "primary_email"},
		{"update to a taken email", "PUT", "requesters/{free}", map[string]any{"primary_email": "taken@example.com"}, "primary_email"},
		{"update secondary to a taken email", "PUT", "requesters/{free}", map[string]any{"secondary_emails": []string{"ALIAS@example.com"}}, "secondary_emails"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, free := setup(t)
			if tc.method == "POST" && tc.path == "agents" {
				tc.body["roles"] = []any{map[string]any{"role_id": e.roleID("SD Agent"), "assignment_scope": "entire_helpdesk"}}
			}
			before := len(e.sim.Users())
			r := e.do(tc.method, "/api/v2/"+strings.Replace(tc.path, "{free}", itoa(free), 1), tc.body).want(t, 409)
			want := `{"description":"Validation failed","errors":[{"field":"` + tc.field + `","message":"It should be a unique value","code":"duplicate_value"}]}`
			if string(r.body) != want {
				t.Errorf("body %s, want %s", r.body, want)
			}
			if after := len(e.sim.Users()); after != before {
				t.Errorf("users %d -> %d", before, after)
			}
			if u := e.user(free); u.PrimaryEmail != "free@example.com" {
				t.Errorf("update applied anyway: %+v", u)
			}
		})
	}
	t.Run("own secondary becomes primary", func(t *testing.T) {
		e, free := setup(t)
		r := e.do("PUT", "/api/v2/requesters/"+itoa(free), map[string]any{"primary_email": "free2@example.com"}).want(t, 200).item(t, "requester")
		if r["primary_email"] != "free2@example.com" || len(r["secondary_emails"].([]any)) != 0 {
			t.Errorf("got %v", r)
		}
	})
}

// §13 item 11: forget is a hard delete; it frees the email.
func TestTrapForgetIsIrreversible(t *testing.T) {
	e := newEnv(t, nil)
	rid := e.createRequester(map[string]any{"first_name": "F", "primary_email": "f@example.com", "secondary_emails": []string{"f2@example.com"}})
	rg := id(t, e.do("POST", "/api/v2/requester_groups", map[string]any{"name": "G"}).want(t, 200).item(t, "requester_group")["id"])
	e.do("POST", fmt.Sprintf("/api/v2/requester_groups/%d/members/%d", rg, rid), nil).want(t, 200)
	r := e.do("DELETE", "/api/v2/requesters/"+itoa(rid)+"/forget", nil).want(t, 204)
	if len(r.body) != 0 {
		t.Errorf("forget body %q", r.body)
	}
	e.do("GET", "/api/v2/requesters/"+itoa(rid), nil).want(t, 404)
	e.do("PUT", "/api/v2/requesters/"+itoa(rid)+"/reactivate", nil).want(t, 404)
	if _, ok := e.sim.UserByEmail("f2@example.com"); ok {
		t.Error("forgotten user still found by email")
	}
	if m := e.sim.RequesterGroupMembers(rg); len(m) != 0 {
		t.Errorf("forgotten user still in requester group: %v", m)
	}
	e.createRequester(map[string]any{"first_name": "F", "primary_email": "F@example.com", "secondary_emails": []string{"f2@example.com"}})
}

// §13 item 6: PUT is partial, arrays replace whole.
func TestTrapPartialUpdateArraysReplace(t *testing.T) {
	e := newEnv(t, nil)
	eng, sales, it := e.departmentID("Engineering"), e.departmentID("Sales"), e.departmentID("IT")
	rid := e.createRequester(map[string]any{
		"first_name": "P", "last_name": "Q", "primary_email": "p@example.com", "job_title": "Dev",
		"secondary_emails": []string{"p1@example.com", "p2@example.com"}, "department_ids": []int64{eng, sales},
		"custom_fields": map[string]any{"employee_id": "E1"},
	})
	r := e.do("PUT", "/api/v2/requesters/"+itoa(rid), map[string]any{
		"job_title": "Lead", "secondary_emails": []string{"p3@example.com"}, "department_ids": []int64{it},
	}).want(t, 200).item(t, "requester")
	got := map[string]any{"first_name": r["first_name"], "last_name": r["last_name"], "job_title": r["job_title"],
		"secondary_emails": r["secondary_emails"], "department_ids": fmt.Sprint(ids(t, r["department_ids"])),
		"department_names": r["department_names"], "custom_fields": r["custom_fields"]}
	want := map[string]any{"first_name": "P", "last_name": "Q", "job_title": "Lead",
		"secondary_emails": []any{"p3@example.com"}, "department_ids": fmt.Sprint([]int64{it}),
		"department_names": []any{"IT"}, "custom_fields": map[string]any{"employee_id": "E1", "desk_number": nil, "hire_date": nil, "remote_worker": nil, "employment_type": nil}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after PUT (-want +got):\n%s", diff)
	}
	// The replaced secondary email is free again.
	e.createRequester(map[string]any{"first_name": "N", "primary_email": "p1@example.com"})
	// null clears a field and an empty array empties a list.
	r = e.do("PUT", "/api/v2/requesters/"+itoa(rid), map[string]any{"job_title": nil, "department_ids": []int64{}}).want(t, 200).item(t, "requester")
	if r["job_title"] != nil || len(r["department_ids"].([]any)) != 0 || r["department_names"] != nil {
		t.Errorf("after clearing: %v", r)
	}
	// A PUT may not leave a requester without any contact.
	e.do("PUT", "/api/v2/requesters/"+itoa(rid), map[string]any{"primary_email": nil}).want(t, 400)
	e.do("PUT", "/api/v2/requesters/99", map[string]any{"job_title": "x"}).want(t, 404)
}

// §13 item 7: can_see_all_tickets_from_associated_departments resets to false
// on every PUT that does not send it as true.
func TestTrapCanSeeAllTicketsResets(t *testing.T) {
	for _, view := range []string{"requesters", "agents"} {
		t.Run(view, func(t *testing.T) {
			e := newEnv(t, nil)
			body := map[string]any{"first_name": "C", "can_see_all_tickets_from_associated_departments": true}
			var uid int64
			env := strings.TrimSuffix(view, "s")
			if view == "agents" {
				body["email"] = "c@example.com"
				uid = e.createAgent(body)
			} else {
				body["primary_email"] = "c@example.com"
				uid = e.createRequester(body)
			}
			path := "/api/v2/" + view + "/" + itoa(uid)
			steps := []struct {
				body map[string]any
				want bool
			}{
				{map[string]any{"job_title": "x", "can_see_all_tickets_from_associated_departments": true}, true},
				{map[string]any{"job_title": "y"}, false},
				{map[string]any{"can_see_all_tickets_from_associated_departments": true}, true},
				{map[string]any{"can_see_all_tickets_from_associated_departments": false}, false},
				{map[string]any{}, false},
			}
			for i, s := range steps {
				r := e.do("PUT", path, s.body).want(t, 200).item(t, env)
				if r["can_see_all_tickets_from_associated_departments"] != s.want {
					t.Errorf("step %d %v: got %v", i, s.body, r["can_see_all_tickets_from_associated_departments"])
				}
			}
		})
	}
}

func TestUpdateWithoutChangeKeepsUpdatedAt(t *testing.T) {
	e := newEnv(t, nil)
	rid := e.createRequester(map[string]any{"first_name": "U", "primary_email": "u@example.com", "job_title": "A"})
	e.clock.Advance(3600e9)
	r := e.do("PUT", "/api/v2/requesters/"+itoa(rid), map[string]any{"job_title": "A"}).want(t, 200).item(t, "requester")
	if r["updated_at"] != r["created_at"] {
		t.Errorf("no-op PUT moved updated_at: %v -> %v", r["created_at"], r["updated_at"])
	}
	r = e.do("PUT", "/api/v2/requesters/"+itoa(rid), map[string]any{"job_title": "B"}).want(t, 200).item(t, "requester")
	if r["updated_at"] != "2026-03-02T10:30:15Z" {
		t.Errorf("updated_at %v", r["updated_at"])
	}
}

// §13 item 8: deactivating a requester strips its requester-group
// memberships; reactivating does not restore them.
func TestTrapDeactivateRemovesRequesterGroups(t *testing.T) {
	e := newEnv(t, nil)
	rid := e.createRequester(map[string]any{"first_name": "D", "primary_email": "d@example.com"})
	rg := id(t, e.do("POST", "/api/v2/requester_groups", map[string]any{"name": "Staff"}).want(t, 200).item(t, "requester_group")["id"])
	e.do("POST", fmt.Sprintf("/api/v2/requester_groups/%d/members/%d", rg, rid), nil).want(t, 200)

	r := e.do("DELETE", "/api/v2/requesters/"+itoa(rid), nil).want(t, 204)
	if len(r.body) != 0 {
		t.Errorf("deactivate body %q", r.body)
	}
	got := e.do("GET", "/api/v2/requesters/"+itoa(rid), nil).want(t, 200).item(t, "requester")
	if got["active"] != false {
		t.Errorf("after deactivate: %v", got)
	}
	if m := e.sim.RequesterGroupMembers(rg); len(m) != 0 {
		t.Errorf("still a member: %v", m)
	}
	if m := e.do("GET", fmt.Sprintf("/api/v2/requester_groups/%d/members", rg), nil).want(t, 200).items(t, "requesters"); len(m) != 0 {
		t.Errorf("member list: %v", m)
	}
	got = e.do("PUT", "/api/v2/requesters/"+itoa(rid)+"/reactivate", nil).want(t, 200).item(t, "requester")
	if got["active"] != true {
		t.Errorf("after reactivate: %v", got)
	}
	if m := e.sim.RequesterGroupMembers(rg); len(m) != 0 {
		t.Errorf("membership restored: %v", m)
	}
	// Repeating either call is an error on a real tenant (§19).
	e.do("PUT", "/api/v2/requesters/"+itoa(rid)+"/reactivate", nil).want(t, 400)
	e.do("DELETE", "/api/v2/requesters/"+itoa(rid), nil).want(t, 204)
	e.do("DELETE", "/api/v2/requesters/"+itoa(rid), nil).want(t, 404)
}

// §13 item 13: time_zone and language are closed vocabularies.
func TestTrapTimeZoneAndLanguageVocabulary(t *testing.T) {
	tests := []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"rails time zone", map[string]any{"time_zone": "Chennai"}, 200},
		{"eastern", map[string]any{"time_zone": "Eastern Time (US & Canada)"}, 200},
		{"iana name", map[string]any{"time_zone": "America/New_York"}, 400},
		{"wrong case", map[string]any{"time_zone": "london"}, 400},
		{"null time zone", map[string]any{"time_zone": nil}, 400},
		{"language en", map[string]any{"language": "en"}, 200},
		{"language ja-JP", map[string]any{"language": "ja-JP"}, 200},
		{"language ja", map[string]any{"language": "ja"}, 400},
		{"language en-US", map[string]any{"language": "en-US"}, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			rid := e.createRequester(map[string]any{"first_name": "V", "primary_email": "v@example.com"})
			r := e.do("PUT", "/api/v2/requesters/"+itoa(rid), tc.body).want(t, tc.status)
			if tc.status == 400 {
				for k := range tc.body {
					if got := r.errorCodes(t); !slices.Equal(got, []string{k + ":invalid_value"}) {
						t.Errorf("errors %v", got)
					}
				}
			}
		})
	}
}

// §13 item 14: reporting_manager_id must be an existing user.
func TestTrapReportingManagerMustExist(t *testing.T) {
	e := newEnv(t, nil)
	boss := e.createRequester(map[string]any{"first_name": "Boss", "primary_email": "boss@example.com"})
	r := e.do("POST", "/api/v2/requesters", map[string]any{"first_name": "E", "primary_email": "e@example.com", "reporting_manager_id": 42}).want(t, 400)
	if got := r.errorCodes(t); !slices.Equal(got, []string{"reporting_manager_id:invalid_value"}) {
		t.Errorf("errors %v", got)
	}
	emp := e.createRequester(map[string]any{"first_name": "E", "primary_email": "e@example.com", "reporting_manager_id": boss})
	if got := e.user(emp).ReportingManagerID; got != boss {
		t.Errorf("manager %d", got)
	}
	// Nobody reports to themselves.
	e.do("PUT", "/api/v2/requesters/"+itoa(emp), map[string]any{"reporting_manager_id": emp}).want(t, 400)
	// Forgetting the manager clears the reference.
	e.do("DELETE", "/api/v2/requesters/"+itoa(boss)+"/forget", nil).want(t, 204)
	if got := e.do("GET", "/api/v2/requesters/"+itoa(emp), nil).want(t, 200).item(t, "requester")["reporting_manager_id"]; got != nil {
		t.Errorf("manager after forget: %v", got)
	}
}

// §13 item 15: custom fields use internal names, have types, and mandatory
// ones make creates fail with missing_field.
func TestTrapCustomFields(t *testing.T) {
	e := newEnv(t, nil)
	err := e.sim.Seed(simulator.SeedData{RequesterFields: []simulator.CustomField{
		{Name: "cost_center", Type: "custom_number", Required: true},
		{Name: "badge", Type: "custom_dropdown", Choices: []string{"red", "blue"}},
		{Name: "start_date", Type: "custom_date"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		custom map[string]any
		status int
		errors []string
	}{
		{"all good", map[string]any{"cost_center": 12, "badge": "red", "start_date": "2026-01-05"}, 201, nil},
		{"mandatory missing", map[string]any{"badge": "red"}, 400, []string{"cost_center:missing_field"}},
		{"label instead of name", map[string]any{"cost_center": 1, "Cost Center": 1}, 400, []string{"Cost Center:invalid_field"}},
		{"wrong type", map[string]any{"cost_center": "12"}, 400, []string{"cost_center:datatype_mismatch"}},
		{"not a choice", map[string]any{"cost_center": 1, "badge": "green"}, 400, []string{"badge:invalid_value"}},
		{"bad date", map[string]any{"cost_center": 1, "start_date": "05/01/2026"}, 400, []string{"start_date:invalid_value"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/api/v2/requesters", map[string]any{"first_name": "C", "primary_email": fmt.Sprintf("c%d@example.com", i), "custom_fields": tc.custom}).want(t, tc.status)
			if tc.status != 201 {
				if got := r.errorCodes(t); !slices.Equal(got, tc.errors) {
					t.Errorf("errors %v, want %v", got, tc.errors)
				}
				return
			}
			want := map[string]any{"employee_id": nil, "desk_number": nil, "hire_date": nil, "remote_worker": nil, "employment_type": nil,
				"cost_center": jsonNumber("12"), "badge": "red", "start_date": "2026-01-05"}
			if diff := cmp.Diff(want, r.item(t, "requester")["custom_fields"]); diff != "" {
				t.Errorf("custom_fields (-want +got):\n%s", diff)
			}
		})
	}
}
