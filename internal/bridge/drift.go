package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/reqctx"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/mapping"
)

// Drift is one user or group whose Freshservice state differs from what
// the IdP asked for: someone changed it in Freshservice by hand.
type Drift struct {
	Kind string `json:"kind"` // "user" or "requester_group"
	ID   string `json:"id"`   // SCIM id
	Name string `json:"name"` // userName or displayName
	// Differences say, field by field, what Freshservice holds and what
	// the IdP asked for.
	Differences []string `json:"differences"`
	// Plan is the calls that heal it, as text.
	Plan []string `json:"plan,omitempty"`
	// steps are the same calls as data, for Heal.
	steps mapping.Plan
}

// unconfirmedDeactivation is a user whose deactivation was taken as done
// from a 404 at since; replan says whether the walk found it still to do.
type unconfirmedDeactivation struct {
	id     int64
	since  time.Time
	replan bool
}

// confirmDeactivations settles the deactivations a walk has confirmed
// (confirmDeactivation). No call is made here.
func (bg *background) confirmDeactivations(ctx context.Context, users []unconfirmedDeactivation) {
	for _, u := range users {
		_, err := bg.store.UpdateUser(ctx, u.id, func(s *store.User) error { return confirmDeactivation(s, u) })
		if err != nil {
			if !errors.Is(err, errUnchanged) && !errors.Is(err, store.ErrNotFound) {
				bg.logger(ctx).Warn().Err(err).Int64("fs_id", u.id).Msg("confirming a deactivation failed; the next walk tries again")
			}
			continue
		}
		if u.replan {
			bg.logger(ctx).Warn().Int64("fs_id", u.id).Msg("a deactivation Freshservice answered 404 did not happen: the user is active in the other view; deactivating it again")
		}
	}
}

// confirmDeactivation settles u in its record s: the mark is cleared, and
// a user the walk shows still active (an admin moved it to the other view
// before the deactivation, which therefore found no such requester or
// agent) is left to the background pass, whose plan deactivates it
// through the view it is in now. A record whose mark is not u's (a plan
// ran since: its own outcome stands) is left as it is: errUnchanged.
func confirmDeactivation(s *store.User, u unconfirmedDeactivation) error {
	a := decodeApplied(s.Applied)
	if !a.DeactivationUnconfirmed.Equal(u.since) {
		return errUnchanged
	}
	a.DeactivationUnconfirmed = time.Time{}
	s.Applied = encode(a)
	if u.replan {
		s.Dirty, s.NextAttempt = true, time.Time{}
	}
	return nil
}

var errUnchanged = errors.New("unchanged")

// DriftCount is the number of drifted users found by the last check.
func (b *Bridge) DriftCount() int { return int(b.background.driftUsers.Load()) }

// FindDrift compares every managed user's desired state with the mirror
// (as fresh as the last walk; walk first for a current answer) and, with
// groups, every requester group's members with Freshservice's member list
// (one list call per group).
func (b *Bridge) FindDrift(ctx context.Context, groups bool) ([]Drift, error) {
	return b.background.findDrift(ctx, groups, time.Time{})
}

// Heal re-runs the plans of the drifted users and fixes the drifted
// requester groups' members.
func (b *Bridge) Heal(ctx context.Context, items []Drift) error {
	return b.background.heal(ctx, items)
}

// findDrift is FindDrift; after a walk that began at walked, it also
// confirms the deactivations taken as done from a 404 before that
// (confirmDeactivations) instead of reporting them as drift.
func (bg *background) findDrift(ctx context.Context, groups bool, walked time.Time) ([]Drift, error) {
	var out []Drift
	users := 0
	var unconfirmed []unconfirmedDeactivation
	err := bg.store.ForEachUser(ctx, func(rec store.User) error {
		if rec.Dirty {
			return nil // a plan is pending anyway; not drift
		}
		applied := decodeApplied(rec.Applied)
		e, ok := bg.dir.Get(rec.ID)
		inMirror := ok && e.User != nil
		var plan mapping.Plan
		if inMirror {
			t, err := bg.ops.target(ctx, rec.ID, decodeDoc(rec.Doc), rec.Deleted, applied, nil)
			if err != nil {
				return nil
			}
			// Requester groups are compared from Freshservice's member
			// lists, not from what the bridge remembers applying.
			t.RequesterGroups = applied.RequesterGroups
			plan = mapping.PlanUser(e.User, t.Target, applied)
		}
		v := judgeDrift(walked, applied.DeactivationUnconfirmed, inMirror, len(plan) > 0)
		if v.confirm {
			unconfirmed = append(unconfirmed, unconfirmedDeactivation{rec.ID, applied.DeactivationUnconfirmed, v.replan})
		}
		if !v.drifted {
			return nil
		}
		users++
		name := rec.UserName
		if rec.Deleted {
			name += " (deleted over SCIM)"
		}
		out = append(out, Drift{Kind: "user", ID: strconv.FormatInt(rec.ID, 10), Name: name,
			Differences: describeDrift(e.User, plan), Plan: planLines(plan)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	bg.confirmDeactivations(ctx, unconfirmed)
	bg.driftUsers.Store(int64(users))
	if !groups {
		return out, nil
	}
	var gs []store.Group
	if err := bg.store.ForEachGroup(ctx, func(g store.Group) error { gs = append(gs, g); return nil }); err != nil {
		return nil, err
	}
	for _, g := range gs {
		if decodeGroupApplied(g.Applied).Kind != KindRequesterGroup || g.FSID == 0 {
			continue
		}
		have := map[int64]bool{}
		for m, err := range bg.fs.RequesterGroups.AllMembers(ctx, g.FSID) {
			if err != nil {
				return nil, fmt.Errorf("reading members of requester group %d: %w", g.FSID, err)
			}
			have[m.ID] = true
		}
		var diffs []string
		var plan mapping.Plan
		want := map[int64]bool{}
		for _, id := range g.Members {
			want[id] = true
			e, _ := bg.dir.Get(id)
			if e.User == nil || !e.User.Active || e.User.IsAgent {
				continue // only active requesters are held in requester groups
			}
			if !have[id] {
				diffs = append(diffs, fmt.Sprintf("user %d (%s) is not a member in Freshservice", id, e.UserName()))
				plan = append(plan, mapping.Step{Kind: mapping.StepAddRequesterGroup, GroupID: g.FSID, UserID: id})
			}
		}
		var extra []int64
		for id := range have {
			if !want[id] {
				extra = append(extra, id)
			}
		}
		sort.Slice(extra, func(i, j int) bool { return extra[i] < extra[j] })
		for _, id := range extra {
			diffs = append(diffs, fmt.Sprintf("user %d is a member in Freshservice, but not in the IdP's group", id))
			plan = append(plan, mapping.Step{Kind: mapping.StepRemoveRequesterGroup, GroupID: g.FSID, UserID: id})
		}
		if len(diffs) > 0 {
			out = append(out, Drift{Kind: "requester_group", ID: g.ID, Name: g.DisplayName, Differences: diffs, Plan: planLines(plan), steps: plan})
		}
	}
	return out, nil
}

// driftVerdict is what the drift check makes of one managed user whose
// plan is not pending.
type driftVerdict struct {
	// confirm: a deactivation was taken as done from a 404 before the
	// walk; the walk settles it (confirmDeactivations), and replan says
	// it did not happen.
	confirm, replan bool
	// drifted: someone changed the user in Freshservice; it is reported.
	drifted bool
}

// judgeDrift decides for one managed user. walked is when the walk just
// finished began (zero for a check on demand, which confirms nothing),
// unconfirmed when a deactivation of the user was taken as done from a 404
// (zero: none), inMirror whether the mirror holds the user, and planned
// whether the plan from the mirror to the user's target has steps.
//
// A deactivation taken as done before the walk is confirmed by it: a user
// the walk did not find was erased, nothing is left to deactivate; one
// whose plan still has steps was not deactivated (the bridge's own change
// may not have happened, which is not drift), and is planned again.
func judgeDrift(walked, unconfirmed time.Time, inMirror, planned bool) driftVerdict {
	check := !walked.IsZero() && !unconfirmed.IsZero() && unconfirmed.Before(walked)
	switch {
	case !inMirror:
		return driftVerdict{confirm: check}
	case check:
		return driftVerdict{confirm: true, replan: planned}
	}
	return driftVerdict{drifted: planned}
}

// describeDrift explains a healing plan as differences.
func describeDrift(cur *freshservice.User, plan mapping.Plan) []string {
	var have map[string]any
	data, _ := json.Marshal(cur)
	_ = json.Unmarshal(data, &have)
	var out []string
	for _, s := range plan {
		switch s.Kind {
		case mapping.StepUpdateRequester, mapping.StepUpdateAgent:
			var want map[string]any
			if s.Requester != nil {
				data, _ = json.Marshal(s.Requester)
			} else {
				data, _ = json.Marshal(s.Agent)
			}
			_ = json.Unmarshal(data, &want)
			keys := make([]string, 0, len(want))
			for k := range want {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if k == "can_see_all_tickets_from_associated_departments" && fmt.Sprint(want[k]) == fmt.Sprint(have[k]) {
					continue
				}
				key := k
				if k == "primary_email" {
					key = "email"
				}
				out = append(out, fmt.Sprintf("%s: Freshservice has %s, the IdP asked for %s", k, show(have[key]), show(want[k])))
			}
		case mapping.StepDeactivateRequester, mapping.StepDeactivateAgent:
			out = append(out, "active: Freshservice has true, the IdP asked for false")
		case mapping.StepReactivateRequester, mapping.StepReactivateAgent:
			out = append(out, "active: Freshservice has false, the IdP asked for true")
		case mapping.StepConvertToAgent:
			out = append(out, "type: Freshservice has a requester, the rules ask for an agent")
		case mapping.StepConvertToRequester:
			out = append(out, "type: Freshservice has an agent, the rules ask for a requester")
		case mapping.StepJoinAgentGroup:
			out = append(out, fmt.Sprintf("agent group %d: not a member in Freshservice", s.GroupID))
		case mapping.StepLeaveAgentGroup:
			out = append(out, fmt.Sprintf("agent group %d: a member in Freshservice, but the rules do not put them there", s.GroupID))
		default:
			out = append(out, s.String())
		}
	}
	return out
}

func show(v any) string {
	if v == nil {
		return "nothing"
	}
	data, _ := json.Marshal(v)
	return string(data)
}

// heal is Bridge.Heal.
func (bg *background) heal(ctx context.Context, items []Drift) error {
	var first error
	for _, d := range items {
		var err error
		switch d.Kind {
		case "user":
			id, _ := strconv.ParseInt(d.ID, 10, 64)
			err = bg.ops.reconcileUser(ctx, id)
		case "requester_group":
			err = bg.healRequesterGroup(ctx, d)
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (bg *background) healRequesterGroup(ctx context.Context, d Drift) error {
	for _, st := range d.steps {
		gid, uid := st.GroupID, st.UserID
		switch st.Kind {
		case mapping.StepAddRequesterGroup:
			// The bridge's memory of applying it was wrong: forget it and
			// let the user's plan add it again.
			if _, err := bg.store.UpdateUser(ctx, uid, func(s *store.User) error {
				a := decodeApplied(s.Applied)
				var keep []int64
				for _, g := range a.RequesterGroups {
					if g != gid {
						keep = append(keep, g)
					}
				}
				a.RequesterGroups = keep
				s.Applied = encode(a)
				return nil
			}); err != nil {
				return err
			}
			if err := bg.ops.reconcileUser(ctx, uid); err != nil {
				return err
			}
		case mapping.StepRemoveRequesterGroup:
			// 404: not a member (any more), which is what healing wants (§19).
			if _, err := bg.fs.RequesterGroups.RemoveMember(ctx, gid, uid); err != nil && !errors.Is(err, freshservice.ErrNotFound) {
				return err
			}
			m, p := st.Call()
			bg.ops.appendAudit(ctx, store.AuditEvent{
				Time: time.Now(), RequestID: reqctx.RequestID(ctx), Client: reqctx.Client(ctx),
				Operation: "group.remove_member", SCIMID: d.ID, FSID: gid, Outcome: "ok",
				Detail: "drift healed: " + m + " " + p, Call: m + " " + p,
			})
		}
	}
	return nil
}
