package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/store"
)

// Run keeps the bridge converging until ctx ends: it walks Freshservice to
// refresh the mirror every RefreshInterval (at once if the mirror has never
// been walked), and re-runs the plans of users and groups left unfinished.
// The walk runs beside the re-runs, not before them: a large account's walk
// takes most of an hour on a small plan, and a failed write must not wait
// for it. When ctx ends, Run returns once the walk in progress has stopped.
//
// Only one Run works at a time; another returns when ctx ends.
func (b *Bridge) Run(ctx context.Context) {
	if !b.runMu.TryLock() {
		<-ctx.Done()
		return
	}
	defer b.runMu.Unlock()
	walkDue := b.dir.WalkedAt().Add(b.opts.RefreshInterval)
	tick := time.NewTicker(b.opts.ReconcileInterval)
	defer tick.Stop()
	var walkEnded chan struct{} // nil when no walk runs
	for {
		if walkEnded == nil && !time.Now().Before(walkDue) {
			walkEnded = make(chan struct{})
			go func(done chan struct{}) {
				defer close(done)
				start := time.Now()
				if err := b.Walk(ctx); err != nil && ctx.Err() == nil {
					b.stats.WalkErrors.Add(1)
					b.log.Warn().Err(err).Msg("mirror walk failed; retrying at the next interval")
				}
				if took := time.Since(start); took > b.opts.RefreshInterval && ctx.Err() == nil {
					b.log.Warn().Dur("took", took).Dur("refresh_interval", b.opts.RefreshInterval).Int("users", b.dir.Len()).
						Msg("the mirror walk took longer than mirror.refresh_interval: walks now run back to back; raise mirror.share or the interval, or use the webhook for changes made in Freshservice")
				}
			}(walkEnded)
			walkDue = time.Now().Add(b.opts.RefreshInterval)
		}
		b.ReconcilePass(ctx)
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

// Walk reads every user through both views (requesters with agents, then
// agents) into the mirror, pacing itself to RefreshShare of the list
// buckets, and drops users Freshservice no longer has (those two walks in
// a row did not see).
func (b *Bridge) Walk(ctx context.Context) error {
	start := time.Now()
	// The walk has its own small budget inside the client's: at most its
	// share of the smaller list bucket in any window, so a large account's
	// walk leaves room for the IdP's writes, and a small one's is not
	// slowed at all.
	newPace := func() *freshservice.Budget {
		return freshservice.NewBudget(freshservice.BudgetConfig{
			Limits: freshservice.Limits{Overall: b.walkPages()}, Window: b.fs.Budget().Window(),
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
			if e, ok := b.dir.Get(id); ok && e.User != nil {
				entries = append(entries, store.MirrorEntry{ID: id, Data: encode(e.User)})
			}
		}
		err := b.store.PutMirror(ctx, entries)
		batch = batch[:0]
		return err
	}
	var asked time.Time // when the page being taken was requested
	take := func(u *freshservice.User) {
		seen[u.ID] = true
		if !b.dir.PutWalked(u, asked) {
			return // written through since the page was read: newer
		}
		batch = append(batch, u.ID)
	}
	walk := func(fetch func(page int) ([]*freshservice.User, *freshservice.Response, error)) error {
		for page := 1; ; {
			if pace.Window() != b.fs.Budget().Window() {
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
				return b.fs.Requesters.List(ctx, &freshservice.RequesterListOptions{IncludeAgents: b.canSeeAgentsAsRequesters(), Active: &active, ListOptions: freshservice.ListOptions{Page: page}})
			})
		}
	}
	// A key without Manage Agents sees requesters only (keyaccess.go).
	for _, active := range []bool{true, false} {
		if err == nil && b.canManageAgents() {
			err = walk(func(page int) ([]*freshservice.User, *freshservice.Response, error) {
				return b.fs.Agents.List(ctx, &freshservice.AgentListOptions{Active: &active, ListOptions: freshservice.ListOptions{Page: page}})
			})
		}
	}
	if ferr := flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("walking users: %w", err)
	}
	// Users the walk did not see may have been erased in Freshservice. Pages
	// are numbered, so users created or deactivated during the walk move
	// between pages and shift others off theirs (during a bulk deactivation,
	// tens of users per walk); the next walk sees those. So a user is read
	// (one GET, which drops it if Freshservice no longer has it) only when
	// two walks in a row missed it, and not at all when the bridge wrote it
	// through since this walk began: Freshservice answered for it then.
	// The read asks the other view before taking a 404 for a user gone
	// (readUser): a key that lists part of the account misses the same
	// users every walk, and they are there.
	prev := map[int64]bool{}
	if p := b.walkMissed.Load(); p != nil {
		prev = *p
	}
	missed := map[int64]bool{}
	read := 0
	for _, u := range b.dir.Users() {
		if seen[u.ID] || b.dir.WrittenSince(u.ID, start) {
			continue
		}
		if !prev[u.ID] {
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
		if err := b.walkRead(ctx, u.ID, wait); err != nil && !errors.Is(err, freshservice.ErrNotFound) {
			return fmt.Errorf("checking user %d: %w", u.ID, err)
		}
	}
	b.walkMissed.Store(&missed)
	if cat, err := LoadCatalog(ctx, b.fs); err == nil {
		b.replaceCatalog(cat)
		// Departments and locations added in Freshservice, and users
		// the walk found, may fill what some users were provisioned
		// without.
		b.recheckGaps(ctx)
	} else {
		b.log.Warn().Err(err).Msg("refreshing the catalog failed")
	}
	b.dir.SetWalkedAt(start)
	_ = b.store.SetMeta(ctx, metaWalkedAt, start.UTC().Format(time.RFC3339Nano))
	drift, derr := b.findDrift(ctx, false, start)
	if derr != nil {
		b.log.Warn().Err(derr).Msg("checking drift failed")
	}
	b.log.Info().Int("users", len(seen)).Int("missed", len(missed)).Int("missed_twice_read", read).
		Int("drifted", len(drift)).Dur("took", time.Since(start)).Msg("mirror walk finished")
	return nil
}

// walkRead reads one user the walk's pages missed, as refreshUser does
// (readUser), except that what it reads yields to what the bridge wrote
// through since it asked: a plan may change the user while the GET is
// under way, and the older answer must not overwrite the newer state in
// the mirror. wait paces each read.
func (b *Bridge) walkRead(ctx context.Context, id int64, wait func() error) error {
	asked := time.Now()
	err := b.readUser(ctx, id, wait, func(u *freshservice.User, at time.Time) {
		asked = at
		if b.dir.PutWalked(u, at) {
			b.saveMirror(ctx, id, u)
		}
	})
	if errors.Is(err, freshservice.ErrNotFound) && !b.dir.WrittenSince(id, asked) {
		b.dir.RemoveUser(id)
		_ = b.store.DeleteMirror(ctx, []int64{id})
	}
	return err
}

// walkPages is how many list pages a walk may fetch per window: its share
// of the smaller list bucket.
func (b *Bridge) walkPages() int {
	stats, _ := b.fs.Budget().Stats()
	limit := 0
	for _, s := range stats {
		if s.Bucket != freshservice.BucketOverall && (limit == 0 || s.Limit < limit) {
			limit = s.Limit
		}
	}
	return max(int(float64(limit)*b.opts.RefreshShare), 1)
}

// ReconcilePass re-runs the plans of dirty users and groups whose backoff
// has passed, and finishes creates whose outcome is unknown.
func (b *Bridge) ReconcilePass(ctx context.Context) {
	if b.opts.DryRun {
		return
	}
	// A full-time seat may have freed for users Freshservice made
	// occasional: plan them again.
	b.recheckDowngrades(ctx)
	now := time.Now()
	gids, err := b.store.DirtyGroups(ctx, now, 50)
	if err != nil {
		b.log.Warn().Err(err).Msg("listing unfinished groups failed")
	}
	for _, gid := range gids {
		b.reconcileGroup(ctx, gid)
	}
	ids, err := b.store.DirtyUsers(ctx, now, 200)
	if err != nil {
		b.log.Warn().Err(err).Msg("listing unfinished users failed")
	}
	if n, err := b.store.CountDirtyUsers(ctx); err == nil {
		b.plansPending.Store(int64(n))
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		if err := b.reconcileUser(ctx, id); err != nil {
			b.log.Warn().Int64("fs_id", id).Err(err).Msg("re-running the plan failed; retrying later")
		}
	}
	b.finishIntents(ctx)
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

// redactEmail keeps logs useful without spelling out addresses.
func redactEmail(e string) string {
	at := strings.LastIndex(e, "@")
	if at <= 1 {
		return "***"
	}
	return e[:1] + "***" + e[at:]
}
