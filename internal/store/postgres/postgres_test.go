package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/internal/store/storetest"
)

// dsnVar names the environment variable with the DSN of a PostgreSQL
// database the tests may create schemas in (.ci/postgres.sh provides one).
const dsnVar = "FSBRIDGE_TEST_POSTGRES_DSN"

// baseDSN returns the test database's DSN, or skips the test.
func baseDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		t.Skipf("%s is not set: set it to a PostgreSQL DSN (eval \"$(.ci/postgres.sh)\" starts a server and sets it) to run the PostgreSQL store tests", dsnVar)
	}
	return dsn
}

// schemaDSN creates a schema with a random name in the test database,
// dropped when the test ends, and returns a DSN whose search_path is that
// schema, so each test starts from an empty store of its own.
func schemaDSN(t testing.TB) string {
	t.Helper()
	dsn := baseDSN(t)
	var b [8]byte
	rand.Read(b[:])
	schema := "fsbridge_test_" + hex.EncodeToString(b[:])
	exec(t, dsn, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	t.Cleanup(func() { exec(t, dsn, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })
	return withParam(t, dsn, "search_path", schema)
}

// withParam adds a connection parameter to a URL or key=value DSN.
func withParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("%s: %v", dsnVar, err)
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " " + key + "=" + value
}

// exec runs sql on its own connection to dsn.
func exec(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // also from Cleanup
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", dsnVar, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func open(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	baseDSN(t)
	storetest.RunTests(t, func(t *testing.T) store.Store {
		return open(t, schemaDSN(t))
	})
}

// TestReplicaLock checks that Lock excludes across two Stores on one
// database, as two replicas would be.
func TestReplicaLock(t *testing.T) {
	dsn := schemaDSN(t)
	a, b := open(t, dsn), open(t, dsn)
	defer a.Close()
	defer b.Close()
	ctx := t.Context()

	unlockA, err := a.Lock(ctx, "user:1")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := b.Lock(short, "user:1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("replica B took user:1 while A holds it: %v", err)
	}
	if n := advisoryLocks(t, dsn); n != 1 {
		t.Errorf("%d advisory locks held after B's abandoned wait, want 1 (A's)", n)
	}
	// The server gives up B's abandoned wait after lockWaitSlice, though A
	// still holds the lock.
	waitFor(t, "no server process waiting for an advisory lock", func() bool {
		return lockWaiters(t, dsn) == 0
	})
	unlockOther, err := b.Lock(ctx, "user:2") // other keys are free
	if err != nil {
		t.Fatal(err)
	}
	unlockOther()

	acquired := make(chan func(), 1)
	go func() {
		u, err := b.Lock(ctx, "user:1")
		if err != nil {
			t.Error(err)
			close(acquired)
			return
		}
		acquired <- u
	}()
	time.Sleep(50 * time.Millisecond) // B is waiting, usually: it must not get in
	select {
	case <-acquired:
		t.Fatal("replica B got user:1 before A unlocked")
	default:
	}
	unlockA()
	select {
	case u, ok := <-acquired:
		if ok {
			u()
		}
	case <-time.After(10 * time.Second):
		t.Fatal("replica B did not get user:1 after A unlocked")
	}
	if n := advisoryLocks(t, dsn); n != 0 {
		t.Errorf("%d advisory locks held after both unlocked, want 0", n)
	}
}

// TestReplicaLockFairness checks that a replica waiting for a lock gets it
// when the holder releases it, even though the holder's own goroutines are
// queued for it too and could hand it over among themselves.
func TestReplicaLockFairness(t *testing.T) {
	dsn := schemaDSN(t)
	a, b := open(t, dsn), open(t, dsn)
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var (
		mu    sync.Mutex
		order []string
	)
	took := func(who string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, who)
	}
	unlock, err := a.Lock(ctx, "group:g")
	if err != nil {
		t.Fatal(err)
	}
	took("A")
	var wg sync.WaitGroup
	wg.Go(func() {
		u, err := b.Lock(ctx, "group:g")
		if err != nil {
			t.Error(err)
			return
		}
		took("B")
		u()
	})
	waitFor(t, "B waiting in the database", func() bool { return lockWaiters(t, dsn) == 1 })
	for range 3 { // A's goroutines line up behind A's holder, in memory
		wg.Go(func() {
			u, err := a.Lock(ctx, "group:g")
			if err != nil {
				t.Error(err)
				return
			}
			took("A")
			u()
		})
	}
	waitFor(t, "A's goroutines queued", func() bool {
		return a.local.Queued("group:g") == 4
	})
	unlock()
	wg.Wait()
	if want := []string{"A", "B", "A", "A", "A"}; !slices.Equal(order, want) {
		t.Errorf("lock taken in the order %v, want %v (B waited first)", order, want)
	}
}

// TestLockCancelLeavesNothing abandons many Lock calls at random moments,
// some while their try is on its way to the server, on a free key and on
// one held by another replica: afterwards no advisory lock is left but the
// holder's, and the key is free once the holder unlocks.
func TestLockCancelLeavesNothing(t *testing.T) {
	dsn := schemaDSN(t)
	a, b := open(t, dsn), open(t, dsn)
	defer a.Close()
	defer b.Close()
	unlockHeld, err := a.Lock(t.Context(), "held")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			key := []string{"free", "held"}[i%2]
			ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i%20)*100*time.Microsecond)
			defer cancel()
			if unlock, err := b.Lock(ctx, key); err == nil {
				unlock()
			} else if ctx.Err() == nil {
				t.Errorf("Lock %s: %v", key, err)
			}
		})
	}
	wg.Wait()
	// A closed connection's session ends a moment after the close.
	waitAdvisoryLocks(t, dsn, 1)
	unlockHeld()
	waitAdvisoryLocks(t, dsn, 0)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for _, key := range []string{"free", "held"} {
		unlock, err := b.Lock(ctx, key)
		if err != nil {
			t.Fatalf("Lock %s after the abandoned waits: %v", key, err)
		}
		unlock()
	}
}

// waitAdvisoryLocks waits until the test database holds want advisory locks.
func waitAdvisoryLocks(t *testing.T, dsn string, want int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d advisory locks held", want), func() bool { return advisoryLocks(t, dsn) == want })
}

// waitFor polls cond until it holds, failing the test after 10 seconds:
// the server ends a closed connection's session, and gives up a wait at its
// lock_timeout, a moment after the fact.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockWaiters counts the server processes of the test database waiting for
// an advisory lock.
func lockWaiters(t *testing.T, dsn string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// advisoryLocks counts the advisory locks granted in the test database.
func advisoryLocks(t *testing.T, dsn string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(),
		`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database =
			(SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReplicaMutualExclusion runs workers on two replicas that all take one
// lock: -race reports a counter touched by two holders at once.
func TestReplicaMutualExclusion(t *testing.T) {
	dsn := schemaDSN(t)
	replicas := []*Store{open(t, dsn), open(t, dsn)}
	for _, s := range replicas {
		defer s.Close()
	}
	const workers, rounds = 8, 20 // per replica
	var (
		counter int
		inside  atomic.Int32
		wg      sync.WaitGroup
	)
	errs := make(chan error, 2*workers*rounds)
	for _, s := range replicas {
		for range workers {
			wg.Go(func() {
				for range rounds {
					unlock, err := s.Lock(t.Context(), "group:g")
					if err != nil {
						errs <- err
						return
					}
					if n := inside.Add(1); n != 1 {
						errs <- fmt.Errorf("%d holders at once", n)
					}
					counter++
					// Hold the lock a moment, so that a second holder, if
					// the lock lets one in, is caught inside.
					time.Sleep(500 * time.Microsecond)
					inside.Add(-1)
					unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if counter != 2*workers*rounds {
		t.Errorf("counter = %d, want %d", counter, 2*workers*rounds)
	}
}

// TestReplicaUpdates runs read-modify-writes of one user and one group from
// two replicas at once: none may be lost.
func TestReplicaUpdates(t *testing.T) {
	dsn := schemaDSN(t)
	a, b := open(t, dsn), open(t, dsn)
	defer a.Close()
	defer b.Close()
	ctx := t.Context()
	if _, err := a.CreateUser(ctx, store.User{ID: 1, UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateGroup(ctx, store.Group{ID: "g", DisplayName: "G"}); err != nil {
		t.Fatal(err)
	}
	const n = 25 // per replica
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for r, s := range []*Store{a, b} {
		for i := range n {
			item := r*n + i
			wg.Go(func() {
				_, err := s.UpdateUser(ctx, 1, func(u *store.User) error {
					var list []int
					if len(u.Applied) > 0 {
						if err := json.Unmarshal(u.Applied, &list); err != nil {
							return err
						}
					}
					u.Applied, _ = json.Marshal(append(list, item))
					u.Attempts++
					return nil
				})
				errs <- err
			})
			wg.Go(func() {
				_, err := s.UpdateGroup(ctx, "g", func(g *store.Group) error {
					g.Members = append(g.Members, int64(item))
					return nil
				})
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	u, err := b.GetUser(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var list []int
	if err := json.Unmarshal(u.Applied, &list); err != nil {
		t.Fatal(err)
	}
	slices.Sort(list)
	if len(list) != 2*n || list[0] != 0 || list[2*n-1] != 2*n-1 || u.Attempts != 2*n {
		t.Errorf("after %d updates from two replicas: Applied %v, Attempts %d (a lost update)", 2*n, list, u.Attempts)
	}
	g, err := a.GetGroup(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Members) != 2*n || g.Version != 2*n+1 {
		t.Errorf("%d members, Version %d; want %d, %d (a lost update)", len(g.Members), g.Version, 2*n, 2*n+1)
	}
}

// TestUpdateGroupSeesCommittedMembers holds a group's row in another
// transaction that also adds a member, starts UpdateGroup (which waits for
// the row), then commits: fn must see the member that commit added. A read
// of the members in the statement that waited for the row would see them as
// they were before the commit, and a PUT of the member list would then keep
// a member it meant to drop.
func TestUpdateGroupSeesCommittedMembers(t *testing.T) {
	dsn := schemaDSN(t)
	s := open(t, dsn)
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := s.CreateGroup(ctx, store.Group{ID: "g", DisplayName: "G", Members: []int64{1}}); err != nil {
		t.Fatal(err)
	}
	other, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT 1 FROM scim_groups WHERE id = 'g' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO group_members (group_id, user_id) VALUES ('g', 2)`); err != nil {
		t.Fatal(err)
	}

	type result struct {
		seen []int64
		g    store.Group
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.g, r.err = s.UpdateGroup(ctx, "g", func(g *store.Group) error {
			r.seen = slices.Clone(g.Members)
			g.Members = []int64{3} // a PUT of the member list
			return nil
		})
		done <- r
	}()
	// Commit once UpdateGroup waits for the row. Watched from a connection
	// of its own: within other's transaction, pg_stat_activity would not
	// change from its first reading.
	watch, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(context.Background())
	for waiting := false; !waiting; {
		if err := watch.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND datname = current_database() AND query LIKE '%FOR UPDATE%')`).
			Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			t.Fatalf("UpdateGroup did not wait for the row lock: %+v", r)
		default:
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !slices.Equal(r.seen, []int64{1, 2}) {
		t.Errorf("fn saw members %v, want [1 2] (the other transaction's commit)", r.seen)
	}
	g, err := s.GetGroup(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.Members, []int64{3}) || !slices.Equal(r.g.Members, []int64{3}) {
		t.Errorf("members stored %v, returned %v; want [3] for both", g.Members, r.g.Members)
	}
}

// TestCloseReleasesLocks checks that closing a replica frees the locks it
// holds for the others, and that its unlock is then harmless.
func TestCloseReleasesLocks(t *testing.T) {
	dsn := schemaDSN(t)
	a, b := open(t, dsn), open(t, dsn)
	defer b.Close()
	unlock, err := a.Lock(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for a held lock")
	}
	unlock() // after Close: nothing to do, and no panic
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	u, err := b.Lock(ctx, "k")
	if err != nil {
		t.Fatalf("Lock after the holder closed: %v", err)
	}
	u()
	if _, err := a.Lock(t.Context(), "other"); err == nil {
		t.Error("Lock on a closed store succeeded")
	}
}

// TestLockKeys checks lock ids: the same in every process and release
// (replicas of two versions during a rolling upgrade must take the same
// advisory lock for one key), distinct for distinct keys, and distinct for
// one key on different schemas.
func TestLockKeys(t *testing.T) {
	a, b := &Store{schema: "public"}, &Store{schema: "other"}
	// FNV-64a of "public\x00user:1".
	if got, want := a.lockID("user:1"), int64(-1446704200395822818); got != want {
		t.Errorf("lockID(user:1) = %d, want %d: replicas of another release would not share the lock", got, want)
	}
	if a.lockID("user:1") == a.lockID("user:2") {
		t.Error("user:1 and user:2 share a lock")
	}
	if a.lockID("user:1") == b.lockID("user:1") {
		t.Error("one key on two schemas shares a lock")
	}
	if (&Store{schema: "ab"}).lockID("c") == (&Store{schema: "a"}).lockID("bc") {
		t.Error("schema and key are not separated in the hash")
	}
}

// TestLocalLocksFreeMemory checks that the in-memory lock table holds only
// keys that are held or waited for, abandoned waits included.
func TestLocalLocksFreeMemory(t *testing.T) {
	s := open(t, schemaDSN(t))
	defer s.Close()
	ctx := t.Context()
	unlock, err := s.Lock(ctx, "held")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(short, "held"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock: %v, want DeadlineExceeded", err)
	}
	if n := s.local.Len(); n != 1 {
		t.Errorf("%d keys in the lock table while one is held, want 1", n)
	}
	unlock()
	unlock() // a second call is harmless
	if n := s.local.Len(); n != 0 {
		t.Errorf("%d keys left in the lock table, want 0", n)
	}
}

func TestSchema(t *testing.T) {
	if SchemaVersion != len(migrations) {
		t.Fatalf("SchemaVersion = %d, but there are %d migrations", SchemaVersion, len(migrations))
	}
	dsn := schemaDSN(t)

	// Replicas starting together on an empty schema migrate it once.
	const replicas = 4
	stores := make([]*Store, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d of %d at once: %v", i+1, replicas, err)
		}
		defer stores[i].Close()
	}
	s := stores[0]
	if _, err := s.CreateUser(t.Context(), store.User{ID: 7, UserName: "Zoë"}); err != nil {
		t.Fatal(err)
	}
	var versions []int
	rows, err := s.db.Query(t.Context(), `SELECT version FROM `+versionTable+` ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	if versions, err = pgx.CollectRows(rows, pgx.RowTo[int]); err != nil {
		t.Fatal(err)
	}
	var want []int
	for v := 1; v <= SchemaVersion; v++ {
		want = append(want, v)
	}
	if !slices.Equal(versions, want) {
		t.Errorf("versions recorded: %v, want %v", versions, want)
	}

	// A later Open keeps the data.
	again := open(t, dsn)
	if u, err := again.GetUserByUserName(t.Context(), "ZOË"); err != nil || u.ID != 7 {
		t.Errorf("after reopen: %+v, %v", u, err)
	}
	again.Close()

	// A schema from a newer fsbridge is refused, not misread.
	exec(t, dsn, `INSERT INTO `+versionTable+` (version, applied) VALUES ($1, 0)`, SchemaVersion+1)
	if s, err := Open(t.Context(), dsn); err == nil {
		s.Close()
		t.Fatal("Open of a newer schema succeeded")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a newer schema: %v", err)
	}
}

// TestMigrateKeepsIntents: a database written by the first schema, with a
// create in flight, opens under the current one; the create reads back as
// not yet retried, and its retry bookkeeping can be written.
func TestMigrateKeepsIntents(t *testing.T) {
	dsn := schemaDSN(t)
	exec(t, dsn, migrations[0])
	exec(t, dsn, `CREATE TABLE `+versionTable+` (version int4 PRIMARY KEY, applied int8 NOT NULL)`)
	exec(t, dsn, `INSERT INTO `+versionTable+` (version, applied) VALUES (1, 0)`)
	created := time.Date(2025, 7, 1, 9, 30, 0, 123456789, time.UTC)
	exec(t, dsn, `INSERT INTO intents (key, doc, created, attempts) VALUES ($1, $2, $3, 0)`,
		"ann@example.com", []byte(`{"userName":"ann"}`), created.UnixNano())

	s := open(t, dsn)
	defer s.Close()
	want := store.Intent{Key: "ann@example.com", Doc: json.RawMessage(`{"userName":"ann"}`), Created: created}
	got, err := s.GetIntent(t.Context(), want.Key)
	if err != nil {
		t.Fatalf("GetIntent after the migration: %v", err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("intent after the migration (-want +got):\n%s", d)
	}
	want.Attempts, want.NextAttempt, want.LastError, want.Failed = 2, created.Add(time.Minute), "no answer", created.Add(time.Hour)
	got, err = s.UpdateIntent(t.Context(), want.Key, func(in *store.Intent) error {
		in.Attempts, in.NextAttempt, in.LastError, in.Failed = want.Attempts, want.NextAttempt, want.LastError, want.Failed
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateIntent after the migration: %v", err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("intent updated after the migration (-want +got):\n%s", d)
	}
}

// TestMigrateKeepsAudit: a database written by schema 2 opens under the
// current one; its audit events read back with their detail and no
// failure fields (the status page then shows the detail as it is), and
// new events keep their fields beside them.
func TestMigrateKeepsAudit(t *testing.T) {
	dsn := schemaDSN(t)
	exec(t, dsn, migrations[0])
	exec(t, dsn, migrations[1])
	exec(t, dsn, `CREATE TABLE `+versionTable+` (version int4 PRIMARY KEY, applied int8 NOT NULL)`)
	exec(t, dsn, `INSERT INTO `+versionTable+` (version, applied) VALUES (1, 0), (2, 0)`)
	at := time.Date(2025, 7, 1, 9, 30, 0, 123456789, time.UTC)
	const detail = "PUT /api/v2/requesters/42 failed: Freshservice answered 400 Bad Request; field time_zone: invalid_value"
	exec(t, dsn, `INSERT INTO audit (time, request_id, client, operation, scim_id, fs_id, outcome, detail)
		VALUES ($1, 'req-1', 'okta', 'user.update', '42', 42, 'error', $2)`, at.UnixNano(), detail)

	s := open(t, dsn)
	defer s.Close()
	old := store.AuditEvent{ID: 1, Time: at, RequestID: "req-1", Client: "okta", Operation: "user.update", SCIMID: "42", FSID: 42, Outcome: "error", Detail: detail}
	added, err := s.AppendAudit(t.Context(), store.AuditEvent{Time: at.Add(time.Second), Operation: "user.update", SCIMID: "42", FSID: 42, Outcome: "error",
		Detail: detail, Call: "PUT /api/v2/requesters/42", Kind: "invalid", Status: 400, Field: "time_zone", Code: "invalid_value"})
	if err != nil {
		t.Fatalf("AppendAudit after the migration: %v", err)
	}
	got, err := s.ListAudit(t.Context(), store.AuditQuery{})
	if err != nil {
		t.Fatalf("ListAudit after the migration: %v", err)
	}
	if d := cmp.Diff([]store.AuditEvent{added, old}, got); d != "" {
		t.Errorf("audit after the migration (-want +got):\n%s", d)
	}
}

func TestOpenErrors(t *testing.T) {
	dsn := baseDSN(t)
	for _, c := range []struct{ name, dsn, want string }{
		{"NotADSN", "postgres://nobody:s3cret-pw@127.0.0.1:%zz/x", "store/postgres: Open"},
		{"BadParameter", "postgres://nobody:s3cret-pw@127.0.0.1/x?pool_max_conns=none", "pool_max_conns"},
		{"MissingSchema", withParam(t, dsn, "search_path", "fsbridge_no_such_schema"), "no schema of the search_path"},
		{"Unreachable", "postgres://nobody:s3cret-pw@127.0.0.1:1/x?sslmode=disable&connect_timeout=5", "store/postgres: Open"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(t.Context(), c.dsn)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("Open: %v, want an error containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Errorf("Open's error shows the password: %v", err)
			}
		})
	}
}

// TestPools checks the pools' sizes, and that only lock sessions get the
// lock_timeout that bounds abandoned waits.
func TestPools(t *testing.T) {
	dsn := schemaDSN(t)
	s := open(t, dsn)
	defer s.Close()
	var dataTimeout, lockTimeout string
	if err := s.db.QueryRow(t.Context(), "SHOW lock_timeout").Scan(&dataTimeout); err != nil {
		t.Fatal(err)
	}
	if err := s.lockDB.QueryRow(t.Context(), "SHOW lock_timeout").Scan(&lockTimeout); err != nil {
		t.Fatal(err)
	}
	if dataTimeout != "0" || lockTimeout != "1s" {
		t.Errorf("lock_timeout %q on data sessions, %q on lock sessions; want \"0\", \"1s\"", dataTimeout, lockTimeout)
	}
	if got := s.db.Config().MaxConns; got != defaultPoolSize {
		t.Errorf("data pool of %d connections by default, want %d", got, defaultPoolSize)
	}
	if got := s.lockDB.Config().MaxConns; got != defaultPoolSize {
		t.Errorf("lock pool of %d connections by default, want %d", got, defaultPoolSize)
	}
	s2 := open(t, withParam(t, dsn, "pool_max_conns", "3"))
	defer s2.Close()
	if got := s2.db.Config().MaxConns; got != 3 {
		t.Errorf("pool_max_conns=3 gave a pool of %d", got)
	}
}

// TestHeldLocksDoNotStarveQueries holds more locks than the pools have
// connections and checks that the holders can still use the store.
func TestHeldLocksDoNotStarveQueries(t *testing.T) {
	s := open(t, withParam(t, schemaDSN(t), "pool_max_conns", "2"))
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var unlocks []func()
	for i := range 2 { // every lock connection
		u, err := s.Lock(ctx, fmt.Sprint("user:", i))
		if err != nil {
			t.Fatal(err)
		}
		unlocks = append(unlocks, u)
	}
	if err := s.SetMeta(ctx, "k", "v"); err != nil {
		t.Fatalf("a query while every lock connection is held: %v", err)
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := s.Lock(short, "user:9"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a third lock with two lock connections: %v, want to wait until the deadline", err)
	}
	for _, u := range unlocks {
		u()
	}
	u, err := s.Lock(ctx, "user:9")
	if err != nil {
		t.Fatal(err)
	}
	u()
}

func TestClosedStore(t *testing.T) {
	s := open(t, schemaDSN(t))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping after Close succeeded")
	}
	if _, err := s.GetUser(t.Context(), 1); err == nil {
		t.Error("GetUser after Close succeeded")
	}
}

const (
	benchEntries = 100_000
	benchBatch   = 1_000
	benchSize    = 800
)

// mirrorBatches is benchEntries Freshservice-user-shaped entries of about
// benchSize bytes, in batches of benchBatch (as in the SQLite benchmarks);
// version goes into every entry, so two versions differ everywhere.
func mirrorBatches(version int) [][]store.MirrorEntry {
	pad := strings.Repeat("x", benchSize-200)
	var batches [][]store.MirrorEntry
	for start := 1; start <= benchEntries; start += benchBatch {
		batch := make([]store.MirrorEntry, 0, benchBatch)
		for id := start; id < start+benchBatch; id++ {
			data := fmt.Sprintf(`{"id":%d,"first_name":"User","last_name":"%d","primary_email":"user%d@example.com",`+
				`"active":true,"is_agent":false,"department_ids":[1,%d],"custom_fields":{"notes":%q}}`,
				id, id, id, version, pad)
			batch = append(batch, store.MirrorEntry{ID: int64(id), Data: json.RawMessage(data)})
		}
		batches = append(batches, batch)
	}
	return batches
}

// BenchmarkPutMirror writes 100,000 entries of ~800 bytes in batches of
// 1,000: one op is the whole walk. Insert fills an empty table, Changed
// replaces every entry with a different one, Unchanged writes what is
// already stored (the common case of a directory walk).
func BenchmarkPutMirror(b *testing.B) {
	s := open(b, schemaDSN(b))
	defer s.Close()
	versions := [][][]store.MirrorEntry{mirrorBatches(0), mirrorBatches(1)}
	put := func(b *testing.B, batches [][]store.MirrorEntry) {
		for _, batch := range batches {
			if err := s.PutMirror(b.Context(), batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("Insert", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			if _, err := s.db.Exec(b.Context(), "TRUNCATE mirror"); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			put(b, versions[0])
		}
		b.ReportMetric(float64(benchEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
	b.Run("Changed", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			put(b, versions[i%2])
		}
		b.ReportMetric(float64(benchEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
	b.Run("Unchanged", func(b *testing.B) {
		put(b, versions[0])
		for b.Loop() {
			put(b, versions[0])
		}
		b.ReportMetric(float64(benchEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
}

// BenchmarkForEachMirror streams 100,000 entries of ~800 bytes: one op is
// the whole walk.
func BenchmarkForEachMirror(b *testing.B) {
	s := open(b, schemaDSN(b))
	defer s.Close()
	for _, batch := range mirrorBatches(0) {
		if err := s.PutMirror(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		n, size := 0, 0
		err := s.ForEachMirror(b.Context(), func(e store.MirrorEntry) error {
			n++
			size += len(e.Data)
			return nil
		})
		if err != nil || n != benchEntries {
			b.Fatalf("ForEachMirror: %d entries, %v", n, err)
		}
		b.SetBytes(int64(size))
	}
	b.ReportMetric(float64(benchEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
