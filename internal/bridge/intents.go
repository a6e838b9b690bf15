package bridge

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/fault"
	"github.com/fsbridge/fsbridge/internal/reqctx"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/scim"
)

// Creates whose answer was lost (the bridge stopped, the IdP hung up,
// Freshservice failed) leave an intent in the store, and the background
// pass settles them: it finds the user Freshservice may have created, or
// makes the create. A create that cannot be settled (Freshservice keeps
// failing it, or the user it finds cannot be recorded) must not cost calls
// forever, so every try is paced three ways:
//
//   - backoff: after a failed try the next waits as a failing user's plan
//     does, from reconcile.interval doubling up to reconcile.max_backoff;
//   - an end: after CreateRetry.MaxAttempts failed tries, or a failed try
//     CreateRetry.MaxAge after the IdP last sent the create, the bridge
//     gives up, records why in the audit trail and shows the create as
//     failed on /status until the IdP sends it again;
//   - a ceiling: the tries of all creates together spend at most
//     CreateRetry.Share of the scarcest rate-limit bucket per window (the
//     list bucket the lookups draw from), so a pile of failing creates
//     cannot crowd out the IdP's own requests.

// CreateRetry is the background pass's policy for creates whose answer
// was lost. Zero fields take the defaults.
type CreateRetry struct {
	// MaxAttempts is the number of background tries after which the
	// bridge gives up on a create.
	MaxAttempts int
	// MaxAge is how long after the IdP last sent a create the bridge gives
	// up on it, however few tries the ceiling allowed. At least one try is
	// made first, so a bridge that was stopped for longer still finds out
	// whether the create happened.
	MaxAge time.Duration
	// Share is the fraction of the scarcest rate-limit bucket, per window,
	// that background tries of creates may spend, all creates together.
	Share float64
}

// The defaults of CreateRetry. Ten tries with the default backoff (30 s
// doubling to 30 min) span about two hours: long enough to outlast a
// Freshservice incident, short enough that an admin who looks the same
// day sees the failure. A tenth of the list bucket is 5 calls a minute on
// the Growth plan at the default share.
const (
	DefaultCreateRetryAttempts = 10
	DefaultCreateRetryMaxAge   = 24 * time.Hour
	DefaultCreateRetryShare    = 0.1
)

// withDefaults fills the zero fields.
func (p CreateRetry) withDefaults() CreateRetry {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultCreateRetryAttempts
	}
	if p.MaxAge <= 0 {
		p.MaxAge = DefaultCreateRetryMaxAge
	}
	if p.Share <= 0 || p.Share > 1 {
		p.Share = DefaultCreateRetryShare
	}
	return p
}

// intentTTL is how long an intent waits for the IdP's retry once the
// background pass has finished its create.
const intentTTL = 24 * time.Hour

// failedIntentTTL is how long a create the bridge gave up on stays listed
// on /status (and known as the bridge's own, should the IdP send it again).
const failedIntentTTL = 7 * 24 * time.Hour

// createRetryState is the background pass's policy and what its tries
// spent lately.
type createRetryState struct {
	policy atomic.Pointer[CreateRetry]
	mu     sync.Mutex
	spent  []spending // oldest first
}

// spending is what one try cost, and when it ended.
type spending struct {
	at    time.Time
	calls int
}

// SetCreateRetry sets the policy for creates whose answer was lost; it
// applies from the next background pass, so a reload can change it.
func (b *Bridge) SetCreateRetry(p CreateRetry) { b.background.setRetryPolicy(p) }

// CreateRetryPolicy returns the policy in force, defaults filled in.
func (b *Bridge) CreateRetryPolicy() CreateRetry { return b.background.retryPolicy() }

// CreateRetryAllowance is how many calls background tries of creates may
// spend per rate-limit window: the policy's share of the bridge's part of
// the scarcest bucket, at least one. It follows the budget, which
// X-RateLimit-Total may resize.
func (b *Bridge) CreateRetryAllowance() int { return b.background.retryAllowance() }

// CreateRetrySpent is how many calls background tries of creates spent
// in the last rate-limit window.
func (b *Bridge) CreateRetrySpent() int { return b.background.retrySpent() }

// PendingCreates lists the creates that are not settled, oldest first:
// those whose user Freshservice does not hold as managed yet. It makes no
// Freshservice call.
func (b *Bridge) PendingCreates(ctx context.Context) ([]PendingCreate, error) {
	return b.background.pendingCreates(ctx)
}

func (bg *background) setRetryPolicy(p CreateRetry) {
	p = p.withDefaults()
	bg.createRetry.policy.Store(&p)
}

func (bg *background) retryPolicy() CreateRetry {
	return bg.createRetry.policy.Load().withDefaults()
}

func (bg *background) retryAllowance() int {
	stats, _ := bg.fs.Budget().Stats()
	return createRetryAllowance(stats, bg.retryPolicy().Share)
}

func (bg *background) retrySpent() int {
	return bg.createRetry.spentSince(time.Now().Add(-bg.fs.Budget().Window()))
}

// createRetryAllowance is share of the scarcest bucket of the budget
// whose stats are given, in whole calls, at least one.
func createRetryAllowance(stats []freshservice.BucketStats, share float64) int {
	limit := 0
	for _, s := range stats {
		if limit == 0 || s.Limit < limit {
			limit = s.Limit
		}
	}
	return max(int(math.Floor(float64(limit)*share)), 1)
}

// spentSince sums the calls of the tries that ended after t, and forgets
// older ones.
func (st *createRetryState) spentSince(t time.Time) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	i := 0
	for i < len(st.spent) && !st.spent[i].at.After(t) {
		i++
	}
	st.spent = st.spent[i:]
	n := 0
	for _, s := range st.spent {
		n += s.calls
	}
	return n
}

func (st *createRetryState) charge(at time.Time, calls int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.spent = append(st.spent, spending{at: at, calls: calls})
}

// finishIntents settles creates whose answer was lost: if Freshservice has
// the user, it is recorded as ours; otherwise the create is made. The
// intent itself stays until the IdP's retry gets its answer (or a day
// passes), so the retry is answered 201 with the user, not 409. Failed
// tries back off, the bridge gives up in the end, and all tries together
// stay within their share of the budget (see CreateRetry).
func (bg *background) finishIntents(ctx context.Context) {
	intents, err := bg.store.ListIntents(ctx)
	if err != nil {
		return
	}
	policy := bg.retryPolicy()
	allowance := bg.retryAllowance()
	st := &bg.createRetry
	window := bg.fs.Budget().Window()
	for _, in := range intents {
		if ctx.Err() != nil {
			return
		}
		now := time.Now()
		e, ok := bg.dir.ByEmail(in.Key)
		switch nextIntentStep(in, now, ok && e.Managed(), policy, bg.cfg.reconcileInterval) {
		case intentWaits:
			continue
		case intentForgotten:
			_ = bg.store.DeleteIntent(ctx, in.Key)
			continue
		case intentTooOld:
			bg.giveUpIntent(ctx, in, tooOld(policy, in.Attempts))
			continue
		}
		// The ceiling is checked before a try and charged after it with
		// what the try really cost, so one try may overrun it by its own
		// cost; the next waits until the window has slid past enough.
		if st.spentSince(now.Add(-window)) >= allowance {
			continue // out of allowance this window; the rest wait for a later pass
		}
		bg.tryIntent(ctx, in, policy, st)
	}
}

// intentStep is what the background pass does with an intent.
type intentStep int

const (
	// intentWaits: nothing this pass.
	intentWaits intentStep = iota
	// intentForgotten: the intent is deleted.
	intentForgotten
	// intentTooOld: the bridge gives up on the create (tooOld).
	intentTooOld
	// intentTried: a try at settling the create, if the ceiling allows.
	intentTried
)

// nextIntentStep decides for intent in at now; settled is whether the
// directory holds its user as managed.
//
// A young intent may still be a request's at work; a settled one waits
// for the IdP's retry to get its answer (so that it is 201 with the user,
// not 409), for a day at most; one the bridge gave up on stays listed on
// /status for a week; a failed try waits out its backoff; after one try
// at least, a create older than the policy's MaxAge is given up on; an
// intent without a readable document cannot be tried and is dropped.
func nextIntentStep(in store.Intent, now time.Time, settled bool, policy CreateRetry, reconcileInterval time.Duration) intentStep {
	switch {
	case now.Sub(in.Created) < reconcileInterval:
		return intentWaits // a request may still be working on it
	case settled:
		if now.Sub(in.Created) > intentTTL {
			return intentForgotten
		}
		return intentWaits
	case !in.Failed.IsZero():
		if now.Sub(in.Failed) > failedIntentTTL {
			return intentForgotten
		}
		return intentWaits
	case in.NextAttempt.After(now):
		return intentWaits
	case in.Attempts > 0 && now.Sub(in.Created) >= policy.MaxAge:
		return intentTooOld
	case decodeDoc(in.Doc) == nil:
		return intentForgotten
	}
	return intentTried
}

// tryIntent makes one background try at settling in, and records its
// outcome and cost.
func (bg *background) tryIntent(ctx context.Context, in store.Intent, policy CreateRetry, st *createRetryState) {
	// The same locks as the IdP's own create of this user (its userName
	// and every email), so neither can make a second Freshservice user.
	unlock, err := bg.ops.lockCreate(ctx, decodeDoc(in.Doc), in.Key)
	if err != nil {
		return
	}
	defer unlock()
	cur, err := bg.store.GetIntent(ctx, in.Key)
	if err != nil || !cur.Created.Equal(in.Created) || cur.Attempts != in.Attempts {
		return // settled, or sent again by the IdP, meanwhile
	}
	doc := decodeDoc(in.Doc)
	// The client's observer counts the calls made under an Info (the
	// server wires it); an Info without a request id marks them as the
	// background's, not a SCIM request's.
	info := &reqctx.Info{}
	tctx := reqctx.With(ctx, info)
	err = func() error {
		found, err := bg.ops.lookupEmail(tctx, in.Key)
		if err != nil {
			return err
		}
		if found != nil {
			e, _ := bg.dir.Get(found.ID)
			_, err := bg.ops.claimKeepingIntent(tctx, e, doc, true)
			return err
		}
		_, err = bg.ops.createNew(tctx, in.Key, doc, true, true)
		return err
	}()
	end := time.Now()
	// Every try is charged at least one call, so the ceiling holds even
	// where nothing counts the calls.
	st.charge(end, max(int(info.FSCalls.Load()), 1))
	if err == nil {
		return // settled; the intent waits for the IdP's retry
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return // stopping: not the create's fault
	}
	detail := retryError(err)
	bg.logger(ctx).Warn().Str("email", redactEmail(in.Key)).Int("attempt", in.Attempts+1).Err(err).
		Msg("settling an interrupted create failed; retrying later")
	attempts := in.Attempts + 1
	// createNew stores the intent afresh; what is written back keeps its
	// age, so the give-up point does not move with every try.
	updated, uerr := bg.store.UpdateIntent(ctx, in.Key, func(s *store.Intent) error {
		s.Created, s.Attempts, s.LastError = in.Created, attempts, detail
		s.NextAttempt = end.Add(bg.backoff(attempts))
		return nil
	})
	if uerr != nil {
		return // settled meanwhile (a refused create drops its intent)
	}
	if why, last := lastTry(policy, attempts, in.Created, end); last {
		bg.giveUpIntent(ctx, updated, why)
	}
}

// lastTry says whether the attempts-th try at a create the IdP sent at
// created, which failed at end, is the last, and why: the policy's tries
// are spent, or its MaxAge has passed.
func lastTry(policy CreateRetry, attempts int, created, end time.Time) (why string, last bool) {
	switch {
	case attempts >= policy.MaxAttempts:
		return fmt.Sprintf("%s failed", plural(attempts, "try", "tries")), true
	case end.Sub(created) >= policy.MaxAge:
		return tooOld(policy, attempts), true
	}
	return "", false
}

func tooOld(policy CreateRetry, attempts int) string {
	return fmt.Sprintf("%s failed, and %s have passed since the IdP sent it", plural(attempts, "try", "tries"), roundDur(policy.MaxAge))
}

// retryError says what failed in a try, for /status and the audit trail:
// the call and Freshservice's answer when a call failed, else the
// bridge's own reason (a userName taken, a seat cap reached). Unlike the
// IdP's error it does not promise a retry, since it may be the last. It
// reads the failure's fields, not the words of the IdP's answer.
func retryError(err error) string {
	f := asFault(err)
	var se *scim.Error
	switch {
	case f.Call != "":
		return f.Call + " failed: " + plainError(f)
	case f.Detail != "":
		return f.Detail
	case errors.As(err, &se) && se.Err == nil:
		return se.Detail
	case f.Kind != fault.Internal:
		// The one call of a try that is not a plan step: the lookup.
		return "GET /api/v2/requesters?email= failed: " + plainError(f)
	}
	return toSCIMError(err).Detail
}

// giveUpIntent marks the create failed: the background pass stops trying,
// the audit trail says why, and /status lists it until the IdP sends the
// create again (which starts afresh) or failedIntentTTL passes.
func (bg *background) giveUpIntent(ctx context.Context, in store.Intent, why string) {
	now := time.Now()
	failed, err := bg.store.UpdateIntent(ctx, in.Key, func(s *store.Intent) error {
		s.Failed = now
		return nil
	})
	if err != nil {
		return
	}
	userName := ""
	if doc := decodeDoc(failed.Doc); doc != nil {
		userName = userNameOf(doc)
	}
	last := failed.LastError
	bg.ops.auditEvent(ctx, "user.create", "", 0, "error", fmt.Sprintf(
		"gave up creating %s (userName %q) in the background: %s; the last error: %s; fix the cause, then send the user again from the IdP",
		failed.Key, userName, why, last))
	bg.logger(ctx).Error().Str("email", redactEmail(failed.Key)).Int("attempts", failed.Attempts).Str("last_error", last).
		Msg("gave up settling an interrupted create; it shows as failed on /status until the IdP sends the user again")
}

// PendingCreate is a create the bridge has not finished: being retried in
// the background, or given up on.
type PendingCreate struct {
	Email    string
	UserName string
	// Since is when the IdP last sent the create.
	Since       time.Time
	Attempts    int
	NextAttempt time.Time
	LastError   string
	// Failed is when the bridge gave up; zero while it still tries.
	Failed time.Time
}

// pendingCreates is Bridge.PendingCreates.
func (bg *background) pendingCreates(ctx context.Context) ([]PendingCreate, error) {
	intents, err := bg.store.ListIntents(ctx)
	if err != nil {
		return nil, err
	}
	var out []PendingCreate
	for _, in := range intents {
		if e, ok := bg.dir.ByEmail(in.Key); ok && e.Managed() {
			continue
		}
		p := PendingCreate{
			Email: in.Key, Since: in.Created, Attempts: in.Attempts, NextAttempt: in.NextAttempt,
			LastError: in.LastError, Failed: in.Failed,
		}
		if doc := decodeDoc(in.Doc); doc != nil {
			p.UserName = userNameOf(doc)
		}
		out = append(out, p)
	}
	return out, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// roundDur prints d without spurious precision.
func roundDur(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	case d >= time.Second:
		return d.Round(time.Second).String()
	}
	return d.String()
}

// redactEmail keeps logs useful without spelling out addresses.
func redactEmail(e string) string {
	at := strings.LastIndex(e, "@")
	if at <= 1 {
		return "***"
	}
	return e[:1] + "***" + e[at:]
}
