package scim

import (
	"encoding/json"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// This file writes every answer the edge sends: resources, lists, discovery documents, and errors
// (writeError, the one place an error body is written). Resources are encoded straight from the
// document the backend returns, in one pooled buffer, without copying the document or going through
// reflection: a lookup's answer used to cost more in encoding/json and map copies than in finding
// the user.

const contentType = "application/scim+json; charset=utf-8"

// contentTypeHeader is shared by every answer: header values are never changed once set.
var contentTypeHeader = []string{contentType}

// encoder appends JSON to buf. keys is scratch space for sorting object keys, shared by the nested
// objects of one document; base is the SCIM base URL that relative "$ref" values are resolved
// against.
type encoder struct {
	buf  []byte
	keys []string
	base string
}

var encoders = sync.Pool{New: func() any { return &encoder{buf: make([]byte, 0, 2048)} }}

func getEncoder(base string) *encoder {
	enc := encoders.Get().(*encoder)
	enc.buf, enc.keys, enc.base = enc.buf[:0], enc.keys[:0], base
	return enc
}

func (enc *encoder) release() {
	// A huge answer (a group of many thousand members) is not kept for the next small one.
	if cap(enc.buf) <= 256<<10 {
		encoders.Put(enc)
	}
}

// send writes the encoded body with status and the SCIM content type.
func (enc *encoder) send(w http.ResponseWriter, status int) {
	h := w.Header()
	h["Content-Type"] = contentTypeHeader
	h["Content-Length"] = []string{strconv.Itoa(len(enc.buf))}
	w.WriteHeader(status)
	_, _ = w.Write(enc.buf)
}

// projection is what the IdP asked to get back of each resource (RFC 7644 §3.4.2.5).
type projection struct {
	attributes, excluded []string
}

func (p projection) empty() bool { return len(p.attributes) == 0 && len(p.excluded) == 0 }

// resource appends the SCIM representation of res: schemas, id, externalId, its attributes as
// projected, and meta.
func (enc *encoder) resource(rt *resourceType, res Resource, p projection) {
	attrs := res.Attributes
	general := !p.empty() || rt.project
	if general {
		attrs = Project(attrs, p.attributes, p.excluded, rt.rs)
	}
	b := append(enc.buf, `{"schemas":[`...)
	b = appendString(b, rt.rs.Core.ID)
	for _, x := range rt.rs.Extensions {
		if m, ok := attrs[x.ID].(map[string]any); ok && len(m) > 0 {
			b = append(b, ',')
			b = appendString(b, x.ID)
		}
	}
	b = append(b, `],"id":`...)
	b = appendString(b, res.ID)
	if res.ExternalID != "" && !includes(p.excluded, "externalId") && (len(p.attributes) == 0 || includes(p.attributes, "externalId")) {
		b = append(b, `,"externalId":`...)
		b = appendString(b, res.ExternalID)
	}
	enc.buf = b
	start := len(enc.keys)
	for k := range attrs {
		if reservedKey(k) || (!general && rt.dropped[strings.ToLower(k)]) {
			continue
		}
		enc.keys = append(enc.keys, k)
	}
	slices.Sort(enc.keys[start:])
	for i := start; i < len(enc.keys); i++ {
		k := enc.keys[i]
		enc.buf = append(enc.buf, ',')
		enc.buf = appendString(enc.buf, k)
		enc.buf = append(enc.buf, ':')
		enc.value(attrs[k], false)
	}
	enc.keys = enc.keys[:start]
	b = append(enc.buf, `,"meta":{"resourceType":`...)
	b = appendString(b, rt.name)
	if !res.Created.IsZero() {
		b = append(b, `,"created":"`...)
		b = res.Created.UTC().Truncate(time.Second).AppendFormat(b, time.RFC3339)
		b = append(b, '"')
	}
	if !res.Modified.IsZero() {
		b = append(b, `,"lastModified":"`...)
		b = res.Modified.UTC().Truncate(time.Second).AppendFormat(b, time.RFC3339)
		b = append(b, '"')
	}
	b = append(b, `,"location":"`...)
	b = appendStringBody(b, enc.base)
	b = appendStringBody(b, rt.endpoint)
	b = append(b, '/')
	b = appendStringBody(b, res.ID)
	b = append(b, '"')
	if res.Version != "" {
		b = append(b, `,"version":`...)
		b = appendString(b, res.Version)
	}
	enc.buf = append(b, "}}"...)
}

// reservedKey reports whether an attribute key is one the edge writes itself.
func reservedKey(k string) bool {
	switch len(k) {
	case 2:
		return strings.EqualFold(k, "id")
	case 4:
		return strings.EqualFold(k, "meta")
	case 7:
		return strings.EqualFold(k, "schemas")
	case 10:
		return strings.EqualFold(k, "externalId")
	}
	return false
}

// list appends a ListResponse (RFC 7644 §3.4.2): itemsPerPage is the number of resources in it.
func (enc *encoder) list(rt *resourceType, page Page, startIndex int, p projection) {
	b := append(enc.buf, `{"schemas":["`+URNListResponse+`"],"totalResults":`...)
	b = strconv.AppendInt(b, int64(page.Total), 10)
	b = append(b, `,"itemsPerPage":`...)
	b = strconv.AppendInt(b, int64(len(page.Resources)), 10)
	b = append(b, `,"startIndex":`...)
	b = strconv.AppendInt(b, int64(startIndex), 10)
	enc.buf = append(b, `,"Resources":[`...)
	for i, res := range page.Resources {
		if i > 0 {
			enc.buf = append(enc.buf, ',')
		}
		enc.resource(rt, res, p)
	}
	enc.buf = append(enc.buf, "]}"...)
}

// value appends any JSON-shaped value. ref says the value is that of a "$ref" key: a relative
// reference (the bridge stores "Users/42") is written against the base URL, as RFC 7643 §2.3.7
// recommends and Entra and Okta expect.
func (enc *encoder) value(v any, ref bool) {
	switch t := v.(type) {
	case nil:
		enc.buf = append(enc.buf, "null"...)
	case string:
		if ref && enc.base != "" && t != "" && !absoluteReference(t) {
			b := append(enc.buf, '"')
			b = appendStringBody(b, enc.base)
			b = append(b, '/')
			b = appendStringBody(b, strings.TrimPrefix(t, "/"))
			enc.buf = append(b, '"')
			return
		}
		enc.buf = appendString(enc.buf, t)
	case bool:
		enc.buf = strconv.AppendBool(enc.buf, t)
	case json.Number:
		if validNumber(string(t)) {
			enc.buf = append(enc.buf, t...)
		} else {
			enc.buf = appendString(enc.buf, string(t))
		}
	case float64:
		enc.buf = appendFloat(enc.buf, t, 64)
	case float32:
		enc.buf = appendFloat(enc.buf, float64(t), 32)
	case int:
		enc.buf = strconv.AppendInt(enc.buf, int64(t), 10)
	case int64:
		enc.buf = strconv.AppendInt(enc.buf, t, 10)
	case int32:
		enc.buf = strconv.AppendInt(enc.buf, int64(t), 10)
	case uint64:
		enc.buf = strconv.AppendUint(enc.buf, t, 10)
	case map[string]any:
		enc.object(t)
	case []any:
		enc.buf = append(enc.buf, '[')
		for i, e := range t {
			if i > 0 {
				enc.buf = append(enc.buf, ',')
			}
			enc.value(e, false)
		}
		enc.buf = append(enc.buf, ']')
	case []map[string]any:
		enc.buf = append(enc.buf, '[')
		for i, e := range t {
			if i > 0 {
				enc.buf = append(enc.buf, ',')
			}
			enc.object(e)
		}
		enc.buf = append(enc.buf, ']')
	case []string:
		enc.buf = append(enc.buf, '[')
		for i, e := range t {
			if i > 0 {
				enc.buf = append(enc.buf, ',')
			}
			enc.buf = appendString(enc.buf, e)
		}
		enc.buf = append(enc.buf, ']')
	case time.Time:
		enc.buf = append(enc.buf, '"')
		enc.buf = t.AppendFormat(enc.buf, time.RFC3339Nano)
		enc.buf = append(enc.buf, '"')
	default:
		if m, ok := jsonObject(v); ok {
			enc.object(m)
			return
		}
		if l, ok := jsonArray(v); ok {
			enc.value(l, false)
			return
		}
		if rv := reflect.ValueOf(v); rv.Kind() >= reflect.Int && rv.Kind() <= reflect.Int64 {
			enc.buf = strconv.AppendInt(enc.buf, rv.Int(), 10)
			return
		}
		data, err := json.Marshal(v)
		if err != nil {
			enc.buf = append(enc.buf, "null"...)
			return
		}
		enc.buf = append(enc.buf, data...)
	}
}

// object appends an object with its keys sorted, so the same document always encodes the same.
func (enc *encoder) object(m map[string]any) {
	if m == nil {
		enc.buf = append(enc.buf, "null"...)
		return
	}
	start := len(enc.keys)
	for k := range m {
		enc.keys = append(enc.keys, k)
	}
	slices.Sort(enc.keys[start:])
	enc.buf = append(enc.buf, '{')
	for i := start; i < len(enc.keys); i++ {
		k := enc.keys[i]
		if i > start {
			enc.buf = append(enc.buf, ',')
		}
		enc.buf = appendString(enc.buf, k)
		enc.buf = append(enc.buf, ':')
		enc.value(m[k], k == "$ref")
	}
	enc.buf = append(enc.buf, '}')
	enc.keys = enc.keys[:start]
}

// AppendJSON appends v as JSON to dst: the encoding the edge answers with, objects with their keys
// sorted, so equal documents always give equal bytes (a version can be a hash of them). It
// allocates nothing but dst's growth.
func AppendJSON(dst []byte, v any) []byte {
	enc := getEncoder("")
	enc.buf, dst = dst, enc.buf
	enc.value(v, false)
	dst, enc.buf = enc.buf, dst
	enc.release()
	return dst
}

// absoluteReference reports whether a reference names its scheme (https://…, urn:…).
func absoluteReference(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendStringBody(b, s)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendStringBody appends the JSON escaping of s without quotes: as encoding/json escapes, less
// the HTML-safe escapes of <, > and &, which no SCIM client needs. Invalid UTF-8 becomes U+FFFD.
func appendStringBody(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// appendFloat formats a number as encoding/json does; NaN and infinities, which JSON cannot hold,
// become null.
func appendFloat(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// validNumber reports whether s is a JSON number.
func validNumber(s string) bool {
	if s == "" {
		return false
	}
	i := 0
	if s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// writeError answers with an RFC 7644 §3.12 error body. It is the one place an error is written,
// whatever found it: the router, a middleware, a check of the request, or the backend. The error is
// kept for the request's log line.
func writeError(w http.ResponseWriter, r *http.Request, e *Error) {
	if st := stateOf(r); st != nil && st.err == nil {
		st.err = e
	}
	enc := getEncoder("")
	defer enc.release()
	b := append(enc.buf, `{"schemas":["`+URNError+`"],"status":"`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, '"')
	if e.ScimType != "" {
		b = append(b, `,"scimType":`...)
		b = appendString(b, e.ScimType)
	}
	b = append(b, `,"detail":`...)
	b = appendString(b, e.Detail)
	if e.Plan != nil {
		b = append(b, `,"plan":[`...)
		for i, p := range e.Plan {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, p)
		}
		b = append(b, ']')
	}
	enc.buf = append(b, '}')
	if e.RetryAfter > 0 && (e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable) {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	enc.send(w, e.Status)
}

// includes reports whether a list of attribute names names name, ignoring case and spaces.
func includes(list []string, name string) bool {
	for _, s := range list {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return true
		}
	}
	return false
}
