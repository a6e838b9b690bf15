package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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

// errDryRun ends a plan in dry-run mode after it was logged.
var errDryRun = errors.New("dry run: plan logged, not sent")

// stepError is a failed step: which one, and why (a *fault.Error that
// names the step's call, when execute made it).
type stepError struct {
	step mapping.Step
	err  error
}

func (e *stepError) Error() string { return fmt.Sprintf("%s: %v", e.step.Kind, e.err) }
func (e *stepError) Unwrap() error { return e.err }

// execution carries the state of one plan run.
type execution struct {
	b       *Bridge
	scimID  string
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

// execute runs the plan step by step, writing every result through to the
// directory and the store. It holds the locks of every agent group the
// plan touches. On error it returns a *stepError; what ran before it stays
// done and is recorded, so planning again continues where it stopped.
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
	x := &execution{b: b, scimID: scimID, cur: cur, applied: applied}
	if cur != nil {
		c := *cur
		x.cur = &c
	}
	defer func() {
		if x.pendingAgent != nil {
			// The plan stopped between convert and the PUT after it: record
			// what Freshservice now holds, so the next plan finishes it.
			b.writeThrough(ctx, x.pendingAgent)
		}
	}()
	for _, step := range plan {
		if x.cur != nil && step.UserID == 0 {
			step.UserID = x.cur.ID
		}
		if b.opts.DryRun {
			b.audit(ctx, step, scimID, "planned", step.String(), nil)
			b.logger(ctx).Info().Str("plan", step.String()).Msg("dry run: not sent")
			continue
		}
		err := x.run(ctx, step)
		if err != nil && x.alreadyDone(ctx, step, err) {
			err = nil
		}
		if err != nil {
			f := stepFault(step, err)
			b.audit(ctx, step, scimID, "error", describeFailure(step, err), f)
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
			b.auditDowngrade(ctx, step, scimID, x.applied.Downgraded)
			continue
		}
		b.audit(ctx, step, scimID, "ok", step.String(), nil)
	}
	if b.opts.DryRun {
		return x.cur, errDryRun
	}
	return x.cur, nil
}

func (x *execution) run(ctx context.Context, s mapping.Step) error {
	b := x.b
	fs := b.fs
	id := s.UserID
	switch s.Kind {
	case mapping.StepCreateRequester:
		u, _, err := fs.Requesters.Create(ctx, s.Requester)
		if err != nil {
			return err
		}
		x.cur, x.created = u, u
		b.writeThrough(ctx, u)
	case mapping.StepCreateAgent:
		u, _, err := fs.Agents.Create(ctx, s.Agent)
		if f, retry := b.withoutAgentExternalID(s.Agent, err); retry {
			u, _, err = fs.Agents.Create(ctx, f)
		}
		if err != nil {
			return err
		}
		x.cur, x.created = u, u
		x.applied.Promoted = true
		b.writeThrough(ctx, u)
		x.seatOutcome(askedFullTime(s.Agent), u)
	case mapping.StepUpdateRequester:
		u, _, err := fs.Requesters.Update(ctx, id, s.Requester)
		if err != nil {
			return err
		}
		x.cur = b.writeThrough(ctx, u)
	case mapping.StepUpdateAgent:
		u, _, err := fs.Agents.Update(ctx, id, s.Agent)
		if f, retry := b.withoutAgentExternalID(s.Agent, err); retry {
			u, _, err = fs.Agents.Update(ctx, id, f)
		}
		if err != nil {
			return err
		}
		x.pendingAgent = nil
		x.applied.PromotionPending = false
		x.cur = b.writeThrough(ctx, u)
		x.seatOutcome(askedFullTime(s.Agent), u)
	case mapping.StepReactivateRequester:
		// "Already active" (400 contact_already_active, §19) is the state
		// the step asks for: reactivated by hand in Freshservice, or by
		// an earlier attempt whose answer was lost. Nothing to read again.
		u, _, err := fs.Requesters.Reactivate(ctx, id)
		if err != nil && !errors.Is(err, freshservice.ErrAlreadyActive) {
			return err
		}
		x.applied.RequesterGroups, x.applied.RequesterGroupsUncertain = nil, nil // dropped at deactivation
		x.cur = b.writeStep(ctx, u, x.cur, func(c *freshservice.User) { c.Active = true })
	case mapping.StepReactivateAgent:
		u, _, err := fs.Agents.Reactivate(ctx, id)
		if err != nil && !errors.Is(err, freshservice.ErrAlreadyActive) {
			return err
		}
		wasFullTime := x.cur != nil && x.cur.IsAgent && !x.cur.Occasional
		x.cur = b.writeStep(ctx, u, x.cur, func(c *freshservice.User) { c.Active = true })
		x.seatOutcome(wasFullTime, u)
	case mapping.StepDeactivateRequester:
		_, err := fs.Requesters.Deactivate(ctx, id)
		if err != nil && !alreadyInactive(err, x.cur) {
			return err
		}
		x.deactivated(err)
		x.applied.RequesterGroups, x.applied.RequesterGroupsUncertain = nil, nil // Freshservice drops them (§3.6)
		x.cur = b.writeStep(ctx, nil, x.cur, func(c *freshservice.User) { c.Active = false })
	case mapping.StepDeactivateAgent:
		u, _, err := fs.Agents.Deactivate(ctx, id)
		if err != nil && !alreadyInactive(err, x.cur) {
			return err
		}
		x.deactivated(err)
		x.cur = b.writeStep(ctx, u, x.cur, func(c *freshservice.User) { c.Active = false })
	case mapping.StepForgetRequester, mapping.StepForgetAgent:
		var err error
		if s.Kind == mapping.StepForgetAgent {
			_, err = fs.Agents.Forget(ctx, id)
		} else {
			_, err = fs.Requesters.Forget(ctx, id)
		}
		if err != nil && !errors.Is(err, freshservice.ErrNotFound) {
			return err
		}
		b.dir.RemoveUser(id)
		_ = b.store.DeleteMirror(ctx, []int64{id})
		x.cur = nil
	case mapping.StepConvertToAgent:
		// Recorded before the call: if the answer is lost or the bridge
		// dies right after, the user is still known as promoted by the
		// bridge (so it may demote them) and the promotion is finished.
		x.applied.Promoted, x.applied.PromotionPending = true, true
		b.saveApplied(ctx, id, *x.applied)
		u, _, err := fs.Requesters.ConvertToAgent(ctx, id)
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
		b.saveApplied(ctx, id, *x.applied)
	case mapping.StepConvertToRequester:
		u, _, err := fs.Agents.ConvertToRequester(ctx, id)
		if err != nil {
			return err
		}
		x.applied.Promoted = false
		x.applied.PromotionPending = false
		x.applied.Rules = nil
		x.applied.Downgraded = nil
		x.applied.RequesterGroupsUncertain = dedupe(append(x.applied.RequesterGroupsUncertain, x.applied.RequesterGroups...))
		x.applied.RequesterGroups = nil
		x.cur = b.writeStep(ctx, u, x.cur, func(c *freshservice.User) {
			c.IsAgent, c.Occasional, c.Roles, c.MemberOf, c.ObserverOf = false, false, nil, nil, nil
		})
		b.saveApplied(ctx, id, *x.applied)
	case mapping.StepAddRequesterGroup:
		if _, err := fs.RequesterGroups.AddMember(ctx, s.GroupID, id); err != nil {
			x.unsure(s.GroupID, err)
			return err
		}
		x.applied.RequesterGroups = dedupe(append(x.applied.RequesterGroups, s.GroupID))
		x.applied.RequesterGroupsUncertain = without(x.applied.RequesterGroupsUncertain, s.GroupID)
	case mapping.StepRemoveRequesterGroup:
		if _, err := fs.RequesterGroups.RemoveMember(ctx, s.GroupID, id); err != nil && !errors.Is(err, freshservice.ErrNotFound) {
			x.unsure(s.GroupID, err)
			return err
		}
		x.applied.RequesterGroups = without(x.applied.RequesterGroups, s.GroupID)
		x.applied.RequesterGroupsUncertain = without(x.applied.RequesterGroupsUncertain, s.GroupID)
	case mapping.StepJoinAgentGroup, mapping.StepLeaveAgentGroup:
		join := s.Kind == mapping.StepJoinAgentGroup
		if err := b.changeAgentGroup(ctx, s.GroupID, s.Observer, map[int64]bool{id: join}); err != nil {
			return err
		}
		x.cur = b.writeStep(ctx, nil, x.cur, func(c *freshservice.User) {
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

// withoutAgentExternalID handles an account that refuses external_id on
// agents (400 invalid_field on external_id, §4.1): when err is that
// refusal of an agent body f that sent it, the bridge remembers it (agent
// bodies leave it out from now on) and returns the body without it, to be
// sent again. A person is not refused because their externalId cannot
// be stored on their agent record.
func (b *Bridge) withoutAgentExternalID(f *freshservice.AgentFields, err error) (*freshservice.AgentFields, bool) {
	if err == nil || f == nil || f.ExternalID == nil {
		return nil, false
	}
	var er *freshservice.ErrorResponse
	if !errors.As(err, &er) || er.Status != http.StatusBadRequest {
		return nil, false
	}
	if code, ok := er.FieldCode("external_id"); !ok || code != "invalid_field" {
		return nil, false
	}
	if !b.agentExtIDRefused.Swap(true) {
		b.log.Warn().Msg("Freshservice refuses external_id on agents; agent writes leave it out from now on (set mapping.agent_external_id_read_only to skip the first refusal)")
	}
	c := *f
	c.ExternalID = nil
	return &c, true
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
	b := x.b
	if rerr := b.refreshUser(ctx, s.UserID); rerr != nil {
		return false
	}
	e, _ := b.dir.Get(s.UserID)
	u := e.User
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
			b.saveApplied(ctx, s.UserID, *x.applied)
		}
	case mapping.StepConvertToRequester:
		done = !u.IsAgent
		if done {
			x.applied.Promoted, x.applied.PromotionPending, x.applied.Rules = false, false, nil
			x.applied.RequesterGroupsUncertain = dedupe(append(x.applied.RequesterGroupsUncertain, x.applied.RequesterGroups...))
			x.applied.RequesterGroups = nil
			b.saveApplied(ctx, s.UserID, *x.applied)
		}
	case mapping.StepDeactivateRequester, mapping.StepDeactivateAgent:
		done = !u.Active
	case mapping.StepReactivateRequester, mapping.StepReactivateAgent:
		done = u.Active
	}
	if done {
		b.logger(ctx).Info().Int64("fs_id", s.UserID).Str("step", string(s.Kind)).Msg("step already done in Freshservice; continuing")
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

// writeStep records in the mirror what a step did: the user Freshservice
// sent back, merged with what was known; or, when the answer carries no
// user (a 204, a membership changed on the group's side), a copy of cur
// changed by edit, recorded as it is. That copy is what the mirror held
// plus the change, so it must not be merged again: for an agent the mirror
// last read through the requester view, the merge keeps the agent fields
// it held before (that view has none) and would drop the change.
func (b *Bridge) writeStep(ctx context.Context, u, cur *freshservice.User, edit func(*freshservice.User)) *freshservice.User {
	if u != nil {
		return b.writeThrough(ctx, mergeUser(cur, u))
	}
	if cur == nil {
		return nil
	}
	c := *cur
	edit(&c)
	b.dir.ReplaceUser(&c)
	return b.saveMirror(ctx, c.ID, &c)
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
// observers) by read-modify-write of the whole list, the only way
// Freshservice offers (§5). The caller holds the group's lock.
func (b *Bridge) changeAgentGroup(ctx context.Context, groupID int64, observer bool, change map[int64]bool) error {
	g, _, err := b.fs.Groups.Get(ctx, groupID)
	if err != nil {
		return err
	}
	// In an approval-gated group the PUT must repeat the ids still pending
	// approval, or their requests are dropped (§19): a pending member is a
	// member for this read-modify-write.
	list := g.AllMembers()
	if observer {
		list = g.AllObservers()
	}
	in := map[int64]bool{}
	for _, id := range list {
		in[id] = true
	}
	changed := false
	for id, join := range change {
		if in[id] != join {
			in[id] = join
			changed = true
		}
	}
	if !changed {
		return nil
	}
	var out []int64
	for id, ok := range in {
		if ok {
			out = append(out, id)
		}
	}
	out = dedupe(out)
	f := &freshservice.GroupFields{Members: &out}
	if observer {
		f = &freshservice.GroupFields{Observers: &out}
	}
	_, _, err = b.fs.Groups.Update(ctx, groupID, f)
	return err
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
