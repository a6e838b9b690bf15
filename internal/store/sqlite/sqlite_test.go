package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/internal/store/storetest"
)

func open(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "fsbridge.db"))
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "fsbridge.db")
	s := open(t, path)
	when := time.Date(2025, 7, 1, 9, 30, 0, 999999999, time.UTC)
	u, err := s.CreateUser(ctx, store.User{ID: 7, UserName: "Zoë", Doc: json.RawMessage(`{"a":1}`), NextAttempt: when, Dirty: true})
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.CreateGroup(ctx, store.Group{ID: "g", DisplayName: "G", Members: []int64{7, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutMirror(ctx, []store.MirrorEntry{{ID: 7, Data: json.RawMessage(`{"id":7}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	a, err := s.AppendAudit(ctx, store.AuditEvent{Operation: "user.create"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close released every connection: SQLite folded the WAL back and removed it.
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Close, %s-wal: %v; want it removed", path, err)
	}

	s = open(t, path) // a second Open of the same file, after Close
	defer s.Close()
	if got, err := s.GetUserByUserName(ctx, "ZOË"); err != nil || !got.NextAttempt.Equal(when) || got.Version != u.Version {
		t.Errorf("user after reopen: %+v, %v", got, err)
	}
	if got, err := s.GetGroup(ctx, "g"); err != nil || fmt.Sprint(got.Members) != fmt.Sprint(g.Members) {
		t.Errorf("group after reopen: %+v, %v", got, err)
	}
	if v, err := s.GetMeta(ctx, "k"); err != nil || v != "v" {
		t.Errorf("meta after reopen: %q, %v", v, err)
	}
	n := 0
	if err := s.ForEachMirror(ctx, func(store.MirrorEntry) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("mirror after reopen: %d entries, %v", n, err)
	}
	b, err := s.AppendAudit(ctx, store.AuditEvent{Operation: "user.update"})
	if err != nil || b.ID <= a.ID {
		t.Errorf("audit id after reopen: %d (before: %d), %v", b.ID, a.ID, err)
	}
}

func TestSchema(t *testing.T) {
	if SchemaVersion != len(migrations) {
		t.Fatalf("SchemaVersion = %d, but there are %d migrations", SchemaVersion, len(migrations))
	}
	path := filepath.Join(t.TempDir(), "fsbridge.db")
	s := open(t, path)
	ctx := t.Context()
	var version int
	var mode string
	var fk int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := s.w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if version != SchemaVersion || mode != "wal" || fk != 1 {
		t.Errorf("user_version %d, journal_mode %q, foreign_keys %d; want %d, wal, 1", version, mode, fk, SchemaVersion)
	}
	if _, err := s.r.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES ('x', 'y')"); err == nil {
		t.Error("a write through the read pool succeeded; want query_only")
	}
	// A file from a newer fsbridge is refused, not misread.
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion+1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("Open of a newer schema succeeded")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a newer schema: %v", err)
	}
}

// TestMigrateKeepsIntents: a file written by the first schema, with a
// create in flight, opens under the current one; the create reads back as
// not yet retried, and its retry bookkeeping can be written.
func TestMigrateKeepsIntents(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "fsbridge.db")
	created := time.Date(2025, 7, 1, 9, 30, 0, 123456789, time.UTC)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{migrations[0], "PRAGMA user_version = 1"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO intents (key, doc, created, attempts) VALUES (?, ?, ?, 0)`,
		"ann@example.com", `{"userName":"ann"}`, created.UnixNano()); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := open(t, path)
	defer s.Close()
	want := store.Intent{Key: "ann@example.com", Doc: json.RawMessage(`{"userName":"ann"}`), Created: created}
	got, err := s.GetIntent(ctx, want.Key)
	if err != nil {
		t.Fatalf("GetIntent after the migration: %v", err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("intent after the migration (-want +got):\n%s", d)
	}
	want.Attempts, want.NextAttempt, want.LastError, want.Failed = 2, created.Add(time.Minute), "no answer", created.Add(time.Hour)
	got, err = s.UpdateIntent(ctx, want.Key, func(in *store.Intent) error {
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

// TestMigrateKeepsAudit: a file written by schema 2 opens under the
// current one; its audit events read back with their detail and no
// failure fields (the status page then shows the detail as it is), and
// new events keep their fields beside them.
func TestMigrateKeepsAudit(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "fsbridge.db")
	at := time.Date(2025, 7, 1, 9, 30, 0, 123456789, time.UTC)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{migrations[0], migrations[1], "PRAGMA user_version = 2"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	const detail = "PUT /api/v2/requesters/42 failed: Freshservice answered 400 Bad Request; field time_zone: invalid_value"
	if _, err := db.ExecContext(ctx, `INSERT INTO audit (time, request_id, client, operation, scim_id, fs_id, outcome, detail)
		VALUES (?, 'req-1', 'okta', 'user.update', '42', 42, 'error', ?)`, at.UnixNano(), detail); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := open(t, path)
	defer s.Close()
	old := store.AuditEvent{ID: 1, Time: at, RequestID: "req-1", Client: "okta", Operation: "user.update", SCIMID: "42", FSID: 42, Outcome: "error", Detail: detail}
	added, err := s.AppendAudit(ctx, store.AuditEvent{Time: at.Add(time.Second), Operation: "user.update", SCIMID: "42", FSID: 42, Outcome: "error",
		Detail: detail, Call: "PUT /api/v2/requesters/42", Kind: "invalid", Status: 400, Field: "time_zone", Code: "invalid_value"})
	if err != nil {
		t.Fatalf("AppendAudit after the migration: %v", err)
	}
	got, err := s.ListAudit(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatalf("ListAudit after the migration: %v", err)
	}
	if d := cmp.Diff([]store.AuditEvent{added, old}, got); d != "" {
		t.Errorf("audit after the migration (-want +got):\n%s", d)
	}
}

func TestOpenOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b?c#d%20e")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "fs bridge.db")
	s := open(t, path)
	defer s.Close()
	if err := s.SetMeta(t.Context(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the given path: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(t.Context(), ""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	missing := filepath.Join(t.TempDir(), "missing", "dir", "x.db")
	if _, err := Open(t.Context(), missing); err == nil {
		t.Error("Open in a missing directory succeeded")
	} else if !strings.Contains(err.Error(), missing) || !errors.Is(err, fs.ErrNotExist) {
		// SQLite alone says "unable to open database file (14)".
		t.Errorf("Open in a missing directory: %v; want the path and the cause", err)
	}
	notDB := filepath.Join(t.TempDir(), "not.db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), notDB); err == nil {
		t.Error("Open of a file that is not a database succeeded")
	}
}

func TestClosedStore(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "fsbridge.db"))
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

// TestLocksFreeMemory checks that the lock table holds only keys that are
// held or waited for.
func TestLocksFreeMemory(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "fsbridge.db"))
	defer s.Close()
	ctx := t.Context()
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			for j := range 10 {
				key := fmt.Sprintf("user:%d", (i+j)%7)
				unlock, err := s.Lock(ctx, key)
				if err != nil {
					t.Error(err)
					return
				}
				unlock()
				unlock() // a second call is harmless
			}
		})
	}
	wg.Wait()
	// Abandoned waits are freed too.
	unlock, err := s.Lock(ctx, "held")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	if _, err := s.Lock(short, "held"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock: %v, want DeadlineExceeded", err)
	}
	if n := s.locks.Len(); n != 1 {
		t.Errorf("%d keys in the lock table while one is held, want 1", n)
	}
	unlock()
	if n := s.locks.Len(); n != 0 {
		t.Errorf("%d keys left in the lock table, want 0", n)
	}
}

// TestConcurrentReadersAndWriter runs reads and writes together: reads never
// fail with SQLITE_BUSY and see committed writes.
func TestConcurrentReadersAndWriter(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "fsbridge.db"))
	defer s.Close()
	ctx := t.Context()
	if _, err := s.CreateUser(ctx, store.User{ID: 1, UserName: "a"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if _, err := s.GetUser(ctx, 1); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 25 {
				if _, err := s.UpdateUser(ctx, 1, func(u *store.User) error { u.Attempts++; return nil }); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if u, err := s.GetUser(ctx, 1); err != nil || u.Attempts != 50 {
		t.Errorf("Attempts = %d, %v; want 50", u.Attempts, err)
	}
}

const (
	benchEntries = 100_000
	benchBatch   = 1_000
	benchSize    = 800
)

// mirrorBatches is benchEntries Freshservice-user-shaped entries of about
// benchSize bytes, in batches of benchBatch.
func mirrorBatches() [][]store.MirrorEntry {
	pad := strings.Repeat("x", benchSize-200)
	var batches [][]store.MirrorEntry
	for start := 1; start <= benchEntries; start += benchBatch {
		batch := make([]store.MirrorEntry, 0, benchBatch)
		for id := start; id < start+benchBatch; id++ {
			data := fmt.Sprintf(`{"id":%d,"first_name":"User","last_name":"%d","primary_email":"user%d@example.com",`+
				`"active":true,"is_agent":false,"department_ids":[1,2],"custom_fields":{"notes":%q}}`, id, id, id, pad)
			batch = append(batch, store.MirrorEntry{ID: int64(id), Data: json.RawMessage(data)})
		}
		batches = append(batches, batch)
	}
	return batches
}

// BenchmarkPutMirror writes 100,000 entries of ~800 bytes in batches of
// 1,000: one op is the whole walk. The first op inserts, later ones replace.
func BenchmarkPutMirror(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "fsbridge.db"))
	defer s.Close()
	batches := mirrorBatches()
	for b.Loop() {
		for _, batch := range batches {
			if err := s.PutMirror(b.Context(), batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(benchEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkForEachMirror streams 100,000 entries of ~800 bytes: one op is
// the whole walk.
func BenchmarkForEachMirror(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "fsbridge.db"))
	defer s.Close()
	for _, batch := range mirrorBatches() {
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

// TestBackupWhileWriting: a backup taken while the store is being written
// is a store that opens and holds everything committed before the backup
// began, each user whole; the original keeps working.
func TestBackupWhileWriting(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "fsbridge.db")
	s := open(t, path)
	defer s.Close()
	for i := int64(1); i <= 200; i++ {
		if _, err := s.CreateUser(ctx, store.User{ID: i, UserName: fmt.Sprintf("u%d@example.com", i), Doc: json.RawMessage(`{"n":1}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutMirror(ctx, []store.MirrorEntry{{ID: 1, Data: json.RawMessage(`{"id":1}`)}}); err != nil {
		t.Fatal(err)
	}
	// A writer keeps creating users during the backup (its WAL is not
	// checkpointed: the backup must read it).
	stop := make(chan struct{})
	wrote := make(chan int64)
	go func() {
		id := int64(1000)
		defer func() { wrote <- id }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.CreateUser(ctx, store.User{ID: id + 1, UserName: fmt.Sprintf("w%d@example.com", id+1), Doc: json.RawMessage(`{"n":2}`)}); err != nil {
				return
			}
			id++
		}
	}()
	dst := filepath.Join(dir, "backup.db")
	err := Backup(ctx, path, dst)
	close(stop)
	last := <-wrote
	if err != nil {
		t.Fatal(err)
	}
	if err := Backup(ctx, path, dst); err == nil {
		t.Error("a second backup over the first succeeded; want an error (it must not overwrite)")
	}

	b := open(t, dst)
	defer b.Close()
	for i := int64(1); i <= 200; i++ {
		u, err := b.GetUser(ctx, i)
		if err != nil || string(u.Doc) != `{"n":1}` {
			t.Fatalf("user %d in the backup: %+v %v", i, u, err)
		}
	}
	n := 0
	if err := b.ForEachMirror(ctx, func(store.MirrorEntry) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("mirror in the backup: %d entries, %v", n, err)
	}
	// Users written during the backup are in it or not, but those in it
	// are a prefix of what was written (one snapshot).
	missingFrom := int64(0)
	for id := int64(1001); id <= last; id++ {
		_, err := b.GetUser(ctx, id)
		switch {
		case err == nil && missingFrom != 0:
			t.Fatalf("the backup holds user %d but not %d: not one snapshot", id, missingFrom)
		case err != nil && missingFrom == 0:
			missingFrom = id
		}
	}
	t.Logf("%d users written during the backup, %d of them in it", last-1000, max(missingFrom-1001, 0))
	if _, err := s.CreateUser(ctx, store.User{ID: 99999, UserName: "after@example.com"}); err != nil {
		t.Errorf("the original after the backup: %v", err)
	}
}
