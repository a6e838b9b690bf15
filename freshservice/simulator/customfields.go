package simulator

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Custom fields (reference §3.1, §13 item 15): custom_fields keys are the
// internal names of fields defined per view (/requester_fields and
// /agent_fields in the real API); anything else is invalid_field, a value of
// the wrong type is datatype_mismatch, and a field required for agents that
// is missing from a create is missing_field.

var customFieldTypes = []string{
	"custom_text", "custom_paragraph", "custom_phone", "custom_url",
	"custom_number", "custom_decimal", "custom_date", "custom_checkbox", "custom_dropdown",
}

var customFieldName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// defaultRequesterFields are the user custom fields of the default account:
// employee_id from the real example of reference §3.1 ("custom_fields":
// {"employee_id":null}), which real tenants use (§19), and one field of
// each other kind a bridge must write correctly: a number, a date, a
// checkbox and a dropdown.
var defaultRequesterFields = []CustomField{
	{Name: EmployeeIDField, Label: "Employee ID", Type: "custom_text"},
	{Name: "desk_number", Label: "Desk number", Type: "custom_number"},
	{Name: "hire_date", Label: "Hire date", Type: "custom_date"},
	{Name: "remote_worker", Label: "Remote worker", Type: "custom_checkbox"},
	{Name: "employment_type", Label: "Employment type", Type: "custom_dropdown", Choices: []string{"Full-time", "Part-time", "Contractor"}},
}

// EmployeeIDField is the custom field Switches.CustomFieldRequired makes
// mandatory.
const EmployeeIDField = "employee_id"

// fields returns the custom fields of a view. The requester fields are the
// account's user fields, which agents carry too (reference §19), followed
// for agents by the agent-only fields.
func (st *state) fields(v userView) []CustomField {
	if v == viewAgent {
		return slices.Concat(st.requesterFields, st.agentFields)
	}
	return st.requesterFields
}

// required reports whether f must be given on create: it is defined
// required, or the switch makes employee_id so.
func (f CustomField) required(employeeID bool) bool {
	return f.Required || (employeeID && f.Name == EmployeeIDField)
}

func (st *state) customField(v userView, name string) (CustomField, bool) {
	for _, f := range st.fields(v) {
		if f.Name == name {
			return f, true
		}
	}
	return CustomField{}, false
}

// renderCustom shows every defined field of the view, null when unset.
func (st *state) renderCustom(v userView, values map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range st.fields(v) {
		out[f.Name] = values[f.Name]
	}
	return out
}

// checkCustomValues validates values against the view's definitions. On a
// create, required fields must be present: one missing_field per field
// (reference §3.5, §19). employeeID is Switches.CustomFieldRequired.
func (st *state) checkCustomValues(v userView, values map[string]any, create, employeeID bool) []fieldError {
	var errs []fieldError
	add := func(field, code, msg string) { errs = append(errs, fieldError{Field: field, Message: msg, Code: code}) }
	for _, k := range slices.Sorted(maps.Keys(values)) {
		def, ok := st.customField(v, k)
		if !ok {
			add(k, codeInvalidField, "Unexpected/invalid field in request")
			continue
		}
		val := values[k]
		if val == nil {
			if def.required(employeeID) {
				add(k, codeMissingField, "It should not be blank")
			}
			continue
		}
		switch def.Type {
		case "custom_number":
			if n, ok := val.(float64); !ok || n != float64(int64(n)) {
				add(k, codeDatatypeMismatch, "It should be a/an Integer")
			}
		case "custom_decimal":
			if _, ok := val.(float64); !ok {
				add(k, codeDatatypeMismatch, "It should be a/an Number")
			}
		case "custom_checkbox":
			if _, ok := val.(bool); !ok {
				add(k, codeDatatypeMismatch, "It should be a/an Boolean")
			}
		case "custom_date":
			s, ok := val.(string)
			if _, err := time.Parse(time.DateOnly, s); !ok || err != nil {
				add(k, codeInvalidValue, "It should be a date in the format 'YYYY-MM-DD'")
			}
		case "custom_dropdown":
			if s, ok := val.(string); !ok || !slices.Contains(def.Choices, s) {
				add(k, codeInvalidValue, "It should be one of these values: '"+strings.Join(def.Choices, ",")+"'")
			}
		default:
			if _, ok := val.(string); !ok {
				add(k, codeDatatypeMismatch, "It should be a/an String")
			}
		}
	}
	if create {
		for _, f := range st.fields(v) {
			if _, ok := values[f.Name]; f.required(employeeID) && !ok {
				add(f.Name, codeMissingField, "It should be a/an "+strings.TrimPrefix(f.Type, "custom_"))
			}
		}
	}
	return errs
}

// addFields adds custom field definitions from a seed.
func (st *state) addFields(v userView, defs []CustomField, key string, e *seedErrors) {
	for i, f := range defs {
		where := fmt.Sprintf("%s[%d]", key, i)
		switch {
		case !customFieldName.MatchString(f.Name):
			e.add(where, "name %q must be lower case letters, digits and _", f.Name)
		case slices.ContainsFunc(slices.Concat(st.requesterFields, st.agentFields), func(x CustomField) bool { return x.Name == f.Name }):
			// One name space: agents carry the user fields too.
			e.add(where, "name %q is already used", f.Name)
		case !slices.Contains(customFieldTypes, f.Type):
			e.add(where, "type %q is not one of %v", f.Type, customFieldTypes)
		case f.Type == "custom_dropdown" && len(f.Choices) == 0:
			e.add(where, "a custom_dropdown needs choices")
		default:
			f.Choices = slices.Clone(f.Choices)
			if v == viewAgent {
				st.agentFields = append(st.agentFields, f)
			} else {
				st.requesterFields = append(st.requesterFields, f)
			}
		}
	}
}
