package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/fault"
	"github.com/fsbridge/fsbridge/internal/reqctx"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/mapping"
	"github.com/fsbridge/fsbridge/scim"
)

// stepError is a failed step: which one, and why (a *fault.Error that
// names the step's call, when an executor made it).
type stepError struct {
	step mapping.Step
	err  error
}

func (e *stepError) Error() string { return fmt.Sprintf("%s: %v", e.step.Kind, e.err) }
func (e *stepError) Unwrap() error { return e.err }

// executor runs a plan's steps one after the other: each step's write goes
// through w, and what it did is kept in l (Freshservice's answer in the
// mirror, the applied state, the audit trail). A real run sends through an
// fsWriter and keeps in a bridgeLedger; a dry run records through a
// planRecorder and keeps nothing: the same steps, nothing sent, nothing
// saved.
type executor struct {
	w writer
	l ledger
}

// live is the executor of real runs: its writes go to Freshservice, its
// outcomes to the directory, the store and the audit trail.
func (b *Bridge) live() executor { return executor{w: b.writes(), l: bridgeLedger{b}} }

// writes is the writer that sends to Freshservice.
func (b *Bridge) writes() fsWriter {
	return fsWriter{fs: b.fs, extIDRefused: &b.agentExtIDRefused, log: &b.log}
}

// execution carries the state of one plan run.
type execution struct {
	w       writer
	l       ledger
	cur     *freshservice.User // the user as the plan changes it
	applied *mapping.Applied
	created *freshservice.User
	// pendingAgent is a convert_to_agent result held back from the mirror
	// until the PUT that gives the agent its roles and groups has run, so
	// no concurrent group change sees a half-made agent.
	pendingAgent *freshservice.User
	// downgraded is set by a step that asked for a full-time agent and
	// got an occasional one (seats.go).
	downgraded bool
}

// execute runs the plan against Freshservice step by step, writing every
// result through to the directory and the store. It holds the locks of
// every agent group the plan touches. On error it returns a *stepError;
// what ran before it stays done and is recorded, so planning again
// continues where it stopped.
func (b *Bridge) execute(ctx context.Context, plan mapping.Plan, cur *freshservice.User, applied *mapping.Applied, scimID string) (*freshservice.User, error) {
	if len(plan) == 0 {
		return cur, nil
	}
	if err := b.refuseWithoutManageAgents(plan); err != nil {
		return cur, err
	}
	groups := plan.AgentGroups()
	if cur != nil && slices.ContainsFunc(plan, func(s mapping.Step) bool { return s.Kind == mapping.StepConvertToRequester }) {
		// A demotion takes the user out of its agent groups: no
		// read-modify-write of those groups may run meanwhile and write
		// the user back.
		groups = dedupe(append(append(groups, cur.MemberOf...), cur.ObserverOf...))
	}
	for _, g := range groups {
		unlock, err := b.lock(ctx, "agentgroup:"+strconv.FormatInt(g, 10))
		if err != nil {
			return cur, err
		}
		defer unlock()
	}
	return b.live().run(ctx, plan, cur, applied, scimID)
}

// run runs the plan's steps in order and keeps each outcome, audited
// under scimID (for a create, the id of the user it made). applied is
// changed as the steps go. It stops at the first step that fails and
// returns it as a *stepError, recorded in the audit trail; a step whose
// effect Freshservice already shows counts as done (alreadyDone). It
// returns the user as the steps left it.
func (e executor) run(ctx context.Context, plan mapping.Plan, cur *freshservice.User, applied *mapping.Applied, scimID string) (*freshservice.User, error) {
	x := &execution{w: e.w, l: e.l, cur: cur, applied: applied}
	if cur != nil {
		c := *cur
		x.cur = &c
	}
	defer func() {
		if x.pendingAgent != nil {
			// The plan stopped between convert and the PUT after it: record
			// what Freshservice now holds, so the next plan finishes it.
			x.l.answered(ctx, x.pendingAgent)
		}
	}()
	for _, step := range plan {
		if x.cur != nil && step.UserID == 0 {
			step.UserID = x.cur.ID
		}
		err := x.run(ctx, step)
		if err != nil && x.alreadyDone(ctx, step, err) {
			err = nil
		}
		if err != nil {
			f := stepFault(step, err)
			x.l.audit(ctx, step, scimID, "error", describeFailure(step, err), f)
			return x.cur, &stepError{step: step, err: f}
		}
		if step.UserID == 0 && x.created != nil {
			// A create: the audit names the user it made.
			step.UserID = x.created.ID
			if scimID == "" {
				scimID = strconv.FormatInt(x.created.ID, 10)
			}
		}
		if x.downgraded {
			x.downgraded = false
			detail, f := downgradeAudit(step, x.applied.Downgraded)
			x.l.audit(ctx, step, scimID, "partial", detail, f)
			continue
		}
		x.l.audit(ctx, step, scimID, "ok", step.String(), nil)
	}
	return x.cur, nil
}

func (x *execution) run(ctx context.Context, s mapping.Step) error {
	w, l := x.w, x.l
	id := s.UserID
	switch s.Kind {
	case mapping.StepCreateRequester:
		u, err := w.CreateRequester(ctx, s.Requester)
		if err != nil {
			return err
		}
		x.cur, x.created = u, u
		l.answered(ctx, u)
	case mapping.StepCreateAgent:
		u, err := w.CreateAgent(ctx, s.Agent)
		if err != nil {
			return err
		}
		x.cur, x.created = u, u
		x.applied.Promoted = true
		l.answered(ctx, u)
		x.seatOutcome(askedFullTime(s.Agent), u)
	case mapping.StepUpdateRequester:
		u, err := w.UpdateRequester(ctx, id, s.Requester)
		if err != nil {
			return err
		}
		x.cur = l.answered(ctx, u)
	case mapping.StepUpdateAgent:
		u, err := w.UpdateAgent(ctx, id, s.Agent)
		if err != nil {
			return err
		}
		x.pendingAgent = nil
		x.applied.PromotionPending = false
		x.cur = l.answered(ctx, u)
		x.seatOutcome(askedFullTime(s.Agent), u)
	case mapping.StepReactivateRequester:
		// "Already active" (400 contact_already_active, §19) is the state
		// the step asks for: reactivated by hand in Freshservice, or by
		// an earlier attempt whose answer was lost. Nothing to read again.
		u, err := w.ReactivateRequester(ctx, id)
		if err != nil && !errors.Is(err, freshservice.ErrAlreadyActive) {
			return err
		}
		x.applied.RequesterGroups, x.applied.RequesterGroupsUncertain = nil, nil // dropped at deactivation
		x.cur = recordStep(ctx, l, u, x.cur, func(c *freshservice.User) { c.Active = true })
	case mapping.StepReactivateAgent:
		u, err := w.ReactivateAgent(ctx, id)
		if err != nil && !errors.Is(err, freshservice.ErrAlreadyActive) {
			return err
		}
		wasFullTime := x.cur != nil && x.cur.IsAgent && !x.cur.Occasional
		x.cur = recordStep(ctx, l, u, x.cur, func(c *freshservice.User) { c.Active = true })
		x.seatOutcome(wasFullTime, u)
	case mapping.StepDeactivateRequester:
		err := w.DeactivateRequester(ctx, id)
		if err != nil && !alreadyInactive(err, x.cur) {
			return err
		}
		x.deactivated(err)
		x.applied.RequesterGroups, x.applied.RequesterGroupsUncertain = nil, nil // Freshservice drops them (§3.6)
		x.cur = recordStep(ctx, l, nil, x.cur, func(c *freshservice.User) { c.Active = false })
	case mapping.StepDeactivateAgent:
		u, err := w.DeactivateAgent(ctx, id)
		if err != nil && !alreadyInactive(err, x.cur) {
			return err
		}
		x.deactivated(err)
		x.cur = recordStep(ctx, l, u, x.cur, func(c *freshservice.User) { c.Active = false })
	case mapping.StepForgetRequester, mapping.StepForgetAgent:
		var err error
		if s.Kind == mapping.StepForgetAgent {
			err = w.ForgetAgent(ctx, id)
		} else {
			err = w.ForgetRequester(ctx, id)
		}
		if err != nil && !errors.Is(err, freshservice.ErrNotFound) {
			return err
		}
		l.erased(ctx, id)
		x.cur = nil
	case mapping.StepConvertToAgent:
		// Recorded before the call: if the answer is lost or the bridge
		// dies right after, the user is still known as promoted by the
		// bridge (so it may demote them) and the promotion is finished.
		x.applied.Promoted, x.applied.PromotionPending = true, true
		l.saveApplied(ctx, id, *x.applied)
		u, err := w.ConvertToAgent(ctx, id)
		if err != nil {
			return err
		}
		x.applied.Promoted = true
		x.applied.PromotionPending = true
		x.applied.RequesterGroupsUncertain = dedupe(append(x.applied.RequesterGroupsUncertain, x.applied.RequesterGroups...))
		x.applied.RequesterGroups = nil
		merged := mergeUser(x.cur, u)
		x.pendingAgent = merged
		x.cur = merged
		l.saveApplied(ctx, id, *x.applied)
	case mapping.StepConvertToRequester:
		u, err := w.ConvertToRequester(ctx, id)
		if err != nil {
			return err
		}
		x.applied.Promoted = false
		x.applied.PromotionPending = false
		x.applied.Rules = nil
		x.applied.Downgraded = nil
		x.applied.RequesterGroupsUncertain = dedupe(append(x.applied.RequesterGroupsUncertain, x.applied.RequesterGroups...))
		x.applied.RequesterGroups = nil
		x.cur = recordStep(ctx, l, u, x.cur, func(c *freshservice.User) {
			c.IsAgent, c.Occasional, c.Roles, c.MemberOf, c.ObserverOf = false, false, nil, nil, nil
		})
		l.saveApplied(ctx, id, *x.applied)
	case mapping.StepAddRequesterGroup:
		if err := w.AddRequesterGroupMember(ctx, s.GroupID, id); err != nil {
			x.unsure(s.GroupID, err)
			return err
		}
		x.applied.RequesterGroups = dedupe(append(x.applied.RequesterGroups, s.GroupID))
		x.applied.RequesterGroupsUncertain = without(x.applied.RequesterGroupsUncertain, s.GroupID)
	case mapping.StepRemoveRequesterGroup:
		if err := w.RemoveRequesterGroupMember(ctx, s.GroupID, id); err != nil && !errors.Is(err, freshservice.ErrNotFound) {
			x.unsure(s.GroupID, err)
			return err
		}
		x.applied.RequesterGroups = without(x.applied.RequesterGroups, s.GroupID)
		x.applied.RequesterGroupsUncertain = without(x.applied.RequesterGroupsUncertain, s.GroupID)
	case mapping.StepJoinAgentGroup, mapping.StepLeaveAgentGroup:
		join := s.Kind == mapping.StepJoinAgentGroup
		change := w.LeaveAgentGroup
		if join {
			change = w.JoinAgentGroup
		}
		if err := change(ctx, s.GroupID, id, s.Observer); err != nil {
			return err
		}
		x.cur = recordStep(ctx, l, nil, x.cur, func(c *freshservice.User) {
			list := &c.MemberOf
			if s.Observer {
				list = &c.ObserverOf
			}
			*list = slices.DeleteFunc(slices.Clone(*list), func(g int64) bool { return g == s.GroupID })
			if join {
				*list = append(*list, s.GroupID)
			}
		})
	default:
		return fmt.Errorf("unknown step %s", s.Kind)
	}
	return nil
}

// unsure records a requester-group change whose outcome is unknown (the
// answer was lost), so later plans neither miss nor repeat it wrongly.
func (x *execution) unsure(group int64, err error) {
	switch fault.KindOf(err) {
	case fault.Transient, fault.Canceled:
		x.applied.RequesterGroups = without(x.applied.RequesterGroups, group)
		x.applied.RequesterGroupsUncertain = dedupe(append(x.applied.RequesterGroupsUncertain, group))
	}
}

func without(ids []int64, id int64) []int64 {
	return slices.DeleteFunc(slices.Clone(ids), func(g int64) bool { return g == id })
}

// alreadyDone handles a refused lifecycle step whose effect may already
// be there: a convert, deactivation or reactivation made by an earlier
// attempt whose answer was lost (or by a crash before it was recorded), so
// the mirror still shows the state before it. Freshservice is read again;
// if the step's effect holds, the step counts as done and the plan goes on
// from the fresh state; otherwise the fresh state is kept for the next
// plan and the error stands.
func (x *execution) alreadyDone(ctx context.Context, s mapping.Step, err error) bool {
	// Only Freshservice's refusal (a 4xx other than 429) can mean "already
	// so"; a passing failure says nothing of the state.
	switch fault.KindOf(err) {
	case fault.Invalid, fault.Conflict, fault.NotFound, fault.NoSeat, fault.Forbidden, fault.Unavailable:
	default:
		return false
	}
	switch s.Kind {
	case mapping.StepConvertToAgent, mapping.StepConvertToRequester,
		mapping.StepDeactivateRequester, mapping.StepDeactivateAgent,
		mapping.StepReactivateRequester, mapping.StepReactivateAgent:
	default:
		return false
	}
	u := x.l.reread(ctx, s.UserID)
	if u == nil {
		return false
	}
	x.cur = u
	done := false
	switch s.Kind {
	case mapping.StepConvertToAgent:
		done = u.IsAgent
		if done {
			x.applied.Promoted, x.applied.PromotionPending = true, true
			x.applied.RequesterGroupsUncertain = dedupe(append(x.applied.RequesterGroupsUncertain, x.applied.RequesterGroups...))
			x.applied.RequesterGroups = nil
			x.l.saveApplied(ctx, s.UserID, *x.applied)
		}
	case mapping.StepConvertToRequester:
		done = !u.IsAgent
		if done {
			x.applied.Promoted, x.applied.PromotionPending, x.applied.Rules = false, false, nil
			x.applied.RequesterGroupsUncertain = dedupe(append(x.applied.RequesterGroupsUncertain, x.applied.RequesterGroups...))
			x.applied.RequesterGroups = nil
			x.l.saveApplied(ctx, s.UserID, *x.applied)
		}
	case mapping.StepDeactivateRequester, mapping.StepDeactivateAgent:
		done = !u.Active
	case mapping.StepReactivateRequester, mapping.StepReactivateAgent:
		done = u.Active
	}
	if done {
		x.l.logger(ctx).Info().Int64("fs_id", s.UserID).Str("step", string(s.Kind)).Msg("step already done in Freshservice; continuing")
	}
	return done
}

// deactivated records how a deactivation ended: answered (confirmed), or
// taken as done from a 404 (err), which the next walk confirms.
func (x *execution) deactivated(err error) {
	x.applied.DeactivationUnconfirmed = time.Time{}
	if err != nil {
		x.applied.DeactivationUnconfirmed = time.Now()
	}
}

// alreadyInactive tolerates the 404 Freshservice answers to the
// deactivation of a user it has already deactivated (§19): deactivated by
// hand, or by an earlier attempt whose answer was lost. A 404 also means
// an id Freshservice no longer has at all; the two cannot be told apart
// without another call, so the user the bridge knows (cur) is recorded as
// inactive and the deactivation as unconfirmed (deactivated). The next walk
// shows which: an erased user leaves the mirror (read by id once its pages
// miss it twice), and one an admin moved to the other view in the meantime
// (DELETE /requesters/{id} of an agent is a 404 too) shows active, and its
// plan runs again through the right view (confirmDeactivations).
func alreadyInactive(err error, cur *freshservice.User) bool {
	return errors.Is(err, freshservice.ErrNotFound) && cur != nil
}

// writeStep records in the directory and the store what a step that ran
// outside a plan did (recordStep).
func (b *Bridge) writeStep(ctx context.Context, u, cur *freshservice.User, edit func(*freshservice.User)) *freshservice.User {
	return recordStep(ctx, bridgeLedger{b}, u, cur, edit)
}

// recordStep records in l what a step did: the user Freshservice sent
// back, merged with what was known; or, when the answer carries no user (a
// 204, a membership changed on the group's side), a copy of cur changed by
// edit, recorded as it is. That copy is what the mirror held plus the
// change, so it must not be merged again: for an agent the mirror last
// read through the requester view, the merge keeps the agent fields it
// held before (that view has none) and would drop the change.
func recordStep(ctx context.Context, l ledger, u, cur *freshservice.User, edit func(*freshservice.User)) *freshservice.User {
	if u != nil {
		return l.answered(ctx, mergeUser(cur, u))
	}
	if cur == nil {
		return nil
	}
	c := *cur
	edit(&c)
	return l.changed(ctx, &c)
}

// mergeUser combines a newly read view with what was known, as the
// directory does (one rule for both).
func mergeUser(old, in *freshservice.User) *freshservice.User {
	if in == nil {
		return old
	}
	return directory.Merge(old, in)
}

// writeThrough records a user Freshservice returned in the directory and
// the store's mirror snapshot, and returns the merged user.
func (b *Bridge) writeThrough(ctx context.Context, u *freshservice.User) *freshservice.User {
	if u == nil {
		return nil
	}
	b.dir.PutUser(u)
	return b.saveMirror(ctx, u.ID, u)
}

// saveMirror saves the directory's user id in the store's mirror snapshot
// and returns it (or fallback, if the directory has none).
func (b *Bridge) saveMirror(ctx context.Context, id int64, fallback *freshservice.User) *freshservice.User {
	e, _ := b.dir.Get(id)
	merged := e.User
	if merged == nil {
		merged = fallback
	}
	if err := b.store.PutMirror(ctx, []store.MirrorEntry{{ID: merged.ID, Data: encode(merged)}}); err != nil {
		b.logger(ctx).Warn().Err(err).Int64("fs_id", merged.ID).Msg("saving the mirror entry failed; the next walk rewrites it")
	}
	return merged
}

func (b *Bridge) saveApplied(ctx context.Context, id int64, a mapping.Applied) {
	_, err := b.store.UpdateUser(ctx, id, func(u *store.User) error {
		u.Applied = encode(a)
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		b.logger(ctx).Warn().Err(err).Int64("fs_id", id).Msg("saving applied state failed")
	}
}

// changeAgentGroup adds or removes users from an agent group's members (or
// observers) in one read-modify-write (fsWriter.changeAgentGroup). The
// caller holds the group's lock.
func (b *Bridge) changeAgentGroup(ctx context.Context, groupID int64, observer bool, change map[int64]bool) error {
	return b.writes().changeAgentGroup(ctx, groupID, observer, change)
}

// audit records one step in the audit trail, with its call, and with the
// failure's fields when f is not nil.
func (b *Bridge) audit(ctx context.Context, s mapping.Step, scimID, outcome, detail string, f *fault.Error) {
	m, p := s.Call()
	ev := store.AuditEvent{
		Time:      time.Now(),
		RequestID: reqctx.RequestID(ctx),
		Client:    reqctx.Client(ctx),
		Operation: operationOf(s.Kind),
		SCIMID:    scimID,
		FSID:      s.UserID,
		Outcome:   outcome,
		Detail:    detail,
		Call:      m + " " + p,
	}
	if s.Kind == mapping.StepAddRequesterGroup || s.Kind == mapping.StepRemoveRequesterGroup ||
		s.Kind == mapping.StepJoinAgentGroup || s.Kind == mapping.StepLeaveAgentGroup {
		ev.Detail = fmt.Sprintf("user %d: %s", s.UserID, detail)
	}
	auditFields(&ev, f)
	b.appendAudit(ctx, ev)
}

// auditEvent records an event that is not a plan step's, with no failure
// fields: a success, or a failure known only by its words. A failure
// with an error value goes through auditFailure, so its fields are kept.
func (b *Bridge) auditEvent(ctx context.Context, op, scimID string, fsid int64, outcome, detail string) {
	b.appendAudit(ctx, store.AuditEvent{
		Time: time.Now(), RequestID: reqctx.RequestID(ctx), Client: reqctx.Client(ctx),
		Operation: op, SCIMID: scimID, FSID: fsid, Outcome: outcome, Detail: detail,
	})
}

// auditFailure records a failure with its fields taken from err: the
// kind, and the call, status, field and code when Freshservice answered.
// call names the Freshservice call when err does not ("" if none).
func (b *Bridge) auditFailure(ctx context.Context, op, scimID string, fsid int64, call, detail string, err error) {
	ev := store.AuditEvent{
		Time: time.Now(), RequestID: reqctx.RequestID(ctx), Client: reqctx.Client(ctx),
		Operation: op, SCIMID: scimID, FSID: fsid, Outcome: "error", Detail: detail, Call: call,
	}
	auditFields(&ev, asFault(err))
	b.appendAudit(ctx, ev)
}

func (b *Bridge) appendAudit(ctx context.Context, ev store.AuditEvent) {
	if _, err := b.store.AppendAudit(ctx, ev); err != nil {
		b.logger(ctx).Warn().Err(err).Msg("writing the audit trail failed")
	}
}

// auditRefusal records a request refused before any Freshservice write (a
// value Freshservice has no equivalent for, the seat cap, a protected
// user), so the trail answers "why was this person not provisioned" too.
// Passing failures (429, 5xx) are not refusals and are not recorded here.
// The refusal's fields come from the *fault.Error it carries, if any.
func (b *Bridge) auditRefusal(ctx context.Context, op, scimID string, fsid int64, who string, serr *scim.Error) {
	if serr == nil {
		return
	}
	kind := kindOf(serr)
	switch kind {
	case fault.Invalid, fault.Conflict, fault.NotFound, fault.NoSeat, fault.Protected, fault.RequiresFeature:
	default:
		return
	}
	ev := store.AuditEvent{
		Time: time.Now(), RequestID: reqctx.RequestID(ctx), Client: reqctx.Client(ctx),
		Operation: op, SCIMID: scimID, FSID: fsid, Outcome: "error",
		Detail: fmt.Sprintf("refused %s, nothing changed: %s", who, serr.Detail),
		Kind:   string(kind),
	}
	var f *fault.Error
	if errors.As(serr, &f) {
		auditFields(&ev, f)
	}
	b.appendAudit(ctx, ev)
}

func operationOf(k mapping.StepKind) string {
	switch k {
	case mapping.StepCreateRequester:
		return "user.create"
	case mapping.StepCreateAgent:
		return "user.create_agent"
	case mapping.StepUpdateRequester, mapping.StepUpdateAgent:
		return "user.update"
	case mapping.StepReactivateRequester, mapping.StepReactivateAgent:
		return "user.reactivate"
	case mapping.StepDeactivateRequester, mapping.StepDeactivateAgent:
		return "user.deactivate"
	case mapping.StepForgetRequester, mapping.StepForgetAgent:
		return "user.forget"
	case mapping.StepConvertToAgent:
		return "user.promote"
	case mapping.StepConvertToRequester:
		return "user.demote"
	case mapping.StepAddRequesterGroup:
		return "group.add_member"
	case mapping.StepRemoveRequesterGroup:
		return "group.remove_member"
	case mapping.StepJoinAgentGroup:
		return "agent_group.add_member"
	case mapping.StepLeaveAgentGroup:
		return "agent_group.remove_member"
	}
	return string(k)
}
