package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/fault"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/mapping"
)

// Seats are money (rules.max_agents). Counting the full-time agents and
// then promoting is a race when several requests promote at once: each
// counts the same free seat. So a promotion that takes a seat holds the
// store lock "seats" from the count until Freshservice has answered, and
// with PostgreSQL that lock holds across replicas. A replica's directory
// sees its own promotions at once but another replica's only at its next
// walk, so every granted seat is also written to the store (metaSeatGrants)
// and counted until the directory shows it or the grant is older than two
// walks.

const metaSeatGrants = "seats.grants"

// seatGrants maps a user id to when a seat was granted to it.
type seatGrants map[int64]time.Time

// seatsUsed is the number of full-time seats taken: the full-time agents
// the directory shows, plus the grants it does not show yet.
func seatsUsed(fullTime int, grants seatGrants, isFullTime func(id int64) bool) int {
	used := fullTime
	for id := range grants {
		if !isFullTime(id) {
			used++
		}
	}
	return used
}

// takeSeat reserves a full-time seat when the target makes the user cur
// (nil: a new user) a full-time agent it is not now and rules.max_agents
// caps seats. It returns a release function to call once the plan has run,
// with the id of the user that got the seat (0: the plan failed), which is
// recorded for the other replicas; with no seat left it returns the 403
// *scim.Error of a fault.NoSeat on the field rules.max_agents (callers
// answer and audit it as it is) and holds nothing.
func (b *Bridge) takeSeat(ctx context.Context, cur *freshservice.User, t mapping.Target) (func(granted int64), error) {
	rs := b.rules.Load()
	if rs.MaxAgents <= 0 || !mapping.TakesSeat(cur, t) {
		return func(int64) {}, nil
	}
	unlock, err := b.lock(ctx, "seats")
	if err != nil {
		return nil, err
	}
	grants := b.loadSeatGrants(ctx)
	isFullTime := func(uid int64) bool {
		e, ok := b.dir.Get(uid)
		return ok && fullTime(e)
	}
	used := seatsUsed(b.dir.Count().FullTimeAgents, grants, isFullTime)
	if used >= rs.MaxAgents {
		unlock()
		return nil, scimError(&fault.Error{
			Op: "user.promote", Kind: fault.NoSeat, Field: "rules.max_agents",
			Detail: fmt.Sprintf("no full-time agent seat left: rules.max_agents is %d and %d full-time seats are taken; the user is left as before", rs.MaxAgents, used),
		})
	}
	return func(granted int64) {
		defer unlock()
		if granted == 0 {
			return
		}
		grants[granted] = time.Now()
		b.saveSeatGrants(ctx, grants)
	}, nil
}

func fullTime(e directory.Entry) bool {
	return e.User != nil && e.User.IsAgent && !e.User.Occasional && e.User.Active
}

func (b *Bridge) loadSeatGrants(ctx context.Context) seatGrants {
	grants := seatGrants{}
	v, err := b.store.GetMeta(ctx, metaSeatGrants)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			b.log.Warn().Err(err).Msg("reading the seat grants failed; counting the directory's agents only")
		}
		return grants
	}
	_ = json.Unmarshal([]byte(v), &grants)
	return grants
}

// saveSeatGrants stores the grants younger than two walks: by then every
// replica's directory shows the agent. (This replica's directory may show
// it already; another's may not, so the grant stays until the horizon.)
func (b *Bridge) saveSeatGrants(ctx context.Context, grants seatGrants) {
	keep := seatGrants{}
	horizon := time.Now().Add(-2 * b.opts.RefreshInterval)
	for id, at := range grants {
		if at.After(horizon) {
			keep[id] = at
		}
	}
	data, _ := json.Marshal(keep)
	if err := b.store.SetMeta(ctx, metaSeatGrants, string(data)); err != nil {
		b.log.Warn().Err(err).Msg("recording a seat grant failed; other replicas count it at their next walk")
	}
}
