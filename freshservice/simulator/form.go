package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// fieldError is one entry of a Freshservice validation error (reference §9).
type fieldError struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	Code    string `json:"code"`
}

// Error codes of the API (reference §9).
const (
	codeMissingField     = "missing_field"
	codeInvalidValue     = "invalid_value"
	codeDuplicateValue   = "duplicate_value"
	codeDatatypeMismatch = "datatype_mismatch"
	codeInvalidField     = "invalid_field"
	codeInvalidJSON      = "invalid_json"
)

const maxStringLen = 255

// form is a parsed JSON object body. Each accessor reads one key, records a
// datatype_mismatch if the value has the wrong type, and marks the key as
// known; finish then reports every key nobody asked for as invalid_field.
type form struct {
	fields map[string]json.RawMessage
	known  map[string]bool
	errs   []fieldError
}

// parseForm parses a request body, which must be a JSON object. An empty body
// is an empty object.
func parseForm(body []byte) (*form, *fieldError) {
	f := &form{fields: map[string]json.RawMessage{}, known: map[string]bool{}}
	if len(bytes.TrimSpace(body)) == 0 {
		return f, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&f.fields); err != nil || dec.More() || f.fields == nil {
		return nil, &fieldError{Message: "Request body has invalid json format", Code: codeInvalidJSON}
	}
	return f, nil
}

func (f *form) has(key string) bool {
	_, ok := f.fields[key]
	return ok
}

func (f *form) fail(field, code, msg string) {
	f.errs = append(f.errs, fieldError{Field: field, Message: msg, Code: code})
}

func (f *form) mismatch(key, typ string) {
	f.fail(key, codeDatatypeMismatch, "It should be a/an "+typ)
}

// raw returns the value of key and marks it known; ok is false if absent.
func (f *form) raw(key string) (json.RawMessage, bool) {
	f.known[key] = true
	v, ok := f.fields[key]
	return v, ok
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// str reads an optional string; null clears (returns a pointer to "").
func (f *form) str(key string) *string {
	v, ok := f.raw(key)
	if !ok {
		return nil
	}
	s := ""
	if !isNull(v) {
		if err := json.Unmarshal(v, &s); err != nil {
			f.mismatch(key, "String")
			return nil
		}
	}
	if utf8.RuneCountInString(s) > maxStringLen && key != "background_information" && key != "signature" && key != "address" && key != "description" {
		f.fail(key, codeInvalidValue, fmt.Sprintf("Has %d characters, it can have maximum of %d characters", utf8.RuneCountInString(s), maxStringLen))
		return nil
	}
	return &s
}

// boolean reads an optional boolean; null is a type error.
func (f *form) boolean(key string) *bool {
	v, ok := f.raw(key)
	if !ok {
		return nil
	}
	var b bool
	if isNull(v) || json.Unmarshal(v, &b) != nil {
		f.mismatch(key, "Boolean")
		return nil
	}
	return &b
}

// parseID parses a positive integer JSON number.
func parseID(v json.RawMessage) (int64, bool) {
	n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
	return n, err == nil && n > 0
}

// id reads an optional positive integer; null clears (returns a pointer to 0).
func (f *form) id(key string) *int64 {
	v, ok := f.raw(key)
	if !ok {
		return nil
	}
	var n int64
	if !isNull(v) {
		var good bool
		if n, good = parseID(v); !good {
			f.mismatch(key, "Positive Integer")
			return nil
		}
	}
	return &n
}

// ids reads an optional array of positive integers; null means empty.
func (f *form) ids(key string) *[]int64 {
	v, ok := f.raw(key)
	if !ok {
		return nil
	}
	out := []int64{}
	if isNull(v) {
		return &out
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		f.mismatch(key, "Array")
		return nil
	}
	for _, it := range items {
		n, good := parseID(it)
		if !good {
			f.mismatch(key, "Array of Positive Integer")
			return nil
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return &out
}

// strs reads an optional array of strings; null means empty.
func (f *form) strs(key string) *[]string {
	v, ok := f.raw(key)
	if !ok {
		return nil
	}
	out := []string{}
	if isNull(v) {
		return &out
	}
	if err := json.Unmarshal(v, &out); err != nil || out == nil {
		f.mismatch(key, "Array of String")
		return nil
	}
	return &out
}

// customFields reads an optional object of scalar values.
func (f *form) customFields(key string) map[string]any {
	v, ok := f.raw(key)
	if !ok {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(v, &m); err != nil || m == nil {
		f.mismatch(key, "key/value pair")
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch m[k].(type) {
		case nil, string, float64, bool:
		default:
			f.fail(key+"."+k, codeDatatypeMismatch, "It should be a/an String, Number, Boolean or null")
			return nil
		}
	}
	return m
}

// deprecated rejects keys that the API used to accept (reference §4.1).
func (f *form) deprecated(keys ...string) {
	for _, k := range keys {
		if _, ok := f.raw(k); ok {
			f.fail(k, codeInvalidField, "Unexpected/invalid field in request: this field is deprecated")
		}
	}
}

// finish reports every key no accessor asked for, and returns all errors.
func (f *form) finish() []fieldError {
	var unknown []string
	for k := range f.fields {
		if !f.known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		f.fail(k, codeInvalidField, "Unexpected/invalid field in request")
	}
	return f.errs
}

// validEmail is a deliberately loose syntax check: one @ with something on
// each side and no spaces.
func validEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at == strings.LastIndexByte(s, '@') && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n,;<>")
}
