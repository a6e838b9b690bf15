package scim

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/elimity-com/scim/schema"
	"github.com/google/go-cmp/cmp"
	filter "github.com/scim2/filter-parser/v2"
)

const testExtensionURN = "urn:example:params:scim:schemas:extension:fsbridge:2.0:User"

// rsUserWithTypes adds an extension with the attribute types the elimity User schemas lack
// (integer, decimal, dateTime, multi-valued string, caseExact string).
func rsUserWithTypes() ResourceSchema {
	rs := rsUser()
	rs.Extensions = append(rs.Extensions, schema.Schema{
		ID: testExtensionURN,
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "level", Type: schema.AttributeTypeInteger()})),
			schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "score", Type: schema.AttributeTypeDecimal()})),
			schema.SimpleCoreAttribute(schema.SimpleDateTimeParams(schema.DateTimeParams{Name: "hired"})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "tags", MultiValued: true})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "code", CaseExact: true})),
		},
	})
	return rs
}

const matchUser = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
	"id": "AbC123",
	"externalId": "Ext-1",
	"userName": "Jane.Doe@Example.com",
	"displayName": "Jane Doe",
	"userType": "",
	"name": {"givenName": "Jane", "familyName": "Doe"},
	"active": true,
	"emails": [
		{"value": "jane@example.com", "type": "work", "primary": true},
		{"value": "jd@home.example", "type": "home"}
	],
	"meta": {"resourceType": "User", "created": "2011-08-01T18:29:49.793Z", "lastModified": "2011-08-01T20:00:00Z"},
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng", "employeeNumber": "701984", "manager": {"value": "m1"}},
	"urn:example:params:scim:schemas:extension:fsbridge:2.0:User": {"level": 5, "score": 4.5, "hired": "2020-02-29T09:00:00+01:00", "tags": ["alpha", "Beta"], "code": "XyZ"}
}`

const matchGroup = `{
	"id": "g1",
	"displayName": "Engineering",
	"externalId": "8aa1a0c0",
	"members": [{"value": "u1", "display": "one"}, {"value": "u2"}]
}`

func TestMatch(t *testing.T) {
	tests := []struct {
		name   string
		rs     ResourceSchema
		doc    string
		filter string
		want   bool
	}{
		{name: "userName eq", filter: `userName eq "Jane.Doe@Example.com"`, want: true},
		{name: "userName is case-insensitive", filter: `userName eq "JANE.DOE@EXAMPLE.COM"`, want: true},
		{name: "attribute names are case-insensitive", filter: `USERNAME eq "jane.doe@example.com"`, want: true},
		{name: "core URN prefix", filter: `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "jane.doe@example.com"`, want: true},
		{name: "userName eq other", filter: `userName eq "john@example.com"`, want: false},
		{name: "id is caseExact", filter: `id eq "abc123"`, want: false},
		{name: "id exact", filter: `id eq "AbC123"`, want: true},
		{name: "externalId is caseExact", filter: `externalId eq "ext-1"`, want: false},
		{name: "externalId exact", filter: `externalId eq "Ext-1"`, want: true},
		{name: "number compared to a string id", doc: `{"id":"12"}`, filter: `id eq 12`, want: true},
		{name: "co", filter: `displayName co "ANE d"`, want: true},
		{name: "co no", filter: `displayName co "x"`, want: false},
		{name: "sw", filter: `displayName sw "jane"`, want: true},
		{name: "sw no", filter: `displayName sw "Doe"`, want: false},
		{name: "ew", filter: `displayName ew "DOE"`, want: true},
		{name: "ne on equal", filter: `displayName ne "jane doe"`, want: false},
		{name: "ne on different", filter: `displayName ne "x"`, want: true},
		{name: "ne on absent attribute", filter: `title ne "x"`, want: true},
		{name: "gt string", filter: `userName gt "jane"`, want: true},
		{name: "lt string", filter: `userName lt "jane"`, want: false},
		{name: "ge equal string", filter: `userName ge "jane.doe@example.com"`, want: true},
		{name: "le string", filter: `userName le "k"`, want: true},
		{name: "pr", filter: `displayName pr`, want: true},
		{name: "pr absent", filter: `title pr`, want: false},
		{name: "pr empty string", filter: `userType pr`, want: false},
		{name: "pr complex", filter: `name pr`, want: true},
		{name: "pr multi-valued", filter: `emails pr`, want: true},
		{name: "pr sub-attribute of multi-valued", filter: `emails.display pr`, want: false},
		{name: "eq null on absent", filter: `title eq null`, want: true},
		{name: "eq null on present", filter: `displayName eq null`, want: false},
		{name: "ne null", filter: `displayName ne null`, want: true},
		{name: "boolean eq", filter: `active eq true`, want: true},
		{name: "boolean eq false", filter: `active eq false`, want: false},
		{name: "boolean ne", filter: `active ne false`, want: true},
		{name: "boolean stored as a string", doc: `{"active":"True"}`, filter: `active eq true`, want: true},
		{name: "boolean gt is never true", filter: `active gt false`, want: false},
		{name: "dateTime gt", filter: `meta.lastModified gt "2011-05-13T04:42:34Z"`, want: true},
		{name: "dateTime lt", filter: `meta.lastModified lt "2011-05-13T04:42:34Z"`, want: false},
		{name: "dateTime eq across zone notations", filter: `meta.created eq "2011-08-01T18:29:49.793+00:00"`, want: true},
		{name: "dateTime ge with offset", rs: rsUserWithTypes(), filter: `hired ge "2020-02-29T08:00:00Z"`, want: true},
		{name: "dateTime le with offset", rs: rsUserWithTypes(), filter: `hired le "2020-02-29T07:59:59Z"`, want: false},
		{name: "integer gt", rs: rsUserWithTypes(), filter: `urn:example:params:scim:schemas:extension:fsbridge:2.0:User:level gt 3`, want: true},
		{name: "integer eq", rs: rsUserWithTypes(), filter: `level eq 5`, want: true},
		{name: "integer le", rs: rsUserWithTypes(), filter: `level le 4`, want: false},
		{name: "decimal ge", rs: rsUserWithTypes(), filter: `score ge 4.5`, want: true},
		{name: "decimal lt", rs: rsUserWithTypes(), filter: `score lt 4.5`, want: false},
		{name: "number stored as json.Number compared with a fraction", rs: rsUserWithTypes(), filter: `level lt 5.5`, want: true},
		{name: "multi-valued simple", rs: rsUserWithTypes(), filter: `tags eq "beta"`, want: true},
		{name: "multi-valued simple value path", rs: rsUserWithTypes(), filter: `tags[value sw "al"]`, want: true},
		{name: "caseExact custom attribute", rs: rsUserWithTypes(), filter: `code eq "xyz"`, want: false},
		{name: "caseExact custom attribute co", rs: rsUserWithTypes(), filter: `code co "yZ"`, want: true},
		{name: "value path", filter: `emails[type eq "work" and value co "@EXAMPLE.com"]`, want: true},
		{name: "value path conditions hold on one element", filter: `emails[type eq "home" and primary eq true]`, want: false},
		{name: "value path or", filter: `emails[type eq "other" or primary eq true]`, want: true},
		{name: "value path not", filter: `emails[not (type eq "work")]`, want: true},
		{name: "value path on absent attribute", filter: `addresses[type eq "work"]`, want: false},
		{name: "sub-attribute of multi-valued matches any element", filter: `emails.value eq "JD@home.example"`, want: true},
		{name: "sub-attribute of multi-valued, no element", filter: `emails.type eq "other"`, want: false},
		{name: "and", filter: `userName sw "jane" and active eq true`, want: true},
		{name: "or", filter: `userName eq "x" or displayName eq "jane doe"`, want: true},
		{name: "grouping", filter: `(userName eq "x" or displayName eq "Jane Doe") and active eq false`, want: false},
		{name: "not", filter: `not (userName eq "x")`, want: true},
		{name: "or not", filter: `userName eq "x" or not (active eq true)`, want: false},
		{name: "extension attribute by URN", filter: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "eng"`, want: true},
		{name: "extension attribute without URN", filter: `employeeNumber eq "701984"`, want: true},
		{name: "complex attribute compares its value", filter: `manager eq "m1"`, want: true},
		{name: "extension sub-attribute", filter: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "M1"`, want: true},
		{name: "manager stored as a bare string", doc: `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m1"}}`, filter: `manager eq "m1"`, want: true},
		{name: "escaped quote", doc: `{"userName":"a\"b"}`, filter: `userName eq "a\"b"`, want: true},
		{name: "escaped backslash and slash", doc: `{"userName":"a\\b/c"}`, filter: `userName eq "a\\b\/c"`, want: true},
		{name: "unknown attribute never matches", filter: `bogus eq "x"`, want: false},
		{name: "not of an unknown attribute", filter: `not (bogus eq "x")`, want: true},
		{name: "unknown value path", filter: `bogus[type eq "x"]`, want: false},
		{name: "unknown sub-attribute in a value path", filter: `emails[bogus eq "x"]`, want: false},
		{name: "unknown sub-attribute", filter: `emails.bogus eq "x"`, want: false},
		{name: "unknown extension URN", filter: `urn:example:other:User:department eq "Eng"`, want: false},
		{name: "odd shapes do not match", doc: `{"emails":"x","name":5,"meta":[1,2]}`, filter: `name.givenName eq "x" or emails[type eq "work"] or meta.created gt "2000-01-01T00:00:00Z"`, want: false},
		{name: "group displayName is case-insensitive", rs: rsGroup(), doc: matchGroup, filter: `displayName eq "ENGINEERING"`, want: true},
		{name: "group externalId", rs: rsGroup(), doc: matchGroup, filter: `externalId eq "8aa1a0c0"`, want: true},
		{name: "members eq", rs: rsGroup(), doc: matchGroup, filter: `id eq "g1" and members eq "u2"`, want: true},
		{name: "members value path", rs: rsGroup(), doc: matchGroup, filter: `members[value eq "u1"] and id eq "g1"`, want: true},
		{name: "members.value", rs: rsGroup(), doc: matchGroup, filter: `members.value eq "u2"`, want: true},
		{name: "not a member", rs: rsGroup(), doc: matchGroup, filter: `id eq "g1" and members[value eq "u9"]`, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, doc := tt.rs, tt.doc
			if rs.Core.ID == "" {
				rs = rsUser()
			}
			if doc == "" {
				doc = matchUser
			}
			expr, err := filter.ParseFilter([]byte(tt.filter))
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tt.filter, err)
			}
			if got := Match(decodeDoc(t, doc), expr, rs); got != tt.want {
				t.Errorf("Match(%s) = %v, want %v", tt.filter, got, tt.want)
			}
			// json.Number and float64 documents must behave the same.
			var plain map[string]any
			if err := json.Unmarshal([]byte(doc), &plain); err != nil {
				t.Fatal(err)
			}
			if got := Match(plain, expr, rs); got != tt.want {
				t.Errorf("Match(%s) on float64 numbers = %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

func TestMatchNilFilter(t *testing.T) {
	if !Match(map[string]any{}, nil, rsUser()) {
		t.Error("Match(nil filter) = false, want true")
	}
	if Match(nil, &filter.AttributeExpression{AttributePath: filter.AttributePath{AttributeName: "userName"}, Operator: filter.PR}, rsUser()) {
		t.Error("Match on a nil document = true, want false")
	}
}

// IdP filters as they arrive on the wire, read as the edge reads a query (url.Values, then
// compileFilter), then Match.
func TestMatchIdPQueries(t *testing.T) {
	user := decodeDoc(t, `{"id":"u1","userName":"test.user@okta.local","externalId":"00ujl29u0le5T6Aj10h7",
		"emails":[{"type":"work","value":"User@Contoso.com"}]}`)
	group := decodeDoc(t, `{"id":"g1","displayName":"TEST"}`)
	tests := []struct {
		name     string
		rawQuery string
		doc      map[string]any
		want     bool
	}{
		{name: "okta %20", rawQuery: "filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100", doc: user, want: true},
		{name: "okta + and upper case", rawQuery: "filter=userName+eq+%22TEST.USER%40OKTA.LOCAL%22&startIndex=1&count=100", doc: user, want: true},
		{name: "okta externalId", rawQuery: "filter=externalId+eq+%2200ujl29u0le5T6Aj10h7%22", doc: user, want: true},
		{name: "entra test connection random guid", rawQuery: "filter=userName+eq+%223d0f2a5e-0000-4000-8000-000000000000%22", doc: user, want: false},
		{name: "entra group lookup", rawQuery: "excludedAttributes=members&filter=displayName+eq+%22test%22", doc: group, want: true},
		{name: "entra emails value path, normalised", rawQuery: "filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22user%40contoso.com%22", doc: user, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.rawQuery)
			if err != nil {
				t.Fatal(err)
			}
			rs := rsUser()
			if tt.doc["displayName"] != nil {
				rs = rsGroup()
			}
			cf, serr := compileFilter(q.Get("filter"), rs)
			if serr != nil {
				t.Fatalf("compileFilter: %v", serr)
			}
			expr := cf.expr
			if got := Match(tt.doc, expr, rs); got != tt.want {
				t.Errorf("Match(%v) = %v, want %v", expr, got, tt.want)
			}
		})
	}
}

func TestFilterString(t *testing.T) {
	tests := []struct {
		name   string
		in     any
		want   string
		wantOK bool
	}{
		{"plain", "a@b.com", "a@b.com", true},
		{"quote", `a\"b`, `a"b`, true},
		{"backslash", `a\\b`, `a\b`, true},
		{"slash", `a\/b`, `a/b`, true},
		{"controls", `a\tb\nc\rd\be\ff`, "a\tb\nc\rd\be\ff", true},
		{"unicode", `caf\u00e9`, "café", true},
		{"surrogate pair", `\ud83d\ude00!`, "😀!", true},
		{"lone surrogate", `\ud83dx`, "\uFFFDx", true},
		{"short unicode escape kept", `\u12`, `\u12`, true},
		{"bad hex kept", `\uzzzzA`, `\uzzzzA`, true},
		{"unknown escape kept", `\q`, `\q`, true},
		{"trailing backslash kept", `a\`, `a\`, true},
		{"escaped backslash before quote", `\\\"`, `\"`, true},
		{"non-ASCII", "ümlaut", "ümlaut", true},
		{"number", 12, "", false},
		{"bool", true, "", false},
		{"null", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FilterString(tt.in)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("FilterString(%#v) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// filter-parser hands the escapes over undecoded; FilterString is what turns them into the value.
func TestFilterStringAfterParser(t *testing.T) {
	expr, err := filter.ParseFilter([]byte(`userName eq "o\"brien\\x\/y"`))
	if err != nil {
		t.Fatal(err)
	}
	cv := expr.(*filter.AttributeExpression).CompareValue
	if got, _ := FilterString(cv); got != `o"brien\x/y` {
		t.Errorf("FilterString(%q) = %q, want %q", cv, got, `o"brien\x/y`)
	}
}

func TestNormalizeFilter(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"entra emails form", `emails[type eq "work"].value eq "user@contoso.com"`, `emails[type eq "work" and value eq "user@contoso.com"]`},
		{"followed by more", `emails[type eq "work"].value eq "a" and active eq true`, `emails[type eq "work" and value eq "a"] and active eq true`},
		{"two of them", `emails[type eq "work"].value eq "a" or emails[type eq "home"].value sw "b"`, `emails[type eq "work" and value eq "a"] or emails[type eq "home" and value sw "b"]`},
		{"or inside the brackets becomes one value path per branch", `emails[type eq "work" or primary eq true].value eq "x" and active eq true`, `(emails[type eq "work" and value eq "x"] or emails[primary eq true and value eq "x"]) and active eq true`},
		{"three or-branches", `emails[type eq "a" or type eq "b" or type eq "c"].value co "x"`, `(emails[type eq "a" and value co "x"] or emails[type eq "b" and value co "x"] or emails[type eq "c" and value co "x"])`},
		{"and inside the brackets untouched (filter-parser takes two comparisons at most)", `emails[type eq "work" and primary eq true].value eq "x"`, `emails[type eq "work" and primary eq true].value eq "x"`},
		{"not inside the brackets untouched", `emails[not (type eq "work")].value eq "x"`, `emails[not (type eq "work")].value eq "x"`},
		{"rewrite right after a bare value", `emails[type eq "a"].primary eq true or emails[type eq "b"].value pr`, `emails[type eq "a" and primary eq true] or emails[type eq "b" and value pr]`},
		{"quotes and brackets inside values", `emails[type eq "w]or\"k"].value eq "a].b eq \"c\""`, `emails[type eq "w]or\"k" and value eq "a].b eq \"c\""]`},
		{"or and and inside a quoted value", `emails[value eq "a or b and c"].display eq "x"`, `emails[value eq "a or b and c" and display eq "x"]`},
		{"pr", `emails[type eq "work"].value pr`, `emails[type eq "work" and value pr]`},
		{"upper-case operator", `emails[type eq "work"].value EQ "x"`, `emails[type eq "work" and value EQ "x"]`},
		{"boolean value", `emails[type eq "work"].primary eq true`, `emails[type eq "work" and primary eq true]`},
		{"in parentheses", `(emails[type eq "work"].value eq "x") and active eq true`, `(emails[type eq "work" and value eq "x"]) and active eq true`},
		{"URN-prefixed attribute", `urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value eq "x"`, `urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work" and value eq "x"]`},
		{"RFC filter untouched", `userName eq "a@b.com"`, `userName eq "a@b.com"`},
		{"RFC value path untouched", `emails[type eq "work" and value eq "x"]`, `emails[type eq "work" and value eq "x"]`},
		{"members untouched", `id eq "g" and members[value eq "u"]`, `id eq "g" and members[value eq "u"]`},
		{"brackets inside a plain value untouched", `userName eq "emails[type eq \"work\"].value eq \"x\""`, `userName eq "emails[type eq \"work\"].value eq \"x\""`},
		{"no operator untouched", `emails[type eq "work"].value`, `emails[type eq "work"].value`},
		{"no value untouched", `emails[type eq "work"].value eq`, `emails[type eq "work"].value eq`},
		{"unknown operator untouched", `emails[type eq "work"].value is "x"`, `emails[type eq "work"].value is "x"`},
		{"unterminated value untouched", `emails[type eq "work"].value eq "x`, `emails[type eq "work"].value eq "x`},
		{"unclosed bracket untouched", `emails[type eq "work".value eq "x"`, `emails[type eq "work".value eq "x"`},
		{"empty", ``, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NormalizeFilter(tt.in)
			if got != tt.want {
				t.Fatalf("NormalizeFilter(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
			if got != tt.in {
				if _, err := filter.ParseFilter([]byte(got)); err != nil {
					t.Errorf("filter-parser rejects the rewrite %s: %v", got, err)
				}
			}
		})
	}
}

// The rewrite with or-branches means the same as the filter Entra meant.
func TestNormalizeFilterDistributesOr(t *testing.T) {
	expr, err := filter.ParseFilter([]byte(NormalizeFilter(`emails[type eq "work" or primary eq true].value eq "x@example.com"`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		doc  string
		want bool
	}{
		{`{"emails":[{"type":"work","value":"x@example.com"}]}`, true},
		{`{"emails":[{"primary":true,"value":"x@example.com"}]}`, true},
		{`{"emails":[{"type":"home","value":"x@example.com"}]}`, false},
		{`{"emails":[{"type":"work","value":"y@example.com"},{"type":"home","value":"x@example.com"}]}`, false},
	} {
		if got := Match(decodeDoc(t, tt.doc), expr, rsUser()); got != tt.want {
			t.Errorf("Match(%v, %s) = %v, want %v", expr, tt.doc, got, tt.want)
		}
	}
}

// Entra and the validator send "+" for spaces; url.ParseQuery decodes it before NormalizeFilter.
func TestNormalizeFilterPlusEncodedQuery(t *testing.T) {
	q, err := url.ParseQuery("filter=userName+eq+%22a%40b.com%22")
	if err != nil {
		t.Fatal(err)
	}
	expr, err := filter.ParseFilter([]byte(NormalizeFilter(q.Get("filter"))))
	if err != nil {
		t.Fatal(err)
	}
	want := &filter.AttributeExpression{
		AttributePath: filter.AttributePath{AttributeName: "userName"},
		Operator:      filter.EQ,
		CompareValue:  "a@b.com",
	}
	if diff := cmp.Diff(want, expr); diff != "" {
		t.Errorf("parsed filter mismatch (-want +got):\n%s", diff)
	}

	q, err = url.ParseQuery("filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22user%40contoso.com%22")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := NormalizeFilter(q.Get("filter")), `emails[type eq "work" and value eq "user@contoso.com"]`; got != want {
		t.Errorf("NormalizeFilter = %s, want %s", got, want)
	}
}

func FuzzMatch(f *testing.F) {
	f.Add(`userName eq "Jane.Doe@Example.com"`, matchUser)
	f.Add(`emails[type eq "work" and value co "@x"] or not (active eq true)`, matchUser)
	f.Add(`meta.lastModified gt "2011-05-13T04:42:34Z" and emails.value pr`, matchUser)
	f.Add(`id eq 12 and members[value eq "u1"]`, matchGroup)
	f.Add(`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1"`, `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":"x"}`)
	f.Add(`level ge 1.5e3 and tags[value sw "a"]`, `{"urn:example:params:scim:schemas:extension:fsbridge:2.0:User":{"level":[1],"tags":{"a":1}}}`)
	f.Add(`name.givenName eq "a\u00e9\"" or emails eq null`, `{"name":[{"givenName":1}],"emails":[null,1,"x",{"value":true}]}`)
	f.Fuzz(func(t *testing.T, expr, docJSON string) {
		var doc map[string]any
		d := json.NewDecoder(strings.NewReader(docJSON))
		d.UseNumber()
		if d.Decode(&doc) != nil {
			return
		}
		for _, parse := range []func([]byte) (filter.Expression, error){filter.ParseFilter, filter.ParseFilterNumber} {
			e, err := parse([]byte(expr))
			if err != nil {
				return
			}
			for _, rs := range []ResourceSchema{rsUserWithTypes(), rsGroup()} {
				Match(doc, e, rs)
			}
		}
	})
}

func FuzzNormalizeFilter(f *testing.F) {
	f.Add(`emails[type eq "work"].value eq "user@contoso.com"`)
	f.Add(`emails[type eq "w]or\"k" or primary eq true].value eq "a].b" and x pr`)
	f.Add(`userName eq "emails[type eq \"work\"].value eq \"x\""`)
	f.Add(`a[b[c]].d pr]`)
	f.Add(`[[[".`)
	f.Add(`emails[type eq "work"].value eq "unterminated`)
	f.Fuzz(func(t *testing.T, s string) {
		got := NormalizeFilter(s)
		FilterString(s)
		// A filter that filter-parser accepts has no "].attr" outside quotes, so it is left alone.
		if _, err := filter.ParseFilter([]byte(s)); err == nil && got != s {
			t.Fatalf("NormalizeFilter changed a valid filter:\n in %s\nout %s", s, got)
		}
	})
}
