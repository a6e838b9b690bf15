package bridge

import (
	"errors"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/mapping"
)

// TestJudgeDrift is what the drift check makes of one managed user: a
// change made in Freshservice is reported, except where a deactivation
// the bridge took as done from a 404 before the walk explains it, which
// the walk confirms instead (and plans again if it did not happen).
func TestJudgeDrift(t *testing.T) {
	walked := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	before, after := walked.Add(-time.Minute), walked.Add(time.Minute)
	var none time.Time
	for _, c := range []struct {
		name        string
		walked      time.Time
		unconfirmed time.Time
		inMirror    bool
		planned     bool
		want        driftVerdict
	}{
		{"InStep", walked, none, true, false, driftVerdict{}},
		{"ChangedInFreshservice", walked, none, true, true, driftVerdict{drifted: true}},
		{"NotInTheMirror", walked, none, false, false, driftVerdict{}},
		{"DeactivationConfirmed", walked, before, true, false, driftVerdict{confirm: true}},
		{"DeactivationDidNotHappen", walked, before, true, true, driftVerdict{confirm: true, replan: true}},
		{"ErasedSinceTheDeactivation", walked, before, false, false, driftVerdict{confirm: true}},
		{"DeactivationDuringTheWalkIsNotConfirmedYet", walked, after, true, true, driftVerdict{drifted: true}},
		{"DeactivationAtTheWalksStartIsNotConfirmedYet", walked, walked, true, false, driftVerdict{}},
		{"ACheckOnDemandConfirmsNothing", none, before, true, true, driftVerdict{drifted: true}},
		{"ACheckOnDemandOfAUserNotInTheMirror", none, before, false, false, driftVerdict{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := judgeDrift(c.walked, c.unconfirmed, c.inMirror, c.planned); got != c.want {
				t.Errorf("judgeDrift = %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestConfirmDeactivation is what confirming a deactivation does to the
// user's record: the mark goes, a deactivation that did not happen is
// planned again at once, and a record a plan has changed since is left
// alone.
func TestConfirmDeactivation(t *testing.T) {
	since := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	backoff := since.Add(time.Hour)
	record := func(mark time.Time, dirty bool, next time.Time) store.User {
		return store.User{ID: 7, Applied: encode(mapping.Applied{DeactivationUnconfirmed: mark, RequesterGroups: []int64{3}}), Dirty: dirty, NextAttempt: next}
	}
	for _, c := range []struct {
		name    string
		rec     store.User
		replan  bool
		wantErr error
		// wantDirty and wantNext are the record's after a confirmation.
		wantDirty bool
		wantNext  time.Time
	}{
		{"Done", record(since, false, time.Time{}), false, nil, false, time.Time{}},
		{"DidNotHappen", record(since, false, time.Time{}), true, nil, true, time.Time{}},
		{"DidNotHappenWhileAPlanWaits", record(since, true, backoff), true, nil, true, time.Time{}},
		{"DoneKeepsAWaitingPlansBackoff", record(since, true, backoff), false, nil, true, backoff},
		{"APlanRanSince", record(since.Add(time.Minute), false, time.Time{}), true, errUnchanged, false, time.Time{}},
		{"APlanConfirmedItSince", record(time.Time{}, false, time.Time{}), true, errUnchanged, false, time.Time{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.rec
			err := confirmDeactivation(&s, unconfirmedDeactivation{id: 7, since: since, replan: c.replan})
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if err != nil {
				return // the store keeps the record as it was
			}
			a := decodeApplied(s.Applied)
			if !a.DeactivationUnconfirmed.IsZero() {
				t.Errorf("the mark %v is still there", a.DeactivationUnconfirmed)
			}
			if len(a.RequesterGroups) != 1 || a.RequesterGroups[0] != 3 {
				t.Errorf("the rest of the applied state changed: requester groups %v", a.RequesterGroups)
			}
			if s.Dirty != c.wantDirty || !s.NextAttempt.Equal(c.wantNext) {
				t.Errorf("dirty %v, next attempt %v; want %v, %v", s.Dirty, s.NextAttempt, c.wantDirty, c.wantNext)
			}
		})
	}
}
