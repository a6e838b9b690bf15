// Package keylock is a set of named mutexes whose wait honours a context.
// The stores use it to queue goroutines on a key (a user, a group) in
// memory; PostgreSQL then takes the same key in the database.
package keylock

import (
	"context"
	"sync"
)

// Set is a set of named mutexes. An entry exists only while someone holds
// or waits for its key, so the set does not grow with the number of keys
// ever used. The zero value is ready.
type Set struct {
	mu sync.Mutex
	m  map[string]*entry
}

type entry struct {
	token chan struct{} // holds a value while the lock is held; waiters queue on the send
	refs  int           // holders and waiters; guarded by Set.mu
}

// Lock takes the lock named key, or returns ctx's error if ctx ends first
// (or has already ended). The returned unlock is safe to call more than
// once; only the first call releases.
func (s *Set) Lock(ctx context.Context, key string) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[string]*entry)
	}
	e := s.m[key]
	if e == nil {
		e = &entry{token: make(chan struct{}, 1)}
		s.m[key] = e
	}
	e.refs++
	s.mu.Unlock()

	select {
	case e.token <- struct{}{}:
	case <-ctx.Done():
		s.release(key, e)
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-e.token
			s.release(key, e)
		})
	}, nil
}

// release drops one reference to e, and the entry with the last one.
func (s *Set) release(key string, e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.refs--
	if e.refs == 0 {
		delete(s.m, key)
	}
}

// Len is the number of keys held or waited for.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Queued is the number of goroutines holding or waiting for key.
func (s *Set) Queued(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[key]; e != nil {
		return e.refs
	}
	return 0
}
