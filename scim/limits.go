package scim

import (
	"net/http"
)

// The edge's bounds on what one request may ask for. Each is far above what any IdP sends (the
// reference captures of Okta, Entra, OneLogin and JumpCloud traffic hold filters of one or two
// comparisons, value paths one bracket deep, and PATCH bodies of at most a few dozen operations),
// and each is checked by a linear scan before any parser, matcher or PATCH engine sees the input:
// filter-parser recurses once per nesting level of a filter or PATCH path, and a stack
// overflow is a fatal error that no recover catches, so an unbounded filter is a way to kill the
// process, not merely to slow it down. docs/scim-requests.md lists them for users.
const (
	// maxFilterLength bounds filters (query string and .search body alike) and PATCH paths, in
	// bytes: IdPs send short equality filters, and a long one is only a way to burn CPU.
	maxFilterLength = 4096
	// maxFilterDepth bounds the nesting of parentheses and brackets in a filter or PATCH path
	// (not( counts as a parenthesis). The deepest filter an IdP sends is
	// emails[type eq "work"].value eq "x", one level; 32 leaves room for any hand-written query.
	maxFilterDepth = 32
	// maxPatchOperations bounds the operations of one PATCH request. Entra sends one operation per
	// changed attribute, Okta and OneLogin fewer; a group membership change of thousands of users
	// still fits, because one operation carries any number of members.
	maxPatchOperations = 1000
)

// filterDepth returns the deepest nesting of parentheses and brackets in a filter or path, outside
// quoted strings, in one pass. Quoting follows the filter grammar's JSON strings, so a parenthesis
// inside a compare value is data and does not count.
func filterDepth(s string) int {
	depth, most := 0, 0
	for i := 0; i < len(s); {
		switch s[i] {
		case '"':
			i, _ = skipQuoted(s, i)
			continue
		case '(', '[':
			depth++
			if depth > most {
				most = depth
			}
		case ')', ']':
			if depth > 0 {
				depth--
			}
		}
		i++
	}
	return most
}

// checkFilterBounds refuses a filter that is too long or nests too deep, before it is parsed.
func checkFilterBounds(raw string) *Error {
	if len(raw) > maxFilterLength {
		return Errorf(http.StatusBadRequest, TypeInvalidFilter, "the filter is longer than %d characters", maxFilterLength)
	}
	if filterDepth(raw) > maxFilterDepth {
		return Errorf(http.StatusBadRequest, TypeInvalidFilter, "the filter nests parentheses or brackets deeper than %d levels", maxFilterDepth)
	}
	return nil
}

// checkPathBounds refuses a PATCH path (or a path-less value's key, which is a path too) that is
// too long or nests too deep, before parsePatchPath or ApplyPatch parses it.
func checkPathBounds(raw string) *Error {
	if len(raw) > maxFilterLength {
		return Errorf(http.StatusBadRequest, TypeInvalidPath, "a PATCH path is longer than %d characters", maxFilterLength)
	}
	if filterDepth(raw) > maxFilterDepth {
		return Errorf(http.StatusBadRequest, TypeInvalidPath, "a PATCH path nests parentheses or brackets deeper than %d levels", maxFilterDepth)
	}
	return nil
}
