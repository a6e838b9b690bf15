package mapping

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/fsbridge/fsbridge/freshservice"
)

// This file decides access: what the rules (docs/rules.md) make of a user,
// given the SCIM groups they are in, the roles and user type they carry,
// and what the bridge last applied. The rules arrive with every name
// resolved to a Freshservice id (internal/bridge resolves them against the
// account's catalog); nothing here reads anything.

// Match says which SCIM groups, or which role values, a rule applies to.
// Names compare without regard to case or surrounding space; an externalId
// compares exactly.
type Match struct {
	DisplayName string
	ExternalID  string
	Role        string
}

// String names the match as the configuration spells it.
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

// Group reports whether a SCIM group with that displayName and externalId
// matches.
func (m Match) Group(displayName, externalID string) bool {
	if m.DisplayName != "" && strings.EqualFold(strings.TrimSpace(m.DisplayName), strings.TrimSpace(displayName)) {
		return true
	}
	return m.ExternalID != "" && externalID != "" && m.ExternalID == externalID
}

// What happens to an agent the bridge made when they leave their last role
// group (on_leave).
const (
	OnLeaveDemote     = "demote"
	OnLeaveKeep       = "keep"
	OnLeaveDeactivate = "deactivate"
)

// RoleRule is a role group rule with its names resolved.
type RoleRule struct {
	Name       string
	Match      Match
	Occasional bool
	Roles      []freshservice.RoleAssignment
	MemberOf   []int64
	ObserverOf []int64
	// OnLeave is one of the OnLeave constants; "" is OnLeaveDemote.
	OnLeave string
}

// AgentMap is an agent-group mapping with its name resolved. GroupID is 0
// when the mapping names no group and the SCIM group's own Freshservice
// group is used.
type AgentMap struct {
	Match   Match
	GroupID int64
	Name    string
	Create  bool
}

// Rules are the resolved rules in force.
type Rules struct {
	RoleRules   []*RoleRule
	AgentMaps   []*AgentMap
	MaxAgents   int
	DefaultRule *RoleRule
	// ManagedRoles are the roles any rule gives; the bridge adds and
	// removes only these on agents.
	ManagedRoles map[int64]bool
	// ManagedAgentGroups are the agent groups rules or mappings name.
	ManagedAgentGroups map[int64]bool
}

// GroupKind is what a SCIM group is in Freshservice (DESIGN D4).
type GroupKind string

// The kinds of SCIM group.
const (
	KindRequesterGroup GroupKind = "requester_group"
	KindAgentGroup     GroupKind = "agent_group"
	KindRoleGroup      GroupKind = "role_group"
)

// GroupKindOf says what a SCIM group is: role group rules are checked
// first, then agent-group mappings; anything else is a requester group.
func (rs *Rules) GroupKindOf(displayName, externalID string) (GroupKind, *RoleRule, *AgentMap) {
	for _, r := range rs.RoleRules {
		if r.Match.Group(displayName, externalID) {
			return KindRoleGroup, r, nil
		}
	}
	for _, m := range rs.AgentMaps {
		if m.Match.Group(displayName, externalID) {
			return KindAgentGroup, nil, m
		}
	}
	return KindRequesterGroup, nil, nil
}

// RuleForRole returns the rule a roles value names: by the rule's
// match.role first, then by its name.
func (rs *Rules) RuleForRole(value string) *RoleRule {
	v := strings.TrimSpace(value)
	for _, r := range rs.RoleRules {
		if r.Match.Role != "" && strings.EqualFold(r.Match.Role, v) {
			return r
		}
	}
	return rs.RuleNamed(v)
}

// RuleNamed returns the rule with that name.
func (rs *Rules) RuleNamed(name string) *RoleRule {
	for _, r := range rs.RoleRules {
		if strings.EqualFold(r.Name, strings.TrimSpace(name)) {
			return r
		}
	}
	return nil
}

// scopeRank orders assignment scopes from broadest: when two rules give
// one role with different scopes, the broader one wins.
var scopeRank = map[string]int{
	freshservice.ScopeEntireHelpdesk:  0,
	freshservice.ScopeSpecifiedGroups: 1,
	freshservice.ScopeMemberGroups:    2,
	freshservice.ScopeAssignedItems:   3,
}

// Union combines the rules a user matches: full-time if any rule is
// full-time, every role (the broadest scope when rules disagree, groups
// of specified_groups merged), every group.
func Union(rules []*RoleRule) AgentSpec {
	spec := AgentSpec{Occasional: len(rules) > 0}
	roles := map[int64]*freshservice.RoleAssignment{}
	var order []int64
	var member, observer []int64
	for _, r := range rules {
		if !r.Occasional {
			spec.Occasional = false
		}
		for _, ra := range r.Roles {
			cur, ok := roles[ra.RoleID]
			if !ok {
				c := ra
				c.Groups = slices.Clone(ra.Groups)
				roles[ra.RoleID] = &c
				order = append(order, ra.RoleID)
				continue
			}
			switch {
			case scopeRank[ra.AssignmentScope] < scopeRank[cur.AssignmentScope]:
				cur.AssignmentScope = ra.AssignmentScope
				cur.Groups = slices.Clone(ra.Groups)
			case ra.AssignmentScope == cur.AssignmentScope && ra.AssignmentScope == freshservice.ScopeSpecifiedGroups:
				cur.Groups = append(cur.Groups, ra.Groups...)
			}
		}
		member = append(member, r.MemberOf...)
		observer = append(observer, r.ObserverOf...)
	}
	sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
	for _, id := range order {
		ra := *roles[id]
		if ra.AssignmentScope == freshservice.ScopeSpecifiedGroups {
			ra.Groups = SortedUnique(ra.Groups)
		} else {
			ra.Groups = nil
		}
		spec.Roles = append(spec.Roles, ra)
	}
	spec.MemberOf = SortedUnique(member)
	spec.ObserverOf = SortedUnique(observer)
	return spec
}

// OnLeaveOf picks the on_leave of the rules a user had when they leave the
// last one: keep beats demote beats deactivate, so one lenient rule is
// enough to keep an account. A rule that no longer exists counts as demote.
func (rs *Rules) OnLeaveOf(had []string) string {
	rank := map[string]int{OnLeaveKeep: 3, OnLeaveDemote: 2, OnLeaveDeactivate: 1}
	best := ""
	for _, name := range had {
		choice := OnLeaveDemote
		if r := rs.RuleNamed(name); r != nil && r.OnLeave != "" {
			choice = r.OnLeave
		}
		if rank[choice] > rank[best] {
			best = choice
		}
	}
	if best == "" {
		return OnLeaveDemote
	}
	return best
}

// GroupRef is a SCIM group a user is in, as the rules see it: its names,
// and the Freshservice group it stands for (0: none yet).
type GroupRef struct {
	DisplayName string
	ExternalID  string
	FSID        int64
}

// Access is what the rules make of one user.
type Access struct {
	// Kind is what the user should be: an agent (the rules give them
	// Agent), a requester (the bridge made them an agent and they left),
	// or as they are.
	Kind  Kind
	Agent AgentSpec
	// Rules are the names of the role rules the user matches, sorted.
	Rules []string
	// Deactivate is set when leaving the last role group deactivates.
	Deactivate bool
	// MemberOf and ObserverOf are the agent groups of the rules and of the
	// agent-group mappings the user's SCIM groups match; RequesterGroups
	// are the requester groups the other SCIM groups stand for.
	MemberOf, ObserverOf, RequesterGroups []int64
}

// DecideAccess applies the rules to a user: the SCIM groups they are in,
// their document (roles, and the Freshservice extension's userType or
// isAgent), what the bridge last applied (whether it promoted them, and
// under which rules) and whether they were deleted over SCIM. It fails with
// an *AttrError when the document asks for an agent the rules cannot make.
func DecideAccess(rs *Rules, groups []GroupRef, doc Doc, applied Applied, deleted bool) (Access, error) {
	var a Access
	var matched []*RoleRule
	add := func(r *RoleRule) {
		if r != nil && !slices.Contains(matched, r) {
			matched = append(matched, r)
		}
	}
	var memberOf []int64
	for _, g := range groups {
		kind, rule, amap := rs.GroupKindOf(g.DisplayName, g.ExternalID)
		switch kind {
		case KindRoleGroup:
			add(rule)
		case KindAgentGroup:
			id := g.FSID
			if id == 0 && amap != nil {
				id = amap.GroupID
			}
			if id != 0 {
				memberOf = append(memberOf, id)
			}
		default:
			if g.FSID != 0 {
				a.RequesterGroups = append(a.RequesterGroups, g.FSID)
			}
		}
	}
	userType := UserType(doc)
	var unknownRoles []string
	for _, v := range RoleValues(doc) {
		if r := rs.RuleForRole(v); r != nil {
			add(r)
		} else if userType == "agent" {
			unknownRoles = append(unknownRoles, v)
		}
	}
	if userType == "agent" && len(matched) == 0 {
		if rs.DefaultRule == nil {
			reason := "userType agent (or isAgent true) needs a role naming a role rule, or rules.default_agent_rule"
			if len(unknownRoles) > 0 {
				reason = fmt.Sprintf("roles %s match no role rule", quoted(unknownRoles))
			}
			return a, &AttrError{Attr: "roles", Reason: reason}
		}
		add(rs.DefaultRule)
	}
	if userType == "requester" {
		matched = nil
	}
	switch {
	case len(matched) > 0:
		a.Kind = KindAgent
		a.Agent = Union(matched)
		for _, r := range matched {
			a.Rules = append(a.Rules, r.Name)
		}
		sort.Strings(a.Rules)
	case userType == "requester" && applied.Promoted:
		a.Kind = KindRequester
	case applied.Promoted:
		// The user left the last role group: the rules they had say what
		// happens; the gentlest choice wins when they disagree.
		switch rs.OnLeaveOf(applied.Rules) {
		case OnLeaveKeep:
			a.Kind = KindKeep
		case OnLeaveDeactivate:
			a.Kind = KindKeep
			a.Deactivate = true
		default:
			a.Kind = KindRequester
		}
	default:
		a.Kind = KindKeep
	}
	a.MemberOf = SortedUnique(append(memberOf, a.Agent.MemberOf...))
	a.ObserverOf = SortedUnique(a.Agent.ObserverOf)
	if deleted {
		// A user deleted over SCIM leaves the agent groups the bridge
		// manages before it is deactivated (its SCIM groups drop it too);
		// Freshservice empties its requester groups itself.
		a.MemberOf, a.ObserverOf = nil, nil
	}
	return a, nil
}

// UserType is what the Freshservice extension asks the user to be:
// "agent", "requester", or "" (the rules decide). userType wins over
// isAgent, the attribute the Freshservice marketplace Entra app sends.
func UserType(doc Doc) string {
	if t := strings.ToLower(str(doc, URNFreshservice, "userType")); t != "" {
		return t
	}
	if v, ok := boolAttr(doc, URNFreshservice, "isAgent"); ok {
		if v {
			return "agent"
		}
		return "requester"
	}
	return ""
}

// RoleValues are the values of the core roles attribute (each element's
// value, or its display when it has no value) and of the Freshservice
// extension's roles.
func RoleValues(doc Doc) []string {
	var out []string
	for k, v := range doc {
		if !strings.EqualFold(k, "roles") {
			continue
		}
		l, _ := v.([]any)
		for _, e := range l {
			switch r := e.(type) {
			case string:
				out = append(out, r)
			case map[string]any:
				if s, ok := r["value"].(string); ok && s != "" {
					out = append(out, s)
				} else if s, ok := r["display"].(string); ok && s != "" {
					out = append(out, s)
				}
			}
		}
	}
	if ext, ok := lookup(doc, URNFreshservice); ok {
		if m, ok := ext.(map[string]any); ok {
			if l, ok := lookup(m, "roles"); ok {
				for _, e := range asList(l) {
					if s, ok := e.(string); ok && s != "" {
						out = append(out, s)
					}
				}
			}
		}
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// TakesSeat reports whether reaching t makes someone a full-time agent who
// is not one now: a seat is taken.
func TakesSeat(cur *freshservice.User, t Target) bool {
	if t.Kind != KindAgent || t.Agent.Occasional || !t.Profile.Active {
		return false
	}
	if cur == nil {
		return true
	}
	return !cur.IsAgent || cur.Occasional || !cur.Active
}

// SortedUnique returns the ids ascending without duplicates (nil for none).
func SortedUnique(ids []int64) []int64 {
	if len(ids) == 0 {
		return nil
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

func quoted(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
