package scim

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// Sorting (RFC 7644 §3.4.2.3): sortBy names an attribute whose values order the list, sortOrder is
// "ascending" (the default) or "descending". The bridge sorts on simple attributes, singular or
// inside a complex attribute (name.familyName), and on a multi-valued attribute by its primary
// value, else its first (emails or emails.value: the primary email). Strings compare as their
// attribute's caseExact says; numbers, booleans and dateTimes by value. Resources without a value
// come last in either order, and resources with equal values keep the backend's stable order, so
// paging through a sorted list is stable.

// sortOf resolves sortBy to the canonical path sorted on, refusing what cannot be sorted: 400
// invalidValue for an unknown attribute, a complex attribute without a value, or a sortOrder other
// than ascending and descending (in any case).
func sortOf(by, order string, rs ResourceSchema) (string, bool, *Error) {
	by = strings.TrimSpace(by)
	desc := false
	switch strings.ToLower(strings.TrimSpace(order)) {
	case "", "ascending":
	case "descending":
		desc = true
	default:
		return "", false, Errorf(http.StatusBadRequest, TypeInvalidValue, "sortOrder must be ascending or descending, got %q", truncate(order, 40))
	}
	if by == "" {
		return "", false, nil
	}
	ref, ok := rs.Lookup(by)
	if !ok {
		for _, m := range []string{"meta.created", "meta.lastModified"} {
			if strings.EqualFold(by, m) {
				return m, desc, nil
			}
		}
		return "", false, Errorf(http.StatusBadRequest, TypeInvalidValue, "sortBy names %q, which this resource does not have", truncate(by, 80))
	}
	if ref.Target().AttributeType() == "complex" {
		if _, ok := ref.Attr.SubAttributes().ContainsAttribute("value"); !ok || ref.Sub != nil {
			return "", false, Errorf(http.StatusBadRequest, TypeInvalidValue, "sortBy must name a simple attribute or sub-attribute; %q is complex", ref.Path())
		}
		return ref.Path() + ".value", desc, nil
	}
	return ref.Path(), desc, nil
}

// Sort orders items as q asks (a no-op when q.SortBy is empty), stably, reading each item's SCIM
// document once through doc. The document must hold the attribute q.SortBy names; "meta.created"
// and "meta.lastModified" are read from doc's meta, as Match reads them.
func Sort[T any](items []T, doc func(T) map[string]any, q ListQuery, rs ResourceSchema) {
	if q.SortBy == "" || len(items) < 2 {
		return
	}
	keys := make([]sortKey, len(items))
	for i, it := range items {
		keys[i] = sortKeyOf(doc(it), q.SortBy, rs)
		keys[i].pos = i
	}
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].less(keys[j], q.SortDescending) })
	sorted := make([]T, len(items))
	for i, k := range keys {
		sorted[i] = items[k.pos]
	}
	copy(items, sorted)
}

// sortKey is the value one resource sorts by.
type sortKey struct {
	pos     int
	present bool
	kind    byte // 's' string, 'n' number, 'b' boolean, 't' time
	s       string
	n       float64
	t       time.Time
}

func (a sortKey) less(b sortKey, desc bool) bool {
	if a.present != b.present {
		return a.present // missing values last, whatever the order
	}
	if !a.present || a.kind != b.kind {
		return false
	}
	var c int
	switch a.kind {
	case 'n':
		c = cmpOrdered(a.n, b.n)
	case 't':
		c = a.t.Compare(b.t)
	default:
		c = strings.Compare(a.s, b.s)
	}
	if desc {
		return c > 0
	}
	return c < 0
}

func cmpOrdered(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sortKeyOf reads the value doc sorts by.
func sortKeyOf(doc map[string]any, path string, rs ResourceSchema) sortKey {
	if strings.HasPrefix(path, "meta.") {
		meta, _ := getFold(doc, "meta")
		m, _ := jsonObject(meta)
		v, _ := getFold(m, path[5:])
		if s, ok := v.(string); ok {
			if t, ok := parseDateTime(s); ok {
				return sortKey{present: true, kind: 't', t: t}
			}
		}
		return sortKey{}
	}
	ref, ok := rs.Lookup(path)
	if !ok {
		return sortKey{}
	}
	raw, _ := rs.valueOf(doc, ref)
	if ref.Attr.MultiValued() {
		raw = primaryElement(raw)
	}
	def := ref.Target()
	if ref.Sub == nil && def.AttributeType() == "complex" {
		vs, ok := def.SubAttributes().ContainsAttribute("value")
		if !ok {
			return sortKey{}
		}
		def = vs
		if m, ok := jsonObject(raw); ok {
			raw, _ = getFold(m, vs.Name())
		}
	} else if ref.Sub != nil {
		m, ok := jsonObject(raw)
		if !ok {
			return sortKey{}
		}
		raw, _ = getFold(m, ref.Sub.Name())
	}
	if isJSONNull(raw) {
		return sortKey{}
	}
	switch def.AttributeType() {
	case "integer", "decimal":
		if f, ok := numberValue(raw); ok {
			return sortKey{present: true, kind: 'n', n: f}
		}
	case "boolean":
		if b, ok := boolValue(raw); ok {
			n := 0.0
			if b.(bool) {
				n = 1
			}
			return sortKey{present: true, kind: 'n', n: n}
		}
	case "dateTime":
		if s, ok := raw.(string); ok {
			if t, ok := parseDateTime(s); ok {
				return sortKey{present: true, kind: 't', t: t}
			}
		}
	}
	s, ok := operandString(raw)
	if !ok || s == "" {
		return sortKey{}
	}
	if !def.CaseExact() {
		s = strings.ToLower(s)
	}
	return sortKey{present: true, kind: 's', s: s}
}

// primaryElement is the element of a multi-valued attribute a sort reads: the primary one, else the
// first.
func primaryElement(v any) any {
	elems := elementsOf(v)
	for _, e := range elems {
		if isPrimary(e) {
			return e
		}
	}
	if len(elems) > 0 {
		return elems[0]
	}
	return nil
}
