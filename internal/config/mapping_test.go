package config

import (
	"strings"
	"testing"

	"github.com/fsbridge/fsbridge/mapping"
)

// TestMappingSettings: custom field mappings come from YAML (a default
// written as a YAML boolean or number is taken as its text), external_id
// from YAML or the environment, and every bad mapping is reported at once.
func TestMappingSettings(t *testing.T) {
	cfg := Default()
	err := Parse([]byte(`
mapping:
  external_id: true
  custom_fields:
    - {source: employeeNumber, target: employee_id, type: text}
    - {target: remote_worker, type: checkbox, default: false}
    - {source: userType, target: employment_type, type: dropdown, choices: [Full-time, Contractor], default: Full-time}
`), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Mapping.ExternalID || len(cfg.Mapping.CustomFields) != 3 || cfg.Mapping.CustomFields[1].Default != "false" {
		t.Fatalf("parsed %+v", cfg.Mapping)
	}
	if p := cfg.Mapping.validate(); len(p) != 0 {
		t.Fatalf("problems %v", p)
	}
	var prof mapping.Profile
	x := cfg.Mapping.Extras()
	x.Apply(mapping.Doc{"externalId": "00u1", mapping.URNEnterprise: map[string]any{"employeeNumber": "E-1"}}, &prof)
	if prof.ExternalID != "00u1" || prof.CustomFields["employee_id"] != "E-1" || prof.CustomFields["remote_worker"] != false || prof.CustomFields["employment_type"] != "Full-time" {
		t.Errorf("extras applied: %+v", prof)
	}

	env := []string{"FSBRIDGE_FRESHSERVICE_URL=http://127.0.0.1:1", "FSBRIDGE_FRESHSERVICE_API_KEY=k", "FSBRIDGE_SCIM_TOKEN=an-env-token-0123456789",
		"FSBRIDGE_MAPPING_EXTERNAL_ID=true", "FSBRIDGE_MAPPING_AGENT_EXTERNAL_ID_READ_ONLY=true"}
	c, err := Load("", env)
	if err != nil || !c.Mapping.ExternalID || !c.Mapping.AgentExternalIDReadOnly {
		t.Errorf("from the environment: %+v %v", c.Mapping, err)
	}

	bad := Default()
	bad.Mapping.CustomFields = []CustomField{
		{Source: "badge", Target: "badge", Type: "text"},
		{Source: "title", Target: "employment_type", Type: "dropdown"},
		{Source: "title", Target: "desk_number", Type: "number", Default: "n/a"},
	}
	err = bad.Validate()
	for _, want := range []string{
		`mapping.custom_fields[0]: source "badge"`,
		"mapping.custom_fields[1]: a dropdown needs its choices",
		`mapping.custom_fields[2]: default "n/a" is not a number`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validation %v: want a problem %q", err, want)
		}
	}
}
