package mapping

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fsbridge/fsbridge/freshservice"
)

// The rules of docs/rules.md's example, resolved: roles 10 SD Agent, 11 IT Ops Agent, 12 Account
// Admin, 13 Auditor; agent groups 100 Service Desk, 101 Network Team, 102 Core Network, 103 Tier 2,
// 104 Admins Desk.
func exampleRules() *Rules {
	sd := &RoleRule{Name: "Service Desk", Match: Match{DisplayName: "FS Agents - Service Desk"},
		Roles:    []freshservice.RoleAssignment{{RoleID: 10, AssignmentScope: freshservice.ScopeMemberGroups}},
		MemberOf: []int64{100}, OnLeave: OnLeaveDemote}
	network := &RoleRule{Name: "Network", Match: Match{DisplayName: "FS Agents - Network", Role: "network"}, Occasional: true,
		Roles:    []freshservice.RoleAssignment{{RoleID: 11, AssignmentScope: freshservice.ScopeSpecifiedGroups, Groups: []int64{101}}},
		MemberOf: []int64{101}, ObserverOf: []int64{100}, OnLeave: OnLeaveKeep}
	admins := &RoleRule{Name: "Admins", Match: Match{DisplayName: "FS Admins", ExternalID: "5e7c", Role: "Admin"},
		Roles:   []freshservice.RoleAssignment{{RoleID: 12, AssignmentScope: freshservice.ScopeEntireHelpdesk}},
		OnLeave: OnLeaveDeactivate}
	opsWide := &RoleRule{Name: "Ops Wide", Match: Match{DisplayName: "FS Ops Wide"}, Occasional: true,
		Roles: []freshservice.RoleAssignment{{RoleID: 11, AssignmentScope: freshservice.ScopeEntireHelpdesk}}}
	core := &RoleRule{Name: "Core Network", Match: Match{DisplayName: "FS Core Network"}, Occasional: true,
		Roles: []freshservice.RoleAssignment{{RoleID: 11, AssignmentScope: freshservice.ScopeSpecifiedGroups, Groups: []int64{102, 101}}}}
	auditMember := &RoleRule{Name: "Audit Members", Match: Match{DisplayName: "FS Audit Members"}, Occasional: true,
		Roles: []freshservice.RoleAssignment{{RoleID: 13, AssignmentScope: freshservice.ScopeMemberGroups}}}
	auditItems := &RoleRule{Name: "Audit Items", Match: Match{DisplayName: "FS Audit Items"}, Occasional: true,
		Roles: []freshservice.RoleAssignment{{RoleID: 13, AssignmentScope: freshservice.ScopeAssignedItems}}}
	return &Rules{
		RoleRules: []*RoleRule{sd, network, admins, opsWide, core, auditMember, auditItems},
		AgentMaps: []*AgentMap{
			{Match: Match{DisplayName: "Network Team"}, GroupID: 101, Name: "Network Team"},
			{Match: Match{DisplayName: "Tier 2 (IdP)"}, GroupID: 103, Name: "Tier 2"},
			// Also matched by the Admins role rule, which wins.
			{Match: Match{DisplayName: "FS Admins"}, GroupID: 104, Name: "Admins Desk"},
		},
		DefaultRule:        sd,
		ManagedRoles:       map[int64]bool{10: true, 11: true, 12: true, 13: true},
		ManagedAgentGroups: map[int64]bool{100: true, 101: true, 102: true, 103: true, 104: true},
	}
}

func group(name string) GroupRef { return GroupRef{DisplayName: name} }

func roles(rs ...freshservice.RoleAssignment) []freshservice.RoleAssignment { return rs }

func role(id int64, scope string, groups ...int64) freshservice.RoleAssignment {
	return freshservice.RoleAssignment{RoleID: id, AssignmentScope: scope, Groups: groups}
}

func ext(attrs map[string]any) Doc { return Doc{URNFreshservice: attrs} }

// TestDecideAccess has one row per sentence of docs/rules.md ("Three kinds of SCIM group" and "What
// happens") that the rules decide. The sentences about calls (one POST, convert then PUT, seats
// under concurrency, interrupted promotions) are the plan's and the executor's, tested in
// plan_test.go and the end-to-end tests; "roles the rules do not name are never touched" is
// TestPlanUser's "existing agent: only managed roles change, others stay".
func TestDecideAccess(t *testing.T) {
	promoted := func(rules ...string) Applied { return Applied{Promoted: true, Rules: rules} }
	cases := []struct {
		sentence  string
		groups    []GroupRef
		doc       Doc
		applied   Applied
		deleted   bool
		noDefault bool
		want      Access
		wantErr   bool
	}{
		{
			sentence: "role group: a role_groups rule matches its displayName; members become agents with the rule's roles, scope, type and agent groups",
			groups:   []GroupRef{group("FS Agents - Service Desk")},
			want: Access{Kind: KindAgent, Rules: []string{"Service Desk"}, MemberOf: []int64{100},
				Agent: AgentSpec{Roles: roles(role(10, freshservice.ScopeMemberGroups)), MemberOf: []int64{100}}},
		},
		{
			sentence: "role group: ... or its externalId",
			groups:   []GroupRef{{DisplayName: "Renamed in the IdP", ExternalID: "5e7c"}},
			want: Access{Kind: KindAgent, Rules: []string{"Admins"},
				Agent: AgentSpec{Roles: roles(role(12, freshservice.ScopeEntireHelpdesk))}},
		},
		{
			sentence: "agent group: an agent_groups mapping matches it; the named agent group",
			groups:   []GroupRef{group("Tier 2 (IdP)")},
			want:     Access{Kind: KindKeep, MemberOf: []int64{103}},
		},
		{
			sentence: "agent group: the Freshservice group the SCIM group already stands for",
			groups:   []GroupRef{{DisplayName: "Network Team", FSID: 555}},
			want:     Access{Kind: KindKeep, MemberOf: []int64{555}},
		},
		{
			sentence: "requester group: anything else; a requester group of the same name",
			groups:   []GroupRef{{DisplayName: "Finance", FSID: 700}},
			want:     Access{Kind: KindKeep, RequesterGroups: []int64{700}},
		},
		{
			sentence: "Role group rules are checked first, then agent group mappings",
			groups:   []GroupRef{group("FS Admins")},
			want: Access{Kind: KindAgent, Rules: []string{"Admins"},
				Agent: AgentSpec{Roles: roles(role(12, freshservice.ScopeEntireHelpdesk))}},
		},
		{
			sentence: "Names are compared without regard to case",
			groups:   []GroupRef{group("  fs agents - SERVICE desk ")},
			want: Access{Kind: KindAgent, Rules: []string{"Service Desk"}, MemberOf: []int64{100},
				Agent: AgentSpec{Roles: roles(role(10, freshservice.ScopeMemberGroups)), MemberOf: []int64{100}}},
		},
		{
			sentence: "Joining a role group makes the user an agent (occasional: day passes instead of a seat)",
			groups:   []GroupRef{group("FS Agents - Network")},
			want: Access{Kind: KindAgent, Rules: []string{"Network"}, MemberOf: []int64{101}, ObserverOf: []int64{100},
				Agent: AgentSpec{Occasional: true, Roles: roles(role(11, freshservice.ScopeSpecifiedGroups, 101)),
					MemberOf: []int64{101}, ObserverOf: []int64{100}}},
		},
		{
			sentence: "Several role groups give the union: full-time if any rule is full-time; every role; every agent group",
			groups:   []GroupRef{group("FS Agents - Network"), group("FS Agents - Service Desk")},
			want: Access{Kind: KindAgent, Rules: []string{"Network", "Service Desk"}, MemberOf: []int64{100, 101}, ObserverOf: []int64{100},
				Agent: AgentSpec{Roles: roles(role(10, freshservice.ScopeMemberGroups), role(11, freshservice.ScopeSpecifiedGroups, 101)),
					MemberOf: []int64{100, 101}, ObserverOf: []int64{100}}},
		},
		{
			sentence: "the same role with different scopes: the broader scope wins (entire_helpdesk over specified_groups)",
			groups:   []GroupRef{group("FS Agents - Network"), group("FS Ops Wide")},
			want: Access{Kind: KindAgent, Rules: []string{"Network", "Ops Wide"}, MemberOf: []int64{101}, ObserverOf: []int64{100},
				Agent: AgentSpec{Occasional: true, Roles: roles(role(11, freshservice.ScopeEntireHelpdesk)),
					MemberOf: []int64{101}, ObserverOf: []int64{100}}},
		},
		{
			sentence: "then specified_groups with the groups merged",
			groups:   []GroupRef{group("FS Agents - Network"), group("FS Core Network")},
			want: Access{Kind: KindAgent, Rules: []string{"Core Network", "Network"}, MemberOf: []int64{101}, ObserverOf: []int64{100},
				Agent: AgentSpec{Occasional: true, Roles: roles(role(11, freshservice.ScopeSpecifiedGroups, 101, 102)),
					MemberOf: []int64{101}, ObserverOf: []int64{100}}},
		},
		{
			sentence: "then member_groups, then assigned_items",
			groups:   []GroupRef{group("FS Audit Items"), group("FS Audit Members")},
			want: Access{Kind: KindAgent, Rules: []string{"Audit Items", "Audit Members"},
				Agent: AgentSpec{Occasional: true, Roles: roles(role(13, freshservice.ScopeMemberGroups))}},
		},
		{
			sentence: "Leaving one role group removes only what it gave",
			groups:   []GroupRef{group("FS Agents - Network")},
			applied:  promoted("Network", "Service Desk"),
			want: Access{Kind: KindAgent, Rules: []string{"Network"}, MemberOf: []int64{101}, ObserverOf: []int64{100},
				Agent: AgentSpec{Occasional: true, Roles: roles(role(11, freshservice.ScopeSpecifiedGroups, 101)),
					MemberOf: []int64{101}, ObserverOf: []int64{100}}},
		},
		{
			sentence: "Leaving the last role group applies on_leave: demote (the default) converts back to requester",
			applied:  promoted("Service Desk"),
			want:     Access{Kind: KindRequester},
		},
		{
			sentence: "on_leave demote is also what a rule that no longer exists gives",
			applied:  promoted("Removed Rule"),
			want:     Access{Kind: KindRequester},
		},
		{
			sentence: "keep: stay an agent as they are",
			applied:  promoted("Network"),
			want:     Access{Kind: KindKeep},
		},
		{
			sentence: "deactivate",
			applied:  promoted("Admins"),
			want:     Access{Kind: KindKeep, Deactivate: true},
		},
		{
			sentence: "If the rules the user had disagree, the gentlest wins: keep before demote",
			applied:  promoted("Admins", "Network", "Service Desk"),
			want:     Access{Kind: KindKeep},
		},
		{
			sentence: "... then demote before deactivate",
			applied:  promoted("Admins", "Service Desk"),
			want:     Access{Kind: KindRequester},
		},
		{
			sentence: "Agents the bridge did not make are never demoted by it",
			applied:  Applied{},
			want:     Access{Kind: KindKeep},
		},
		{
			sentence: "Roles from the user: the core roles attribute matches a rule's match.role",
			doc:      Doc{"roles": []any{map[string]any{"value": "network", "primary": true}}},
			want: Access{Kind: KindAgent, Rules: []string{"Network"}, MemberOf: []int64{101}, ObserverOf: []int64{100},
				Agent: AgentSpec{Occasional: true, Roles: roles(role(11, freshservice.ScopeSpecifiedGroups, 101)),
					MemberOf: []int64{101}, ObserverOf: []int64{100}}},
		},
		{
			sentence: "... or its name",
			doc:      Doc{"roles": []any{map[string]any{"value": "service desk"}}},
			want: Access{Kind: KindAgent, Rules: []string{"Service Desk"}, MemberOf: []int64{100},
				Agent: AgentSpec{Roles: roles(role(10, freshservice.ScopeMemberGroups)), MemberOf: []int64{100}}},
		},
		{
			sentence: "... and so does the Freshservice extension's roles",
			doc:      ext(map[string]any{"roles": []any{"Admin"}}),
			want: Access{Kind: KindAgent, Rules: []string{"Admins"},
				Agent: AgentSpec{Roles: roles(role(12, freshservice.ScopeEntireHelpdesk))}},
		},
		{
			sentence: "userType agent asks for an agent through the rules the roles name",
			doc:      Doc{"roles": []any{"Admin"}, URNFreshservice: map[string]any{"userType": "agent"}},
			want: Access{Kind: KindAgent, Rules: []string{"Admins"},
				Agent: AgentSpec{Roles: roles(role(12, freshservice.ScopeEntireHelpdesk))}},
		},
		{
			sentence: "... or default_agent_rule",
			doc:      ext(map[string]any{"userType": "Agent"}),
			want: Access{Kind: KindAgent, Rules: []string{"Service Desk"}, MemberOf: []int64{100},
				Agent: AgentSpec{Roles: roles(role(10, freshservice.ScopeMemberGroups)), MemberOf: []int64{100}}},
		},
		{
			sentence: "isAgent true (the marketplace Entra app's attribute) asks the same",
			doc:      ext(map[string]any{"isAgent": "True"}),
			want: Access{Kind: KindAgent, Rules: []string{"Service Desk"}, MemberOf: []int64{100},
				Agent: AgentSpec{Roles: roles(role(10, freshservice.ScopeMemberGroups)), MemberOf: []int64{100}}},
		},
		{
			sentence:  "with neither, the request is refused",
			doc:       ext(map[string]any{"userType": "agent"}),
			noDefault: true,
			wantErr:   true,
		},
		{
			sentence:  "... also when the roles it names match no rule",
			doc:       Doc{"roles": []any{"Plumber"}, URNFreshservice: map[string]any{"userType": "agent"}},
			noDefault: true,
			wantErr:   true,
		},
		{
			sentence: "userType requester makes a user the bridge promoted a requester, whatever their groups say",
			groups:   []GroupRef{group("FS Agents - Service Desk"), {DisplayName: "Finance", FSID: 700}},
			doc:      ext(map[string]any{"userType": "requester"}),
			applied:  promoted("Service Desk"),
			want:     Access{Kind: KindRequester, RequesterGroups: []int64{700}},
		},
		{
			sentence: "isAgent false keeps a user the bridge did not promote as they are",
			groups:   []GroupRef{group("FS Agents - Service Desk")},
			doc:      ext(map[string]any{"isAgent": false}),
			want:     Access{Kind: KindKeep},
		},
		{
			sentence: "a user deleted over SCIM leaves the agent groups the bridge manages",
			groups:   []GroupRef{group("FS Agents - Service Desk"), group("Tier 2 (IdP)")},
			deleted:  true,
			want: Access{Kind: KindAgent, Rules: []string{"Service Desk"},
				Agent: AgentSpec{Roles: roles(role(10, freshservice.ScopeMemberGroups)), MemberOf: []int64{100}}},
		},
	}
	for _, c := range cases {
		t.Run(c.sentence, func(t *testing.T) {
			rs := exampleRules()
			if c.noDefault {
				rs.DefaultRule = nil
			}
			got, err := DecideAccess(rs, c.groups, c.doc, c.applied, c.deleted)
			if c.wantErr {
				var ae *AttrError
				if !errors.As(err, &ae) {
					t.Fatalf("err = %v, want an *AttrError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("access (-want +got):\n%s", d)
			}
		})
	}
}

// TestTakesSeat covers docs/rules.md's "Seats": what counts against max_agents is a change that
// makes a full-time agent of someone who is not one.
func TestTakesSeat(t *testing.T) {
	active := Profile{Active: true}
	agent := Target{Profile: active, Kind: KindAgent}
	occasional := Target{Profile: active, Kind: KindAgent, Agent: AgentSpec{Occasional: true}}
	inactive := Target{Profile: Profile{}, Kind: KindAgent}
	cases := []struct {
		name string
		cur  *freshservice.User
		t    Target
		want bool
	}{
		{"a new full-time agent", nil, agent, true},
		{"a new occasional agent", nil, occasional, false},
		{"a new agent created inactive", nil, inactive, false},
		{"a requester promoted full-time", &freshservice.User{Active: true}, agent, true},
		{"an occasional agent made full-time", &freshservice.User{Active: true, IsAgent: true, Occasional: true}, agent, true},
		{"a deactivated full-time agent reactivated", &freshservice.User{IsAgent: true}, agent, true},
		{"a full-time agent staying one", &freshservice.User{Active: true, IsAgent: true}, agent, false},
		{"a requester staying one", &freshservice.User{Active: true}, Target{Profile: active, Kind: KindKeep}, false},
	}
	for _, c := range cases {
		if got := TakesSeat(c.cur, c.t); got != c.want {
			t.Errorf("%s: TakesSeat = %v, want %v", c.name, got, c.want)
		}
	}
}
