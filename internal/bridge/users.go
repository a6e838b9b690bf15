package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/fault"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/mapping"
	"github.com/fsbridge/fsbridge/scim"
)

// userBackend is the SCIM backend for /Users (Bridge.Users): it answers reads from the bridge's
// directory of users, and turns writes into desired states whose plans the bridge runs.
type userBackend struct {
	bridge *Bridge
	// schema is the /Users resource schema, extensions included: filters, sorting and PATCH
	// paths are read against it.
	schema scim.ResourceSchema
}

var _ scim.Backend = (*userBackend)(nil)

func newUserBackend(b *Bridge) *userBackend { return &userBackend{bridge: b, schema: b.userSchema} }

// cleanUserDoc is the desired document for attrs: read-only and
// never-stored attributes removed.
func cleanUserDoc(attrs map[string]any) mapping.Doc {
	doc := mapping.DeepCopy(attrs)
	for k := range doc {
		switch strings.ToLower(k) {
		case "id", "meta", "schemas", "groups", "password":
			delete(doc, k)
		}
	}
	if ext, ok := doc[mapping.URNFreshservice].(map[string]any); ok {
		delete(ext, "agentType")
		if len(ext) == 0 {
			delete(doc, mapping.URNFreshservice)
		}
	}
	return doc
}

func userNameOf(doc mapping.Doc) string { return strOf(doc, "userName") }

func externalIDOf(doc mapping.Doc) string { return strOf(doc, "externalId") }

// Get returns a user by id: agents and requesters alike, active or not;
// users deleted over SCIM answer 404.
func (u *userBackend) Get(ctx context.Context, id string) (scim.Resource, error) {
	b := u.bridge
	n, ok := mapping.ParseUserID(id)
	if !ok {
		return scim.Resource{}, scim.NotFound("User", id)
	}
	e, ok := b.entry(ctx, n)
	if !ok || !e.Visible() {
		return scim.Resource{}, scim.NotFound("User", id)
	}
	res, err := b.renderUser(ctx, e)
	if err != nil {
		return scim.Resource{}, scim.AsError(err)
	}
	return res, nil
}

// List answers a filter from the directory, as mapping.PlanLookup plans it: the lookups IdPs send
// (userName, id, externalId and email equality, which the edge hands over as a scim.Lookup) from its
// indexes; other filters from the users their indexed terms name where they can, and over every
// user otherwise. A sorted list is ordered by the users' SCIM documents before it is paged.
func (u *userBackend) List(ctx context.Context, q scim.ListQuery) (scim.Page, error) {
	b := u.bridge
	plan := mapping.PlanLookup(q.Filter, q.Lookup)
	ids := u.candidates(plan.Source)
	var matched []directory.Entry
	// A lookup's few candidates are rendered once, for the filter and for the answer alike.
	var rendered map[int64]scim.Resource
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return scim.Page{}, scim.AsError(err)
		}
		e, ok := b.dir.Get(id)
		if !ok || !e.Visible() {
			continue
		}
		switch {
		case plan.Check == mapping.CheckNone:
		case plan.Check == mapping.CheckUserName && sameFold(e.UserName(), plan.Source.Value):
		case plan.Check == mapping.CheckRendered:
			res, err := b.renderUser(ctx, e)
			if err != nil {
				return scim.Page{}, scim.AsError(err)
			}
			if !scim.Match(res.Attributes, q.Filter, u.schema) {
				continue
			}
			if rendered == nil {
				rendered = map[int64]scim.Resource{}
			}
			rendered[id] = res
		case !scim.Match(b.matchDoc(ctx, e, plan.Groups), q.Filter, u.schema):
			continue
		}
		matched = append(matched, e)
	}
	if q.SortBy != "" {
		groups := strings.HasPrefix(strings.ToLower(q.SortBy), "groups")
		scim.Sort(matched, func(e directory.Entry) map[string]any { return b.matchDoc(ctx, e, groups) }, q, u.schema)
	}
	page := scim.Page{Total: len(matched), Resources: []scim.Resource{}}
	start := q.StartIndex - 1
	if start < 0 {
		start = 0
	}
	for i := start; i < len(matched) && len(page.Resources) < q.Count; i++ {
		res, ok := rendered[matched[i].User.ID]
		if !ok {
			var err error
			if res, err = b.renderUser(ctx, matched[i]); err != nil {
				return scim.Page{}, scim.AsError(err)
			}
		}
		page.Resources = append(page.Resources, res)
	}
	return page, nil
}

// candidates are the ids of the users a lookup plan's source names, in the directory's order for a
// scan.
func (u *userBackend) candidates(src mapping.LookupSource) []int64 {
	switch src.Kind {
	case mapping.SourceIndex:
		return u.indexed(src.Index, src.Value)
	case mapping.SourceSmaller:
		l, r := u.candidates(src.Sides[0]), u.candidates(src.Sides[1])
		if len(l) <= len(r) {
			return l
		}
		return r
	case mapping.SourceUnion:
		return dedupe(append(u.candidates(src.Sides[0]), u.candidates(src.Sides[1])...))
	}
	return u.bridge.dir.IDs()
}

// indexed reads one index of the directory: the ids of the users it holds under v. userName and
// email compare ignoring case, as the indexes do; id and externalId exactly.
func (u *userBackend) indexed(index mapping.LookupIndex, v string) []int64 {
	dir := u.bridge.dir
	switch index {
	case mapping.IndexUserName:
		if en, ok := dir.ByUserName(v); ok && en.User != nil {
			return []int64{en.User.ID}
		}
	case mapping.IndexID:
		if n, ok := mapping.ParseUserID(v); ok {
			return []int64{n}
		}
	case mapping.IndexExternalID:
		var ids []int64
		for _, en := range dir.ByExternalID(v) {
			if en.User != nil {
				ids = append(ids, en.User.ID)
			}
		}
		return ids
	case mapping.IndexEmail:
		if en, ok := dir.ByEmail(v); ok && en.User != nil {
			return []int64{en.User.ID}
		}
	}
	return nil
}

// sameFold reports whether two strings are equal ignoring case as a filter compares them (lower
// case, for an attribute that is not caseExact).
func sameFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		if a[i] >= 0x80 {
			return strings.ToLower(a) == strings.ToLower(b)
		}
	}
	for i := 0; i < len(b); i++ {
		if b[i] >= 0x80 {
			return strings.ToLower(a) == strings.ToLower(b)
		}
	}
	return strings.EqualFold(a, b)
}

// Create provisions a user (DESIGN D2, D5):
//   - a userName or email the bridge already manages: 409 uniqueness;
//   - the email of a deactivated Freshservice user, or of one deleted over
//     SCIM: that record is reactivated and given the body (201, same id);
//   - the email of an active user the bridge does not manage: adopted, if
//     adopt_existing is on, else 409;
//   - otherwise a new requester (or, if the rules say so, an agent with
//     its roles) in one call.
func (u *userBackend) Create(ctx context.Context, attrs map[string]any) (scim.Resource, error) {
	b := u.bridge
	doc := cleanUserDoc(attrs)
	email, err := mapping.PrimaryEmail(doc)
	if err != nil {
		return scim.Resource{}, &scim.Error{Status: http.StatusBadRequest, ScimType: scim.TypeInvalidValue, Detail: err.Error()}
	}
	// Bad input is refused before anything is written.
	if _, err := b.target(ctx, 0, doc, false, mapping.Applied{}, nil); err != nil {
		serr := toSCIMError(err)
		b.auditRefusal(ctx, "user.create", "", 0, email, serr)
		return scim.Resource{}, serr
	}
	unlock, err := b.lockCreate(ctx, doc, email)
	if err != nil {
		return scim.Resource{}, err
	}
	defer unlock()

	userName := userNameOf(doc)
	_, intentErr := b.store.GetIntent(ctx, strings.ToLower(email))
	ours := intentErr == nil
	if e, ok := b.byUserName(ctx, userName); ok && e.Managed() && e.Visible() {
		if ours && strings.EqualFold(e.User.Email, email) {
			// A retry of a create whose answer the IdP never got (the
			// background pass may have finished it meanwhile): the same
			// user, not a conflict.
			return b.claim(ctx, e, doc, true)
		}
		return scim.Resource{}, scim.Errorf(http.StatusConflict, scim.TypeUniqueness, "a user with userName %q already exists (id %d)", userName, e.User.ID)
	}
	if serr := b.pendingUserName(ctx, userName, email); serr != nil {
		return scim.Resource{}, serr
	}
	if b.opts.DryRun {
		var id int64
		if e, ok := b.dir.ByEmail(email); ok && e.User != nil {
			id = e.User.ID
		}
		return scim.Resource{}, b.dryRunUser(ctx, id, doc, false)
	}
	if e, ok := b.dir.ByEmail(email); ok && e.User != nil {
		if e.Desired != nil && e.Desired.Deleted {
			// A user deleted over SCIM comes back with no group
			// memberships: what it had before (and the agent rights role
			// groups gave it) the IdP must give again.
			if err := b.leaveAllGroups(ctx, e.User.ID); err != nil {
				return scim.Resource{}, toSCIMError(err)
			}
		}
		return b.claim(ctx, e, doc, ours)
	}
	return b.createNew(ctx, email, doc, ours, false)
}

// createNew creates the Freshservice user. The intent saved first marks
// the email as ours, so if the bridge dies after Freshservice created the
// user, or the answer to the create is lost, the retried POST adopts that
// user instead of failing. earlier says an earlier attempt left an intent;
// background keeps the intent after success, for the IdP's retry.
func (b *Bridge) createNew(ctx context.Context, email string, doc mapping.Doc, earlier, background bool) (scim.Resource, error) {
	key := strings.ToLower(email)
	if e, ok := b.byUserName(ctx, userNameOf(doc)); ok && e.Managed() && e.Visible() && !strings.EqualFold(e.User.Email, email) {
		// Another user took the userName since this create was asked for
		// (its intent outlived the request): creating it now would make a
		// Freshservice user no SCIM resource can own.
		_ = b.store.DeleteIntent(ctx, key)
		return scim.Resource{}, scim.Errorf(http.StatusConflict, scim.TypeUniqueness, "a user with userName %q already exists (id %d)", userNameOf(doc), e.User.ID)
	}
	if err := b.store.PutIntent(ctx, store.Intent{Key: key, Doc: encode(doc), Created: time.Now()}); err != nil {
		return scim.Resource{}, scim.AsError(err)
	}
	t, err := b.target(ctx, 0, doc, false, mapping.Applied{}, nil)
	if err == nil && b.createMissing(ctx, t.Profile.Gaps) {
		t, err = b.target(ctx, 0, doc, false, mapping.Applied{}, nil)
	}
	if err != nil {
		return scim.Resource{}, toSCIMError(err)
	}
	release, err := b.takeSeat(ctx, nil, t.Target)
	if err != nil {
		var serr *scim.Error
		if errors.As(err, &serr) {
			_ = b.store.DeleteIntent(ctx, key)
			b.auditRefusal(ctx, "user.create", "", 0, email, serr)
		}
		return scim.Resource{}, scim.AsError(err)
	}
	plan := mapping.PlanUser(nil, t.Target, mapping.Applied{})
	applied := mapping.Applied{Fields: t.Profile.Set, Rules: t.Rules, Gaps: t.Profile.Gaps}
	created, err := b.execute(ctx, plan[:1], nil, &applied, "")
	if err != nil {
		release(0)
	} else {
		release(created.ID)
	}
	if err != nil {
		taken := errors.Is(err, freshservice.ErrDuplicate)
		switch reason := freshservice.Classify(err); {
		case taken, reason == freshservice.ReasonTransport, reason == freshservice.ReasonServer, reason == freshservice.ReasonDecode, reason == freshservice.ReasonCanceled:
			// Freshservice already has the email (the mirror was behind),
			// or the create may have happened before the answer was lost
			// (or before the IdP hung up): one exact lookup tells. If
			// the lookup cannot run, the intent stays and the retry or the
			// background pass finds out.
			found, lerr := b.lookupEmail(ctx, email)
			if lerr != nil {
				// Unknown whether the user exists: retryable, and the
				// intent stays so the retry knows the email is ours.
				return scim.Resource{}, toSCIMError(lerr)
			}
			if found != nil {
				// Ours if an earlier attempt was made, or if this one may
				// have created it before its answer was lost; a plain
				// conflict on a first attempt is someone else's user.
				ours := earlier || !taken
				e, _ := b.dir.Get(found.ID)
				if background {
					return b.claimKeepingIntent(ctx, e, doc, ours)
				}
				return b.claim(ctx, e, doc, ours)
			}
			if taken {
				// A secondary email clashes with another user.
				_ = b.store.DeleteIntent(ctx, key)
			}
		default:
			_ = b.store.DeleteIntent(ctx, key)
		}
		return scim.Resource{}, toSCIMError(err)
	}
	id := created.ID
	unlock, lerr := b.lock(ctx, "user:"+strconv.FormatInt(id, 10))
	if lerr != nil {
		return scim.Resource{}, lerr
	}
	defer unlock()
	now := time.Now()
	rec := store.User{
		ID: id, UserName: userNameOf(doc), ExternalID: externalIDOf(doc), Doc: encode(doc),
		Created: now, Modified: now, Applied: encode(applied), Dirty: len(plan) > 1,
	}
	_, err = b.store.CreateUser(ctx, rec)
	if errors.Is(err, store.ErrAlreadyExists) {
		// A record for this id exists (deleted earlier): reuse it.
		_, err = b.store.UpdateUser(ctx, id, func(s *store.User) error {
			s.UserName, s.ExternalID, s.Doc, s.Deleted = rec.UserName, rec.ExternalID, rec.Doc, false
			s.Applied, s.Dirty = rec.Applied, rec.Dirty
			return nil
		})
	}
	if err != nil {
		return scim.Resource{}, scim.AsError(err)
	}
	if !background {
		_ = b.store.DeleteIntent(ctx, key)
	}
	b.recordGaps(ctx, id, userNameOf(doc), nil, t.Profile.Gaps)
	b.downgrades.set(id, userNameOf(doc), applied.Downgraded)
	if len(plan) > 1 {
		if _, err := b.reconcileLocked(ctx, id); err != nil {
			return scim.Resource{}, toSCIMError(err)
		}
	}
	e, _ := b.dir.Get(id)
	return b.renderUser(ctx, e)
}

// claim answers a POST whose email Freshservice already holds, and
// settles the email's intent.
func (b *Bridge) claim(ctx context.Context, e directory.Entry, doc mapping.Doc, ours bool) (scim.Resource, error) {
	res, err := b.claimKeepingIntent(ctx, e, doc, ours)
	if err == nil {
		_ = b.store.DeleteIntent(ctx, strings.ToLower(e.User.Email))
	}
	return res, err
}

// claimKeepingIntent is claim for the background pass: the intent stays
// until the IdP's own retry gets its answer, so that retry is recognised
// as the same create, not a conflict.
func (b *Bridge) claimKeepingIntent(ctx context.Context, e directory.Entry, doc mapping.Doc, ours bool) (scim.Resource, error) {
	id := e.User.ID
	unlock, err := b.lock(ctx, "user:"+strconv.FormatInt(id, 10))
	if err != nil {
		return scim.Resource{}, err
	}
	defer unlock()
	e, _ = b.dir.Get(id)
	switch {
	case ours:
		// Our own earlier attempt created it.
	case e.Managed():
		return scim.Resource{}, scim.Errorf(http.StatusConflict, scim.TypeUniqueness, "the email %s belongs to user %d, which is already provisioned", e.User.Email, id)
	case e.Desired != nil && e.Desired.Deleted, !e.User.Active:
		// Deleted over SCIM, or deactivated: the same record comes back.
	case b.opts.AdoptExisting:
		// An active Freshservice user not yet managed: adopted.
	default:
		return scim.Resource{}, scim.Errorf(http.StatusConflict, scim.TypeUniqueness, "Freshservice already has an active user with the email %s (id %d) and adopt_existing is off", e.User.Email, id)
	}
	if ours && e.User.IsAgent && e.Desired == nil {
		// An agent our own lost create made (POST /agents): the bridge
		// promoted it, and may demote it later.
		rec := store.User{ID: id, UserName: userNameOf(doc), Doc: encode(doc), Applied: encode(mapping.Applied{Promoted: true}), Dirty: true}
		_, _ = b.store.CreateUser(ctx, rec)
	}
	return b.putDesired(ctx, id, doc, false)
}

// Replace is PUT: the body replaces the desired state (Okta's GET then
// PUT of the whole object).
func (u *userBackend) Replace(ctx context.Context, id string, attrs map[string]any) (scim.Resource, error) {
	b := u.bridge
	n, ok := mapping.ParseUserID(id)
	if !ok {
		return scim.Resource{}, scim.NotFound("User", id)
	}
	unlock, err := b.lock(ctx, "user:"+strconv.FormatInt(n, 10))
	if err != nil {
		return scim.Resource{}, err
	}
	defer unlock()
	b.loadFromStore(ctx, n)
	e, ok := b.dir.Get(n)
	if !ok || !e.Visible() {
		return scim.Resource{}, scim.NotFound("User", id)
	}
	return b.putDesired(ctx, n, cleanUserDoc(attrs), false)
}

// Patch applies the operations to the desired state (or, for a user the
// bridge does not manage yet, to its current SCIM view) in order.
func (u *userBackend) Patch(ctx context.Context, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	b := u.bridge
	n, ok := mapping.ParseUserID(id)
	if !ok {
		return scim.Resource{}, scim.NotFound("User", id)
	}
	unlock, err := b.lock(ctx, "user:"+strconv.FormatInt(n, 10))
	if err != nil {
		return scim.Resource{}, err
	}
	defer unlock()
	b.loadFromStore(ctx, n)
	e, ok := b.dir.Get(n)
	if !ok || !e.Visible() {
		return scim.Resource{}, scim.NotFound("User", id)
	}
	base := e.Doc()
	if base == nil {
		base = b.userDoc(e)
	}
	if e.Managed() && e.Desired.ExternalID != "" {
		base["externalId"] = e.Desired.ExternalID
	}
	next, err := scim.ApplyPatch(base, ops, u.schema)
	if err != nil {
		return scim.Resource{}, scim.AsError(err)
	}
	return b.putDesired(ctx, n, cleanUserDoc(next), false)
}

// Delete deactivates (or, if configured, erases) the user; afterwards GET
// and DELETE answer 404, and a POST with the same userName brings the same
// Freshservice record back.
func (u *userBackend) Delete(ctx context.Context, id string) error {
	b := u.bridge
	n, ok := mapping.ParseUserID(id)
	if !ok {
		return scim.NotFound("User", id)
	}
	err := func() error {
		unlock, err := b.lock(ctx, "user:"+strconv.FormatInt(n, 10))
		if err != nil {
			return err
		}
		defer unlock()
		b.loadFromStore(ctx, n)
		e, ok := b.dir.Get(n)
		if !ok || !e.Visible() {
			return scim.NotFound("User", id)
		}
		doc := e.Doc()
		if doc == nil {
			doc = b.userDoc(e)
		}
		_, err = b.putDesired(ctx, n, doc, true)
		return err
	}()
	if err != nil {
		return err
	}
	// A deleted user is no group's member any more. The deactivation has
	// happened and the user answers 404 from now on, so a failure here does
	// not fail the DELETE: the memberships no longer show, and a later POST
	// that brings the user back clears them before anything else.
	if err := b.leaveAllGroups(ctx, n); err != nil {
		b.logger(ctx).Warn().Err(err).Int64("fs_id", n).Msg("taking a deleted user out of its groups failed; the groups no longer list it, and a new POST clears them first")
	}
	return nil
}

// leaveAllGroups takes user id out of every SCIM group, and through each
// group's own change out of the Freshservice agent groups the bridge
// manages (requester groups Freshservice empties itself at deactivation;
// role groups have no Freshservice object). The caller holds no group or
// user lock (they come after it in the lock order).
func (b *Bridge) leaveAllGroups(ctx context.Context, id int64) error {
	gids, err := b.store.GroupsOf(ctx, id)
	if err != nil {
		return fmt.Errorf("reading the groups of user %d: %w", id, err)
	}
	for _, gid := range gids {
		// The group's own rendering leaves out users deleted over SCIM, so
		// an unchanged document drops the member.
		_, err := b.changeGroup(ctx, gid, func(_ store.Group, cur mapping.Doc) (mapping.Doc, error) { return cur, nil }, false)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			var serr *scim.Error
			if !errors.As(err, &serr) || serr.Status != http.StatusNotFound {
				return fmt.Errorf("taking user %d out of group %s: %w", id, gid, err)
			}
		}
	}
	return nil
}

// putDesired validates doc, saves it as the desired state of user id, and
// runs the plan. The caller holds the user's lock. On a failure that
// retrying cannot fix (Freshservice rejected a value, no seat is left) the
// previous desired state is restored, so a refused request changes
// nothing; on a passing failure (429, 5xx, timeout) the new state stays
// saved and the background pass finishes it.
func (b *Bridge) putDesired(ctx context.Context, id int64, doc mapping.Doc, deleted bool) (scim.Resource, error) {
	prev, perr := b.store.GetUser(ctx, id)
	hadPrev := perr == nil
	if perr != nil && !errors.Is(perr, store.ErrNotFound) {
		return scim.Resource{}, scim.AsError(perr)
	}
	applied := decodeApplied(prev.Applied)
	t, err := b.target(ctx, id, doc, deleted, applied, nil)
	if err != nil {
		serr := toSCIMError(err)
		b.auditRefusal(ctx, "user.update", strconv.FormatInt(id, 10), id, userNameOf(doc), serr)
		return scim.Resource{}, serr
	}
	if e, ok := b.dir.Get(id); ok && e.User != nil && b.protectedReason(e.User) != "" {
		var prevPlan mapping.Plan
		if hadPrev {
			if pt, err := b.target(ctx, id, decodeDoc(prev.Doc), prev.Deleted, applied, t.groups); err == nil {
				prevPlan = mapping.PlanUser(e.User, pt.Target, applied)
			}
		}
		if serr := b.refuseLockOut(ctx, e.User, mapping.PlanUser(e.User, t.Target, applied), prevPlan); serr != nil {
			return scim.Resource{}, serr
		}
	}
	userName := userNameOf(doc)
	if !deleted {
		if other, ok := b.dir.ByUserName(userName); ok && other.User != nil && other.User.ID != id && other.Visible() {
			return scim.Resource{}, scim.Errorf(http.StatusConflict, scim.TypeUniqueness, "userName %q is already used by user %d", userName, other.User.ID)
		}
	}
	if b.opts.DryRun {
		return scim.Resource{}, b.dryRunUser(ctx, id, doc, deleted)
	}
	write := func(s *store.User) {
		s.UserName, s.ExternalID, s.Doc, s.Deleted = userName, externalIDOf(doc), encode(doc), deleted
		s.Dirty, s.Attempts, s.LastError, s.NextAttempt = true, 0, "", time.Time{}
	}
	if hadPrev {
		_, err = b.store.UpdateUser(ctx, id, func(s *store.User) error { write(s); return nil })
	} else {
		rec := store.User{ID: id}
		write(&rec)
		_, err = b.store.CreateUser(ctx, rec)
	}
	if errors.Is(err, store.ErrAlreadyExists) {
		return scim.Resource{}, scim.Errorf(http.StatusConflict, scim.TypeUniqueness, "userName %q is already used by another user", userName)
	}
	if err != nil {
		return scim.Resource{}, scim.AsError(err)
	}
	// The plan is made from the document as the store now holds it, and from the groups this
	// request read.
	if _, err := b.reconcileWith(ctx, id, t.groups); err != nil {
		if permanent(err) {
			b.restore(ctx, id, prev, hadPrev, true)
		}
		return scim.Resource{}, toSCIMError(err)
	}
	if deleted {
		return scim.Resource{}, nil
	}
	e, _ := b.dir.Get(id)
	if !e.Visible() {
		return scim.Resource{}, scim.NotFound("User", strconv.FormatInt(id, 10))
	}
	return b.renderUser(ctx, e)
}

// restore puts back the desired state a refused request replaced. dirty
// marks it for the background pass, which undoes any step of the refused
// plan that did run.
func (b *Bridge) restore(ctx context.Context, id int64, prev store.User, hadPrev, dirty bool) {
	if !hadPrev {
		_ = b.store.DeleteUser(ctx, id)
		return
	}
	_, err := b.store.UpdateUser(ctx, id, func(s *store.User) error {
		s.UserName, s.ExternalID, s.Doc, s.Deleted = prev.UserName, prev.ExternalID, prev.Doc, prev.Deleted
		s.Dirty = dirty
		return nil
	})
	if err != nil {
		b.logger(ctx).Error().Err(err).Int64("fs_id", id).Msg("restoring the previous desired state failed")
	}
}

// reconcileLocked brings Freshservice to the desired state of user id and
// records the outcome. The caller holds the user's lock.
func (b *Bridge) reconcileLocked(ctx context.Context, id int64) (directory.Entry, error) {
	return b.reconcileWith(ctx, id, nil)
}

// reconcileWith is reconcileLocked for a user in the SCIM groups given (nil: as the store says,
// read once). Running the plan changes Freshservice, not the user's groups, so every round plans
// from the same groups.
func (b *Bridge) reconcileWith(ctx context.Context, id int64, groups []store.Group) (directory.Entry, error) {
	rec, err := b.store.GetUser(ctx, id)
	if err != nil {
		return directory.Entry{}, err
	}
	applied := decodeApplied(rec.Applied)
	b.loadFromStore(ctx, id)
	e, _ := b.dir.Get(id)
	cur := e.User
	if cur == nil || (cur.IsAgent && cur.Roles == nil) || applied.InFlight {
		if err := b.refreshUser(ctx, id); err != nil {
			return e, b.recordFailure(ctx, id, err)
		}
		e, _ = b.dir.Get(id)
		cur = e.User
	}
	doc := decodeDoc(rec.Doc)
	// Plan, run, and plan again: a step can change more than it says
	// (reactivating may find the agent's groups cleared), so the bridge
	// re-plans from what Freshservice answered until nothing is left to do.
	gapsBefore := applied.Gaps
	for round := 0; ; round++ {
		t, err := b.target(ctx, id, doc, rec.Deleted, applied, groups)
		if err == nil && b.createMissing(ctx, t.Profile.Gaps) {
			// The catalog has what was missing: the profile changes, the groups do not.
			t, err = b.target(ctx, id, doc, rec.Deleted, applied, t.groups)
		}
		if err != nil {
			return e, b.recordFailure(ctx, id, err)
		}
		groups = t.groups
		applied.Gaps = t.Profile.Gaps
		if !t.FullTime {
			applied.Downgraded = nil // the rules no longer ask for a full-time seat
		}
		if reason := b.protectedReason(cur); reason != "" {
			// A request that asks to lock a protected user out is refused
			// before it is saved (putDesired); a change that reaches the
			// user otherwise (leaving a role group, rules that changed) is
			// applied without the part that would lock them out.
			safe := mapping.Protect(cur, t.Target)
			if step, locks := mapping.LocksOut(cur, mapping.PlanUser(cur, t.Target, applied)); locks {
				m, p := step.Call()
				b.logger(ctx).Warn().Int64("fs_id", id).Str("kept", m+" "+p).Msg("not locking out a protected user: " + reason)
			}
			t.Target = safe
		}
		plan := mapping.PlanUser(cur, t.Target, applied)
		// What the IdP has sent is managed from now on, even when
		// Freshservice already holds it (an adopted user, a create
		// whose answer was lost): a later removal must clear it.
		applied.Fields |= t.Profile.Set
		if t.Kind == mapping.KindAgent {
			applied.Rules = t.Rules
		}
		if len(plan) == 0 {
			break
		}
		if round == 3 {
			b.saveApplied(ctx, id, applied)
			return e, b.recordFailure(ctx, id, fmt.Errorf("the plan for user %d did not settle after %d rounds: %s", id, round, plan))
		}
		release, err := b.takeSeat(ctx, cur, t.Target)
		if err != nil {
			var serr *scim.Error
			if errors.As(err, &serr) {
				b.auditEvent(ctx, "user.promote", strconv.FormatInt(id, 10), id, "error", serr.Detail)
			}
			return e, b.recordFailure(ctx, id, err)
		}
		applied.InFlight = true
		b.saveApplied(ctx, id, applied)
		_, err = b.execute(ctx, plan, cur, &applied, strconv.FormatInt(id, 10))
		if err != nil {
			release(0)
		} else {
			release(id)
		}
		if err != nil {
			b.saveApplied(ctx, id, applied)
			return e, b.recordFailure(ctx, id, err)
		}
		e, _ = b.dir.Get(id)
		cur = e.User
		if cur == nil {
			break // erased
		}
	}
	applied.InFlight = false
	_, err = b.store.UpdateUser(ctx, id, func(s *store.User) error {
		s.Applied = encode(applied)
		s.Dirty, s.Attempts, s.LastError, s.NextAttempt = false, 0, "", time.Time{}
		return nil
	})
	if err != nil {
		return e, err
	}
	if rec.Deleted {
		b.gaps.set(id, rec.UserName, nil) // no longer a resource to attend to
		b.downgrades.set(id, rec.UserName, nil)
	} else {
		b.recordGaps(ctx, id, rec.UserName, gapsBefore, applied.Gaps)
		b.downgrades.set(id, rec.UserName, applied.Downgraded)
	}
	e, _ = b.dir.Get(id)
	return e, nil
}

// recordFailure marks the user for the background pass with a backoff, and
// returns err. A feature the account's plan lacks is not retried: the same
// request is refused until the plan or the rules change, and the next
// change of the user (or `fsbridge drift --heal`) plans it again.
func (b *Bridge) recordFailure(ctx context.Context, id int64, err error) error {
	se := toSCIMError(err)
	retry := kindOf(err) != fault.RequiresFeature
	_, _ = b.store.UpdateUser(ctx, id, func(s *store.User) error {
		s.Dirty = retry
		s.Attempts++
		s.LastError = se.Detail
		s.NextAttempt = time.Now().Add(b.backoff(s.Attempts))
		return nil
	})
	return err
}

// backoff is exponential from the reconcile interval up to MaxBackoff.
func (b *Bridge) backoff(attempts int) time.Duration {
	return backoffAfter(attempts, b.opts.ReconcileInterval, b.opts.MaxBackoff)
}

// refreshUser reads one user from Freshservice into the directory, through
// the views readUser picks; a user neither view has is dropped.
func (b *Bridge) refreshUser(ctx context.Context, id int64) error {
	err := b.readUser(ctx, id, nil, func(u *freshservice.User, _ time.Time) { b.writeThrough(ctx, u) })
	if errors.Is(err, freshservice.ErrNotFound) {
		b.dir.RemoveUser(id)
		_ = b.store.DeleteMirror(ctx, []int64{id})
	}
	return err
}

// lookupEmail finds a user by exact email with one call (never query=,
// which lags), including agents and deactivated users, and records what it
// finds in the directory.
//
// A list without active= may show active users only (§3.2 is not
// certain), so a miss is asked again for deactivated users.
func (b *Bridge) lookupEmail(ctx context.Context, email string) (*freshservice.User, error) {
	for _, active := range []*bool{nil, freshservice.Ptr(false)} {
		list, _, err := b.fs.Requesters.List(ctx, &freshservice.RequesterListOptions{Email: email, IncludeAgents: b.canSeeAgentsAsRequesters(), Active: active})
		if err != nil {
			return nil, err
		}
		for _, u := range list {
			for _, e := range u.Emails() {
				if strings.EqualFold(e, email) {
					return b.writeThrough(ctx, u), nil
				}
			}
		}
	}
	return nil, nil
}
