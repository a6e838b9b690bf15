package simulator

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file implements the query= filter language of reference §3.3 and
// §4.2:
//
//	query  = [ '"' ] expr [ '"' ]    (at most 512 characters in all; the
//	                                  outer quotes are optional, §19)
//	expr   = and { "OR" and }
//	and    = term { "AND" term }
//	term   = "(" expr ")" | cond | prefix
//	cond   = field ":" [ ">" | "<" ] value
//	prefix = "~[" field { "|" field } "]" ":" string
//	value  = string | number | "null"
//	string = "'" { char | "\'" } "'"
//
// ":>" means greater than or equal and ":<" less than or equal; both are
// allowed on numeric and date fields only. Dates are 'YYYY-MM-DD' (UTC).
// String equality ignores case, as search engines do.

const maxQueryLen = 512

// qkind is the type of a searchable field.
type qkind int

const (
	qkString     qkind = iota
	qkStringList       // matches if any element matches
	qkID               // an id; 0 is null
	qkIDList           // department_id: matches if any of department_ids matches
	qkDate             // created_at, updated_at
	qkCustom           // a custom field: type decided by the value
)

// qschema lists the fields a resource can be searched on.
type qschema struct {
	fields     map[string]qkind
	prefixable map[string]bool
	// custom reports whether name is a custom field.
	custom func(name string) bool
}

func (s *qschema) kind(field string) (qkind, bool) {
	if k, ok := s.fields[field]; ok {
		return k, true
	}
	if s.custom != nil && s.custom(field) {
		return qkCustom, true
	}
	return 0, false
}

// qexpr is a compiled query; get returns the value of a field of one object.
type qexpr interface {
	match(get func(field string) any) bool
}

type qand struct{ l, r qexpr }
type qor struct{ l, r qexpr }

func (e qand) match(get func(string) any) bool { return e.l.match(get) && e.r.match(get) }
func (e qor) match(get func(string) any) bool  { return e.l.match(get) || e.r.match(get) }

type qvalue struct {
	null  bool
	isStr bool
	str   string
	isNum bool
	num   float64
	isDay bool
	day   time.Time
}

type qcond struct {
	field string
	kind  qkind
	op    byte // ':', '>' (>=) or '<' (<=)
	val   qvalue
}

type qprefix struct {
	fields []string
	prefix string
}

func (e qprefix) match(get func(string) any) bool {
	for _, f := range e.fields {
		if s, ok := get(f).(string); ok && strings.HasPrefix(strings.ToLower(s), strings.ToLower(e.prefix)) {
			return true
		}
	}
	return false
}

func (e qcond) match(get func(string) any) bool {
	got := get(e.field)
	switch e.kind {
	case qkString:
		s, _ := got.(string)
		if e.val.null {
			return s == ""
		}
		return strings.EqualFold(s, e.val.str)
	case qkStringList:
		list, _ := got.([]string)
		if e.val.null {
			return len(list) == 0
		}
		for _, s := range list {
			if strings.EqualFold(s, e.val.str) {
				return true
			}
		}
		return false
	case qkID:
		n, _ := got.(int64)
		if e.val.null {
			return n == 0
		}
		return n != 0 && compareNum(float64(n), e.op, e.val.num)
	case qkIDList:
		list, _ := got.([]int64)
		if e.val.null {
			return len(list) == 0
		}
		for _, n := range list {
			if compareNum(float64(n), e.op, e.val.num) {
				return true
			}
		}
		return false
	case qkDate:
		t, _ := got.(time.Time)
		if e.val.null {
			return t.IsZero()
		}
		return !t.IsZero() && compareDay(t, e.op, e.val.day)
	}
	// Custom fields: the value decides the comparison.
	switch {
	case e.val.null:
		return got == nil || got == ""
	case e.val.isNum:
		n, ok := got.(float64)
		return ok && compareNum(n, e.op, e.val.num)
	case e.val.isDay && e.op != ':':
		s, _ := got.(string)
		t, err := time.Parse(time.DateOnly, s)
		return err == nil && compareDay(t, e.op, e.val.day)
	case e.val.isStr:
		switch g := got.(type) {
		case string:
			return strings.EqualFold(g, e.val.str)
		case bool:
			return strconv.FormatBool(g) == strings.ToLower(e.val.str)
		}
	}
	return false
}

func compareNum(got float64, op byte, want float64) bool {
	switch op {
	case '>':
		return got >= want
	case '<':
		return got <= want
	}
	return got == want
}

// compareDay compares t with a UTC day: ':' is the same day, '>' is on or
// after it, '<' on or before it.
func compareDay(t time.Time, op byte, day time.Time) bool {
	t = t.UTC()
	next := day.AddDate(0, 0, 1)
	switch op {
	case '>':
		return !t.Before(day)
	case '<':
		return t.Before(next)
	}
	return !t.Before(day) && t.Before(next)
}

// queryMessage turns a parseQuery error into the API's message style.
func queryMessage(err error) string {
	m := err.Error()
	return strings.ToUpper(m[:1]) + m[1:]
}

// parseQuery checks and compiles the raw (URL-decoded) value of query=.
func parseQuery(raw string, schema *qschema) (qexpr, error) {
	if n := utf8.RuneCountInString(raw); n > maxQueryLen {
		return nil, fmt.Errorf("the query has %d characters; it can have at most %d", n, maxQueryLen)
	}
	// The reference's notes wrap the expression in double quotes (§3.3),
	// but a real tenant answers 200 without them too (§19).
	expr := raw
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		expr = raw[1 : len(raw)-1]
	}
	if strings.TrimSpace(expr) == "" {
		return nil, errors.New("the query is empty")
	}
	toks, err := lexQuery(expr)
	if err != nil {
		return nil, err
	}
	p := &qparser{toks: toks, schema: schema}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tkEOF {
		return nil, fmt.Errorf("unexpected %q in query", t.text)
	}
	return e, nil
}

type tokKind int

const (
	tkEOF tokKind = iota
	tkIdent
	tkString
	tkNumber
	tkPunct // one of ( ) : > < ~ [ ] |
)

type token struct {
	kind tokKind
	text string
}

func lexQuery(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.IndexByte("():><~[]|", c) >= 0:
			toks = append(toks, token{tkPunct, string(c)})
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == '\\' && j+1 < len(s) && (s[j+1] == '\'' || s[j+1] == '\\') {
					b.WriteByte(s[j+1])
					j += 2
					continue
				}
				if s[j] == '\'' {
					closed = true
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			if !closed {
				return nil, errors.New("unterminated string in query")
			}
			toks = append(toks, token{tkString, b.String()})
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			toks = append(toks, token{tkNumber, s[i:j]})
			i = j
		case c == '_' || unicode.IsLetter(rune(c)):
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] >= '0' && s[j] <= '9' || unicode.IsLetter(rune(s[j]))) {
				j++
			}
			toks = append(toks, token{tkIdent, s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q in query", c)
		}
	}
	return toks, nil
}

type qparser struct {
	toks   []token
	pos    int
	schema *qschema
}

func (p *qparser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{kind: tkEOF, text: "end of query"}
}

func (p *qparser) next() token {
	t := p.peek()
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

func (p *qparser) expect(punct string) error {
	if t := p.next(); t.kind != tkPunct || t.text != punct {
		return fmt.Errorf("expected %q but found %q in query", punct, t.text)
	}
	return nil
}

func (p *qparser) keyword(k string) bool {
	if t := p.peek(); t.kind == tkIdent && t.text == k {
		p.pos++
		return true
	}
	return false
}

func (p *qparser) or() (qexpr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = qor{l, r}
	}
	return l, nil
}

func (p *qparser) and() (qexpr, error) {
	l, err := p.term()
	if err != nil {
		return nil, err
	}
	for p.keyword("AND") {
		r, err := p.term()
		if err != nil {
			return nil, err
		}
		l = qand{l, r}
	}
	return l, nil
}

func (p *qparser) term() (qexpr, error) {
	t := p.next()
	switch {
	case t.kind == tkPunct && t.text == "(":
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		return e, p.expect(")")
	case t.kind == tkPunct && t.text == "~":
		return p.prefix()
	case t.kind == tkIdent:
		return p.cond(t.text)
	}
	return nil, fmt.Errorf("expected a field name but found %q in query", t.text)
}

func (p *qparser) prefix() (qexpr, error) {
	if err := p.expect("["); err != nil {
		return nil, err
	}
	var e qprefix
	for {
		t := p.next()
		if t.kind != tkIdent {
			return nil, fmt.Errorf("expected a field name but found %q in query", t.text)
		}
		if !p.schema.prefixable[t.text] {
			return nil, fmt.Errorf("starts-with search is not supported on %q", t.text)
		}
		e.fields = append(e.fields, t.text)
		if n := p.next(); n.kind == tkPunct && n.text == "]" {
			break
		} else if n.kind != tkPunct || n.text != "|" {
			return nil, fmt.Errorf("expected \"|\" or \"]\" but found %q in query", n.text)
		}
	}
	if err := p.expect(":"); err != nil {
		return nil, err
	}
	v := p.next()
	if v.kind != tkString || v.text == "" {
		return nil, errors.New("starts-with search needs a non-empty quoted string")
	}
	e.prefix = v.text
	return e, nil
}

func (p *qparser) cond(field string) (qexpr, error) {
	kind, ok := p.schema.kind(field)
	if !ok {
		return nil, fmt.Errorf("%q is not a searchable field", field)
	}
	if err := p.expect(":"); err != nil {
		return nil, err
	}
	c := qcond{field: field, kind: kind, op: ':'}
	if t := p.peek(); t.kind == tkPunct && (t.text == ">" || t.text == "<") {
		p.pos++
		c.op = t.text[0]
	}
	t := p.next()
	switch {
	case t.kind == tkIdent && t.text == "null":
		c.val.null = true
	case t.kind == tkIdent && (t.text == "true" || t.text == "false") && kind == qkCustom:
		c.val.isStr, c.val.str = true, t.text
	case t.kind == tkNumber:
		n, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", t.text)
		}
		c.val.isNum, c.val.num = true, n
	case t.kind == tkString:
		c.val.isStr, c.val.str = true, t.text
		if d, err := time.Parse(time.DateOnly, t.text); err == nil {
			c.val.isDay, c.val.day = true, d
		}
	default:
		return nil, fmt.Errorf("expected a value for %q but found %q in query", field, t.text)
	}
	return c, c.check()
}

// check rejects values and operators that do not fit the field's type.
func (c qcond) check() error {
	if c.val.null {
		if c.op != ':' {
			return fmt.Errorf("null cannot be compared with %q", ":"+string(c.op))
		}
		return nil
	}
	switch c.kind {
	case qkString, qkStringList:
		if !c.val.isStr {
			return fmt.Errorf("%q needs a quoted string value", c.field)
		}
		if c.op != ':' {
			return fmt.Errorf("%q does not support :> or :<", c.field)
		}
	case qkID, qkIDList:
		if !c.val.isNum || c.val.num != float64(int64(c.val.num)) {
			return fmt.Errorf("%q needs a numeric value", c.field)
		}
	case qkDate:
		if !c.val.isDay {
			return fmt.Errorf("%q needs a date in the format 'YYYY-MM-DD'", c.field)
		}
	case qkCustom:
		if c.op != ':' && !c.val.isNum && !c.val.isDay {
			return fmt.Errorf("%q: :> and :< need a number or a date", c.field)
		}
	}
	return nil
}
