package test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
)

// employeeIDRequired makes the simulator's employee_id custom field
// mandatory, as many real accounts make theirs.
func employeeIDRequired(_ *config.Config, o *simulator.Options) {
	o.Switches.CustomFieldRequired = true
}

func customFields(f ...config.CustomField) envOption {
	return func(c *config.Config, _ *simulator.Options) {
		c.Mapping.CustomFields = append(c.Mapping.CustomFields, f...)
	}
}

// employeeNumberMapping maps the enterprise employeeNumber to employee_id.
var employeeNumberMapping = config.CustomField{Source: "employeeNumber", Target: "employee_id", Type: "text"}

func withEmployeeNumber(n string) map[string]any {
	return map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User", enterprise},
		enterprise: map[string]any{"employeeNumber": n},
	}
}

// TestMandatoryCustomFieldUnmapped: on an account whose employee_id is
// mandatory, a bridge with no mapping for it cannot create anyone. The
// IdP is answered a 400 that names the field and the setting that fixes
// it, not a 500, and nothing is left half-made.
func TestMandatoryCustomFieldUnmapped(t *testing.T) {
	e := newEnv(t, employeeIDRequired)
	status, res := e.do("POST", "/Users", userBody("nomap@example.com", "No", "Map", withEmployeeNumber("E-1")))
	detail := fmt.Sprint(res["detail"])
	if status != 400 || res["scimType"] != "invalidValue" {
		t.Fatalf("create without the mandatory field: %d %v, want 400 invalidValue", status, res)
	}
	if !containsAll(detail, "employee_id", "mandatory", "mapping.custom_fields") {
		t.Errorf("detail %q: want it to name employee_id as mandatory and the mapping.custom_fields setting", detail)
	}
	if _, ok := e.sim.UserByEmail("nomap@example.com"); ok {
		t.Error("Freshservice holds the user, want nothing created")
	}
}

// TestCustomFieldFromEmployeeNumber: with employeeNumber mapped to
// employee_id the create lands with the value; a PATCH of employeeNumber
// updates it; and the reconcile pass then has nothing left to send.
func TestCustomFieldFromEmployeeNumber(t *testing.T) {
	e := newEnv(t, employeeIDRequired, customFields(employeeNumberMapping,
		config.CustomField{Source: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", Target: "desk_number", Type: "number"},
		config.CustomField{Source: "enterprise.division", Target: "hire_date", Type: "date"},
	))
	body := userBody("emp@example.com", "Emp", "Loyee", withEmployeeNumber("E-1001"))
	body[enterprise].(map[string]any)["costCenter"] = "42"
	body[enterprise].(map[string]any)["division"] = "2024-03-01T09:00:00+02:00"
	id := e.mustCreate(body)
	u := e.simUser(id)
	if u.CustomFields["employee_id"] != "E-1001" || u.CustomFields["desk_number"] != float64(42) || u.CustomFields["hire_date"] != "2024-03-01" {
		t.Fatalf("custom fields after create: %v, want employee_id E-1001, desk_number 42, hire_date 2024-03-01", u.CustomFields)
	}
	status, res := e.do("PATCH", "/Users/"+id, patchBody(map[string]any{
		"op": "replace", "path": enterprise + ":employeeNumber", "value": "E-2002",
	}))
	if status != 200 {
		t.Fatalf("PATCH employeeNumber: %d %v", status, res)
	}
	if got := e.simUser(id).CustomFields["employee_id"]; got != "E-2002" {
		t.Fatalf("employee_id after PATCH: %v, want E-2002", got)
	}
	// What the bridge wrote is what it wants: after a fresh read of the
	// account, the user has nothing left to send.
	if err := e.srv.Bridge.Walk(t.Context()); err != nil {
		t.Fatal(err)
	}
	drift, err := e.srv.Bridge.FindDrift(t.Context(), false)
	if err != nil || len(drift) != 0 {
		t.Errorf("drift after the walk: %+v %v, want none", drift, err)
	}
}

// TestCustomFieldDefault: a mandatory field the IdP does not send is
// filled by the configured constant.
func TestCustomFieldDefault(t *testing.T) {
	e := newEnv(t, employeeIDRequired, customFields(config.CustomField{Target: "employee_id", Type: "text", Default: "UNASSIGNED"}))
	id := e.mustCreate(userBody("dflt@example.com", "De", "Fault", nil))
	if got := e.simUser(id).CustomFields["employee_id"]; got != "UNASSIGNED" {
		t.Errorf("employee_id: %v, want the default UNASSIGNED", got)
	}
}

// TestCustomFieldDropdownGap: a dropdown value that is not one of the
// field's choices does not block the person: they are created, the field
// is left out, and /status lists the value.
func TestCustomFieldDropdownGap(t *testing.T) {
	e := newEnv(t, customFields(config.CustomField{
		Source: "userType", Target: "employment_type", Type: "dropdown",
		Choices: []string{"Full-time", "Part-time", "Contractor"},
	}))
	status, res := e.do("POST", "/Users", userBody("intern@example.com", "In", "Tern", map[string]any{"userType": "Intern"}))
	if status != 201 {
		t.Fatalf("create with a dropdown value not among the choices: %d %v, want 201", status, res)
	}
	id := res["id"].(string)
	if got := e.simUser(id).CustomFields["employment_type"]; got != nil {
		t.Errorf("employment_type: %v, want left empty", got)
	}
	var rep struct {
		Attention struct {
			Items []struct {
				UserName, Attribute, Value, Reason string
			} `json:"items"`
		} `json:"needs_attention"`
	}
	e.statusJSON(&rep)
	if len(rep.Attention.Items) != 1 || rep.Attention.Items[0].Value != "Intern" || !strings.Contains(rep.Attention.Items[0].Reason, "employment_type") {
		t.Errorf("/status needs attention: %+v, want the Intern value for employment_type", rep.Attention.Items)
	}
	// A value among the choices (in any case) is applied and clears it.
	status, res = e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "replace", "path": "userType", "value": "contractor"}))
	if status != 200 {
		t.Fatalf("PATCH userType: %d %v", status, res)
	}
	if got := e.simUser(id).CustomFields["employment_type"]; got != "Contractor" {
		t.Errorf("employment_type: %v, want Contractor", got)
	}
	if gaps := e.srv.Bridge.Gaps(); len(gaps) != 0 {
		t.Errorf("gaps left: %+v", gaps)
	}
}

// TestCustomFieldOnAgent: a user made an agent by a role rule is created
// through /agents with the account's user custom fields too.
func TestCustomFieldOnAgent(t *testing.T) {
	e := rulesEnv(t, "", employeeIDRequired, customFields(employeeNumberMapping))
	body := userBody("agent.cf@example.com", "Age", "Nt", withEmployeeNumber("A-7"))
	body["roles"] = []any{map[string]any{"value": "Admin"}}
	id := e.mustCreate(body)
	u := e.simUser(id)
	if !u.IsAgent || u.CustomFields["employee_id"] != "A-7" {
		t.Fatalf("agent %v with custom fields %v, want an agent with employee_id A-7", u.IsAgent, u.CustomFields)
	}
	// A requester promoted later carries it as well.
	id2 := e.mustCreate(userBody("promoted.cf@example.com", "Pro", "Moted", withEmployeeNumber("A-8")))
	e.mustGroup("FS Agents", id2)
	u = e.simUser(id2)
	if !u.IsAgent || u.CustomFields["employee_id"] != "A-8" {
		t.Errorf("promoted user: agent %v, custom fields %v", u.IsAgent, u.CustomFields)
	}
	status, res := e.do("PATCH", "/Users/"+id2, patchBody(map[string]any{"op": "replace", "path": enterprise + ":employeeNumber", "value": "A-9"}))
	if status != 200 || e.simUser(id2).CustomFields["employee_id"] != "A-9" {
		t.Errorf("PATCH of an agent's employeeNumber: %d %v, employee_id %v", status, res, e.simUser(id2).CustomFields["employee_id"])
	}
}

// TestExternalIDSent: with mapping.external_id on, the IdP's externalId is
// Freshservice's external_id; on an account whose agents refuse it, an
// agent is still created (without it), and later agent writes leave it out.
func TestExternalIDSent(t *testing.T) {
	e := rulesEnv(t, "", func(c *config.Config, o *simulator.Options) {
		c.Mapping.ExternalID = true
		o.Switches.AgentExternalIDReadOnly = true
	})
	body := userBody("ext@example.com", "Ex", "Ternal", map[string]any{"externalId": "00u-okta-1"})
	id := e.mustCreate(body)
	if got := e.simUser(id).ExternalID; got != "00u-okta-1" {
		t.Errorf("requester external_id: %q, want 00u-okta-1", got)
	}
	agent := userBody("ext.agent@example.com", "Ex", "Agent", map[string]any{"externalId": "00u-okta-2", "roles": []any{map[string]any{"value": "Admin"}}})
	status, res := e.do("POST", "/Users", agent)
	if status != 201 {
		t.Fatalf("agent create on an account that refuses external_id on agents: %d %v, want 201", status, res)
	}
	if u := e.simUser(res["id"].(string)); !u.IsAgent {
		t.Errorf("user is not an agent")
	}
	before := len(e.sim.Requests())
	status, res = e.do("PATCH", "/Users/"+res["id"].(string), patchBody(map[string]any{"op": "replace", "path": "externalId", "value": "00u-okta-3"}))
	if status != 200 {
		t.Fatalf("PATCH of an agent's externalId: %d %v", status, res)
	}
	for _, r := range e.sim.Requests()[before:] {
		if r.Status >= 400 {
			t.Errorf("%s %s answered %d after the bridge learnt the agent refusal", r.Method, r.Path, r.Status)
		}
	}
	// Off (the default), nothing is sent.
	off := newEnv(t)
	id = off.mustCreate(userBody("noext@example.com", "No", "Ext", map[string]any{"externalId": "00u-okta-4"}))
	if got := off.simUser(id).ExternalID; got != "" {
		t.Errorf("external_id with the setting off: %q, want none", got)
	}
}

// TestCustomFieldStrict: with scim.strict_attributes a value that cannot
// be converted is refused, as other unmappable values are, before any
// write.
func TestCustomFieldStrict(t *testing.T) {
	e := newEnv(t, customFields(config.CustomField{Source: "employeeNumber", Target: "desk_number", Type: "number"}),
		func(c *config.Config, _ *simulator.Options) { c.SCIM.StrictAttributes = true })
	before := e.sim.Stats().Total
	status, res := e.do("POST", "/Users", userBody("strict.cf@example.com", "S", "Cf", withEmployeeNumber("E-12")))
	if status != 400 || res["scimType"] != "invalidValue" || !containsAll(fmt.Sprint(res["detail"]), "employeeNumber", "desk_number", "strict_attributes") {
		t.Errorf("strict: %d %v, want 400 invalidValue naming employeeNumber and desk_number", status, res)
	}
	if n := e.sim.Stats().Total - before; n != 0 {
		t.Errorf("%d Freshservice calls, want none", n)
	}
}

// TestCustomFieldFromOwnExtension: a source given by the URN of an
// extension only this account's IdP sends (here Acme's) makes /Users accept
// that extension, advertise it, and send its attributes to their custom
// fields on create, PATCH and PUT; the IdP reads its values back as sent.
func TestCustomFieldFromOwnExtension(t *testing.T) {
	const acme = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
	e := newEnv(t, employeeIDRequired, customFields(
		config.CustomField{Source: acme + ":badge", Target: "employee_id", Type: "text"},
		config.CustomField{Source: acme + ":desk.number", Target: "desk_number", Type: "number"},
	))
	status, res := e.do("GET", "/ResourceTypes/User", nil)
	if status != 200 || !strings.Contains(fmt.Sprint(res["schemaExtensions"]), acme) {
		t.Errorf("/ResourceTypes/User: %d, schemaExtensions %v, want %s listed", status, res["schemaExtensions"], acme)
	}
	if status, res := e.do("GET", "/Schemas/"+acme, nil); status != 200 || !strings.Contains(fmt.Sprint(res["attributes"]), "badge") {
		t.Errorf("/Schemas/%s: %d %v, want the schema with badge", acme, status, res)
	}
	body := userBody("acme@example.com", "Ac", "Me", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", acme},
		acme:      map[string]any{"badge": "B-77", "desk": map[string]any{"number": "12"}},
	})
	id := e.mustCreate(body)
	if u := e.simUser(id); u.CustomFields["employee_id"] != "B-77" || u.CustomFields["desk_number"] != float64(12) {
		t.Fatalf("custom fields after create: %v, want employee_id B-77, desk_number 12", u.CustomFields)
	}
	status, res = e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "replace", "path": acme + ":badge", "value": "B-78"}))
	if status != 200 {
		t.Fatalf("PATCH %s:badge: %d %v", acme, status, res)
	}
	if got := e.simUser(id).CustomFields["employee_id"]; got != "B-78" {
		t.Errorf("employee_id after PATCH: %v, want B-78", got)
	}
	ext, _ := res[acme].(map[string]any)
	if ext["badge"] != "B-78" {
		t.Errorf("PATCH answer's %s: %v, want badge B-78 as sent", acme, res[acme])
	}
	body[acme] = map[string]any{"badge": "B-79", "desk": map[string]any{"number": 14}}
	if status, res := e.do("PUT", "/Users/"+id, body); status != 200 {
		t.Fatalf("PUT: %d %v", status, res)
	}
	if u := e.simUser(id); u.CustomFields["employee_id"] != "B-79" || u.CustomFields["desk_number"] != float64(14) {
		t.Errorf("custom fields after PUT: %v, want employee_id B-79, desk_number 14", u.CustomFields)
	}
	// A value of the wrong type for the attribute the extension declares is
	// the IdP's error, answered as such, and changes nothing.
	status, res = e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "replace", "path": acme + ":desk.number", "value": "fourteen"}))
	if status != 400 || res["scimType"] != "invalidValue" {
		t.Errorf("PATCH of a number with text: %d %v, want 400 invalidValue", status, res)
	}
}
