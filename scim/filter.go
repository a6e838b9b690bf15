package scim

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	efilter "github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"
)

// Match reports whether the resource doc satisfies the filter expr (RFC 7644 §3.4.2.2), as parsed by
// compileFilter. A nil expr matches every resource.
//
//   - Attribute names are resolved case-insensitively against rs, with or without a URN prefix;
//     an attribute the schema does not know never matches.
//   - String comparisons honour the schema's caseExact: userName, displayName and emails.value
//     compare case-insensitively, id and externalId exactly. gt/ge/lt/le compare strings
//     lexicographically, dateTime values as instants, numbers numerically; booleans support eq and
//     ne only.
//   - A sub-attribute of a multi-valued attribute (emails.value eq "x") matches when any element
//     matches; a complex attribute compared without a sub-attribute (members eq "id", manager eq
//     "id") compares its value sub-attribute.
//   - ne is the negation of eq, so it matches a resource that lacks the attribute; eq null matches
//     an attribute that is absent, null or empty, and ne null is pr.
//   - Compare values have their JSON escapes decoded (see FilterString).
func Match(doc map[string]any, expr filter.Expression, rs ResourceSchema) bool {
	if expr == nil {
		return true
	}
	return rs.match(doc, expr)
}

func (rs ResourceSchema) match(doc map[string]any, expr filter.Expression) bool {
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		if e == nil {
			return false
		}
		ref, ok := rs.Resolve(e.AttributePath)
		if !ok {
			return false
		}
		raw, _ := rs.valueOf(doc, ref)
		def, operands := operandsOf(ref, raw, e.Operator == filter.PR)
		return compareOperands(def, operands, e.Operator, e.CompareValue)
	case *filter.ValuePath:
		if e == nil {
			return false
		}
		ref, ok := rs.Resolve(e.AttributePath)
		if !ok || ref.Sub != nil {
			return false
		}
		raw, _ := rs.valueOf(doc, ref)
		for _, el := range elementsOf(raw) {
			if matchElement(e.ValueFilter, el, ref.Attr) {
				return true
			}
		}
		return false
	case *filter.LogicalExpression:
		if e == nil {
			return false
		}
		switch e.Operator {
		case filter.AND:
			return rs.match(doc, e.Left) && rs.match(doc, e.Right)
		case filter.OR:
			return rs.match(doc, e.Left) || rs.match(doc, e.Right)
		}
		return false
	case *filter.NotExpression:
		if e == nil || e.Expression == nil {
			return false
		}
		return !rs.match(doc, e.Expression)
	}
	return false
}

// valueOf returns the raw value of the top-level attribute of ref in doc.
func (rs ResourceSchema) valueOf(doc map[string]any, ref AttributeRef) (any, bool) {
	c := doc
	if ref.Extension != "" {
		ext, ok := getFold(doc, ref.Extension)
		if !ok {
			return nil, false
		}
		if c, ok = jsonObject(ext); !ok {
			return nil, false
		}
	}
	return getFold(c, ref.Name())
}

// operandsOf lists the values a comparison on ref looks at, and the attribute definition they
// follow. For pr on a complex attribute without a sub-attribute the operands are the objects
// themselves.
func operandsOf(ref AttributeRef, raw any, presence bool) (schema.CoreAttribute, []any) {
	a := ref.Attr
	var elems []any
	if a.MultiValued() {
		elems = elementsOf(raw)
	} else if !isJSONNull(raw) {
		elems = []any{raw}
	}
	switch {
	case ref.Sub != nil:
		out := make([]any, 0, len(elems))
		for _, el := range elems {
			if m, ok := jsonObject(el); ok {
				if x, ok := getFold(m, ref.Sub.Name()); ok {
					out = append(out, x)
				}
			}
		}
		return *ref.Sub, out
	case a.AttributeType() == "complex" && !presence:
		vs, ok := a.SubAttributes().ContainsAttribute("value")
		if !ok {
			return a, nil
		}
		out := make([]any, 0, len(elems))
		for _, el := range elems {
			if m, ok := jsonObject(el); ok {
				if x, ok := getFold(m, vs.Name()); ok {
					out = append(out, x)
				}
			} else {
				// A bare string where an object belongs (a manager stored as its id).
				out = append(out, el)
			}
		}
		return vs, out
	default:
		return a, elems
	}
}

// matchElement evaluates a value filter against one element of multi-valued attribute a. Attribute
// names in the filter are sub-attributes of a, or "value" for a multi-valued simple attribute.
func matchElement(expr filter.Expression, el any, a schema.CoreAttribute) bool {
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		if e == nil || e.AttributePath.SubAttribute != nil {
			return false
		}
		s, ok := efilter.MultiValuedFilterAttributes(a).ContainsAttribute(e.AttributePath.AttributeName)
		if !ok {
			return false
		}
		var raw any
		if a.AttributeType() == "complex" {
			m, ok := jsonObject(el)
			if !ok {
				return false
			}
			raw, _ = getFold(m, s.Name())
		} else {
			raw = el
		}
		var operands []any
		if s.MultiValued() {
			operands = elementsOf(raw)
		} else if !isJSONNull(raw) {
			operands = []any{raw}
		}
		return compareOperands(s, operands, e.Operator, e.CompareValue)
	case *filter.LogicalExpression:
		if e == nil {
			return false
		}
		switch e.Operator {
		case filter.AND:
			return matchElement(e.Left, el, a) && matchElement(e.Right, el, a)
		case filter.OR:
			return matchElement(e.Left, el, a) || matchElement(e.Right, el, a)
		}
		return false
	case *filter.NotExpression:
		if e == nil || e.Expression == nil {
			return false
		}
		return !matchElement(e.Expression, el, a)
	}
	return false
}

// compareOperands applies a comparison to the operands of an attribute: true when any operand
// satisfies it. ne is the negation of eq, and comparisons with null test presence.
func compareOperands(def schema.CoreAttribute, operands []any, op filter.CompareOperator, cv any) bool {
	present := false
	for _, o := range operands {
		if isPresentValue(o) {
			present = true
			break
		}
	}
	switch op {
	case filter.PR:
		return present
	case filter.NE:
		return !compareOperands(def, operands, filter.EQ, cv)
	}
	if cv == nil {
		return op == filter.EQ && !present
	}
	for _, o := range operands {
		if compareValue(def, op, o, cv) {
			return true
		}
	}
	return false
}

// isPresentValue reports whether a value counts as present for pr: not null, not "", not an empty
// array or object (RFC 7644 §3.4.2.2).
func isPresentValue(v any) bool {
	if isJSONNull(v) {
		return false
	}
	if s, ok := v.(string); ok {
		return s != ""
	}
	if l, ok := jsonArray(v); ok {
		for _, e := range l {
			if isPresentValue(e) {
				return true
			}
		}
		return false
	}
	if m, ok := jsonObject(v); ok {
		for _, e := range m {
			if isPresentValue(e) {
				return true
			}
		}
		return false
	}
	return true
}

// compareValue compares one attribute value v with the filter's compare value cv.
func compareValue(def schema.CoreAttribute, op filter.CompareOperator, v, cv any) bool {
	if isJSONNull(v) {
		return false
	}
	switch def.AttributeType() {
	case "boolean":
		b1, ok1 := boolValue(v)
		b2, ok2 := boolValue(cv)
		return ok1 && ok2 && op == filter.EQ && b1 == b2
	case "integer", "decimal":
		f1, ok1 := numberValue(v)
		f2, ok2 := numberValue(cv)
		if !ok1 || !ok2 {
			return false
		}
		return compareOrdered(op, f1, f2)
	case "complex":
		return false
	}
	s1, ok1 := operandString(v)
	s2, ok2 := FilterString(cv)
	if !ok2 {
		s2, ok2 = numberString(cv)
	}
	if !ok1 || !ok2 {
		return false
	}
	if def.AttributeType() == "dateTime" {
		t1, ok1 := parseDateTime(s1)
		t2, ok2 := parseDateTime(s2)
		if ok1 && ok2 {
			switch op {
			case filter.EQ:
				return t1.Equal(t2)
			case filter.GT:
				return t1.After(t2)
			case filter.GE:
				return !t1.Before(t2)
			case filter.LT:
				return t1.Before(t2)
			case filter.LE:
				return !t1.After(t2)
			}
		}
	}
	if !def.CaseExact() {
		s1, s2 = strings.ToLower(s1), strings.ToLower(s2)
	}
	switch op {
	case filter.EQ:
		return s1 == s2
	case filter.CO:
		return strings.Contains(s1, s2)
	case filter.SW:
		return strings.HasPrefix(s1, s2)
	case filter.EW:
		return strings.HasSuffix(s1, s2)
	case filter.GT:
		return s1 > s2
	case filter.GE:
		return s1 >= s2
	case filter.LT:
		return s1 < s2
	case filter.LE:
		return s1 <= s2
	}
	return false
}

func compareOrdered(op filter.CompareOperator, a, b float64) bool {
	switch op {
	case filter.EQ:
		return a == b
	case filter.GT:
		return a > b
	case filter.GE:
		return a >= b
	case filter.LT:
		return a < b
	case filter.LE:
		return a <= b
	}
	return false
}

// operandString reads a stored value of a string-typed attribute. A number stored where a string
// belongs (an id kept as a number) compares as its decimal text.
func operandString(v any) (string, bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	return numberString(v)
}

// numberString formats a JSON number as text: 12, not 12.000000 or 1.2e+01.
func numberString(v any) (string, bool) {
	switch n := v.(type) {
	case json.Number:
		return n.String(), true
	case float64:
		if math.IsInf(n, 0) || math.IsNaN(n) {
			return "", false
		}
		return strconv.FormatFloat(n, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(n), 'f', -1, 32), true
	case int:
		return strconv.Itoa(n), true
	case int8, int16, int32, int64:
		return strconv.FormatInt(toInt64(n), 10), true
	case uint, uint8, uint16, uint32, uint64:
		return strconv.FormatUint(toUint64(n), 10), true
	}
	return "", false
}

// numberValue reads a number, including a numeric string.
func numberValue(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, !math.IsNaN(n)
	case float32:
		return float64(n), true
	case int, int8, int16, int32, int64:
		return float64(toInt64(n)), true
	case uint, uint8, uint16, uint32, uint64:
		return float64(toUint64(n)), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		return f, err == nil && !math.IsNaN(f)
	}
	return 0, false
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int8:
		return int64(n)
	case int16:
		return int64(n)
	case int32:
		return int64(n)
	case int64:
		return n
	}
	return 0
}

func toUint64(v any) uint64 {
	switch n := v.(type) {
	case uint:
		return uint64(n)
	case uint8:
		return uint64(n)
	case uint16:
		return uint64(n)
	case uint32:
		return uint64(n)
	case uint64:
		return n
	}
	return 0
}

// parseDateTime reads an xsd:dateTime (RFC 7643 §2.3.5); without a zone it is taken as UTC.
func parseDateTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// FilterString returns the text a filter's string compare value stands for, with the JSON escapes
// of RFC 7644's compValue decoded: \" \\ \/ \b \f \n \r \t and \uXXXX (surrogate pairs included).
// filter-parser leaves them in place, so `userName eq "a\"b"` arrives as the six characters a\"b
// and means the three characters a"b. Anything that looks up users by a filter value must decode
// it with this function, so that the filter and the lookup agree. The second result is false when
// v is not a string (a number, boolean or null compare value). A malformed escape is kept as it is.
func FilterString(v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		return "", false
	}
	if !strings.Contains(s, `\`) {
		return s, true
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
			i++
		case 'b':
			b.WriteByte('\b')
			i++
		case 'f':
			b.WriteByte('\f')
			i++
		case 'n':
			b.WriteByte('\n')
			i++
		case 'r':
			b.WriteByte('\r')
			i++
		case 't':
			b.WriteByte('\t')
			i++
		case 'u':
			r, ok := hex4(s, i+2)
			if !ok {
				b.WriteByte(c)
				continue
			}
			i += 5
			if utf16.IsSurrogate(r) {
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if r2, ok := hex4(s, i+3); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							b.WriteRune(d)
							i += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			b.WriteRune(r)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// hex4 reads four hex digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s[i:i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}
