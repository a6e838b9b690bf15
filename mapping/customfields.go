package mapping

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Freshservice accounts add their own user fields (custom_fields, §3.1),
// and often make some mandatory: a create without them fails 400
// missing_field. The configuration maps SCIM attributes to them
// (mapping.custom_fields, docs/mapping.md); this file holds the pure part:
// where a source path points, how a value is converted to the field's
// type, and which value a user gets.

// CustomFieldType is the kind of value a Freshservice custom field holds.
type CustomFieldType string

// The custom field types the bridge writes.
const (
	CustomText     CustomFieldType = "text"     // custom_text, custom_paragraph, custom_phone, custom_url
	CustomNumber   CustomFieldType = "number"   // custom_number: a whole number
	CustomDecimal  CustomFieldType = "decimal"  // custom_decimal
	CustomDate     CustomFieldType = "date"     // custom_date: YYYY-MM-DD
	CustomCheckbox CustomFieldType = "checkbox" // custom_checkbox: true or false
	CustomDropdown CustomFieldType = "dropdown" // custom_dropdown: one of its choices
)

// CustomFieldTypes lists the types a mapping may name.
var CustomFieldTypes = []CustomFieldType{CustomText, CustomNumber, CustomDecimal, CustomDate, CustomCheckbox, CustomDropdown}

// CustomFieldSpec is one configured mapping of a SCIM attribute to a
// Freshservice custom field.
type CustomFieldSpec struct {
	// Source is the SCIM attribute: a core path (title, nickName,
	// name.givenName), an enterprise attribute (employeeNumber,
	// enterprise.employeeNumber or the full URN path), or any extension
	// attribute by its full URN path ("urn:...:2.0:User:badge"). Empty:
	// the field always gets Default.
	Source string
	// Target is the custom field's internal name (employee_id).
	Target string
	Type   CustomFieldType
	// Default is sent when the IdP sends no value, or one that cannot be
	// converted; "" means none.
	Default string
	// Choices are a dropdown's values; required for dropdowns.
	Choices []string
}

// customFieldRule is a checked spec.
type customFieldRule struct {
	spec CustomFieldSpec
	keys []string // the path into the SCIM document; nil for a constant
	attr string   // the source as gaps name it
	def  any      // the converted default; nil for none
}

// CustomFields are the checked custom field mappings. The zero value maps
// nothing.
type CustomFields struct {
	rules []customFieldRule
}

// Len is the number of mappings.
func (c CustomFields) Len() int { return len(c.rules) }

// ExtensionAttributes are the attributes the mappings read from extension
// schemas other than the enterprise and Freshservice ones, by URN, each
// with the type of the custom field it feeds: the SCIM endpoint must
// accept those extensions. A name is an attribute, or "name.sub" for a
// sub-attribute.
func (c CustomFields) ExtensionAttributes() map[string]map[string]CustomFieldType {
	out := map[string]map[string]CustomFieldType{}
	for _, r := range c.rules {
		if len(r.keys) < 2 || !strings.HasPrefix(strings.ToLower(r.keys[0]), "urn:") ||
			strings.EqualFold(r.keys[0], URNEnterprise) || strings.EqualFold(r.keys[0], URNFreshservice) {
			continue
		}
		if out[r.keys[0]] == nil {
			out[r.keys[0]] = map[string]CustomFieldType{}
		}
		a := strings.Join(r.keys[1:], ".")
		if _, ok := out[r.keys[0]][a]; !ok {
			out[r.keys[0]][a] = r.spec.Type
		}
	}
	return out
}

// Targets are the custom field names the mappings write, in order.
func (c CustomFields) Targets() []string {
	out := make([]string, len(c.rules))
	for i, r := range c.rules {
		out[i] = r.spec.Target
	}
	return out
}

// coreAttributes are the SCIM core User attributes (RFC 7643 §4.1) a
// short source name is taken from first.
var coreAttributes = []string{
	"userName", "name", "displayName", "nickName", "profileUrl", "title", "userType",
	"preferredLanguage", "locale", "timezone", "active", "emails", "phoneNumbers", "ims",
	"photos", "addresses", "groups", "entitlements", "roles", "x509Certificates", "externalId", "id",
}

// enterpriseAttributes are the enterprise extension's attributes (RFC 7643
// §4.3); none has the name of a core attribute, so a short name is never
// ambiguous.
var enterpriseAttributes = []string{"employeeNumber", "costCenter", "organization", "division", "department", "manager"}

// SourcePath resolves a configured source to the keys of the SCIM document
// it reads, and the name gaps show it by. Accepted forms:
//
//   - a core attribute or sub-attribute: title, nickName, name.givenName;
//   - an enterprise attribute by its bare name (employeeNumber), as
//     enterprise.employeeNumber, or by its full URN path;
//   - any extension attribute by its full URN path:
//     urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge (a
//     sub-attribute follows a dot: ...:User:manager.value).
//
// A bare name that is neither a core nor an enterprise attribute is an
// error: it must be given with its extension's URN.
func SourcePath(src string) (keys []string, attr string, err error) {
	s := strings.TrimSpace(src)
	if s == "" {
		return nil, "", fmt.Errorf("source is empty")
	}
	if strings.HasPrefix(strings.ToLower(s), "urn:") {
		i := strings.LastIndex(s, ":")
		urn, rest := s[:i], s[i+1:]
		// The path is the schema's URN, a colon and the attribute; a
		// source that ends in the resource name is the schema itself.
		if rest == "" || strings.EqualFold(rest, "User") || strings.Count(urn, ":") < 2 {
			return nil, "", fmt.Errorf("source %q: a URN path ends in :attribute, as %s:employeeNumber", src, URNEnterprise)
		}
		if strings.EqualFold(urn, URNEnterprise) {
			urn = URNEnterprise
		}
		parts, err := attrParts(src, rest)
		if err != nil {
			return nil, "", err
		}
		return append([]string{urn}, parts...), urn + ":" + strings.Join(parts, "."), nil
	}
	if head, rest, ok := strings.Cut(s, "."); ok && strings.EqualFold(head, "enterprise") {
		parts, err := attrParts(src, rest)
		if err != nil {
			return nil, "", err
		}
		if !slices.ContainsFunc(enterpriseAttributes, func(a string) bool { return strings.EqualFold(a, parts[0]) }) {
			return nil, "", fmt.Errorf("source %q: %s is not an enterprise attribute (%s)", src, parts[0], strings.Join(enterpriseAttributes, ", "))
		}
		return append([]string{URNEnterprise}, parts...), URNEnterprise + ":" + strings.Join(parts, "."), nil
	}
	parts, err := attrParts(src, s)
	if err != nil {
		return nil, "", err
	}
	if slices.ContainsFunc(coreAttributes, func(a string) bool { return strings.EqualFold(a, parts[0]) }) {
		return parts, strings.Join(parts, "."), nil
	}
	if slices.ContainsFunc(enterpriseAttributes, func(a string) bool { return strings.EqualFold(a, parts[0]) }) {
		return append([]string{URNEnterprise}, parts...), URNEnterprise + ":" + strings.Join(parts, "."), nil
	}
	return nil, "", fmt.Errorf("source %q is neither a core SCIM attribute nor an enterprise one; give an extension attribute with its URN (urn:...:User:%s)", src, parts[0])
}

func attrParts(src, s string) ([]string, error) {
	parts := strings.Split(s, ".")
	for _, p := range parts {
		if p == "" || strings.ContainsAny(p, " []\"") {
			return nil, fmt.Errorf("source %q: %q is not an attribute name", src, s)
		}
	}
	return parts, nil
}

// NewCustomFields checks the specs: every source resolves, every target
// is a field name used once, every type is known, a dropdown has choices,
// and a default converts to its type. It reports every problem at once,
// one line each, prefixed by the spec's index.
func NewCustomFields(specs []CustomFieldSpec) (CustomFields, []string) {
	var c CustomFields
	var problems []string
	seen := map[string]bool{}
	for i, s := range specs {
		add := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("[%d]: ", i)+fmt.Sprintf(format, args...))
		}
		r := customFieldRule{spec: s}
		r.spec.Choices = slices.Clone(s.Choices)
		ok := true
		if s.Source != "" {
			keys, attr, err := SourcePath(s.Source)
			if err != nil {
				add("%v", err)
				ok = false
			}
			r.keys, r.attr = keys, attr
		} else if s.Default == "" {
			add("give a source, a default, or both")
			ok = false
		}
		switch {
		case s.Target == "":
			add("target: the custom field's name is required")
			ok = false
		case strings.ContainsAny(s.Target, " .:\"") || strings.TrimSpace(s.Target) != s.Target:
			add("target %q: give the field's internal name (as employee_id), not its label", s.Target)
			ok = false
		case seen[s.Target]:
			add("target %q is mapped twice", s.Target)
			ok = false
		}
		seen[s.Target] = true
		if !slices.Contains(CustomFieldTypes, s.Type) {
			add("type %q is not one of %s", s.Type, joinTypes())
			ok = false
		} else if s.Type == CustomDropdown && len(s.Choices) == 0 {
			add("a dropdown needs its choices, as Freshservice lists them")
			ok = false
		} else if s.Type != CustomDropdown && len(s.Choices) > 0 {
			add("choices apply to dropdowns only")
			ok = false
		}
		if ok && s.Default != "" {
			v, reason := ConvertCustomValue(s.Type, s.Default, s.Choices)
			if reason != "" {
				add("default %q %s", s.Default, reason)
				ok = false
			}
			r.def = v
		}
		if ok {
			c.rules = append(c.rules, r)
		}
	}
	return c, problems
}

func joinTypes() string {
	s := make([]string, len(CustomFieldTypes))
	for i, t := range CustomFieldTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// ConvertCustomValue converts a SCIM value to what a custom field of type
// t takes, or says why it cannot ("" when it can):
//
//   - text: a string (numbers and booleans written out);
//   - number: a whole number, from a number or a string ("42");
//   - decimal: any number, from a number or a string;
//   - date: YYYY-MM-DD, from a date or an RFC 3339 time (the date as
//     written there, not moved to UTC);
//   - checkbox: from a boolean or "true"/"false" (any case);
//   - dropdown: one of choices, matched ignoring case and sent as the
//     choice is spelled.
func ConvertCustomValue(t CustomFieldType, v any, choices []string) (any, string) {
	if n, ok := v.(json.Number); ok {
		v = n.String()
		if f, err := n.Float64(); err == nil && t != CustomText && t != CustomDropdown {
			v = f
		}
	}
	switch v.(type) {
	case map[string]any, []any:
		return nil, "is not a single value"
	}
	switch t {
	case CustomText:
		switch x := v.(type) {
		case string:
			return strings.TrimSpace(x), ""
		case bool:
			return strconv.FormatBool(x), ""
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), ""
		case int64:
			return strconv.FormatInt(x, 10), ""
		case int:
			return strconv.Itoa(x), ""
		}
	case CustomNumber, CustomDecimal:
		var f float64
		switch x := v.(type) {
		case string:
			p, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil || math.IsInf(p, 0) || math.IsNaN(p) {
				return nil, "is not a number"
			}
			f = p
		case float64:
			f = x
		case int64:
			f = float64(x)
		case int:
			f = float64(x)
		default:
			return nil, "is not a number"
		}
		if t == CustomDecimal {
			return f, ""
		}
		if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return nil, "is not a whole number"
		}
		return int64(f), ""
	case CustomDate:
		s, ok := v.(string)
		if !ok {
			return nil, "is not a date (YYYY-MM-DD or an RFC 3339 time)"
		}
		s = strings.TrimSpace(s)
		if d, err := time.Parse(time.DateOnly, s); err == nil {
			return d.Format(time.DateOnly), ""
		}
		if ts, err := time.Parse(time.RFC3339, s); err == nil {
			return ts.Format(time.DateOnly), ""
		}
		return nil, "is not a date (YYYY-MM-DD or an RFC 3339 time)"
	case CustomCheckbox:
		switch x := v.(type) {
		case bool:
			return x, ""
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true":
				return true, ""
			case "false":
				return false, ""
			}
		}
		return nil, "is not true or false"
	case CustomDropdown:
		s, ok := v.(string)
		if !ok {
			return nil, "is not one of the choices " + quoteChoices(choices)
		}
		s = strings.TrimSpace(s)
		for _, c := range choices {
			if strings.EqualFold(c, s) {
				return c, ""
			}
		}
		return nil, "is not one of the choices " + quoteChoices(choices)
	default:
		return nil, fmt.Sprintf("cannot be converted to type %q", t)
	}
	return nil, "is not a single value"
}

func quoteChoices(c []string) string {
	q := make([]string, len(c))
	for i, s := range c {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// blank reports whether a sent value means "no value".
func blank(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	}
	return false
}

// showValue renders a sent value for a gap, as the IdP sent it.
func showValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Apply sets the custom fields the SCIM user determines in p. A field
// whose attribute the IdP sent gets its converted value; one the IdP left
// out (or sent empty) gets the default, if one is configured, and is left
// as Freshservice has it otherwise. A value that cannot be converted, or a
// dropdown value that is not a choice, does not block the person: it is a
// Gap (the IdP's value is kept as sent and listed on /status), and the
// field gets the default meanwhile, if there is one.
func (c CustomFields) Apply(doc Doc, p *Profile) {
	for _, r := range c.rules {
		var v any
		present := false
		if r.keys != nil {
			v, present = path(doc, r.keys...)
			present = present && !blank(v)
		}
		val := r.def
		if present {
			conv, reason := ConvertCustomValue(r.spec.Type, v, r.spec.Choices)
			if reason == "" {
				val = conv
			} else {
				p.Gaps = append(p.Gaps, Gap{
					Field: FieldCustomFields, Attr: r.attr, Value: showValue(v),
					Reason: fmt.Sprintf("%s, for the Freshservice custom field %s (%s)", reason, r.spec.Target, r.spec.Type),
				})
			}
		}
		if val == nil {
			continue
		}
		if p.CustomFields == nil {
			p.CustomFields = map[string]any{}
		}
		p.CustomFields[r.spec.Target] = val
	}
}

// sameCustomValue reports whether Freshservice's value h is the value w
// the bridge would send: numbers compare by value whatever their Go type
// (the mirror holds decoded JSON), and a date Freshservice shows with a
// time counts as that date.
func sameCustomValue(w, h any) bool {
	if wf, ok := number(w); ok {
		hf, ok := number(h)
		return ok && wf == hf
	}
	switch x := w.(type) {
	case string:
		hs, ok := h.(string)
		if !ok {
			return false
		}
		if hs == x {
			return true
		}
		if len(x) == len(time.DateOnly) && len(hs) > len(x) && strings.HasPrefix(hs, x+"T") {
			if _, err := time.Parse(time.DateOnly, x); err == nil {
				return true
			}
		}
		return false
	case bool:
		hb, ok := h.(bool)
		return ok && hb == x
	case nil:
		return h == nil
	}
	return false
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// customFieldsDiff returns the custom fields of want that Freshservice
// does not hold as they are in have, or nil. Fields the bridge does not
// map are never sent: Freshservice keeps them (custom_fields merges by
// key, §3.5).
func customFieldsDiff(want, have map[string]any) map[string]any {
	var out map[string]any
	for k, w := range want {
		if h, ok := have[k]; ok && sameCustomValue(w, h) {
			continue
		}
		if out == nil {
			out = map[string]any{}
		}
		out[k] = w
	}
	return out
}

// CustomFieldDef is one custom user field as the account defines it
// (Freshservice's /requester_fields): its internal name and whether a
// create must give it.
type CustomFieldDef struct {
	Name     string
	Label    string
	Type     string
	Required bool
	Choices  []string
}

// MissingMandatoryFields names, sorted, the account's mandatory custom
// fields that no mapping fills for every user: those no mapping targets,
// and those mapped from an attribute with no default (a user whose IdP
// leaves the attribute empty is refused by Freshservice). `fsbridge check`
// reports them.
func MissingMandatoryFields(fields []CustomFieldDef, c CustomFields) []string {
	filled := map[string]bool{}
	for _, r := range c.rules {
		if r.keys == nil || r.def != nil {
			filled[r.spec.Target] = true
		}
	}
	var out []string
	for _, f := range fields {
		if f.Required && !filled[f.Name] {
			out = append(out, f.Name)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// Extras are what the configuration adds to the profile ProfileFromSCIM
// reads: the custom field mappings, and whether externalId is sent as
// Freshservice's external_id.
type Extras struct {
	CustomFields CustomFields
	ExternalID   bool
}

// Apply adds the extras to p, a profile ProfileFromSCIM read from doc.
func (x Extras) Apply(doc Doc, p *Profile) {
	x.CustomFields.Apply(doc, p)
	if x.ExternalID {
		if id := str(doc, "externalId"); id != "" {
			p.ExternalID = id
			p.Set |= FieldExternalID
		}
	}
}
