package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Lock takes the lock named key across every replica on this database
// schema (see store.Store), in two steps:
//
//  1. an in-memory lock per key, so the goroutines of this replica queue in
//     memory, handing over without a round trip and without a connection
//     each;
//  2. a session-level advisory lock, pg_advisory_lock(lockID(key)), on a
//     connection of the lock pool that stays with the holder until unlock.
//
// Waiting for another replica is PostgreSQL's own wait: replicas queue in
// the order they asked and the next one gets the lock the moment it is
// released, with no polling. (A loop of pg_try_advisory_lock would let a
// replica whose goroutines hand the lock over in memory keep it from another
// replica for as long as it has work for that key.) ctx is honoured while
// waiting: when it ends, pgx abandons the statement, sends the server a
// cancel request and closes the connection, and Lock makes sure the
// connection is gone. Closing is what makes an abandoned wait safe: the
// lock may have been granted while the answer was on its way, and ending
// the session releases every advisory lock it holds. Should the cancel
// request not reach the server, the server notices the closed connection
// only when its wait ends, so every lock session also has a lock_timeout
// (lockWaitSlice): a wait that outlives it fails in the server, and Lock, if
// ctx has not ended, simply asks again on the same connection. An abandoned
// wait keeps a server process for at most lockWaitSlice.
//
// Unlock runs pg_advisory_unlock on the same connection and returns it to
// the pool; if that fails the connection is closed instead, which releases
// the lock in the database all the same. A connection is never returned to
// the pool while it might hold a lock: advisory locks are re-entrant within
// a session, so a later Lock on that connection would not exclude.
//
// If a holder's connection breaks (the database restarts, the network
// fails), PostgreSQL releases its lock and another replica may take it
// before the holder unlocks; the holder is not told. That is the limit of
// any lock kept by a database session. The store's own records stay safe:
// UpdateUser and UpdateGroup lock their row for each read-modify-write.
func (s *Store) Lock(ctx context.Context, key string) (func(), error) {
	op := fmt.Sprintf("store/postgres: Lock %q", key)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	release, err := s.local.Lock(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	id := s.lockID(key)
	conn, err := s.advisoryLock(ctx, id)
	if err != nil {
		release()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.advisoryUnlock(conn, id)
			release()
		})
	}, nil
}

// lockID is the advisory lock key of the lock named key: a 64-bit FNV-1a
// hash of the schema's name and key. Two names with the same hash share one
// lock: that only serialises work that could have run in parallel, which is
// safe, and with 64 bits it is vanishingly rare. The same goes for another
// application's advisory locks on the same database. The schema is part of
// the hash so that bridges on different schemas of one database do not
// wait for each other.
func (s *Store) lockID(key string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s.schema))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return int64(h.Sum64())
}

// lockWaitSlice is the lock_timeout of lock sessions: the longest one
// pg_advisory_lock waits in the server before Lock asks again (see Lock).
const lockWaitSlice = time.Second

// advisoryLock takes the advisory lock id on a connection of the lock pool
// and returns that connection, registered as held, or ctx's error when ctx
// ends first.
func (s *Store) advisoryLock(ctx context.Context, id int64) (*pgxpool.Conn, error) {
	conn, err := s.lockDB.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	for {
		_, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, id)
		if err == nil {
			if err := s.register(conn); err != nil {
				return nil, err
			}
			return conn, nil
		}
		if ctx.Err() == nil && waitCutShort(err) {
			continue // the session holds nothing and is usable: queue again
		}
		// The lock may have been granted before the statement failed (ctx
		// ended while the answer was on its way): end the session.
		destroy(conn)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
}

// waitCutShort reports whether err is the server ending a lock wait that
// may simply be tried again: lock_timeout (lockWaitSlice), a statement_timeout
// set in the DSN, or an administrator's pg_cancel_backend.
func waitCutShort(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && (e.Code == "55P03" || e.Code == "57014") // lock_not_available, query_canceled
}

// register records conn as holding a lock, so Close can end its session. A
// store closed in the meantime gets the lock released at once.
func (s *Store) register(conn *pgxpool.Conn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		destroy(conn)
		return errors.New("store is closed")
	}
	s.held[conn] = struct{}{}
	return nil
}

// advisoryUnlock releases the advisory lock id held on conn and returns conn
// to the pool, or closes conn when the unlock fails or Close has already
// ended the session.
func (s *Store) advisoryUnlock(conn *pgxpool.Conn, id int64) {
	s.mu.Lock()
	_, mine := s.held[conn]
	delete(s.held, conn)
	s.mu.Unlock()
	if !mine {
		return // Close closed it
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	var released bool
	if err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, id).Scan(&released); err != nil || !released {
		destroy(conn) // not released, or not known to be: end the session
		return
	}
	conn.Release()
}

// destroy takes conn out of its pool and closes it, ending its session and
// so releasing every advisory lock it holds.
func destroy(conn *pgxpool.Conn) {
	c := conn.Hijack()
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	c.Close(ctx)
}
