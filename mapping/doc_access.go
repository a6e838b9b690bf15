package mapping

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// SCIM schema URNs the bridge reads and writes.
const (
	URNUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	URNGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	URNEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// URNFreshservice is the extension for Freshservice-only fields. It is
	// the URN the Freshservice marketplace SCIM apps use, so existing Entra
	// attribute mappings (isAgent) keep working.
	URNFreshservice = "urn:ietf:params:scim:schemas:extension:freshservice:2.0:User"
)

// Doc is a SCIM resource as decoded JSON: attribute names as the schema
// spells them, complex values as maps, multi-valued ones as slices.
type Doc = map[string]any

// lookup finds key in m ignoring case (SCIM attribute names are
// case-insensitive).
func lookup(m map[string]any, key string) (any, bool) {
	if m == nil {
		return nil, false
	}
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// path follows keys through nested maps.
func path(m map[string]any, keys ...string) (any, bool) {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = lookup(mm, k)
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// str returns a string attribute, "" when absent or not a string.
func str(m map[string]any, keys ...string) string {
	v, _ := path(m, keys...)
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case json.Number:
		return t.String()
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return ""
}

// boolAttr reads a boolean attribute, accepting the string forms IdPs send
// ("True", "false").
func boolAttr(m map[string]any, keys ...string) (value, present bool) {
	v, ok := path(m, keys...)
	if !ok || v == nil {
		return false, false
	}
	switch t := v.(type) {
	case bool:
		return t, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(t))
		return b, err == nil
	}
	return false, false
}

// items returns a multi-valued attribute's elements that are objects; a
// single object is read as a list of one (OneLogin sends emails so).
func items(m map[string]any, key string) []map[string]any {
	v, _ := lookup(m, key)
	switch t := v.(type) {
	case []any:
		out := make([]map[string]any, 0, len(t))
		for _, e := range t {
			if em, ok := e.(map[string]any); ok {
				out = append(out, em)
			}
		}
		return out
	case []map[string]any:
		return t
	case map[string]any:
		return []map[string]any{t}
	}
	return nil
}

func typeIs(item map[string]any, typ string) bool { return strings.EqualFold(str(item, "type"), typ) }

func isPrimary(item map[string]any) bool {
	b, _ := boolAttr(item, "primary")
	return b
}

// DeepCopy copies a JSON document so the copy can be changed freely.
func DeepCopy(d Doc) Doc {
	if d == nil {
		return nil
	}
	out := make(Doc, len(d))
	for k, v := range d {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return DeepCopy(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopyValue(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = DeepCopy(e)
		}
		return out
	}
	return v
}

// setPath sets a value in nested maps, creating them as needed.
func setPath(m map[string]any, value any, keys ...string) {
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = value
}

// AttrError says which SCIM attribute cannot be mapped and why; the bridge
// answers it as 400 invalidValue.
type AttrError struct {
	Attr   string
	Value  string
	Reason string
}

func (e *AttrError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Attr, e.Reason)
	}
	return fmt.Sprintf("%s: %q %s", e.Attr, e.Value, e.Reason)
}

func sortedIDs(ids []int64) []int64 {
	out := append([]int64(nil), ids...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	// de-duplicate
	n := 0
	for i, v := range out {
		if i == 0 || v != out[n-1] {
			out[n] = v
			n++
		}
	}
	return out[:n]
}

func sameIDs(a, b []int64) bool {
	a, b = sortedIDs(a), sortedIDs(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// sameEmails compares two email lists as sets, ignoring case.
func sameEmails(a, b []string) bool {
	norm := func(l []string) []string {
		out := make([]string, 0, len(l))
		seen := map[string]bool{}
		for _, e := range l {
			e = strings.ToLower(strings.TrimSpace(e))
			if e != "" && !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
		sort.Strings(out)
		return out
	}
	x, y := norm(a), norm(b)
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}
