package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
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
	used := mapping.SeatsTaken(b.dir.Count().FullTimeAgents, grants, isFullTime)
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
		if e, ok := b.dir.Get(granted); ok && e.User != nil && !fullTime(e) {
			return // Freshservice made it occasional: no seat was taken
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
			b.logger(ctx).Warn().Err(err).Msg("reading the seat grants failed; counting the directory's agents only")
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
		b.logger(ctx).Warn().Err(err).Msg("recording a seat grant failed; other replicas count it at their next walk")
	}
}

// Seat downgrades. In a workspace account Freshservice answers a request
// for a full-time agent it has no seat for with success, and an occasional
// agent (§4.3, §19). The bridge notices (seatOutcome), records it on the
// user (mapping.Applied.Downgraded), audits it (outcome "partial", kind
// no_seat, field occasional), lists it under "Needs attention" on /status
// and in fsbridge_agents_downgraded, and stops asking: the user's target
// stays occasional (target) until a seat may have freed, which the
// background pass notices (recheckDowngrades), or the user's role rules
// change. The IdP is answered as for a success: the person is provisioned.

// askedFullTime reports whether an agent body asks for a full-time agent:
// occasional false, or left out on a create (Freshservice's default).
func askedFullTime(f *freshservice.AgentFields) bool {
	return f != nil && (f.Occasional == nil || !*f.Occasional)
}

// seatOutcome records what a step that may take a full-time seat got: u,
// the agent Freshservice answered. Asked for full-time and got occasional
// is a downgrade; got full-time ends one.
func (x *execution) seatOutcome(askedFullTime bool, u *freshservice.User) {
	if !askedFullTime || u == nil {
		return
	}
	if !u.Occasional {
		x.applied.Downgraded = nil
		return
	}
	rules := slices.Clone(x.applied.Rules)
	slices.Sort(rules)
	x.applied.Downgraded = &mapping.Downgrade{Rules: rules, FullTime: x.l.fullTimeAgents(), At: time.Now().UTC()}
	x.downgraded = true
}

// downgradeAudit is the audit detail and failure fields of a step
// Freshservice answered with an occasional agent where a full-time one
// was asked (outcome "partial").
func downgradeAudit(s mapping.Step, d *mapping.Downgrade) (string, *fault.Error) {
	m, p := s.Call()
	full := 0
	if d != nil {
		full = d.FullTime
	}
	return fmt.Sprintf("%s %s: Freshservice had no full-time agent seat free (%d full-time agents) and made the agent occasional; the bridge asks again when a seat frees or the user's role rules change", m, p, full),
		&fault.Error{Kind: fault.NoSeat, Field: "occasional", Call: m + " " + p}
}

// UserDowngrade is one user Freshservice keeps occasional for want of a
// full-time seat.
type UserDowngrade struct {
	ID       int64
	UserName string
	mapping.Downgrade
}

// userDowngrades is the current set, by user id.
type userDowngrades struct {
	mu sync.Mutex
	m  map[int64]UserDowngrade
}

func (g *userDowngrades) set(id int64, userName string, d *mapping.Downgrade) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[int64]UserDowngrade{}
	}
	if d == nil {
		delete(g.m, id)
		return
	}
	g.m[id] = UserDowngrade{ID: id, UserName: userName, Downgrade: *d}
}

func (g *userDowngrades) list() []UserDowngrade {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]UserDowngrade, 0, len(g.m))
	for _, u := range g.m {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Downgraded lists the users Freshservice keeps occasional although the
// rules ask for full-time, by id.
func (b *Bridge) Downgraded() []UserDowngrade { return b.downgrades.list() }

// recheckDowngrades marks for the background pass the downgraded users a
// seat may have freed for: the directory shows fewer full-time agents than
// when they were downgraded. It makes no call.
func (b *Bridge) recheckDowngrades(ctx context.Context) {
	list := b.downgrades.list()
	if len(list) == 0 {
		return
	}
	full := b.dir.Count().FullTimeAgents
	for _, u := range list {
		if !mapping.SeatMayHaveFreed(&u.Downgrade, full) {
			continue
		}
		_, _ = b.store.UpdateUser(ctx, u.ID, func(s *store.User) error {
			if !s.Dirty { // one already waiting keeps its backoff
				s.Dirty, s.NextAttempt = true, time.Time{}
			}
			return nil
		})
	}
}
