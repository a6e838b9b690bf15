package freshservice

import "testing"

func TestEquivalentValues(t *testing.T) {
	tests := []struct {
		name string
		eq   func(a, b string) bool
		a, b string
		want bool
	}{
		{"phone as sent and as stored", EquivalentPhone, "+1 (800) 555-0100", "+18005550100", true},
		{"phone with dots", EquivalentPhone, "800.555.9999", "800-555-9999", true},
		{"phone with another digit", EquivalentPhone, "+1 800 555 0100", "+18005550101", false},
		{"phone without its country code", EquivalentPhone, "+18005550100", "18005550100", false},
		{"empty phones", EquivalentPhone, "", " ", true},
		{"name with extra spaces", EquivalentName, "  Mary \t Ann ", "Mary Ann", true},
		{"name in another case", EquivalentName, "mary ann", "Mary Ann", false},
		{"name with a space removed", EquivalentName, "MaryAnn", "Mary Ann", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.eq(tc.a, tc.b); got != tc.want {
				t.Errorf("(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got := tc.eq(tc.b, tc.a); got != tc.want {
				t.Errorf("not symmetric for (%q, %q)", tc.b, tc.a)
			}
		})
	}
}
