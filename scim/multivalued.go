package scim

import (
	"github.com/elimity-com/scim/schema"
)

// RFC 7643 §2.4 asks two things of a multi-valued attribute: "The primary attribute value "true"
// MUST appear no more than once", and a service provider should not hold one value twice. IdPs do
// send both: the Microsoft validator posts two emails with "primary":"true", Okta's AIW apps PUT
// back lists they merged, and a JumpCloud retry repeats an element. The bridge normalises rather
// than refuses, the same way on POST, PUT and PATCH, because refusing would block a person over
// what is, in every case seen, a harmless repetition:
//
//   - Two elements are the same value when they denote one another as a PATCH add does
//     (sameElement): equal values (case-insensitively unless the sub-attribute is caseExact) whose
//     types do not differ (an element without a type matches any type), or, for attributes without
//     a value sub-attribute (addresses), equal as JSON. The later one is merged into the first: the
//     first keeps its sub-attributes, gains those only the later one has, and is primary if either
//     was.
//   - Within one list the IdP sent (a POST or PUT body, or the value of one PATCH operation), the
//     first primary element stays primary and the others get "primary": false. An element that a
//     PATCH adds as primary, or sets primary, clears primary on the elements already there (RFC 7644
//     §3.5.2: the server "SHALL ... automatically set "primary" to "false" for any other values").
//   - "primary" given as a string ("True", "false"; Entra and the Microsoft validator) is read as the
//     boolean it spells.

// normalizeMultiValued applies the rules above to every complex multi-valued attribute of the
// canonical document doc, extension containers included, in place.
func (rs ResourceSchema) normalizeMultiValued(doc map[string]any) {
	normalizeAll := func(c map[string]any, attrs schema.Attributes) {
		for _, a := range attrs {
			if !a.MultiValued() || a.AttributeType() != "complex" {
				continue
			}
			v, ok := c[a.Name()]
			if !ok {
				continue
			}
			l, ok := jsonArray(v)
			if !ok {
				continue
			}
			setList(c, a.Name(), normalizeElements(a, l))
		}
	}
	normalizeAll(doc, rs.Core.Attributes)
	for _, e := range rs.Extensions {
		if m, ok := doc[e.ID].(map[string]any); ok {
			normalizeAll(m, e.Attributes)
		}
	}
}

// normalizeElements returns the elements of multi-valued attribute a with repeated values merged
// into their first occurrence and at most one primary, the first. It runs in time linear in the
// list (the elements are indexed as mvList indexes them), and copies the elements it changes.
func normalizeElements(a schema.CoreAttribute, list []any) []any {
	out := make([]any, 0, len(list))
	byKey := make(map[string][]int, len(list))
	primary := false
	for _, e := range list {
		if isJSONNull(e) {
			continue
		}
		m, isMap := e.(map[string]any)
		if isMap {
			if p, ok := m["primary"]; ok {
				if b, ok := boolValue(p); ok && b != p {
					m = cloneMap(m)
					m["primary"] = b
					e = m
				}
			}
		}
		k := identityKey(a, e)
		merged := false
		if k != "" {
			for _, i := range byKey[k] {
				if sameElement(a, out[i], e) {
					out[i] = mergeRepeated(out[i], e)
					merged = true
					break
				}
			}
		}
		if !merged {
			if k != "" {
				byKey[k] = append(byKey[k], len(out))
			}
			out = append(out, e)
		}
	}
	for i, e := range out {
		if !isPrimary(e) {
			continue
		}
		if primary {
			m := cloneMap(e.(map[string]any))
			m["primary"] = false
			out[i] = m
		}
		primary = true
	}
	return out
}

// mergeRepeated merges a repeated element into the first one: the first keeps what it has, gains
// what only the repetition has, and is primary if either is.
func mergeRepeated(first, later any) any {
	fm, ok1 := first.(map[string]any)
	lm, ok2 := later.(map[string]any)
	if !ok1 || !ok2 {
		return first
	}
	out := cloneMap(fm)
	for k, v := range lm {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	if isPrimary(fm) || isPrimary(lm) {
		out["primary"] = true
	}
	return out
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
