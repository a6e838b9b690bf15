package bridge

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/reqctx"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/mapping"
	"github.com/fsbridge/fsbridge/scim"
)

// In dry-run mode reads are real and every write becomes a plan: the
// calls a request would make are computed from the same target and diff
// as a real run, run through the same executor with a writer that records
// them instead of sending them (planRecorder) and a ledger that keeps
// nothing (keepNothing), logged, recorded in the audit trail as "planned",
// and answered to the IdP as 202 Accepted with the plan in the detail.
// Nothing is saved, so turning dry-run off later applies nothing that was
// only planned.

// planUser records in r the calls user id's plan would make for a desired
// document, with the groups given (nil: as the store says).
func (b *Bridge) planUser(ctx context.Context, r *planRecorder, id int64, doc mapping.Doc, deleted bool, groups []store.Group) error {
	var applied mapping.Applied
	if id != 0 {
		if rec, err := b.store.GetUser(ctx, id); err == nil {
			applied = decodeApplied(rec.Applied)
		}
	}
	t, err := b.target(ctx, id, doc, deleted, applied, groups)
	if err != nil {
		return err
	}
	var cur *freshservice.User
	if e, ok := b.dir.Get(id); ok && id != 0 {
		cur = e.User
	}
	// The seat is only counted, not held: nothing will be sent.
	release, err := b.takeSeat(ctx, cur, t.Target)
	if err != nil {
		return err
	}
	release(0)
	plan := mapping.PlanUser(cur, t.Target, applied)
	_, err = planning(r).run(ctx, plan, cur, &applied, "")
	return err
}

// planning is the executor of a dry run: the same steps as a real run,
// recorded in r instead of sent, and nothing kept.
func planning(r *planRecorder) executor { return executor{w: r, l: keepNothing{}} }

// plannedCall is one call a dry run would make: the call itself ("POST
// /api/v2/requesters") and the line that shows it with its body.
type plannedCall struct{ call, line string }

// dryRun records the plans and answers 202 with them. Each audit event
// keeps its call apart from the line, so the status page shows the call
// and puts the body behind a disclosure without reading the line.
func (b *Bridge) dryRun(ctx context.Context, scimID string, calls []plannedCall) error {
	lines := make([]string, len(calls))
	for i, c := range calls {
		lines[i] = c.line
		b.logger(ctx).Info().Str("plan", c.line).Msg("dry run: not sent")
		b.appendAudit(ctx, store.AuditEvent{
			Time: time.Now(), RequestID: reqctx.RequestID(ctx), Client: reqctx.Client(ctx),
			Operation: "plan", SCIMID: scimID, Outcome: "planned", Detail: c.line, Call: c.call,
		})
	}
	detail := fmt.Sprintf("dry run: nothing was sent to Freshservice; the plan has %d call(s)", len(lines))
	if len(lines) == 0 {
		detail = "dry run: nothing was sent to Freshservice; no call is needed"
	}
	return &scim.Error{Status: http.StatusAccepted, Detail: detail, Plan: lines}
}

func planLines(p mapping.Plan) []string {
	out := make([]string, len(p))
	for i, s := range p {
		out[i] = s.String()
	}
	return out
}

// dryRunUser answers a user write in dry-run mode.
func (b *Bridge) dryRunUser(ctx context.Context, id int64, doc mapping.Doc, deleted bool) error {
	var r planRecorder
	if err := b.planUser(ctx, &r, id, doc, deleted, nil); err != nil {
		return toSCIMError(err)
	}
	return b.dryRun(ctx, strconv.FormatInt(id, 10), r.calls)
}

// dryRunGroup answers a group write in dry-run mode: the requester group
// it would create, and the plans of every member whose membership would
// change, as if the change were made.
func (b *Bridge) dryRunGroup(ctx context.Context, before *store.Group, after store.Group) error {
	var r planRecorder
	if after.FSID == 0 {
		if kind, _, _ := b.rules.Load().GroupKindOf(after.DisplayName, after.ExternalID); kind == KindRequesterGroup {
			r.createRequesterGroup(after.DisplayName)
		}
	}
	var old []int64
	if before != nil {
		old = before.Members
	}
	added, removed := diffIDs(old, after.Members)
	for _, id := range append(added, removed...) {
		groups, err := b.groupsOf(ctx, id)
		if err != nil {
			return scim.AsError(err)
		}
		groups = slices.DeleteFunc(groups, func(g store.Group) bool { return g.ID == after.ID })
		if slices.Contains(after.Members, id) {
			groups = append(groups, after)
		}
		if groups == nil {
			groups = []store.Group{}
		}
		e, _ := b.dir.Get(id)
		doc := e.Doc()
		if doc == nil && e.User != nil {
			doc = cleanUserDoc(b.userDoc(e))
		}
		rec, _ := b.store.GetUser(ctx, id)
		if err := b.planUser(ctx, &r, id, doc, rec.Deleted, groups); err != nil {
			return toSCIMError(err)
		}
	}
	return b.dryRun(ctx, after.ID, r.calls)
}
