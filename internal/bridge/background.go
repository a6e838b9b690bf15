package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/mapping"
	"github.com/fsbridge/fsbridge/scim"
)

// background is the bridge's background pass: the walk that refreshes the
// mirror from Freshservice, the reconcile pass that re-runs the plans left
// unfinished, the drift check (drift.go) and the finishing of creates whose
// outcome is unknown (intents.go). It holds the state only they use; the
// bridge's methods of the same names hand over to it.
type background struct {
	fs    *freshservice.Client
	store store.Store
	dir   *directory.Directory
	log   zerolog.Logger
	cfg   backgroundConfig
	// ops are the bridge's use cases the pass drives.
	ops backgroundOps

	// runMu lets one Run work at a time.
	runMu sync.Mutex
	stats Stats
	// walkMissed holds the users the last walk's pages did not show.
	walkMissed atomic.Pointer[map[int64]bool]
	// driftUsers is the number of drifted users the last check found;
	// plansPending the number of users whose plan waits, as of the last
	// reconcile pass.
	driftUsers   atomic.Int64
	plansPending atomic.Int64
	// createRetry is the policy and the spending of the background tries
	// at creates whose answer was lost (intents.go).
	createRetry createRetryState
}

// backgroundConfig is the pacing of the background pass (Options).
type backgroundConfig struct {
	// refreshInterval is the time between walks; refreshShare the part of
	// the smaller list bucket a walk may use.
	refreshInterval time.Duration
	refreshShare    float64
	// reconcileInterval paces the reconcile pass and is the first wait
	// after a failed try; maxBackoff caps that wait.
	reconcileInterval time.Duration
	maxBackoff        time.Duration
	// dryRun leaves unfinished plans and creates alone: nothing is sent.
	dryRun bool
}

// backgroundOps is what the background pass asks of the rest of the
// bridge; *Bridge provides it.
type backgroundOps interface {
	// What the API key may list (keyaccess.go): the views the walk reads.
	canSeeAgentsAsRequesters() bool
	canManageAgents() bool
	// Reading one user the walk's pages missed (refresh.go), and saving
	// what it read to the store's mirror (exec.go).
	readUser(ctx context.Context, id int64, wait func() error, put func(u *freshservice.User, asked time.Time)) error
	saveMirror(ctx context.Context, id int64, fallback *freshservice.User) *freshservice.User
	// After a walk: the catalog read afresh, and the users it, or the
	// users the walk found, may let be provisioned in full (gaps.go).
	replaceCatalog(c *Catalog) *Catalog
	recheckGaps(ctx context.Context)
	// Re-running plans: of users a freed seat may let be full-time
	// (seats.go), of one user (groups.go), of one group's membership.
	recheckDowngrades(ctx context.Context)
	reconcileUser(ctx context.Context, id int64) error
	reconcileGroup(ctx context.Context, id string)
	// What a managed user should be in Freshservice (target.go), which
	// the drift check compares the mirror with.
	target(ctx context.Context, id int64, doc mapping.Doc, deleted bool, applied mapping.Applied, groups []store.Group) (userTarget, error)
	// Settling a create whose answer was lost, under the create's locks
	// (create.go): find the user Freshservice may have made, or make it
	// (users.go).
	lockCreate(ctx context.Context, doc mapping.Doc, email string) (func(), error)
	lookupEmail(ctx context.Context, email string) (*freshservice.User, error)
	claimKeepingIntent(ctx context.Context, e directory.Entry, doc mapping.Doc, ours bool) (scim.Resource, error)
	createNew(ctx context.Context, email string, doc mapping.Doc, earlier, background bool) (scim.Resource, error)
	// The audit trail (exec.go).
	appendAudit(ctx context.Context, ev store.AuditEvent)
	auditEvent(ctx context.Context, op, scimID string, fsid int64, outcome, detail string)
}

var _ backgroundOps = (*Bridge)(nil)

// newBackground builds the background pass of a bridge over fs, st and
// dir, paced by opts.
func newBackground(fs *freshservice.Client, st store.Store, dir *directory.Directory, log zerolog.Logger, opts Options, ops backgroundOps) *background {
	bg := &background{
		fs: fs, store: st, dir: dir, log: log, ops: ops,
		cfg: backgroundConfig{
			refreshInterval: opts.RefreshInterval, refreshShare: opts.RefreshShare,
			reconcileInterval: opts.ReconcileInterval, maxBackoff: opts.MaxBackoff,
			dryRun: opts.DryRun,
		},
	}
	bg.createRetry.policy.Store(&CreateRetry{})
	return bg
}

// logger is the logger for work done for ctx (Bridge.logger).
func (bg *background) logger(ctx context.Context) *zerolog.Logger {
	return ctxLogger(ctx, &bg.log)
}

// backoff is the wait after a failed try: reconcile.interval doubling
// with each try, up to reconcile.max_backoff.
func (bg *background) backoff(attempts int) time.Duration {
	return backoffAfter(attempts, bg.cfg.reconcileInterval, bg.cfg.maxBackoff)
}

// backoffAfter is the wait after the attempts-th failed try: interval,
// doubled for each try after the first, at most ceiling.
func backoffAfter(attempts int, interval, ceiling time.Duration) time.Duration {
	d := interval
	for i := 1; i < attempts && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// Run keeps the bridge converging until ctx ends: it walks Freshservice to
// refresh the mirror every RefreshInterval (at once if the mirror has never
// been walked), and re-runs the plans of users and groups left unfinished.
// The walk runs beside the re-runs, not before them: a large account's walk
// takes most of an hour on a small plan, and a failed write must not wait
// for it. When ctx ends, Run returns once the walk in progress has stopped.
//
// Only one Run works at a time; another returns when ctx ends.
func (b *Bridge) Run(ctx context.Context) { b.background.Run(ctx) }

// Walk reads every user through both views (requesters with agents, then
// agents) into the mirror, pacing itself to RefreshShare of the list
// buckets, and drops users Freshservice no longer has (those two walks in
// a row did not see). It then checks for drift.
func (b *Bridge) Walk(ctx context.Context) error { return b.background.Walk(ctx) }

// ReconcilePass re-runs the plans of dirty users and groups whose backoff
// has passed, and finishes creates whose outcome is unknown.
func (b *Bridge) ReconcilePass(ctx context.Context) { b.background.ReconcilePass(ctx) }

// PlansPending is the number of users whose plan waits to be re-run, as
// of the last background pass.
func (b *Bridge) PlansPending() int { return int(b.background.plansPending.Load()) }

// Run is Bridge.Run.
func (bg *background) Run(ctx context.Context) {
	if !bg.runMu.TryLock() {
		<-ctx.Done()
		return
	}
	defer bg.runMu.Unlock()
	walkDue := bg.dir.WalkedAt().Add(bg.cfg.refreshInterval)
	tick := time.NewTicker(bg.cfg.reconcileInterval)
	defer tick.Stop()
	var walkEnded chan struct{} // nil when no walk runs
	for {
		if walkEnded == nil && !time.Now().Before(walkDue) {
			walkEnded = make(chan struct{})
			go func(done chan struct{}) {
				defer close(done)
				start := time.Now()
				if err := bg.Walk(ctx); err != nil && ctx.Err() == nil {
					bg.stats.WalkErrors.Add(1)
					bg.log.Warn().Err(err).Msg("mirror walk failed; retrying at the next interval")
				}
				if took := time.Since(start); took > bg.cfg.refreshInterval && ctx.Err() == nil {
					bg.log.Warn().Dur("took", took).Dur("refresh_interval", bg.cfg.refreshInterval).Int("users", bg.dir.Len()).
						Msg("the mirror walk took longer than mirror.refresh_interval: walks now run back to back; raise mirror.share or the interval, or use the webhook for changes made in Freshservice")
				}
			}(walkEnded)
			walkDue = time.Now().Add(bg.cfg.refreshInterval)
		}
		bg.ReconcilePass(ctx)
		var due <-chan time.Time
		if walkEnded == nil {
			due = time.After(max(time.Until(walkDue), 0))
		}
		select {
		case <-ctx.Done():
			if walkEnded != nil {
				<-walkEnded
			}
			return
		case <-walkEnded:
			walkEnded = nil
		case <-tick.C:
		case <-due:
		}
	}
}

// Walk is Bridge.Walk.
func (bg *background) Walk(ctx context.Context) error {
	start := time.Now()
	// The walk has its own small budget inside the client's: at most its
	// share of the smaller list bucket in any window, so a large account's
	// walk leaves room for the IdP's writes, and a small one's is not
	// slowed at all.
	newPace := func() *freshservice.Budget {
		stats, _ := bg.fs.Budget().Stats()
		return freshservice.NewBudget(freshservice.BudgetConfig{
			Limits: freshservice.Limits{Overall: walkPages(stats, bg.cfg.refreshShare)}, Window: bg.fs.Budget().Window(),
		})
	}
	pace := newPace()
	seen := map[int64]bool{}
	// The batch holds ids: what is saved is the directory's view at flush
	// time, so a write-through made since the page was read is not
	// overwritten in the store by the older page.
	var batch []int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		entries := make([]store.MirrorEntry, 0, len(batch))
		for _, id := range batch {
			if e, ok := bg.dir.Get(id); ok && e.User != nil {
				entries = append(entries, store.MirrorEntry{ID: id, Data: encode(e.User)})
			}
		}
		err := bg.store.PutMirror(ctx, entries)
		batch = batch[:0]
		return err
	}
	var asked time.Time // when the page being taken was requested
	take := func(u *freshservice.User) {
		seen[u.ID] = true
		if !bg.dir.PutWalked(u, asked) {
			return // written through since the page was read: newer
		}
		batch = append(batch, u.ID)
	}
	walk := func(fetch func(page int) ([]*freshservice.User, *freshservice.Response, error)) error {
		for page := 1; ; {
			if pace.Window() != bg.fs.Budget().Window() {
				// The account turned out to have hourly limits (the
				// client learns it from headers): pace the rest of the
				// walk per hour, or it would take a minute's share of
				// an hour's credit every minute.
				pace = newPace()
			}
			if _, err := pace.Wait(ctx, freshservice.BucketOverall); err != nil {
				return err
			}
			asked = time.Now()
			users, resp, err := fetch(page)
			if err != nil {
				return err
			}
			for _, u := range users {
				take(u)
			}
			if len(batch) >= 500 {
				if err := flush(); err != nil {
					return err
				}
			}
			if resp == nil || resp.NextPage <= page || len(users) == 0 {
				return nil
			}
			page = resp.NextPage
		}
	}
	// Active and deactivated users are walked apart: whether a list
	// without active= shows deactivated users is not certain (§3.2), and
	// the two walks cost one page more at most.
	var err error
	for _, active := range []bool{true, false} {
		if err == nil {
			err = walk(func(page int) ([]*freshservice.User, *freshservice.Response, error) {
				return bg.fs.Requesters.List(ctx, &freshservice.RequesterListOptions{IncludeAgents: bg.ops.canSeeAgentsAsRequesters(), Active: &active, ListOptions: freshservice.ListOptions{Page: page}})
			})
		}
	}
	// A key without Manage Agents sees requesters only (keyaccess.go).
	for _, active := range []bool{true, false} {
		if err == nil && bg.ops.canManageAgents() {
			err = walk(func(page int) ([]*freshservice.User, *freshservice.Response, error) {
				return bg.fs.Agents.List(ctx, &freshservice.AgentListOptions{Active: &active, ListOptions: freshservice.ListOptions{Page: page}})
			})
		}
	}
	if ferr := flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("walking users: %w", err)
	}
	// Users the walk did not see may have been erased in Freshservice
	// (unseenUser); the second walk in a row that misses one reads it.
	prev := map[int64]bool{}
	if p := bg.walkMissed.Load(); p != nil {
		prev = *p
	}
	missed := map[int64]bool{}
	read := 0
	for _, u := range bg.dir.Users() {
		// Whether the bridge wrote a user through is asked as the walk
		// comes to it: the reads before it take time.
		switch unseenUser(seen[u.ID] || bg.dir.WrittenSince(u.ID, start), prev[u.ID]) {
		case walkKeeps:
			continue
		case walkRemembers:
			missed[u.ID] = true
			continue
		}
		// Paced like the pages: a key whose role lists only part of the
		// account (§19) makes every walk miss the rest, and reading them
		// all at once would take the credit the IdP's writes need.
		wait := func() error {
			_, err := pace.Wait(ctx, freshservice.BucketOverall)
			return err
		}
		read++
		if err := bg.walkRead(ctx, u.ID, wait); err != nil && !errors.Is(err, freshservice.ErrNotFound) {
			return fmt.Errorf("checking user %d: %w", u.ID, err)
		}
	}
	bg.walkMissed.Store(&missed)
	if cat, err := LoadCatalog(ctx, bg.fs); err == nil {
		bg.ops.replaceCatalog(cat)
		// Departments and locations added in Freshservice, and users
		// the walk found, may fill what some users were provisioned
		// without.
		bg.ops.recheckGaps(ctx)
	} else {
		bg.log.Warn().Err(err).Msg("refreshing the catalog failed")
	}
	bg.dir.SetWalkedAt(start)
	_ = bg.store.SetMeta(ctx, metaWalkedAt, start.UTC().Format(time.RFC3339Nano))
	drift, derr := bg.findDrift(ctx, false, start)
	if derr != nil {
		bg.log.Warn().Err(derr).Msg("checking drift failed")
	}
	bg.log.Info().Int("users", len(seen)).Int("missed", len(missed)).Int("missed_twice_read", read).
		Int("drifted", len(drift)).Dur("took", time.Since(start)).Msg("mirror walk finished")
	return nil
}

// walkOutcome is what a walk does with a user of the directory once its
// pages are read.
type walkOutcome int

const (
	// walkKeeps: nothing to check.
	walkKeeps walkOutcome = iota
	// walkRemembers: missed; the next walk reads it if it misses it too.
	walkRemembers
	// walkReads: missed twice in a row; one read, which drops the user
	// if Freshservice no longer has it.
	walkReads
)

// unseenUser decides for one user of the directory: answered is whether
// Freshservice answered for it during this walk (a page showed it, or the
// bridge wrote it through since the walk began), missedBefore whether the
// previous walk's pages missed it.
//
// A user no page showed may have been erased in Freshservice. But pages
// are numbered, so users created or deactivated during the walk move
// between pages and shift others off theirs (during a bulk deactivation,
// tens of users per walk); the next walk sees those. So a user is read
// only when two walks in a row missed it. The read asks the other view
// before taking a 404 for a user gone (readUser): a key that lists part
// of the account misses the same users every walk, and they are there.
func unseenUser(answered, missedBefore bool) walkOutcome {
	switch {
	case answered:
		return walkKeeps
	case !missedBefore:
		return walkRemembers
	}
	return walkReads
}

// walkRead reads one user the walk's pages missed, as refreshUser does
// (readUser), except that what it reads yields to what the bridge wrote
// through since it asked: a plan may change the user while the GET is
// under way, and the older answer must not overwrite the newer state in
// the mirror. wait paces each read.
func (bg *background) walkRead(ctx context.Context, id int64, wait func() error) error {
	asked := time.Now()
	err := bg.ops.readUser(ctx, id, wait, func(u *freshservice.User, at time.Time) {
		asked = at
		if bg.dir.PutWalked(u, at) {
			bg.ops.saveMirror(ctx, id, u)
		}
	})
	if errors.Is(err, freshservice.ErrNotFound) && !bg.dir.WrittenSince(id, asked) {
		bg.dir.RemoveUser(id)
		_ = bg.store.DeleteMirror(ctx, []int64{id})
	}
	return err
}

// walkPages is how many list pages a walk may fetch per window: share of
// the smaller list bucket of the budget whose stats are given, at least
// one.
func walkPages(stats []freshservice.BucketStats, share float64) int {
	limit := 0
	for _, s := range stats {
		if s.Bucket != freshservice.BucketOverall && (limit == 0 || s.Limit < limit) {
			limit = s.Limit
		}
	}
	return max(int(float64(limit)*share), 1)
}

// ReconcilePass is Bridge.ReconcilePass.
func (bg *background) ReconcilePass(ctx context.Context) {
	if bg.cfg.dryRun {
		return
	}
	// A full-time seat may have freed for users Freshservice made
	// occasional: plan them again.
	bg.ops.recheckDowngrades(ctx)
	now := time.Now()
	gids, err := bg.store.DirtyGroups(ctx, now, 50)
	if err != nil {
		bg.log.Warn().Err(err).Msg("listing unfinished groups failed")
	}
	for _, gid := range gids {
		bg.ops.reconcileGroup(ctx, gid)
	}
	ids, err := bg.store.DirtyUsers(ctx, now, 200)
	if err != nil {
		bg.log.Warn().Err(err).Msg("listing unfinished users failed")
	}
	if n, err := bg.store.CountDirtyUsers(ctx); err == nil {
		bg.plansPending.Store(int64(n))
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		if err := bg.ops.reconcileUser(ctx, id); err != nil {
			bg.log.Warn().Int64("fs_id", id).Err(err).Msg("re-running the plan failed; retrying later")
		}
	}
	bg.finishIntents(ctx)
}

// reconcileGroup re-applies a dirty group's membership.
func (b *Bridge) reconcileGroup(ctx context.Context, id string) {
	unlock, err := b.lock(ctx, "group:"+id)
	if err != nil {
		return
	}
	defer unlock()
	g, err := b.store.GetGroup(ctx, id)
	if err != nil {
		return
	}
	if _, err := b.ensureGroupObject(ctx, &g); err != nil {
		b.log.Warn().Str("group", id).Err(err).Msg("group object not ready")
		return
	}
	// The pending users (saved with the membership change) are the ones
	// to finish; the rest already match.
	if err := b.applyMembers(ctx, g, g.Members, g.Members); err != nil {
		_, _ = b.store.UpdateGroup(ctx, id, func(s *store.Group) error {
			s.Attempts++
			s.LastError = toSCIMError(err).Detail
			s.NextAttempt = time.Now().Add(b.backoff(s.Attempts))
			return nil
		})
	}
}
