package directory

import (
	"slices"
	"sync"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/store"
)

// Group membership, user by user. Every SCIM read of a user lists its groups (RFC 7643 §4.1.2), and
// an IdP's lookup reads a user: asking the store for them cost a query per lookup, a tenth of its
// time. So the directory keeps, besides the users, which SCIM groups each user is in, loaded from
// the store once (EnsureGroups), written through on every group write the bridge makes, and read
// again now and then so that what another replica wrote shows here too.
//
// Each group is held with the store's version of it, and a write that carries an older version
// than the one held is ignored: a read of the store that raced with a write cannot bring back what
// the write replaced.

// GroupRef is a group as its members' resources show it.
type GroupRef struct {
	ID, DisplayName string
}

// GroupMembers is a group's membership as the store holds it.
type GroupMembers struct {
	ID          string
	DisplayName string
	Version     int64
	// Members are user ids, ascending, without duplicates.
	Members []int64
}

type groupEntry struct {
	name    string
	version int64
	members []int64
	// gen is the generation of the index when the entry was last written.
	gen uint64
}

// memberships is the group index. Its mutex is its own: group writes do not hold up user lookups.
type memberships struct {
	mu     sync.RWMutex
	loaded bool
	// loadedAt is when the index was last read from the store as a whole.
	loadedAt time.Time
	groups   map[string]*groupEntry
	of       map[int64][]string // user id -> the ids of its groups, ascending
	// gen counts the writes to the index; removed holds the generation at which groups were
	// removed, so that a whole read that began before the removal does not bring them back.
	gen     uint64
	removed map[string]uint64

	// loadMu serialises whole reads of the store; reloading is set while one runs in the background.
	loadMu    sync.Mutex
	reloading bool
}

func (m *memberships) init() {
	if m.groups == nil {
		m.groups = map[string]*groupEntry{}
		m.of = map[int64][]string{}
		m.removed = map[string]uint64{}
	}
}

// GroupsLoaded reports whether the group index has been read from the store.
func (d *Directory) GroupsLoaded() bool {
	d.ms.mu.RLock()
	defer d.ms.mu.RUnlock()
	return d.ms.loaded
}

// EnsureGroups reads the group index from the store with load when it has never been read, and
// waits for it; when it was last read more than maxAge ago it reads it again in the background and
// does not wait. Concurrent callers share one read. The error is load's, on the first read only.
func (d *Directory) EnsureGroups(load func() ([]GroupMembers, error), maxAge time.Duration) error {
	m := &d.ms
	m.mu.RLock()
	loaded, age, reloading := m.loaded, time.Since(m.loadedAt), m.reloading
	m.mu.RUnlock()
	switch {
	case !loaded:
		m.loadMu.Lock()
		defer m.loadMu.Unlock()
		if d.GroupsLoaded() {
			return nil
		}
		return d.reloadGroups(load)
	case maxAge > 0 && age > maxAge && !reloading:
		m.mu.Lock()
		if m.reloading {
			m.mu.Unlock()
			return nil
		}
		m.reloading = true
		m.mu.Unlock()
		go func() {
			m.loadMu.Lock()
			defer m.loadMu.Unlock()
			_ = d.reloadGroups(load)
			m.mu.Lock()
			m.reloading = false
			m.mu.Unlock()
		}()
	}
	return nil
}

// reloadGroups reads every group with load and makes the index what it read, but for the writes
// made while it read, which are newer. The caller holds loadMu.
func (d *Directory) reloadGroups(load func() ([]GroupMembers, error)) error {
	m := &d.ms
	m.mu.RLock()
	start := m.gen
	m.mu.RUnlock()
	gs, err := load()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	seen := make(map[string]bool, len(gs))
	for _, g := range gs {
		seen[g.ID] = true
		if cur := m.groups[g.ID]; cur != nil && (cur.version > g.Version || cur.gen > start) {
			continue
		}
		if m.removed[g.ID] > start {
			continue
		}
		d.setGroupLocked(g.ID, g.DisplayName, g.Version, g.Members)
	}
	for id, cur := range m.groups {
		if !seen[id] && cur.gen <= start {
			d.removeGroupLocked(id)
		}
	}
	clear(m.removed)
	m.loaded, m.loadedAt = true, time.Now()
	return nil
}

// SetGroup records a group's membership as the store holds it at version (ignored if the index
// holds a newer one). members must be ascending without duplicates, as the store keeps them; the
// index keeps its own copy.
func (d *Directory) SetGroup(id, displayName string, version int64, members []int64) {
	m := &d.ms
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	// The store's version changes with every change of a group: at the version held, there is
	// nothing to learn (and a read of a large group costs no comparison of its members).
	if cur := m.groups[id]; cur != nil && (cur.version > version || cur.version == version && cur.name == displayName) {
		return
	}
	d.setGroupLocked(id, displayName, version, members)
}

// ChangeGroup records a change of a group's members that took it from version from to version to:
// added joined, removed left. It costs the size of the change, not of the group. It reports false,
// recording nothing, when the index does not hold the group at version from (the caller then
// records the whole membership with SetGroup).
func (d *Directory) ChangeGroup(id, displayName string, from, to int64, added, removed []int64) bool {
	m := &d.ms
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.groups[id]
	if cur == nil || cur.version != from {
		return false
	}
	m.gen++
	cur.version, cur.gen = to, m.gen
	if cur.name != displayName {
		cur.name = displayName
		d.touchGroupsLocked(cur.members)
	}
	for _, u := range removed {
		if i, found := slices.BinarySearch(cur.members, u); found {
			cur.members = slices.Delete(cur.members, i, i+1)
			m.of[u] = withoutGroup(m.of[u], id)
			d.touchGroupsLocked([]int64{u})
		}
	}
	for _, u := range added {
		if i, found := slices.BinarySearch(cur.members, u); !found {
			cur.members = slices.Insert(cur.members, i, u)
			m.of[u] = withGroup(m.of[u], id)
			d.touchGroupsLocked([]int64{u})
		}
	}
	return true
}

// RemoveGroup forgets a group (it was deleted).
func (d *Directory) RemoveGroup(id string) {
	m := &d.ms
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	d.removeGroupLocked(id)
}

func (d *Directory) setGroupLocked(id, name string, version int64, members []int64) {
	m := &d.ms
	m.gen++
	cur := m.groups[id]
	if cur == nil {
		cur = &groupEntry{}
		m.groups[id] = cur
	}
	old := cur.members
	renamed := cur.name != name
	if renamed {
		d.touchGroupsLocked(old)
	}
	cur.name, cur.version, cur.gen = name, version, m.gen
	// Both lists ascending: one merge finds who joined and who left.
	i, j := 0, 0
	for i < len(old) || j < len(members) {
		switch {
		case j == len(members) || i < len(old) && old[i] < members[j]:
			m.of[old[i]] = withoutGroup(m.of[old[i]], id)
			d.touchGroupsLocked(old[i : i+1])
			i++
		case i == len(old) || members[j] < old[i]:
			m.of[members[j]] = withGroup(m.of[members[j]], id)
			d.touchGroupsLocked(members[j : j+1])
			j++
		default:
			i++
			j++
		}
	}
	if !slices.Equal(old, members) {
		cur.members = slices.Clone(members)
	}
	if renamed {
		d.touchGroupsLocked(cur.members)
	}
}

func (d *Directory) removeGroupLocked(id string) {
	m := &d.ms
	m.gen++
	m.removed[id] = m.gen
	cur := m.groups[id]
	if cur == nil {
		return
	}
	for _, u := range cur.members {
		m.of[u] = withoutGroup(m.of[u], id)
	}
	d.touchGroupsLocked(cur.members)
	delete(m.groups, id)
}

// touchGroupsLocked marks the users' rendered group lists as changed (see GroupStamp).
func (d *Directory) touchGroupsLocked(users []int64) {
	m := &d.ms
	for _, u := range users {
		if len(m.of[u]) == 0 {
			delete(m.of, u)
		}
	}
	d.stampMu.Lock()
	d.stamp++
	for _, u := range users {
		d.groupStamp[u] = d.stamp
	}
	d.stampMu.Unlock()
}

func withGroup(ids []string, id string) []string {
	i, found := slices.BinarySearch(ids, id)
	if found {
		return ids
	}
	return slices.Insert(slices.Clip(ids), i, id)
}

func withoutGroup(ids []string, id string) []string {
	i, found := slices.BinarySearch(ids, id)
	if !found {
		return ids
	}
	return slices.Delete(slices.Clone(ids), i, i+1)
}

// GroupsOf returns the groups user id is a member of, by group id, with their display names; nil
// when none.
func (d *Directory) GroupsOf(id int64) []GroupRef {
	m := &d.ms
	m.mu.RLock()
	defer m.mu.RUnlock()
	ids := m.of[id]
	if len(ids) == 0 {
		return nil
	}
	out := make([]GroupRef, 0, len(ids))
	for _, g := range ids {
		if e := m.groups[g]; e != nil {
			out = append(out, GroupRef{ID: g, DisplayName: e.name})
		}
	}
	return out
}

// GroupIDsOf returns the ids of the groups user id is a member of, ascending.
func (d *Directory) GroupIDsOf(id int64) []string {
	m := &d.ms
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.of[id])
}

// GroupStamp changes whenever the groups user id is in change, or one of them is renamed: a cache
// of the user's resource keyed on it never shows an old group list.
func (d *Directory) GroupStamp(id int64) uint64 {
	d.stampMu.Lock()
	defer d.stampMu.Unlock()
	return d.groupStamp[id]
}

// DisplayName returns the name a user goes by in its groups' member lists: compute's answer for
// the entry as it is now, kept until the entry changes, so a group of thousands of members is not
// rendered user by user on every read.
func (d *Directory) DisplayName(id int64, compute func(Entry) string) string {
	e, ok := d.Get(id)
	if !ok {
		return ""
	}
	d.stampMu.Lock()
	c, hit := d.names[id]
	d.stampMu.Unlock()
	if hit && c.user == e.User && c.desired == e.Desired {
		return c.name
	}
	name := compute(e)
	d.stampMu.Lock()
	d.names[id] = displayName{user: e.User, desired: e.Desired, name: name}
	d.stampMu.Unlock()
	return name
}

// displayName is a cached display name and the entry it was computed for; entries are replaced,
// never changed in place, so the pointers say whether it is still current.
type displayName struct {
	user    *freshservice.User
	desired *store.User
	name    string
}
