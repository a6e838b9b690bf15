package scim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"

	efilter "github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"
)

// ApplyPatch applies PATCH operations to a deep copy of doc and returns the copy; doc itself is never
// modified. The operations are the ones the edge hands to Backend.Patch (op lower-cased, path
// parsed and resolved; see preparePatch), but ApplyPatch does not rely on that and never panics on
// odd input. The semantics are RFC 7644 §3.5.2, plus what real IdPs need:
//
//   - add to a multi-valued attribute appends, skipping (and merging into) elements that denote an
//     existing one, so a repeated add-member is idempotent; an element that becomes primary clears
//     primary on the others.
//   - add or replace on a value-filter path that matches nothing creates the element, taking the
//     filter's eq comparisons as its first sub-attributes: add emails[type eq "work"].value "x"
//     gives {"type":"work","value":"x"}. Later operations on the same filter in the same request
//     land in that element.
//   - replace of a whole multi-valued attribute replaces the list; an empty list or null clears it.
//   - remove of a multi-valued attribute with a value (Entra's {"op":"Remove","path":"members",
//     "value":[{"value":"id"}]}) removes only the listed elements, never the whole attribute.
//   - operations without a path take an object whose keys are attribute paths ("name.givenName",
//     "urn:...:enterprise:2.0:User:employeeNumber", even value-filter paths) or extension URNs
//     holding an object. Read-only keys (id, meta) and schemas are ignored there, as Okta sends id
//     in group renames.
//   - password (any returned:"never" attribute) is dropped wherever it appears, in the operations
//     and in the result.
//   - booleans may be strings ("False"), as Entra sends them; a complex attribute with a value
//     sub-attribute accepts a bare string as its value (Entra's manager), and "" or {"value":""}
//     removes it.
//
// The result spells attributes canonically (see ResourceSchema.Canonicalize). Unassigned, null and
// empty multi-valued attributes are equivalent (RFC 7643 §2.5), so ApplyPatch deletes a key rather
// than leave null or [] behind.
//
// Errors are *Error values with status 400 and one of these scimTypes:
// noTarget (remove without a path, a value filter on a single-valued attribute), invalidPath (an
// unknown attribute or sub-attribute, a malformed path), invalidValue (a value of the wrong type, an
// unknown op, add without a value), mutability (a read-only attribute, or a change to an immutable
// attribute that already has a value). The detail names the operation and the attribute, never the
// value. On error the partly patched copy is discarded: operations apply all or nothing.
//
// At most maxPatchOperations operations are applied (invalidValue beyond, as the edge answers), and
// applying them takes time linear in the operations and the attributes they touch (see mvList).
//
// The result must still hold every required attribute of the schema (User: userName; Group:
// displayName) as a non-empty string, or the PATCH fails as a whole: removing one, or replacing it
// with null, is scimType mutability, as RFC 7644 §3.5.2.2 prescribes for a required attribute
// that "is removed or becomes unassigned"; replacing it with "" is invalidValue (a value "not
// compatible with the ... attribute"). A document that already lacked one (a Freshservice user
// read without an email) may still be patched, as long as the PATCH does not leave the attribute
// in a new invalid state: the PATCH did not cause the gap, and refusing it would block, say, the
// deactivation of that user.
func ApplyPatch(doc map[string]any, ops []PatchOperation, rs ResourceSchema) (map[string]any, error) {
	if len(ops) > maxPatchOperations {
		return nil, patchError(TypeInvalidValue, "%d operations; at most %d are accepted in one PATCH", len(ops), maxPatchOperations)
	}
	p := &patcher{rs: rs, doc: rs.Canonicalize(doc), created: map[string]map[string]any{}}
	required := requiredAttributes(rs.Core)
	before := make([]any, len(required))
	for i, a := range required {
		before[i] = p.doc[a.Name()]
	}
	for i, op := range ops {
		if err := p.apply(op); err != nil {
			return nil, operationError(err, i, op)
		}
	}
	p.closeLists()
	rs.normalizeMultiValued(p.doc)
	for _, e := range rs.Extensions {
		if m, ok := p.doc[e.ID].(map[string]any); ok && len(m) == 0 {
			delete(p.doc, e.ID)
		}
	}
	for i, a := range required {
		v, present := p.doc[a.Name()]
		if s, ok := v.(string); ok && strings.TrimSpace(s) != "" {
			continue
		}
		if jsonEqual(v, before[i]) {
			continue // not changed by this PATCH
		}
		if !present || isJSONNull(v) {
			return nil, patchError(TypeMutability, "%s is required and cannot be removed", a.Name())
		}
		return nil, patchError(TypeInvalidValue, "%s is required and cannot be empty", a.Name())
	}
	return p.doc, nil
}

// patcher holds the document being patched.
type patcher struct {
	rs  ResourceSchema
	doc map[string]any
	// created holds the elements that add or replace created for a value filter that matched
	// nothing, keyed by attribute path and filter, so that later operations on the same filter
	// find them even when the element does not (yet) satisfy the filter.
	created map[string]map[string]any
	// lists holds the multi-valued attributes open for a run of adds and removes (see mvList).
	// While one is open its container holds a stale value: every operation other than those
	// (listOperation) closes them first.
	lists map[listKey]*mvList
}

// openList returns the open list of attribute a in container c, opening it.
func (p *patcher) openList(ext string, a schema.CoreAttribute, c map[string]any) *mvList {
	k := listKey{ext, a.Name()}
	if l, ok := p.lists[k]; ok {
		return l
	}
	if p.lists == nil {
		p.lists = map[listKey]*mvList{}
	}
	l := newList(a, c, a.Name(), elementsOf(c[a.Name()]))
	p.lists[k] = l
	return l
}

// closeLists writes the open lists back to the document.
func (p *patcher) closeLists() {
	for k, l := range p.lists {
		l.store()
		delete(p.lists, k)
	}
}

// listOperation reports whether an operation is one the open lists serve: add to, or remove
// listed elements from, a whole multi-valued attribute, or remove by a value filter. Immutable
// attributes are left to the general path, which checks every change.
func listOperation(kind string, t patchTarget, v any) bool {
	if t.extension != nil || t.ref.Sub != nil || !t.ref.Attr.MultiValued() || t.ref.Attr.Mutability() == "immutable" ||
		t.ref.Attr.Mutability() == "readOnly" || t.ref.Attr.Returned() == "never" {
		return false
	}
	switch kind {
	case PatchAdd:
		return t.filter == nil && v != nil
	case PatchRemove:
		return t.filter != nil || v != nil
	}
	return false
}

// patchTarget is the resolved path of one operation.
type patchTarget struct {
	ref AttributeRef
	// filter is the value filter of a path such as emails[type eq "work"].value, or nil.
	filter filter.Expression
	// extension is set when the path is the bare URN of an extension, addressing its whole container.
	extension *schema.Schema
}

func (t patchTarget) String() string {
	if t.extension != nil {
		return t.extension.ID
	}
	p := t.ref.Attr.Name()
	if t.ref.Extension != "" {
		p = t.ref.Extension + ":" + p
	}
	if t.filter != nil {
		p += fmt.Sprintf("[%v]", t.filter)
	}
	if t.ref.Sub != nil {
		p += "." + t.ref.Sub.Name()
	}
	return p
}

func patchError(t string, format string, args ...any) *Error {
	return &Error{ScimType: t, Detail: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// operationError prefixes the detail of err with the operation it comes from.
func operationError(err error, i int, op PatchOperation) error {
	se, ok := err.(*Error)
	if !ok {
		return err
	}
	path := "(no path)"
	if op.Path != nil {
		path = truncate(op.Path.String(), 100)
	}
	// Bounded, whatever the parts echo: an error body never carries a large piece of the input.
	se.Detail = truncate(fmt.Sprintf("operation %d (%s %s): %s", i+1, truncate(strings.ToLower(op.Op), 20), path, se.Detail), 400)
	return se
}

func (p *patcher) apply(op PatchOperation) error {
	kind := strings.ToLower(strings.TrimSpace(op.Op))
	switch kind {
	case PatchAdd, PatchReplace, PatchRemove:
	default:
		return patchError(TypeInvalidValue, "unknown op %q; want add, replace or remove", op.Op)
	}
	if op.Path == nil {
		if kind == PatchRemove {
			return patchError(TypeNoTarget, "remove needs a path")
		}
		return p.applyPathless(kind, op.Value, nil)
	}
	t, err := p.rs.patchTarget(*op.Path)
	if err != nil {
		return err
	}
	return p.applyTarget(kind, t, op.Value)
}

// patchTarget resolves a PATCH path. filter-parser puts the sub-attribute of a plain path
// (name.givenName, urn:...:manager.value) in AttributePath.SubAttribute, and the sub-attribute after
// a value filter (emails[type eq "work"].value) in Path.SubAttribute; both are accepted.
func (rs ResourceSchema) patchTarget(p filter.Path) (patchTarget, error) {
	ap := p.AttributePath
	if ap.URIPrefix != nil && ap.SubAttribute == nil && p.ValueExpression == nil && p.SubAttribute == nil {
		// The bare URN of an extension parses as URI "urn:...:2.0" and attribute "User".
		if e, ok := rs.Extension(ap.URI() + ":" + ap.AttributeName); ok {
			return patchTarget{extension: &e}, nil
		}
	}
	if ap.SubAttribute != nil && (p.ValueExpression != nil || p.SubAttribute != nil) {
		return patchTarget{}, patchError(TypeInvalidPath, "malformed path %q", p.String())
	}
	ref, ok := rs.resolve(ap.URI(), ap.AttributeName, "")
	if !ok {
		return patchTarget{}, patchError(TypeInvalidPath, "unknown attribute %q", ap.String())
	}
	sub := ap.SubAttributeName()
	if p.SubAttribute != nil {
		sub = *p.SubAttribute
	}
	if sub != "" {
		s, ok := ref.Attr.SubAttributes().ContainsAttribute(sub)
		if !ok {
			return patchTarget{}, patchError(TypeInvalidPath, "attribute %q has no sub-attribute %q", ref.Path(), sub)
		}
		ref.Sub = &s
	}
	if p.ValueExpression != nil {
		if !ref.Attr.MultiValued() {
			return patchTarget{}, patchError(TypeNoTarget, "a value filter needs a multi-valued attribute, and %q is single-valued", ref.Path())
		}
		if err := validateElementFilter(p.ValueExpression, ref.Attr); err != nil {
			return patchTarget{}, patchError(TypeInvalidPath, "value filter of %q: %v", ref.Path(), err)
		}
	}
	return patchTarget{ref: ref, filter: p.ValueExpression}, nil
}

// validateElementFilter checks that every attribute of a value filter names a sub-attribute of the
// multi-valued attribute a (or "value" when a is not complex).
func validateElementFilter(expr filter.Expression, a schema.CoreAttribute) error {
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		if e == nil {
			return fmt.Errorf("empty expression")
		}
		if e.AttributePath.SubAttribute != nil {
			return fmt.Errorf("%q is not a sub-attribute", e.AttributePath.String())
		}
		if _, ok := efilter.MultiValuedFilterAttributes(a).ContainsAttribute(e.AttributePath.AttributeName); !ok {
			return fmt.Errorf("unknown sub-attribute %q", e.AttributePath.AttributeName)
		}
		return nil
	case *filter.LogicalExpression:
		if e == nil {
			return fmt.Errorf("empty expression")
		}
		if err := validateElementFilter(e.Left, a); err != nil {
			return err
		}
		return validateElementFilter(e.Right, a)
	case *filter.NotExpression:
		if e == nil {
			return fmt.Errorf("empty expression")
		}
		return validateElementFilter(e.Expression, a)
	default:
		return fmt.Errorf("unsupported expression %v", expr)
	}
}

// ignoredPathlessKeys are keys of a path-less value that are dropped even when the schema does not
// know them: password on a Group, for instance.
var ignoredPathlessKeys = map[string]bool{"id": true, "meta": true, "schemas": true, "password": true}

// applyPathless applies an operation without a path: value is an object whose keys are attribute
// paths, or extension URNs holding an object. Within an extension container (ext != nil), keys
// without a URN belong to that extension.
func (p *patcher) applyPathless(kind string, value any, ext *schema.Schema) error {
	m, ok := jsonObject(value)
	if !ok {
		return patchError(TypeInvalidValue, "an operation without a path needs an object value")
	}
	// Sorted, so that "name" is applied before "name.givenName" and the result never depends on map
	// iteration order.
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		li, lj := strings.ToLower(keys[i]), strings.ToLower(keys[j])
		if li != lj {
			return li < lj
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		v := m[k]
		if ext == nil {
			if e, ok := p.rs.Extension(k); ok {
				if err := p.applyTarget(kind, patchTarget{extension: &e}, v); err != nil {
					return err
				}
				continue
			}
		}
		// Keys are paths, parsed as every PATCH path is (bounded first).
		if berr := checkPathBounds(k); berr != nil {
			return patchError(TypeInvalidPath, "%s", berr.Detail)
		}
		path, perr := parsePatchPath(k)
		if perr != nil {
			if ignoredPathlessKeys[strings.ToLower(k)] {
				continue
			}
			return patchError(TypeInvalidPath, "key %q of the value is not an attribute path", truncate(k, 100))
		}
		if ext != nil && path.AttributePath.URIPrefix == nil {
			id := ext.ID
			path.AttributePath.URIPrefix = &id
		}
		t, err := p.rs.patchTarget(*path)
		if err != nil {
			if ignoredPathlessKeys[strings.ToLower(k)] {
				continue
			}
			return err
		}
		if t.extension == nil {
			target := t.ref.Target()
			// Read-only attributes are echoed by IdPs (Okta puts the id in group renames), and
			// schemas is not an attribute a PATCH changes: ignore them rather than fail.
			if t.ref.Attr.Mutability() == "readOnly" || target.Mutability() == "readOnly" ||
				(t.ref.Extension == "" && strings.EqualFold(t.ref.Attr.Name(), "schemas")) {
				continue
			}
		}
		if err := p.applyTarget(kind, t, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *patcher) applyTarget(kind string, t patchTarget, v any) error {
	if !listOperation(kind, t, v) {
		p.closeLists()
	}
	if t.extension != nil {
		if kind == PatchRemove || (kind == PatchReplace && isJSONNull(v)) {
			delete(p.doc, t.extension.ID)
			return nil
		}
		if _, ok := jsonObject(v); !ok {
			return patchError(TypeInvalidValue, "the value of %s must be an object", t.extension.ID)
		}
		return p.applyPathless(kind, v, t.extension)
	}
	target := t.ref.Target()
	if t.ref.Attr.Returned() == "never" || target.Returned() == "never" {
		// password: never stored, never forwarded, never an error (Okta's password sync).
		return nil
	}
	if t.ref.Attr.Mutability() == "readOnly" || target.Mutability() == "readOnly" {
		return patchError(TypeMutability, "%s is read-only", t.ref.Path())
	}
	switch {
	case t.filter != nil:
		return p.applyFiltered(kind, t, v)
	case t.ref.Attr.MultiValued():
		return p.applyMulti(kind, t, v)
	default:
		return p.applySingular(kind, t, v)
	}
}

// container returns the object that holds the attribute: the document, or the extension's
// container, created when create is set. It returns nil when there is nothing to remove from.
func (p *patcher) container(ext string, create bool) map[string]any {
	if ext == "" {
		return p.doc
	}
	if m, ok := p.doc[ext].(map[string]any); ok && m != nil {
		return m
	}
	if !create {
		return nil
	}
	m := map[string]any{}
	p.doc[ext] = m
	return m
}

func valueTypeError(t patchTarget, a schema.CoreAttribute) error {
	want := a.AttributeType()
	if a.AttributeType() == "complex" {
		want = "complex (object)"
	}
	return patchError(TypeInvalidValue, "value of %s must be of type %s", t.String(), want)
}

func immutableError(t patchTarget) error {
	return patchError(TypeMutability, "%s is immutable and already has a value", t.String())
}

// clearsOp reports whether the operation removes its target: remove, or replace with null.
func clearsOp(kind string, v any) bool {
	return kind == PatchRemove || (kind == PatchReplace && isJSONNull(v))
}

// applySingular handles single-valued attributes and their sub-attributes.
func (p *patcher) applySingular(kind string, t patchTarget, v any) error {
	a, name := t.ref.Attr, t.ref.Name()
	c := p.container(t.ref.Extension, !clearsOp(kind, v))
	if c == nil {
		return nil
	}
	old, present := c[name]
	if t.ref.Sub == nil {
		if clearsOp(kind, v) {
			if immutableChange(a, old, present, nil) {
				return immutableError(t)
			}
			delete(c, name)
			return nil
		}
		if isJSONNull(v) {
			return patchError(TypeInvalidValue, "add to %s needs a value", t.String())
		}
		nv, ok := coerceSingle(a, v)
		if !ok {
			return valueTypeError(t, a)
		}
		if nm, ok := nv.(map[string]any); ok {
			if clearsReference(a, nm) {
				if immutableChange(a, old, present, nil) {
					return immutableError(t)
				}
				delete(c, name)
				return nil
			}
			// RFC 7644 §3.5.2.1 and §3.5.2.3: sub-attributes not named in the value are left unchanged.
			merged := map[string]any{}
			if om, ok := jsonObject(old); ok {
				for k, x := range om {
					merged[k] = x
				}
			}
			for k, x := range nm {
				merged[k] = x
			}
			nv = merged
		}
		if immutableChange(a, old, present, nv) {
			return immutableError(t)
		}
		c[name] = nv
		return nil
	}

	sub := *t.ref.Sub
	om, isObject := jsonObject(old)
	if clearsOp(kind, v) {
		if !isObject {
			return nil
		}
		sv, sp := om[sub.Name()]
		if immutableChange(sub, sv, sp, nil) {
			return immutableError(t)
		}
		delete(om, sub.Name())
		if len(om) == 0 {
			delete(c, name)
		} else {
			c[name] = om
		}
		return nil
	}
	if isJSONNull(v) {
		return patchError(TypeInvalidValue, "add to %s needs a value", t.String())
	}
	nv, ok := coerceAttribute(sub, v)
	if !ok {
		return valueTypeError(t, sub)
	}
	if !isObject {
		om = map[string]any{}
	}
	sv, sp := om[sub.Name()]
	if immutableChange(sub, sv, sp, nv) {
		return immutableError(t)
	}
	om[sub.Name()] = nv
	if clearsReference(a, om) {
		delete(c, name)
		return nil
	}
	c[name] = om
	return nil
}

// applyMulti handles a multi-valued attribute addressed without a value filter, as a whole
// (emails) or through a sub-attribute of every element (emails.display).
func (p *patcher) applyMulti(kind string, t patchTarget, v any) error {
	a, name := t.ref.Attr, t.ref.Name()
	// Remove with a value is a partial remove, not a clear; only untyped nil clears.
	c := p.container(t.ref.Extension, !(kind == PatchRemove || (kind == PatchReplace && isJSONNull(v))))
	if c == nil {
		return nil
	}
	if listOperation(kind, t, v) {
		items, ok := coerceMulti(a, v)
		if !ok {
			return valueTypeError(t, a)
		}
		l := p.openList(t.ref.Extension, a, c)
		if kind == PatchRemove {
			// Entra removes group members with {"op":"Remove","path":"members","value":[{"value":"id"}]}.
			// RFC 7644 would remove every member; Entra means only the listed ones. An empty list
			// therefore removes nothing.
			l.removeListed(items)
			return nil
		}
		for _, it := range oneList(a, items) {
			l.add(it)
		}
		return nil
	}
	old, present := c[name]
	cur := elementsOf(old)
	if t.ref.Sub != nil {
		return p.applyEachElement(kind, t, c, cur, v)
	}
	switch kind {
	case PatchRemove:
		if v == nil {
			if a.Mutability() == "immutable" && len(cur) > 0 {
				return immutableError(t)
			}
			delete(c, name)
			return nil
		}
		// Entra removes group members with {"op":"Remove","path":"members","value":[{"value":"id"}]}.
		// RFC 7644 would remove every member; Entra means only the listed ones. An empty list
		// therefore removes nothing.
		items, ok := coerceMulti(a, v)
		if !ok {
			return valueTypeError(t, a)
		}
		keep := make([]any, 0, len(cur))
		for _, e := range cur {
			if !listedForRemoval(a, e, items) {
				keep = append(keep, e)
			}
		}
		if a.Mutability() == "immutable" && len(keep) != len(cur) {
			return immutableError(t)
		}
		setList(c, name, keep)
		return nil
	case PatchReplace:
		items, ok := coerceMulti(a, v)
		if !ok {
			return valueTypeError(t, a)
		}
		list := addAll(a, nil, oneList(a, items))
		if immutableChange(a, old, present && len(cur) > 0, list) {
			return immutableError(t)
		}
		setList(c, name, list)
		return nil
	default: // add
		if v == nil {
			return patchError(TypeInvalidValue, "add to %s needs a value", t.String())
		}
		items, ok := coerceMulti(a, v)
		if !ok {
			return valueTypeError(t, a)
		}
		list := addAll(a, cur, oneList(a, items))
		if a.Mutability() == "immutable" && len(cur) > 0 && !jsonEqual(cur, list) {
			return immutableError(t)
		}
		setList(c, name, list)
		return nil
	}
}

// applyEachElement handles a sub-attribute of every element of a multi-valued attribute, such as
// members.display. RFC 7644 leaves this case open; the natural reading is "each element".
func (p *patcher) applyEachElement(kind string, t patchTarget, c map[string]any, cur []any, v any) error {
	a, sub, name := t.ref.Attr, *t.ref.Sub, t.ref.Name()
	if clearsOp(kind, v) {
		touched := make([]int, 0, len(cur))
		for i, e := range cur {
			m, ok := e.(map[string]any)
			if !ok {
				continue
			}
			if sv, sp := m[sub.Name()]; sp {
				if immutableChange(sub, sv, sp, nil) {
					return immutableError(t)
				}
				delete(m, sub.Name())
				touched = append(touched, i)
			}
		}
		setList(c, name, dropDataless(a, cur, touched))
		return nil
	}
	if isJSONNull(v) {
		return patchError(TypeInvalidValue, "add to %s needs a value", t.String())
	}
	nv, ok := coerceAttribute(sub, v)
	if !ok {
		return valueTypeError(t, sub)
	}
	if len(cur) == 0 {
		cur = []any{map[string]any{sub.Name(): nv}}
	}
	for i, e := range cur {
		m, ok := e.(map[string]any)
		if !ok {
			m = map[string]any{}
			cur[i] = m
		}
		sv, sp := m[sub.Name()]
		if immutableChange(sub, sv, sp, nv) {
			return immutableError(t)
		}
		m[sub.Name()] = nv
	}
	setList(c, name, cur)
	return nil
}

// applyFiltered handles value-filter paths: emails[type eq "work"], emails[type eq "work"].value,
// members[value eq "id"].
//
// Replace on a filter that matches nothing behaves like add and creates the element. RFC 7644
// §3.5.2.3 says this is a noTarget error, but Entra sends Replace for attributes that were never
// set (Replace emails[type eq "work"].value on a user created without a work email), and failing
// would leave that user stuck in Entra's retry escrow. Remove on a filter that matches nothing is a
// no-op for the same reason.
func (p *patcher) applyFiltered(kind string, t patchTarget, v any) error {
	a, name := t.ref.Attr, t.ref.Name()
	remove := clearsOp(kind, v)
	c := p.container(t.ref.Extension, !remove)
	if c == nil {
		return nil
	}
	if listOperation(kind, t, v) {
		// members[value eq "id"]: answered from the index, unless an earlier operation of this
		// PATCH created an element for this very filter (found below by identity, not by value).
		if _, made := p.created[t.String()]; !made && p.openList(t.ref.Extension, a, c).removeMatching(t.filter) {
			return nil
		}
		p.closeLists()
	}
	cur := elementsOf(c[name])
	var idx []int
	for i, e := range cur {
		if matchElement(t.filter, e, a) {
			idx = append(idx, i)
		}
	}
	key := t.String()
	if t.ref.Sub != nil {
		key = strings.TrimSuffix(key, "."+t.ref.Sub.Name())
	}
	if len(idx) == 0 {
		if e, ok := p.created[key]; ok {
			for i, x := range cur {
				if sameMap(x, e) {
					idx = []int{i}
				}
			}
		}
	}

	if remove {
		if len(idx) == 0 {
			return nil
		}
		if t.ref.Sub == nil {
			if a.Mutability() == "immutable" {
				return immutableError(t)
			}
			drop := map[int]bool{}
			for _, i := range idx {
				drop[i] = true
			}
			keep := make([]any, 0, len(cur))
			for i, e := range cur {
				if !drop[i] {
					keep = append(keep, e)
				}
			}
			setList(c, name, keep)
			return nil
		}
		sub := *t.ref.Sub
		for _, i := range idx {
			m, ok := cur[i].(map[string]any)
			if !ok {
				continue
			}
			sv, sp := m[sub.Name()]
			if immutableChange(sub, sv, sp, nil) {
				return immutableError(t)
			}
			delete(m, sub.Name())
		}
		setList(c, name, dropDataless(a, cur, idx))
		return nil
	}

	if isJSONNull(v) {
		return patchError(TypeInvalidValue, "add to %s needs a value", t.String())
	}
	if a.AttributeType() != "complex" {
		// A multi-valued simple attribute: the filter can only test "value", and the operation
		// replaces the matching values, or appends one.
		nv, ok := coerceSingle(a, unwrapOne(v))
		if !ok {
			return valueTypeError(t, a)
		}
		if len(idx) == 0 {
			cur = append(cur, nv)
		}
		for _, i := range idx {
			cur[i] = nv
		}
		setList(c, name, addAll(a, nil, cur))
		return nil
	}

	created := len(idx) == 0
	eqs := filterEqualities(t.filter, a)
	if created {
		e := map[string]any{}
		for k, x := range eqs {
			e[k] = x
		}
		cur = append(cur, e)
		idx = []int{len(cur) - 1}
	}
	if t.ref.Sub != nil {
		sub := *t.ref.Sub
		nv, ok := coerceAttribute(sub, v)
		if !ok {
			return valueTypeError(t, sub)
		}
		for _, i := range idx {
			m, ok := cur[i].(map[string]any)
			if !ok {
				m = map[string]any{}
				cur[i] = m
			}
			sv, sp := m[sub.Name()]
			if immutableChange(sub, sv, sp, nv) {
				return immutableError(t)
			}
			m[sub.Name()] = nv
		}
	} else {
		c, ok := coerceSingle(a, unwrapOne(v))
		nv, isMap := c.(map[string]any)
		if !ok || !isMap {
			return valueTypeError(t, a)
		}
		for _, i := range idx {
			om, _ := cur[i].(map[string]any)
			var m map[string]any
			if kind == PatchAdd || created {
				m = mergeElement(a, om, nv)
			} else {
				// RFC 7644 §3.5.2.3: matching values are replaced. The filter's equalities stay when
				// the new value does not say otherwise, so the element still answers to its filter.
				m = map[string]any{}
				for k, x := range nv {
					m[k] = x
				}
				for k, x := range eqs {
					if _, ok := m[k]; !ok {
						m[k] = x
					}
				}
				for _, s := range a.SubAttributes() {
					ov, op := om[s.Name()]
					if immutableChange(s, ov, op, m[s.Name()]) {
						return immutableError(t)
					}
				}
			}
			cur[i] = m
		}
	}
	if len(idx) > 0 {
		if m, ok := cur[idx[0]].(map[string]any); ok {
			p.created[key] = m
			if m["primary"] == true {
				clearPrimary(cur, idx[0])
			}
		}
	}
	setList(c, name, cur)
	return nil
}

// oneList normalises the list one operation's value holds (see normalizeElements): within that
// list the first primary wins and repeated values merge, before its elements meet the ones the
// attribute already holds.
func oneList(a schema.CoreAttribute, items []any) []any {
	if a.AttributeType() != "complex" {
		return items
	}
	return normalizeElements(a, items)
}

// unwrapOne turns a one-element array into its element; PATCH values aimed at one element of a
// multi-valued attribute sometimes arrive wrapped.
func unwrapOne(v any) any {
	if l, ok := jsonArray(v); ok && len(l) == 1 {
		return l[0]
	}
	return v
}

// elementsOf returns the elements of a multi-valued attribute's value: its array, a single value
// wrapped in one, or nothing for null. It returns a fresh slice; the elements are shared.
func elementsOf(v any) []any {
	if isJSONNull(v) {
		return nil
	}
	if l, ok := jsonArray(v); ok {
		return append([]any(nil), l...)
	}
	return []any{v}
}

// setList stores a multi-valued attribute, deleting it when it has no elements (RFC 7643 §2.5).
func setList(c map[string]any, name string, list []any) {
	if len(list) == 0 {
		delete(c, name)
		return
	}
	c[name] = list
}

// mergeElement merges the sub-attributes of item into a copy of element e. Immutable sub-attributes
// that e already has keep their value.
func mergeElement(a schema.CoreAttribute, e, item map[string]any) map[string]any {
	out := make(map[string]any, len(e)+len(item))
	for k, x := range e {
		out[k] = x
	}
	for k, x := range item {
		if s, ok := a.SubAttributes().ContainsAttribute(k); ok && s.Mutability() == "immutable" {
			if ov, ok := out[k]; ok && !isJSONNull(ov) {
				continue
			}
		}
		out[k] = x
	}
	return out
}

// clearPrimary sets primary to false on every element but list[keep]: "the primary attribute value
// true MUST appear no more than once" (RFC 7643 §2.4).
func clearPrimary(list []any, keep int) {
	for i, e := range list {
		if m, ok := e.(map[string]any); ok && i != keep && m["primary"] == true {
			m["primary"] = false
		}
	}
}

// sameElement reports whether item denotes the existing element e of multi-valued attribute a.
// Complex elements with a value sub-attribute are the same when their values are equal and their
// types do not differ (a work and a home email may share an address); other elements must be equal.
func sameElement(a schema.CoreAttribute, e, item any) bool {
	if a.AttributeType() != "complex" {
		return scalarEqual(a, e, item)
	}
	em, ok1 := e.(map[string]any)
	im, ok2 := item.(map[string]any)
	if !ok1 || !ok2 {
		return jsonEqual(e, item)
	}
	if vs, ok := a.SubAttributes().ContainsAttribute("value"); ok {
		ev, iv := em[vs.Name()], im[vs.Name()]
		if !isJSONNull(ev) && !isJSONNull(iv) {
			if !scalarEqual(vs, ev, iv) {
				return false
			}
			et, _ := em["type"].(string)
			it, _ := im["type"].(string)
			return et == "" || it == "" || strings.EqualFold(et, it)
		}
	}
	return jsonEqual(em, im)
}

// listedForRemoval reports whether element e is one of the items of a remove-with-value. An item
// with a value sub-attribute matches on value alone (Entra sends {"value":id}, sometimes with a
// null $ref); any other item must agree with e on every sub-attribute it names. An empty item
// matches nothing.
func listedForRemoval(a schema.CoreAttribute, e any, items []any) bool {
	for _, it := range items {
		if a.AttributeType() != "complex" {
			if scalarEqual(a, e, it) {
				return true
			}
			continue
		}
		em, ok1 := e.(map[string]any)
		im, ok2 := it.(map[string]any)
		if !ok1 || !ok2 || len(im) == 0 {
			continue
		}
		if vs, ok := a.SubAttributes().ContainsAttribute("value"); ok && !isJSONNull(im[vs.Name()]) {
			if scalarEqual(vs, em[vs.Name()], im[vs.Name()]) {
				return true
			}
			continue
		}
		all := true
		for k, x := range im {
			s, ok := a.SubAttributes().ContainsAttribute(k)
			if !ok || !scalarEqual(s, em[k], x) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// dropDataless removes, among the elements at idx, those left without data after a sub-attribute
// was removed: an element with no value (for attributes that have a value sub-attribute), or one
// holding only type, primary and display. {"type":"work"} is not an email.
func dropDataless(a schema.CoreAttribute, list []any, idx []int) []any {
	check := map[int]bool{}
	for _, i := range idx {
		check[i] = true
	}
	_, hasValue := a.SubAttributes().ContainsAttribute("value")
	out := make([]any, 0, len(list))
	for i, e := range list {
		if m, ok := e.(map[string]any); ok && check[i] {
			if hasValue && isJSONNull(m["value"]) {
				continue
			}
			data := false
			for k := range m {
				if k != "type" && k != "primary" && k != "display" {
					data = true
				}
			}
			if !data {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// filterEqualities returns the sub-attribute values a value filter pins down with eq comparisons
// joined by and: type eq "work" and primary eq true gives {"type":"work","primary":true}. These
// seed an element created by add or replace.
func filterEqualities(expr filter.Expression, a schema.CoreAttribute) map[string]any {
	out := map[string]any{}
	var walk func(filter.Expression)
	walk = func(expr filter.Expression) {
		switch e := expr.(type) {
		case *filter.AttributeExpression:
			if e == nil || e.Operator != filter.EQ || e.AttributePath.SubAttribute != nil || e.CompareValue == nil {
				return
			}
			s, ok := a.SubAttributes().ContainsAttribute(e.AttributePath.AttributeName)
			if !ok {
				return
			}
			cv := e.CompareValue
			if str, ok := FilterString(cv); ok {
				cv = str
			} else if str, ok := numberString(cv); ok && s.AttributeType() != "integer" && s.AttributeType() != "decimal" {
				cv = str
			}
			if v, ok := coerceSingle(s, cv); ok {
				out[s.Name()] = v
			}
		case *filter.LogicalExpression:
			if e != nil && e.Operator == filter.AND {
				walk(e.Left)
				walk(e.Right)
			}
		}
	}
	walk(expr)
	return out
}

// clearsReference reports whether a complex value means "no reference": Entra removes a manager with
// {"value":""} or "". The attribute must have a value sub-attribute.
func clearsReference(a schema.CoreAttribute, m map[string]any) bool {
	vs, ok := a.SubAttributes().ContainsAttribute("value")
	if !ok {
		return false
	}
	s, ok := m[vs.Name()].(string)
	return ok && strings.TrimSpace(s) == ""
}

// immutableChange reports whether setting attribute a from old (present or not) to v changes an
// immutable attribute that already has a value (RFC 7643 §7: it may be set once, never updated).
func immutableChange(a schema.CoreAttribute, old any, present bool, v any) bool {
	if a.Mutability() != "immutable" || !present || isJSONNull(old) {
		return false
	}
	return !jsonEqual(old, v)
}

func sameMap(x any, m map[string]any) bool {
	xm, ok := x.(map[string]any)
	return ok && xm != nil && m != nil && reflect.ValueOf(xm).UnsafePointer() == reflect.ValueOf(m).UnsafePointer()
}

// coerceAttribute validates a value for attribute a, multi-valued or not.
func coerceAttribute(a schema.CoreAttribute, v any) (any, bool) {
	if a.MultiValued() {
		l, ok := coerceMulti(a, v)
		return l, ok
	}
	return coerceSingle(a, v)
}

// coerceMulti validates the value of a multi-valued attribute: an array, or a single value taken as
// a one-element array. null elements are dropped.
func coerceMulti(a schema.CoreAttribute, v any) ([]any, bool) {
	if isJSONNull(v) {
		return nil, true
	}
	list, ok := jsonArray(v)
	if !ok {
		list = []any{v}
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		if isJSONNull(e) {
			continue
		}
		c, ok := coerceSingle(a, e)
		if !ok {
			return nil, false
		}
		out = append(out, c)
	}
	return out, true
}

// coerceSingle validates one value of attribute a (one element, if a is multi-valued) and returns
// it in canonical form: sub-attribute names canonical, unknown, null, read-only and returned:"never"
// sub-attributes dropped (as schema validation drops them from a POST), "True"/"false" strings
// turned into booleans.
func coerceSingle(a schema.CoreAttribute, v any) (any, bool) {
	switch a.AttributeType() {
	case "complex":
		if s, ok := v.(string); ok {
			if vs, ok := a.SubAttributes().ContainsAttribute("value"); ok {
				return map[string]any{vs.Name(): s}, true
			}
			return nil, false
		}
		m, ok := jsonObject(v)
		if !ok {
			return nil, false
		}
		out := make(map[string]any, len(m))
		for k, x := range m {
			s, ok := a.SubAttributes().ContainsAttribute(k)
			if !ok || isJSONNull(x) || s.Mutability() == "readOnly" || s.Returned() == "never" {
				continue
			}
			c, ok := coerceAttribute(s, x)
			if !ok {
				return nil, false
			}
			out[s.Name()] = c
		}
		return out, true
	case "boolean":
		return boolValue(v)
	case "integer":
		switch n := v.(type) {
		case json.Number:
			if _, err := n.Int64(); err == nil {
				return n, true
			}
		case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			return n, true
		case float64:
			if n == math.Trunc(n) && !math.IsInf(n, 0) {
				return n, true
			}
		case string:
			s := strings.TrimSpace(n)
			if _, err := strconv.ParseInt(s, 10, 64); err == nil {
				return json.Number(s), true
			}
		}
		return nil, false
	case "decimal":
		switch n := v.(type) {
		case json.Number:
			if _, err := n.Float64(); err == nil {
				return n, true
			}
		case float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			return n, true
		case string:
			s := strings.TrimSpace(n)
			if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return json.Number(s), true
			}
		}
		return nil, false
	default: // string, reference, binary, dateTime
		s, ok := v.(string)
		return s, ok
	}
}

// boolValue reads a boolean, accepting the strings Entra sends ("True", "False", "true", "false").
func boolValue(v any) (any, bool) {
	switch b := v.(type) {
	case bool:
		return b, true
	case string:
		switch strings.ToLower(strings.TrimSpace(b)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return nil, false
}

// scalarEqual compares two values of attribute a: strings honour caseExact, anything else must be
// equal as JSON.
func scalarEqual(a schema.CoreAttribute, x, y any) bool {
	xs, ok1 := x.(string)
	ys, ok2 := y.(string)
	if ok1 && ok2 {
		if a.CaseExact() {
			return xs == ys
		}
		return strings.EqualFold(xs, ys)
	}
	return jsonEqual(x, y)
}

// jsonEqual compares two values as JSON, so that json.Number("1"), 1.0 and 1 are equal and map key
// order does not matter.
func jsonEqual(x, y any) bool {
	if isJSONNull(x) || isJSONNull(y) {
		return isJSONNull(x) && isJSONNull(y)
	}
	bx, err1 := json.Marshal(x)
	by, err2 := json.Marshal(y)
	return err1 == nil && err2 == nil && string(bx) == string(by)
}
