// Package storetest is the conformance suite of store.Store. Every backend
// runs RunTests from its own tests, so all of them keep every promise the
// interface's doc comments make, outcome by outcome.
//
// Where the contract leaves a choice open, the suite pins down one answer,
// so backends agree:
//   - Times read back Equal to what was written, to the nanosecond (in any
//     location); the zero time reads back as the zero time.
//   - Documents (Doc, Applied, Data) read back byte for byte; empty and nil
//     are the same. Members with no members may be nil or empty.
//   - A user created Deleted does not claim its userName: uniqueness is
//     among users that are not Deleted.
//   - In UpdateUser and UpdateGroup, ID, Version, Created and Modified
//     belong to the store; fn's changes to them are ignored.
//   - DirtyUsers and DirtyGroups: a zero NextAttempt is due and the oldest;
//     a NextAttempt equal to now is due; limit < 1 returns nothing.
//   - PutIntent with a zero Created sets it to now. In UpdateIntent, Key
//     belongs to the store.
//   - ListAudit: Since is inclusive, Until exclusive; newest means latest
//     Time, ties broken by the larger ID.
//   - A ForEach callback may call the store, writes included, without
//     deadlocking.
//   - Lock with a context that has already ended fails with its error, even
//     when the lock is free.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fsbridge/fsbridge/internal/store"
)

// RunTests runs the suite. newStore must return a new, empty store for each
// call; RunTests closes it (and checks Close's error) when the subtest ends,
// so newStore's own cleanup, registered with t.Cleanup, runs after Close.
func RunTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"User", userTests},
		{"Group", groupTests},
		{"Intent", intentTests},
		{"Mirror", mirrorTests},
		{"Audit", auditTests},
		{"Meta", metaTests},
		{"Lock", lockTests},
		{"Store", storeTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tt := range g.tests {
				t.Run(tt.name, func(t *testing.T) {
					s := newStore(t)
					t.Cleanup(func() {
						if err := s.Close(); err != nil {
							t.Errorf("Close: %v", err)
						}
					})
					tt.run(t, s)
				})
			}
		})
	}
}

type test struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// t0 is a fixed time with nanoseconds, in a location other than UTC, to
// check that times read back Equal.
var t0 = time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.FixedZone("UTC+1", 3600))

// opts compares records: time.Time by Equal (go-cmp uses the Equal method),
// nil and empty slices alike.
var opts = cmp.Options{cmpopts.EquateEmpty()}

var (
	errFn   = errors.New("storetest: fn failed")
	errStop = errors.New("storetest: stop")
)

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, opts); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// within checks that the store stamped got with its clock between before
// and after.
func within(t *testing.T, what string, got, before, after time.Time) {
	t.Helper()
	if got.Before(before) || got.After(after) {
		t.Errorf("%s = %v, want between %v and %v", what, got, before, after)
	}
}

// ---- users

func newUser(id int64, userName string) store.User {
	return store.User{
		ID:         id,
		UserName:   userName,
		ExternalID: fmt.Sprintf("ext-%d", id),
		Doc:        json.RawMessage(fmt.Sprintf(`{"userName":%q}`, userName)),
		Created:    t0,
		Modified:   t0,
	}
}

func createUser(t *testing.T, s store.Store, u store.User) store.User {
	t.Helper()
	got, err := s.CreateUser(t.Context(), u)
	noErr(t, fmt.Sprintf("CreateUser %d", u.ID), err)
	return got
}

func getUser(t *testing.T, s store.Store, id int64) store.User {
	t.Helper()
	got, err := s.GetUser(t.Context(), id)
	noErr(t, fmt.Sprintf("GetUser %d", id), err)
	return got
}

func updateUser(t *testing.T, s store.Store, id int64, fn func(*store.User)) store.User {
	t.Helper()
	got, err := s.UpdateUser(t.Context(), id, func(u *store.User) error { fn(u); return nil })
	noErr(t, fmt.Sprintf("UpdateUser %d", id), err)
	return got
}

var userTests = []test{
	{"Create", func(t *testing.T, s store.Store) {
		in := store.User{
			ID: 101, UserName: "Alice@Example.com", ExternalID: "ext-1",
			Doc:     json.RawMessage(`{"userName": "Alice@Example.com",  "name": {"givenName": "Alice"}}`),
			Applied: json.RawMessage(`{"requester":{"id":101}}`),
			Dirty:   true, Attempts: 2, LastError: "boom", NextAttempt: t0,
			Version: 7, // ignored: a new user is version 1
		}
		before := time.Now()
		got, err := s.CreateUser(t.Context(), in)
		after := time.Now()
		noErr(t, "CreateUser", err)
		within(t, "Created", got.Created, before, after)
		within(t, "Modified", got.Modified, before, after)
		want := in
		want.Version = 1
		want.Created, want.Modified = got.Created, got.Modified
		diff(t, "CreateUser returned", want, got)
		diff(t, "GetUser", got, getUser(t, s, 101))
	}},
	{"CreateKeepsTimes", func(t *testing.T, s store.Store) {
		in := newUser(1, "a")
		in.Created, in.Modified = t0, t0.Add(90*time.Minute+1)
		got := createUser(t, s, in)
		read := getUser(t, s, 1)
		for _, c := range []struct {
			name      string
			got, want time.Time
		}{
			{"returned Created", got.Created, in.Created},
			{"returned Modified", got.Modified, in.Modified},
			{"read Created", read.Created, in.Created},
			{"read Modified", read.Modified, in.Modified},
		} {
			if !c.got.Equal(c.want) {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
		if !read.NextAttempt.IsZero() {
			t.Errorf("NextAttempt = %v, want the zero time", read.NextAttempt)
		}
	}},
	{"CreateDuplicateID", func(t *testing.T, s store.Store) {
		first := createUser(t, s, newUser(1, "a"))
		_, err := s.CreateUser(t.Context(), newUser(1, "b"))
		wantErr(t, "CreateUser same id", err, store.ErrAlreadyExists)
		diff(t, "first user", first, getUser(t, s, 1))
	}},
	{"CreateDuplicateUserName", func(t *testing.T, s store.Store) {
		for i, c := range []struct{ first, second string }{
			{"alice@example.com", "alice@example.com"},
			{"bob@example.com", "BOB@Example.COM"},
			{"Élodie.Ærø@example.com", "éLODIE.æRØ@EXAMPLE.COM"}, // not just ASCII
		} {
			id := int64(10 * (i + 1))
			createUser(t, s, newUser(id, c.first))
			_, err := s.CreateUser(t.Context(), newUser(id+1, c.second))
			wantErr(t, fmt.Sprintf("CreateUser %q after %q", c.second, c.first), err, store.ErrAlreadyExists)
			_, err = s.GetUser(t.Context(), id+1)
			wantErr(t, "GetUser of the refused user", err, store.ErrNotFound)
		}
	}},
	{"CreateDeletedUserNameFree", func(t *testing.T, s store.Store) {
		gone := newUser(1, "bob")
		gone.Deleted = true
		createUser(t, s, gone)
		createUser(t, s, newUser(2, "BOB")) // a Deleted user's userName is free
		again := newUser(3, "Bob")
		again.Deleted = true
		createUser(t, s, again) // and a Deleted user does not claim it
		got, err := s.GetUserByUserName(t.Context(), "bob")
		noErr(t, "GetUserByUserName", err)
		if got.ID != 2 {
			t.Errorf("GetUserByUserName(bob).ID = %d, want 2", got.ID)
		}
	}},
	{"GetNotFound", func(t *testing.T, s store.Store) {
		createUser(t, s, newUser(1, "a"))
		_, err := s.GetUser(t.Context(), 2)
		wantErr(t, "GetUser", err, store.ErrNotFound)
		_, err = s.GetUserByUserName(t.Context(), "b")
		wantErr(t, "GetUserByUserName", err, store.ErrNotFound)
	}},
	{"GetByUserName", func(t *testing.T, s store.Store) {
		gone := newUser(1, "carol@example.com")
		gone.Deleted = true
		createUser(t, s, gone)
		onlyGone := newUser(2, "dave@example.com")
		onlyGone.Deleted = true
		createUser(t, s, onlyGone)
		live := createUser(t, s, newUser(3, "Carol@Example.com"))
		for _, name := range []string{"Carol@Example.com", "carol@example.com", "CAROL@EXAMPLE.COM"} {
			got, err := s.GetUserByUserName(t.Context(), name)
			noErr(t, "GetUserByUserName "+name, err)
			diff(t, "GetUserByUserName "+name, live, got)
		}
		_, err := s.GetUserByUserName(t.Context(), "dave@example.com")
		wantErr(t, "GetUserByUserName of a Deleted user", err, store.ErrNotFound)
		got := getUser(t, s, 2) // GetUser still finds it
		if !got.Deleted {
			t.Errorf("GetUser(2).Deleted = false, want true")
		}
	}},
	{"UpdateUnversionedFields", func(t *testing.T, s store.Store) {
		old := createUser(t, s, newUser(1, "a"))
		next := t0.Add(time.Hour + 7)
		got := updateUser(t, s, 1, func(u *store.User) {
			u.Applied = json.RawMessage(`{"applied":true}`)
			u.Dirty = true
			u.Attempts = 3
			u.LastError = "429"
			u.NextAttempt = next
		})
		want := old
		want.Applied, want.Dirty, want.Attempts, want.LastError, want.NextAttempt =
			json.RawMessage(`{"applied":true}`), true, 3, "429", next
		diff(t, "UpdateUser returned (Version and Modified unchanged)", want, got)
		diff(t, "GetUser", want, getUser(t, s, 1))
		got = updateUser(t, s, 1, func(u *store.User) {}) // no change at all
		diff(t, "UpdateUser without changes", want, got)
	}},
	{"UpdateVersionedFields", func(t *testing.T, s store.Store) {
		for i, c := range []struct {
			name string
			fn   func(*store.User)
		}{
			{"Doc", func(u *store.User) { u.Doc = json.RawMessage(`{"userName":"x","title":"Boss"}`) }},
			{"DocInPlace", func(u *store.User) { u.Doc[2] = 'U' }}, // same length, same backing array
			{"UserName", func(u *store.User) { u.UserName = "renamed" }},
			{"UserNameCase", func(u *store.User) { u.UserName = strings.ToUpper(u.UserName) }},
			{"ExternalID", func(u *store.User) { u.ExternalID = "other" }},
			{"Deleted", func(u *store.User) { u.Deleted = true }},
		} {
			t.Run(c.name, func(t *testing.T) {
				id := int64(i + 1)
				old := createUser(t, s, newUser(id, fmt.Sprint("x", id)))
				before := time.Now()
				got := updateUser(t, s, id, c.fn)
				after := time.Now()
				want := old
				c.fn(&want)
				want.Version = 2
				within(t, "Modified", got.Modified, before, after)
				want.Modified = got.Modified
				diff(t, "UpdateUser returned", want, got)
				diff(t, "GetUser", want, getUser(t, s, id))
			})
		}
	}},
	{"UpdateStoreOwnedFields", func(t *testing.T, s store.Store) {
		old := createUser(t, s, newUser(1, "a"))
		got := updateUser(t, s, 1, func(u *store.User) {
			u.ID = 2
			u.Version = 40
			u.Created = t0.Add(time.Hour)
			u.Modified = t0.Add(time.Hour)
		})
		diff(t, "UpdateUser returned", old, got)
		diff(t, "GetUser", old, getUser(t, s, 1))
		_, err := s.GetUser(t.Context(), 2)
		wantErr(t, "GetUser of the id fn set", err, store.ErrNotFound)
	}},
	{"UpdateNotFound", func(t *testing.T, s store.Store) {
		called := false
		_, err := s.UpdateUser(t.Context(), 1, func(*store.User) error { called = true; return nil })
		wantErr(t, "UpdateUser", err, store.ErrNotFound)
		if called {
			t.Error("fn was called for a missing user")
		}
	}},
	{"UpdateFnError", func(t *testing.T, s store.Store) {
		old := createUser(t, s, newUser(1, "a"))
		_, err := s.UpdateUser(t.Context(), 1, func(u *store.User) error {
			u.UserName = "changed"
			u.Doc[0] = '[' // even a change in place must not leak into the record
			u.Dirty = true
			return fmt.Errorf("wrapped: %w", errFn)
		})
		wantErr(t, "UpdateUser", err, errFn)
		diff(t, "GetUser after a failed fn", old, getUser(t, s, 1))
	}},
	{"UpdateUserNameClash", func(t *testing.T, s store.Store) {
		createUser(t, s, newUser(1, "alice"))
		bob := createUser(t, s, newUser(2, "bob"))
		_, err := s.UpdateUser(t.Context(), 2, func(u *store.User) error { u.UserName = "ALICE"; return nil })
		wantErr(t, "UpdateUser to a taken userName", err, store.ErrAlreadyExists)
		diff(t, "GetUser after the clash", bob, getUser(t, s, 2))
		got := updateUser(t, s, 2, func(u *store.User) { u.UserName = "Bob" }) // its own, in another case
		if got.UserName != "Bob" {
			t.Errorf("UserName = %q, want Bob", got.UserName)
		}
	}},
	{"DeletedUserNameReuse", func(t *testing.T, s store.Store) {
		createUser(t, s, newUser(1, "carol"))
		updateUser(t, s, 1, func(u *store.User) { u.Deleted = true })
		carol2 := createUser(t, s, newUser(2, "Carol")) // free once the first is Deleted
		got, err := s.GetUserByUserName(t.Context(), "CAROL")
		noErr(t, "GetUserByUserName", err)
		diff(t, "GetUserByUserName", carol2, got)

		before := getUser(t, s, 1)
		_, err = s.UpdateUser(t.Context(), 1, func(u *store.User) error { u.Deleted = false; return nil })
		wantErr(t, "un-deleting a user whose userName is taken", err, store.ErrAlreadyExists)
		diff(t, "GetUser after the refused un-delete", before, getUser(t, s, 1))

		noErr(t, "DeleteUser 2", s.DeleteUser(t.Context(), 2))
		back := updateUser(t, s, 1, func(u *store.User) { u.Deleted = false })
		if back.Deleted || back.Version != before.Version+1 {
			t.Errorf("un-deleted user: Deleted=%v Version=%d, want false, %d", back.Deleted, back.Version, before.Version+1)
		}
	}},
	{"Delete", func(t *testing.T, s store.Store) {
		createUser(t, s, newUser(1, "a"))
		keep := createUser(t, s, newUser(2, "b"))
		noErr(t, "DeleteUser", s.DeleteUser(t.Context(), 1))
		_, err := s.GetUser(t.Context(), 1)
		wantErr(t, "GetUser after DeleteUser", err, store.ErrNotFound)
		wantErr(t, "DeleteUser again", s.DeleteUser(t.Context(), 1), store.ErrNotFound)
		diff(t, "the other user", keep, getUser(t, s, 2))
		createUser(t, s, newUser(1, "A")) // id and userName are free again
	}},
	{"ForEach", func(t *testing.T, s store.Store) {
		var want []store.User
		for _, id := range []int64{30, 10, 20} {
			u := newUser(id, fmt.Sprint("user", id))
			u.Deleted = id == 20 // ForEachUser includes Deleted users
			want = append(want, createUser(t, s, u))
		}
		slices.SortFunc(want, func(a, b store.User) int { return int(a.ID - b.ID) })
		var got []store.User
		noErr(t, "ForEachUser", s.ForEachUser(t.Context(), func(u store.User) error {
			got = append(got, u)
			return nil
		}))
		diff(t, "ForEachUser", want, got)

		n := 0
		err := s.ForEachUser(t.Context(), func(store.User) error {
			n++
			if n == 2 {
				return errStop
			}
			return nil
		})
		wantErr(t, "ForEachUser stopping", err, errStop)
		if n != 2 {
			t.Errorf("fn called %d times, want 2 (stop at the first error)", n)
		}
	}},
	{"ForEachMayWrite", func(t *testing.T, s store.Store) {
		for id := int64(1); id <= 3; id++ {
			createUser(t, s, newUser(id, fmt.Sprint("u", id)))
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // fail, not hang, on a deadlock
		defer cancel()
		err := s.ForEachUser(ctx, func(u store.User) error {
			_, err := s.UpdateUser(ctx, u.ID, func(u *store.User) error { u.Dirty = true; return nil })
			return err
		})
		noErr(t, "ForEachUser calling UpdateUser", err)
		ids, err := s.DirtyUsers(t.Context(), time.Now(), 10)
		noErr(t, "DirtyUsers", err)
		diff(t, "DirtyUsers", []int64{1, 2, 3}, ids)
	}},
	{"Dirty", func(t *testing.T, s store.Store) {
		now := t0.Add(24 * time.Hour)
		for _, c := range []struct {
			id    int64
			dirty bool
			next  time.Time
		}{
			{1, true, now.Add(-time.Hour)},
			{2, true, now.Add(time.Nanosecond)}, // not yet due
			{3, false, now.Add(-3 * time.Hour)}, // not dirty
			{4, true, now.Add(-2 * time.Hour)},
			{5, true, time.Time{}}, // zero: due, and the oldest
			{6, true, now},         // "not after now": due
		} {
			u := newUser(c.id, fmt.Sprint("u", c.id))
			u.Dirty, u.NextAttempt = c.dirty, c.next
			u.Deleted = c.id == 4 // Deleted users are reconciled too
			createUser(t, s, u)
		}
		for _, c := range []struct {
			limit int
			want  []int64
		}{
			{10, []int64{5, 4, 1, 6}},
			{2, []int64{5, 4}},
			{0, nil},
		} {
			got, err := s.DirtyUsers(t.Context(), now, c.limit)
			noErr(t, "DirtyUsers", err)
			diff(t, fmt.Sprintf("DirtyUsers(limit %d)", c.limit), c.want, got)
		}
		n, err := s.CountDirtyUsers(t.Context())
		noErr(t, "CountDirtyUsers", err)
		if n != 5 { // 2, not yet due, counts
			t.Errorf("CountDirtyUsers = %d, want 5", n)
		}
		updateUser(t, s, 4, func(u *store.User) { u.Dirty = false })
		got, err := s.DirtyUsers(t.Context(), now.Add(time.Hour), 10)
		noErr(t, "DirtyUsers", err)
		diff(t, "DirtyUsers later, 4 clean", []int64{5, 1, 6, 2}, got)
	}},
	{"ConcurrentUpdates", func(t *testing.T, s store.Store) {
		createUser(t, s, newUser(1, "a"))
		const n = 50
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				_, err := s.UpdateUser(t.Context(), 1, func(u *store.User) error {
					var list []int
					if len(u.Applied) > 0 {
						if err := json.Unmarshal(u.Applied, &list); err != nil {
							return err
						}
					}
					b, err := json.Marshal(append(list, i))
					u.Applied = b
					u.Attempts++
					return err
				})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			noErr(t, "UpdateUser", err)
		}
		got := getUser(t, s, 1)
		var list []int
		noErr(t, "Applied", json.Unmarshal(got.Applied, &list))
		slices.Sort(list)
		want := make([]int, n)
		for i := range want {
			want[i] = i
		}
		diff(t, "Applied after concurrent appends (a lost update is missing)", want, list)
		if got.Attempts != n || got.Version != 1 {
			t.Errorf("Attempts = %d, Version = %d; want %d, 1", got.Attempts, got.Version, n)
		}
	}},
}

// ---- groups

func newGroup(id, name string, members ...int64) store.Group {
	return store.Group{
		ID:          id,
		DisplayName: name,
		ExternalID:  "ext-" + id,
		Doc:         json.RawMessage(fmt.Sprintf(`{"displayName":%q}`, name)),
		Members:     members,
		Created:     t0,
		Modified:    t0,
	}
}

func createGroup(t *testing.T, s store.Store, g store.Group) store.Group {
	t.Helper()
	got, err := s.CreateGroup(t.Context(), g)
	noErr(t, fmt.Sprintf("CreateGroup %q", g.ID), err)
	return got
}

func getGroup(t *testing.T, s store.Store, id string) store.Group {
	t.Helper()
	got, err := s.GetGroup(t.Context(), id)
	noErr(t, fmt.Sprintf("GetGroup %q", id), err)
	return got
}

func updateGroup(t *testing.T, s store.Store, id string, fn func(*store.Group)) store.Group {
	t.Helper()
	got, err := s.UpdateGroup(t.Context(), id, func(g *store.Group) error { fn(g); return nil })
	noErr(t, fmt.Sprintf("UpdateGroup %q", id), err)
	return got
}

func groupsOf(t *testing.T, s store.Store, user int64) []string {
	t.Helper()
	got, err := s.GroupsOf(t.Context(), user)
	noErr(t, fmt.Sprintf("GroupsOf %d", user), err)
	return got
}

var groupTests = []test{
	{"Create", func(t *testing.T, s store.Store) {
		in := store.Group{
			ID: "6f1c", DisplayName: "FS Agents - Service Desk", ExternalID: "okta-1",
			Doc:     json.RawMessage(`{"displayName": "FS Agents - Service Desk"}`),
			FSID:    4200,
			Members: []int64{5, 3, 5, 1, 3},
			Applied: json.RawMessage(`{"members":[1]}`),
			Dirty:   true, Attempts: 1, LastError: "503", NextAttempt: t0,
			Version: 9,
		}
		before := time.Now()
		got, err := s.CreateGroup(t.Context(), in)
		after := time.Now()
		noErr(t, "CreateGroup", err)
		within(t, "Created", got.Created, before, after)
		within(t, "Modified", got.Modified, before, after)
		want := in
		want.Members = []int64{1, 3, 5}
		want.Version = 1
		want.Created, want.Modified = got.Created, got.Modified
		diff(t, "CreateGroup returned", want, got)
		diff(t, "GetGroup", got, getGroup(t, s, "6f1c"))
		if in.Members[0] != 5 {
			t.Errorf("CreateGroup changed the caller's Members: %v", in.Members)
		}
	}},
	{"CreateKeepsTimes", func(t *testing.T, s store.Store) {
		in := newGroup("g", "G")
		in.Modified = t0.Add(time.Minute + 1)
		createGroup(t, s, in)
		got := getGroup(t, s, "g")
		if !got.Created.Equal(in.Created) || !got.Modified.Equal(in.Modified) || !got.NextAttempt.IsZero() {
			t.Errorf("times = %v, %v, %v; want %v, %v, zero", got.Created, got.Modified, got.NextAttempt,
				in.Created, in.Modified)
		}
	}},
	{"CreateDuplicateID", func(t *testing.T, s store.Store) {
		first := createGroup(t, s, newGroup("g", "One", 1))
		_, err := s.CreateGroup(t.Context(), newGroup("g", "Two", 2))
		wantErr(t, "CreateGroup same id", err, store.ErrAlreadyExists)
		diff(t, "first group", first, getGroup(t, s, "g"))
		diff(t, "GroupsOf 2", []string(nil), groupsOf(t, s, 2))
	}},
	{"CreateDuplicateDisplayName", func(t *testing.T, s store.Store) {
		for i, c := range []struct{ first, second string }{
			{"Service Desk", "Service Desk"},
			{"Service Desk", "SERVICE desk"},
			{"Équipe Ørsted", "éQUIPE øRSTED"},
		} {
			id := fmt.Sprint("g", i)
			createGroup(t, s, newGroup(id, c.first))
			_, err := s.CreateGroup(t.Context(), newGroup(id+"-2", c.second, 7))
			wantErr(t, fmt.Sprintf("CreateGroup %q after %q", c.second, c.first), err, store.ErrAlreadyExists)
			_, err = s.GetGroup(t.Context(), id+"-2")
			wantErr(t, "GetGroup of the refused group", err, store.ErrNotFound)
			diff(t, "GroupsOf 7", []string(nil), groupsOf(t, s, 7))
			noErr(t, "DeleteGroup", s.DeleteGroup(t.Context(), id))
		}
	}},
	{"GetNotFound", func(t *testing.T, s store.Store) {
		createGroup(t, s, newGroup("g", "G"))
		_, err := s.GetGroup(t.Context(), "h")
		wantErr(t, "GetGroup", err, store.ErrNotFound)
		_, err = s.GetGroupByDisplayName(t.Context(), "H")
		wantErr(t, "GetGroupByDisplayName", err, store.ErrNotFound)
	}},
	{"GetByDisplayName", func(t *testing.T, s store.Store) {
		want := createGroup(t, s, newGroup("g", "Service Desk", 2, 1))
		createGroup(t, s, newGroup("h", "Other"))
		for _, name := range []string{"Service Desk", "service desk", "SERVICE DESK"} {
			got, err := s.GetGroupByDisplayName(t.Context(), name)
			noErr(t, "GetGroupByDisplayName "+name, err)
			diff(t, "GetGroupByDisplayName "+name, want, got)
		}
	}},
	{"UpdateUnversionedFields", func(t *testing.T, s store.Store) {
		old := createGroup(t, s, newGroup("g", "G", 1, 2, 3))
		next := t0.Add(time.Hour + 3)
		got := updateGroup(t, s, "g", func(g *store.Group) {
			g.FSID = 77
			g.Applied = json.RawMessage(`{"fs":77}`)
			g.Dirty = true
			g.Attempts = 4
			g.LastError = "timeout"
			g.NextAttempt = next
			g.Members = []int64{3, 1, 2, 2} // the same set
		})
		want := old
		want.FSID, want.Applied, want.Dirty, want.Attempts, want.LastError, want.NextAttempt =
			77, json.RawMessage(`{"fs":77}`), true, 4, "timeout", next
		diff(t, "UpdateGroup returned (Version and Modified unchanged)", want, got)
		diff(t, "GetGroup", want, getGroup(t, s, "g"))
	}},
	{"UpdateVersionedFields", func(t *testing.T, s store.Store) {
		for i, c := range []struct {
			name string
			fn   func(*store.Group)
		}{
			{"Doc", func(g *store.Group) { g.Doc = json.RawMessage(`{"displayName":"G","x":1}`) }},
			{"DisplayName", func(g *store.Group) { g.DisplayName = "Renamed" }},
			{"DisplayNameCase", func(g *store.Group) { g.DisplayName = "g" }},
			{"ExternalID", func(g *store.Group) { g.ExternalID = "other" }},
			{"MembersAdded", func(g *store.Group) { g.Members = append(g.Members, 9, 0) }},
			{"MembersRemoved", func(g *store.Group) { g.Members = g.Members[1:] }},
			{"MembersInPlace", func(g *store.Group) { g.Members[0] = 4 }},
			{"DocInPlace", func(g *store.Group) { g.Doc[2] = 'D' }},
			{"MembersCleared", func(g *store.Group) { g.Members = nil }},
		} {
			t.Run(c.name, func(t *testing.T) {
				id := fmt.Sprint("g", i)
				old := createGroup(t, s, newGroup(id, "G", 5, 6))
				defer func() { noErr(t, "DeleteGroup", s.DeleteGroup(t.Context(), id)) }()
				before := time.Now()
				got := updateGroup(t, s, id, c.fn)
				after := time.Now()
				want := old
				want.Members = slices.Clone(old.Members)
				c.fn(&want)
				slices.Sort(want.Members)
				want.Version = 2
				within(t, "Modified", got.Modified, before, after)
				want.Modified = got.Modified
				diff(t, "UpdateGroup returned", want, got)
				diff(t, "GetGroup", want, getGroup(t, s, id))
			})
		}
	}},
	{"UpdateStoreOwnedFields", func(t *testing.T, s store.Store) {
		old := createGroup(t, s, newGroup("g", "G", 1))
		got := updateGroup(t, s, "g", func(g *store.Group) {
			g.ID = "h"
			g.Version = 40
			g.Created = t0.Add(time.Hour)
			g.Modified = t0.Add(time.Hour)
		})
		diff(t, "UpdateGroup returned", old, got)
		diff(t, "GetGroup", old, getGroup(t, s, "g"))
		_, err := s.GetGroup(t.Context(), "h")
		wantErr(t, "GetGroup of the id fn set", err, store.ErrNotFound)
	}},
	{"UpdateNotFound", func(t *testing.T, s store.Store) {
		called := false
		_, err := s.UpdateGroup(t.Context(), "g", func(*store.Group) error { called = true; return nil })
		wantErr(t, "UpdateGroup", err, store.ErrNotFound)
		if called {
			t.Error("fn was called for a missing group")
		}
	}},
	{"UpdateFnError", func(t *testing.T, s store.Store) {
		old := createGroup(t, s, newGroup("g", "G", 1, 2))
		_, err := s.UpdateGroup(t.Context(), "g", func(g *store.Group) error {
			g.DisplayName = "changed"
			g.Members[0] = 99 // in place
			g.Members = append(g.Members, 100)
			g.Doc[0] = '['
			return errFn
		})
		wantErr(t, "UpdateGroup", err, errFn)
		diff(t, "GetGroup after a failed fn", old, getGroup(t, s, "g"))
		diff(t, "GroupsOf 100", []string(nil), groupsOf(t, s, 100))
	}},
	{"UpdateDisplayNameClash", func(t *testing.T, s store.Store) {
		createGroup(t, s, newGroup("a", "Alpha"))
		beta := createGroup(t, s, newGroup("b", "Beta", 1))
		_, err := s.UpdateGroup(t.Context(), "b", func(g *store.Group) error {
			g.DisplayName = "ALPHA"
			g.Members = []int64{2}
			return nil
		})
		wantErr(t, "UpdateGroup to a taken displayName", err, store.ErrAlreadyExists)
		diff(t, "GetGroup after the clash", beta, getGroup(t, s, "b"))
		diff(t, "GroupsOf 2", []string(nil), groupsOf(t, s, 2))
		got := updateGroup(t, s, "b", func(g *store.Group) { g.DisplayName = "BETA" })
		if got.DisplayName != "BETA" {
			t.Errorf("DisplayName = %q, want BETA", got.DisplayName)
		}
	}},
	{"Delete", func(t *testing.T, s store.Store) {
		createGroup(t, s, newGroup("a", "A", 1, 2))
		keep := createGroup(t, s, newGroup("b", "B", 2))
		noErr(t, "DeleteGroup", s.DeleteGroup(t.Context(), "a"))
		_, err := s.GetGroup(t.Context(), "a")
		wantErr(t, "GetGroup after DeleteGroup", err, store.ErrNotFound)
		wantErr(t, "DeleteGroup again", s.DeleteGroup(t.Context(), "a"), store.ErrNotFound)
		diff(t, "GroupsOf 1", []string(nil), groupsOf(t, s, 1))
		diff(t, "GroupsOf 2", []string{"b"}, groupsOf(t, s, 2))
		diff(t, "the other group", keep, getGroup(t, s, "b"))
		got := createGroup(t, s, newGroup("a", "a", 3)) // id and displayName are free again
		diff(t, "re-created group's members", []int64{3}, got.Members)
	}},
	{"ForEach", func(t *testing.T, s store.Store) {
		var want []store.Group
		for _, g := range []store.Group{
			newGroup("c", "C", 3, 1),
			newGroup("a", "A"),
			newGroup("b", "B", 2),
		} {
			want = append(want, createGroup(t, s, g))
		}
		slices.SortFunc(want, func(a, b store.Group) int { return cmpString(a.ID, b.ID) })
		var got []store.Group
		noErr(t, "ForEachGroup", s.ForEachGroup(t.Context(), func(g store.Group) error {
			got = append(got, g)
			return nil
		}))
		diff(t, "ForEachGroup", want, got)

		n := 0
		err := s.ForEachGroup(t.Context(), func(store.Group) error { n++; return errStop })
		wantErr(t, "ForEachGroup stopping", err, errStop)
		if n != 1 {
			t.Errorf("fn called %d times, want 1", n)
		}
	}},
	{"GroupsOf", func(t *testing.T, s store.Store) {
		createGroup(t, s, newGroup("g-b", "B", 1, 2))
		createGroup(t, s, newGroup("g-a", "A", 2, 3))
		createGroup(t, s, newGroup("g-c", "C"))
		diff(t, "GroupsOf 2", []string{"g-a", "g-b"}, groupsOf(t, s, 2))
		diff(t, "GroupsOf 99", []string(nil), groupsOf(t, s, 99))

		updateGroup(t, s, "g-a", func(g *store.Group) { g.Members = []int64{3} })
		diff(t, "GroupsOf 2 after removal", []string{"g-b"}, groupsOf(t, s, 2))
		updateGroup(t, s, "g-c", func(g *store.Group) { g.Members = append(g.Members, 2) })
		diff(t, "GroupsOf 2 after adding", []string{"g-b", "g-c"}, groupsOf(t, s, 2))
		noErr(t, "DeleteGroup", s.DeleteGroup(t.Context(), "g-b"))
		diff(t, "GroupsOf 2 after group deletion", []string{"g-c"}, groupsOf(t, s, 2))
		diff(t, "GroupsOf 1 after group deletion", []string(nil), groupsOf(t, s, 1))
	}},
	{"LargeGroup", func(t *testing.T, s store.Store) {
		const n = 2000
		var members []int64
		for i := n; i > 0; i-- {
			members = append(members, int64(i))
		}
		got := createGroup(t, s, newGroup("all", "All staff", members...))
		if len(got.Members) != n || got.Members[0] != 1 || got.Members[n-1] != n {
			t.Fatalf("Members: %d, want 1..%d", len(got.Members), n)
		}
		got = updateGroup(t, s, "all", func(g *store.Group) {
			g.Members = slices.DeleteFunc(g.Members, func(id int64) bool { return id%2 == 0 })
		})
		read := getGroup(t, s, "all")
		diff(t, "GetGroup", got, read)
		if len(read.Members) != n/2 || read.Version != 2 {
			t.Errorf("%d members, Version %d; want %d, 2", len(read.Members), read.Version, n/2)
		}
		diff(t, "GroupsOf 2", []string(nil), groupsOf(t, s, 2))
		diff(t, "GroupsOf 3", []string{"all"}, groupsOf(t, s, 3))
	}},
	{"Dirty", func(t *testing.T, s store.Store) {
		now := t0.Add(24 * time.Hour)
		for _, c := range []struct {
			id    string
			dirty bool
			next  time.Time
		}{
			{"a", true, now.Add(-time.Hour)},
			{"b", true, now.Add(time.Nanosecond)},
			{"c", false, now.Add(-3 * time.Hour)},
			{"d", true, now.Add(-2 * time.Hour)},
			{"e", true, time.Time{}},
			{"f", true, now},
		} {
			g := newGroup(c.id, c.id)
			g.Dirty, g.NextAttempt = c.dirty, c.next
			createGroup(t, s, g)
		}
		for _, c := range []struct {
			limit int
			want  []string
		}{
			{10, []string{"e", "d", "a", "f"}},
			{3, []string{"e", "d", "a"}},
			{0, nil},
		} {
			got, err := s.DirtyGroups(t.Context(), now, c.limit)
			noErr(t, "DirtyGroups", err)
			diff(t, fmt.Sprintf("DirtyGroups(limit %d)", c.limit), c.want, got)
		}
	}},
	{"ConcurrentMemberAdds", func(t *testing.T, s store.Store) {
		createGroup(t, s, newGroup("g", "G"))
		const n = 50
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				_, err := s.UpdateGroup(t.Context(), "g", func(g *store.Group) error {
					g.Members = append(g.Members, int64(i+1))
					return nil
				})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			noErr(t, "UpdateGroup", err)
		}
		got := getGroup(t, s, "g")
		if len(got.Members) != n || got.Version != n+1 {
			t.Errorf("%d members, Version %d; want %d, %d (a lost update)", len(got.Members), got.Version, n, n+1)
		}
	}},
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ---- intents

// retrying is an intent the background pass has tried and failed on, with
// every field set.
func retrying(key string) store.Intent {
	return store.Intent{
		Key: key, Doc: json.RawMessage(`{"userName":"alice"}`), Created: t0, Attempts: 3,
		NextAttempt: t0.Add(90 * time.Second), LastError: "Freshservice failed (POST /api/v2/requesters)",
	}
}

var intentTests = []test{
	{"PutGet", func(t *testing.T, s store.Store) {
		for _, in := range []store.Intent{
			{Key: "alice@example.com", Doc: json.RawMessage(`{"userName":"alice"}`), Created: t0, Attempts: 1},
			retrying("bob@example.com"),
			func() store.Intent { in := retrying("carol@example.com"); in.Failed = t0.Add(time.Hour); return in }(),
		} {
			noErr(t, "PutIntent", s.PutIntent(t.Context(), in))
			got, err := s.GetIntent(t.Context(), in.Key)
			noErr(t, "GetIntent", err)
			diff(t, "GetIntent", in, got)
		}
	}},
	{"Replace", func(t *testing.T, s store.Store) {
		failed := retrying("k")
		failed.Failed = t0.Add(time.Hour)
		noErr(t, "PutIntent", s.PutIntent(t.Context(), failed))
		// A create sent again starts afresh: the retry fields go too.
		in := store.Intent{Key: "k", Doc: json.RawMessage(`2`), Created: t0.Add(time.Second)}
		noErr(t, "PutIntent again", s.PutIntent(t.Context(), in))
		got, err := s.GetIntent(t.Context(), "k")
		noErr(t, "GetIntent", err)
		diff(t, "GetIntent after replace", in, got)
		list, err := s.ListIntents(t.Context())
		noErr(t, "ListIntents", err)
		diff(t, "ListIntents", []store.Intent{in}, list)
	}},
	{"Update", func(t *testing.T, s store.Store) {
		noErr(t, "PutIntent", s.PutIntent(t.Context(), retrying("k")))
		want := retrying("k")
		want.Attempts, want.NextAttempt, want.LastError, want.Failed = 4, time.Time{}, "gave up", t0.Add(time.Hour)
		got, err := s.UpdateIntent(t.Context(), "k", func(in *store.Intent) error {
			diff(t, "what fn is given", retrying("k"), *in)
			in.Key = "other" // the store's, not fn's
			in.Attempts, in.NextAttempt, in.LastError, in.Failed = want.Attempts, want.NextAttempt, want.LastError, want.Failed
			return nil
		})
		noErr(t, "UpdateIntent", err)
		diff(t, "UpdateIntent's result", want, got)
		read, err := s.GetIntent(t.Context(), "k")
		noErr(t, "GetIntent", err)
		diff(t, "GetIntent after UpdateIntent", want, read)
		_, err = s.GetIntent(t.Context(), "other")
		wantErr(t, "GetIntent of the key fn set", err, store.ErrNotFound)
	}},
	{"UpdateFnErrorStoresNothing", func(t *testing.T, s store.Store) {
		noErr(t, "PutIntent", s.PutIntent(t.Context(), retrying("k")))
		_, err := s.UpdateIntent(t.Context(), "k", func(in *store.Intent) error {
			in.Attempts = 99
			in.Doc[0] = '[' // a change to the document fn was handed must not leak either
			return errFn
		})
		wantErr(t, "UpdateIntent", err, errFn)
		got, err := s.GetIntent(t.Context(), "k")
		noErr(t, "GetIntent", err)
		diff(t, "GetIntent after a failed UpdateIntent", retrying("k"), got)
	}},
	{"UpdateNotFound", func(t *testing.T, s store.Store) {
		called := false
		_, err := s.UpdateIntent(t.Context(), "gone@example.com", func(*store.Intent) error { called = true; return nil })
		wantErr(t, "UpdateIntent of an absent intent", err, store.ErrNotFound)
		if called {
			t.Error("fn was called for an absent intent")
		}
		list, err := s.ListIntents(t.Context())
		noErr(t, "ListIntents", err)
		diff(t, "ListIntents after UpdateIntent of an absent intent", []store.Intent(nil), list)
	}},
	{"UpdateSerialised", func(t *testing.T, s store.Store) {
		noErr(t, "PutIntent", s.PutIntent(t.Context(), store.Intent{Key: "k", Created: t0}))
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.UpdateIntent(t.Context(), "k", func(in *store.Intent) error { in.Attempts++; return nil })
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			noErr(t, "UpdateIntent", err)
		}
		got, err := s.GetIntent(t.Context(), "k")
		noErr(t, "GetIntent", err)
		if got.Attempts != n {
			t.Errorf("Attempts = %d after %d concurrent increments; an update was lost", got.Attempts, n)
		}
	}},
	{"CreatedDefaultsToNow", func(t *testing.T, s store.Store) {
		before := time.Now()
		noErr(t, "PutIntent", s.PutIntent(t.Context(), store.Intent{Key: "k"}))
		after := time.Now()
		got, err := s.GetIntent(t.Context(), "k")
		noErr(t, "GetIntent", err)
		within(t, "Created", got.Created, before, after)
	}},
	{"GetNotFound", func(t *testing.T, s store.Store) {
		_, err := s.GetIntent(t.Context(), "nobody@example.com")
		wantErr(t, "GetIntent", err, store.ErrNotFound)
	}},
	{"Delete", func(t *testing.T, s store.Store) {
		noErr(t, "PutIntent", s.PutIntent(t.Context(), store.Intent{Key: "a", Created: t0}))
		noErr(t, "PutIntent", s.PutIntent(t.Context(), store.Intent{Key: "b", Created: t0}))
		noErr(t, "DeleteIntent", s.DeleteIntent(t.Context(), "a"))
		_, err := s.GetIntent(t.Context(), "a")
		wantErr(t, "GetIntent after delete", err, store.ErrNotFound)
		noErr(t, "DeleteIntent of an absent key", s.DeleteIntent(t.Context(), "a"))
		_, err = s.GetIntent(t.Context(), "b")
		noErr(t, "GetIntent of the other", err)
	}},
	{"ListOldestFirst", func(t *testing.T, s store.Store) {
		list, err := s.ListIntents(t.Context())
		noErr(t, "ListIntents on an empty store", err)
		diff(t, "ListIntents empty", []store.Intent(nil), list)
		var want []store.Intent
		for i, c := range []struct {
			key string
			at  time.Duration
		}{{"c", 2}, {"a", 3}, {"b", 1}} {
			in := store.Intent{Key: c.key, Doc: json.RawMessage(fmt.Sprint(i)), Created: t0.Add(c.at * time.Second), Attempts: i}
			noErr(t, "PutIntent", s.PutIntent(t.Context(), in))
			want = append(want, in)
		}
		want = []store.Intent{want[2], want[0], want[1]}
		list, err = s.ListIntents(t.Context())
		noErr(t, "ListIntents", err)
		diff(t, "ListIntents", want, list)
	}},
}

// ---- mirror

func mirrorEntry(id int64, v string) store.MirrorEntry {
	return store.MirrorEntry{ID: id, Data: json.RawMessage(fmt.Sprintf(`{"id":%d,"v":%q}`, id, v))}
}

func allMirror(t *testing.T, s store.Store) []store.MirrorEntry {
	t.Helper()
	var got []store.MirrorEntry
	noErr(t, "ForEachMirror", s.ForEachMirror(t.Context(), func(e store.MirrorEntry) error {
		got = append(got, e) // keeping e must be safe
		return nil
	}))
	return got
}

var mirrorTests = []test{
	{"PutForEach", func(t *testing.T, s store.Store) {
		diff(t, "empty mirror", []store.MirrorEntry(nil), allMirror(t, s))
		noErr(t, "PutMirror", s.PutMirror(t.Context(), []store.MirrorEntry{
			mirrorEntry(3, "c"), mirrorEntry(1, "a"), mirrorEntry(2, "b"),
		}))
		diff(t, "ForEachMirror", []store.MirrorEntry{mirrorEntry(1, "a"), mirrorEntry(2, "b"), mirrorEntry(3, "c")},
			allMirror(t, s))
	}},
	{"Replace", func(t *testing.T, s store.Store) {
		noErr(t, "PutMirror", s.PutMirror(t.Context(), []store.MirrorEntry{mirrorEntry(1, "a"), mirrorEntry(2, "b")}))
		noErr(t, "PutMirror", s.PutMirror(t.Context(), []store.MirrorEntry{mirrorEntry(2, "B"), mirrorEntry(4, "d")}))
		diff(t, "ForEachMirror", []store.MirrorEntry{mirrorEntry(1, "a"), mirrorEntry(2, "B"), mirrorEntry(4, "d")},
			allMirror(t, s))
	}},
	{"Delete", func(t *testing.T, s store.Store) {
		noErr(t, "PutMirror", s.PutMirror(t.Context(), []store.MirrorEntry{
			mirrorEntry(1, "a"), mirrorEntry(2, "b"), mirrorEntry(3, "c"),
		}))
		noErr(t, "DeleteMirror", s.DeleteMirror(t.Context(), []int64{2, 99}))
		diff(t, "ForEachMirror", []store.MirrorEntry{mirrorEntry(1, "a"), mirrorEntry(3, "c")}, allMirror(t, s))
		noErr(t, "DeleteMirror of nothing", s.DeleteMirror(t.Context(), nil))
		noErr(t, "PutMirror of nothing", s.PutMirror(t.Context(), nil))
	}},
	{"Get", func(t *testing.T, s store.Store) {
		_, err := s.GetMirror(t.Context(), 1)
		wantErr(t, "GetMirror of nothing", err, store.ErrNotFound)
		noErr(t, "PutMirror", s.PutMirror(t.Context(), []store.MirrorEntry{mirrorEntry(1, "a"), mirrorEntry(2, "b")}))
		got, err := s.GetMirror(t.Context(), 2)
		noErr(t, "GetMirror", err)
		diff(t, "GetMirror", mirrorEntry(2, "b"), got)
		noErr(t, "DeleteMirror", s.DeleteMirror(t.Context(), []int64{2}))
		_, err = s.GetMirror(t.Context(), 2)
		wantErr(t, "GetMirror after delete", err, store.ErrNotFound)
	}},
	{"Batch", func(t *testing.T, s store.Store) {
		const n = 1000
		var want []store.MirrorEntry
		batch := make([]store.MirrorEntry, 0, n)
		for i := n; i > 0; i-- {
			batch = append(batch, mirrorEntry(int64(i)*7, fmt.Sprint(i)))
		}
		noErr(t, "PutMirror", s.PutMirror(t.Context(), batch))
		for i := 1; i <= n; i++ {
			want = append(want, mirrorEntry(int64(i)*7, fmt.Sprint(i)))
		}
		diff(t, "ForEachMirror", want, allMirror(t, s))
	}},
	{"StopAtError", func(t *testing.T, s store.Store) {
		noErr(t, "PutMirror", s.PutMirror(t.Context(), []store.MirrorEntry{mirrorEntry(1, "a"), mirrorEntry(2, "b")}))
		n := 0
		err := s.ForEachMirror(t.Context(), func(store.MirrorEntry) error { n++; return errStop })
		wantErr(t, "ForEachMirror", err, errStop)
		if n != 1 {
			t.Errorf("fn called %d times, want 1", n)
		}
	}},
}

// ---- audit

var auditTests = []test{
	{"Append", func(t *testing.T, s store.Store) {
		before := time.Now()
		a, err := s.AppendAudit(t.Context(), store.AuditEvent{Operation: "user.create", Outcome: "ok"})
		after := time.Now()
		noErr(t, "AppendAudit", err)
		within(t, "Time", a.Time, before, after)
		in := store.AuditEvent{
			Time: t0, RequestID: "req-1", Client: "okta", Operation: "user.promote", SCIMID: "101",
			FSID: 101, Outcome: "error", Detail: "role SD Agent not found",
		}
		b, err := s.AppendAudit(t.Context(), in)
		noErr(t, "AppendAudit", err)
		if a.ID == 0 || b.ID <= a.ID {
			t.Errorf("IDs %d then %d, want increasing", a.ID, b.ID)
		}
		want := in
		want.ID = b.ID
		diff(t, "AppendAudit returned", want, b)
		got, err := s.ListAudit(t.Context(), store.AuditQuery{})
		noErr(t, "ListAudit", err)
		diff(t, "ListAudit (newest first)", []store.AuditEvent{a, b}, got)
	}},
	{"FailureFields", func(t *testing.T, s store.Store) {
		// A failure's call, kind, status, field and code read back as
		// written, so the status page never has to read them out of
		// the detail's words.
		for _, c := range []struct {
			name string
			in   store.AuditEvent
		}{
			{"FreshserviceRefusedOneField", store.AuditEvent{
				Operation: "user.update", FSID: 42, Outcome: "error",
				Detail: "PUT /api/v2/requesters/42 failed: Freshservice answered 400 Bad Request; field time_zone: invalid_value",
				Call:   "PUT /api/v2/requesters/42", Kind: "invalid", Status: 400, Field: "time_zone", Code: "invalid_value",
			}},
			{"SeveralFields", store.AuditEvent{
				Operation: "user.update", FSID: 7, Outcome: "error", Detail: "two fields refused",
				Call: "PUT /api/v2/requesters/7", Kind: "invalid", Status: 400, Field: "vip_user", Code: "invalid_field",
				Fields: []store.AuditField{{Field: "vip_user", Code: "invalid_field"}, {Field: "language", Code: "invalid_value"}, {Code: "invalid_request"}},
			}},
			{"NoAnswer", store.AuditEvent{
				Operation: "user.create", Outcome: "error", Detail: "POST /api/v2/requesters failed: Freshservice did not answer",
				Call: "POST /api/v2/requesters", Kind: "transient",
			}},
			{"BridgesOwnRefusal", store.AuditEvent{
				Operation: "user.promote", FSID: 9, Outcome: "error", Detail: "no full-time agent seat left",
				Kind: "no_seat", Field: "rules.max_agents",
			}},
			{"OkStepWithItsCall", store.AuditEvent{
				Operation: "user.create", FSID: 11, Outcome: "ok", Detail: `POST /api/v2/requesters {"first_name":"Ann"}`,
				Call: "POST /api/v2/requesters",
			}},
			{"EmptyFieldsReadBackNil", store.AuditEvent{
				Operation: "user.update", Outcome: "error", Detail: "x", Kind: "invalid", Status: 400, Fields: []store.AuditField{},
			}},
		} {
			t.Run(c.name, func(t *testing.T) {
				c.in.Time, c.in.SCIMID = t0, c.name
				got, err := s.AppendAudit(t.Context(), c.in)
				noErr(t, "AppendAudit", err)
				want := c.in
				want.ID = got.ID
				if len(want.Fields) == 0 {
					want.Fields = nil
				}
				diff(t, "AppendAudit returned", want, got)
				read, err := s.ListAudit(t.Context(), store.AuditQuery{SCIMID: c.name})
				noErr(t, "ListAudit", err)
				diff(t, "ListAudit", []store.AuditEvent{want}, read)
			})
		}
	}},
	{"Filters", func(t *testing.T, s store.Store) {
		at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
		var ev []store.AuditEvent // ev[i] has ID order i; times are not in append order
		for _, e := range []store.AuditEvent{
			{Time: at(0), Client: "okta", Operation: "user.create", SCIMID: "1", FSID: 1, Outcome: "ok"},
			{Time: at(1), Client: "entra", Operation: "user.promote", SCIMID: "2", FSID: 2, Outcome: "error", RequestID: "req-7"},
			{Time: at(2), Client: "okta", Operation: "group.add_members", SCIMID: "g1", FSID: 900, Outcome: "ok"},
			{Time: at(3), Client: "okta", Operation: "user", SCIMID: "1", FSID: 1, Outcome: "planned"},
			{Time: at(4), Client: "entra", Operation: "username.check", SCIMID: "3", FSID: 3, Outcome: "ok"},
			{Time: at(-1), Client: "okta", Operation: "user.deactivate", SCIMID: "1", FSID: 1, Outcome: "ok"},
			{Time: at(2), Client: "okta", Operation: "user.update", SCIMID: "2", FSID: 2, Outcome: "ok", RequestID: "req-7"},
		} {
			got, err := s.AppendAudit(t.Context(), e)
			noErr(t, "AppendAudit", err)
			ev = append(ev, got)
		}
		pick := func(idx ...int) []store.AuditEvent {
			var out []store.AuditEvent
			for _, i := range idx {
				out = append(out, ev[i])
			}
			return out
		}
		for _, c := range []struct {
			name string
			q    store.AuditQuery
			want []store.AuditEvent
		}{
			{"All", store.AuditQuery{}, pick(4, 3, 6, 2, 1, 0, 5)}, // newest Time first, ties newest ID first
			{"Since", store.AuditQuery{Since: at(2)}, pick(4, 3, 6, 2)},
			{"Until", store.AuditQuery{Until: at(2)}, pick(1, 0, 5)},
			{"Range", store.AuditQuery{Since: at(0), Until: at(3)}, pick(6, 2, 1, 0)},
			{"Outcome", store.AuditQuery{Outcome: "ok"}, pick(4, 6, 2, 0, 5)},
			{"Client", store.AuditQuery{Client: "entra"}, pick(4, 1)},
			{"OperationExact", store.AuditQuery{Operation: "user.promote"}, pick(1)},
			{"OperationExactNoPrefix", store.AuditQuery{Operation: "user"}, pick(3)},
			{"OperationPrefix", store.AuditQuery{Operation: "user."}, pick(6, 1, 0, 5)},
			{"OperationPrefixGroup", store.AuditQuery{Operation: "group."}, pick(2)},
			{"SCIMID", store.AuditQuery{SCIMID: "1"}, pick(3, 0, 5)},
			{"FSID", store.AuditQuery{FSID: 2}, pick(6, 1)},
			{"RequestID", store.AuditQuery{RequestID: "req-7"}, pick(6, 1)},
			{"Combined", store.AuditQuery{Client: "okta", Operation: "user.", Outcome: "ok", Since: at(0)}, pick(6, 0)},
			{"Limit", store.AuditQuery{Limit: 2}, pick(4, 3)},
			{"LimitFiltered", store.AuditQuery{SCIMID: "1", Limit: 2}, pick(3, 0)},
			{"NoMatch", store.AuditQuery{Client: "onelogin"}, nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				got, err := s.ListAudit(t.Context(), c.q)
				noErr(t, "ListAudit", err)
				diff(t, "ListAudit", c.want, got)
			})
		}
	}},
	{"DefaultLimit", func(t *testing.T, s store.Store) {
		var last store.AuditEvent
		for i := range 105 {
			var err error
			last, err = s.AppendAudit(t.Context(), store.AuditEvent{
				Time: t0.Add(time.Duration(i) * time.Second), Operation: "user.update", Outcome: "ok",
			})
			noErr(t, "AppendAudit", err)
		}
		got, err := s.ListAudit(t.Context(), store.AuditQuery{})
		noErr(t, "ListAudit", err)
		if len(got) != 100 {
			t.Fatalf("ListAudit returned %d events, want 100", len(got))
		}
		diff(t, "newest", last, got[0])
		if !got[99].Time.Equal(t0.Add(5 * time.Second)) {
			t.Errorf("oldest returned at %v, want %v", got[99].Time, t0.Add(5*time.Second))
		}
	}},
}

// ---- meta

var metaTests = []test{
	{"GetSet", func(t *testing.T, s store.Store) {
		_, err := s.GetMeta(t.Context(), "mirror.cursor")
		wantErr(t, "GetMeta of an unset key", err, store.ErrNotFound)
		noErr(t, "SetMeta", s.SetMeta(t.Context(), "mirror.cursor", "page=3"))
		noErr(t, "SetMeta", s.SetMeta(t.Context(), "other", ""))
		noErr(t, "SetMeta again", s.SetMeta(t.Context(), "mirror.cursor", "page=4"))
		for key, want := range map[string]string{"mirror.cursor": "page=4", "other": ""} {
			got, err := s.GetMeta(t.Context(), key)
			noErr(t, "GetMeta "+key, err)
			if got != want {
				t.Errorf("GetMeta(%q) = %q, want %q", key, got, want)
			}
		}
	}},
}

// ---- locks

// lockIn takes the lock with a deadline, so a broken lock fails the test
// instead of hanging it.
func lockIn(t *testing.T, s store.Store, key string) func() {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	unlock, err := s.Lock(ctx, key)
	noErr(t, "Lock "+key, err)
	return unlock
}

// lockErr calls Lock expecting it to fail with ctx's error, failing the
// test instead of hanging when Lock ignores ctx.
func lockErr(t *testing.T, s store.Store, ctx context.Context, key string) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		unlock, err := s.Lock(ctx, key)
		if err == nil {
			unlock()
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("Lock %s: still waiting 10s after its context ended", key)
		return nil
	}
}

var lockTests = []test{
	{"MutualExclusion", func(t *testing.T, s store.Store) {
		const workers, rounds = 20, 25
		var (
			counter int // unsynchronised but for the lock: -race reports a broken lock
			inside  atomic.Int32
			wg      sync.WaitGroup
		)
		errs := make(chan error, workers*rounds)
		for range workers {
			wg.Go(func() {
				for range rounds {
					unlock, err := s.Lock(t.Context(), "user:1")
					if err != nil {
						errs <- err
						return
					}
					if n := inside.Add(1); n != 1 {
						errs <- fmt.Errorf("%d holders at once", n)
					}
					counter++
					inside.Add(-1)
					unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if counter != workers*rounds {
			t.Errorf("counter = %d, want %d", counter, workers*rounds)
		}
	}},
	{"KeysIndependent", func(t *testing.T, s store.Store) {
		unlockA := lockIn(t, s, "user:1")
		defer unlockA()
		unlockB := lockIn(t, s, "group:1") // must not wait for user:1
		unlockB()
	}},
	{"UnlockWakesWaiter", func(t *testing.T, s store.Store) {
		unlock := lockIn(t, s, "k")
		acquired := make(chan func())
		go func() {
			u, err := s.Lock(t.Context(), "k")
			if err != nil {
				t.Error(err)
				close(acquired)
				return
			}
			acquired <- u
		}()
		select {
		case <-acquired:
			t.Fatal("a second holder got the lock before unlock")
		default:
		}
		unlock()
		select {
		case u, ok := <-acquired:
			if ok {
				u()
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the waiter did not get the lock after unlock")
		}
		lockIn(t, s, "k")() // and it is free again after the waiter's unlock
	}},
	{"WaitHonoursCancel", func(t *testing.T, s store.Store) {
		unlock := lockIn(t, s, "k")
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(10*time.Millisecond, cancel) // usually while Lock waits
		wantErr(t, "Lock canceled while waiting", lockErr(t, s, ctx, "k"), context.Canceled)
		unlock()
		lockIn(t, s, "k")() // the abandoned wait left nothing behind
	}},
	{"WaitHonoursDeadline", func(t *testing.T, s store.Store) {
		unlock := lockIn(t, s, "k")
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		wantErr(t, "Lock past its deadline", lockErr(t, s, ctx, "k"), context.DeadlineExceeded)
		unlock()
		lockIn(t, s, "k")()
	}},
	{"EndedContext", func(t *testing.T, s store.Store) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		wantErr(t, "Lock with an ended context", lockErr(t, s, ctx, "free"), context.Canceled)
		lockIn(t, s, "free")()
	}},
}

// ---- the store as a whole

var storeTests = []test{
	{"ForEachStopsWhenContextEnds", func(t *testing.T, s store.Store) {
		for id := int64(1); id <= 3; id++ {
			createUser(t, s, newUser(id, fmt.Sprint("u", id)))
		}
		createGroup(t, s, newGroup("a", "A"))
		createGroup(t, s, newGroup("b", "B"))
		noErr(t, "PutMirror", s.PutMirror(t.Context(), []store.MirrorEntry{mirrorEntry(1, "a"), mirrorEntry(2, "b")}))
		for _, c := range []struct {
			name string
			each func(ctx context.Context, fn func()) error
		}{
			{"ForEachUser", func(ctx context.Context, fn func()) error {
				return s.ForEachUser(ctx, func(store.User) error { fn(); return nil })
			}},
			{"ForEachGroup", func(ctx context.Context, fn func()) error {
				return s.ForEachGroup(ctx, func(store.Group) error { fn(); return nil })
			}},
			{"ForEachMirror", func(ctx context.Context, fn func()) error {
				return s.ForEachMirror(ctx, func(store.MirrorEntry) error { fn(); return nil })
			}},
		} {
			ctx, cancel := context.WithCancel(t.Context())
			n := 0
			err := c.each(ctx, func() { n++; cancel() })
			wantErr(t, c.name+" canceled by fn", err, context.Canceled)
			if n != 1 {
				t.Errorf("%s: fn called %d times after the context ended, want 1", c.name, n)
			}
		}
	}},
	{"Ping", func(t *testing.T, s store.Store) {
		noErr(t, "Ping", s.Ping(t.Context()))
	}},
	{"CanceledContext", func(t *testing.T, s store.Store) {
		old := createUser(t, s, newUser(1, "a"))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.CreateUser(ctx, newUser(2, "b"))
		wantErr(t, "CreateUser", err, context.Canceled)
		_, err = s.GetUser(t.Context(), 2)
		wantErr(t, "GetUser of the canceled create", err, store.ErrNotFound)
		_, err = s.UpdateUser(ctx, 1, func(u *store.User) error { u.UserName = "z"; return nil })
		wantErr(t, "UpdateUser", err, context.Canceled)
		diff(t, "GetUser after the canceled update", old, getUser(t, s, 1))
		_, err = s.GetUser(ctx, 1)
		wantErr(t, "GetUser", err, context.Canceled)
		wantErr(t, "PutMirror", s.PutMirror(ctx, []store.MirrorEntry{mirrorEntry(1, "a")}), context.Canceled)
		diff(t, "mirror after the canceled put", []store.MirrorEntry(nil), allMirror(t, s))
		wantErr(t, "ForEachMirror", s.ForEachMirror(ctx, func(store.MirrorEntry) error { return nil }), context.Canceled)
	}},
}
