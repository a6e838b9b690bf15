package simulator

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// First ids of each object kind. Real Freshservice ids are per-table
// sequences around 21000000000 (reference §2); separate ranges here make a
// client that passes a group id where a user id belongs get a 404 instead of
// a lucky hit.
const (
	firstRoleID           = 21000000001
	firstDepartmentID     = 21000100001
	firstLocationID       = 21000200001
	firstGroupID          = 21000300001
	firstRequesterGroupID = 21000400001
	firstUserID           = 21001000001
)

// state is the whole account. Every method expects the server mutex held.
type state struct {
	nextUser, nextGroup, nextRequesterGroup, nextRole, nextDepartment, nextLocation int64

	users map[int64]*User // MemberOf/ObserverOf are left nil here: derived from groups
	// emails maps the case-folded form of every primary and secondary email
	// to its user, deactivated users included: emails stay reserved until
	// forget (reference §9, §13 item 2). Every create checks its emails, so a
	// scan of all users would make an import of n users cost n² (it did:
	// 1,600 creates a second at 10,000 users, 46 at 100,000). putUser and
	// deleteUser, the only writers of users, keep it and ids in step.
	emails map[string]int64
	// ids holds every user id in ascending order, the order of the list
	// endpoints, so a page does not sort the whole account.
	ids []int64

	groups          map[int64]*Group
	requesterGroups map[int64]*RequesterGroup
	// requesterGroupMembers holds member user ids in the order they were added.
	requesterGroupMembers map[int64][]int64
	roles                 map[int64]*Role
	departments           map[int64]*Department
	locations             map[int64]*Location
	// requesterFields and agentFields are the custom field definitions of
	// each view, in display order.
	requesterFields, agentFields []CustomField

	// index is the query= search index: for every user, the versions it had
	// and when (simulated) each was written; a nil user is a hard delete.
	// Queries read the version that is at least QueryIndexLag old.
	index map[int64][]indexEntry
}

type indexEntry struct {
	at   time.Time
	user *User
}

func newState() *state {
	return &state{
		nextUser: firstUserID, nextGroup: firstGroupID, nextRequesterGroup: firstRequesterGroupID,
		nextRole: firstRoleID, nextDepartment: firstDepartmentID, nextLocation: firstLocationID,
		users:                 map[int64]*User{},
		emails:                map[string]int64{},
		groups:                map[int64]*Group{},
		requesterGroups:       map[int64]*RequesterGroup{},
		requesterGroupMembers: map[int64][]int64{},
		roles:                 map[int64]*Role{},
		departments:           map[int64]*Department{},
		locations:             map[int64]*Location{},
		index:                 map[int64][]indexEntry{},
	}
}

// clone deep-copies the state, so that a seed can be applied all or nothing.
func (st *state) clone() *state {
	c := *st
	c.users = make(map[int64]*User, len(st.users))
	for id, u := range st.users {
		c.users[id] = u.clone()
	}
	c.emails = maps.Clone(st.emails)
	c.ids = slices.Clone(st.ids)
	c.groups = make(map[int64]*Group, len(st.groups))
	for id, g := range st.groups {
		c.groups[id] = g.clone()
	}
	c.requesterGroups = make(map[int64]*RequesterGroup, len(st.requesterGroups))
	for id, g := range st.requesterGroups {
		cp := *g
		c.requesterGroups[id] = &cp
	}
	c.requesterGroupMembers = make(map[int64][]int64, len(st.requesterGroupMembers))
	for id, m := range st.requesterGroupMembers {
		c.requesterGroupMembers[id] = slices.Clone(m)
	}
	c.roles = make(map[int64]*Role, len(st.roles))
	for id, r := range st.roles {
		cp := *r
		cp.Scopes = slices.Clone(r.Scopes)
		c.roles[id] = &cp
	}
	c.departments = make(map[int64]*Department, len(st.departments))
	for id, d := range st.departments {
		cp := *d
		cp.Domains = slices.Clone(d.Domains)
		cp.CustomFields = maps.Clone(d.CustomFields)
		c.departments[id] = &cp
	}
	c.locations = make(map[int64]*Location, len(st.locations))
	for id, l := range st.locations {
		cp := *l
		c.locations[id] = &cp
	}
	c.requesterFields = cloneFields(st.requesterFields)
	c.agentFields = cloneFields(st.agentFields)
	// Index entries are immutable snapshots, so sharing them is safe.
	c.index = make(map[int64][]indexEntry, len(st.index))
	for id, e := range st.index {
		c.index[id] = slices.Clone(e)
	}
	return &c
}

func cloneFields(fs []CustomField) []CustomField {
	out := slices.Clone(fs)
	for i := range out {
		out[i].Choices = slices.Clone(out[i].Choices)
	}
	return out
}

// allocate returns want if it is set (bumping the counter past it), or the
// next id of the counter.
func allocate(counter *int64, want int64) int64 {
	if want > 0 {
		if want >= *counter {
			*counter = want + 1
		}
		return want
	}
	id := *counter
	*counter++
	return id
}

// sortedByID returns the values of m ordered by id.
func sortedByID[T any](m map[int64]*T) []*T {
	ids := slices.Sorted(maps.Keys(m))
	out := make([]*T, len(ids))
	for i, id := range ids {
		out[i] = m[id]
	}
	return out
}

// userCopy returns a copy of u with the derived group fields filled in.
func (st *state) userCopy(u *User) User {
	c := u.clone()
	c.MemberOf, c.ObserverOf, c.MemberOfPendingApproval, c.ObserverOfPendingApproval = nil, nil, nil, nil
	if u.IsAgent {
		for _, g := range sortedByID(st.groups) {
			if slices.Contains(g.Members, u.ID) {
				c.MemberOf = append(c.MemberOf, g.ID)
			}
			if slices.Contains(g.Observers, u.ID) {
				c.ObserverOf = append(c.ObserverOf, g.ID)
			}
			if slices.Contains(g.MembersPendingApproval, u.ID) {
				c.MemberOfPendingApproval = append(c.MemberOfPendingApproval, g.ID)
			}
			if slices.Contains(g.ObserversPendingApproval, u.ID) {
				c.ObserverOfPendingApproval = append(c.ObserverOfPendingApproval, g.ID)
			}
		}
	}
	return *c
}

// emailOwner returns the user other than except whose primary or secondary
// email equals email, ignoring case, active or not (reference §9, §13 item 2).
func (st *state) emailOwner(email string, except int64) (*User, bool) {
	if email == "" {
		return nil, false
	}
	id, ok := st.emails[foldEmail(email)]
	if !ok || id == except {
		return nil, false
	}
	u, ok := st.users[id]
	return u, ok
}

// putUser stores u under its id, replacing the stored record, and keeps the
// email index in step. A stored record's emails must not be changed in
// place: store a changed copy instead.
func (st *state) putUser(u *User) {
	if old, ok := st.users[u.ID]; ok {
		st.unindexEmails(old)
	} else if n := len(st.ids); n == 0 || st.ids[n-1] < u.ID {
		st.ids = append(st.ids, u.ID) // new ids come from a rising counter
	} else {
		i, _ := slices.BinarySearch(st.ids, u.ID)
		st.ids = slices.Insert(st.ids, i, u.ID)
	}
	st.users[u.ID] = u
	for _, e := range userEmails(u) {
		st.emails[foldEmail(e)] = u.ID
	}
}

// deleteUser removes the user with id and frees its emails.
func (st *state) deleteUser(id int64) {
	if old, ok := st.users[id]; ok {
		st.unindexEmails(old)
		delete(st.users, id)
		if i, found := slices.BinarySearch(st.ids, id); found {
			st.ids = slices.Delete(st.ids, i, i+1)
		}
	}
}

// usersByID returns every user in id order.
func (st *state) usersByID() []*User {
	out := make([]*User, len(st.ids))
	for i, id := range st.ids {
		out[i] = st.users[id]
	}
	return out
}

func (st *state) unindexEmails(u *User) {
	for _, e := range userEmails(u) {
		if k := foldEmail(e); st.emails[k] == u.ID {
			delete(st.emails, k)
		}
	}
}

func userEmails(u *User) []string {
	out := make([]string, 0, 1+len(u.SecondaryEmails))
	if u.PrimaryEmail != "" {
		out = append(out, u.PrimaryEmail)
	}
	for _, e := range u.SecondaryEmails {
		if e != "" {
			out = append(out, e)
		}
	}
	return out
}

// foldEmail returns a key equal for two emails exactly when strings.EqualFold
// says they are equal: each rune becomes the smallest rune of its Unicode
// case-folding orbit (so "K", "k" and the Kelvin sign share a key).
func foldEmail(s string) string {
	ascii := true
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		// The least rune of an ASCII letter's orbit is its upper case.
		return strings.ToUpper(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// fullTimeUsed counts the active full-time agents other than except.
func (st *state) fullTimeUsed(except int64) int {
	n := 0
	for _, u := range st.users {
		if u.ID != except && u.IsAgent && u.Active && !u.Occasional {
			n++
		}
	}
	return n
}

// needsApproval reports whether new members of g wait for approval: g is
// restricted with approval required, or all says every group is
// (Switches.RestrictedGroupApproval).
func (g *Group) needsApproval(all bool) bool { return all || (g.Restricted && g.ApprovalRequired) }

// membership names one of the three agent-group relations.
type membership int

const (
	asMember membership = iota
	asObserver
	asLeader
)

// lists returns the approved and the pending list of g for m.
func (g *Group) lists(m membership) (approved, pending *[]int64) {
	switch m {
	case asObserver:
		return &g.Observers, &g.ObserversPendingApproval
	case asLeader:
		return &g.Leaders, &g.LeadersPendingApproval
	}
	return &g.Members, &g.MembersPendingApproval
}

// setMembership replaces g's list for m with want, as PUT /groups does: ids
// already approved stay approved, ids already pending stay pending, and new
// ids are approved, or pending when the group needs approval (reference §4.4,
// §5). Anything not in want is removed from both lists. It reports whether
// anything changed. all is Switches.RestrictedGroupApproval.
func (g *Group) setMembership(m membership, want []int64, all bool) bool {
	approved, pending := g.lists(m)
	var newApproved, newPending []int64
	for _, id := range want {
		switch {
		case slices.Contains(newApproved, id) || slices.Contains(newPending, id):
		case slices.Contains(*approved, id):
			newApproved = append(newApproved, id)
		case slices.Contains(*pending, id) || g.needsApproval(all):
			newPending = append(newPending, id)
		default:
			newApproved = append(newApproved, id)
		}
	}
	changed := !slices.Equal(*approved, newApproved) || !slices.Equal(*pending, newPending)
	*approved, *pending = newApproved, newPending
	return changed
}

// has reports whether id is in g's approved or pending list for m.
func (g *Group) has(m membership, id int64) bool {
	approved, pending := g.lists(m)
	return slices.Contains(*approved, id) || slices.Contains(*pending, id)
}

// setUserGroups makes the user a member (or observer) of exactly the groups
// in want, the way PUT /agents with member_of (or observer_of) does, and
// reports the groups whose lists changed. Pending memberships count as
// present, since the input must repeat them to keep them (reference §4.4).
func (st *state) setUserGroups(uid int64, m membership, want []int64, all bool) (changed []*Group) {
	for _, g := range sortedByID(st.groups) {
		in, wanted := g.has(m, uid), slices.Contains(want, g.ID)
		if in == wanted {
			continue
		}
		approved, pending := g.lists(m)
		next := slices.Concat(*approved, *pending)
		if wanted {
			next = append(next, uid)
		} else {
			next = slices.DeleteFunc(next, func(x int64) bool { return x == uid })
		}
		if g.setMembership(m, next, all) {
			changed = append(changed, g)
		}
	}
	return changed
}

// dropFromAgentGroups removes uid from every list of every agent group.
func (st *state) dropFromAgentGroups(uid int64) {
	for _, g := range st.groups {
		for _, m := range []membership{asMember, asObserver, asLeader} {
			approved, pending := g.lists(m)
			*approved = slices.DeleteFunc(*approved, func(x int64) bool { return x == uid })
			*pending = slices.DeleteFunc(*pending, func(x int64) bool { return x == uid })
		}
	}
}

// dropFromRequesterGroups removes uid from every requester group, as
// deactivation does (reference §3.6, §13 item 8).
func (st *state) dropFromRequesterGroups(uid int64) {
	for gid, members := range st.requesterGroupMembers {
		st.requesterGroupMembers[gid] = slices.DeleteFunc(members, func(x int64) bool { return x == uid })
	}
}

// forgetUser hard-deletes a user and every reference to it.
func (st *state) forgetUser(uid int64, now time.Time, lag time.Duration) {
	st.deleteUser(uid)
	st.dropFromAgentGroups(uid)
	st.dropFromRequesterGroups(uid)
	for _, u := range st.users {
		if u.ReportingManagerID == uid {
			u.ReportingManagerID = 0
			st.indexWrite(u.ID, u, now, lag)
		}
	}
	for _, g := range st.groups {
		if g.EscalateTo == uid {
			g.EscalateTo = 0
		}
	}
	for _, d := range st.departments {
		if d.HeadUserID == uid {
			d.HeadUserID = 0
		}
		if d.PrimeUserID == uid {
			d.PrimeUserID = 0
		}
	}
	for _, l := range st.locations {
		if l.PrimaryContactID == uid {
			l.PrimaryContactID = 0
		}
	}
	st.indexWrite(uid, nil, now, lag)
}

// indexWrite records a new version of a user (nil for a hard delete) in the
// search index, and prunes versions no query can see any more.
func (st *state) indexWrite(uid int64, u *User, now time.Time, lag time.Duration) {
	var snap *User
	if u != nil {
		snap = u.clone()
	}
	entries := append(st.index[uid], indexEntry{at: now, user: snap})
	cutoff := now.Add(-lag)
	// Keep the newest version at or before the cutoff and everything after.
	keepFrom := 0
	for i, e := range entries {
		if !e.at.After(cutoff) {
			keepFrom = i
		}
	}
	entries = entries[keepFrom:]
	if len(entries) == 1 && entries[0].user == nil {
		delete(st.index, uid)
		return
	}
	st.index[uid] = entries
}

// indexed returns the users as the search index sees them at now, each paired
// with its current record. Users the index still has but that were since
// forgotten are left out, because the API renders from the database.
func (st *state) indexed(now time.Time, lag time.Duration) []indexedUser {
	var out []indexedUser
	if lag <= 0 {
		for _, u := range st.users {
			out = append(out, indexedUser{seen: u, current: u})
		}
		return out
	}
	cutoff := now.Add(-lag)
	for uid, entries := range st.index {
		var seen *User
		for _, e := range entries {
			if !e.at.After(cutoff) {
				seen = e.user
			}
		}
		cur, ok := st.users[uid]
		if seen == nil || !ok {
			continue
		}
		out = append(out, indexedUser{seen: seen, current: cur})
	}
	return out
}

type indexedUser struct {
	seen, current *User
}

// byCreatedDesc orders search results as Freshservice does: created_at
// descending, then id descending (reference §3.3).
func byCreatedDesc(a, b *User) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(b.ID, a.ID)
}

// nameTaken reports whether another object than except already has name,
// ignoring case.
func nameTaken[T any](m map[int64]*T, name string, except int64, nameOf func(*T) (int64, string)) bool {
	for _, v := range m {
		id, n := nameOf(v)
		if id != except && strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// timestamp is the stored form of a time: UTC with second precision, the
// precision of the API (reference §2).
func timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }
