package bridge

import (
	"context"
	"errors"
	"time"

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

// readUser reads user id by its id into put, view by view, each with the
// time it was asked. A user the mirror knows as an agent is read through
// the agent view, which holds all the bridge manages of an agent, and
// through the requester view only if the agent view no longer has it
// (converted to requester, or erased). Any other user is read through
// GetUser: the requester view, which shows agents on most accounts, then
// the agent view where the requester view answers 404 for agents (§19);
// an agent it shows in requester shape is read through the agent view
// too. So a 404 of one view never counts as a user gone:
// freshservice.ErrNotFound means neither view has the id. wait, if not
// nil, is called before each read the bridge asks for (GetUser's second
// view is one more call, on the accounts that need it).
func (b *Bridge) readUser(ctx context.Context, id int64, wait func() error, put func(u *freshservice.User, asked time.Time)) error {
	ask := func() (time.Time, error) {
		if wait != nil {
			if err := wait(); err != nil {
				return time.Time{}, err
			}
		}
		return time.Now(), nil
	}
	asked, err := ask()
	if err != nil {
		return err
	}
	if e, ok := b.dir.Get(id); ok && e.User != nil && e.User.IsAgent {
		a, _, err := b.fs.Agents.Get(ctx, id)
		if err == nil {
			put(a, asked)
			return nil
		}
		if !errors.Is(err, freshservice.ErrNotFound) {
			return err
		}
		if asked, err = ask(); err != nil {
			return err
		}
		u, _, err := b.fs.Requesters.Get(ctx, id)
		if err != nil {
			return err
		}
		put(u, asked)
		return nil
	}
	u, _, err := b.fs.GetUser(ctx, id)
	if err != nil {
		return err
	}
	put(u, asked)
	if !u.IsAgent || u.View == freshservice.ViewAgent {
		return nil
	}
	if asked, err = ask(); err != nil {
		return err
	}
	a, _, err := b.fs.Agents.Get(ctx, id)
	if err != nil {
		return err
	}
	put(a, asked)
	return nil
}
