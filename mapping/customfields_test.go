package mapping

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fsbridge/fsbridge/freshservice"
)

func TestSourcePath(t *testing.T) {
	const acme = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
	for _, tc := range []struct {
		src      string
		keys     []string
		attr     string
		wantFail string
	}{
		{src: "title", keys: []string{"title"}, attr: "title"},
		{src: "nickName", keys: []string{"nickName"}, attr: "nickName"},
		{src: "name.givenName", keys: []string{"name", "givenName"}, attr: "name.givenName"},
		{src: "employeeNumber", keys: []string{URNEnterprise, "employeeNumber"}, attr: URNEnterprise + ":employeeNumber"},
		{src: "enterprise.costCenter", keys: []string{URNEnterprise, "costCenter"}, attr: URNEnterprise + ":costCenter"},
		{src: URNEnterprise + ":division", keys: []string{URNEnterprise, "division"}, attr: URNEnterprise + ":division"},
		{src: strings.ToLower(URNEnterprise) + ":organization", keys: []string{URNEnterprise, "organization"}, attr: URNEnterprise + ":organization"},
		{src: URNEnterprise + ":manager.value", keys: []string{URNEnterprise, "manager", "value"}, attr: URNEnterprise + ":manager.value"},
		{src: acme + ":badge", keys: []string{acme, "badge"}, attr: acme + ":badge"},
		{src: "badge", wantFail: "give an extension attribute with its URN"},
		{src: "enterprise.badge", wantFail: "not an enterprise attribute"},
		{src: acme, wantFail: "ends in :attribute"},
		{src: "urn:x", wantFail: "ends in :attribute"},
		{src: "name..givenName", wantFail: "not an attribute name"},
		{src: " ", wantFail: "empty"},
	} {
		keys, attr, err := SourcePath(tc.src)
		if tc.wantFail != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantFail) {
				t.Errorf("SourcePath(%q) = %v, %v; want an error with %q", tc.src, keys, err, tc.wantFail)
			}
			continue
		}
		if err != nil || !cmp.Equal(keys, tc.keys) || attr != tc.attr {
			t.Errorf("SourcePath(%q) = %v %q %v; want %v %q", tc.src, keys, attr, err, tc.keys, tc.attr)
		}
	}
}

func TestConvertCustomValue(t *testing.T) {
	choices := []string{"Full-time", "Part-time", "Contractor"}
	for _, tc := range []struct {
		typ    CustomFieldType
		in     any
		want   any
		reason string // "" when it converts
	}{
		{CustomText, " E-1 ", "E-1", ""},
		{CustomText, float64(701984), "701984", ""},
		{CustomText, true, "true", ""},
		{CustomText, map[string]any{"value": "x"}, nil, "is not a single value"},
		{CustomText, []any{"a"}, nil, "is not a single value"},
		{CustomNumber, "42", int64(42), ""},
		{CustomNumber, " 42 ", int64(42), ""},
		{CustomNumber, float64(7), int64(7), ""},
		{CustomNumber, json.Number("12"), int64(12), ""},
		{CustomNumber, "4.5", nil, "is not a whole number"},
		{CustomNumber, "forty-two", nil, "is not a number"},
		{CustomNumber, "NaN", nil, "is not a number"},
		{CustomNumber, true, nil, "is not a number"},
		{CustomDecimal, "4.5", 4.5, ""},
		{CustomDecimal, "x", nil, "is not a number"},
		{CustomDate, "2024-03-01", "2024-03-01", ""},
		{CustomDate, "2024-03-01T23:30:00-05:00", "2024-03-01", ""},
		{CustomDate, "2024-03-01T00:00:00Z", "2024-03-01", ""},
		{CustomDate, "03/01/2024", nil, "is not a date (YYYY-MM-DD or an RFC 3339 time)"},
		{CustomDate, "2024-02-30", nil, "is not a date (YYYY-MM-DD or an RFC 3339 time)"},
		{CustomDate, float64(20240301), nil, "is not a date (YYYY-MM-DD or an RFC 3339 time)"},
		{CustomCheckbox, true, true, ""},
		{CustomCheckbox, false, false, ""},
		{CustomCheckbox, "True", true, ""},
		{CustomCheckbox, "false", false, ""},
		{CustomCheckbox, "yes", nil, "is not true or false"},
		{CustomCheckbox, float64(1), nil, "is not true or false"},
		{CustomDropdown, "Contractor", "Contractor", ""},
		{CustomDropdown, "part-time", "Part-time", ""},
		{CustomDropdown, "Intern", nil, `is not one of the choices "Full-time", "Part-time", "Contractor"`},
		{CustomDropdown, true, nil, `is not one of the choices "Full-time", "Part-time", "Contractor"`},
		{CustomFieldType("colour"), "x", nil, `cannot be converted to type "colour"`},
	} {
		got, reason := ConvertCustomValue(tc.typ, tc.in, choices)
		if reason != tc.reason || !cmp.Equal(got, tc.want) {
			t.Errorf("ConvertCustomValue(%s, %#v) = %#v, %q; want %#v, %q", tc.typ, tc.in, got, reason, tc.want, tc.reason)
		}
	}
}

func TestNewCustomFieldsProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec CustomFieldSpec
		want string // "" when valid
	}{
		{"text", CustomFieldSpec{Source: "employeeNumber", Target: "employee_id", Type: CustomText}, ""},
		{"constant", CustomFieldSpec{Target: "employee_id", Type: CustomText, Default: "NONE"}, ""},
		{"no source nor default", CustomFieldSpec{Target: "employee_id", Type: CustomText}, "give a source, a default, or both"},
		{"no target", CustomFieldSpec{Source: "title", Type: CustomText}, "the custom field's name is required"},
		{"label as target", CustomFieldSpec{Source: "title", Target: "Employee ID", Type: CustomText}, "internal name"},
		{"unknown type", CustomFieldSpec{Source: "title", Target: "x", Type: "string"}, `type "string" is not one of text, number, decimal, date, checkbox, dropdown`},
		{"dropdown without choices", CustomFieldSpec{Source: "title", Target: "x", Type: CustomDropdown}, "needs its choices"},
		{"choices on text", CustomFieldSpec{Source: "title", Target: "x", Type: CustomText, Choices: []string{"a"}}, "dropdowns only"},
		{"bad default", CustomFieldSpec{Source: "title", Target: "x", Type: CustomNumber, Default: "n/a"}, `default "n/a" is not a number`},
		{"default not a choice", CustomFieldSpec{Source: "title", Target: "x", Type: CustomDropdown, Choices: []string{"A"}, Default: "B"}, `default "B" is not one of the choices "A"`},
		{"unknown source", CustomFieldSpec{Source: "badge", Target: "x", Type: CustomText}, "[0]: source \"badge\""},
	} {
		c, problems := NewCustomFields([]CustomFieldSpec{tc.spec})
		switch {
		case tc.want == "" && (len(problems) != 0 || c.Len() != 1):
			t.Errorf("%s: problems %v, want none", tc.name, problems)
		case tc.want != "" && (len(problems) != 1 || !strings.Contains(problems[0], tc.want) || c.Len() != 0):
			t.Errorf("%s: problems %v, want one with %q", tc.name, problems, tc.want)
		}
	}
	_, problems := NewCustomFields([]CustomFieldSpec{
		{Source: "title", Target: "x", Type: CustomText},
		{Source: "nickName", Target: "x", Type: CustomText},
	})
	if len(problems) != 1 || !strings.Contains(problems[0], `[1]: target "x" is mapped twice`) {
		t.Errorf("a target mapped twice: %v", problems)
	}
}

func mustCustomFields(t *testing.T, specs ...CustomFieldSpec) CustomFields {
	t.Helper()
	c, problems := NewCustomFields(specs)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	return c
}

func TestCustomFieldsApply(t *testing.T) {
	c := mustCustomFields(t,
		CustomFieldSpec{Source: "employeeNumber", Target: "employee_id", Type: CustomText, Default: "NONE"},
		CustomFieldSpec{Source: "enterprise.costCenter", Target: "desk_number", Type: CustomNumber},
		CustomFieldSpec{Source: "urn:ietf:params:scim:schemas:extension:acme:2.0:User:start", Target: "hire_date", Type: CustomDate},
		CustomFieldSpec{Source: "urn:ietf:params:scim:schemas:extension:acme:2.0:User:remote", Target: "remote_worker", Type: CustomCheckbox},
		CustomFieldSpec{Source: "userType", Target: "employment_type", Type: CustomDropdown, Choices: []string{"Full-time", "Contractor"}, Default: "Full-time"},
		CustomFieldSpec{Target: "region", Type: CustomText, Default: "EMEA"},
	)
	const acme = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
	for _, tc := range []struct {
		name string
		doc  Doc
		want map[string]any
		gaps []string // "attr=value"
	}{
		{
			name: "every type converted",
			doc: Doc{
				"userType":    "contractor",
				URNEnterprise: map[string]any{"employeeNumber": "E-1", "costCenter": "42"},
				acme:          map[string]any{"start": "2024-03-01T09:00:00+02:00", "remote": "TRUE"},
			},
			want: map[string]any{"employee_id": "E-1", "desk_number": int64(42), "hire_date": "2024-03-01", "remote_worker": true, "employment_type": "Contractor", "region": "EMEA"},
		},
		{
			name: "nothing sent: defaults only",
			doc:  Doc{"userName": "a@x.com"},
			want: map[string]any{"employee_id": "NONE", "employment_type": "Full-time", "region": "EMEA"},
		},
		{
			name: "empty values count as not sent",
			doc:  Doc{"userType": "", URNEnterprise: map[string]any{"employeeNumber": " ", "costCenter": nil}},
			want: map[string]any{"employee_id": "NONE", "employment_type": "Full-time", "region": "EMEA"},
		},
		{
			name: "bad values are gaps; defaults stand in",
			doc: Doc{
				"userType":    "Intern",
				URNEnterprise: map[string]any{"costCenter": "CC-9"},
				acme:          map[string]any{"start": "next week", "remote": "maybe"},
			},
			want: map[string]any{"employee_id": "NONE", "employment_type": "Full-time", "region": "EMEA"},
			gaps: []string{
				URNEnterprise + ":costCenter=CC-9",
				acme + ":start=next week",
				acme + ":remote=maybe",
				"userType=Intern",
			},
		},
		{
			name: "a complex value is a gap, shown as JSON",
			doc:  Doc{URNEnterprise: map[string]any{"employeeNumber": map[string]any{"value": "E-1"}}},
			want: map[string]any{"employee_id": "NONE", "employment_type": "Full-time", "region": "EMEA"},
			gaps: []string{URNEnterprise + `:employeeNumber={"value":"E-1"}`},
		},
	} {
		var p Profile
		c.Apply(tc.doc, &p)
		if !cmp.Equal(p.CustomFields, tc.want) {
			t.Errorf("%s: custom fields %v, want %v", tc.name, p.CustomFields, tc.want)
		}
		var gaps []string
		for _, g := range p.Gaps {
			if g.Field != FieldCustomFields {
				t.Errorf("%s: gap %v is not on FieldCustomFields", tc.name, g)
			}
			gaps = append(gaps, g.Attr+"="+g.Value)
		}
		if !cmp.Equal(gaps, tc.gaps) {
			t.Errorf("%s: gaps %v, want %v", tc.name, gaps, tc.gaps)
		}
	}
	// The gap says which field and why.
	var p Profile
	c.Apply(Doc{"userType": "Intern"}, &p)
	if len(p.Gaps) != 1 || !strings.Contains(p.Gaps[0].String(), `is not one of the choices "Full-time", "Contractor", for the Freshservice custom field employment_type (dropdown)`) {
		t.Errorf("gap: %v", p.Gaps)
	}
	// A profile with no mapping has no custom fields at all.
	var none Profile
	CustomFields{}.Apply(Doc{"userType": "x"}, &none)
	if none.CustomFields != nil || none.Gaps != nil {
		t.Errorf("no mappings: %+v", none)
	}
}

func TestExtrasExternalID(t *testing.T) {
	doc := Doc{"externalId": "00u1"}
	var off, on Profile
	Extras{}.Apply(doc, &off)
	Extras{ExternalID: true}.Apply(doc, &on)
	if off.Set.Has(FieldExternalID) || off.ExternalID != "" {
		t.Errorf("setting off: %+v", off)
	}
	if !on.Set.Has(FieldExternalID) || on.ExternalID != "00u1" {
		t.Errorf("setting on: %+v", on)
	}
	var blank Profile
	Extras{ExternalID: true}.Apply(Doc{}, &blank)
	if blank.Set.Has(FieldExternalID) {
		t.Error("no externalId sent, yet managed")
	}
}

func TestSameCustomValue(t *testing.T) {
	for _, tc := range []struct {
		w, h any
		same bool
	}{
		{"E-1", "E-1", true},
		{"E-1", "E-2", false},
		{"E-1", nil, false},
		{int64(42), float64(42), true},
		{int64(42), float64(43), false},
		{int64(42), "42", false},
		{4.5, json.Number("4.5"), true},
		{"2024-03-01", "2024-03-01T00:00:00Z", true},
		{"2024-03-01", "2024-03-02T00:00:00Z", false},
		{"E-1", "E-1T", false},
		{true, true, true},
		{false, nil, false},
		{false, false, true},
	} {
		if got := sameCustomValue(tc.w, tc.h); got != tc.same {
			t.Errorf("sameCustomValue(%#v, %#v) = %v, want %v", tc.w, tc.h, got, tc.same)
		}
	}
}

// TestPlanCustomFieldsAndExternalID: custom fields and external_id go in
// create and update bodies of both views, only when they differ from what
// Freshservice holds (a settled user gets no PUT), and external_id is left
// out of agent bodies on an account that refuses it there.
func TestPlanCustomFieldsAndExternalID(t *testing.T) {
	want := profile(func(p *Profile) {
		p.CustomFields = map[string]any{"employee_id": "E-1", "desk_number": int64(42)}
		p.ExternalID, p.Set = "00u1", p.Set|FieldExternalID
	})
	held := func(u *freshservice.User) {
		u.CustomFields = map[string]any{"employee_id": "E-1", "desk_number": float64(42), "hire_date": nil}
		u.ExternalID = "00u1"
	}
	changed := func(u *freshservice.User) {
		u.CustomFields = map[string]any{"employee_id": "E-0", "desk_number": float64(42)}
	}
	for _, tc := range []struct {
		name  string
		cur   *freshservice.User
		kind  Kind
		noExt bool
		want  []string
	}{
		{name: "requester create", kind: KindRequester, want: []string{
			`create_requester {"can_see_all_tickets_from_associated_departments":false,"custom_fields":{"desk_number":42,"employee_id":"E-1"},"external_id":"00u1","first_name":"A","last_name":"B","primary_email":"a@x.com"}`,
		}},
		{name: "agent create", kind: KindAgent, want: []string{
			`create_agent {"can_see_all_tickets_from_associated_departments":false,"custom_fields":{"desk_number":42,"employee_id":"E-1"},"email":"a@x.com","external_id":"00u1","first_name":"A","last_name":"B","occasional":false,"roles":[{"role_id":3,"assignment_scope":"member_groups"}]}`,
		}},
		{name: "agent create, external_id refused", kind: KindAgent, noExt: true, want: []string{
			`create_agent {"can_see_all_tickets_from_associated_departments":false,"custom_fields":{"desk_number":42,"employee_id":"E-1"},"email":"a@x.com","first_name":"A","last_name":"B","occasional":false,"roles":[{"role_id":3,"assignment_scope":"member_groups"}]}`,
		}},
		{name: "settled requester", cur: requester(held), kind: KindRequester},
		{name: "settled agent", cur: agent(held), kind: KindKeep},
		{name: "requester with another value", cur: requester(changed), kind: KindRequester, want: []string{
			`update_requester {"can_see_all_tickets_from_associated_departments":false,"custom_fields":{"employee_id":"E-1"},"external_id":"00u1"}`,
		}},
		{name: "agent with another value", cur: agent(changed), kind: KindKeep, want: []string{
			`update_agent {"can_see_all_tickets_from_associated_departments":false,"custom_fields":{"employee_id":"E-1"},"external_id":"00u1"}`,
		}},
		{name: "agent with another value, external_id refused", cur: agent(changed), kind: KindKeep, noExt: true, want: []string{
			`update_agent {"can_see_all_tickets_from_associated_departments":false,"custom_fields":{"employee_id":"E-1"}}`,
		}},
		{name: "agent with only external_id different, refused", cur: agent(held, func(u *freshservice.User) { u.ExternalID = "" }), kind: KindKeep, noExt: true},
	} {
		tg := Target{Profile: want, Kind: tc.kind, NoAgentExternalID: tc.noExt}
		if tc.kind == KindAgent {
			tg.Agent = AgentSpec{Roles: sdAgent}
		}
		got := steps(PlanUser(tc.cur, tg, Applied{}))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestMissingMandatoryFields(t *testing.T) {
	defs := []CustomFieldDef{
		{Name: "employee_id", Required: true},
		{Name: "cost_center", Required: true},
		{Name: "badge", Required: true},
		{Name: "desk_number"},
	}
	for _, tc := range []struct {
		name  string
		specs []CustomFieldSpec
		want  []string
	}{
		{"nothing mapped", nil, []string{"badge", "cost_center", "employee_id"}},
		{"mapped with a default, or a constant", []CustomFieldSpec{
			{Source: "employeeNumber", Target: "employee_id", Type: CustomText, Default: "NONE"},
			{Target: "cost_center", Type: CustomText, Default: "CC-0"},
			{Source: "title", Target: "badge", Type: CustomText, Default: "-"},
		}, nil},
		{"mapped without a default: a user without the attribute is refused", []CustomFieldSpec{
			{Source: "employeeNumber", Target: "employee_id", Type: CustomText},
			{Target: "cost_center", Type: CustomText, Default: "CC-0"},
			{Source: "title", Target: "desk_number", Type: CustomNumber},
		}, []string{"badge", "employee_id"}},
	} {
		got := MissingMandatoryFields(defs, mustCustomFields(t, tc.specs...))
		if !cmp.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
