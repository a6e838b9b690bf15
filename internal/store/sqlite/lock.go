package sqlite

import (
	"context"
	"sync"
)

// keyedLocks is a set of named mutexes whose wait honours a context. An
// entry exists only while someone holds or waits for its key, so the set
// does not grow with the number of keys ever used. The zero value is ready.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	token chan struct{} // holds a value while the lock is held; waiters queue on the send
	refs  int           // holders and waiters; guarded by keyedLocks.mu
}

// lock takes the lock named key, or returns ctx's error if ctx ends first
// (or has already ended). The returned unlock is safe to call more than
// once; only the first call releases.
func (l *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[string]*keyLock)
	}
	k := l.m[key]
	if k == nil {
		k = &keyLock{token: make(chan struct{}, 1)}
		l.m[key] = k
	}
	k.refs++
	l.mu.Unlock()

	select {
	case k.token <- struct{}{}:
	case <-ctx.Done():
		l.release(key, k)
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-k.token
			l.release(key, k)
		})
	}, nil
}

// release drops one reference to k, and the entry with the last one.
func (l *keyedLocks) release(key string, k *keyLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k.refs--
	if k.refs == 0 {
		delete(l.m, key)
	}
}

// size is the number of keys held or waited for (for tests).
func (l *keyedLocks) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
