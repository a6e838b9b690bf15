package scim

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	efilter "github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// compileFilter is the one way a filter from an IdP becomes an expression, for GET ?filter= and
// POST .search alike, so that both accept and refuse the same filters: bounded first (length and
// nesting, by a linear scan, before anything recursive runs), then Entra's legacy unquoted values
// quoted and its attr[filter].sub form rewritten, then parsed and checked against the schema.
func compileFilter(raw string, rs ResourceSchema) (filter.Expression, *Error) {
	if err := checkFilterBounds(raw); err != nil {
		return nil, err
	}
	return parseFilter(NormalizeFilter(quoteBareValues(strings.TrimSpace(raw))), rs)
}

// parseFilter parses a filter and checks every attribute it names against
// the whole resource schema at once: core, common and extension attributes
// may be combined in one filter (Entra's manager check does), which the
// library's validator, checking one schema at a time, refuses.
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

// bareValue matches a comparison whose value is not quoted: Entra's
// legacy manager check sends `id eq 54D382A4-… and manager eq 2819c223-…`.
var bareValue = regexp.MustCompile(`(?i)(\s(?:eq|ne|co|sw|ew|gt|lt|ge|le)\s+)([^\s"()\[\]]+)`)

// quoteBareValues quotes unquoted comparison values that are not numbers,
// booleans or null, outside quoted strings.
func quoteBareValues(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); {
		if raw[i] == '"' {
			j, _ := skipQuoted(raw, i)
			b.WriteString(raw[i:j])
			i = j
			continue
		}
		j := strings.IndexByte(raw[i:], '"')
		if j < 0 {
			j = len(raw)
		} else {
			j += i
		}
		b.WriteString(bareValue.ReplaceAllStringFunc(raw[i:j], func(m string) string {
			sub := bareValue.FindStringSubmatch(m)
			v := sub[2]
			switch strings.ToLower(v) {
			case "true", "false", "null":
				return m
			}
			if isNumber(v) {
				return m
			}
			return sub[1] + fmt.Sprintf("%q", v)
		}))
		i = j
	}
	return b.String()
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	dot := false
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
		case c == '-' && i == 0:
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return true
}
