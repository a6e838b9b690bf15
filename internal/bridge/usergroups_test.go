package bridge

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/internal/store/sqlite"
)

// groupReads counts the store reads that make up the groups of a user.
type groupReads struct {
	store.Store
	groupsOf, getGroup atomic.Int64
}

func (s *groupReads) GroupsOf(ctx context.Context, userID int64) ([]string, error) {
	s.groupsOf.Add(1)
	return s.Store.GroupsOf(ctx, userID)
}

func (s *groupReads) GetGroup(ctx context.Context, id string) (store.Group, error) {
	s.getGroup.Add(1)
	return s.Store.GetGroup(ctx, id)
}

// TestAUserWriteReadsItsGroupsOnce: a PUT of a user in three requester groups is planned, run and
// planned again (to see that nothing is left) from one read of its groups, and still lands in
// Freshservice with one call.
func TestAUserWriteReadsItsGroupsOnce(t *testing.T) {
	const key = "groups-once-api-key"
	sim, err := simulator.New(simulator.Options{APIKey: key, Plan: "enterprise", TimeScale: 60})
	if err != nil {
		t.Fatal(err)
	}
	fs := httptest.NewServer(sim)
	t.Cleanup(fs.Close)
	var calls atomic.Int64
	client, err := freshservice.NewClient(fs.URL, key, freshservice.WithObserver(func(context.Context, freshservice.Call) { calls.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	counted := &groupReads{Store: st}
	b, err := New(t.Context(), Options{Client: client, Store: counted, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	user := func(title string) map[string]any {
		return map[string]any{
			"userName": "ada@example.com", "active": true, "title": title,
			"name":   map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
			"emails": []any{map[string]any{"value": "ada@example.com", "type": "work", "primary": true}},
		}
	}
	created, err := b.Users().Create(ctx, user("Engineer"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Engineering", "London", "Everyone"} {
		if _, err := b.Groups().Create(ctx, map[string]any{"displayName": name, "members": []any{map[string]any{"value": created.ID}}}); err != nil {
			t.Fatal(err)
		}
	}

	counted.groupsOf.Store(0)
	counted.getGroup.Store(0)
	calls.Store(0)
	res, err := b.Users().Replace(ctx, created.ID, user("Principal Engineer"))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Attributes["title"]; got != "Principal Engineer" {
		t.Errorf("the PUT answered title %v, want Principal Engineer", got)
	}
	if gl, _ := res.Attributes["groups"].([]any); len(gl) != 3 {
		t.Errorf("the PUT answered groups %v, want the three groups", res.Attributes["groups"])
	}
	id, _ := strconv.ParseInt(created.ID, 10, 64)
	if e, _ := b.dir.Get(id); e.User == nil || e.User.JobTitle != "Principal Engineer" {
		t.Errorf("Freshservice holds %+v, want job title Principal Engineer", e.User)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the PUT made %d Freshservice calls, want 1", n)
	}
	if n, m := counted.groupsOf.Load(), counted.getGroup.Load(); n != 1 || m != 3 {
		t.Errorf("the PUT read the user's groups with %d GroupsOf and %d GetGroup, want 1 and 3 (one read of its three groups)", n, m)
	}
}
