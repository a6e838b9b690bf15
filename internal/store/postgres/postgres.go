// Package postgres is the backend of package store for several bridge
// replicas on one PostgreSQL database (DESIGN D7): the data and the locks
// that serialise writes to one user or group both live in the database, so
// any number of replicas may serve the same IdP at once.
//
// Schema. The tables live in the current schema of the DSN's search_path
// (public by default; add search_path=NAME to the DSN for another one, which
// must exist). Open creates or migrates them in one transaction that holds a
// transaction-scoped advisory lock, so replicas starting together migrate
// once; the applied versions are rows of fsbridge_schema_version. A schema
// written by a newer fsbridge is refused, not misread.
//
// Transactions run at READ COMMITTED. UpdateUser and UpdateGroup lock the row
// with SELECT ... FOR UPDATE before reading it, so two read-modify-writes of
// one record, from any replicas, run one after the other and neither is lost.
// Uniqueness of ids, userNames (among users not Deleted) and displayNames is
// enforced by unique indexes, which also settle races between replicas; the
// case-insensitive keys are computed in Go with strings.ToLower, as in the
// SQLite backend, because lower() in PostgreSQL depends on the database's
// collation and encoding.
//
// Connections. The store opens two pgxpool pools on the DSN. The data pool
// runs queries and transactions; a ForEach walk holds one of its connections
// while it streams rows, and its callback may call the store, which takes
// another. The lock pool holds one connection for each key this replica
// holds or waits for in the database (an advisory lock belongs to a
// session; goroutines of one replica wanting one key queue in memory
// first); when all are taken, further Lock calls wait for one, honouring
// ctx. Keeping the pools apart means that many held or awaited locks never
// starve the queries their holders need to finish. Each pool has up to
// pool_max_conns connections (a DSN parameter; 16 when absent), opened on
// demand, so one replica opens at most twice that many: size PostgreSQL's
// max_connections for the replicas you run.
//
// Locks (Store.Lock) are session-level advisory locks, so they hold across
// replicas (and are per schema); see Store.Lock. They need sessions that
// last: do not put a transaction-pooling proxy (PgBouncer in transaction
// mode) in front.
//
// Times are stored as int8 Unix nanoseconds in UTC (NULL for the zero time),
// not timestamptz, which keeps only microseconds, so they read back equal to
// what was written; times outside the years 1678 to 2262 cannot be stored.
// Documents (Doc, Applied, mirror Data) are bytea, kept byte for byte. Text
// keys that order results or ranges are COLLATE "C", so orders are byte
// orders, as in Go and in the SQLite backend, whatever the database's
// collation.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fsbridge/fsbridge/internal/keylock"
	"github.com/fsbridge/fsbridge/internal/store"
)

var _ store.Store = (*Store)(nil)

// defaultPoolSize is each pool's size when the DSN has no pool_max_conns.
const defaultPoolSize = 16

// cleanupTimeout bounds the statements run after the caller's context may
// have ended: rollbacks and advisory unlocks.
const cleanupTimeout = 10 * time.Second

// Store is a store.Store on one PostgreSQL database. Create it with Open.
type Store struct {
	db     *pgxpool.Pool // queries and transactions
	lockDB *pgxpool.Pool // sessions holding advisory locks
	// schema is the schema the tables live in; lock ids are derived from
	// it, so stores on different schemas of one database do not share locks.
	schema string
	local  keylock.Set // queues the goroutines of this Store before the database lock

	mu     sync.Mutex
	held   map[*pgxpool.Conn]struct{} // lock sessions, closed by Close
	closed bool
}

// Open connects to the database at dsn (a postgres:// URL or a key=value
// string, as pgx accepts, plus pgxpool's pool_* parameters), creates the
// schema when missing and migrates an older one to the current version. It
// fails if the database is unreachable, if no schema of the search_path
// exists, or if the schema was written by a newer fsbridge.
func Open(ctx context.Context, dsn string) (*Store, error) {
	const op = "store/postgres: Open"
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors name the parameter at fault without the password.
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = defaultPoolSize
	}
	lockCfg := cfg.Copy()
	// Bounds how long the server waits for a Lock that has given up (see
	// Lock); sent at connection start-up, so it costs no round trip.
	lockCfg.ConnConfig.RuntimeParams["lock_timeout"] = strconv.FormatInt(lockWaitSlice.Milliseconds(), 10)

	db, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	schema, err := migrate(ctx, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	lockDB, err := pgxpool.NewWithConfig(ctx, lockCfg)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return &Store{db: db, lockDB: lockDB, schema: schema, held: make(map[*pgxpool.Conn]struct{})}, nil
}

// Close closes every connection. Locks still held are released in the
// database (closing a session frees its advisory locks, so other replicas
// can take them); their unlock functions then do nothing. Close waits for
// ForEach walks in progress to end.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	held := s.held
	s.held = nil
	s.mu.Unlock()
	for c := range held {
		destroy(c)
	}
	s.lockDB.Close()
	s.db.Close()
	return nil
}

// Ping reports whether the database answers on a data connection.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.Ping(ctx); err != nil {
		return fmt.Errorf("store/postgres: Ping: %w", err)
	}
	return nil
}

// inTx runs fn in a transaction on a data connection and commits it when fn
// returns nil. fn's error is returned unchanged, so callers wrap their own
// errors and pass a callback's error through as is; errors of the
// transaction itself are wrapped with op.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", op, err)
	}
	defer func() {
		// After a commit, a no-op. Otherwise (an error, or a panic in fn)
		// roll back even when ctx has ended, so the connection goes back to
		// the pool clean; if that fails too, pgxpool discards it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		tx.Rollback(rctx)
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%s: commit: %w", op, err)
	}
	return nil
}

// uniqueViolation returns the name of the unique constraint or index that
// err reports a duplicate in, or "" when err is something else.
func uniqueViolation(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) && e.Code == "23505" { // unique_violation
		return e.ConstraintName
	}
	return ""
}

// foldKey is the case-insensitive form of a userName or displayName kept in
// the *_key columns (see the package comment).
func foldKey(s string) string { return strings.ToLower(s) }

// The range of time.Time that int64 Unix nanoseconds can hold.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeArg is the stored form of t: NULL for the zero time, else Unix
// nanoseconds.
func timeArg(t time.Time) (*int64, error) {
	if t.IsZero() {
		return nil, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return nil, fmt.Errorf("time %s is outside the storable range (1678 to 2262)", t.Format(time.RFC3339Nano))
	}
	n := t.UnixNano()
	return &n, nil
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
func timeOf(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// now is the time the store stamps on records: UTC, without the monotonic
// reading, so it compares equal to what reads back. It is this replica's
// clock, as callers compare it with theirs.
func now() time.Time { return time.Now().UTC() }

// jsonArg is the stored form of an opaque document: NULL when empty, else
// its bytes.
func jsonArg(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// jsonOf normalises a document read back or returned: nil when empty.
func jsonOf(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
