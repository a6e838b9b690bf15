package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

// This file is the one place where the dialects IdPs really speak are turned
// into plain SCIM (reference: idp-scim-behaviors.md §0): request bodies, PATCH
// operations and filters alike.
// Everything here is a rewrite of the request body or query before
// validation; nothing here knows about Freshservice.

// maxDepth bounds JSON nesting; no SCIM body needs more than a handful of
// levels, and deep nesting is a cheap way to burn CPU.
const maxDepth = 32

// SCIM 1.1 URNs OneLogin templates still send, and the malformed enterprise
// URN from Microsoft's docs examples.
var urnAliases = map[string]string{
	"urn:scim:schemas:core:1.0":                                       URNUser,
	"urn:scim:schemas:extension:enterprise:1.0":                       URNEnterprise,
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0user":       URNEnterprise,
	"urn:ietf:params:scim:schemas:core:2.0:user":                      URNUser,
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user":      URNEnterprise,
	"urn:ietf:params:scim:schemas:extension:freshservice:2.0:user":    URNFreshservice,
	"urn:ietf:params:scim:schemas:core:2.0:group":                     URNGroup,
	"urn:ietf:params:scim:api:messages:2.0:patchop":                   URNPatchOp,
	"urn:ietf:params:scim:schemas:extension:fsbridge:2.0:user":        URNFreshservice,
	"urn:ietf:params:scim:schemas:extension:freshservice:1.0:user":    URNFreshservice,
	"urn:scim:schemas:extension:freshservice:1.0":                     URNFreshservice,
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:":     URNEnterprise,
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:user": URNEnterprise,
}

func canonicalURN(s string) (string, bool) {
	c, ok := urnAliases[strings.ToLower(strings.TrimSpace(s))]
	return c, ok
}

// decodeBody parses a request body, refusing what is not JSON, not UTF-8,
// too deep, not an object, or holds a control character in any string
// (see forbiddenControl).
func decodeBody(data []byte) (map[string]any, *Error) {
	if !utf8.Valid(data) {
		return nil, Errorf(http.StatusBadRequest, TypeInvalidSyntax, "the request body is not valid UTF-8")
	}
	if d := jsonDepth(data); d > maxDepth {
		return nil, Errorf(http.StatusBadRequest, TypeInvalidSyntax, "the request body nests deeper than %d levels", maxDepth)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, Errorf(http.StatusBadRequest, TypeInvalidSyntax, "the request body is not valid JSON: %s", jsonErrorText(err))
	}
	if dec.More() {
		return nil, Errorf(http.StatusBadRequest, TypeInvalidSyntax, "the request body holds more than one JSON value")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, Errorf(http.StatusBadRequest, TypeInvalidSyntax, "the request body must be a JSON object")
	}
	if err := checkControlChars(m, ""); err != nil {
		return nil, err
	}
	return m, nil
}

// jsonErrorText describes a decoding error without echoing the input.
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("unexpected %s at byte %d", te.Value, te.Offset)
	}
	return "unexpected end of input"
}

// jsonDepth returns the deepest nesting of objects and arrays, ignoring
// brackets inside strings.
func jsonDepth(data []byte) int {
	depth, most := 0, 0
	inString, escaped := false, false
	for _, c := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > most {
				most = depth
			}
		case '}', ']':
			depth--
		}
	}
	return most
}

// NormalizeResource rewrites a POST or PUT body of /Users or /Groups:
//   - SCIM 1.1 and misspelt URNs become the 2.0 ones, in "schemas" and as
//     extension keys; a missing core URN is added;
//   - null values are dropped (Entra's older payloads send them);
//   - password is dropped: it is never stored or returned;
//   - emails sent as one object become a list of one (OneLogin);
//   - the enterprise manager, sent as a string, an object with value or
//     managerId, or empty, becomes {"value": id} or is removed;
//   - top-level department and manager (old Entra examples) move into the
//     enterprise extension; "prefferedLanguage" (a OneLogin template typo)
//     becomes preferredLanguage;
//   - roles whose value is a JSON object serialised as a string (Entra app
//     roles) are unpacked.
func NormalizeResource(body map[string]any, user bool) map[string]any {
	body = dropNulls(body).(map[string]any)
	core := URNGroup
	if user {
		core = URNUser
	}
	// Rename extension keys.
	for k, v := range body {
		if c, ok := canonicalURN(k); ok && c != k {
			delete(body, k)
			if existing, ok := body[c].(map[string]any); ok {
				if m, ok := v.(map[string]any); ok {
					for kk, vv := range m {
						existing[kk] = vv
					}
					continue
				}
			}
			body[c] = v
		}
	}
	body["schemas"] = normalizeSchemas(body["schemas"], core)
	delete(body, "password")
	if !user {
		return body
	}
	// OneLogin templates render empty fields as "": for a boolean that
	// means "not given", not an invalid value.
	for k, v := range body {
		if strings.EqualFold(k, "active") && v == "" {
			delete(body, k)
		}
	}
	for k := range body {
		if strings.EqualFold(k, "prefferedLanguage") {
			if _, ok := body["preferredLanguage"]; !ok {
				body["preferredLanguage"] = body[k]
			}
			delete(body, k)
		}
	}
	for k, v := range body {
		if strings.EqualFold(k, "emails") {
			if m, ok := v.(map[string]any); ok {
				body[k] = []any{m}
			}
		}
	}
	for _, attr := range []string{"department", "manager"} {
		for k, v := range body {
			if strings.EqualFold(k, attr) {
				delete(body, k)
				ext, _ := body[URNEnterprise].(map[string]any)
				if ext == nil {
					ext = map[string]any{}
					body[URNEnterprise] = ext
				}
				if _, ok := ext[attr]; !ok {
					ext[attr] = v
				}
			}
		}
	}
	if ext, ok := body[URNEnterprise].(map[string]any); ok {
		for k, v := range ext {
			if strings.EqualFold(k, "manager") {
				if m := managerValue(v); m == nil {
					delete(ext, k)
				} else {
					ext[k] = m
				}
			}
		}
		if len(ext) == 0 {
			delete(body, URNEnterprise)
		} else {
			body["schemas"] = addSchema(body["schemas"].([]any), URNEnterprise)
		}
	}
	if _, ok := body[URNFreshservice]; ok {
		body["schemas"] = addSchema(body["schemas"].([]any), URNFreshservice)
	}
	for k, v := range body {
		if strings.EqualFold(k, "roles") {
			body[k] = unpackRoles(v)
		}
	}
	return body
}

func normalizeSchemas(v any, core string) []any {
	var out []any
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok {
				if c, ok := canonicalURN(s); ok {
					s = c
				}
				add(s)
			}
		}
	case string:
		if c, ok := canonicalURN(t); ok {
			t = c
		}
		add(t)
	}
	if !seen[core] {
		out = append([]any{core}, out...)
	}
	return out
}

func addSchema(schemas []any, urn string) []any {
	for _, s := range schemas {
		if s == urn {
			return schemas
		}
	}
	return append(schemas, urn)
}

// managerValue normalises the forms of the enterprise manager: nil means
// "no manager".
func managerValue(v any) any {
	switch t := v.(type) {
	case string:
		if strings.TrimSpace(t) == "" {
			return nil
		}
		return map[string]any{"value": strings.TrimSpace(t)}
	case json.Number:
		return map[string]any{"value": t.String()}
	case map[string]any:
		val, _ := t["value"].(string)
		if val == "" {
			if n, ok := t["value"].(json.Number); ok {
				val = n.String()
			}
		}
		if val == "" {
			val, _ = t["managerId"].(string)
		}
		if strings.TrimSpace(val) == "" {
			return nil
		}
		out := map[string]any{"value": strings.TrimSpace(val)}
		if d, ok := t["displayName"].(string); ok && d != "" {
			out["displayName"] = d
		}
		return out
	case []any:
		// The legacy Entra form: [{"$ref":…,"value":…}].
		if len(t) == 1 {
			return managerValue(t[0])
		}
	}
	return nil
}

// unpackRoles handles Entra's app roles, whose value may be a JSON object
// serialised as a string: {"value":"{\"id\":…,\"value\":\"Admin\",\"displayName\":\"Admin\"}"}.
func unpackRoles(v any) any {
	list, ok := v.([]any)
	if !ok {
		if m, ok := v.(map[string]any); ok {
			list = []any{m}
		} else if s, ok := v.(string); ok {
			list = []any{map[string]any{"value": s}}
		} else {
			return v
		}
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		switch r := e.(type) {
		case string:
			out = append(out, unpackRole(map[string]any{"value": r}))
		case map[string]any:
			out = append(out, unpackRole(r))
		}
	}
	return out
}

func unpackRole(r map[string]any) map[string]any {
	s, ok := r["value"].(string)
	if !ok || !strings.HasPrefix(strings.TrimSpace(s), "{") {
		return r
	}
	var inner map[string]any
	if json.Unmarshal([]byte(s), &inner) != nil {
		return r
	}
	out := map[string]any{}
	for k, v := range r {
		out[k] = v
	}
	if v, ok := inner["value"].(string); ok {
		out["value"] = v
	}
	if d, ok := inner["displayName"].(string); ok && d != "" {
		out["display"] = d
	}
	return out
}

func dropNulls(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e == nil {
				delete(t, k)
				continue
			}
			t[k] = dropNulls(e)
		}
		return t
	case []any:
		out := t[:0]
		for _, e := range t {
			if e != nil {
				out = append(out, dropNulls(e))
			}
		}
		return out
	}
	return v
}

// NormalizePatch rewrites a PATCH body:
//   - "schemas" is fixed to the PatchOp URN when it names it in any spelling
//     (and added when missing), and "operations" in any case is accepted;
//   - op is lower-cased (Entra sends Add, Replace, Remove); a replace of a
//     path with null becomes a remove;
//   - paths to the manager in its legacy forms ("manager",
//     "…:User.manager") become the enterprise path, and a string or empty
//     value becomes {"value": id} or a remove;
//   - a single-valued attribute sent wrapped as [{"value":x}] (Entra's
//     legacy customappsso jobs) is unwrapped;
//   - path-less values get the same resource rewrites as POST bodies;
//   - password is dropped; roles are unpacked as in NormalizeResource.
func NormalizePatch(body map[string]any, user bool) map[string]any {
	var ops []any
	for k, v := range body {
		if strings.EqualFold(k, "Operations") {
			if l, ok := v.([]any); ok {
				ops = l
			} else if m, ok := v.(map[string]any); ok {
				ops = []any{m}
			}
			delete(body, k)
		}
	}
	body = dropNulls(body).(map[string]any)
	body["schemas"] = normalizePatchSchemas(body["schemas"])
	var out []any
	for _, o := range ops {
		op, ok := o.(map[string]any)
		if !ok {
			out = append(out, o)
			continue
		}
		for k, v := range op {
			lk := strings.ToLower(k)
			if lk != k && (lk == "op" || lk == "path" || lk == "value") {
				delete(op, k)
				op[lk] = v
			}
		}
		if s, ok := op["op"].(string); ok {
			op["op"] = strings.ToLower(strings.TrimSpace(s))
		}
		// A replace with null and a path clears the attribute (RFC 7643 §2.5:
		// null is unassigned): that is a remove, which the checks of a remove
		// (a required attribute cannot be removed) then apply to. Left as it
		// is, dropping the null would leave a replace without a value.
		if v, has := op["value"]; has && v == nil && op["op"] == "replace" {
			if _, hasPath := op["path"]; hasPath {
				op["op"] = "remove"
				delete(op, "value")
			}
		}
		// A path-less value that sets attributes to null asks to clear
		// them: that is a remove per attribute.
		if _, hasPath := op["path"]; !hasPath && op["op"] != "remove" {
			if m, ok := op["value"].(map[string]any); ok {
				for k, v := range m {
					if v == nil {
						delete(m, k)
						out = append(out, map[string]any{"op": "remove", "path": k})
					}
				}
				for k := range m {
					switch strings.ToLower(k) {
					case "meta", "schemas":
						delete(m, k)
					}
				}
				if len(m) == 0 {
					continue
				}
			}
		}
		op = dropNulls(op).(map[string]any)
		if user {
			normalizeUserPatchOp(op)
		}
		out = append(out, op)
	}
	body["Operations"] = out
	return body
}

func normalizePatchSchemas(v any) []any {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok {
				if c, ok := canonicalURN(s); ok && c == URNPatchOp {
					return []any{URNPatchOp}
				}
			}
		}
		return t
	case string:
		if c, ok := canonicalURN(t); ok && c == URNPatchOp {
			return []any{URNPatchOp}
		}
		return []any{t}
	case nil:
		return []any{URNPatchOp}
	}
	return []any{v}
}

// enterpriseAttrs are the enterprise extension's attributes (but manager,
// handled on its own), which Entra's legacy jobs send without the URN.
var enterpriseAttrs = map[string]bool{"department": true, "employeenumber": true, "costcenter": true, "organization": true, "division": true}

// normalizeUserPatchOp rewrites one operation of a user PATCH in place.
// Password operations are left for the PATCH engine, which ignores them.
func normalizeUserPatchOp(op map[string]any) {
	p, _ := op["path"].(string)
	lp := strings.ToLower(strings.TrimSpace(p))
	switch {
	case lp == "manager" || lp == strings.ToLower(URNEnterprise)+".manager" || lp == strings.ToLower(URNEnterprise)+":manager" ||
		lp == strings.ToLower(URNEnterprise)+":manager.value":
		op["path"] = URNEnterprise + ":manager"
		if op["op"] == "remove" {
			delete(op, "value")
			return
		}
		if m := managerValue(op["value"]); m == nil {
			op["op"] = "remove"
			delete(op, "value")
		} else {
			op["value"] = m
		}
	case lp == "roles":
		if v, ok := op["value"]; ok {
			op["value"] = unpackRoles(v)
		}
	case enterpriseAttrs[lp]:
		op["path"] = URNEnterprise + ":" + p
	case strings.HasPrefix(lp, "urn:") && strings.Contains(lp, ":"):
		// A URN-prefixed path with a misspelt URN.
		if i := strings.LastIndex(p, ":"); i > 0 {
			if c, ok := canonicalURN(p[:i]); ok {
				op["path"] = c + p[i:]
			}
		}
	}
	if p != "" {
		if v, ok := op["value"]; ok {
			op["value"] = unwrapSingle(lp, v)
		}
		return
	}
	// Path-less: the value is a partial resource.
	if m, ok := op["value"].(map[string]any); ok {
		for k := range m {
			if strings.EqualFold(k, "password") {
				delete(m, k)
			}
		}
		for k, v := range m {
			lk := strings.ToLower(k)
			switch {
			case lk == "manager" || strings.HasSuffix(lk, ":manager") || strings.HasSuffix(lk, ".manager"):
				delete(m, k)
				mv := managerValue(v)
				ext, _ := m[URNEnterprise].(map[string]any)
				if ext == nil {
					ext = map[string]any{}
				}
				if mv == nil {
					// A path-less replace cannot remove; an empty manager
					// object clears it once applied.
					ext["manager"] = map[string]any{}
				} else {
					ext["manager"] = mv
				}
				m[URNEnterprise] = ext
			case lk == "roles":
				m[k] = unpackRoles(v)
			case enterpriseAttrs[lk]:
				delete(m, k)
				ext, _ := m[URNEnterprise].(map[string]any)
				if ext == nil {
					ext = map[string]any{}
				}
				ext[k] = v
				m[URNEnterprise] = ext
			default:
				if i := strings.LastIndex(k, ":"); i > 0 && strings.HasPrefix(lk, "urn:") {
					if c, ok := canonicalURN(k[:i]); ok && c+k[i:] != k {
						delete(m, k)
						m[c+k[i:]] = v
					} else if c, ok := canonicalURN(k); ok && c != k {
						delete(m, k)
						m[c] = v
					}
				}
			}
		}
	}
}

// unwrapSingle turns [{"value":x}] into x for attributes that hold one
// value (Entra's legacy jobs wrap every value so).
func unwrapSingle(lowerPath string, v any) any {
	switch lowerPath {
	case "displayname", "username", "title", "nickname", "externalid", "preferredlanguage", "locale", "timezone", "usertype", "active",
		"name.givenname", "name.familyname", "name.formatted":
	default:
		return v
	}
	l, ok := v.([]any)
	if !ok || len(l) != 1 {
		return v
	}
	if m, ok := l[0].(map[string]any); ok {
		if x, ok := m["value"]; ok {
			return x
		}
	}
	return v
}

// NormalizeFilter rewrites Entra's non-RFC filter form attr[filter].sub op value into the RFC form
// attr[filter and sub op value], e.g. emails[type eq "work"].value eq "x" into
// emails[type eq "work" and value eq "x"], which filter-parser accepts (it refuses the other
// form; elimity-com/scim issue #150). Quoted strings are skipped, so quotes and brackets inside values
// cannot confuse it. Run it on the decoded filter (url.Values.Get has already turned "+" into a
// space) before the general parser sees it. Any other filter is returned unchanged.
//
// filter-parser accepts at most two comparisons inside [...] and no parentheses there, so:
// a bracketed filter with or-branches becomes one value path per branch,
// emails[type eq "work" or primary eq true].value eq "x" giving
// (emails[type eq "work" and value eq "x"] or emails[primary eq true and value eq "x"]), which
// means the same; a bracketed filter that already joins two comparisons with and, or uses not, is
// left as it is (filter-parser then rejects it, as it would have anyway).
func NormalizeFilter(raw string) string {
	out := make([]byte, 0, len(raw)+16)
	changed := false
	// raw[verbatim:i] is what out ends with: text copied as it is since the last rewrite.
	verbatim := 0
	for i := 0; i < len(raw); {
		switch raw[i] {
		case '"':
			j, _ := skipQuoted(raw, i)
			out = append(out, raw[i:j]...)
			i = j
		case '[':
			end := closingBracket(raw, i)
			if end < 0 {
				out = append(out, raw[i:]...)
				i = len(raw)
				continue
			}
			cmp, next, ok := trailingComparison(raw, end+1)
			branches := splitLogical(raw[i+1:end], "or")
			for _, b := range branches {
				if !isSingleComparison(b) {
					ok = false
				}
			}
			if !ok {
				out = append(out, raw[i:end+1]...)
				i = end + 1
				continue
			}
			// The attribute path before "[" has been copied already; each branch repeats it.
			start := i
			for start > verbatim && !strings.ContainsRune(" ()[]\"", rune(raw[start-1])) {
				start--
			}
			attr := raw[start:i]
			out = out[:len(out)-len(attr)]
			if len(branches) > 1 {
				out = append(out, '(')
			}
			for k, b := range branches {
				if k > 0 {
					out = append(out, " or "...)
				}
				out = append(out, attr...)
				out = append(out, '[')
				out = append(out, strings.TrimSpace(b)...)
				out = append(out, " and "...)
				out = append(out, cmp...)
				out = append(out, ']')
			}
			if len(branches) > 1 {
				out = append(out, ')')
			}
			i = next
			verbatim = next
			changed = true
		default:
			out = append(out, raw[i])
			i++
		}
	}
	if !changed {
		return raw
	}
	return string(out)
}

// isSingleComparison reports whether s is one attribute comparison: not a logical expression, not
// negated, not grouped.
func isSingleComparison(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || s[0] == '(' || len(splitLogical(s, "and")) > 1 {
		return false
	}
	return !(len(s) > 3 && strings.EqualFold(s[:3], "not") && (s[3] == ' ' || s[3] == '('))
}

// skipQuoted returns the index just past the string literal that starts at s[i] == '"', and whether
// it was closed.
func skipQuoted(s string, i int) (int, bool) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return len(s), false
}

// closingBracket returns the index of the ']' that closes the '[' at s[i], or -1.
func closingBracket(s string, i int) int {
	depth := 0
	for j := i; j < len(s); {
		switch s[j] {
		case '"':
			j, _ = skipQuoted(s, j)
			continue
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return j
			}
		}
		j++
	}
	return -1
}

var compareOperators = map[string]bool{
	"eq": true, "ne": true, "co": true, "sw": true, "ew": true,
	"gt": true, "lt": true, "ge": true, "le": true, "pr": true,
}

// trailingComparison reads ".sub op value" (or ".sub pr") at s[i:], returning it without the dot
// and the index just past it.
func trailingComparison(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '.' {
		return "", 0, false
	}
	j := i + 1
	for j < len(s) && isNameByte(s[j], j == i+1) {
		j++
	}
	if j == i+1 {
		return "", 0, false
	}
	sub := s[i+1 : j]
	k := skipSpaces(s, j)
	if k == j {
		return "", 0, false
	}
	o := k
	for o < len(s) && (s[o]|0x20) >= 'a' && (s[o]|0x20) <= 'z' {
		o++
	}
	op := s[k:o]
	if !compareOperators[strings.ToLower(op)] {
		return "", 0, false
	}
	if strings.EqualFold(op, "pr") {
		if o < len(s) && s[o] != ' ' && s[o] != ')' && s[o] != ']' {
			return "", 0, false
		}
		return sub + " " + op, o, true
	}
	v := skipSpaces(s, o)
	if v == o || v >= len(s) {
		return "", 0, false
	}
	end := v
	if s[v] == '"' {
		var closed bool
		if end, closed = skipQuoted(s, v); !closed {
			return "", 0, false
		}
	} else {
		for end < len(s) && !strings.ContainsRune(" ()[]\"", rune(s[end])) {
			end++
		}
		if end == v {
			return "", 0, false
		}
	}
	return sub + " " + op + " " + s[v:end], end, true
}

func isNameByte(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '$':
		return true
	case first:
		return false
	case c >= '0' && c <= '9', c == '_', c == '-':
		return true
	}
	return false
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// splitLogical splits a filter at its top-level occurrences of the logical operator word ("and" or
// "or"), outside quotes, parentheses and brackets.
func splitLogical(s, word string) []string {
	var parts []string
	depth, start, n := 0, 0, len(word)
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '"':
			i, _ = skipQuoted(s, i)
			continue
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case depth == 0 && c == ' ' && i+n+1 < len(s) && strings.EqualFold(s[i+1:i+1+n], word) && s[i+1+n] == ' ':
			parts = append(parts, s[start:i])
			i += n + 2
			start = i
			continue
		}
		i++
	}
	return append(parts, s[start:])
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
