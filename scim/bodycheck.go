package scim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/elimity-com/scim/schema"
)

// This file holds the checks a request body passes at the edge, after it is decoded and before the
// dialect rewrites and the schema validation see it. They refuse what no IdP sends and what would otherwise
// be written to Freshservice or reach a recursive parser unbounded.

// URNSearchRequest is the schema of a POST .search body (RFC 7644 §3.4.3).
const URNSearchRequest = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

// urnEntraGroup is the schema Entra lists beside the core one when it creates a group. It names no
// attribute the bridge could store, so it is accepted and ignored (idp-scim-behaviors.md §0 rule 18).
const urnEntraGroup = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"

// forbiddenControl reports whether a rune may not appear in any string of a request body: the C0
// controls but TAB, LF and CR, and DEL. None of them has a meaning in a name, an address or an
// identifier; NUL in particular truncates values in some of the systems Freshservice feeds, and the
// others are invisible in every user interface that shows them. TAB, LF and CR stay: multi-line
// values (addresses.formatted, a Freshservice background) legitimately hold them. The C1 controls
// (U+0080 to U+009F) and U+2028/U+2029 are accepted: they are what text decoded with the wrong
// code page or pasted from a word processor contains, and refusing them would block a person over
// one attribute of otherwise good data.
func forbiddenControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f
}

// checkControlChars walks a decoded body (bounded in depth by decodeBody) and refuses the first
// string, key or value, that holds a forbidden control character. The detail names where it is and
// which character, never the string itself.
func checkControlChars(v any, path string) *Error {
	switch t := v.(type) {
	case string:
		if r, ok := firstForbidden(t); ok {
			return Errorf(http.StatusBadRequest, TypeInvalidValue, "the value of %s holds the control character U+%04X, which is not accepted in any string", describePath(path), r)
		}
	case map[string]any:
		// In key order, so that the answer names the same attribute every time.
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if r, ok := firstForbidden(k); ok {
				return Errorf(http.StatusBadRequest, TypeInvalidValue, "an attribute name in %s holds the control character U+%04X, which is not accepted in any string", describePath(path), r)
			}
			if err := checkControlChars(t[k], joinPath(path, k)); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range t {
			if err := checkControlChars(e, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}

func firstForbidden(s string) (rune, bool) {
	for i := 0; i < len(s); i++ {
		// Every forbidden rune is a single byte, and no byte of a multi-byte UTF-8 sequence is
		// below 0x80, so a byte scan is exact.
		if c := s[i]; c < 0x20 || c == 0x7f {
			if r := rune(c); forbiddenControl(r) {
				return r, true
			}
		}
	}
	return 0, false
}

// joinPath appends an attribute name to a path for error details, shortened so that a hostile
// key cannot make the detail huge.
func joinPath(path, key string) string {
	if len(key) > 64 {
		key = key[:64]
		for !utf8.ValidString(key) {
			key = key[:len(key)-1]
		}
		key += "…"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func describePath(path string) string {
	if path == "" {
		return "the body"
	}
	return truncate(path, 200)
}

// schemasOf returns the value of the body's schemas attribute, whatever its case (RFC 7643 §2.1:
// attribute names are case-insensitive), renaming it to "schemas".
func schemasOf(body map[string]any) (any, bool) {
	k, ok := keyFold(body, "schemas")
	if !ok {
		return nil, false
	}
	v := body[k]
	if k != "schemas" {
		delete(body, k)
		body["schemas"] = v
	}
	return v, v != nil
}

// schemaList reads schemas as a list of strings; a single string is taken as a list of one.
func schemaList(v any) ([]string, *Error) {
	var raw []any
	switch t := v.(type) {
	case string:
		raw = []any{t}
	case []any:
		raw = t
	default:
		return nil, Errorf(http.StatusBadRequest, TypeInvalidValue, "schemas must be an array of schema URNs")
	}
	out := make([]string, 0, len(raw))
	for _, e := range raw {
		s, ok := e.(string)
		if !ok {
			return nil, Errorf(http.StatusBadRequest, TypeInvalidValue, "schemas must be an array of schema URNs")
		}
		out = append(out, s)
	}
	return out, nil
}

// checkResourceSchemas checks the schemas of a POST or PUT body before the dialect rewrite: RFC 7643
// §3 makes schemas REQUIRED, and every URN it lists must be the resource's core schema or one of
// its extensions, in any of the spellings real IdPs send (the SCIM 1.1 URNs of OneLogin templates,
// Entra's malformed enterprise URN; see urnAliases), or Entra's own group schema. A missing schemas
// is answered invalidValue, not invalidSyntax: RFC 7644 §3.12 defines invalidValue as "a required
// value was missing", while the body is well-formed JSON of the right structure, and it is what
// the edge answers for a PATCH or search body without its URN, so the IdP sees one answer for
// one fault.
func checkResourceSchemas(body map[string]any, rs ResourceSchema) *Error {
	kind := "User"
	if rs.Core.ID == URNGroup {
		kind = "Group"
	}
	v, ok := schemasOf(body)
	if !ok {
		return Errorf(http.StatusBadRequest, TypeInvalidValue, "the body has no schemas; a %s must list %q (RFC 7643 §3)", kind, rs.Core.ID)
	}
	list, err := schemaList(v)
	if err != nil {
		return err
	}
	core := false
	for _, s := range list {
		c, ok := resourceURN(s, rs)
		if !ok {
			return Errorf(http.StatusBadRequest, TypeInvalidValue, "schemas lists %q, which is not a schema of %s resources here; see /scim/v2/ResourceTypes", truncate(s, 100), kind)
		}
		if c == rs.Core.ID {
			core = true
		}
	}
	if !core {
		return Errorf(http.StatusBadRequest, TypeInvalidValue, "schemas must list the core schema %q", rs.Core.ID)
	}
	return nil
}

// resourceURN returns the canonical URN a schemas entry stands for, if it is one of the resource's.
func resourceURN(s string, rs ResourceSchema) (string, bool) {
	if c, ok := canonicalURN(s); ok {
		s = c
	}
	if strings.EqualFold(strings.TrimSpace(s), rs.Core.ID) {
		return rs.Core.ID, true
	}
	if e, ok := rs.Extension(strings.TrimSpace(s)); ok {
		return e.ID, true
	}
	if rs.Core.ID == URNGroup && strings.EqualFold(strings.TrimSpace(s), urnEntraGroup) {
		return urnEntraGroup, true
	}
	return "", false
}

// checkPatchSchemas refuses a PATCH body whose schemas does not name the PatchOp message (RFC 7644
// §3.5.2: "The body of each request MUST contain the "schemas" attribute with the URI value of
// urn:ietf:params:scim:api:messages:2.0:PatchOp"). Any spelling of that URN is accepted, and other
// entries beside it are dropped by NormalizePatch.
func checkPatchSchemas(body map[string]any) *Error {
	v, ok := schemasOf(body)
	if !ok {
		return Errorf(http.StatusBadRequest, TypeInvalidValue, "the PATCH body has no schemas; it must be [%q] (RFC 7644 §3.5.2)", URNPatchOp)
	}
	list, err := schemaList(v)
	if err != nil {
		return err
	}
	for _, s := range list {
		if c, ok := canonicalURN(s); ok && c == URNPatchOp {
			return nil
		}
	}
	return Errorf(http.StatusBadRequest, TypeInvalidValue, "the PATCH body's schemas must be [%q] (RFC 7644 §3.5.2)", URNPatchOp)
}

// checkPatchOperations bounds a normalised PATCH body before its paths are parsed: at most
// maxPatchOperations operations, and every path, and every key of a path-less value (each is a path
// too, parsed as one), within the filter bounds.
//
// Too many operations is answered 400 invalidValue. RFC 7644 defines no limit on PATCH operations
// and no scimType for one; tooMany is defined for a filter that "yields many more results than the
// server is willing to calculate or process" and clients read it as a query problem, while
// invalidValue covers a value "not compatible with the operation", which an over-long Operations
// array is. The detail states the limit, since ServiceProviderConfig has no field to advertise it.
func checkPatchOperations(body map[string]any) *Error {
	ops, _ := body["Operations"].([]any)
	if len(ops) > maxPatchOperations {
		return Errorf(http.StatusBadRequest, TypeInvalidValue, "the PATCH body has %d operations; at most %d are accepted in one request, so split it", len(ops), maxPatchOperations)
	}
	for i, o := range ops {
		op, ok := o.(map[string]any)
		if !ok {
			continue
		}
		if p, ok := op["path"].(string); ok {
			if err := checkPathBounds(p); err != nil {
				return opBoundsError(err, i)
			}
			continue
		}
		value, ok := op["value"].(map[string]any)
		if !ok {
			continue
		}
		for k, v := range value {
			if err := checkPathBounds(k); err != nil {
				return opBoundsError(err, i)
			}
			// An extension URN's object holds paths in turn.
			if m, ok := v.(map[string]any); ok {
				for kk := range m {
					if err := checkPathBounds(kk); err != nil {
						return opBoundsError(err, i)
					}
				}
			}
		}
	}
	return nil
}

func opBoundsError(err *Error, i int) *Error {
	err.Detail = fmt.Sprintf("operation %d: %s", i+1, err.Detail)
	return err
}

// prepareSearch checks a POST .search body and puts its fields in the form of a query's: each key
// spelt once (in any case), schemas naming the SearchRequest message (RFC 7644 §3.4.3), filter a
// string (compiled later by compileFilter, exactly as a GET ?filter= is), startIndex and count
// integers within int32 (as text; below 1 or 0 they are clamped), attributes and
// excludedAttributes lists of names (a comma-separated string, as in a query, is accepted).
func prepareSearch(body map[string]any) *Error {
	for _, name := range []string{"filter", "startIndex", "count", "attributes", "excludedAttributes", "sortBy", "sortOrder", "schemas"} {
		if err := foldKeyOnce(body, name); err != nil {
			return err
		}
	}
	list, err := schemaList(body["schemas"])
	if err != nil || !containsFold(list, URNSearchRequest) {
		return Errorf(http.StatusBadRequest, TypeInvalidValue, "the .search body's schemas must be [%q] (RFC 7644 §3.4.3)", URNSearchRequest)
	}
	for _, k := range []string{"attributes", "excludedAttributes"} {
		if v, ok := body[k]; ok && v != nil {
			if _, err := schemaList(v); err != nil {
				return Errorf(http.StatusBadRequest, TypeInvalidValue, "%s must be an array of attribute names", k)
			}
		}
	}
	switch body["filter"].(type) {
	case nil, string:
	default:
		return Errorf(http.StatusBadRequest, TypeInvalidFilter, "filter must be a string")
	}
	for _, k := range []string{"startIndex", "count"} {
		v, ok := body[k]
		if !ok {
			continue
		}
		var text string
		switch t := v.(type) {
		case nil:
			delete(body, k)
			continue
		case json.Number:
			text = t.String()
		case string:
			text = t
		default:
			return Errorf(http.StatusBadRequest, TypeInvalidValue, "%s must be an integer", k)
		}
		n, err := pagingValue(k, text)
		if err != nil {
			return err
		}
		body[k] = strconv.FormatInt(n, 10)
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), s) {
			return true
		}
	}
	return false
}

// foldKeyOnce renames the one key of body that equals name case-insensitively to name, and refuses
// a body that spells it twice: search fields are read case-insensitively, so a second
// spelling would reach it past the edge's checks.
func foldKeyOnce(body map[string]any, name string) *Error {
	var found []string
	for k := range body {
		if strings.EqualFold(k, name) {
			found = append(found, k)
		}
	}
	switch len(found) {
	case 0:
		return nil
	case 1:
		if found[0] != name {
			body[name] = body[found[0]]
			delete(body, found[0])
		}
		return nil
	}
	return Errorf(http.StatusBadRequest, TypeInvalidSyntax, "the body holds %s more than once", name)
}

// requiredAttributes are the attributes of a resource schema that RFC 7643 marks required (User:
// userName; Group: displayName), which must stay non-empty strings through every PATCH.
func requiredAttributes(s schema.Schema) []schema.CoreAttribute {
	var out []schema.CoreAttribute
	for _, a := range s.Attributes {
		if a.Required() && !a.MultiValued() && a.AttributeType() == "string" {
			out = append(out, a)
		}
	}
	return out
}

// checkRequiredValues refuses a POST or PUT body whose required attribute is present but empty
// or blank (schema validation refuses it when absent, but takes "" as a value): a user without a
// userName or a group without a displayName cannot be found again by any IdP. 400 invalidValue,
// as for a missing one.
func checkRequiredValues(body map[string]any, rs ResourceSchema) *Error {
	for _, a := range requiredAttributes(rs.Core) {
		v, ok := getFold(body, a.Name())
		if !ok || v == nil {
			continue
		}
		if s, isString := v.(string); isString && strings.TrimSpace(s) == "" {
			return Errorf(http.StatusBadRequest, TypeInvalidValue, "%s is required and cannot be empty", a.Name())
		}
	}
	return nil
}
