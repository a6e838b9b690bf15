package bridge

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/internal/store/sqlite"
)

// TestWalkPages is the walk's page budget per window: its share of the
// smaller list bucket, never of the overall one, and at least one page.
func TestWalkPages(t *testing.T) {
	buckets := func(overall, agents, requesters int) []freshservice.BucketStats {
		return []freshservice.BucketStats{
			{Bucket: freshservice.BucketOverall, Limit: overall},
			{Bucket: freshservice.BucketListAgents, Limit: agents},
			{Bucket: freshservice.BucketListRequesters, Limit: requesters},
		}
	}
	for _, c := range []struct {
		name  string
		stats []freshservice.BucketStats
		share float64
		want  int
	}{
		{"ShareOfTheSmallerListBucket", buckets(500, 100, 80), 0.5, 40},
		{"EitherListBucketMayBeSmaller", buckets(500, 60, 80), 0.5, 30},
		{"TheOverallBucketDoesNotCount", buckets(10, 100, 100), 1, 100},
		{"RoundsDown", buckets(500, 50, 50), 0.25, 12},
		{"AtLeastOnePage", buckets(500, 3, 3), 0.1, 1},
		{"NoListBucketKnown", buckets(500, 0, 0), 0.5, 1},
		{"NoStats", nil, 0.5, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := walkPages(c.stats, c.share); got != c.want {
				t.Errorf("walkPages = %d, want %d", got, c.want)
			}
		})
	}
}

// TestUnseenUser is what a walk does with each user of the directory once
// its pages are read: a user is read (a GET) only when two walks in a row
// missed it and the bridge did not write it through meanwhile.
func TestUnseenUser(t *testing.T) {
	for _, c := range []struct {
		name                   string
		answered, missedBefore bool
		want                   walkOutcome
	}{
		{"SeenOnAPage", true, false, walkKeeps},
		{"SeenAgainAfterAMiss", true, true, walkKeeps},
		{"MissedOnce", false, false, walkRemembers},
		{"MissedTwice", false, true, walkReads},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := unseenUser(c.answered, c.missedBefore); got != c.want {
				t.Errorf("unseenUser(%v, %v) = %d, want %d", c.answered, c.missedBefore, got, c.want)
			}
		})
	}
}

// TestBackoffAfter is the wait after a failed try: the interval, doubled
// per try after the first, capped.
func TestBackoffAfter(t *testing.T) {
	const interval, ceiling = 30 * time.Second, 30 * time.Minute
	for _, c := range []struct {
		attempts int
		want     time.Duration
	}{
		{0, 30 * time.Second},
		{1, 30 * time.Second},
		{2, time.Minute},
		{3, 2 * time.Minute},
		{6, 16 * time.Minute},
		{7, 30 * time.Minute},
		{50, 30 * time.Minute},
	} {
		if got := backoffAfter(c.attempts, interval, ceiling); got != c.want {
			t.Errorf("backoffAfter(%d) = %v, want %v", c.attempts, got, c.want)
		}
	}
	if got := backoffAfter(3, time.Hour, 10*time.Minute); got != 10*time.Minute {
		t.Errorf("an interval above the ceiling waits %v, want the ceiling", got)
	}
}

// fakeOps stands in for the rest of the bridge; the methods a test does
// not expect to be called are left to the nil interface, and panic.
type fakeOps struct {
	backgroundOps
	mu sync.Mutex
	// read are the users readUser was asked for, with whether it was
	// paced.
	read   []int64
	paced  []bool
	users  []int64
	groups []string
}

func (f *fakeOps) canSeeAgentsAsRequesters() bool        { return true }
func (f *fakeOps) canManageAgents() bool                 { return true }
func (f *fakeOps) replaceCatalog(c *Catalog) *Catalog    { return nil }
func (f *fakeOps) recheckGaps(ctx context.Context)       {}
func (f *fakeOps) recheckDowngrades(ctx context.Context) {}
func (f *fakeOps) reconcileGroup(_ context.Context, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups = append(f.groups, id)
}

func (f *fakeOps) reconcileUser(_ context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users = append(f.users, id)
	return nil
}

// readUser answers that neither view has the user.
func (f *fakeOps) readUser(_ context.Context, id int64, wait func() error, _ func(*freshservice.User, time.Time)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.read = append(f.read, id)
	f.paced = append(f.paced, wait != nil)
	return freshservice.ErrNotFound
}

func (f *fakeOps) reads() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.read
	f.read = nil
	return r
}

func testStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestWalkReadsUsersMissedTwice: a user of the mirror that the walk's
// pages do not show is read only at the second walk in a row that misses
// it, and dropped from the mirror when Freshservice no longer has it; a
// user that turns up on a page after one miss is not read at all.
func TestWalkReadsUsersMissedTwice(t *testing.T) {
	sim, err := simulator.New(simulator.Options{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	fs, err := freshservice.NewClient(srv.URL, "k")
	if err != nil {
		t.Fatal(err)
	}
	dir := directory.New()
	const gone, late = 900001, 900002
	dir.PutUser(&freshservice.User{ID: gone, Email: "gone@example.com", Active: true})
	dir.PutUser(&freshservice.User{ID: late, Email: "late@example.com", Active: true})
	ops := &fakeOps{}
	bg := newBackground(fs, testStore(t), dir, zerolog.Nop(), Options{RefreshShare: 1}, ops)
	// The walks' few calls need not be spread over the window.
	ctx := freshservice.Unpaced(t.Context())

	if err := bg.Walk(ctx); err != nil {
		t.Fatal(err)
	}
	if r := ops.reads(); len(r) != 0 {
		t.Fatalf("the first walk that missed them read %v; want no read", r)
	}
	// The second user shows up in Freshservice's lists, as a user shifted
	// off its page during a walk does at the next.
	if err := sim.Seed(simulator.SeedData{Requesters: []simulator.SeedUser{{ID: late, FirstName: "Late", PrimaryEmail: "late@example.com"}}}); err != nil {
		t.Fatal(err)
	}
	if err := bg.Walk(ctx); err != nil {
		t.Fatal(err)
	}
	if r := ops.reads(); !slices.Equal(r, []int64{gone}) {
		t.Fatalf("the second walk read %v; want only the user missed twice, %d", r, gone)
	}
	if !slices.Equal(ops.paced, []bool{true}) {
		t.Errorf("the read was paced: %v; want it paced like the pages", ops.paced)
	}
	if _, ok := dir.Get(gone); ok {
		t.Error("the user Freshservice no longer has is still in the mirror")
	}
	if _, ok := dir.Get(late); !ok {
		t.Error("the user the second walk's pages showed is not in the mirror")
	}
	if err := bg.Walk(ctx); err != nil {
		t.Fatal(err)
	}
	if r := ops.reads(); len(r) != 0 {
		t.Errorf("a third walk read %v; want no read", r)
	}
}

// TestReconcilePass re-runs the plans of the groups and users that are due,
// leaves those waiting out a backoff, and counts every pending plan; in a
// dry run it re-runs nothing.
func TestReconcilePass(t *testing.T) {
	for _, dryRun := range []bool{false, true} {
		t.Run(map[bool]string{false: "Live", true: "DryRun"}[dryRun], func(t *testing.T) {
			ctx := t.Context()
			st := testStore(t)
			later := time.Now().Add(time.Hour)
			for _, u := range []store.User{
				{ID: 1, UserName: "due@example.com", Dirty: true},
				{ID: 2, UserName: "waiting@example.com", Dirty: true, NextAttempt: later},
				{ID: 3, UserName: "done@example.com"},
			} {
				if _, err := st.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
			}
			for _, g := range []store.Group{
				{ID: "g-due", DisplayName: "Due", Dirty: true},
				{ID: "g-waiting", DisplayName: "Waiting", Dirty: true, NextAttempt: later},
				{ID: "g-done", DisplayName: "Done"},
			} {
				if _, err := st.CreateGroup(ctx, g); err != nil {
					t.Fatal(err)
				}
			}
			// No call is expected: the pass finds no intent to settle.
			fs, err := freshservice.NewClient("http://127.0.0.1:1", "k")
			if err != nil {
				t.Fatal(err)
			}
			ops := &fakeOps{}
			bg := newBackground(fs, st, directory.New(), zerolog.Nop(), Options{DryRun: dryRun}, ops)
			bg.ReconcilePass(ctx)
			wantUsers, wantGroups, wantPending := []int64{1}, []string{"g-due"}, int64(2)
			if dryRun {
				wantUsers, wantGroups, wantPending = nil, nil, 0
			}
			if !slices.Equal(ops.users, wantUsers) || !slices.Equal(ops.groups, wantGroups) {
				t.Errorf("re-ran users %v and groups %v; want %v and %v", ops.users, ops.groups, wantUsers, wantGroups)
			}
			if got := bg.plansPending.Load(); got != wantPending {
				t.Errorf("plans pending = %d, want %d", got, wantPending)
			}
		})
	}
}
