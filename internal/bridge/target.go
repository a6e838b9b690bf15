package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/mapping"
	"github.com/fsbridge/fsbridge/scim"
)


func decodeDoc(raw json.RawMessage) mapping.Doc {
	if len(raw) == 0 {
		return nil
	}
	var d mapping.Doc
	if json.Unmarshal(raw, &d) != nil {
		return nil
	}
	return d
}

func decodeApplied(raw json.RawMessage) mapping.Applied {
	var a mapping.Applied
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &a)
	}
	return a
}

func encode(v any) json.RawMessage {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("bridge: encoding %T: %v", v, err)) // only maps and structs of plain values are encoded
	}
	return data
}

// userTarget is a target with what was decided along the way.
type userTarget struct {
	mapping.Target
	Rules []string // names of the role rules the user matches
}

// groupsOf returns the SCIM groups user id is a member of.
func (b *Bridge) groupsOf(ctx context.Context, id int64) ([]store.Group, error) {
	if id == 0 {
		return nil, nil
	}
	ids, err := b.store.GroupsOf(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reading groups of user %d: %w", id, err)
	}
	out := make([]store.Group, 0, len(ids))
	for _, gid := range ids {
		g, err := b.store.GetGroup(ctx, gid)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading group %s: %w", gid, err)
		}
		out = append(out, g)
	}
	return out, nil
}

// target computes the Freshservice state user id should have from its
// desired document, the groups it is in (nil: as the store says), and the
// rules. It fails with a 400 *scim.Error when the document holds a value
// Freshservice cannot take.
func (b *Bridge) target(ctx context.Context, id int64, doc mapping.Doc, deleted bool, applied mapping.Applied, groups []store.Group) (userTarget, error) {
	cat := b.catalog.Load()
	rs := b.rules.Load()
	var t userTarget
	prof, err := mapping.ProfileFromSCIM(doc, &cat.Catalog, b.userExists)
	if err != nil {
		var ae *mapping.AttrError
		if errors.As(err, &ae) {
			return t, &scim.Error{Status: http.StatusBadRequest, ScimType: scim.TypeInvalidValue, Detail: ae.Error()}
		}
		return t, err
	}
	if serr := b.strictGaps(&prof); serr != nil {
		return t, serr
	}
	if id != 0 && prof.ReportingManagerID == id {
		return t, &scim.Error{Status: http.StatusBadRequest, ScimType: scim.TypeInvalidValue, Detail: fmt.Sprintf("%s:manager: a user cannot be their own manager (id %d)", mapping.URNEnterprise, id)}
	}
	if deleted {
		prof.Active = false
		prof.Set |= mapping.FieldActive
	}
	t.Profile = prof
	t.ManagedRoles = rs.ManagedRoles
	t.ManagedAgentGroups = rs.ManagedAgentGroups
	t.Forget = deleted && b.opts.ForgetOnDelete

	var matched []*RoleRule
	seen := map[string]bool{}
	addRule := func(r *RoleRule) {
		if r != nil && !seen[r.Name] {
			seen[r.Name] = true
			matched = append(matched, r)
		}
	}
	// Group memberships.
	if groups == nil {
		if groups, err = b.groupsOf(ctx, id); err != nil {
			return t, err
		}
	}
	var memberOf []int64
	for _, g := range groups {
		kind, rule, amap := rs.GroupKindOf(g.DisplayName, g.ExternalID)
		switch kind {
		case KindRoleGroup:
			addRule(rule)
		case KindAgentGroup:
			fsid := g.FSID
			if fsid == 0 && amap != nil {
				fsid = amap.GroupID
			}
			if fsid != 0 {
				memberOf = append(memberOf, fsid)
			}
		default:
			if g.FSID != 0 {
				t.RequesterGroups = append(t.RequesterGroups, g.FSID)
			}
		}
	}
	// Roles from the user: core roles (Entra app roles) and the extension.
	userType := strings.ToLower(strOf(doc, mapping.URNFreshservice, "userType"))
	if v, ok := boolOf(doc, mapping.URNFreshservice, "isAgent"); ok && userType == "" {
		if v {
			userType = "agent"
		} else {
			userType = "requester"
		}
	}
	var unknownRoles []string
	for _, v := range roleValues(doc) {
		if r := rs.RuleForRole(v); r != nil {
			addRule(r)
		} else if userType == "agent" {
			unknownRoles = append(unknownRoles, v)
		}
	}
	if userType == "agent" && len(matched) == 0 {
		if rs.DefaultRule == nil {
			detail := "userType agent (or isAgent true) needs a role naming a role rule, or rules.default_agent_rule"
			if len(unknownRoles) > 0 {
				detail = fmt.Sprintf("roles %s match no role rule", quoteList(unknownRoles))
			}
			return t, &scim.Error{Status: http.StatusBadRequest, ScimType: scim.TypeInvalidValue, Detail: detail}
		}
		addRule(rs.DefaultRule)
	}
	if userType == "requester" {
		matched = nil
	}

	switch {
	case len(matched) > 0:
		t.Kind = mapping.KindAgent
		t.Agent = Union(matched)
		for _, r := range matched {
			t.Rules = append(t.Rules, r.Name)
		}
		sort.Strings(t.Rules)
	case userType == "requester" && applied.Promoted:
		t.Kind = mapping.KindRequester
	case applied.Promoted:
		// The user left the last role group: the rules they had say what
		// happens; the gentlest choice wins when they disagree.
		switch onLeave(rs, applied.Rules) {
		case config.OnLeaveKeep:
			t.Kind = mapping.KindKeep
		case config.OnLeaveDeactivate:
			t.Kind = mapping.KindKeep
			t.Profile.Active = false
			t.Profile.Set |= mapping.FieldActive
		default:
			t.Kind = mapping.KindRequester
		}
	default:
		t.Kind = mapping.KindKeep
	}
	t.MemberOf = dedupe(append(memberOf, t.Agent.MemberOf...))
	t.ObserverOf = dedupe(t.Agent.ObserverOf)
	if deleted {
		// A user deleted over SCIM leaves the agent groups the bridge
		// manages before it is deactivated (its SCIM groups drop it too);
		// Freshservice empties its requester groups itself.
		t.MemberOf, t.ObserverOf = nil, nil
	}
	return t, nil
}

// onLeave picks the on_leave of the rules a user had: keep beats demote
// beats deactivate, so one lenient rule is enough to keep an account.
func onLeave(rs *RuleSet, had []string) string {
	best := ""
	rank := map[string]int{config.OnLeaveKeep: 3, config.OnLeaveDemote: 2, config.OnLeaveDeactivate: 1, "": 0}
	for _, name := range had {
		r := rs.RuleNamed(name)
		choice := config.OnLeaveDemote
		if r != nil {
			choice = r.OnLeave
		}
		if rank[choice] > rank[best] {
			best = choice
		}
	}
	if best == "" {
		return config.OnLeaveDemote
	}
	return best
}

// roleValues are the values of the core roles attribute and of the
// extension's roles.
func roleValues(doc mapping.Doc) []string {
	var out []string
	for k, v := range doc {
		if !strings.EqualFold(k, "roles") {
			continue
		}
		if l, ok := v.([]any); ok {
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
	}
	if ext, ok := doc[mapping.URNFreshservice].(map[string]any); ok {
		if l, ok := ext["roles"].([]any); ok {
			for _, e := range l {
				if s, ok := e.(string); ok && s != "" {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func strOf(doc mapping.Doc, keys ...string) string {
	var cur any = doc
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[k]
	}
	s, _ := cur.(string)
	return strings.TrimSpace(s)
}

func boolOf(doc mapping.Doc, keys ...string) (bool, bool) {
	var cur any = doc
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return false, false
		}
		cur = m[k]
	}
	switch v := cur.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// userExists tells the mapping whether a manager id is a known user.
func (b *Bridge) userExists(id int64) bool {
	e, ok := b.dir.Get(id)
	return ok && e.User != nil
}

// fullTimeAfter reports whether the plan makes someone a full-time agent
// who is not one now (a seat is taken).
func takesSeat(cur *freshservice.User, t mapping.Target) bool {
	if t.Kind != mapping.KindAgent || t.Agent.Occasional || !t.Profile.Active {
		return false
	}
	if cur == nil {
		return true
	}
	return !cur.IsAgent || cur.Occasional || !cur.Active
}
