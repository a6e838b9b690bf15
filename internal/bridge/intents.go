package bridge

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

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

// createRetryState is one Bridge's policy and what its tries spent lately.
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

func (b *Bridge) retryState() *createRetryState { return &b.createRetry }

// SetCreateRetry sets the policy for creates whose answer was lost; it
// applies from the next background pass, so a reload can change it.
func (b *Bridge) SetCreateRetry(p CreateRetry) {
	p = p.withDefaults()
	b.retryState().policy.Store(&p)
}

// CreateRetryPolicy returns the policy in force, defaults filled in.
func (b *Bridge) CreateRetryPolicy() CreateRetry {
	return b.retryState().policy.Load().withDefaults()
}

// CreateRetryAllowance is how many calls background tries of creates may
// spend per rate-limit window: the policy's share of the bridge's part of
// the scarcest bucket, at least one. It follows the budget, which
// X-RateLimit-Total may resize.
func (b *Bridge) CreateRetryAllowance() int {
	stats, _ := b.fs.Budget().Stats()
	limit := 0
	for _, s := range stats {
		if limit == 0 || s.Limit < limit {
			limit = s.Limit
		}
	}
	return max(int(math.Floor(float64(limit)*b.CreateRetryPolicy().Share)), 1)
}

// CreateRetrySpent is how many calls background tries of creates spent
// in the last rate-limit window.
func (b *Bridge) CreateRetrySpent() int {
	return b.retryState().spentSince(time.Now().Add(-b.fs.Budget().Window()))
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
func (b *Bridge) finishIntents(ctx context.Context) {
	intents, err := b.store.ListIntents(ctx)
	if err != nil {
		return
	}
	policy := b.CreateRetryPolicy()
	allowance := b.CreateRetryAllowance()
	st := b.retryState()
	window := b.fs.Budget().Window()
	for _, in := range intents {
		if ctx.Err() != nil {
			return
		}
		now := time.Now()
		if now.Sub(in.Created) < b.opts.ReconcileInterval {
			continue // a request may still be working on it
		}
		if e, ok := b.dir.ByEmail(in.Key); ok && e.Managed() {
			if now.Sub(in.Created) > intentTTL {
				_ = b.store.DeleteIntent(ctx, in.Key)
			}
			continue // settled; waiting for the IdP's retry
		}
		if !in.Failed.IsZero() {
			if now.Sub(in.Failed) > failedIntentTTL {
				_ = b.store.DeleteIntent(ctx, in.Key)
			}
			continue
		}
		if in.NextAttempt.After(now) {
			continue
		}
		if in.Attempts > 0 && now.Sub(in.Created) >= policy.MaxAge {
			b.giveUpIntent(ctx, in, tooOld(policy, in.Attempts))
			continue
		}
		if decodeDoc(in.Doc) == nil {
			_ = b.store.DeleteIntent(ctx, in.Key)
			continue
		}
		// The ceiling is checked before a try and charged after it with
		// what the try really cost, so one try may overrun it by its own
		// cost; the next waits until the window has slid past enough.
		if st.spentSince(now.Add(-window)) >= allowance {
			continue // out of allowance this window; the rest wait for a later pass
		}
		b.tryIntent(ctx, in, policy, st)
	}
}

// tryIntent makes one background try at settling in, and records its
// outcome and cost.
func (b *Bridge) tryIntent(ctx context.Context, in store.Intent, policy CreateRetry, st *createRetryState) {
	// The same locks as the IdP's own create of this user (its userName
	// and every email), so neither can make a second Freshservice user.
	unlock, err := b.lockCreate(ctx, decodeDoc(in.Doc), in.Key)
	if err != nil {
		return
	}
	defer unlock()
	cur, err := b.store.GetIntent(ctx, in.Key)
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
		found, err := b.lookupEmail(tctx, in.Key)
		if err != nil {
			return err
		}
		if found != nil {
			e, _ := b.dir.Get(found.ID)
			_, err := b.claimKeepingIntent(tctx, e, doc, true)
			return err
		}
		_, err = b.createNew(tctx, in.Key, doc, true, true)
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
	b.logger(ctx).Warn().Str("email", redactEmail(in.Key)).Int("attempt", in.Attempts+1).Err(err).
		Msg("settling an interrupted create failed; retrying later")
	attempts := in.Attempts + 1
	// createNew stores the intent afresh; what is written back keeps its
	// age, so the give-up point does not move with every try.
	updated, uerr := b.store.UpdateIntent(ctx, in.Key, func(s *store.Intent) error {
		s.Created, s.Attempts, s.LastError = in.Created, attempts, detail
		s.NextAttempt = end.Add(b.backoff(attempts))
		return nil
	})
	if uerr != nil {
		return // settled meanwhile (a refused create drops its intent)
	}
	switch {
	case attempts >= policy.MaxAttempts:
		b.giveUpIntent(ctx, updated, fmt.Sprintf("%s failed", plural(attempts, "try", "tries")))
	case end.Sub(in.Created) >= policy.MaxAge:
		b.giveUpIntent(ctx, updated, tooOld(policy, attempts))
	}
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
func (b *Bridge) giveUpIntent(ctx context.Context, in store.Intent, why string) {
	now := time.Now()
	failed, err := b.store.UpdateIntent(ctx, in.Key, func(s *store.Intent) error {
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
	b.auditEvent(ctx, "user.create", "", 0, "error", fmt.Sprintf(
		"gave up creating %s (userName %q) in the background: %s; the last error: %s; fix the cause, then send the user again from the IdP",
		failed.Key, userName, why, last))
	b.logger(ctx).Error().Str("email", redactEmail(failed.Key)).Int("attempts", failed.Attempts).Str("last_error", last).
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

// PendingCreates lists the creates that are not settled, oldest first:
// those whose user Freshservice does not hold as managed yet. It makes no
// Freshservice call.
func (b *Bridge) PendingCreates(ctx context.Context) ([]PendingCreate, error) {
	intents, err := b.store.ListIntents(ctx)
	if err != nil {
		return nil, err
	}
	var out []PendingCreate
	for _, in := range intents {
		if e, ok := b.dir.ByEmail(in.Key); ok && e.Managed() {
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
