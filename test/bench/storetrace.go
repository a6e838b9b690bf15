package main

import (
	"context"
	"sync"
	"time"

	"github.com/fsbridge/fsbridge/internal/reqctx"
	"github.com/fsbridge/fsbridge/internal/store"
)

// timedStore wraps the bridge's store and charges the time of every call
// to the SCIM request it was made for, so the report can say where the
// latency the bridge adds goes: store writes, store reads, or waiting for
// a lock.
type timedStore struct {
	store.Store
	rec *storeRecorder
}

var _ store.Store = (*timedStore)(nil)

// storeClass is what a store call costs: a write transaction, a read, or
// the wait for a named lock.
type storeClass int

const (
	storeWrite storeClass = iota
	storeRead
	storeLock
	numStoreClasses
)

// storeCost is the store time of one SCIM request.
type storeCost struct {
	N [numStoreClasses]int
	D [numStoreClasses]time.Duration
}

type storeRecorder struct {
	mu    sync.Mutex
	byReq map[string]*storeCost
}

func newStoreRecorder() *storeRecorder { return &storeRecorder{byReq: map[string]*storeCost{}} }

func (r *storeRecorder) charge(ctx context.Context, c storeClass, start time.Time) {
	d := time.Since(start)
	id := reqctx.RequestID(ctx)
	if id == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	sc := r.byReq[id]
	if sc == nil {
		sc = &storeCost{}
		r.byReq[id] = sc
	}
	sc.N[c]++
	sc.D[c] += d
}

func (r *storeRecorder) cost(id string) storeCost {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sc := r.byReq[id]; sc != nil {
		return *sc
	}
	return storeCost{}
}

func (s *timedStore) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	defer s.rec.charge(ctx, storeWrite, time.Now())
	return s.Store.CreateUser(ctx, u)
}

func (s *timedStore) GetUser(ctx context.Context, id int64) (store.User, error) {
	defer s.rec.charge(ctx, storeRead, time.Now())
	return s.Store.GetUser(ctx, id)
}

func (s *timedStore) GetUserByUserName(ctx context.Context, userName string) (store.User, error) {
	defer s.rec.charge(ctx, storeRead, time.Now())
	return s.Store.GetUserByUserName(ctx, userName)
}

func (s *timedStore) UpdateUser(ctx context.Context, id int64, fn func(*store.User) error) (store.User, error) {
	defer s.rec.charge(ctx, storeWrite, time.Now())
	return s.Store.UpdateUser(ctx, id, fn)
}

func (s *timedStore) DeleteUser(ctx context.Context, id int64) error {
	defer s.rec.charge(ctx, storeWrite, time.Now())
	return s.Store.DeleteUser(ctx, id)
}

func (s *timedStore) DirtyUsers(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	defer s.rec.charge(ctx, storeRead, time.Now())
	return s.Store.DirtyUsers(ctx, now, limit)
}

func (s *timedStore) CountDirtyUsers(ctx context.Context) (int, error) {
	defer s.rec.charge(ctx, storeRead, time.Now())
	return s.Store.CountDirtyUsers(ctx)
}

func (s *timedStore) CreateGroup(ctx context.Context, g store.Group) (store.Group, error) {
	defer s.rec.charge(ctx, storeWrite, time.Now())
	return s.Store.CreateGroup(ctx, g)
}

func (s *timedStore) GetGroup(ctx context.Context, id string) (store.Group, error) {
	defer s.rec.charge(ctx, storeRead, time.Now())
	return s.Store.GetGroup(ctx, id)
}

func (s *timedStore) GetGroupByDisplayName(ctx context.Context, name string) (store.Group, error) {
	defer s.rec.charge(ctx, storeRead, time.Now())
	return s.Store.GetGroupByDisplayName(ctx, name)
}

func (s *timedStore) UpdateGroup(ctx context.Context, id string, fn func(*store.Group) error) (store.Group, error) {
	defer s.rec.charge(ctx, storeWrite, time.Now())
	return s.Store.UpdateGroup(ctx, id, fn)
}

func (s *timedStore) DeleteGroup(ctx context.Context, id string) error {
	defer s.rec.charge(ctx, storeWrite, time.Now())
	return s.Store.DeleteGroup(ctx, id)
}

func (s *timedStore) ForEachGroup(ctx context.Context, fn func(store.Group) error) error {
	defer s.rec.charge(ctx, storeRead, time.Now())
	return s.Store.ForEachGroup(ctx, fn)
}

func (s *timedStore) GroupsOf(ctx context.Context, userID int64) ([]string, error) {
	defer s.rec.charge(ctx, storeRead, time.Now())
	return s.Store.GroupsOf(ctx, userID)
}

func (s *timedStore) PutIntent(ctx context.Context, in store.Intent) error {
	defer s.rec.charge(ctx, storeWrite, time.Now())
	return s.Store.PutIntent(ctx, in)
}

func (s *timedStore) GetIntent(ctx context.Context, key string) (store.Intent, error) {
	defer s.rec.charge(ctx, storeRead, time.Now())
	return s.Store.GetIntent(ctx, key)
}

func (s *timedStore) DeleteIntent(ctx context.Context, key string) error {
	defer s.rec.charge(ctx, storeWrite, time.Now())
	return s.Store.DeleteIntent(ctx, key)
}

func (s *timedStore) PutMirror(ctx context.Context, entries []store.MirrorEntry) error {
	defer s.rec.charge(ctx, storeWrite, time.Now())
	return s.Store.PutMirror(ctx, entries)
}

func (s *timedStore) DeleteMirror(ctx context.Context, ids []int64) error {
	defer s.rec.charge(ctx, storeWrite, time.Now())
	return s.Store.DeleteMirror(ctx, ids)
}

func (s *timedStore) AppendAudit(ctx context.Context, e store.AuditEvent) (store.AuditEvent, error) {
	defer s.rec.charge(ctx, storeWrite, time.Now())
	return s.Store.AppendAudit(ctx, e)
}

func (s *timedStore) GetMeta(ctx context.Context, key string) (string, error) {
	defer s.rec.charge(ctx, storeRead, time.Now())
	return s.Store.GetMeta(ctx, key)
}

func (s *timedStore) SetMeta(ctx context.Context, key, value string) error {
	defer s.rec.charge(ctx, storeWrite, time.Now())
	return s.Store.SetMeta(ctx, key, value)
}

func (s *timedStore) Lock(ctx context.Context, key string) (func(), error) {
	defer s.rec.charge(ctx, storeLock, time.Now())
	return s.Store.Lock(ctx, key)
}
