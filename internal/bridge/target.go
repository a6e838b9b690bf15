package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

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
	// FullTime is what the rules ask: a full-time agent. Agent.Occasional
	// may say otherwise while Freshservice has no seat for the user
	// (Downgraded).
	FullTime bool
	// Downgraded: the rules ask for full-time, but the user is kept
	// occasional, as Freshservice made it for want of a seat.
	Downgraded bool
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
	prof, err := b.profile(doc, &cat.Catalog)
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
	t.NoAgentExternalID = b.opts.AgentExternalIDReadOnly || b.agentExtIDRefused.Load()

	if groups == nil {
		if groups, err = b.groupsOf(ctx, id); err != nil {
			return t, err
		}
	}
	refs := make([]mapping.GroupRef, len(groups))
	for i, g := range groups {
		refs[i] = mapping.GroupRef{DisplayName: g.DisplayName, ExternalID: g.ExternalID, FSID: g.FSID}
	}
	access, err := mapping.DecideAccess(rs, refs, doc, applied, deleted)
	if err != nil {
		var ae *mapping.AttrError
		if errors.As(err, &ae) {
			return t, &scim.Error{Status: http.StatusBadRequest, ScimType: scim.TypeInvalidValue, Detail: ae.Reason}
		}
		return t, err
	}
	t.Kind, t.Agent, t.Rules = access.Kind, access.Agent, access.Rules
	t.MemberOf, t.ObserverOf, t.RequesterGroups = access.MemberOf, access.ObserverOf, access.RequesterGroups
	if access.Deactivate {
		t.Profile.Active = false
		t.Profile.Set |= mapping.FieldActive
	}
	if t.Kind == mapping.KindAgent && !t.Agent.Occasional {
		t.FullTime = true
		if applied.Downgraded != nil && mapping.HoldDowngrade(applied.Downgraded, t.Rules, b.dir.Count().FullTimeAgents) {
			t.Agent.Occasional, t.Downgraded = true, true
		}
	}
	return t, nil
}

// profile is the Freshservice profile of a SCIM user: the fixed mapping,
// then the configured custom fields and external_id.
func (b *Bridge) profile(doc mapping.Doc, cat *mapping.Catalog) (mapping.Profile, error) {
	p, err := mapping.ProfileFromSCIM(doc, cat, b.userExists)
	if err != nil {
		return p, err
	}
	b.opts.Extras.Apply(doc, &p)
	return p, nil
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

// userExists tells the mapping whether a manager id is a known user.
func (b *Bridge) userExists(id int64) bool {
	e, ok := b.dir.Get(id)
	return ok && e.User != nil
}
