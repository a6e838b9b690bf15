package mapping

import "testing"

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
