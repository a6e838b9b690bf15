package mapping

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fsbridge/fsbridge/freshservice"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

var testCatalog = &Catalog{
	Departments: map[int64]string{11: "Engineering", 12: "Sales", 13: "IT"},
	Locations:   map[int64]string{21: "HQ"},
}

func known(id int64) bool { return id == 500 || id == 501 }

// golden compares v, as indented JSON, with testdata/golden/name.json.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./mapping -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", path, diff)
	}
}

func doc(s string) Doc {
	var d Doc
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		panic(err)
	}
	return d
}

// profileJSON renders a Profile with the names of its set fields.
func profileJSON(p Profile) map[string]any {
	var set []string
	for i, n := range []string{"email", "secondary_emails", "name", "job_title", "work_phone", "mobile_phone", "address",
		"time_zone", "language", "time_format", "background", "department", "manager", "location", "can_see_all_tickets", "active"} {
		if p.Set.Has(Field(1 << i)) {
			set = append(set, n)
		}
	}
	return map[string]any{
		"set": set, "email": p.Email, "secondary_emails": p.SecondaryEmails, "first_name": p.FirstName, "last_name": p.LastName,
		"job_title": p.JobTitle, "work_phone": p.WorkPhone, "mobile_phone": p.MobilePhone, "address": p.Address,
		"time_zone": p.TimeZone, "language": p.Language, "time_format": p.TimeFormat, "background": p.Background,
		"department_ids": p.DepartmentIDs, "reporting_manager_id": p.ReportingManagerID, "location_id": p.LocationID,
		"can_see_all_tickets": p.CanSeeAllTickets, "active": p.Active,
	}
}

// The SCIM users of the golden tests: what each IdP really sends.
var scimUsers = map[string]string{
	"okta-create": `{"userName":"test.user@okta.local","name":{"givenName":"Test","familyName":"User"},
		"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],"displayName":"Test User",
		"locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","active":true,"title":"Engineer",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Engineering"}}`,
	"entra-full": `{"externalId":"jyoung","userName":"jyoung@contoso.com","active":true,"displayName":"Joy Young",
		"emails":[{"type":"work","value":"jyoung@contoso.com","primary":true},{"type":"other","value":"joy@old.contoso.com"}],
		"name":{"formatted":"Joy Young","familyName":"Young","givenName":"Joy"},
		"phoneNumbers":[{"type":"work","value":"+1 425 555 0100"},{"type":"mobile","value":"+1 425 555 0199"},{"type":"fax","value":"+1 425 555 0111"}],
		"addresses":[{"type":"work","streetAddress":"1 Microsoft Way","locality":"Redmond","region":"WA","postalCode":"98052","country":"US"}],
		"preferredLanguage":"ja-JP","timezone":"Asia/Kolkata","title":"PM",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"sales","manager":{"value":"500"},"employeeNumber":"E-17"}}`,
	"upn-not-email": `{"userName":"JYOUNG","emails":[{"type":"home","value":"joy@home.example"},{"type":"work","value":"joy@contoso.com"}],
		"displayName":"Joy Young"}`,
	"freshservice-extension": `{"userName":"max@example.com","name":{"givenName":"Max"},
		"urn:ietf:params:scim:schemas:extension:freshservice:2.0:User":{"location":"HQ","timeFormat":"24h",
		"backgroundInformation":"Night shift","canSeeAllTicketsFromAssociatedDepartments":true},"active":false}`,
	"minimal-no-name": `{"userName":"solo@example.com"}`,
}

func TestProfileFromSCIMGolden(t *testing.T) {
	for name, src := range scimUsers {
		t.Run(name, func(t *testing.T) {
			p, err := ProfileFromSCIM(doc(src), testCatalog, known)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "profile-"+name, profileJSON(p))
		})
	}
}

func TestProfileFromSCIMRefusesWhatNoUserCanBe(t *testing.T) {
	tests := map[string]struct{ doc, attr string }{
		"no email at all": {`{"userName":"jdoe"}`, "userName"},
		"time format":     {`{"userName":"a@x.com","urn:ietf:params:scim:schemas:extension:freshservice:2.0:User":{"timeFormat":"13h"}}`, "timeFormat"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ProfileFromSCIM(doc(tc.doc), testCatalog, known)
			ae, ok := err.(*AttrError)
			if !ok {
				t.Fatalf("err = %v, want *AttrError", err)
			}
			if !containsFold(ae.Attr, tc.attr) {
				t.Errorf("error names %q, want %q", ae.Attr, tc.attr)
			}
		})
	}
}

// A value Freshservice has no home for is a gap: the rest of the user is
// mapped, the field is left as Freshservice has it, the value is shown back
// as sent, and strict mode turns the gap into the refusal it used to be.
func TestProfileFromSCIMRecordsGaps(t *testing.T) {
	tests := map[string]struct {
		doc   string
		field Field
		attr  string
		shown func(Doc) any
	}{
		"unknown department": {`{"userName":"a@x.com","title":"Dev","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Legal"}}`, FieldDepartment, "department",
			func(d Doc) any { return d[URNEnterprise].(map[string]any)["department"] }},
		"unknown manager": {`{"userName":"a@x.com","title":"Dev","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"999"}}}`, FieldManager, "manager",
			func(d Doc) any { return d[URNEnterprise].(map[string]any)["manager"].(map[string]any)["value"] }},
		"manager not an id": {`{"userName":"a@x.com","title":"Dev","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}}`, FieldManager, "manager",
			func(d Doc) any { return d[URNEnterprise].(map[string]any)["manager"] }},
		"time zone": {`{"userName":"a@x.com","title":"Dev","timezone":"Mars/Olympus_Mons"}`, FieldTimeZone, "timezone",
			func(d Doc) any { return d["timezone"] }},
		"language": {`{"userName":"a@x.com","title":"Dev","preferredLanguage":"tlh"}`, FieldLanguage, "preferredLanguage",
			func(d Doc) any { return d["preferredLanguage"] }},
		"unknown location": {`{"userName":"a@x.com","title":"Dev","urn:ietf:params:scim:schemas:extension:freshservice:2.0:User":{"location":"Moon"}}`, FieldLocation, "location",
			func(d Doc) any { return d[URNFreshservice].(map[string]any)["location"] }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := doc(tc.doc)
			p, err := ProfileFromSCIM(d, testCatalog, known)
			if err != nil {
				t.Fatalf("err = %v, want the user mapped with a gap", err)
			}
			if len(p.Gaps) != 1 || p.Gaps[0].Field != tc.field || !containsFold(p.Gaps[0].Attr, tc.attr) {
				t.Fatalf("gaps %+v, want one on %s", p.Gaps, tc.attr)
			}
			if p.Set.Has(tc.field) {
				t.Errorf("the field with a gap is managed: Freshservice's value would be overwritten")
			}
			if p.JobTitle != "Dev" || !p.Set.Has(FieldJobTitle) {
				t.Errorf("the rest of the user was not mapped: title %q", p.JobTitle)
			}
			var ae *AttrError
			if err := p.Strict(); !errors.As(err, &ae) || !containsFold(ae.Attr, tc.attr) {
				t.Errorf("Strict() = %v, want an *AttrError naming %s", err, tc.attr)
			}
			// Freshservice holds other values; the SCIM view shows the
			// IdP's value for the gap, as it was sent.
			u := fsUser(t, doc(`{"userName":"a@x.com","title":"Dev"}`), 21)
			u.TimeZone, u.Language, u.DepartmentIDs, u.LocationID, u.ReportingManagerID = "London", "fr", []int64{2}, 1, 7
			want := tc.shown(DeepCopy(d))
			if got := tc.shown(ToSCIM(u, d, testCatalog, known)); got != want {
				t.Errorf("SCIM view shows %v, want %v as sent", got, want)
			}
		})
	}
}

func containsFold(s, sub string) bool {
	return len(s) >= len(sub) && (s == sub || (len(sub) > 0 && indexFold(s, sub)))
}

func indexFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if equalFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 32
		}
		if 'A' <= y && y <= 'Z' {
			y += 32
		}
		if x != y {
			return false
		}
	}
	return true
}

// fsUser is what Freshservice would hold after creating the SCIM user.
func fsUser(t *testing.T, d Doc, id int64) *freshservice.User {
	t.Helper()
	p, err := ProfileFromSCIM(d, testCatalog, known)
	if err != nil {
		t.Fatal(err)
	}
	u := &freshservice.User{
		ID: id, View: freshservice.ViewRequester, Email: p.Email, SecondaryEmails: p.SecondaryEmails, Active: p.Active,
		FirstName: p.FirstName, LastName: p.LastName, JobTitle: p.JobTitle, WorkPhone: p.WorkPhone, MobilePhone: p.MobilePhone,
		Address: p.Address, TimeZone: p.TimeZone, Language: p.Language, TimeFormat: p.TimeFormat,
		BackgroundInformation: p.Background, DepartmentIDs: p.DepartmentIDs, ReportingManagerID: p.ReportingManagerID,
		LocationID: p.LocationID, CanSeeAllTicketsFromAssociatedDepartments: p.CanSeeAllTickets,
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	if u.TimeZone == "" {
		u.TimeZone = "Eastern Time (US & Canada)"
	}
	if u.Language == "" {
		u.Language = "en"
	}
	if u.TimeFormat == "" {
		u.TimeFormat = "12h"
	}
	return u
}

// TestRoundTripIsExact: an IdP reads back exactly what it wrote, including
// what Freshservice cannot hold (externalId, name.formatted, the IANA zone
// it sent, a fax number), because consistent values come from the desired
// state.
func TestRoundTripIsExact(t *testing.T) {
	for name, src := range scimUsers {
		t.Run(name, func(t *testing.T) {
			d := doc(src)
			got := ToSCIM(fsUser(t, d, 1), d, testCatalog, known)
			delete(got, URNFreshservice)
			want := DeepCopy(d)
			// active is always shown: whether the user can sign in is
			// Freshservice's answer even when the IdP never sent it.
			if _, ok := want["active"]; !ok {
				want["active"] = true
			}
			if ext, ok := want[URNFreshservice].(map[string]any); ok && len(ext) > 0 {
				// agentType is added; everything the IdP sent stays.
				g := ToSCIM(fsUser(t, d, 1), d, testCatalog, known)[URNFreshservice].(map[string]any)
				for k, v := range ext {
					if g[k] != v {
						t.Errorf("extension %s = %v, want %v", k, g[k], v)
					}
				}
				delete(want, URNFreshservice)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round trip (-sent +read back):\n%s", diff)
			}
		})
	}
}

// TestFreshserviceChangesShow: values changed in Freshservice replace the
// desired ones in the SCIM view; untouched ones stay as sent.
func TestFreshserviceChangesShow(t *testing.T) {
	d := doc(scimUsers["entra-full"])
	u := fsUser(t, d, 7)
	u.JobTitle = "Director"
	u.TimeZone = "London"
	u.DepartmentIDs = []int64{13}
	u.Active = false
	golden(t, "scim-after-freshservice-edit", ToSCIM(u, d, testCatalog, known))
}

// TestUnmanagedUserView is how a Freshservice user the IdP never sent
// looks over SCIM, as agent and as requester.
func TestUnmanagedUserView(t *testing.T) {
	agent := &freshservice.User{
		ID: 9, View: freshservice.ViewAgent, IsAgent: true, Email: "owner@example.com", FirstName: "Account", LastName: "Owner",
		Active: true, TimeZone: "Chennai", Language: "ja-JP", TimeFormat: "12h", DepartmentIDs: []int64{11}, ReportingManagerID: 501,
		WorkPhone: "+91 80 1234", LocationID: 21,
		Roles: []freshservice.RoleAssignment{{RoleID: 1, AssignmentScope: freshservice.ScopeEntireHelpdesk}},
	}
	golden(t, "scim-unmanaged-agent", ToSCIM(agent, nil, testCatalog, known))
	req := &freshservice.User{ID: 10, View: freshservice.ViewRequester, Email: "r@example.com", SecondaryEmails: []string{"r2@example.com"},
		FirstName: "Rita", Active: true, TimeZone: "UTC", Language: "en", TimeFormat: "24h"}
	golden(t, "scim-unmanaged-requester", ToSCIM(req, nil, testCatalog, known))
}
