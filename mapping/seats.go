package mapping

import (
	"slices"
	"time"
)

// In a workspace account Freshservice does not refuse an agent it has no
// full-time seat for: it gives an occasional licence and answers as a
// success, with occasional:true (reference §4.3, §19). Asking again on
// every reconcile would make a call each time and change nothing, so the
// bridge records the downgrade on the user (Applied.Downgraded) and keeps
// the user occasional until a full-time seat may have freed or the user's
// role rules change.

// Downgrade records that Freshservice made a user occasional when the
// rules asked for full-time.
type Downgrade struct {
	// Rules are the role rules the user had when it happened, sorted.
	Rules []string `json:"rules,omitempty"`
	// FullTime is the number of active full-time agents the bridge saw
	// right after: the account had no seat beyond them.
	FullTime int `json:"full_time"`
	// At is when it happened.
	At time.Time `json:"at"`
}

// HoldDowngrade reports whether a user Freshservice made occasional for
// want of a seat stays occasional now: while the account has at least as
// many full-time agents as when it happened (no seat has freed) and the
// user's role rules are the ones it had. When a seat may have freed, or the
// rules changed, the bridge asks for full-time once more; if Freshservice
// downgrades again, a new Downgrade is recorded with the count of then.
func HoldDowngrade(d *Downgrade, rules []string, fullTimeNow int) bool {
	if d == nil {
		return false
	}
	return fullTimeNow >= d.FullTime && sameNames(d.Rules, rules)
}

// SeatMayHaveFreed reports whether the account has fewer full-time agents
// than when the user was downgraded: the background pass then plans the
// user again.
func SeatMayHaveFreed(d *Downgrade, fullTimeNow int) bool {
	return d != nil && fullTimeNow < d.FullTime
}

func sameNames(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// SeatsTaken is the number of full-time seats taken (rules.max_agents
// counts against it): the full-time agents the directory shows, plus the
// seats granted lately (by this replica or another, recorded in the store)
// to users the directory does not show as full-time agents yet.
func SeatsTaken(fullTime int, grants map[int64]time.Time, isFullTime func(id int64) bool) int {
	used := fullTime
	for id := range grants {
		if !isFullTime(id) {
			used++
		}
	}
	return used
}
