// Package sqlite is the default backend of package store: one SQLite file,
// pure Go (modernc.org/sqlite, no cgo), for a bridge that runs as one
// process.
//
// Connections. Every write runs on a single writer connection (a
// database/sql pool capped at one), so writes are serialised inside the
// process, and its transactions begin IMMEDIATE, taking SQLite's write lock
// before they read, so a read-modify-write cannot interleave with another
// writer even from outside the process. Reads run on a separate pool of
// query_only connections: in WAL mode readers block neither the writer nor
// each other, and a ForEach callback may call any other method, writes
// included, without waiting forever for the one writer connection it would
// otherwise hold.
//
// Durability: WAL with synchronous=FULL, so a transaction that returned is on
// disk even after a power loss. The bridge's write rate is bounded by the
// Freshservice API budget, far below what an fsync per commit allows.
//
// Locks (Store.Lock) live in memory: they serialise the goroutines of one
// process, which is all SQLite serves. Two processes, or two Stores opened on
// the same file in one process, do not exclude each other; run one bridge per
// database file (PostgreSQL is the backend for several replicas).
//
// Times are stored as int64 Unix nanoseconds in UTC (NULL for the zero time),
// so they read back equal to what was written; times outside the years 1678
// to 2262 cannot be stored.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/fsbridge/fsbridge/internal/keylock"
	"github.com/fsbridge/fsbridge/internal/store"
)

var _ store.Store = (*Store)(nil)

// busyTimeout is how long a connection waits for SQLite's file lock held by
// another connection (a checkpoint, another process) before failing.
const busyTimeout = 10 * time.Second

// maxReaders caps the read pool. Reads are short except ForEach walks; the
// cap is generous so nested reads from ForEach callbacks never starve.
const maxReaders = 16

// Store is a store.Store on one SQLite database file. Create it with Open.
type Store struct {
	w     *sql.DB // the one writer connection
	r     *sql.DB // read-only connections
	locks keylock.Set
}

// Open opens the database at path, creating the file and its schema when
// missing and migrating an older schema to the current one. It fails if the
// file was written by a newer fsbridge (a schema version it does not know).
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("store/sqlite: Open: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: Open %s: %w", path, err)
	}
	// SQLite's own error for a file it cannot create is "unable to open
	// database file (14)"; opening it here first names the cause (most
	// often a directory, such as a container's mounted volume, that this
	// user may not write).
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: cannot create or write %s as uid %d: %w", abs, os.Getuid(), err)
	}
	f.Close()
	ms := fmt.Sprint(busyTimeout.Milliseconds())

	w, err := sql.Open("sqlite", dsn(abs, url.Values{
		"_busy_timeout": {ms},
		"_foreign_keys": {"1"},
		"_journal_mode": {"WAL"},
		"_synchronous":  {"FULL"},
		"_txlock":       {"immediate"},
	}))
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: Open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("store/sqlite: Open %s: %w", path, err)
	}

	r, err := sql.Open("sqlite", dsn(abs, url.Values{
		"_busy_timeout": {ms},
		"_query_only":   {"1"},
	}))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store/sqlite: Open %s: %w", path, err)
	}
	r.SetMaxOpenConns(maxReaders)
	r.SetMaxIdleConns(4)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("store/sqlite: Open %s: %w", path, err)
	}
	return &Store{w: w, r: r}, nil
}

// Backup writes a consistent copy of the database at src to dst, a file
// that must not exist yet, while bridges keep reading and writing src:
// VACUUM INTO reads one snapshot of the database, its WAL included, and
// writes it compacted. The copy is a complete store: Open it, or put it in
// place of src while no bridge runs.
func Backup(ctx context.Context, src, dst string) error {
	absSrc, err := filepath.Abs(src)
	if err != nil {
		return fmt.Errorf("store/sqlite: backup: %w", err)
	}
	absDst, err := filepath.Abs(dst)
	if err != nil {
		return fmt.Errorf("store/sqlite: backup: %w", err)
	}
	if _, err := os.Stat(absSrc); err != nil {
		return fmt.Errorf("store/sqlite: backup: %w", err)
	}
	if _, err := os.Lstat(absDst); err == nil {
		return fmt.Errorf("store/sqlite: backup: %s already exists", absDst)
	}
	// Not query_only: SQLite counts writing the copy as a write. The
	// source is only read.
	db, err := sql.Open("sqlite", dsn(absSrc, url.Values{
		"_busy_timeout": {fmt.Sprint(busyTimeout.Milliseconds())},
	}))
	if err != nil {
		return fmt.Errorf("store/sqlite: backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", absDst); err != nil {
		return fmt.Errorf("store/sqlite: backup of %s to %s: %w", absSrc, absDst, err)
	}
	return nil
}

// dsn is a file: URI for path (escaped, so any file name works) with the
// driver's parameters.
func dsn(path string, params url.Values) string {
	u := url.URL{Scheme: "file", OmitHost: true, Path: filepath.ToSlash(path), RawQuery: params.Encode()}
	return u.String()
}

// Close closes every connection; SQLite then checkpoints the WAL into the
// database file and removes it. Locks held are not released.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// Ping reports whether both the read and the write connections work.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("store/sqlite: Ping: %w", err)
	}
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store/sqlite: Ping: %w", err)
	}
	return nil
}

// Lock takes the in-memory lock named key (see the package comment).
func (s *Store) Lock(ctx context.Context, key string) (func(), error) {
	return s.locks.Lock(ctx, key)
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE, on the writer
// connection) and commits it when fn returns nil. fn's error is returned
// unchanged, so callers wrap their own errors and pass a callback's error
// through as is; errors of the transaction itself are wrapped with op.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", op, err)
	}
	defer tx.Rollback() // after a commit, a no-op; on a panic in fn, frees the writer
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", op, err)
	}
	return nil
}

// isUniqueViolation reports whether err is SQLite refusing a duplicate
// primary key or unique index entry.
func isUniqueViolation(err error) bool {
	var e *msqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// foldKey is the case-insensitive form of a userName or displayName kept in
// the *_key columns. It is computed here rather than with SQLite's lower(),
// which folds ASCII only.
func foldKey(s string) string { return strings.ToLower(s) }

// The range of time.Time that int64 Unix nanoseconds can hold.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeArg is the stored form of t: NULL for the zero time, else Unix
// nanoseconds.
func timeArg(t time.Time) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return nil, fmt.Errorf("time %s is outside the storable range (1678 to 2262)", t.Format(time.RFC3339Nano))
	}
	return t.UnixNano(), nil
}

// boundArg is t as a query bound, clamped to the storable range.
func boundArg(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// timeOf is the inverse of timeArg, in UTC.
func timeOf(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// now is the time the store stamps on records: UTC, without the monotonic
// reading, so it compares equal to what reads back.
func now() time.Time { return time.Now().UTC() }

// jsonArg is the stored form of an opaque JSON document: NULL when empty,
// else its text, byte for byte.
func jsonArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// jsonOf normalises a document read back or returned: nil when empty.
func jsonOf(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func boolArg(b bool) int {
	if b {
		return 1
	}
	return 0
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}
