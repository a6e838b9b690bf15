package config

import (
	"fmt"
	"strings"
)

// Rules say what SCIM groups and roles mean in Freshservice (DESIGN D4).
// A SCIM group matched by a role group rule makes its members agents; one
// matched by an agent group rule is a Freshservice agent group; every other
// group is a Freshservice requester group. Names are resolved to ids when
// the bridge starts; an unknown name stops it.
type Rules struct {
	// MaxAgents caps the full-time agents the bridge will make (seats cost
	// money); 0 means no cap beyond the account's own.
	MaxAgents int `yaml:"max_agents"`
	// RoleGroups make people agents.
	RoleGroups []RoleGroup `yaml:"role_groups"`
	// AgentGroups map SCIM groups to Freshservice agent groups.
	AgentGroups []AgentGroupMap `yaml:"agent_groups"`
	// DefaultAgentRule names the role group rule applied to users the IdP
	// marks as agents (fsbridge extension userType "agent" or isAgent true)
	// without naming a role that matches a rule. Empty: such users are
	// refused with 400.
	DefaultAgentRule string `yaml:"default_agent_rule"`
}

// Match selects SCIM groups (by displayName or externalId) or values of the
// user's roles attribute. Any one matching is enough; comparisons ignore
// case.
type Match struct {
	DisplayName string `yaml:"display_name"`
	ExternalID  string `yaml:"external_id"`
	// Role matches a value of the SCIM user's roles attribute (Entra app
	// roles) or of the fsbridge extension's roles.
	Role string `yaml:"role"`
}

func (m Match) empty() bool { return m.DisplayName == "" && m.ExternalID == "" && m.Role == "" }

func (m Match) String() string {
	var parts []string
	if m.DisplayName != "" {
		parts = append(parts, fmt.Sprintf("display_name %q", m.DisplayName))
	}
	if m.ExternalID != "" {
		parts = append(parts, fmt.Sprintf("external_id %q", m.ExternalID))
	}
	if m.Role != "" {
		parts = append(parts, fmt.Sprintf("role %q", m.Role))
	}
	return strings.Join(parts, " or ")
}

// RoleGroup is a role group rule.
type RoleGroup struct {
	// Name identifies the rule in logs, the audit trail and the fsbridge
	// user extension; it defaults to the match's display name or role.
	Name  string `yaml:"name"`
	Match Match  `yaml:"match"`
	// Occasional makes occasional agents (day passes) instead of full-time
	// ones (paid seats).
	Occasional bool `yaml:"occasional"`
	// Roles are Freshservice agent roles by name, with their scope.
	Roles []RoleGrant `yaml:"roles"`
	// MemberOf and ObserverOf are Freshservice agent groups by name.
	MemberOf   []string `yaml:"member_of"`
	ObserverOf []string `yaml:"observer_of"`
	// Workspace names the Freshservice workspace (by its name, such as
	// "HR") whose roles and agent groups the rule's names mean, in
	// accounts with several. Empty: the primary workspace's, or the one
	// other workspace that has the name (two have it: a configuration
	// error naming both).
	Workspace string `yaml:"workspace"`
	// OnLeave says what happens when a user leaves the last role group:
	// demote (back to requester, the default), keep (stay an agent with
	// what they have) or deactivate.
	OnLeave string `yaml:"on_leave"`
}

// RoleGrant is one role with its assignment scope.
type RoleGrant struct {
	Role string `yaml:"role"`
	// Scope is entire_helpdesk, member_groups, specified_groups or
	// assigned_items.
	Scope string `yaml:"scope"`
	// Groups are agent group names, for specified_groups only.
	Groups []string `yaml:"groups"`
}

// AgentGroupMap maps SCIM groups to one Freshservice agent group.
type AgentGroupMap struct {
	Match Match `yaml:"match"`
	// AgentGroup is the Freshservice agent group's name; empty means the
	// SCIM group's displayName.
	AgentGroup string `yaml:"agent_group"`
	// Create makes the agent group if it does not exist (in Workspace).
	Create bool `yaml:"create"`
	// Workspace names the workspace of the agent group, as on a role
	// group rule.
	Workspace string `yaml:"workspace"`
}

// The on_leave choices.
const (
	OnLeaveDemote     = "demote"
	OnLeaveKeep       = "keep"
	OnLeaveDeactivate = "deactivate"
)

// RuleName returns the rule's name or a name derived from its match.
func (r RoleGroup) RuleName() string {
	switch {
	case r.Name != "":
		return r.Name
	case r.Match.DisplayName != "":
		return r.Match.DisplayName
	case r.Match.Role != "":
		return r.Match.Role
	}
	return r.Match.ExternalID
}

func (r Rules) validate() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if r.MaxAgents < 0 {
		add("rules.max_agents: must not be negative")
	}
	names := map[string]bool{}
	for i, rg := range r.RoleGroups {
		where := fmt.Sprintf("rules.role_groups[%d]", i)
		if rg.Match.empty() {
			add("%s.match: give display_name, external_id or role", where)
		}
		n := strings.ToLower(rg.RuleName())
		if n != "" && names[n] {
			add("%s: the rule name %q is used twice", where, rg.RuleName())
		}
		names[n] = true
		if len(rg.Roles) == 0 {
			add("%s.roles: an agent needs at least one role", where)
		}
		for j, g := range rg.Roles {
			w := fmt.Sprintf("%s.roles[%d]", where, j)
			if g.Role == "" {
				add("%s.role: required", w)
			}
			switch g.Scope {
			case "entire_helpdesk", "member_groups", "assigned_items":
				if len(g.Groups) > 0 {
					add("%s.groups: only used with scope specified_groups", w)
				}
			case "specified_groups":
				if len(g.Groups) == 0 {
					add("%s.groups: required with scope specified_groups", w)
				}
			default:
				add("%s.scope: %q is not entire_helpdesk, member_groups, specified_groups or assigned_items", w, g.Scope)
			}
		}
		switch rg.OnLeave {
		case "", OnLeaveDemote, OnLeaveKeep, OnLeaveDeactivate:
		default:
			add("%s.on_leave: %q is not demote, keep or deactivate", where, rg.OnLeave)
		}
	}
	if r.DefaultAgentRule != "" && !names[strings.ToLower(r.DefaultAgentRule)] {
		add("rules.default_agent_rule: %q is not the name of a role group rule", r.DefaultAgentRule)
	}
	for i, ag := range r.AgentGroups {
		where := fmt.Sprintf("rules.agent_groups[%d]", i)
		if ag.Match.DisplayName == "" && ag.Match.ExternalID == "" {
			add("%s.match: give display_name or external_id", where)
		}
		if ag.Match.Role != "" {
			add("%s.match.role: agent groups are matched by SCIM group, not by role", where)
		}
	}
	return p
}
