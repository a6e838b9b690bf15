package mapping

import (
	"testing"
	"time"
)

// TestHoldDowngrade is when a user Freshservice made occasional for want
// of a seat is asked for full-time again.
func TestHoldDowngrade(t *testing.T) {
	d := &Downgrade{Rules: []string{"Admins", "Service Desk"}, FullTime: 5}
	for _, c := range []struct {
		name      string
		d         *Downgrade
		rules     []string
		fullTime  int
		hold, ask bool // ask: SeatMayHaveFreed
	}{
		{"NeverDowngraded", nil, []string{"Service Desk"}, 5, false, false},
		{"NoSeatFreed", d, []string{"Admins", "Service Desk"}, 5, true, false},
		{"RulesInAnotherOrder", d, []string{"Service Desk", "Admins"}, 5, true, false},
		{"MoreFullTimeAgentsNow", d, []string{"Admins", "Service Desk"}, 6, true, false},
		{"ASeatFreed", d, []string{"Admins", "Service Desk"}, 4, false, true},
		{"RulesChanged", d, []string{"Service Desk"}, 5, false, false},
		{"RuleAdded", d, []string{"Admins", "Network", "Service Desk"}, 5, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := HoldDowngrade(c.d, c.rules, c.fullTime); got != c.hold {
				t.Errorf("HoldDowngrade = %v, want %v", got, c.hold)
			}
			if got := SeatMayHaveFreed(c.d, c.fullTime); got != c.ask {
				t.Errorf("SeatMayHaveFreed = %v, want %v", got, c.ask)
			}
		})
	}
}

// TestSeatsTaken covers docs/rules.md's "A seat granted by one replica is
// recorded in the store and counted by the others until their next walks
// show the agent".
func TestSeatsTaken(t *testing.T) {
	now := time.Now()
	fullTime := map[int64]bool{1: true, 2: true}
	is := func(id int64) bool { return fullTime[id] }
	cases := []struct {
		name   string
		grants map[int64]time.Time
		want   int
	}{
		{"the directory's full-time agents", nil, 2},
		{"a grant the directory already shows counts once", map[int64]time.Time{2: now}, 2},
		{"a grant another replica made, not walked yet, counts", map[int64]time.Time{7: now}, 3},
		{"both", map[int64]time.Time{1: now, 7: now, 8: now}, 4},
	}
	for _, c := range cases {
		if got := SeatsTaken(len(fullTime), c.grants, is); got != c.want {
			t.Errorf("%s: SeatsTaken = %d, want %d", c.name, got, c.want)
		}
	}
}
