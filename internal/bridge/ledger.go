package bridge

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/fault"
	"github.com/fsbridge/fsbridge/mapping"
)

// ledger is where an executor keeps what its steps did: what Freshservice
// holds afterwards (the directory and the store's mirror), the user's
// applied state, the audit trail and the log. bridgeLedger keeps it all;
// keepNothing, a dry run's, keeps none of it.
type ledger interface {
	// answered records a user Freshservice sent back, merged with what
	// was known, and returns the merged user.
	answered(ctx context.Context, u *freshservice.User) *freshservice.User
	// changed records u, a user as known changed by a step whose answer
	// carried no user, as it is, and returns it.
	changed(ctx context.Context, u *freshservice.User) *freshservice.User
	// erased drops a user Freshservice no longer has.
	erased(ctx context.Context, id int64)
	// saveApplied saves what the bridge has applied to user id.
	saveApplied(ctx context.Context, id int64, a mapping.Applied)
	// reread reads user id from Freshservice again, records it and
	// returns it (nil when it cannot be read).
	reread(ctx context.Context, id int64) *freshservice.User
	// fullTimeAgents is how many active full-time agents are known.
	fullTimeAgents() int
	// audit records one step's outcome, with the failure's fields when f
	// is not nil.
	audit(ctx context.Context, s mapping.Step, scimID, outcome, detail string, f *fault.Error)
	// logger is the logger for work done for ctx.
	logger(ctx context.Context) *zerolog.Logger
}

// bridgeLedger keeps an executor's outcomes in the bridge's directory,
// store and audit trail.
type bridgeLedger struct{ b *Bridge }

var _ ledger = bridgeLedger{}

func (l bridgeLedger) answered(ctx context.Context, u *freshservice.User) *freshservice.User {
	return l.b.writeThrough(ctx, u)
}

func (l bridgeLedger) changed(ctx context.Context, u *freshservice.User) *freshservice.User {
	l.b.dir.ReplaceUser(u)
	return l.b.saveMirror(ctx, u.ID, u)
}

func (l bridgeLedger) erased(ctx context.Context, id int64) {
	l.b.dir.RemoveUser(id)
	_ = l.b.store.DeleteMirror(ctx, []int64{id})
}

func (l bridgeLedger) saveApplied(ctx context.Context, id int64, a mapping.Applied) {
	l.b.saveApplied(ctx, id, a)
}

func (l bridgeLedger) reread(ctx context.Context, id int64) *freshservice.User {
	if err := l.b.refreshUser(ctx, id); err != nil {
		return nil
	}
	e, _ := l.b.dir.Get(id)
	return e.User
}

func (l bridgeLedger) fullTimeAgents() int { return l.b.dir.Count().FullTimeAgents }

func (l bridgeLedger) audit(ctx context.Context, s mapping.Step, scimID, outcome, detail string, f *fault.Error) {
	l.b.audit(ctx, s, scimID, outcome, detail, f)
}

func (l bridgeLedger) logger(ctx context.Context) *zerolog.Logger { return l.b.logger(ctx) }

// keepNothing is a dry run's ledger: a dry run saves nothing, so turning
// dry-run off later applies nothing that was only planned. What it plans
// is told by its writer (planRecorder).
type keepNothing struct{}

var _ ledger = keepNothing{}

func (keepNothing) answered(_ context.Context, u *freshservice.User) *freshservice.User { return u }
func (keepNothing) changed(_ context.Context, u *freshservice.User) *freshservice.User  { return u }
func (keepNothing) erased(context.Context, int64)                                       {}
func (keepNothing) saveApplied(context.Context, int64, mapping.Applied)                 {}
func (keepNothing) reread(context.Context, int64) *freshservice.User                    { return nil }
func (keepNothing) fullTimeAgents() int                                                 { return 0 }
func (keepNothing) audit(context.Context, mapping.Step, string, string, string, *fault.Error) {
}

func (keepNothing) logger(context.Context) *zerolog.Logger {
	l := zerolog.Nop()
	return &l
}
