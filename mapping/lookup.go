package mapping

import (
	"strconv"
	"strings"

	"github.com/scim2/filter-parser/v2"

	"github.com/fsbridge/fsbridge/scim"
)

// A user list (GET /Users?filter=…, POST /Users/.search) is answered from the bridge's directory of
// users. PlanLookup decides how: which index gives the users the filter may match (the candidates),
// or whether every user must be read, and how each candidate is checked against the filter. The
// bridge carries the plan out.

// LookupIndex is an index of the directory of users.
type LookupIndex int

const (
	// IndexUserName holds each visible user under its SCIM userName, ignoring case and surrounding
	// spaces.
	IndexUserName LookupIndex = iota + 1
	// IndexID is the user's Freshservice id, which is its SCIM id.
	IndexID
	// IndexExternalID holds each managed user under its externalId, exactly.
	IndexExternalID
	// IndexEmail holds each user under every email Freshservice has for it, ignoring case.
	IndexEmail
)

func (i LookupIndex) String() string {
	switch i {
	case IndexUserName:
		return "userName"
	case IndexID:
		return "id"
	case IndexExternalID:
		return "externalId"
	case IndexEmail:
		return "email"
	}
	return "index(" + strconv.Itoa(int(i)) + ")"
}

// SourceKind says where the candidates of a plan come from.
type SourceKind int

const (
	// SourceScan is every user: no index narrows the filter.
	SourceScan SourceKind = iota
	// SourceIndex is the users one index holds under one value.
	SourceIndex
	// SourceSmaller is the smaller of its two sides' candidates (the first on a tie): an and whose
	// sides are both indexed, where every user the and matches is a candidate of either side.
	SourceSmaller
	// SourceUnion is both sides' candidates together, once each: an or whose sides are both
	// indexed.
	SourceUnion
)

// LookupSource is where a plan's candidates come from.
type LookupSource struct {
	Kind SourceKind
	// Index and Value, for SourceIndex: the value as the filter compares it, escapes decoded.
	Index LookupIndex
	Value string
	// Sides are the two sources of SourceSmaller and SourceUnion, in the filter's order.
	Sides []LookupSource
}

// LookupCheck says how a candidate is checked against the filter.
type LookupCheck int

const (
	// CheckFilter evaluates the filter on each candidate's SCIM view.
	CheckFilter LookupCheck = iota
	// CheckNone takes every visible candidate: the index holds exactly the users the filter asks
	// for, or there is no filter.
	CheckNone
	// CheckUserName takes the user the userName index found when its userName equals the value as
	// the filter compares it (ignoring case, nothing trimmed), and evaluates the filter otherwise.
	CheckUserName
	// CheckRendered renders each candidate and evaluates the filter on the resource, which then
	// answers as it is: an email lookup, whose index holds the emails Freshservice has, while the
	// filter reads the SCIM emails (their types included), which the resource holds.
	CheckRendered
)

// LookupPlan is how a user list is answered from the directory.
type LookupPlan struct {
	Source LookupSource
	Check  LookupCheck
	// Groups is set when the filter reads the user's groups, so the view it is evaluated on must
	// hold them.
	Groups bool
}

// PlanLookup plans a user list with filter expr (nil for none). eq is the edge's reading of a
// filter that is one equality (scim.ListQuery.Lookup), nil otherwise: the lookups IdPs send before
// they create a user (Okta's and OneLogin's userName eq, Entra's userName, externalId and
// emails[type eq "work"].value eq) are answered by an index, most without evaluating the filter.
// Other filters are narrowed to the users their indexed equalities name (userName, id, externalId
// and emails, through an and on either side and an or on both), and evaluated on each of them;
// what no index narrows is evaluated on every user.
func PlanLookup(expr filter.Expression, eq *scim.Lookup) LookupPlan {
	if expr == nil {
		return LookupPlan{Check: CheckNone}
	}
	p := LookupPlan{Groups: FilterMentions(expr, "groups")}
	if eq != nil {
		if src, check, ok := planEquality(*eq, p.Groups); ok {
			p.Source, p.Check = src, check
			return p
		}
	}
	if src, ok := narrow(expr); ok {
		p.Source = src
	}
	return p
}

// planEquality plans the edge's equality, when an index answers it.
func planEquality(eq scim.Lookup, groups bool) (LookupSource, LookupCheck, bool) {
	switch eq.Attr {
	case "userName":
		return indexed(IndexUserName, eq.Value), CheckUserName, true
	case "id":
		// Ids compare exactly: "042" is no user's id, though it reads as 42.
		check := CheckNone
		if n, ok := ParseUserID(eq.Value); ok && strconv.FormatInt(n, 10) != eq.Value {
			check = CheckFilter
		}
		return indexed(IndexID, eq.Value), check, true
	case "externalId":
		return indexed(IndexExternalID, eq.Value), CheckNone, true
	case "emails.value":
		if groups {
			return indexed(IndexEmail, eq.Value), CheckFilter, true
		}
		return indexed(IndexEmail, eq.Value), CheckRendered, true
	}
	return LookupSource{}, CheckFilter, false
}

func indexed(i LookupIndex, v string) LookupSource {
	return LookupSource{Kind: SourceIndex, Index: i, Value: v}
}

// narrow finds the candidates the indexed terms of a filter name: userName, id, externalId and
// emails equalities, through and (either side) and or (both sides). ok is false when the filter
// needs every user.
func narrow(expr filter.Expression) (LookupSource, bool) {
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		if e.Operator != filter.EQ {
			return LookupSource{}, false
		}
		v, ok := scim.FilterString(e.CompareValue)
		if !ok {
			// Entra's id eq 42, unquoted.
			if n, isNum := numericID(e.CompareValue); isNum && strings.EqualFold(e.AttributePath.AttributeName, "id") {
				return indexed(IndexID, strconv.FormatInt(n, 10)), true
			}
			return LookupSource{}, false
		}
		name := strings.ToLower(e.AttributePath.AttributeName)
		sub := ""
		if e.AttributePath.SubAttribute != nil {
			sub = strings.ToLower(*e.AttributePath.SubAttribute)
		}
		if p := e.AttributePath.URIPrefix; p != nil && !strings.EqualFold(*p, scim.URNUser) {
			return LookupSource{}, false
		}
		switch {
		case name == "username" && sub == "":
			return indexed(IndexUserName, v), true
		case name == "id" && sub == "":
			return indexed(IndexID, v), true
		case name == "externalid" && sub == "":
			return indexed(IndexExternalID, v), true
		case name == "emails" && (sub == "" || sub == "value"):
			return indexed(IndexEmail, v), true
		}
	case *filter.ValuePath:
		if strings.EqualFold(e.AttributePath.AttributeName, "emails") {
			if v, ok := AndEquality(e.ValueFilter, "value"); ok {
				return indexed(IndexEmail, v), true
			}
		}
	case *filter.LogicalExpression:
		l, lok := narrow(e.Left)
		r, rok := narrow(e.Right)
		switch {
		case lok && rok && e.Operator == filter.AND:
			return LookupSource{Kind: SourceSmaller, Sides: []LookupSource{l, r}}, true
		case lok && rok:
			return LookupSource{Kind: SourceUnion, Sides: []LookupSource{l, r}}, true
		case e.Operator == filter.AND && lok:
			return l, true
		case e.Operator == filter.AND && rok:
			return r, true
		}
	}
	return LookupSource{}, false
}

// numericID reads an unquoted id compare value (id eq 42), as filter-parser gives it.
func numericID(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), n > 0
	case int64:
		return n, n > 0
	case float64:
		return int64(n), n > 0 && n == float64(int64(n))
	}
	return 0, false
}

// AndEquality finds `attr eq "x"` (attr without a sub-attribute, any case)
// among the terms a filter ANDs together: a filter that holds it matches
// only resources whose attr is x, so an index on attr narrows it.
func AndEquality(expr filter.Expression, attr string) (string, bool) {
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		if e.Operator == filter.EQ && strings.EqualFold(e.AttributePath.AttributeName, attr) && e.AttributePath.SubAttribute == nil {
			return scim.FilterString(e.CompareValue)
		}
	case *filter.LogicalExpression:
		if e.Operator == filter.AND {
			if v, ok := AndEquality(e.Left, attr); ok {
				return v, true
			}
			return AndEquality(e.Right, attr)
		}
	}
	return "", false
}

// FilterMentions reports whether a filter refers to an attribute (by its name, any case).
func FilterMentions(expr filter.Expression, attr string) bool {
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		return strings.EqualFold(e.AttributePath.AttributeName, attr)
	case *filter.ValuePath:
		return strings.EqualFold(e.AttributePath.AttributeName, attr)
	case *filter.LogicalExpression:
		return FilterMentions(e.Left, attr) || FilterMentions(e.Right, attr)
	case *filter.NotExpression:
		return FilterMentions(e.Expression, attr)
	}
	return false
}

// ParseUserID reads a SCIM user id: the Freshservice id, a positive integer (surrounding spaces
// allowed).
func ParseUserID(id string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
	return n, err == nil && n > 0
}
