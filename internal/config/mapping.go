package config

import (
	"github.com/fsbridge/fsbridge/mapping"
)

// Mapping adds to the fixed attribute mapping (docs/mapping.md): the
// account's custom user fields, and external_id.
type Mapping struct {
	// ExternalID sends the IdP's externalId as Freshservice's external_id,
	// on requesters and agents. Off by default.
	ExternalID bool `yaml:"external_id"`
	// AgentExternalIDReadOnly says the account refuses external_id on
	// agents (400 invalid_field): agent bodies leave it out. Without it
	// the bridge learns so from the first refusal, and retries without.
	AgentExternalIDReadOnly bool `yaml:"agent_external_id_read_only"`
	// CustomFields map SCIM attributes to Freshservice custom fields,
	// which requesters and agents both carry.
	CustomFields []CustomField `yaml:"custom_fields"`
}

// CustomField maps one SCIM attribute (or a constant) to one Freshservice
// custom field.
type CustomField struct {
	// Source is the SCIM attribute: title, nickName, employeeNumber (an
	// enterprise attribute), enterprise.costCenter, or a full URN path
	// such as urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge.
	Source string `yaml:"source"`
	// Target is the custom field's internal name, as employee_id.
	Target string `yaml:"target"`
	// Type is text, number, decimal, date, checkbox or dropdown.
	Type string `yaml:"type"`
	// Default is sent when the IdP sends no value (or one that cannot be
	// converted): for mandatory fields the IdP does not fill.
	Default string `yaml:"default"`
	// Choices are a dropdown's values, as Freshservice lists them.
	Choices []string `yaml:"choices"`
}

// CustomFieldSpecs are the custom field mappings for the mapping package.
func (m Mapping) CustomFieldSpecs() []mapping.CustomFieldSpec {
	out := make([]mapping.CustomFieldSpec, len(m.CustomFields))
	for i, f := range m.CustomFields {
		out[i] = mapping.CustomFieldSpec{
			Source: f.Source, Target: f.Target, Type: mapping.CustomFieldType(f.Type),
			Default: f.Default, Choices: f.Choices,
		}
	}
	return out
}

// Extras are the checked mapping additions (valid once Validate passed).
func (m Mapping) Extras() mapping.Extras {
	cf, _ := mapping.NewCustomFields(m.CustomFieldSpecs())
	return mapping.Extras{CustomFields: cf, ExternalID: m.ExternalID}
}

func (m Mapping) validate() []string {
	_, problems := mapping.NewCustomFields(m.CustomFieldSpecs())
	for i, p := range problems {
		problems[i] = "mapping.custom_fields" + p
	}
	return problems
}
