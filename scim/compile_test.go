package scim

import (
	"reflect"
	"strings"
	"testing"

	filter "github.com/scim2/filter-parser/v2"
)

// The fast path gives the expression the general parser gives for the same filter, for every form
// it takes, and leaves every other form to the general parser.
func TestFastFiltersMatchTheGeneralParser(t *testing.T) {
	users, groups := UserSchema(), GroupSchema()
	tests := []struct {
		name   string
		rs     ResourceSchema
		filter string
		fast   bool
		lookup *Lookup
	}{
		{"userName", users, `userName eq "ada@example.com"`, true, &Lookup{Attr: "userName", Value: "ada@example.com"}},
		{"upper-case name and operator", users, `USERNAME EQ "Ada@Example.com"`, true, &Lookup{Attr: "userName", Value: "Ada@Example.com"}},
		{"externalId", users, `externalId eq "00u1"`, true, &Lookup{Attr: "externalId", Value: "00u1"}},
		{"id", users, `id eq "42"`, true, &Lookup{Attr: "id", Value: "42"}},
		{"emails", users, `emails eq "a@x.com"`, true, &Lookup{Attr: "emails.value", Value: "a@x.com"}},
		{"emails.value", users, `emails.value eq "a@x.com"`, true, &Lookup{Attr: "emails.value", Value: "a@x.com"}},
		{"Entra's work email", users, `emails[type eq "work"].value eq "a@x.com"`, true, &Lookup{Attr: "emails.value", Type: "work", Value: "a@x.com"}},
		{"RFC work email", users, `emails[type eq "work" and value eq "a@x.com"]`, true, &Lookup{Attr: "emails.value", Type: "work", Value: "a@x.com"}},
		{"email by value path", users, `emails[value eq "a@x.com"]`, true, &Lookup{Attr: "emails.value", Value: "a@x.com"}},
		{"non-ASCII value", users, `userName eq "zoë@example.com"`, true, &Lookup{Attr: "userName", Value: "zoë@example.com"}},
		{"group displayName", groups, `displayName eq "Sales"`, true, &Lookup{Attr: "displayName", Value: "Sales"}},
		{"group members.value", groups, `members.value eq "42"`, true, &Lookup{Attr: "members.value", Value: "42"}},
		{"group members value path", groups, `members[value eq "42"]`, true, &Lookup{Attr: "members.value", Value: "42"}},
		{"group externalId", groups, `externalId eq "x"`, true, &Lookup{Attr: "externalId", Value: "x"}},
		// The general parser's: the same lookups in forms the fast path does not take.
		{"escaped quote", users, `userName eq "a\"b@x.com"`, false, &Lookup{Attr: "userName", Value: `a"b@x.com`}},
		{"URN prefix", users, `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a@x.com"`, false, &Lookup{Attr: "userName", Value: "a@x.com"}},
		{"two spaces", users, `userName  eq "a@x.com"`, false, &Lookup{Attr: "userName", Value: "a@x.com"}},
		{"unquoted number", users, `id eq 42`, false, nil},
		{"another operator", users, `userName sw "a"`, false, nil},
		{"and", users, `userName eq "a" and active eq true`, false, nil},
		{"an attribute the fast path does not index", users, `title eq "CEO"`, false, nil},
		{"an email type other than via emails", users, `phoneNumbers[type eq "work"].value eq "1"`, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fastExpr, fast := fastFilter(tc.filter, tc.rs)
			if fast != tc.fast {
				t.Fatalf("fastFilter took it: %v, want %v", fast, tc.fast)
			}
			general, err := filter.ParseFilter([]byte(NormalizeFilter(quoteBareValues(tc.filter))))
			if fast {
				if err != nil {
					t.Fatalf("the general parser refuses what the fast path took: %v", err)
				}
				if !reflect.DeepEqual(fastExpr, general) {
					t.Errorf("fast path %#v, general parser %#v", fastExpr, general)
				}
			}
			cf, serr := compileFilter(tc.filter, tc.rs)
			if err != nil {
				if serr == nil {
					t.Fatalf("compileFilter accepted what the general parser refuses")
				}
				return
			}
			if serr != nil {
				t.Fatalf("compileFilter: %v", serr)
			}
			if !reflect.DeepEqual(cf.lookup, tc.lookup) {
				t.Errorf("lookup %+v, want %+v", cf.lookup, tc.lookup)
			}
		})
	}
}

// Whatever the fast path refuses to take is answered by the general parser as before: a fast path
// must never turn a 400 into a 200 or the reverse.
func TestFastPathNeverChangesAnAnswer(t *testing.T) {
	users := UserSchema()
	for _, f := range []string{
		`userName eq "a`, `userName eq `, `userName eq "a" `, `userName eq "a\"`, `userName eq "` + "\x01" + `"`,
		`emails[type eq "work"].value eq`, `emails[type eq "work"]`, `emails[type eq "work" and value eq "a"`,
		`emails[value eq "a"].value eq "b"`, `members[value eq "1"]`, `members.value eq "42"`, `shoeSize eq "42"`, `emails.shoe eq "1"`,
		`userName eq "` + strings.Repeat("a", 200) + `"`, `emails[TYPE EQ "work"].VALUE EQ "a"`,
	} {
		_, fast := fastFilter(f, users)
		general, gerr := parseFilter(NormalizeFilter(quoteBareValues(strings.TrimSpace(f))), users)
		cf, err := compileFilter(f, users)
		if (err == nil) != (gerr == nil) {
			t.Errorf("%q: compileFilter error %v, general parser error %v (fast path took it: %v)", f, err, gerr, fast)
			continue
		}
		if err == nil && !reflect.DeepEqual(cf.expr, general) {
			t.Errorf("%q: compileFilter gave %#v, the general parser %#v", f, cf.expr, general)
		}
	}
}

func TestParsePatchPath(t *testing.T) {
	for _, p := range []string{"title", "name.givenName", "NAME.GIVENNAME", "members", `members[value eq "1"]`,
		`emails[type eq "work"].value`, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
		"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName"} {
		got, err := parsePatchPath(p)
		if err != nil {
			t.Errorf("%q: %v", p, err)
			continue
		}
		want, gerr := filter.ParsePath([]byte(p))
		if gerr != nil {
			t.Fatalf("%q: the general parser refuses it: %v", p, gerr)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("%q: %#v, general parser %#v", p, *got, want)
		}
	}
	for _, p := range []string{"emails[", "a..b", "9lives", `emails[value eq "` + strings.Repeat("a", 5000) + `"]`} {
		if _, err := parsePatchPath(p); err == nil || err.ScimType != TypeInvalidPath {
			t.Errorf("%q: %v, want invalidPath", p, err)
		}
	}
}
