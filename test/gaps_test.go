package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/store"
)

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// TestPersonIsNeverBlockedByOneAttribute: a language, time zone,
// department or manager Freshservice has no home for does not refuse the
// person. The user is created with everything else, reads back what the
// IdP sent, is listed with the gap and audited as partial; when the
// account gains the department, the next walk's reconcile applies it.
func TestPersonIsNeverBlockedByOneAttribute(t *testing.T) {
	e := newEnv(t)
	body := userBody("xhosa@example.com", "Thandi", "Nkosi", map[string]any{
		"title": "Analyst", "preferredLanguage": "xh", "timezone": "Mars/Olympus_Mons",
		enterprise: map[string]any{"department": "Treasury", "manager": map[string]any{"value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}},
	})
	status, res := e.do("POST", "/Users", body)
	if status != 201 {
		t.Fatalf("POST with four unmappable values: %d %v, want 201", status, res)
	}
	id := res["id"].(string)
	u := e.simUser(id)
	if u.FirstName != "Thandi" || u.JobTitle != "Analyst" || !u.Active {
		t.Errorf("Freshservice got %q %q active %v, want the rest of the user", u.FirstName, u.JobTitle, u.Active)
	}
	// What the IdP sent reads back as sent.
	if res["preferredLanguage"] != "xh" || res["timezone"] != "Mars/Olympus_Mons" {
		t.Errorf("read back language %v, time zone %v", res["preferredLanguage"], res["timezone"])
	}
	ext, _ := res[enterprise].(map[string]any)
	if ext["department"] != "Treasury" {
		t.Errorf("read back department %v, want Treasury as sent", ext["department"])
	}
	gaps := e.srv.Bridge.Gaps()
	if len(gaps) != 1 || fmt.Sprint(gaps[0].ID) != id || len(gaps[0].Gaps) != 4 {
		t.Fatalf("needs attention: %+v, want user %s with 4 gaps", gaps, id)
	}
	// /status lists her under "Needs attention", one line per value.
	var rep struct {
		Attention struct {
			Users int `json:"users"`
			Items []struct {
				UserName  string `json:"user_name"`
				Attribute string `json:"attribute"`
				Value     string `json:"value"`
			} `json:"items"`
		} `json:"needs_attention"`
		Protection struct {
			KeyOwner string `json:"key_owner"`
		} `json:"protection"`
	}
	e.statusJSON(&rep)
	if rep.Attention.Users != 1 || len(rep.Attention.Items) != 4 || rep.Attention.Items[0].UserName != "xhosa@example.com" {
		t.Errorf("/status.json needs attention: %+v", rep.Attention)
	}
	if rep.Protection.KeyOwner != simulator.OwnerEmail {
		t.Errorf("/status.json names the key's owner %q, want %s", rep.Protection.KeyOwner, simulator.OwnerEmail)
	}
	events, _ := e.srv.Store.ListAudit(t.Context(), store.AuditQuery{Outcome: "partial"})
	if len(events) != 1 || !containsAll(events[0].Detail, "Treasury", "xh", "Mars/Olympus_Mons") {
		t.Errorf("partial audit events: %+v", events)
	}
	// An update that does not touch the gaps goes through, and is not
	// audited again.
	if status, body := e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "replace", "path": "title", "value": "Lead Analyst"})); status != 200 {
		t.Fatalf("PATCH title: %d %v", status, body)
	}
	if events, _ := e.srv.Store.ListAudit(t.Context(), store.AuditQuery{Outcome: "partial"}); len(events) != 1 {
		t.Errorf("%d partial events after an unrelated update, want still 1", len(events))
	}
	// The account gains the department; the next walk applies it.
	if err := e.sim.Seed(simulator.SeedData{Departments: []simulator.SeedDepartment{{Name: "Treasury"}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Bridge.Walk(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		u := e.simUser(id)
		if len(u.DepartmentIDs) == 1 && len(e.srv.Bridge.Gaps()) == 1 && len(e.srv.Bridge.Gaps()[0].Gaps) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("department not applied after the account gained it: %v; gaps %+v", u.DepartmentIDs, e.srv.Bridge.Gaps())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStrictAttributesRefuse: with scim.strict_attributes the same user is
// refused with 400 naming the attribute, and nothing is written.
func TestStrictAttributesRefuse(t *testing.T) {
	e := newEnv(t, func(c *config.Config, _ *simulator.Options) { c.SCIM.StrictAttributes = true })
	before := e.sim.Stats().Total
	status, res := e.do("POST", "/Users", userBody("strict@example.com", "S", "T", map[string]any{
		enterprise: map[string]any{"department": "Treasury"},
	}))
	if status != 400 || res["scimType"] != "invalidValue" || !strings.Contains(fmt.Sprint(res["detail"]), "department") {
		t.Errorf("strict: %d %v, want 400 invalidValue naming the department", status, res)
	}
	if n := e.sim.Stats().Total - before; n != 0 {
		t.Errorf("%d Freshservice calls, want none", n)
	}
}

// TestDepartmentsCreatedOnDemand: with scim.create_departments the bridge
// creates the department the IdP names and gives it to the user.
func TestDepartmentsCreatedOnDemand(t *testing.T) {
	e := newEnv(t, func(c *config.Config, _ *simulator.Options) { c.SCIM.CreateDepartments = true })
	status, res := e.do("POST", "/Users", userBody("dept@example.com", "D", "E", map[string]any{
		enterprise: map[string]any{"department": "Treasury"},
	}))
	if status != 201 {
		t.Fatalf("POST: %d %v", status, res)
	}
	u := e.simUser(res["id"].(string))
	var treasury int64
	for _, d := range e.sim.Departments() {
		if d.Name == "Treasury" {
			treasury = d.ID
		}
	}
	if treasury == 0 || len(u.DepartmentIDs) != 1 || u.DepartmentIDs[0] != treasury {
		t.Errorf("department Treasury created as %d, user's departments %v", treasury, u.DepartmentIDs)
	}
	if gaps := e.srv.Bridge.Gaps(); len(gaps) != 0 {
		t.Errorf("gaps left: %+v", gaps)
	}
}

// statusJSON decodes /status.json into v.
func (e *env) statusJSON(v any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(e.url, "/scim/v2")+"/status.json", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != 200 {
		e.t.Fatalf("/status.json: %d %v", resp.StatusCode, err)
	}
}
