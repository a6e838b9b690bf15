package scim

import (
	"encoding/json"
	"strings"
	"unicode"

	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"
)

// mvList is a multi-valued attribute (emails, members, ...) while a PATCH adds elements to it and
// removes elements from it. It indexes the elements by identity, so that finding the element an
// added or removed item denotes costs O(1) instead of a scan of the whole list, and it stays open
// across operations, so that a PATCH of many operations on one attribute does not copy the list
// once per operation. Together that makes applying a PATCH linear in the size of the request plus
// the size of the attribute; before, 13,000 "add emails" operations in one body cost a scan and a
// copy of a list of up to 13,000 elements each, 12 seconds of CPU.
//
// The index key of an element (identityKey) is equal for any two elements sameElement could take
// for one, and for any two values that listedForRemoval or a "value eq" filter could match; every
// candidate the index yields is still confirmed with that exact predicate, so the index decides
// speed, never outcomes.
type mvList struct {
	attr  schema.CoreAttribute
	c     map[string]any
	name  string
	elems []any
	dead  []bool
	keys  []string
	byKey map[string][]int
	// primaries holds the positions that may hold primary: true; clearing primary visits only them.
	primaries []int
	// nonString counts live elements whose value sub-attribute is not a string (a number), which a
	// "value eq" filter compares as text and the index does not find.
	nonString int
	live      int
}

// listKey names a multi-valued attribute in a document: its extension ("" for core) and name.
type listKey struct{ ext, name string }

// newList indexes the elements of attribute a held in c[name]. The elements are not copied: the
// patcher works on its own deep copy of the document.
func newList(a schema.CoreAttribute, c map[string]any, name string, elems []any) *mvList {
	l := &mvList{attr: a, c: c, name: name, byKey: make(map[string][]int, len(elems))}
	l.elems = make([]any, 0, len(elems))
	for _, e := range elems {
		l.push(e)
	}
	return l
}

// push appends e and indexes it.
func (l *mvList) push(e any) int {
	i := len(l.elems)
	k := identityKey(l.attr, e)
	l.elems = append(l.elems, e)
	l.dead = append(l.dead, false)
	l.keys = append(l.keys, k)
	if k != "" {
		l.byKey[k] = append(l.byKey[k], i)
	}
	if isPrimary(e) {
		l.primaries = append(l.primaries, i)
	}
	if l.nonStringValue(e) {
		l.nonString++
	}
	l.live++
	return i
}

// add adds item as addElement always has: merged into the first element it denotes, or appended.
// An element that becomes primary clears primary on the others (RFC 7643 §2.4).
func (l *mvList) add(item any) {
	a := l.attr
	at := -1
	if k := identityKey(a, item); k != "" {
		for _, i := range l.byKey[k] {
			if sameElement(a, l.elems[i], item) {
				at = i
				break
			}
		}
	}
	if at < 0 {
		at = l.push(item)
	} else if im, ok := item.(map[string]any); ok {
		em, _ := l.elems[at].(map[string]any)
		l.replaceAt(at, mergeElement(a, em, im))
	}
	if isPrimary(l.elems[at]) {
		for _, i := range l.primaries {
			if i == at || l.dead[i] {
				continue
			}
			if m, ok := l.elems[i].(map[string]any); ok && m["primary"] == true {
				m["primary"] = false
				// An element without a value is keyed by its JSON, which just changed.
				if strings.HasPrefix(l.keys[i], "o") {
					l.rekey(i)
				}
			}
		}
		l.primaries = append(l.primaries[:0], at)
	}
}

// replaceAt puts e at position i, keeping the index right.
func (l *mvList) replaceAt(i int, e any) {
	if l.nonStringValue(l.elems[i]) {
		l.nonString--
	}
	l.elems[i] = e
	l.rekey(i)
	if l.nonStringValue(e) {
		l.nonString++
	}
	if isPrimary(e) {
		l.primaries = append(l.primaries, i)
	}
}

// rekey indexes the element at i under its current key, after it changed.
func (l *mvList) rekey(i int) {
	k := identityKey(l.attr, l.elems[i])
	if k == l.keys[i] {
		return
	}
	l.unindex(i)
	l.keys[i] = k
	if k == "" {
		return
	}
	// Positions stay in list order, so that the first match is the first in the list.
	pos := l.byKey[k]
	j := len(pos)
	for j > 0 && pos[j-1] > i {
		j--
	}
	pos = append(pos, 0)
	copy(pos[j+1:], pos[j:])
	pos[j] = i
	l.byKey[k] = pos
}

func (l *mvList) unindex(i int) {
	k := l.keys[i]
	if k == "" {
		return
	}
	pos := l.byKey[k]
	for j, x := range pos {
		if x == i {
			pos = append(pos[:j], pos[j+1:]...)
			break
		}
	}
	if len(pos) == 0 {
		delete(l.byKey, k)
	} else {
		l.byKey[k] = pos
	}
}

// removeAt drops the element at i.
func (l *mvList) removeAt(i int) {
	if l.dead[i] {
		return
	}
	if l.nonStringValue(l.elems[i]) {
		l.nonString--
	}
	l.unindex(i)
	l.dead[i] = true
	l.elems[i] = nil
	l.live--
}

// removeListed removes the elements listedForRemoval takes for items: Entra's
// {"op":"Remove","path":"members","value":[{"value":"id"}]}.
func (l *mvList) removeListed(items []any) {
	a := l.attr
	vs, hasValue := a.SubAttributes().ContainsAttribute("value")
	for _, it := range items {
		var k string
		switch {
		case a.AttributeType() != "complex":
			k = identityKey(a, it)
		case hasValue:
			if im, ok := it.(map[string]any); ok && len(im) > 0 && !isJSONNull(im[vs.Name()]) {
				k = "v" + scalarKey(vs, im[vs.Name()])
			}
		}
		one := []any{it}
		if k == "" {
			// An item without a value matches on every sub-attribute it names: a scan, for a
			// form no IdP sends.
			for i, e := range l.elems {
				if !l.dead[i] && listedForRemoval(a, e, one) {
					l.removeAt(i)
				}
			}
			continue
		}
		for _, i := range append([]int(nil), l.byKey[k]...) {
			if listedForRemoval(a, l.elems[i], one) {
				l.removeAt(i)
			}
		}
	}
}

// removeMatching removes the elements a value filter of the form value eq "x" matches, and
// reports false when the filter is not of that form or the index cannot answer it exactly (then
// the caller scans). This is the RFC form of removing a group member (Okta, flagged Entra).
func (l *mvList) removeMatching(expr filter.Expression) bool {
	a := l.attr
	e, ok := expr.(*filter.AttributeExpression)
	if !ok || e == nil || e.Operator != filter.EQ || e.AttributePath.URIPrefix != nil || e.AttributePath.SubAttribute != nil ||
		!strings.EqualFold(e.AttributePath.AttributeName, "value") || a.AttributeType() != "complex" || l.nonString > 0 {
		return false
	}
	vs, ok := a.SubAttributes().ContainsAttribute("value")
	if !ok || (vs.AttributeType() != "string" && vs.AttributeType() != "reference") {
		return false
	}
	s, ok := FilterString(e.CompareValue)
	if !ok {
		return false
	}
	for _, i := range append([]int(nil), l.byKey["v"+scalarKey(vs, s)]...) {
		if matchElement(expr, l.elems[i], a) {
			l.removeAt(i)
		}
	}
	return true
}

// list returns the live elements in order.
func (l *mvList) list() []any {
	out := make([]any, 0, l.live)
	for i, e := range l.elems {
		if !l.dead[i] {
			out = append(out, e)
		}
	}
	return out
}

// store writes the list back to its container (deleting the attribute when it is empty).
func (l *mvList) store() {
	setList(l.c, l.name, l.list())
}

func isPrimary(e any) bool {
	m, ok := e.(map[string]any)
	return ok && m["primary"] == true
}

func (l *mvList) nonStringValue(e any) bool {
	if l.attr.AttributeType() != "complex" {
		return false
	}
	m, ok := e.(map[string]any)
	if !ok {
		return false
	}
	v, ok := m["value"]
	if !ok || isJSONNull(v) {
		return false
	}
	_, isString := v.(string)
	return !isString
}

// identityKey is the index key of an element of multi-valued attribute a: elements sameElement
// could take for one another have equal keys. A complex element with a value is keyed by its value
// alone ("v" prefix; elements of different types may share it), any other element by its JSON
// ("o"); a simple element by its value. "" means "never equal to anything".
func identityKey(a schema.CoreAttribute, e any) string {
	if a.AttributeType() != "complex" {
		return scalarKey(a, e)
	}
	if m, ok := e.(map[string]any); ok {
		if vs, ok := a.SubAttributes().ContainsAttribute("value"); ok && !isJSONNull(m[vs.Name()]) {
			return "v" + scalarKey(vs, m[vs.Name()])
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return ""
	}
	return "o" + string(b)
}

// scalarKey is equal for values scalarEqual finds equal: strings by their case fold unless the
// attribute is caseExact, anything else by its JSON.
func scalarKey(a schema.CoreAttribute, v any) string {
	if s, ok := v.(string); ok {
		if a.CaseExact() {
			return "s" + s
		}
		return "f" + foldKey(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return "j" + string(b)
}

// foldKey maps strings that strings.EqualFold or a comparison of strings.ToLower finds equal to
// one key: each rune of the lower-cased string becomes the smallest rune of its case-folding orbit.
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToLower(s) {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < least {
				least = f
			}
		}
		b.WriteRune(least)
	}
	return b.String()
}

// addAll adds items to a copy of list, as a PATCH add or replace does, in time linear in both.
func addAll(a schema.CoreAttribute, list, items []any) []any {
	l := newList(a, nil, "", list)
	for _, it := range items {
		l.add(it)
	}
	return l.list()
}
