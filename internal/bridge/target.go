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

// userTarget is a user's target with what was decided along the way, and the SCIM groups it was
// decided from: the next target of the same write (a re-plan after a step ran, the target of the
// document a request replaces) is decided from the same groups instead of reading them again.
type userTarget struct {
	mapping.UserTarget
	groups []store.Group
}

// groupsOf returns the SCIM groups user id is a member of, as the store holds them: the rules
// match a group's externalId and requester groups stand for its Freshservice object, which the
// directory's membership index does not hold. Not nil for a user that exists (id not 0).
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

// target computes the Freshservice state user id should have from its desired document, the
// groups it is in (nil: read from the store), and the rules (mapping.DecideTarget). It fails with
// a 400 *scim.Error when the document holds a value Freshservice cannot take.
func (b *Bridge) target(ctx context.Context, id int64, doc mapping.Doc, deleted bool, applied mapping.Applied, groups []store.Group) (userTarget, error) {
	cat := b.catalog.Load()
	rs := b.rules.Load()
	prof, err := b.profile(doc, &cat.Catalog)
	if err == nil {
		if serr := b.strictGaps(&prof); serr != nil {
			return userTarget{}, serr
		}
		err = mapping.CheckOwnManager(id, prof)
	}
	if err != nil {
		var ae *mapping.AttrError
		if errors.As(err, &ae) {
			return userTarget{}, &scim.Error{Status: http.StatusBadRequest, ScimType: scim.TypeInvalidValue, Detail: ae.Error()}
		}
		return userTarget{}, err
	}
	if groups == nil {
		if groups, err = b.groupsOf(ctx, id); err != nil {
			return userTarget{}, err
		}
	}
	in := mapping.TargetInput{
		Profile: prof, Doc: doc, Deleted: deleted, Applied: applied, Rules: rs,
		Groups:            make([]mapping.GroupRef, len(groups)),
		ForgetOnDelete:    b.opts.ForgetOnDelete,
		NoAgentExternalID: b.opts.AgentExternalIDReadOnly || b.agentExtIDRefused.Load(),
	}
	for i, g := range groups {
		in.Groups[i] = mapping.GroupRef{DisplayName: g.DisplayName, ExternalID: g.ExternalID, FSID: g.FSID}
	}
	if applied.Downgraded != nil {
		in.FullTimeAgents = b.dir.Count().FullTimeAgents
	}
	t, err := mapping.DecideTarget(in)
	if err != nil {
		var ae *mapping.AttrError
		if errors.As(err, &ae) {
			return userTarget{}, &scim.Error{Status: http.StatusBadRequest, ScimType: scim.TypeInvalidValue, Detail: ae.Reason}
		}
		return userTarget{}, err
	}
	return userTarget{UserTarget: t, groups: groups}, nil
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
