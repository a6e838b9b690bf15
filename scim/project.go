package scim

import (
	"strings"

	"github.com/elimity-com/scim/schema"
)

// Project applies the attributes and excludedAttributes query parameters (RFC 7644 §3.4.2.5) to a
// resource and returns a new document; doc is not modified.
//
//   - With attributes, only the named attributes are returned, plus id, schemas, meta and any
//     returned:"always" attribute. Without it, everything is returned except returned:"request"
//     attributes.
//   - excludedAttributes removes the named attributes, but never id, schemas or a returned:"always"
//     attribute. Entra sends excludedAttributes=members on every group read.
//   - returned:"never" attributes (password) are always removed.
//   - Entries may be comma-separated lists with spaces ("userName, name.givenName"), may name
//     sub-attributes (name.givenName, emails.value: the value of every email) and may carry a URN
//     prefix (urn:...:enterprise:2.0:User:department); the bare URN of an extension names its whole
//     container. Names are case-insensitive. Unknown names are ignored.
//
// The result spells attributes canonically, as ResourceSchema.Canonicalize does.
func Project(doc map[string]any, attributes, excludedAttributes []string, rs ResourceSchema) map[string]any {
	out := rs.Canonicalize(doc)
	if include := splitAttributeList(attributes); len(include) > 0 {
		out = rs.include(out, include)
	} else {
		rs.dropReturnedRequest(out)
	}
	for _, p := range splitAttributeList(excludedAttributes) {
		rs.exclude(out, p)
	}
	return out
}

// splitAttributeList flattens query parameter values into attribute paths.
func splitAttributeList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// selection is what attributes selects from one attribute: all of it, or some sub-attributes.
type selection struct {
	whole bool
	subs  map[string]bool
}

// include keeps the selected attributes of the canonical document doc.
func (rs ResourceSchema) include(doc map[string]any, paths []string) map[string]any {
	// Selections per container: "" for the top level, an extension URN for its container.
	sel := map[string]map[string]*selection{}
	wholeExt := map[string]bool{}
	selectAttr := func(container, name, sub string) {
		if sel[container] == nil {
			sel[container] = map[string]*selection{}
		}
		pr := sel[container][name]
		if pr == nil {
			pr = &selection{subs: map[string]bool{}}
			sel[container][name] = pr
		}
		if sub == "" {
			pr.whole = true
		} else {
			pr.subs[sub] = true
		}
	}
	for _, name := range []string{"id", "schemas", "meta"} {
		selectAttr("", name, "")
	}
	for _, a := range rs.Core.Attributes {
		if a.Returned() == "always" {
			selectAttr("", a.Name(), "")
		}
	}
	for _, e := range rs.Extensions {
		for _, a := range e.Attributes {
			if a.Returned() == "always" {
				selectAttr(e.ID, a.Name(), "")
			}
		}
	}
	for _, p := range paths {
		if e, ok := rs.Extension(p); ok {
			wholeExt[e.ID] = true
			continue
		}
		if ref, ok := rs.Lookup(p); ok {
			selectAttr(ref.Extension, ref.Name(), ref.SubName())
			continue
		}
		// Not in the schema: a key the document has anyway.
		if k, ok := keyFold(doc, p); ok {
			selectAttr("", k, "")
		}
	}

	out := map[string]any{}
	for container, attrs := range sel {
		src := doc
		if container != "" {
			if wholeExt[container] {
				continue
			}
			m, ok := doc[container].(map[string]any)
			if !ok {
				continue
			}
			src = m
		}
		dst := map[string]any{}
		for name, pr := range attrs {
			v, ok := src[name]
			if !ok {
				continue
			}
			if pr.whole {
				dst[name] = v
			} else if pv, ok := selectSubs(v, pr.subs); ok {
				dst[name] = pv
			}
		}
		if len(dst) == 0 {
			continue
		}
		if container == "" {
			for k, v := range dst {
				out[k] = v
			}
		} else {
			out[container] = dst
		}
	}
	for id := range wholeExt {
		if v, ok := doc[id]; ok {
			out[id] = v
		}
	}
	return out
}

// selectSubs keeps the named sub-attributes of a complex value, or of every element of a
// multi-valued one. Elements left empty are dropped; it reports false when nothing is left.
func selectSubs(v any, subs map[string]bool) (any, bool) {
	pick := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for k, x := range m {
			if subs[k] {
				out[k] = x
			}
		}
		return out
	}
	if l, ok := jsonArray(v); ok {
		var out []any
		for _, e := range l {
			if m, ok := e.(map[string]any); ok {
				if pm := pick(m); len(pm) > 0 {
					out = append(out, pm)
				}
			}
		}
		return out, len(out) > 0
	}
	if m, ok := v.(map[string]any); ok {
		pm := pick(m)
		return pm, len(pm) > 0
	}
	return nil, false
}

// exclude removes one excludedAttributes path from the canonical document doc.
func (rs ResourceSchema) exclude(doc map[string]any, path string) {
	if e, ok := rs.Extension(path); ok {
		delete(doc, e.ID)
		return
	}
	ref, ok := rs.Lookup(path)
	if !ok {
		if k, ok := keyFold(doc, path); ok && !protectedAttribute(k) {
			delete(doc, k)
		}
		return
	}
	if ref.Extension == "" && protectedAttribute(ref.Name()) || ref.Attr.Returned() == "always" ||
		ref.Sub != nil && ref.Sub.Returned() == "always" {
		return
	}
	c := doc
	if ref.Extension != "" {
		m, ok := doc[ref.Extension].(map[string]any)
		if !ok {
			return
		}
		c = m
	}
	name := ref.Name()
	if ref.Sub == nil {
		delete(c, name)
	} else {
		removeSub(c, name, ref.Sub.Name())
	}
	if ref.Extension != "" && len(c) == 0 {
		delete(doc, ref.Extension)
	}
}

// removeSub removes a sub-attribute from c[name], a complex value or each element of a multi-valued
// one, and drops whatever is left empty.
func removeSub(c map[string]any, name, sub string) {
	v := c[name]
	if l, ok := jsonArray(v); ok {
		out := make([]any, 0, len(l))
		for _, e := range l {
			if m, ok := e.(map[string]any); ok {
				delete(m, sub)
				if len(m) == 0 {
					continue
				}
			}
			out = append(out, e)
		}
		if len(out) == 0 {
			delete(c, name)
		} else {
			c[name] = out
		}
		return
	}
	if m, ok := v.(map[string]any); ok {
		delete(m, sub)
		if len(m) == 0 {
			delete(c, name)
		}
	}
}

// dropReturnedRequest removes returned:"request" attributes, which are returned only when named in
// attributes (RFC 7643 §7).
func (rs ResourceSchema) dropReturnedRequest(doc map[string]any) {
	drop := func(c map[string]any, attrs schema.Attributes) {
		for _, a := range attrs {
			if a.Returned() == "request" {
				delete(c, a.Name())
				continue
			}
			for _, s := range a.SubAttributes() {
				if s.Returned() == "request" {
					removeSub(c, a.Name(), s.Name())
				}
			}
		}
	}
	drop(doc, rs.Core.Attributes)
	for _, e := range rs.Extensions {
		if m, ok := doc[e.ID].(map[string]any); ok {
			drop(m, e.Attributes)
		}
	}
}

// protectedAttribute reports whether excludedAttributes must leave a top-level attribute alone: id
// is returned:"always" (RFC 7643 §3.1) and schemas is needed to read the resource at all.
func protectedAttribute(name string) bool {
	return strings.EqualFold(name, "id") || strings.EqualFold(name, "schemas")
}
