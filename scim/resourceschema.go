package scim

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"

	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"
)

// ResourceSchema is the schema of one SCIM resource type: its core schema and the extension schemas
// its resources may carry. The PATCH, filter and projection engine resolves every attribute path
// against it, case-insensitively, as RFC 7643 §2.1 requires.
//
// A resource is a JSON document as encoding/json decodes it: core and common attributes at the top
// level, extension attributes inside a map under the extension's URN, e.g.
// doc["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"].
type ResourceSchema struct {
	Core       schema.Schema
	Extensions []schema.Schema
}

// AttributeRef is an attribute path resolved against a ResourceSchema.
type AttributeRef struct {
	// Extension is the URN of the extension schema that holds the attribute, or "" for core and
	// common attributes (id, externalId, meta, schemas).
	Extension string
	// Attr is the top-level attribute.
	Attr schema.CoreAttribute
	// Sub is the addressed sub-attribute of Attr, or nil when the path names Attr as a whole.
	Sub *schema.CoreAttribute
}

// Name is the canonical name of the top-level attribute, e.g. "userName" for "USERNAME".
func (r AttributeRef) Name() string { return r.Attr.Name() }

// SubName is the canonical name of the addressed sub-attribute, or "".
func (r AttributeRef) SubName() string {
	if r.Sub == nil {
		return ""
	}
	return r.Sub.Name()
}

// Target is the attribute the path designates: the sub-attribute if one is addressed, otherwise
// the top-level attribute.
func (r AttributeRef) Target() schema.CoreAttribute {
	if r.Sub != nil {
		return *r.Sub
	}
	return r.Attr
}

// Path is the canonical spelling of the path, e.g. "name.givenName" or
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".
func (r AttributeRef) Path() string {
	p := r.Attr.Name()
	if r.Extension != "" {
		p = r.Extension + ":" + p
	}
	if r.Sub != nil {
		p += "." + r.Sub.Name()
	}
	return p
}

// commonAttributes are the attributes every resource has (RFC 7643 §3.1): schemas, id, externalId
// and meta, with the schema library's characteristics (id readOnly and caseExact, externalId caseExact, meta
// readOnly).
var commonAttributes = schema.CommonAttributes()

// Extension returns the extension schema whose URN is uri, compared case-insensitively.
func (rs ResourceSchema) Extension(uri string) (schema.Schema, bool) {
	for _, e := range rs.Extensions {
		if strings.EqualFold(e.ID, uri) {
			return e, true
		}
	}
	return schema.Schema{}, false
}

// Resolve resolves a parsed attribute path (as filter-parser gives it in filters and PATCH paths).
// A path without a URN prefix is looked up in the core schema, then among the common attributes,
// then in each extension; a URN prefix selects the core schema or one extension. It reports false
// for an unknown attribute or sub-attribute.
func (rs ResourceSchema) Resolve(p filter.AttributePath) (AttributeRef, bool) {
	return rs.resolve(p.URI(), p.AttributeName, p.SubAttributeName())
}

// Lookup resolves an attribute path written as text, such as "userName", "name.givenName",
// "emails.value" or "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".
// The bare URN of an extension is not an attribute: use Extension for that.
func (rs ResourceSchema) Lookup(path string) (AttributeRef, bool) {
	uri, rest := rs.splitURN(strings.TrimSpace(path))
	name, sub, _ := strings.Cut(rest, ".")
	if name == "" {
		return AttributeRef{}, false
	}
	return rs.resolve(uri, name, sub)
}

// splitURN splits a known schema URN (core or extension) off the front of path. Schema URNs contain
// dots ("2.0"), so this must happen before the path is split on ".".
func (rs ResourceSchema) splitURN(path string) (uri, rest string) {
	best := ""
	for _, id := range rs.schemaIDs() {
		if len(path) > len(id)+1 && strings.EqualFold(path[:len(id)], id) && path[len(id)] == ':' && len(id) > len(best) {
			best = id
		}
	}
	if best == "" {
		return "", path
	}
	return best, path[len(best)+1:]
}

func (rs ResourceSchema) schemaIDs() []string {
	ids := make([]string, 0, 1+len(rs.Extensions))
	if rs.Core.ID != "" {
		ids = append(ids, rs.Core.ID)
	}
	for _, e := range rs.Extensions {
		ids = append(ids, e.ID)
	}
	return ids
}

func (rs ResourceSchema) resolve(uri, name, sub string) (AttributeRef, bool) {
	var ref AttributeRef
	found := false
	switch {
	case uri == "":
		if a, ok := rs.coreAttribute(name); ok {
			ref, found = AttributeRef{Attr: a}, true
			break
		}
		for _, e := range rs.Extensions {
			if a, ok := e.Attributes.ContainsAttribute(name); ok {
				ref, found = AttributeRef{Extension: e.ID, Attr: a}, true
				break
			}
		}
	case strings.EqualFold(uri, rs.Core.ID):
		if a, ok := rs.coreAttribute(name); ok {
			ref, found = AttributeRef{Attr: a}, true
		}
	default:
		if e, ok := rs.Extension(uri); ok {
			if a, ok := e.Attributes.ContainsAttribute(name); ok {
				ref, found = AttributeRef{Extension: e.ID, Attr: a}, true
			}
		}
	}
	if !found {
		return AttributeRef{}, false
	}
	if sub != "" {
		s, ok := ref.Attr.SubAttributes().ContainsAttribute(sub)
		if !ok {
			return AttributeRef{}, false
		}
		ref.Sub = &s
	}
	return ref, true
}

// coreAttribute finds a core-schema attribute, then a common attribute.
func (rs ResourceSchema) coreAttribute(name string) (schema.CoreAttribute, bool) {
	if a, ok := rs.Core.Attributes.ContainsAttribute(name); ok {
		return a, true
	}
	return schema.Attributes(commonAttributes).ContainsAttribute(name)
}

// Canonicalize returns a deep copy of doc in which every attribute the schema knows is spelt with
// its canonical name ("username" becomes "userName", an extension container key takes the
// extension's exact URN, sub-attributes likewise), and returned:"never" attributes are removed, as
// is a top-level password whatever the schema says. Unknown keys are kept as they are. When a document spells one attribute twice in
// different cases, the canonical spelling wins.
func (rs ResourceSchema) Canonicalize(doc map[string]any) map[string]any {
	out := make(map[string]any, len(doc))
	for _, k := range canonicalKeyOrder(doc, func(k string) string {
		if e, ok := rs.Extension(k); ok {
			return e.ID
		}
		if a, ok := rs.coreAttribute(k); ok {
			return a.Name()
		}
		return k
	}) {
		v := doc[k]
		if e, ok := rs.Extension(k); ok {
			if m, ok := jsonObject(v); ok {
				out[e.ID] = canonicalAttributes(e.Attributes, m)
			} else {
				out[e.ID] = jsonClone(v)
			}
			continue
		}
		a, ok := rs.coreAttribute(k)
		if !ok {
			// A password is dropped even where the schema has no such attribute (a Group).
			if !strings.EqualFold(k, "password") {
				out[k] = jsonClone(v)
			}
			continue
		}
		if a.Returned() == "never" {
			continue
		}
		out[a.Name()] = canonicalValue(a, v)
	}
	return out
}

// canonicalAttributes canonicalises the members of an extension container.
func canonicalAttributes(attrs schema.Attributes, m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for _, k := range canonicalKeyOrder(m, func(k string) string {
		if a, ok := attrs.ContainsAttribute(k); ok {
			return a.Name()
		}
		return k
	}) {
		a, ok := attrs.ContainsAttribute(k)
		if !ok {
			out[k] = jsonClone(m[k])
			continue
		}
		if a.Returned() == "never" {
			continue
		}
		out[a.Name()] = canonicalValue(a, m[k])
	}
	return out
}

// canonicalValue deep-copies the value of attribute a, canonicalising sub-attribute names.
func canonicalValue(a schema.CoreAttribute, v any) any {
	if a.AttributeType() != "complex" {
		return jsonClone(v)
	}
	if list, ok := jsonArray(v); ok {
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = canonicalValue(a, e)
		}
		return out
	}
	if m, ok := jsonObject(v); ok {
		return canonicalAttributes(a.SubAttributes(), m)
	}
	return jsonClone(v)
}

// canonicalKeyOrder orders the keys of m so that, among keys with the same canonical name, the one
// already spelt canonically comes last and so wins when the caller overwrites. Otherwise the order
// is sorted, so the result never depends on map iteration order.
func canonicalKeyOrder(m map[string]any, canonical func(string) string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ei, ej := keys[i] == canonical(keys[i]), keys[j] == canonical(keys[j])
		if ei != ej {
			return !ei
		}
		return keys[i] < keys[j]
	})
	return keys
}

// The helpers below read JSON-shaped values defensively. Documents come from encoding/json
// (map[string]any, []any, json.Number or float64), but the bridge may also build them in Go
// ([]map[string]any, []string, int), so other slice and map kinds are accepted through reflection.

// jsonObject returns v as an object. A map of another type is copied into a new map[string]any.
func jsonObject(v any) (map[string]any, bool) {
	switch t := v.(type) {
	case map[string]any:
		return t, t != nil
	case nil:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String || rv.IsNil() {
		return nil, false
	}
	out := make(map[string]any, rv.Len())
	iter := rv.MapRange()
	for iter.Next() {
		out[iter.Key().String()] = iter.Value().Interface()
	}
	return out, true
}

// jsonArray returns v as an array. A typed nil slice is an empty array. A slice of another element
// type is copied into a new []any; []byte is not an array.
func jsonArray(v any) ([]any, bool) {
	switch t := v.(type) {
	case []any:
		return t, true
	case nil, []byte, string:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// jsonClone deep-copies a JSON-shaped value into map[string]any and []any form.
func jsonClone(v any) any {
	switch t := v.(type) {
	case nil, string, bool, float64, float32, json.Number, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return t
	case map[string]any:
		if t == nil {
			return t
		}
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = jsonClone(e)
		}
		return out
	case []any:
		if t == nil {
			return t
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = jsonClone(e)
		}
		return out
	}
	if m, ok := jsonObject(v); ok {
		return jsonClone(m)
	}
	if l, ok := jsonArray(v); ok {
		return jsonClone(l)
	}
	return v
}

// isJSONNull reports whether v is null: untyped nil, or a nil map or slice.
func isJSONNull(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// keyFold finds the key of m that equals name case-insensitively, preferring an exact match.
func keyFold(m map[string]any, name string) (string, bool) {
	if _, ok := m[name]; ok {
		return name, true
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

// getFold returns the value of the key of m that equals name case-insensitively.
func getFold(m map[string]any, name string) (any, bool) {
	k, ok := keyFold(m, name)
	if !ok {
		return nil, false
	}
	return m[k], true
}
