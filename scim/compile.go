package scim

import (
	"net/http"
	"strings"
	"unicode/utf8"

	efilter "github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// This file is the one place where filters and PATCH paths are parsed, for GET ?filter=, POST
// .search and PATCH alike: each is bounded first (length and nesting, by a linear scan, before
// anything recursive runs; see limits.go), the IdP dialects are rewritten (normalize.go), and it is
// parsed and checked against the resource's schema. The filters IdPs send to find a user or group
// (attr eq "value") are recognised by a small scanner, without the general parser, which spends
// most of a lookup's time on them; everything else goes to github.com/scim2/filter-parser. The two
// give the same expression for the same filter (TestFastFiltersMatchTheGeneralParser).

// compiledFilter is a filter after compileFilter: the expression, and the lookup it amounts to when
// it is a single equality an index can answer.
type compiledFilter struct {
	expr   filter.Expression
	lookup *Lookup
}

// compileFilter is the one way a filter from an IdP becomes an expression.
func compileFilter(raw string, rs ResourceSchema) (compiledFilter, *Error) {
	if err := checkFilterBounds(raw); err != nil {
		return compiledFilter{}, err
	}
	raw = strings.TrimSpace(raw)
	if expr, ok := fastFilter(raw, rs); ok {
		return compiledFilter{expr: expr, lookup: lookupOf(expr, rs)}, nil
	}
	expr, err := parseFilter(NormalizeFilter(quoteBareValues(raw)), rs)
	if err != nil {
		return compiledFilter{}, err
	}
	return compiledFilter{expr: expr, lookup: lookupOf(expr, rs)}, nil
}

// parseFilter parses a filter with the general parser and checks every attribute it names against
// the whole resource schema at once: core, common and extension attributes may be combined in one
// filter (Entra's manager check does), which a validator checking one schema at a time refuses.
func parseFilter(raw string, rs ResourceSchema) (filter.Expression, *Error) {
	if err := checkFilterBounds(raw); err != nil {
		return nil, err
	}
	expr, err := filter.ParseFilter([]byte(raw))
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, TypeInvalidFilter, "the filter is not valid SCIM filter syntax")
	}
	if err := checkFilter(expr, rs, nil); err != nil {
		return nil, err
	}
	return expr, nil
}

// lookupAttributes are the attributes a Lookup may name, by lower-case path: the ones IdPs match
// users and groups on (idp-scim-behaviors.md §0 rule 7), which a backend can index.
var lookupAttributes = map[string]string{
	"username": "userName", "id": "id", "externalid": "externalId", "displayname": "displayName",
	"emails": "emails.value", "emails.value": "emails.value", "members": "members.value", "members.value": "members.value",
}

// lookupOf returns the Lookup a filter amounts to, or nil: attr eq "v" on one of
// lookupAttributes, or attr[value eq "v"] and attr[type eq "t" and value eq "v"] on emails and
// members.
func lookupOf(expr filter.Expression, rs ResourceSchema) *Lookup {
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		attr, ok := lookupAttr(e.AttributePath, rs)
		if !ok || e.Operator != filter.EQ {
			return nil
		}
		v, ok := FilterString(e.CompareValue)
		if !ok {
			return nil
		}
		return &Lookup{Attr: attr, Value: v}
	case *filter.ValuePath:
		if e.AttributePath.SubAttribute != nil {
			return nil
		}
		attr, ok := lookupAttr(e.AttributePath, rs)
		if !ok || !strings.HasSuffix(attr, ".value") {
			return nil
		}
		var typ, value *string
		var visit func(filter.Expression) bool
		visit = func(x filter.Expression) bool {
			switch c := x.(type) {
			case *filter.AttributeExpression:
				if c.Operator != filter.EQ || c.AttributePath.URIPrefix != nil || c.AttributePath.SubAttribute != nil {
					return false
				}
				s, ok := FilterString(c.CompareValue)
				if !ok {
					return false
				}
				switch {
				case strings.EqualFold(c.AttributePath.AttributeName, "value") && value == nil:
					value = &s
				case strings.EqualFold(c.AttributePath.AttributeName, "type") && typ == nil:
					typ = &s
				default:
					return false
				}
				return true
			case *filter.LogicalExpression:
				return c.Operator == filter.AND && visit(c.Left) && visit(c.Right)
			}
			return false
		}
		if !visit(e.ValueFilter) || value == nil {
			return nil
		}
		l := &Lookup{Attr: attr, Value: *value}
		if typ != nil {
			l.Type = *typ
		}
		return l
	}
	return nil
}

// lookupAttr resolves an attribute path to the canonical name of a lookup attribute.
func lookupAttr(p filter.AttributePath, rs ResourceSchema) (string, bool) {
	if p.URIPrefix != nil && !strings.EqualFold(*p.URIPrefix, rs.Core.ID) {
		return "", false
	}
	ref, ok := rs.Resolve(p)
	if !ok || ref.Extension != "" {
		return "", false
	}
	key := strings.ToLower(ref.Name())
	if ref.Sub != nil {
		key += "." + strings.ToLower(ref.Sub.Name())
	}
	attr, ok := lookupAttributes[key]
	return attr, ok
}

// fastFilter recognises, without the general parser, the filters IdPs send to find a resource:
//
//	attr eq "v"                                    userName, id, externalId, displayName, emails, emails.value, members, members.value
//	attr[value eq "v"]                             emails, members
//	attr[type eq "t" and value eq "v"]             emails (the RFC form of Entra's work email)
//	attr[type eq "t"].value eq "v"                 emails (Entra's own form)
//
// with single spaces, any case of the attribute names and of eq, and a quoted value without
// escapes or control characters. It builds exactly the expression filter-parser builds for the same
// filter after NormalizeFilter, so the rest of the edge and the backends cannot tell them apart.
// Anything else, a URN prefix or an escape included, reports false and is left to the general
// parser.
func fastFilter(raw string, rs ResourceSchema) (filter.Expression, bool) {
	s := raw
	name, s, ok := scanName(s)
	if !ok {
		return nil, false
	}
	var sub string
	if strings.HasPrefix(s, ".") {
		if sub, s, ok = scanName(s[1:]); !ok {
			return nil, false
		}
	}
	if sub == "" && strings.HasPrefix(s, "[") {
		return fastValuePath(name, s[1:], rs)
	}
	v, ok := scanEq(s)
	if !ok {
		return nil, false
	}
	ap := filter.AttributePath{AttributeName: name}
	if sub != "" {
		ap.SubAttribute = &sub
	}
	if _, ok := lookupAttr(ap, rs); !ok {
		return nil, false
	}
	return &filter.AttributeExpression{AttributePath: ap, Operator: filter.EQ, CompareValue: v}, true
}

// fastValuePath reads the rest of a value path after "attr[" (see fastFilter).
func fastValuePath(name, s string, rs ResourceSchema) (filter.Expression, bool) {
	ap := filter.AttributePath{AttributeName: name}
	if attr, ok := lookupAttr(ap, rs); !ok || !strings.HasSuffix(attr, ".value") {
		return nil, false
	}
	first, s, ok := scanName(s)
	if !ok {
		return nil, false
	}
	v1, s, ok := scanEqPrefix(s)
	if !ok {
		return nil, false
	}
	cmp := func(attr, v string) *filter.AttributeExpression {
		return &filter.AttributeExpression{AttributePath: filter.AttributePath{AttributeName: attr}, Operator: filter.EQ, CompareValue: v}
	}
	switch {
	case strings.EqualFold(first, "value") && s == "]":
		return &filter.ValuePath{AttributePath: ap, ValueFilter: cmp(first, v1)}, true
	case !strings.EqualFold(first, "type") || !strings.EqualFold(name, "emails"):
		return nil, false
	case strings.HasPrefix(s, "]."):
		// Entra's attr[type eq "t"].value eq "v": NormalizeFilter moves the comparison inside.
		second, rest, ok := scanName(s[2:])
		if !ok || !strings.EqualFold(second, "value") {
			return nil, false
		}
		v2, ok := scanEq(rest)
		if !ok {
			return nil, false
		}
		return &filter.ValuePath{AttributePath: ap, ValueFilter: &filter.LogicalExpression{Left: cmp(first, v1), Right: cmp(second, v2), Operator: filter.AND}}, true
	case len(s) > 5 && strings.EqualFold(s[:5], " and "):
		second, rest, ok := scanName(s[5:])
		if !ok || !strings.EqualFold(second, "value") {
			return nil, false
		}
		v2, rest, ok := scanEqPrefix(rest)
		if !ok || rest != "]" {
			return nil, false
		}
		return &filter.ValuePath{AttributePath: ap, ValueFilter: &filter.LogicalExpression{Left: cmp(first, v1), Right: cmp(second, v2), Operator: filter.AND}}, true
	}
	return nil, false
}

// scanName reads an attribute name (ALPHA *(nameChar)) at the start of s.
func scanName(s string) (name, rest string, ok bool) {
	i := 0
	for i < len(s) && isNameByte(s[i], i == 0) && s[i] != '$' {
		i++
	}
	if i == 0 {
		return "", s, false
	}
	return s[:i], s[i:], true
}

// scanEq reads ` eq "value"` making up all of s.
func scanEq(s string) (string, bool) {
	v, rest, ok := scanEqPrefix(s)
	return v, ok && rest == ""
}

// scanEqPrefix reads ` eq "value"` at the start of s. The value may not hold a backslash (its
// escapes are the general parser's business) nor a control character, and must be valid UTF-8.
func scanEqPrefix(s string) (value, rest string, ok bool) {
	if len(s) < 6 || s[0] != ' ' || (s[1]|0x20) != 'e' || (s[2]|0x20) != 'q' || s[3] != ' ' || s[4] != '"' {
		return "", s, false
	}
	for i := 5; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			v := s[5:i]
			if !utf8.ValidString(v) {
				return "", s, false
			}
			return v, s[i+1:], true
		case c == '\\' || c < 0x20 || c == 0x7f:
			return "", s, false
		}
	}
	return "", s, false
}

// parsePatchPath parses the path of a PATCH operation (or a key of a path-less value, which is a
// path too): bounded first, a plain attribute or attr.sub without the general parser, anything else
// (URN prefixes, value filters) with filter-parser.
func parsePatchPath(raw string) (*filter.Path, *Error) {
	if err := checkPathBounds(raw); err != nil {
		return nil, err
	}
	if name, rest, ok := scanName(raw); ok {
		switch {
		case rest == "":
			return &filter.Path{AttributePath: filter.AttributePath{AttributeName: name}}, nil
		case rest[0] == '.':
			if sub, tail, ok := scanName(rest[1:]); ok && tail == "" {
				return &filter.Path{AttributePath: filter.AttributePath{AttributeName: name, SubAttribute: &sub}}, nil
			}
		}
	}
	p, err := filter.ParsePath([]byte(raw))
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, TypeInvalidPath, "%q is not a valid attribute path", truncate(raw, 100))
	}
	return &p, nil
}

// checkFilter resolves every attribute path. Inside a value path, names
// are sub-attributes of the value path's attribute.
func checkFilter(expr filter.Expression, rs ResourceSchema, parent *AttributeRef) *Error {
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		if err := checkPath(e.AttributePath, rs, parent); err != nil {
			return err
		}
		return checkComparison(e, rs, parent)
	case *filter.LogicalExpression:
		if err := checkFilter(e.Left, rs, parent); err != nil {
			return err
		}
		return checkFilter(e.Right, rs, parent)
	case *filter.NotExpression:
		return checkFilter(e.Expression, rs, parent)
	case *filter.ValuePath:
		ref, ok := rs.Resolve(e.AttributePath)
		if !ok {
			return unknownAttr(e.AttributePath.String())
		}
		return checkFilter(e.ValueFilter, rs, &ref)
	}
	return Errorf(http.StatusBadRequest, TypeInvalidFilter, "unsupported filter expression")
}

func checkPath(p filter.AttributePath, rs ResourceSchema, parent *AttributeRef) *Error {
	if parent != nil && p.URIPrefix == nil && p.SubAttribute == nil {
		if _, ok := parent.Attr.SubAttributes().ContainsAttribute(p.AttributeName); ok {
			return nil
		}
		return unknownAttr(parent.Path() + "." + p.AttributeName)
	}
	if _, ok := rs.Resolve(p); !ok {
		// meta sub-attributes are common to every resource.
		if strings.EqualFold(p.AttributeName, "meta") {
			return nil
		}
		return unknownAttr(p.String())
	}
	return nil
}

// checkComparison refuses a comparison that can never be meaningful for the attribute's type, so
// that the IdP learns of its mistake instead of getting an empty list it would take for "no such
// user": an order or substring operator on a boolean (RFC 7644 §3.4.2.2: "Boolean and Binary
// attributes SHALL cause a failed response (HTTP status code 400) with an error type of
// invalidFilter" for gt, ge, lt and le; co, sw and ew compare strings, which a boolean is not), and
// a dateTime compared with something that is not an xsd:dateTime (meta.created gt "yesterday").
func checkComparison(e *filter.AttributeExpression, rs ResourceSchema, parent *AttributeRef) *Error {
	if e.Operator == filter.PR || e.CompareValue == nil {
		return nil
	}
	attr, ok := comparedAttribute(e.AttributePath, rs, parent)
	if !ok {
		return nil
	}
	name := truncate(e.AttributePath.String(), 80)
	switch attr.AttributeType() {
	case "boolean", "binary":
		switch e.Operator {
		case filter.GT, filter.GE, filter.LT, filter.LE, filter.CO, filter.SW, filter.EW:
			return Errorf(http.StatusBadRequest, TypeInvalidFilter, "%s is a %s and has no order or substrings; compare it with eq or ne", name, attr.AttributeType())
		}
	case "dateTime":
		s, isString := FilterString(e.CompareValue)
		if _, ok := parseDateTime(s); !isString || !ok {
			return Errorf(http.StatusBadRequest, TypeInvalidFilter, "%s is a dateTime; compare it with a quoted xsd:dateTime such as \"2024-01-31T00:00:00Z\"", name)
		}
	}
	return nil
}

// comparedAttribute is the attribute (or sub-attribute) a comparison reads: inside a value path,
// a sub-attribute of the value path's attribute; a complex attribute compared as a whole stands for
// its value sub-attribute, as Match reads it.
func comparedAttribute(p filter.AttributePath, rs ResourceSchema, parent *AttributeRef) (schema.CoreAttribute, bool) {
	var a schema.CoreAttribute
	switch {
	case parent != nil && p.URIPrefix == nil && p.SubAttribute == nil:
		s, ok := efilter.MultiValuedFilterAttributes(parent.Attr).ContainsAttribute(p.AttributeName)
		if !ok {
			return a, false
		}
		a = s
	default:
		ref, ok := rs.Resolve(p)
		if !ok {
			return a, false
		}
		a = ref.Target()
	}
	if a.AttributeType() == "complex" {
		vs, ok := a.SubAttributes().ContainsAttribute("value")
		return vs, ok
	}
	return a, true
}

func unknownAttr(name string) *Error {
	return Errorf(http.StatusBadRequest, TypeInvalidFilter, "the filter names %q, which this resource does not have", truncate(name, 80))
}
