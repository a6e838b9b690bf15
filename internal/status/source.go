package status

import (
	"context"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/bridge"
	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/health"
	"github.com/fsbridge/fsbridge/internal/store"
)

// Source is everything the page reads of the bridge: the health model's
// facts, the account, a snapshot of what the bridge keeps in memory, and
// what it keeps in the store. Only the health model's credentials and
// permissions checks may reach Freshservice, and they answer from their
// last call when they can.
type Source interface {
	health.Source
	// Account is the account and what the API key may do, as `fsbridge
	// check` reports them.
	Account() AccountReport
	// Facts is a snapshot of what the bridge keeps in memory.
	Facts() Facts
	// PendingCreates lists the creates that are not settled, oldest first;
	// it reads the store and the mirror.
	PendingCreates(ctx context.Context) ([]bridge.PendingCreate, error)
	// ForEachGroup and ListAudit read the store's groups and audit trail.
	ForEachGroup(ctx context.Context, fn func(store.Group) error) error
	ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error)
	// UserName names a user of the mirror by its Freshservice id: its
	// userName, else its email; "" when the mirror does not know it.
	UserName(id int64) string
}

// Facts is a snapshot of what the bridge keeps in memory.
type Facts struct {
	// DryRun is true when writes are only planned.
	DryRun bool
	Budget Budget
	// Users are the mirror's counts; MaxAgents is rules.max_agents (0: no
	// cap of the bridge's own).
	Users     directory.Counts
	MaxAgents int
	// PlansPending counts plans waiting to re-run, DriftUsers the users
	// drifted from what the IdP asked.
	PlansPending int
	DriftUsers   int
	// Gaps are the users provisioned without a value Freshservice cannot
	// hold yet; Downgraded the agents Freshservice made occasional for want
	// of a full-time seat.
	Gaps       []bridge.UserGaps
	Downgraded []bridge.UserDowngrade
	// KeyOwner is the API key's owner (nil when Freshservice did not
	// say); ProtectedUsers the protected_users setting.
	KeyOwner       *bridge.KeyOwner
	ProtectedUsers []string
	CreateRetry    CreateRetry
	// Connections is nil until the bridge serves a listener.
	Connections *Connections
}

// Budget is the client's rate-limit budget.
type Budget struct {
	Buckets []freshservice.BucketStats
	// Waited is the time calls spent waiting for budget since the start.
	Waited time.Duration
	Window time.Duration
}

// CreateRetry is the background pass's policy for creates whose answer was
// lost, the calls its tries may spend per window, all creates together,
// and what they spent in the last one.
type CreateRetry struct {
	Policy    bridge.CreateRetry
	Allowance int
	Spent     int
}

// Connections are the listener's connections against its limits.
type Connections struct {
	Open, Max, PerClient int
	Idle                 time.Duration
	// ClosedForRoom counts idle connections closed to make room for a
	// newcomer; Refused newcomers refused because none in the way was idle.
	ClosedForRoom, Refused int64
}
