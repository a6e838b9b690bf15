package scim

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/scim2/filter-parser/v2"
)

// parseFilter parses a filter and checks every attribute it names against
// the whole resource schema at once: core, common and extension attributes
// may be combined in one filter (Entra's manager check does), which the
// library's validator, checking one schema at a time, refuses.
func parseFilter(raw string, rs ResourceSchema) (filter.Expression, *Error) {
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
		return checkPath(e.AttributePath, rs, parent)
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
