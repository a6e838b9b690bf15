package mapping

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fsbridge/fsbridge/freshservice"
)

// TestDecideTarget: what a user's target is made of, from its profile, groups, document and what
// was applied before, with the rules of docs/rules.md's example (exampleRules).
func TestDecideTarget(t *testing.T) {
	rs := exampleRules()
	noDefault := *rs
	noDefault.DefaultRule = nil
	profile := Profile{Set: FieldEmail | FieldName | FieldActive, Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", Active: true}
	inactive := profile
	inactive.Active = false
	serviceDesk := AgentSpec{Roles: roles(role(10, freshservice.ScopeMemberGroups)), MemberOf: []int64{100}}
	// target is the target of a requester the rules leave as it is, changed by edit.
	target := func(edit func(*UserTarget)) UserTarget {
		t := UserTarget{Target: Target{Profile: profile, Kind: KindKeep, ManagedRoles: rs.ManagedRoles, ManagedAgentGroups: rs.ManagedAgentGroups}}
		if edit != nil {
			edit(&t)
		}
		return t
	}
	fullTimeAgent := func(t *UserTarget) {
		t.Kind, t.Agent, t.Rules, t.MemberOf, t.FullTime = KindAgent, serviceDesk, []string{"Service Desk"}, []int64{100}, true
	}
	downgraded := func(fullTime int, rules ...string) Applied {
		return Applied{Promoted: true, Rules: []string{"Service Desk"}, Downgraded: &Downgrade{FullTime: fullTime, Rules: rules}}
	}
	cases := []struct {
		name    string
		in      TargetInput
		want    UserTarget
		wantErr string
	}{
		{"a requester in no group keeps its profile and kind",
			TargetInput{Profile: profile},
			target(nil), ""},
		{"a user deleted over SCIM is deactivated",
			TargetInput{Profile: profile, Deleted: true},
			target(func(t *UserTarget) { t.Profile = inactive }), ""},
		{"a user deleted over SCIM is erased when forget_on_delete is set",
			TargetInput{Profile: profile, Deleted: true, ForgetOnDelete: true},
			target(func(t *UserTarget) { t.Profile, t.Forget = inactive, true }), ""},
		{"forget_on_delete erases only deleted users",
			TargetInput{Profile: profile, ForgetOnDelete: true},
			target(nil), ""},
		{"an account that refuses external_id on agents",
			TargetInput{Profile: profile, NoAgentExternalID: true},
			target(func(t *UserTarget) { t.NoAgentExternalID = true }), ""},
		{"a role group member is a full-time agent with the rule's roles and groups",
			TargetInput{Profile: profile, Groups: []GroupRef{group("FS Agents - Service Desk")}},
			target(fullTimeAgent), ""},
		{"a member of an occasional rule's group is an occasional agent, not full-time",
			TargetInput{Profile: profile, Groups: []GroupRef{group("FS Agents - Network")}},
			target(func(t *UserTarget) {
				t.Kind, t.Rules, t.MemberOf, t.ObserverOf = KindAgent, []string{"Network"}, []int64{101}, []int64{100}
				t.Agent = AgentSpec{Occasional: true, Roles: roles(role(11, freshservice.ScopeSpecifiedGroups, 101)), MemberOf: []int64{101}, ObserverOf: []int64{100}}
			}), ""},
		{"a requester group stands for its Freshservice requester group",
			TargetInput{Profile: profile, Groups: []GroupRef{{DisplayName: "Engineering", FSID: 7001}}},
			target(func(t *UserTarget) { t.RequesterGroups = []int64{7001} }), ""},
		{"leaving the last role group of a rule that deactivates",
			TargetInput{Profile: profile, Applied: Applied{Promoted: true, Rules: []string{"Admins"}}},
			target(func(t *UserTarget) { t.Profile = inactive }), ""},
		{"leaving the last role group of a rule that demotes",
			TargetInput{Profile: profile, Applied: Applied{Promoted: true, Rules: []string{"Service Desk"}}},
			target(func(t *UserTarget) { t.Kind = KindRequester }), ""},
		{"a downgrade holds while no seat has freed and the rules are the same",
			TargetInput{Profile: profile, Groups: []GroupRef{group("FS Agents - Service Desk")}, Applied: downgraded(5, "Service Desk"), FullTimeAgents: 5},
			target(func(t *UserTarget) { fullTimeAgent(t); t.Agent.Occasional, t.Downgraded = true, true }), ""},
		{"a downgrade ends when a seat may have freed",
			TargetInput{Profile: profile, Groups: []GroupRef{group("FS Agents - Service Desk")}, Applied: downgraded(5, "Service Desk"), FullTimeAgents: 4},
			target(fullTimeAgent), ""},
		{"a downgrade ends when the rules changed",
			TargetInput{Profile: profile, Groups: []GroupRef{group("FS Agents - Service Desk")}, Applied: downgraded(5, "Network"), FullTimeAgents: 5},
			target(fullTimeAgent), ""},
		{"an agent the rules cannot make is refused",
			TargetInput{Profile: profile, Doc: Doc{"roles": []any{map[string]any{"value": "Pilot"}}, URNFreshservice: map[string]any{"userType": "agent"}}},
			UserTarget{}, `roles "Pilot" match no role rule`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Rules = rs
			if tc.wantErr != "" {
				in.Rules = &noDefault
			}
			got, err := DecideTarget(in)
			if tc.wantErr != "" {
				var ae *AttrError
				if !errors.As(err, &ae) || ae.Reason != tc.wantErr {
					t.Fatalf("DecideTarget: error %v, want an *AttrError %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("DecideTarget (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckOwnManager(t *testing.T) {
	cases := []struct {
		name    string
		id      int64
		manager int64
		want    string
	}{
		{"another manager", 42, 7, ""},
		{"no manager", 42, 0, ""},
		{"a user not created yet has no id to name", 0, 0, ""},
		{"its own manager", 42, 42, URNEnterprise + ":manager: a user cannot be their own manager (id 42)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckOwnManager(tc.id, Profile{ReportingManagerID: tc.manager})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("CheckOwnManager(%d, manager %d) = %q, want %q", tc.id, tc.manager, got, tc.want)
			}
		})
	}
}
