package server

import (
	"context"

	"github.com/fsbridge/fsbridge/internal/bridge"
	"github.com/fsbridge/fsbridge/internal/health"
	"github.com/fsbridge/fsbridge/internal/status"
	"github.com/fsbridge/fsbridge/internal/store"
)

// source reads, from the assembled server, the facts the health checks
// (internal/health) and the status page (internal/status) report.
type source struct{ s *Server }

var _ status.Source = source{}

func (src source) PingStore(ctx context.Context) error { return src.s.Store.Ping(ctx) }

func (src source) Credentials(ctx context.Context) (bool, string) { return src.s.credentialsOK(ctx) }

func (src source) KeyAccess(ctx context.Context) (bool, string) { return src.s.keyAccessOK(ctx) }

func (src source) LastCalls() health.Calls { return src.s.calls.Last() }

func (src source) Mirror() health.Mirror {
	b := src.s.Bridge
	if !b.Loaded() {
		return health.Mirror{}
	}
	d := b.Directory()
	return health.Mirror{
		Loaded: true, Users: d.Len(), WalkedAt: d.WalkedAt(),
		RefreshEvery: src.s.Config.Mirror.RefreshInterval, WalkErrors: b.Counters().WalkErrors.Load(),
	}
}

func (src source) Account() status.AccountReport { return src.s.Account() }

func (src source) Facts() status.Facts {
	s, b := src.s, src.s.Bridge
	budget := s.Client.Budget()
	stats, waited := budget.Stats()
	f := status.Facts{
		DryRun: s.Config.DryRun,
		Budget: status.Budget{Buckets: stats, Waited: waited, Window: budget.Window()},
		Users:  b.Directory().Count(), PlansPending: b.PlansPending(), DriftUsers: b.DriftCount(),
		Gaps: b.Gaps(), Downgraded: b.Downgraded(), KeyOwner: b.KeyOwner(), ProtectedUsers: b.ProtectedUsers(),
		CreateRetry: status.CreateRetry{Policy: b.CreateRetryPolicy(), Allowance: b.CreateRetryAllowance(), Spent: b.CreateRetrySpent()},
	}
	if rs := b.Rules(); rs != nil {
		f.MaxAgents = rs.MaxAgents
	}
	if lim := s.conns.Load(); lim != nil {
		st := lim.stats()
		f.Connections = &status.Connections{
			Open: st.Open, Max: st.Max, PerClient: st.PerClient, Idle: st.Idle, ClosedForRoom: st.Evicted, Refused: st.Refused,
		}
	}
	return f
}

func (src source) PendingCreates(ctx context.Context) ([]bridge.PendingCreate, error) {
	return src.s.Bridge.PendingCreates(ctx)
}

func (src source) ForEachGroup(ctx context.Context, fn func(store.Group) error) error {
	return src.s.Store.ForEachGroup(ctx, fn)
}

func (src source) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	return src.s.Store.ListAudit(ctx, q)
}

func (src source) UserName(id int64) string {
	e, ok := src.s.Bridge.Directory().Get(id)
	if !ok {
		return ""
	}
	if e.Desired != nil && e.Desired.UserName != "" {
		return e.Desired.UserName
	}
	if e.User != nil {
		return e.User.Email
	}
	return ""
}
