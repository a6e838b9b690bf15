// Package directory is the bridge's in-memory view of every Freshservice
// user (DESIGN D2), joined with the desired state the IdP gave for the users
// the bridge manages. Reads are served from it, so looking a user up by id,
// userName, email or externalId costs no Freshservice call; it is loaded
// from the store at start, refreshed by a paced background walk of the list
// endpoints, and written through on every change the bridge makes. It also
// keeps which SCIM groups each user is in (groups.go), so reading a user
// costs no store query either.
package directory

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/store"
)

// Entry is one user: what Freshservice holds (User, nil when Freshservice
// has no such user, or the mirror has not seen it yet) and what the IdP
// asked for (Desired, nil for users the bridge does not manage).
type Entry struct {
	User    *freshservice.User
	Desired *store.User
}

// Visible reports whether SCIM sees the user: it exists in Freshservice and
// the IdP has not deleted it.
func (e Entry) Visible() bool {
	return e.User != nil && (e.Desired == nil || !e.Desired.Deleted)
}

// Managed reports whether the IdP has claimed this user.
func (e Entry) Managed() bool { return e.Desired != nil && !e.Desired.Deleted }

// UserName is the SCIM userName: the one the IdP gave, or the primary email
// for users the bridge does not manage.
func (e Entry) UserName() string {
	if e.Managed() {
		return e.Desired.UserName
	}
	if e.User != nil {
		return e.User.Email
	}
	return ""
}

// Doc decodes the desired SCIM document, nil when there is none.
func (e Entry) Doc() map[string]any {
	if e.Desired == nil || e.Desired.Deleted || len(e.Desired.Doc) == 0 {
		return nil
	}
	var d map[string]any
	if json.Unmarshal(e.Desired.Doc, &d) != nil {
		return nil
	}
	return d
}

// Directory is safe for concurrent use. It hands out copies of the
// pointers it holds; the values behind them are never changed in place.
type Directory struct {
	mu      sync.RWMutex
	users   map[int64]*freshservice.User
	desired map[int64]*store.User
	// Indexes, all keyed lower-case. byEmail covers primary and secondary
	// emails of Freshservice users; byUserName the SCIM userName of
	// visible users; byExternal the externalId of managed users.
	byEmail    map[string]int64
	byUserName map[string]int64
	byExternal map[string][]int64
	nameOf     map[int64]string // the byUserName key of each id
	// touched is when the bridge last wrote each user through: a walk's
	// page read before that must not overwrite it.
	touched  map[int64]time.Time
	ids      []int64 // every id with a Freshservice user or desired state, ascending
	idsDirty bool

	walkedAt time.Time

	// ms is the group membership index (groups.go).
	ms memberships
	// stampMu guards groupStamp, which changes when a user's group list does, and names, the
	// display names of users as group members.
	stampMu    sync.Mutex
	stamp      uint64
	groupStamp map[int64]uint64
	names      map[int64]displayName
}

// New returns an empty directory.
func New() *Directory {
	return &Directory{
		users:      map[int64]*freshservice.User{},
		desired:    map[int64]*store.User{},
		byEmail:    map[string]int64{},
		byUserName: map[string]int64{},
		byExternal: map[string][]int64{},
		nameOf:     map[int64]string{},
		touched:    map[int64]time.Time{},
		groupStamp: map[int64]uint64{},
		names:      map[int64]displayName{},
	}
}

func key(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Get returns the entry for id.
func (d *Directory) Get(id int64) (Entry, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e := Entry{User: d.users[id], Desired: d.desired[id]}
	return e, e.User != nil || e.Desired != nil
}

// ByEmail returns the entry whose Freshservice user has email as primary or
// secondary email, ignoring case.
func (d *Directory) ByEmail(email string) (Entry, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	id, ok := d.byEmail[key(email)]
	if !ok {
		return Entry{}, false
	}
	return Entry{User: d.users[id], Desired: d.desired[id]}, true
}

// ByUserName returns the visible entry with that SCIM userName, ignoring case.
func (d *Directory) ByUserName(name string) (Entry, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	id, ok := d.byUserName[key(name)]
	if !ok {
		return Entry{}, false
	}
	return Entry{User: d.users[id], Desired: d.desired[id]}, true
}

// ByExternalID returns the managed entries with that externalId (exact).
func (d *Directory) ByExternalID(x string) []Entry {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []Entry
	for _, id := range d.byExternal[x] {
		out = append(out, Entry{User: d.users[id], Desired: d.desired[id]})
	}
	return out
}

// PutUser merges a Freshservice user as read through one view (DESIGN:
// agents and requesters are one user seen through two endpoints; each view
// carries fields the other lacks, so the merge keeps both).
func (d *Directory) PutUser(u *freshservice.User) {
	if u == nil || u.ID == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.touched[u.ID] = time.Now()
	d.putLocked(Merge(d.users[u.ID], u))
}

// PutWalked merges a user read by a walk whose page was requested at
// asked, unless the bridge wrote the user through since then (the page is
// older than what the directory holds). It reports whether it took it.
func (d *Directory) PutWalked(u *freshservice.User, asked time.Time) bool {
	if u == nil || u.ID == 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.touched[u.ID].After(asked) {
		return false
	}
	d.putLocked(Merge(d.users[u.ID], u))
	return true
}

// WrittenSince reports whether the bridge wrote the user through (from a
// Freshservice answer, or another replica's) after t.
func (d *Directory) WrittenSince(id int64, t time.Time) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.touched[id].After(t)
}

// ReplaceUser records a user as a whole, without merging it with what this
// directory held: as another replica saw it, or as the bridge's own step
// left the copy it took from here.
func (d *Directory) ReplaceUser(u *freshservice.User) {
	if u == nil || u.ID == 0 {
		return
	}
	c := *u
	d.mu.Lock()
	defer d.mu.Unlock()
	d.touched[u.ID] = time.Now()
	d.putLocked(&c)
}

// Merge combines a newly read view of a user with what was known before.
func Merge(old, in *freshservice.User) *freshservice.User {
	n := *in
	if old == nil {
		return &n
	}
	switch in.View {
	case freshservice.ViewAgent:
		// The agent view has no secondary emails: keep the ones known.
		if n.SecondaryEmails == nil {
			n.SecondaryEmails = old.SecondaryEmails
		}
	case freshservice.ViewRequester:
		if in.IsAgent && old.IsAgent {
			n.Occasional, n.Roles = old.Occasional, old.Roles
			n.MemberOf, n.ObserverOf = old.MemberOf, old.ObserverOf
			n.MemberOfPending, n.ObserverOfPending = old.MemberOfPending, old.ObserverOfPending
		}
	}
	return &n
}

func (d *Directory) putLocked(u *freshservice.User) {
	old := d.users[u.ID]
	if old == nil && d.desired[u.ID] == nil {
		d.idsDirty = true
	}
	if old != nil {
		for _, e := range old.Emails() {
			if d.byEmail[key(e)] == u.ID {
				delete(d.byEmail, key(e))
			}
		}
	}
	d.users[u.ID] = u
	for _, e := range u.Emails() {
		d.byEmail[key(e)] = u.ID
	}
	d.reindexLocked(u.ID)
}

// RemoveUser forgets a Freshservice user (it was erased there).
func (d *Directory) RemoveUser(id int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.removeUserLocked(id)
}

func (d *Directory) removeUserLocked(id int64) {
	old := d.users[id]
	if old == nil {
		return
	}
	for _, e := range old.Emails() {
		if d.byEmail[key(e)] == id {
			delete(d.byEmail, key(e))
		}
	}
	delete(d.users, id)
	d.idsDirty = true
	d.reindexLocked(id)
}

// PutDesired records the desired state of a user (from the store).
func (d *Directory) PutDesired(s store.User) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.desired[s.ID]
	if old != nil && old.ExternalID != "" {
		d.byExternal[old.ExternalID] = without(d.byExternal[old.ExternalID], s.ID)
		if len(d.byExternal[old.ExternalID]) == 0 {
			delete(d.byExternal, old.ExternalID)
		}
	}
	if old == nil && d.users[s.ID] == nil {
		d.idsDirty = true
	}
	c := s
	d.desired[s.ID] = &c
	if !c.Deleted && c.ExternalID != "" {
		d.byExternal[c.ExternalID] = append(d.byExternal[c.ExternalID], s.ID)
	}
	d.reindexLocked(s.ID)
}

// RemoveDesired drops the desired state of a user.
func (d *Directory) RemoveDesired(id int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.desired[id]
	if old == nil {
		return
	}
	if old.ExternalID != "" {
		d.byExternal[old.ExternalID] = without(d.byExternal[old.ExternalID], id)
		if len(d.byExternal[old.ExternalID]) == 0 {
			delete(d.byExternal, old.ExternalID)
		}
	}
	delete(d.desired, id)
	d.idsDirty = true
	d.reindexLocked(id)
}

func without(ids []int64, id int64) []int64 {
	out := ids[:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// reindexLocked updates the userName index for one id.
func (d *Directory) reindexLocked(id int64) {
	e := Entry{User: d.users[id], Desired: d.desired[id]}
	n, visible := "", e.Visible()
	if visible {
		n = key(e.UserName())
	}
	old, indexed := d.nameOf[id]
	if indexed && visible && old == n && d.byUserName[n] == id {
		// Unchanged, as it is for most writes (and for every user twice at load).
		return
	}
	if indexed {
		if d.byUserName[old] == id {
			delete(d.byUserName, old)
		}
		delete(d.nameOf, id)
	}
	if visible {
		d.byUserName[n] = id
		d.nameOf[id] = n
	}
}

// IDs returns every id the directory knows, ascending.
func (d *Directory) IDs() []int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.idsDirty {
		ids := make([]int64, 0, len(d.users)+len(d.desired))
		for id := range d.users {
			ids = append(ids, id)
		}
		for id := range d.desired {
			if d.users[id] == nil {
				ids = append(ids, id)
			}
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		d.ids, d.idsDirty = ids, false
	}
	return slices.Clone(d.ids)
}

// Visible calls fn for every visible entry in id order until fn returns
// false.
func (d *Directory) Visible(fn func(Entry) bool) {
	for _, id := range d.IDs() {
		e, ok := d.Get(id)
		if ok && e.Visible() && !fn(e) {
			return
		}
	}
}

// Len returns the number of Freshservice users in the mirror.
func (d *Directory) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.users)
}

// Counts summarises the mirror.
type Counts struct {
	Users, Active, Requesters, Agents, FullTimeAgents, OccasionalAgents, Managed int
}

// Count returns counts over the mirror, for seat checks and the status page.
func (d *Directory) Count() Counts {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var c Counts
	for id, u := range d.users {
		c.Users++
		if s := d.desired[id]; s != nil && !s.Deleted {
			c.Managed++
		}
		if !u.Active {
			continue
		}
		c.Active++
		if !u.IsAgent {
			c.Requesters++
			continue
		}
		c.Agents++
		if u.Occasional {
			c.OccasionalAgents++
		} else {
			c.FullTimeAgents++
		}
	}
	return c
}

// WalkedAt is when the last complete walk of Freshservice finished.
func (d *Directory) WalkedAt() time.Time {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.walkedAt
}

// SetWalkedAt records when the last complete walk finished.
func (d *Directory) SetWalkedAt(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.walkedAt = t
}

// Users returns the Freshservice users of the mirror, in id order.
func (d *Directory) Users() []*freshservice.User {
	ids := d.IDs()
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]*freshservice.User, 0, len(d.users))
	for _, id := range ids {
		if u := d.users[id]; u != nil {
			out = append(out, u)
		}
	}
	return out
}
