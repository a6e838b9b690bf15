package bridge

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/mapping"
)

// RuleSet is the rules with every name resolved to a Freshservice id.
type RuleSet struct {
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

// RoleRule is a resolved role group rule.
type RoleRule struct {
	Name       string
	Match      config.Match
	Occasional bool
	Roles      []freshservice.RoleAssignment
	MemberOf   []int64
	ObserverOf []int64
	OnLeave    string
}

// AgentMap is a resolved agent-group mapping. GroupID is 0 when the
// mapping names no group and the SCIM group's displayName is used instead.
type AgentMap struct {
	Match   config.Match
	GroupID int64
	Name    string
	Create  bool
}

// GroupKind is what a SCIM group is in Freshservice (DESIGN D4).
type GroupKind string

// The kinds of SCIM group.
const (
	KindRequesterGroup GroupKind = "requester_group"
	KindAgentGroup     GroupKind = "agent_group"
	KindRoleGroup      GroupKind = "role_group"
)

func matchGroup(m config.Match, displayName, externalID string) bool {
	if m.DisplayName != "" && strings.EqualFold(strings.TrimSpace(m.DisplayName), strings.TrimSpace(displayName)) {
		return true
	}
	return m.ExternalID != "" && externalID != "" && m.ExternalID == externalID
}

// GroupKindOf says what a SCIM group is: role group rules are checked
// first, then agent-group mappings; anything else is a requester group.
func (rs *RuleSet) GroupKindOf(displayName, externalID string) (GroupKind, *RoleRule, *AgentMap) {
	for _, r := range rs.RoleRules {
		if matchGroup(r.Match, displayName, externalID) {
			return KindRoleGroup, r, nil
		}
	}
	for _, m := range rs.AgentMaps {
		if matchGroup(m.Match, displayName, externalID) {
			return KindAgentGroup, nil, m
		}
	}
	return KindRequesterGroup, nil, nil
}

// RuleForRole returns the rule a roles value names: by the rule's
// match.role, or by its name.
func (rs *RuleSet) RuleForRole(value string) *RoleRule {
	v := strings.TrimSpace(value)
	for _, r := range rs.RoleRules {
		if r.Match.Role != "" && strings.EqualFold(r.Match.Role, v) {
			return r
		}
	}
	for _, r := range rs.RoleRules {
		if strings.EqualFold(r.Name, v) {
			return r
		}
	}
	return nil
}

// RuleNamed returns the rule with that name.
func (rs *RuleSet) RuleNamed(name string) *RoleRule {
	for _, r := range rs.RoleRules {
		if strings.EqualFold(r.Name, name) {
			return r
		}
	}
	return nil
}

// resolveRules turns names into ids. Unknown names are collected and
// reported together with the names the account does have. Agent groups a
// mapping asks to create are created.
func (b *Bridge) resolveRules(ctx context.Context, rules config.Rules) (*RuleSet, error) {
	cat := b.catalog.Load()
	rs := &RuleSet{MaxAgents: rules.MaxAgents, ManagedRoles: map[int64]bool{}, ManagedAgentGroups: map[int64]bool{}}
	unknownRoles := map[string]bool{}
	unknownGroups := map[string]bool{}
	group := func(name string) int64 {
		id, ok := byName(cat.AgentGroups, name)
		if !ok {
			unknownGroups[name] = true
		}
		return id
	}
	for _, rc := range rules.RoleGroups {
		r := &RoleRule{Name: rc.RuleName(), Match: rc.Match, Occasional: rc.Occasional, OnLeave: rc.OnLeave}
		if r.OnLeave == "" {
			r.OnLeave = config.OnLeaveDemote
		}
		for _, g := range rc.Roles {
			id, ok := byName(cat.Roles, g.Role)
			if !ok {
				unknownRoles[g.Role] = true
				continue
			}
			ra := freshservice.RoleAssignment{RoleID: id, AssignmentScope: g.Scope}
			for _, gn := range g.Groups {
				ra.Groups = append(ra.Groups, group(gn))
			}
			r.Roles = append(r.Roles, ra)
			rs.ManagedRoles[id] = true
		}
		for _, gn := range rc.MemberOf {
			id := group(gn)
			r.MemberOf = append(r.MemberOf, id)
			rs.ManagedAgentGroups[id] = true
		}
		for _, gn := range rc.ObserverOf {
			id := group(gn)
			r.ObserverOf = append(r.ObserverOf, id)
			rs.ManagedAgentGroups[id] = true
		}
		rs.RoleRules = append(rs.RoleRules, r)
	}
	for _, mc := range rules.AgentGroups {
		m := &AgentMap{Match: mc.Match, Name: mc.AgentGroup, Create: mc.Create}
		if m.Name == "" {
			m.Name = mc.Match.DisplayName
		}
		if id, ok := byName(cat.AgentGroups, m.Name); ok {
			m.GroupID = id
		} else if m.Create && m.Name != "" {
			g, err := b.createAgentGroup(ctx, m.Name)
			if err != nil {
				return nil, fmt.Errorf("rules: creating agent group %q: %w", m.Name, err)
			}
			m.GroupID = g
		} else if m.Name != "" {
			unknownGroups[m.Name] = true
		}
		if m.GroupID != 0 {
			rs.ManagedAgentGroups[m.GroupID] = true
		}
		rs.AgentMaps = append(rs.AgentMaps, m)
	}
	if rules.DefaultAgentRule != "" {
		rs.DefaultRule = rs.RuleNamed(rules.DefaultAgentRule)
	}
	var problems []string
	if len(unknownRoles) > 0 {
		problems = append(problems, fmt.Sprintf("unknown roles %s (the account has: %s)", quoteKeys(unknownRoles), quoteList(names(cat.Roles))))
	}
	if len(unknownGroups) > 0 {
		problems = append(problems, fmt.Sprintf("unknown agent groups %s (the account has: %s)", quoteKeys(unknownGroups), quoteList(names(cat.AgentGroups))))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("rules name what Freshservice does not have: %s", strings.Join(problems, "; "))
	}
	return rs, nil
}

func (b *Bridge) createAgentGroup(ctx context.Context, name string) (int64, error) {
	if b.opts.DryRun {
		b.log.Info().Str("plan", "POST /api/v2/groups").Str("name", name).Msg("dry run: agent group not created")
		return 0, nil
	}
	g, _, err := b.fs.Groups.Create(ctx, &freshservice.GroupFields{Name: freshservice.Ptr(name)})
	if err != nil {
		return 0, err
	}
	b.updateCatalog(func(c *Catalog) { c.AgentGroups[g.ID] = g.Name })
	return g.ID, nil
}

func quoteKeys(m map[string]bool) string {
	l := make([]string, 0, len(m))
	for k := range m {
		l = append(l, k)
	}
	sort.Strings(l)
	return quoteList(l)
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
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
func Union(rules []*RoleRule) mapping.AgentSpec {
	spec := mapping.AgentSpec{Occasional: len(rules) > 0}
	roles := map[int64]*freshservice.RoleAssignment{}
	var order []int64
	member, observer := map[int64]bool{}, map[int64]bool{}
	for _, r := range rules {
		if !r.Occasional {
			spec.Occasional = false
		}
		for _, ra := range r.Roles {
			cur, ok := roles[ra.RoleID]
			if !ok {
				c := ra
				c.Groups = append([]int64(nil), ra.Groups...)
				roles[ra.RoleID] = &c
				order = append(order, ra.RoleID)
				continue
			}
			switch {
			case scopeRank[ra.AssignmentScope] < scopeRank[cur.AssignmentScope]:
				cur.AssignmentScope = ra.AssignmentScope
				cur.Groups = append([]int64(nil), ra.Groups...)
			case ra.AssignmentScope == cur.AssignmentScope && ra.AssignmentScope == freshservice.ScopeSpecifiedGroups:
				cur.Groups = append(cur.Groups, ra.Groups...)
			}
		}
		for _, g := range r.MemberOf {
			member[g] = true
		}
		for _, g := range r.ObserverOf {
			observer[g] = true
		}
	}
	sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
	for _, id := range order {
		ra := *roles[id]
		if ra.AssignmentScope == freshservice.ScopeSpecifiedGroups {
			ra.Groups = dedupe(ra.Groups)
		} else {
			ra.Groups = nil
		}
		spec.Roles = append(spec.Roles, ra)
	}
	spec.MemberOf = keys(member)
	spec.ObserverOf = keys(observer)
	return spec
}

func keys(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func dedupe(ids []int64) []int64 {
	m := map[int64]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return keys(m)
}
