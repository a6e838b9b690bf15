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

// The resolved rules and what a SCIM group is are decided in mapping
// (mapping/rules.go); the bridge resolves the configured names to ids.
type (
	RuleSet   = mapping.Rules
	RoleRule  = mapping.RoleRule
	AgentMap  = mapping.AgentMap
	GroupKind = mapping.GroupKind
)

// The kinds of SCIM group.
const (
	KindRequesterGroup = mapping.KindRequesterGroup
	KindAgentGroup     = mapping.KindAgentGroup
	KindRoleGroup      = mapping.KindRoleGroup
)

// matchOf is a configured match as mapping compares it.
func matchOf(m config.Match) mapping.Match {
	return mapping.Match{DisplayName: m.DisplayName, ExternalID: m.ExternalID, Role: m.Role}
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
		r := &RoleRule{Name: rc.RuleName(), Match: matchOf(rc.Match), Occasional: rc.Occasional, OnLeave: rc.OnLeave}
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
		m := &AgentMap{Match: matchOf(mc.Match), Name: mc.AgentGroup, Create: mc.Create}
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
