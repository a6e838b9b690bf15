package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/store"
)

// Several replicas share one store (PostgreSQL) but each keeps its own
// directory. What one replica writes through reaches the store at once, so
// another one reads a user from the store when its directory does not
// have it, and, under the user's lock, before planning: its decisions are
// then made on what the last writer saw.

// entry returns the directory entry for id, reading it from the store when
// the directory does not know it.
func (b *Bridge) entry(ctx context.Context, id int64) (directory.Entry, bool) {
	if e, ok := b.dir.Get(id); ok && e.User != nil {
		return e, true
	}
	b.loadFromStore(ctx, id)
	e, ok := b.dir.Get(id)
	return e, ok
}

// byUserName is dir.ByUserName with the same fallback to the store.
func (b *Bridge) byUserName(ctx context.Context, name string) (directory.Entry, bool) {
	if e, ok := b.dir.ByUserName(name); ok {
		return e, true
	}
	rec, err := b.store.GetUserByUserName(ctx, name)
	if err != nil {
		return directory.Entry{}, false
	}
	b.loadFromStore(ctx, rec.ID)
	return b.dir.ByUserName(name)
}

// loadFromStore replaces the directory's view of user id with the store's:
// the mirror entry and the desired state.
func (b *Bridge) loadFromStore(ctx context.Context, id int64) {
	b.loadMirror(ctx, id)
	if rec, err := b.store.GetUser(ctx, id); err == nil {
		b.dir.PutDesired(rec)
	} else if errors.Is(err, store.ErrNotFound) {
		if cur, ok := b.dir.Get(id); ok && cur.Desired != nil {
			b.dir.RemoveDesired(id)
		}
	}
}

// loadMirror takes the store's mirror entry of user id when it is another
// replica's, not older than what the directory holds. The copy this
// replica wrote itself is no news: replacing it would mark the user as
// written through now, and a walk page asked for since, which may show an
// admin's change, would be set aside as older than it.
func (b *Bridge) loadMirror(ctx context.Context, id int64) {
	me, err := b.store.GetMirror(ctx, id)
	if err != nil {
		return
	}
	cur, ok := b.dir.Get(id)
	if ok && cur.User != nil && bytes.Equal(encode(cur.User), me.Data) {
		return
	}
	var u freshservice.User
	if json.Unmarshal(me.Data, &u) != nil {
		return
	}
	if !ok || cur.User == nil || !cur.User.UpdatedAt.After(u.UpdatedAt) {
		b.dir.ReplaceUser(&u)
	}
}
