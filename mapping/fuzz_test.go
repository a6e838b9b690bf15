package mapping

import (
	"encoding/json"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice"
)

// FuzzProfileFromSCIM feeds arbitrary JSON documents to the mapping: it
// must never panic, and whatever it accepts must be something Freshservice
// accepts (a valid time zone and language, an email).
func FuzzProfileFromSCIM(f *testing.F) {
	for _, src := range scimUsers {
		f.Add([]byte(src))
	}
	f.Add([]byte(`{"userName":"a@x.com","timezone":"Etc/GMT+5","locale":"zh_Hant_TW.UTF-8@x"}`))
	f.Add([]byte(`{"userName":["x"],"emails":{"value":7},"name":"n","phoneNumbers":[null,1,{"type":"work"}]}`))
	f.Add([]byte(`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"-1"}},"userName":"a@b.c"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Doc
		if json.Unmarshal(data, &d) != nil {
			return
		}
		p, err := ProfileFromSCIM(d, testCatalog, known)
		if err != nil {
			if _, ok := err.(*AttrError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if !isEmail(p.Email) {
			t.Fatalf("accepted primary email %q", p.Email)
		}
		if p.TimeZone != "" && !freshservice.ValidTimeZone(p.TimeZone) {
			t.Fatalf("accepted time zone %q", p.TimeZone)
		}
		if p.Language != "" && !freshservice.ValidLanguage(p.Language) {
			t.Fatalf("accepted language %q", p.Language)
		}
		if p.FirstName == "" {
			t.Fatal("no first name; Freshservice requires one")
		}
		// What is accepted reads back, and planning a create gives one call.
		u := &freshservice.User{ID: 1, Email: p.Email, FirstName: p.FirstName, Active: true}
		_ = ToSCIM(u, d, testCatalog, known)
		if n := PlanUser(nil, Target{Profile: p}, Applied{}).Calls(); n < 1 || n > 2 {
			t.Fatalf("a create plans %d calls", n)
		}
	})
}
