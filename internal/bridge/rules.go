package bridge

import (
	"context"
	"errors"
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

// RulesError lists every name of the rules that does not resolve, each
// with what the account has instead.
type RulesError struct {
	Problems []string
}

func (e *RulesError) Error() string {
	return "rules name what Freshservice does not have: " + strings.Join(e.Problems, "; ")
}

// placed lists a catalog map with the workspace of each object.
func placed(names map[int64]string, spaces map[int64]int64) []mapping.Placed {
	out := make([]mapping.Placed, 0, len(names))
	for id, n := range names {
		out = append(out, mapping.Placed{ID: id, Name: n, WorkspaceID: spaces[id]})
	}
	return out
}

// resolveRules turns names into ids, each within the workspace its rule
// names (see mapping.ResolvePlaced). Unknown names are collected and
// reported together with the names the account does have, in a
// *RulesError. Agent groups a mapping asks to create are created.
func (b *Bridge) resolveRules(ctx context.Context, rules config.Rules) (*RuleSet, error) {
	cat := b.catalog.Load()
	rs := &RuleSet{MaxAgents: rules.MaxAgents, ManagedRoles: map[int64]bool{}, ManagedAgentGroups: map[int64]bool{}}
	unknownRoles := map[string]bool{}
	unknownGroups := map[string]bool{}
	var other []string
	groupObjs := placed(cat.AgentGroups, cat.GroupWorkspace)
	roleObjs := placed(cat.Roles, cat.RoleWorkspace)
	// resolve finds a name; a plain unknown name (no workspace asked, the
	// key sees every workspace) goes to unknown, listed with what the
	// account has; any other failure is told in its own words.
	resolve := func(objs []mapping.Placed, kind string, unknown map[string]bool, name, workspace string) (int64, bool) {
		id, err := mapping.ResolvePlaced(objs, cat.Workspaces, name, workspace)
		if err == nil {
			return id, true
		}
		var ne *mapping.NameError
		if errors.As(err, &ne) && ne.Kind == mapping.NameUnknown && ne.Workspace == "" {
			unknown[name] = true
		} else {
			other = append(other, kind+" "+err.Error())
		}
		return 0, false
	}
	group := func(name, workspace string) int64 {
		id, _ := resolve(groupObjs, "agent group", unknownGroups, name, workspace)
		return id
	}
	for _, rc := range rules.RoleGroups {
		r := &RoleRule{Name: rc.RuleName(), Match: matchOf(rc.Match), Occasional: rc.Occasional, OnLeave: rc.OnLeave}
		if r.OnLeave == "" {
			r.OnLeave = config.OnLeaveDemote
		}
		for _, g := range rc.Roles {
			id, ok := resolve(roleObjs, "role", unknownRoles, g.Role, rc.Workspace)
			if !ok {
				continue
			}
			ra := freshservice.RoleAssignment{RoleID: id, AssignmentScope: g.Scope}
			for _, gn := range g.Groups {
				ra.Groups = append(ra.Groups, group(gn, rc.Workspace))
			}
			r.Roles = append(r.Roles, ra)
			rs.ManagedRoles[id] = true
		}
		for _, gn := range rc.MemberOf {
			id := group(gn, rc.Workspace)
			r.MemberOf = append(r.MemberOf, id)
			rs.ManagedAgentGroups[id] = true
		}
		for _, gn := range rc.ObserverOf {
			id := group(gn, rc.Workspace)
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
		id, err := mapping.ResolvePlaced(groupObjs, cat.Workspaces, m.Name, mc.Workspace)
		var ne *mapping.NameError
		missing := errors.As(err, &ne) && (ne.Kind == mapping.NameUnknown || ne.Kind == mapping.WorkspacePartial)
		switch {
		case err == nil:
			m.GroupID = id
		case missing && m.Create && m.Name != "":
			g, err := b.createAgentGroup(ctx, m.Name, workspaceID(cat.Workspaces, mc.Workspace))
			if err != nil {
				return nil, fmt.Errorf("rules: creating agent group %q: %w", m.Name, err)
			}
			m.GroupID = g
		case m.Name != "":
			resolve(groupObjs, "agent group", unknownGroups, m.Name, mc.Workspace)
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
	problems = append(problems, dedupeStrings(other)...)
	if len(problems) > 0 {
		return nil, &RulesError{Problems: problems}
	}
	return rs, nil
}

// workspaceID is the id of the workspace named (0: none named, or not
// seen).
func workspaceID(spaces []mapping.Workspace, name string) int64 {
	for _, w := range spaces {
		if name != "" && strings.EqualFold(w.Name, strings.TrimSpace(name)) {
			return w.ID
		}
	}
	return 0
}

func dedupeStrings(l []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range l {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (b *Bridge) createAgentGroup(ctx context.Context, name string, workspace int64) (int64, error) {
	if b.opts.DryRun {
		b.logger(ctx).Info().Str("plan", "POST /api/v2/groups").Str("name", name).Msg("dry run: agent group not created")
		return 0, nil
	}
	in := &freshservice.GroupFields{Name: freshservice.Ptr(name)}
	if workspace != 0 {
		in.WorkspaceID = freshservice.Ptr(workspace)
	}
	g, _, err := b.fs.Groups.Create(ctx, in)
	if err != nil {
		return 0, err
	}
	b.updateCatalog(func(c *Catalog) {
		c.AgentGroups[g.ID] = g.Name
		c.GroupWorkspace[g.ID] = g.WorkspaceID
	})
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
