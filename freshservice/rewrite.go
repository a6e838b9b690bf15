package freshservice

import (
	"strings"
	"unicode"
)

// Freshservice may rewrite some values on write, so that what it stores
// differs from what was sent (reference §19 leaves it open: a support
// article speaks of "validation and sanitization" of user data, yet real
// data holds both "+639159329204" and "800-555-9999"). A caller that compares
// what it wants with what Freshservice holds uses these, so that a rewritten
// value does not look like a change to send again.

// EquivalentPhone reports whether two phone numbers differ only in the
// spaces, dashes, dots and parentheses people write them with.
func EquivalentPhone(a, b string) bool { return phoneDigits(a) == phoneDigits(b) }

func phoneDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '-' || r == '.' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, s)
}

// EquivalentName reports whether two names differ only in leading, trailing
// or repeated white space.
func EquivalentName(a, b string) bool {
	return strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
}
