package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scim2/filter-parser/v2"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/mapping"
	"github.com/fsbridge/fsbridge/scim"
)

// groupBackend is the SCIM backend for /Groups (Bridge.Groups): it keeps the groups and their
// members in the store, and re-plans the users whose membership a write changes.
type groupBackend struct {
	bridge *Bridge
}

var _ scim.Backend = (*groupBackend)(nil)

var groupSchema = scim.GroupSchema()

// groupApplied is what the bridge did in Freshservice for a group.
type groupApplied struct {
	Kind GroupKind `json:"kind"`
	// Created is set when the bridge created the requester group, so that
	// deleting the SCIM group may delete it.
	Created bool `json:"created,omitempty"`
	// Pending are users whose membership changed and whose plans have not
	// all run. It is saved in the same write as the membership, so a crash
	// between the two loses no user; it is emptied once they are done.
	Pending []int64 `json:"pending,omitempty"`
}

// withPending returns applied with ids added to the pending users that
// prev (the stored group's applied state) still holds.
func withPending(applied groupApplied, prev json.RawMessage, ids ...int64) json.RawMessage {
	applied.Pending = dedupe(append(append([]int64{}, decodeGroupApplied(prev).Pending...), ids...))
	return encode(applied)
}

func newGroupID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// memberIDs reads the members attribute: user ids, which must be users the
// bridge can see. A member the group already had (in had) that has since
// been deleted over SCIM is dropped rather than refused, so a group is never
// stuck on a user that no longer exists.
func (b *Bridge) memberIDs(ctx context.Context, doc mapping.Doc, had []int64) ([]int64, *scim.Error) {
	var ids []int64
	for k, v := range doc {
		if !strings.EqualFold(k, "members") {
			continue
		}
		list, _ := v.([]any)
		for _, m := range list {
			mm, ok := m.(map[string]any)
			if !ok {
				continue
			}
			val, _ := mm["value"].(string)
			if typ, _ := mm["type"].(string); strings.EqualFold(typ, "Group") {
				return nil, scim.Errorf(http.StatusBadRequest, scim.TypeInvalidValue, "nested groups are not supported (member %q is a group)", val)
			}
			id, ok := mapping.ParseUserID(val)
			if !ok {
				return nil, scim.Errorf(http.StatusBadRequest, scim.TypeInvalidValue, "member %q is not a user id", val)
			}
			if e, found := b.entry(ctx, id); !found || !e.Visible() {
				if slices.Contains(had, id) {
					continue
				}
				return nil, scim.Errorf(http.StatusBadRequest, scim.TypeInvalidValue, "member %q is not a known user", val)
			}
			ids = append(ids, id)
		}
	}
	return dedupe(ids), nil
}

// groupDoc is the stored document of a group: everything but members and
// the read-only attributes.
func groupDoc(doc mapping.Doc) mapping.Doc {
	out := mapping.DeepCopy(doc)
	for k := range out {
		switch strings.ToLower(k) {
		case "id", "meta", "schemas", "members":
			delete(out, k)
		}
	}
	return out
}

// renderGroup is the SCIM resource of a stored group. Each member has its user's displayName as
// display (its userName when it has none) and a reference to the user, relative to the SCIM base
// URL, which the edge makes absolute. Users deleted over SCIM are left out. A group read from the
// store is also what the directory's membership index learns from (see SetGroup's versions).
func (b *Bridge) renderGroup(g store.Group, withMembers bool) scim.Resource {
	b.dir.SetGroup(g.ID, g.DisplayName, g.Version, g.Members)
	doc := decodeDoc(g.Doc)
	if doc == nil {
		doc = mapping.Doc{}
	}
	doc["displayName"] = g.DisplayName
	delete(doc, "externalId")
	if withMembers {
		members := make([]any, 0, len(g.Members))
		for _, id := range g.Members {
			e, ok := b.dir.Get(id)
			if ok && e.Desired != nil && e.Desired.Deleted {
				// Deleted over SCIM: no longer a resource, so no longer a
				// member (leaveAllGroups takes it out of the store too).
				continue
			}
			sid := strconv.FormatInt(id, 10)
			m := map[string]any{"value": sid, "type": "User", "$ref": "Users/" + sid}
			if ok && e.Visible() {
				m["display"] = b.memberDisplay(id)
			}
			members = append(members, m)
		}
		doc["members"] = members
	}
	return scim.Resource{ID: g.ID, ExternalID: g.ExternalID, Attributes: doc, Created: g.Created, Modified: g.Modified, Version: groupVersion(g)}
}

// groupVersion is a group's ETag: the store's version, which changes with its name, attributes and
// members.
func groupVersion(g store.Group) string {
	return `W/"` + strconv.FormatInt(g.Version, 10) + `"`
}

// Get returns a group with its members, unless the IdP asked not to get them (Entra reads every
// group with excludedAttributes=members).
func (gs *groupBackend) Get(ctx context.Context, id string) (scim.Resource, error) {
	b := gs.bridge
	g, err := b.store.GetGroup(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return scim.Resource{}, scim.NotFound("Group", id)
	}
	if err != nil {
		return scim.Resource{}, scim.AsError(err)
	}
	return b.renderGroup(g, !scim.Omitted(ctx, "members")), nil
}

// List supports every filter and sort. The lookups IdPs send are answered from indexes:
// displayName and id from the store's, members.value (the groups of a user) from the directory's;
// anything else reads every group.
func (gs *groupBackend) List(ctx context.Context, q scim.ListQuery) (scim.Page, error) {
	b := gs.bridge
	var all []store.Group
	one := func(g store.Group, err error) error {
		if err == nil {
			all = append(all, g)
			return nil
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	var err error
	lookup := ""
	if q.Lookup != nil {
		lookup = q.Lookup.Attr
	}
	name, byName := mapping.AndEquality(q.Filter, "displayName")
	switch {
	case lookup == "id":
		err = one(b.store.GetGroup(ctx, q.Lookup.Value))
	case lookup == "members.value":
		uid, ok := mapping.ParseUserID(q.Lookup.Value)
		if !ok {
			break
		}
		if err = b.memberships(ctx); err != nil {
			break
		}
		for _, gid := range b.dir.GroupIDsOf(uid) {
			if err = one(b.store.GetGroup(ctx, gid)); err != nil {
				break
			}
		}
	case byName:
		err = one(b.store.GetGroupByDisplayName(ctx, name))
	default:
		err = b.store.ForEachGroup(ctx, func(g store.Group) error {
			all = append(all, g)
			return nil
		})
	}
	if err != nil {
		return scim.Page{}, scim.AsError(err)
	}
	withMembers := (q.Filter != nil && mapping.FilterMentions(q.Filter, "members")) || strings.HasPrefix(strings.ToLower(q.SortBy), "members")
	docOf := func(g store.Group) map[string]any {
		doc := b.renderGroup(g, withMembers).Attributes
		doc["id"] = g.ID
		if g.ExternalID != "" {
			doc["externalId"] = g.ExternalID
		}
		meta := map[string]any{"resourceType": "Group"}
		if !g.Created.IsZero() {
			meta["created"] = g.Created.UTC().Format(time.RFC3339)
		}
		if !g.Modified.IsZero() {
			meta["lastModified"] = g.Modified.UTC().Format(time.RFC3339)
		}
		doc["meta"] = meta
		return doc
	}
	var matched []store.Group
	for _, g := range all {
		if q.Filter != nil && !scim.Match(docOf(g), q.Filter, groupSchema) {
			continue
		}
		matched = append(matched, g)
	}
	scim.Sort(matched, docOf, q, groupSchema)
	page := scim.Page{Total: len(matched), Resources: []scim.Resource{}}
	for i := max(q.StartIndex-1, 0); i < len(matched) && len(page.Resources) < q.Count; i++ {
		page.Resources = append(page.Resources, b.renderGroup(matched[i], !q.ExcludeMembers))
	}
	return page, nil
}

// Create makes the group: a requester group (found by name or created), an
// agent group named by the rules, or a role group with no Freshservice
// object; then applies its members.
func (gs *groupBackend) Create(ctx context.Context, attrs map[string]any) (scim.Resource, error) {
	b := gs.bridge
	doc := mapping.Doc(attrs)
	name := strOf(doc, "displayName")
	if name == "" {
		return scim.Resource{}, scim.Errorf(http.StatusBadRequest, scim.TypeInvalidValue, "displayName is required")
	}
	members, serr := b.memberIDs(ctx, doc, nil)
	if serr != nil {
		return scim.Resource{}, serr
	}
	unlock, err := b.lock(ctx, "groupname:"+strings.ToLower(name))
	if err != nil {
		return scim.Resource{}, err
	}
	defer unlock()
	if _, err := b.store.GetGroupByDisplayName(ctx, name); err == nil {
		return scim.Resource{}, scim.Errorf(http.StatusConflict, scim.TypeUniqueness, "a group named %q already exists", name)
	}
	g := store.Group{
		ID: newGroupID(), DisplayName: name, ExternalID: strOf(doc, "externalId"),
		Doc: encode(groupDoc(doc)), Members: members, Created: time.Now(), Modified: time.Now(), Dirty: true,
	}
	if serr := b.checkGroupSeats(ctx, g, nil, members); serr != nil {
		return scim.Resource{}, serr
	}
	if b.opts.DryRun {
		return scim.Resource{}, b.dryRunGroup(ctx, nil, g)
	}
	unlockG, err := b.lock(ctx, "group:"+g.ID)
	if err != nil {
		return scim.Resource{}, err
	}
	defer unlockG()
	applied, err := b.ensureGroupObject(ctx, &g)
	if err != nil {
		return scim.Resource{}, toSCIMError(err)
	}
	g.Applied = withPending(applied, nil, members...)
	if err := b.ensureMemberRecords(ctx, members); err != nil {
		return scim.Resource{}, scim.AsError(err)
	}
	saved, err := b.store.CreateGroup(ctx, g)
	if errors.Is(err, store.ErrAlreadyExists) {
		return scim.Resource{}, scim.Errorf(http.StatusConflict, scim.TypeUniqueness, "a group named %q already exists", name)
	}
	if err != nil {
		return scim.Resource{}, scim.AsError(err)
	}
	b.auditEvent(ctx, "group.create", saved.ID, saved.FSID, "ok", fmt.Sprintf("%s %q", applied.Kind, saved.DisplayName))
	if err := b.applyMembers(ctx, saved, nil, members); err != nil {
		// The group exists and its members will be finished by the
		// background pass: answering an error would make the IdP's retry
		// a 409 for a group it never learnt the id of.
		b.logger(ctx).Warn().Str("group", saved.ID).Err(err).Msg("group created; members left to the background pass")
		return b.renderGroup(saved, true), nil
	}
	return b.renderGroup(saved, true), nil
}

// ensureGroupObject finds or creates the Freshservice object behind a group
// of the kind the rules give it, and sets g.FSID.
func (b *Bridge) ensureGroupObject(ctx context.Context, g *store.Group) (groupApplied, error) {
	rs := b.rules.Load()
	kind, _, amap := rs.GroupKindOf(g.DisplayName, g.ExternalID)
	prev := groupApplied{}
	if len(g.Applied) > 0 {
		_ = json.Unmarshal(g.Applied, &prev)
	}
	applied := groupApplied{Kind: kind}
	if prev.Kind == kind && g.FSID != 0 {
		applied.Created = prev.Created
		return applied, nil
	}
	switch kind {
	case KindRoleGroup:
		g.FSID = 0
	case KindAgentGroup:
		id := amap.GroupID
		if id == 0 {
			id, _ = byName(b.catalog.Load().AgentGroups, g.DisplayName)
		}
		if id == 0 {
			return applied, scim.Errorf(http.StatusBadRequest, scim.TypeInvalidValue, "no Freshservice agent group named %q; create it, or set create: true in the agent group rule", g.DisplayName)
		}
		g.FSID = id
	default:
		cat := b.catalog.Load()
		for id, rg := range cat.RequesterGroups {
			if strings.EqualFold(rg.Name, g.DisplayName) && rg.Type != "rule_based" {
				g.FSID = id
				return applied, nil
			}
		}
		rg, _, err := b.fs.RequesterGroups.Create(ctx, &freshservice.RequesterGroupFields{Name: freshservice.Ptr(g.DisplayName)})
		if err != nil {
			// The group may exist: made by an earlier attempt whose
			// answer was lost, or by hand. Look it up by name.
			taken := errors.Is(err, freshservice.ErrDuplicate)
			switch reason := freshservice.Classify(err); {
			case taken, reason == freshservice.ReasonServer, reason == freshservice.ReasonTransport, reason == freshservice.ReasonDecode, reason == freshservice.ReasonClient:
				found, ferr := b.findRequesterGroup(ctx, g.DisplayName)
				if ferr != nil {
					return applied, ferr
				}
				if found != nil {
					g.FSID = found.ID
					applied.Created = !taken
					return applied, nil
				}
			}
			return applied, err
		}
		b.updateCatalog(func(c *Catalog) { c.RequesterGroups[rg.ID] = rg })
		g.FSID = rg.ID
		applied.Created = true
	}
	return applied, nil
}

// findRequesterGroup lists the requester groups (a few calls) and returns
// the manual one with that name, recording them all in the catalog.
func (b *Bridge) findRequesterGroup(ctx context.Context, name string) (*freshservice.RequesterGroup, error) {
	var found *freshservice.RequesterGroup
	var all []*freshservice.RequesterGroup
	for rg, err := range b.fs.RequesterGroups.All(ctx) {
		if err != nil {
			return nil, err
		}
		all = append(all, rg)
		if found == nil && strings.EqualFold(rg.Name, name) && rg.Type != "rule_based" {
			found = rg
		}
	}
	b.updateCatalog(func(c *Catalog) {
		for _, rg := range all {
			c.RequesterGroups[rg.ID] = rg
		}
	})
	return found, nil
}

// checkGroupSeats refuses a membership change that would make more
// full-time agents than rules.max_agents allows, before anything is saved.
func (b *Bridge) checkGroupSeats(ctx context.Context, g store.Group, before, after []int64) *scim.Error {
	rs := b.rules.Load()
	if rs.MaxAgents <= 0 {
		return nil
	}
	kind, rule, _ := rs.GroupKindOf(g.DisplayName, g.ExternalID)
	if kind != KindRoleGroup || rule.Occasional {
		return nil
	}
	had := map[int64]bool{}
	for _, id := range before {
		had[id] = true
	}
	need := 0
	for _, id := range after {
		if had[id] {
			continue
		}
		e, _ := b.dir.Get(id)
		if e.User == nil || !e.User.IsAgent || e.User.Occasional || !e.User.Active {
			need++
		}
	}
	used := mapping.SeatsTaken(b.dir.Count().FullTimeAgents, b.loadSeatGrants(ctx), func(uid int64) bool {
		e, ok := b.dir.Get(uid)
		return ok && fullTime(e)
	})
	if need > 0 && used+need > rs.MaxAgents {
		return scim.Errorf(http.StatusForbidden, "", "no full-time agent seat left: rules.max_agents is %d, %d full-time agents are active, and this change would add %d; nothing was changed", rs.MaxAgents, used, need)
	}
	return nil
}

// applyMembers brings Freshservice in line with a membership change.
// Agent-group changes are one read-modify-write of the group for all
// members; other kinds reconcile each member whose membership changed. The
// caller has marked those members dirty before saving the change, so a
// crash or a failure here leaves them to the background pass. The change
// itself is accepted: a member whose own plan is refused (its problem is
// recorded on the user and in the audit trail) does not fail the group
// request; a passing failure (429, 503) is returned so the IdP retries.
func (b *Bridge) applyMembers(ctx context.Context, g store.Group, before, after []int64) error {
	added, removed := diffIDs(before, after)
	ga := decodeGroupApplied(g.Applied)
	changed := dedupe(append(append(append([]int64{}, added...), removed...), ga.Pending...))
	if len(changed) == 0 {
		return b.markGroupClean(ctx, g.ID)
	}
	if ga.Kind == KindAgentGroup && g.FSID != 0 {
		change := map[int64]bool{}
		for _, id := range changed {
			change[id] = slices.Contains(after, id)
		}
		if err := b.bulkAgentGroup(ctx, g, change); err != nil && !permanent(err) {
			return err
		}
	}
	var first error
	for _, id := range changed {
		if err := b.reconcileUser(ctx, id); err != nil && !permanent(err) && first == nil {
			first = err
		}
	}
	if first == nil {
		return b.markGroupClean(ctx, g.ID)
	}
	return first
}

// ensureMemberRecords gives users the IdP never provisioned (Freshservice
// users it put in a group) a desired state built from what they are now,
// so their plans can run. The users to re-plan are recorded on the group
// itself (groupApplied.Pending), in the same write as the membership.
func (b *Bridge) ensureMemberRecords(ctx context.Context, ids []int64) error {
	for _, id := range ids {
		if _, err := b.store.GetUser(ctx, id); err == nil || !errors.Is(err, store.ErrNotFound) {
			if err != nil {
				return err
			}
			continue
		}
		e, ok := b.entry(ctx, id)
		if !ok || e.User == nil {
			continue
		}
		rec := store.User{ID: id, UserName: e.UserName(), Doc: encode(cleanUserDoc(b.userDoc(e)))}
		_, err := b.store.CreateUser(ctx, rec)
		if errors.Is(err, store.ErrAlreadyExists) {
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// bulkAgentGroup changes several members of an agent group with one GET
// and one PUT, and records the result on each user in the directory.
func (b *Bridge) bulkAgentGroup(ctx context.Context, g store.Group, change map[int64]bool) error {
	unlock, err := b.lock(ctx, "agentgroup:"+strconv.FormatInt(g.FSID, 10))
	if err != nil {
		return err
	}
	defer unlock()
	// Only agents can be members; who is an agent is read under the lock,
	// so a user demoted meanwhile is not written back into the group.
	for id, join := range change {
		e, ok := b.dir.Get(id)
		switch {
		case join && (!ok || e.User == nil || !e.User.IsAgent):
			delete(change, id)
		case !join && (!ok || e.User == nil || !slices.Contains(e.User.MemberOf, g.FSID)):
			delete(change, id)
		}
	}
	if len(change) == 0 {
		return nil
	}
	if err := b.changeAgentGroup(ctx, g.FSID, false, change); err != nil {
		b.auditEvent(ctx, "agent_group.change_members", g.ID, g.FSID, "error", "GET+PUT /api/v2/groups/"+strconv.FormatInt(g.FSID, 10)+" failed: "+plainError(err))
		return &stepError{step: mapping.Step{Kind: mapping.StepJoinAgentGroup, GroupID: g.FSID}, err: err}
	}
	var desc []string
	for id, join := range change {
		e, ok := b.dir.Get(id)
		if ok && e.User != nil {
			b.writeStep(ctx, nil, e.User, func(c *freshservice.User) {
				c.MemberOf = slices.DeleteFunc(slices.Clone(c.MemberOf), func(x int64) bool { return x == g.FSID })
				if join {
					c.MemberOf = append(c.MemberOf, g.FSID)
				}
			})
		}
		verb := "add"
		if !join {
			verb = "remove"
		}
		desc = append(desc, fmt.Sprintf("%s %d", verb, id))
	}
	slices.Sort(desc)
	b.auditEvent(ctx, "agent_group.change_members", g.ID, g.FSID, "ok", "GET+PUT /api/v2/groups/"+strconv.FormatInt(g.FSID, 10)+": "+strings.Join(desc, ", "))
	return nil
}

// reconcileUser takes a user's lock and reconciles it.
func (b *Bridge) reconcileUser(ctx context.Context, id int64) error {
	unlock, err := b.lock(ctx, "user:"+strconv.FormatInt(id, 10))
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := b.store.GetUser(ctx, id); errors.Is(err, store.ErrNotFound) {
		return nil // nothing was asked for this user (ensureMemberRecords gives group members a record)
	}
	_, err = b.reconcileLocked(ctx, id)
	return err
}

func (b *Bridge) markGroupClean(ctx context.Context, id string) error {
	_, err := b.store.UpdateGroup(ctx, id, func(g *store.Group) error {
		ga := decodeGroupApplied(g.Applied)
		ga.Pending = nil
		g.Applied = encode(ga)
		g.Dirty, g.Attempts, g.LastError = false, 0, ""
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

func diffIDs(before, after []int64) (added, removed []int64) {
	in := map[int64]bool{}
	for _, id := range before {
		in[id] = true
	}
	out := map[int64]bool{}
	for _, id := range after {
		out[id] = true
		if !in[id] {
			added = append(added, id)
		}
	}
	for _, id := range before {
		if !out[id] {
			removed = append(removed, id)
		}
	}
	return added, removed
}

// Replace is PUT of the whole group (Okta's AIW apps): its members are the ones listed.
func (gs *groupBackend) Replace(ctx context.Context, id string, attrs map[string]any) (scim.Resource, error) {
	b := gs.bridge
	saved, err := b.updateGroup(ctx, id, func(g store.Group) (groupChange, error) {
		doc := mapping.Doc(attrs)
		members, serr := b.memberIDs(ctx, doc, g.Members)
		if serr != nil {
			return groupChange{}, serr
		}
		added, removed := diffIDs(g.Members, members)
		return groupChange{doc: doc, members: members, added: added, removed: removed}, nil
	})
	if err != nil {
		return scim.Resource{}, err
	}
	return b.renderGroup(saved, true), nil
}

// Patch applies the operations in order, in the Okta, Entra and RFC forms of member changes and
// renames, and answers 204 with the group's new version. Member changes (add, remove and replace of
// members, members[value eq "id"], path-less {"members": [...]}) are applied to the stored list of
// member ids, so adding one member costs the same in a group of ten or of ten thousand; the other
// attributes are patched on the group's document without its members. A member path of any other
// form (members.display, a filter on another sub-attribute) is applied to the whole rendered group,
// as a PUT would be.
func (gs *groupBackend) Patch(ctx context.Context, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	b := gs.bridge
	var edit func(store.Group) (groupChange, error)
	if mops, dops, ok := splitMemberOps(ops); ok {
		edit = func(g store.Group) (groupChange, error) { return gs.patchMembers(ctx, g, mops, dops) }
	} else {
		edit = b.documentEdit(ctx, func(_ store.Group, cur mapping.Doc) (mapping.Doc, error) {
			next, err := scim.ApplyPatch(cur, ops, groupSchema)
			if err != nil {
				return nil, scim.AsError(err)
			}
			return next, nil
		})
	}
	saved, err := b.updateGroup(ctx, id, edit)
	if err != nil {
		return scim.Resource{}, err
	}
	return scim.Resource{Version: groupVersion(saved)}, nil
}

// changeGroup is the read-modify-write of one group's whole document, members included: change
// gets the group as its resource reads and returns what it should read. It renders and reads back
// every member, so it serves the changes that are about the whole group (leaveAllGroups drops
// users deleted over SCIM by handing back the rendering unchanged); PATCH and PUT use
// updateGroup directly.
func (b *Bridge) changeGroup(ctx context.Context, id string, change func(store.Group, mapping.Doc) (mapping.Doc, error), render bool) (scim.Resource, error) {
	saved, err := b.updateGroup(ctx, id, b.documentEdit(ctx, change))
	if err != nil || !render {
		return scim.Resource{}, err
	}
	return b.renderGroup(saved, true), nil
}

// groupChange is what a request makes of a group: its attributes other than members (displayName
// and externalId included), its member ids (ascending, no duplicates), and the members that joined
// and left.
type groupChange struct {
	doc            mapping.Doc
	members        []int64
	added, removed []int64
}

// documentEdit is the edit of changeGroup: the change is made on the group's rendered document.
func (b *Bridge) documentEdit(ctx context.Context, change func(store.Group, mapping.Doc) (mapping.Doc, error)) func(store.Group) (groupChange, error) {
	return func(g store.Group) (groupChange, error) {
		cur := b.renderGroup(g, true).Attributes
		if g.ExternalID != "" {
			cur["externalId"] = g.ExternalID
		}
		next, err := change(g, cur)
		if err != nil {
			return groupChange{}, err
		}
		members, serr := b.memberIDs(ctx, next, g.Members)
		if serr != nil {
			return groupChange{}, serr
		}
		added, removed := diffIDs(g.Members, members)
		return groupChange{doc: next, members: members, added: added, removed: removed}, nil
	}
}

// updateGroup is the read-modify-write of one group, serialised by the group's lock: concurrent
// changes to one group each see the result of the one before, so no member is lost. edit gets the
// stored group and says what it becomes; updateGroup checks the result (a displayName, unique; the
// seats the new members take), saves it, tells the directory, and re-plans the members that joined
// or left (all of them when the group changed kind or Freshservice object).
func (b *Bridge) updateGroup(ctx context.Context, id string, edit func(store.Group) (groupChange, error)) (store.Group, error) {
	unlock, err := b.lock(ctx, "group:"+id)
	if err != nil {
		return store.Group{}, err
	}
	defer unlock()
	g, err := b.store.GetGroup(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Group{}, scim.NotFound("Group", id)
	}
	if err != nil {
		return store.Group{}, scim.AsError(err)
	}
	ch, err := edit(g)
	if err != nil {
		return store.Group{}, err
	}
	name := strOf(ch.doc, "displayName")
	if name == "" {
		return store.Group{}, scim.Errorf(http.StatusBadRequest, scim.TypeInvalidValue, "displayName is required")
	}
	if !strings.EqualFold(name, g.DisplayName) {
		if other, err := b.store.GetGroupByDisplayName(ctx, name); err == nil && other.ID != g.ID {
			return store.Group{}, scim.Errorf(http.StatusConflict, scim.TypeUniqueness, "a group named %q already exists", name)
		}
	}
	renamed := name != g.DisplayName
	after := g
	after.DisplayName, after.ExternalID, after.Doc, after.Members = name, strOf(ch.doc, "externalId"), encode(groupDoc(ch.doc)), ch.members
	// Only the members that join can take a seat.
	if serr := b.checkGroupSeats(ctx, after, nil, ch.added); serr != nil {
		b.auditEvent(ctx, "group.change_members", g.ID, g.FSID, "error", serr.Detail)
		return store.Group{}, serr
	}
	if b.opts.DryRun {
		return store.Group{}, b.dryRunGroup(ctx, &g, after)
	}
	applied, err := b.ensureGroupObject(ctx, &after)
	if err != nil {
		return store.Group{}, toSCIMError(err)
	}
	if renamed && applied.Kind == KindRequesterGroup && applied.Created && after.FSID == g.FSID && after.FSID != 0 {
		if _, _, err := b.fs.RequesterGroups.Update(ctx, after.FSID, &freshservice.RequesterGroupFields{Name: freshservice.Ptr(name)}); err != nil {
			return store.Group{}, toSCIMError(err)
		}
	}
	toMark := append(append([]int64{}, ch.added...), ch.removed...)
	regroup := applied.Kind != decodeGroupApplied(g.Applied).Kind || after.FSID != g.FSID
	if regroup {
		toMark = append(toMark, g.Members...)
	}
	if err := b.ensureMemberRecords(ctx, dedupe(toMark)); err != nil {
		return store.Group{}, scim.AsError(err)
	}
	saved, err := b.store.UpdateGroup(ctx, id, func(s *store.Group) error {
		s.DisplayName, s.ExternalID, s.Doc, s.Members, s.FSID = after.DisplayName, after.ExternalID, after.Doc, after.Members, after.FSID
		s.Applied = withPending(applied, s.Applied, toMark...)
		s.Dirty = true
		return nil
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return store.Group{}, scim.Errorf(http.StatusConflict, scim.TypeUniqueness, "a group named %q already exists", name)
	}
	if err != nil {
		return store.Group{}, scim.AsError(err)
	}
	if !b.dir.ChangeGroup(saved.ID, saved.DisplayName, g.Version, saved.Version, ch.added, ch.removed) {
		b.dir.SetGroup(saved.ID, saved.DisplayName, saved.Version, saved.Members)
	}
	// applyMembers re-plans the members that changed between its before and after lists: the ones
	// that left and joined, or, when the group changed kind or object, every member.
	before, afterIDs := ch.removed, ch.added
	if regroup {
		before, afterIDs = nil, saved.Members
	}
	if err := b.applyMembers(ctx, saved, before, afterIDs); err != nil {
		return store.Group{}, toSCIMError(err)
	}
	return saved, nil
}

// memberOp is a PATCH operation on the members of a group, in a form applied to the list of member
// ids: add or replace items, remove items (or all members when all is set).
type memberOp struct {
	op    string
	items []any
	all   bool
}

// splitMemberOps separates member operations from the others. ok is false when an operation
// reaches members in a form the id list cannot take (a sub-attribute of members, a filter other
// than value eq "id", an item to remove that names no value).
func splitMemberOps(ops []scim.PatchOperation) (members []memberOp, doc []scim.PatchOperation, ok bool) {
	for _, op := range ops {
		if op.Path == nil {
			m, _ := op.Value.(map[string]any)
			rest := make(map[string]any, len(m))
			for k, v := range m {
				switch lk := strings.ToLower(k); {
				case lk == "members":
					members = append(members, memberOp{op: op.Op, items: itemsOf(v)})
				case strings.Contains(lk, "members"):
					return nil, nil, false
				default:
					rest[k] = v
				}
			}
			if len(rest) > 0 {
				doc = append(doc, scim.PatchOperation{Op: op.Op, Value: rest})
			}
			continue
		}
		ap := op.Path.AttributePath
		if !strings.EqualFold(ap.AttributeName, "members") || (ap.URIPrefix != nil && !strings.EqualFold(*ap.URIPrefix, scim.URNGroup)) {
			doc = append(doc, op)
			continue
		}
		if ap.SubAttribute != nil || op.Path.SubAttribute != nil {
			return nil, nil, false
		}
		if op.Path.ValueExpression != nil {
			v, isValueEq := memberValueEq(op.Path.ValueExpression)
			if !isValueEq || op.Op != scim.PatchRemove {
				return nil, nil, false
			}
			members = append(members, memberOp{op: scim.PatchRemove, items: []any{map[string]any{"value": v}}})
			continue
		}
		mo := memberOp{op: op.Op, items: itemsOf(op.Value)}
		if op.Op == scim.PatchRemove {
			if op.Value == nil {
				mo.all = true
			}
			for _, it := range mo.items {
				if _, isValue := memberItemValue(it); !isValue {
					return nil, nil, false
				}
			}
		}
		members = append(members, mo)
	}
	return members, doc, true
}

// itemsOf is the list a member operation's value holds: an array, or a single member.
func itemsOf(v any) []any {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		return t
	}
	return []any{v}
}

// memberItemValue is the value (the user id) of one member item: {"value": "42"}, or "42".
func memberItemValue(it any) (string, bool) {
	switch t := it.(type) {
	case string:
		return t, true
	case map[string]any:
		for k, v := range t {
			if strings.EqualFold(k, "value") {
				s, ok := v.(string)
				return s, ok
			}
		}
	}
	return "", false
}

// memberValueEq reads the value filter value eq "id".
func memberValueEq(expr filter.Expression) (string, bool) {
	e, ok := expr.(*filter.AttributeExpression)
	if !ok || e.Operator != filter.EQ || e.AttributePath.URIPrefix != nil || e.AttributePath.SubAttribute != nil ||
		!strings.EqualFold(e.AttributePath.AttributeName, "value") {
		return "", false
	}
	return scim.FilterString(e.CompareValue)
}

// patchMembers applies a PATCH split by splitMemberOps: the other attributes with ApplyPatch on the
// group's document without members, the member operations on the stored ids. Its cost is that of
// the request, not of the group: members are found by binary search in the stored, ascending list,
// and only the ids the request names are looked up or validated.
func (gs *groupBackend) patchMembers(ctx context.Context, g store.Group, mops []memberOp, dops []scim.PatchOperation) (groupChange, error) {
	doc := decodeDoc(g.Doc)
	if doc == nil {
		doc = mapping.Doc{}
	}
	doc["displayName"] = g.DisplayName
	delete(doc, "members")
	if g.ExternalID != "" {
		doc["externalId"] = g.ExternalID
	} else {
		delete(doc, "externalId")
	}
	if len(dops) > 0 {
		next, err := scim.ApplyPatch(doc, dops, groupSchema)
		if err != nil {
			return groupChange{}, scim.AsError(err)
		}
		doc = next
	}
	set := memberSet{base: g.Members, changes: map[int64]bool{}}
	for _, mo := range mops {
		switch {
		case mo.op == scim.PatchRemove && mo.all:
			set.replace(nil)
		case mo.op == scim.PatchRemove:
			for _, it := range mo.items {
				v, _ := memberItemValue(it)
				if id, ok := mapping.ParseUserID(v); ok {
					set.changes[id] = false
				}
			}
		default:
			ids, gone, serr := gs.memberItems(ctx, mo.items, g.Members)
			if serr != nil {
				return groupChange{}, serr
			}
			if mo.op == scim.PatchReplace {
				set.replace(ids)
			} else {
				for _, id := range ids {
					set.changes[id] = true
				}
			}
			for _, id := range gone {
				set.changes[id] = false
			}
		}
	}
	members := set.list()
	added, removed := set.delta(g.Members)
	return groupChange{doc: doc, members: members, added: added, removed: removed}, nil
}

// memberItems reads the members a PATCH adds or sets, as memberIDs reads a document's: user ids of
// users the bridge can see. gone are the ones the group had whose users have since been deleted over
// SCIM: dropped rather than refused.
func (gs *groupBackend) memberItems(ctx context.Context, items []any, had []int64) (ids, gone []int64, serr *scim.Error) {
	for _, it := range items {
		val, ok := memberItemValue(it)
		if m, isMap := it.(map[string]any); isMap {
			if typ, _ := m["type"].(string); strings.EqualFold(typ, "Group") {
				return nil, nil, scim.Errorf(http.StatusBadRequest, scim.TypeInvalidValue, "nested groups are not supported (member %q is a group)", val)
			}
		}
		if !ok {
			return nil, nil, scim.Errorf(http.StatusBadRequest, scim.TypeInvalidValue, "a member's value must be a string holding a user id")
		}
		id, ok := mapping.ParseUserID(val)
		if !ok {
			return nil, nil, scim.Errorf(http.StatusBadRequest, scim.TypeInvalidValue, "member %q is not a user id", val)
		}
		if e, found := gs.bridge.entry(ctx, id); !found || !e.Visible() {
			if _, had := slices.BinarySearch(had, id); had {
				gone = append(gone, id)
				continue
			}
			return nil, nil, scim.Errorf(http.StatusBadRequest, scim.TypeInvalidValue, "member %q is not a known user", val)
		}
		ids = append(ids, id)
	}
	return ids, gone, nil
}

// memberSet is a group's member ids while a PATCH changes them: a base list, ascending (the stored
// members, or the list a replace gave), and the ids the request set in or out since.
type memberSet struct {
	base     []int64
	replaced bool
	changes  map[int64]bool
}

// replace makes ids the members.
func (s *memberSet) replace(ids []int64) {
	s.base = dedupe(ids)
	slices.Sort(s.base)
	s.replaced = true
	clear(s.changes)
}

// list returns the members, ascending: the base less the ids set out, merged with the ids set in.
func (s *memberSet) list() []int64 {
	var in []int64
	for id, member := range s.changes {
		if _, found := slices.BinarySearch(s.base, id); member && !found {
			in = append(in, id)
		}
	}
	slices.Sort(in)
	out := make([]int64, 0, len(s.base)+len(in))
	j := 0
	for _, id := range s.base {
		for j < len(in) && in[j] < id {
			out = append(out, in[j])
			j++
		}
		if member, changed := s.changes[id]; !changed || member {
			out = append(out, id)
		}
	}
	return append(out, in[j:]...)
}

// delta returns the members that joined and left since orig (ascending, as the store keeps it).
func (s *memberSet) delta(orig []int64) (added, removed []int64) {
	if s.replaced {
		return diffIDs(orig, s.list())
	}
	for id, member := range s.changes {
		_, was := slices.BinarySearch(orig, id)
		switch {
		case member && !was:
			added = append(added, id)
		case !member && was:
			removed = append(removed, id)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

func decodeGroupApplied(raw json.RawMessage) groupApplied {
	var a groupApplied
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &a)
	}
	return a
}

// Delete removes the group: its members leave it in Freshservice (role
// group members are demoted as the rule says), and a requester group the
// bridge created is deleted there too.
func (gs *groupBackend) Delete(ctx context.Context, id string) error {
	b := gs.bridge
	unlock, err := b.lock(ctx, "group:"+id)
	if err != nil {
		return err
	}
	defer unlock()
	g, err := b.store.GetGroup(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return scim.NotFound("Group", id)
	}
	if err != nil {
		return scim.AsError(err)
	}
	members := g.Members
	if b.opts.DryRun {
		after := g
		after.Members = nil
		return b.dryRunGroup(ctx, &g, after)
	}
	if err := b.ensureMemberRecords(ctx, members); err != nil {
		return scim.AsError(err)
	}
	emptied, err := b.store.UpdateGroup(ctx, id, func(s *store.Group) error {
		s.Members = nil
		s.Applied = withPending(decodeGroupApplied(s.Applied), s.Applied, members...)
		s.Dirty = true
		return nil
	})
	if err != nil {
		return scim.AsError(err)
	}
	if err := b.applyMembers(ctx, emptied, members, nil); err != nil {
		return toSCIMError(err)
	}
	ga := decodeGroupApplied(g.Applied)
	if ga.Kind == KindRequesterGroup && ga.Created && g.FSID != 0 {
		if _, err := b.fs.RequesterGroups.Delete(ctx, g.FSID); err != nil && !errors.Is(err, freshservice.ErrNotFound) {
			return toSCIMError(err)
		}
		b.updateCatalog(func(c *Catalog) { delete(c.RequesterGroups, g.FSID) })
	}
	if err := b.store.DeleteGroup(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return scim.AsError(err)
	}
	b.dir.RemoveGroup(id)
	b.auditEvent(ctx, "group.delete", id, g.FSID, "ok", fmt.Sprintf("%s %q", ga.Kind, g.DisplayName))
	return nil
}
