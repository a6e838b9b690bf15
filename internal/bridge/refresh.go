package bridge

import (
	"context"
	"errors"

	"github.com/fsbridge/fsbridge/freshservice"
)

// RefreshUser reads one user from Freshservice into the mirror with one
// call, for events reported by Freshservice (a Workflow Automator
// webhook): through the agent view when the event is about an agent,
// otherwise through the requester view, which shows agents too (where it
// answers 404 for agents, the agent view is asked next: a second call). A
// user neither view has is dropped from the mirror, and
// freshservice.ErrNotFound returned.
func (b *Bridge) RefreshUser(ctx context.Context, id int64, agent bool) error {
	var u *freshservice.User
	var err error
	if agent {
		u, _, err = b.fs.Agents.Get(ctx, id)
		if errors.Is(err, freshservice.ErrNotFound) {
			// Converted to requester since the event: the requester view.
			u, _, err = b.fs.Requesters.Get(ctx, id)
		}
	} else {
		// Made an agent since the event, where the requester view
		// answers 404 for agents (§19): the agent view then.
		u, _, err = b.fs.GetUser(ctx, id)
	}
	if errors.Is(err, freshservice.ErrNotFound) {
		b.dir.RemoveUser(id)
		_ = b.store.DeleteMirror(ctx, []int64{id})
		return err
	}
	if err != nil {
		return err
	}
	if !agent && !u.IsAgent {
		// A requester now: drop any agent fields the mirror still holds.
		if e, ok := b.dir.Get(id); ok && e.User != nil && e.User.IsAgent {
			c := *u
			b.dir.RemoveUser(id)
			b.writeThrough(ctx, &c)
			return nil
		}
	}
	b.writeThrough(ctx, u)
	return nil
}

// LookupEmail finds a user by email in Freshservice (one call, two for a
// deactivated user on accounts that list active users only) and records it
// in the mirror.
func (b *Bridge) LookupEmail(ctx context.Context, email string) (*freshservice.User, error) {
	return b.lookupEmail(ctx, email)
}
