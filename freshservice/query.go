package freshservice

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxQueryLength is the longest filter expression Freshservice accepts,
// counted inside the outer double quotes (§3.3).
const MaxQueryLength = 512

// Query is a Freshservice filter expression for the query= parameter
// (§3.3). It is built from terms so that every string value is quoted and
// escaped: a value can never change the expression's structure.
//
// Filter results lag writes by minutes and stop at 40 pages of 30, so the
// bridge never uses them to find or confirm users (DESIGN D2); they serve
// lookups of rarely-changing objects such as departments by name.
type Query struct{ expr string }

// QueryEq matches a string field exactly: field:'value'.
func QueryEq(field, value string) Query {
	return Query{expr: field + ":" + quoteQueryValue(value)}
}

// QueryEqInt matches a numeric field exactly: field:123.
func QueryEqInt(field string, n int64) Query {
	return Query{expr: field + ":" + strconv.FormatInt(n, 10)}
}

// QueryNull matches an empty field: field:null.
func QueryNull(field string) Query { return Query{expr: field + ":null"} }

// And joins two queries with AND, each in parentheses.
func (q Query) And(o Query) Query { return Query{expr: "(" + q.expr + ") AND (" + o.expr + ")"} }

// Or joins two queries with OR, each in parentheses.
func (q Query) Or(o Query) Query { return Query{expr: "(" + q.expr + ") OR (" + o.expr + ")"} }

// String returns the expression without the outer double quotes.
func (q Query) String() string { return q.expr }

// param returns the query= value, outer double quotes included.
func (q Query) param() (string, error) {
	if q.expr == "" {
		return "", fmt.Errorf("empty query")
	}
	if len(q.expr) > MaxQueryLength {
		return "", fmt.Errorf("query is %d characters, Freshservice accepts at most %d", len(q.expr), MaxQueryLength)
	}
	return `"` + q.expr + `"`, nil
}

// quoteQueryValue single-quotes s, escaping backslashes and single quotes.
// Double quotes cannot appear inside the outer quotes, so they are escaped
// with a backslash too.
func quoteQueryValue(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, `"`, `\"`)
	return "'" + r.Replace(s) + "'"
}
