package bridge

import (
	"context"
	"time"

	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/store"
)

// records is the store as the bridge writes to it: every write runs on a
// context that the caller's cancellation does not reach. The bridge writes
// to the store to record what Freshservice did (the mirror entry, the
// applied state, the audit trail) or what the IdP asked for, and that must
// happen even when the IdP hangs up or the request's deadline passes right
// after a Freshservice call succeeded; otherwise the records disagree with
// Freshservice until the next walk. Each write still has its own bound, so
// a stuck database cannot hold a request forever. Reads and Lock keep the
// caller's context: waiting for either is pointless once nobody listens.
//
// It also keeps the directory's desired state in step with the store's,
// in the style of a storage wrapper: every user record written or deleted
// here is put into or dropped from the directory once the store has it,
// so no caller pairs the two by hand and none can forget to.
type records struct {
	store.Store
	dir *directory.Directory
}

// bookkeepingTimeout bounds one store write made on a detached context.
const bookkeepingTimeout = 30 * time.Second

func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
}

func (r records) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	ctx, cancel := detach(ctx)
	defer cancel()
	saved, err := r.Store.CreateUser(ctx, u)
	if err == nil {
		r.dir.PutDesired(saved)
	}
	return saved, err
}

func (r records) UpdateUser(ctx context.Context, id int64, fn func(*store.User) error) (store.User, error) {
	ctx, cancel := detach(ctx)
	defer cancel()
	saved, err := r.Store.UpdateUser(ctx, id, fn)
	if err == nil {
		r.dir.PutDesired(saved)
	}
	return saved, err
}

func (r records) DeleteUser(ctx context.Context, id int64) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	err := r.Store.DeleteUser(ctx, id)
	if err == nil {
		r.dir.RemoveDesired(id)
	}
	return err
}

func (r records) CreateGroup(ctx context.Context, g store.Group) (store.Group, error) {
	ctx, cancel := detach(ctx)
	defer cancel()
	return r.Store.CreateGroup(ctx, g)
}

func (r records) UpdateGroup(ctx context.Context, id string, fn func(*store.Group) error) (store.Group, error) {
	ctx, cancel := detach(ctx)
	defer cancel()
	return r.Store.UpdateGroup(ctx, id, fn)
}

func (r records) DeleteGroup(ctx context.Context, id string) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	return r.Store.DeleteGroup(ctx, id)
}

func (r records) PutIntent(ctx context.Context, in store.Intent) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	return r.Store.PutIntent(ctx, in)
}

func (r records) DeleteIntent(ctx context.Context, key string) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	return r.Store.DeleteIntent(ctx, key)
}

func (r records) PutMirror(ctx context.Context, entries []store.MirrorEntry) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	return r.Store.PutMirror(ctx, entries)
}

func (r records) DeleteMirror(ctx context.Context, ids []int64) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	return r.Store.DeleteMirror(ctx, ids)
}

func (r records) AppendAudit(ctx context.Context, e store.AuditEvent) (store.AuditEvent, error) {
	ctx, cancel := detach(ctx)
	defer cancel()
	return r.Store.AppendAudit(ctx, e)
}

func (r records) SetMeta(ctx context.Context, key, value string) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	return r.Store.SetMeta(ctx, key, value)
}

func (r records) UpdateIntent(ctx context.Context, key string, fn func(*store.Intent) error) (store.Intent, error) {
	ctx, cancel := detach(ctx)
	defer cancel()
	return r.Store.UpdateIntent(ctx, key, fn)
}
