package mapping

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fsbridge/fsbridge/freshservice"
)

func requester(mod ...func(*freshservice.User)) *freshservice.User {
	u := &freshservice.User{ID: 100, View: freshservice.ViewRequester, Email: "a@x.com", FirstName: "A", LastName: "B",
		Active: true, TimeZone: "London", Language: "en", TimeFormat: "12h"}
	for _, m := range mod {
		m(u)
	}
	return u
}

func agent(mod ...func(*freshservice.User)) *freshservice.User {
	u := requester()
	u.IsAgent = true
	u.Roles = []freshservice.RoleAssignment{{RoleID: 7, AssignmentScope: freshservice.ScopeEntireHelpdesk}}
	for _, m := range mod {
		m(u)
	}
	return u
}

func profile(mod ...func(*Profile)) Profile {
	p := Profile{Set: FieldEmail | FieldName | FieldActive, Email: "a@x.com", FirstName: "A", LastName: "B", Active: true}
	for _, m := range mod {
		m(&p)
	}
	return p
}

var sdAgent = []freshservice.RoleAssignment{{RoleID: 3, AssignmentScope: freshservice.ScopeMemberGroups}}

// steps renders a plan as "kind body" lines for comparison.
func steps(p Plan) []string {
	var out []string
	for _, s := range p {
		line := string(s.Kind)
		if s.GroupID != 0 {
			line += " group=" + itoa(s.GroupID)
		}
		var body []byte
		switch {
		case s.Requester != nil:
			body, _ = json.Marshal(s.Requester)
		case s.Agent != nil:
			body, _ = json.Marshal(s.Agent)
		}
		if len(body) > 0 {
			line += " " + string(body)
		}
		out = append(out, line)
	}
	return out
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestPlanUser(t *testing.T) {
	managed := map[int64]bool{3: true, 4: true}
	tests := []struct {
		name    string
		cur     *freshservice.User
		target  Target
		applied Applied
		want    []string
		calls   int
	}{
		{
			name:   "create requester: one call",
			target: Target{Profile: profile()},
			want:   []string{`create_requester {"can_see_all_tickets_from_associated_departments":false,"first_name":"A","last_name":"B","primary_email":"a@x.com"}`},
			calls:  1,
		},
		{
			name:   "create agent with roles and groups: one call",
			target: Target{Profile: profile(), Kind: KindAgent, Agent: AgentSpec{Roles: sdAgent}, MemberOf: []int64{50}},
			want:   []string{`create_agent {"can_see_all_tickets_from_associated_departments":false,"email":"a@x.com","first_name":"A","last_name":"B","member_of":[50],"occasional":false,"roles":[{"role_id":3,"assignment_scope":"member_groups"}]}`},
			calls:  1,
		},
		{
			name:   "create requester in two requester groups",
			target: Target{Profile: profile(), RequesterGroups: []int64{9, 8}},
			want: []string{`create_requester {"can_see_all_tickets_from_associated_departments":false,"first_name":"A","last_name":"B","primary_email":"a@x.com"}`,
				"add_to_requester_group group=8", "add_to_requester_group group=9"},
			calls: 3,
		},
		{
			name:   "nothing changed: no call",
			cur:    requester(),
			target: Target{Profile: profile()},
			calls:  0,
		},
		{
			name:   "email case only: no call",
			cur:    requester(func(u *freshservice.User) { u.Email = "A@X.COM" }),
			target: Target{Profile: profile()},
			calls:  0,
		},
		{
			name:   "deactivate: one call",
			cur:    requester(),
			target: Target{Profile: profile(func(p *Profile) { p.Active = false })},
			want:   []string{"deactivate_requester"},
			calls:  1,
		},
		{
			name:    "reactivate restores requester groups Freshservice dropped",
			cur:     requester(func(u *freshservice.User) { u.Active = false }),
			target:  Target{Profile: profile(), RequesterGroups: []int64{8}},
			applied: Applied{RequesterGroups: []int64{8}},
			want:    []string{"reactivate_requester", "add_to_requester_group group=8"},
			calls:   2,
		},
		{
			name:   "deactivated and staying so: no field update",
			cur:    requester(func(u *freshservice.User) { u.Active = false }),
			target: Target{Profile: profile(func(p *Profile) { p.Active = false; p.JobTitle = "x"; p.Set |= FieldJobTitle })},
			calls:  0,
		},
		{
			name:   "promote an existing requester: convert then one PUT",
			cur:    requester(),
			target: Target{Profile: profile(), Kind: KindAgent, Agent: AgentSpec{Roles: sdAgent}, MemberOf: []int64{50}, ManagedRoles: managed},
			want: []string{"convert_to_agent",
				`update_agent {"can_see_all_tickets_from_associated_departments":false,"member_of":[50],"observer_of":[],"occasional":false,"roles":[{"role_id":3,"assignment_scope":"member_groups"}]}`},
			calls: 2,
		},
		{
			name: "promotion interrupted after convert is finished by a whole PUT",
			cur: agent(func(u *freshservice.User) {
				u.Occasional = true
				u.Roles = []freshservice.RoleAssignment{{RoleID: 5, AssignmentScope: "entire_helpdesk"}}
			}),
			target:  Target{Profile: profile(), Kind: KindAgent, Agent: AgentSpec{Roles: sdAgent}, ManagedRoles: managed},
			applied: Applied{Promoted: true, PromotionPending: true},
			want:    []string{`update_agent {"can_see_all_tickets_from_associated_departments":false,"member_of":[],"observer_of":[],"occasional":false,"roles":[{"role_id":3,"assignment_scope":"member_groups"}]}`},
			calls:   1,
		},
		{
			name:    "demote a promoted agent",
			cur:     agent(),
			target:  Target{Profile: profile(), Kind: KindRequester, RequesterGroups: []int64{8}},
			applied: Applied{Promoted: true},
			want:    []string{"convert_to_requester", "add_to_requester_group group=8"},
			calls:   2,
		},
		{
			name:   "an agent made in Freshservice keeps its roles",
			cur:    agent(),
			target: Target{Profile: profile(), Kind: KindKeep, ManagedRoles: managed},
			calls:  0,
		},
		{
			name: "existing agent: only managed roles change, others stay",
			cur: agent(func(u *freshservice.User) {
				u.Roles = append(u.Roles, freshservice.RoleAssignment{RoleID: 4, AssignmentScope: "entire_helpdesk"})
			}),
			target: Target{Profile: profile(), Kind: KindAgent, Agent: AgentSpec{Roles: sdAgent}, ManagedRoles: managed},
			want:   []string{`update_agent {"can_see_all_tickets_from_associated_departments":false,"roles":[{"role_id":7,"assignment_scope":"entire_helpdesk"},{"role_id":3,"assignment_scope":"member_groups"}]}`},
			calls:  1,
		},
		{
			name:   "existing agent joins and leaves managed agent groups only",
			cur:    agent(func(u *freshservice.User) { u.MemberOf = []int64{50, 60, 99} }),
			target: Target{Profile: profile(), Kind: KindKeep, ManagedAgentGroups: map[int64]bool{50: true, 60: true, 70: true}, MemberOf: []int64{50, 70}},
			want:   []string{"join_agent_group group=70", "leave_agent_group group=60"},
			calls:  4,
		},
		{
			name:   "a membership pending approval counts as joined: not asked again",
			cur:    agent(func(u *freshservice.User) { u.MemberOf = []int64{50}; u.MemberOfPending = []int64{70} }),
			target: Target{Profile: profile(), Kind: KindKeep, ManagedAgentGroups: map[int64]bool{50: true, 70: true}, MemberOf: []int64{50, 70}},
			calls:  0,
		},
		{
			name:   "leaving a group whose approval is pending withdraws the request",
			cur:    agent(func(u *freshservice.User) { u.MemberOf = []int64{50}; u.ObserverOfPending = []int64{70} }),
			target: Target{Profile: profile(), Kind: KindKeep, ManagedAgentGroups: map[int64]bool{50: true, 70: true}, MemberOf: []int64{50}},
			want:   []string{"leave_agent_group group=70"},
			calls:  2,
		},
		{
			name: "unmanaged fields stay, managed ones are cleared, and can_see_all is kept",
			cur: requester(func(u *freshservice.User) {
				u.JobTitle = "Boss"
				u.WorkPhone = "1"
				u.CanSeeAllTicketsFromAssociatedDepartments = true
			}),
			target: Target{Profile: profile()},
			applied: Applied{
				Fields: FieldJobTitle, // the IdP once sent a title; it dropped it since
			},
			want:  []string{`update_requester {"can_see_all_tickets_from_associated_departments":true,"job_title":null}`},
			calls: 1,
		},
		{
			name:   "secondary emails replace whole",
			cur:    requester(func(u *freshservice.User) { u.SecondaryEmails = []string{"old@x.com"} }),
			target: Target{Profile: profile(func(p *Profile) { p.Set |= FieldSecondaryEmails; p.SecondaryEmails = []string{"new@x.com"} })},
			want:   []string{`update_requester {"can_see_all_tickets_from_associated_departments":false,"secondary_emails":["new@x.com"]}`},
			calls:  1,
		},
		{
			name:   "erase instead of deactivate",
			cur:    requester(),
			target: Target{Profile: profile(func(p *Profile) { p.Active = false }), Forget: true},
			want:   []string{"forget_requester"},
			calls:  1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := PlanUser(tc.cur, tc.target, tc.applied)
			if diff := cmp.Diff(tc.want, steps(plan)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if plan.Calls() != tc.calls {
				t.Errorf("%d calls, want %d", plan.Calls(), tc.calls)
			}
			if s := plan.String(); tc.calls > 0 && !strings.Contains(s, "/api/v2/") {
				t.Errorf("printed plan lacks the calls: %s", s)
			}
		})
	}
}

// TestPlanUserTakesRewrittenValuesAsSent: Freshservice may store phone
// numbers and names rewritten (§19). What it holds rewritten is what was
// sent, so no update is planned, on either view, and the IdP's value is
// shown over SCIM; a real change is still sent.
func TestPlanUserTakesRewrittenValuesAsSent(t *testing.T) {
	phones := FieldWorkPhone | FieldMobilePhone
	tests := []struct {
		name        string
		first, last string // desired
		work, mob   string
		hFirst      string // what Freshservice holds
		hWork, hMob string
		update      bool
	}{
		{"phones stripped of spaces, dashes and parentheses", "A", "B", "+1 (800) 555-0100", "800.555.9999", "A", "+18005550100", "8005559999", false},
		{"name trimmed and collapsed", " Mary  Ann", "B", "", "", "Mary Ann", "", "", false},
		{"a digit changed", "A", "B", "+1 (800) 555-0100", "", "A", "+18005550101", "", true},
		{"a phone cleared", "A", "B", "", "", "A", "+18005550100", "", true},
		{"a letter changed", "Mary Ann", "B", "", "", "Mary Anne", "", "", true},
		{"a space removed inside the name", "Mary Ann", "B", "", "", "MaryAnn", "", "", true},
		{"another case", "mary ann", "B", "", "", "Mary Ann", "", "", true},
	}
	for _, tt := range tests {
		for _, cur := range []*freshservice.User{requester(), agent()} {
			t.Run(tt.name+"/"+string(cur.View)+map[bool]string{true: " agent"}[cur.IsAgent], func(t *testing.T) {
				cur.FirstName, cur.LastName, cur.WorkPhone, cur.MobilePhone = tt.hFirst, "B", tt.hWork, tt.hMob
				want := profile(func(p *Profile) {
					p.Set |= phones
					p.FirstName, p.LastName, p.WorkPhone, p.MobilePhone = tt.first, tt.last, tt.work, tt.mob
				})
				kind := KindRequester
				if cur.IsAgent {
					kind = KindKeep
				}
				plan := PlanUser(cur, Target{Profile: want, Kind: kind}, Applied{})
				if got := len(plan) > 0; got != tt.update {
					t.Fatalf("plan = %q, want an update: %v", steps(plan), tt.update)
				}
				desired := Doc{
					"userName": "a@x.com", "emails": []any{map[string]any{"value": "a@x.com", "primary": true}},
					"name":         map[string]any{"givenName": tt.first, "familyName": tt.last},
					"phoneNumbers": []any{map[string]any{"type": "work", "value": tt.work}, map[string]any{"type": "mobile", "value": tt.mob}},
				}
				shown := ToSCIM(cur, desired, &Catalog{}, nil)
				if sameAsSent := cmp.Equal(shown["name"], desired["name"]) && cmp.Equal(shown["phoneNumbers"], desired["phoneNumbers"]); sameAsSent == tt.update {
					t.Errorf("SCIM shows name %v phones %v; want the IdP's values: %v", shown["name"], shown["phoneNumbers"], !tt.update)
				}
			})
		}
	}
}
