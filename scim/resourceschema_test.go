package scim

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/elimity-com/scim/schema"
	"github.com/google/go-cmp/cmp"
	filter "github.com/scim2/filter-parser/v2"
)

const enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// rsUser is the User resource type as the bridge serves it: core User plus the enterprise extension.
func rsUser() ResourceSchema {
	return ResourceSchema{Core: schema.CoreUserSchema(), Extensions: []schema.Schema{schema.ExtensionEnterpriseUser()}}
}

func rsGroup() ResourceSchema {
	return ResourceSchema{Core: schema.CoreGroupSchema()}
}

// decodeDoc decodes a JSON object the way the server does (numbers as json.Number).
func decodeDoc(t testing.TB, s string) map[string]any {
	t.Helper()
	if s == "" {
		return nil
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return m
}

// jsonNormal round-trips v through JSON, so that comparisons see JSON values, not Go types.
func jsonNormal(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	var out any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestResourceSchemaLookup(t *testing.T) {
	tests := []struct {
		name     string
		rs       ResourceSchema
		path     string
		wantOK   bool
		wantPath string
		wantExt  string
		typ      string
		multi    bool
		exact    bool
		mutable  string
	}{
		{name: "core attribute, other case", rs: rsUser(), path: "USERNAME", wantOK: true, wantPath: "userName", typ: "string", mutable: "readWrite"},
		{name: "sub-attribute", rs: rsUser(), path: "name.GIVENNAME", wantOK: true, wantPath: "name.givenName", typ: "string", mutable: "readWrite"},
		{name: "multi-valued complex", rs: rsUser(), path: "emails", wantOK: true, wantPath: "emails", typ: "complex", multi: true, mutable: "readWrite"},
		{name: "sub-attribute of multi-valued", rs: rsUser(), path: "emails.value", wantOK: true, wantPath: "emails.value", typ: "string", mutable: "readWrite"},
		{name: "common id is caseExact and readOnly", rs: rsUser(), path: "id", wantOK: true, wantPath: "id", typ: "string", exact: true, mutable: "readOnly"},
		{name: "common externalId is caseExact", rs: rsGroup(), path: "externalid", wantOK: true, wantPath: "externalId", typ: "string", exact: true, mutable: "readWrite"},
		{name: "common meta sub-attribute", rs: rsGroup(), path: "meta.lastModified", wantOK: true, wantPath: "meta.lastModified", typ: "dateTime", mutable: "readOnly"},
		{name: "core URN prefix", rs: rsUser(), path: "urn:ietf:params:scim:schemas:core:2.0:User:userName", wantOK: true, wantPath: "userName", typ: "string", mutable: "readWrite"},
		{name: "extension URN prefix", rs: rsUser(), path: enterpriseURN + ":department", wantOK: true, wantPath: enterpriseURN + ":department", wantExt: enterpriseURN, typ: "string", mutable: "readWrite"},
		{name: "extension URN prefix in other case", rs: rsUser(), path: "URN:IETF:params:scim:schemas:extension:enterprise:2.0:user:Department", wantOK: true, wantPath: enterpriseURN + ":department", wantExt: enterpriseURN, typ: "string", mutable: "readWrite"},
		{name: "extension sub-attribute", rs: rsUser(), path: enterpriseURN + ":manager.value", wantOK: true, wantPath: enterpriseURN + ":manager.value", wantExt: enterpriseURN, typ: "string", mutable: "readWrite"},
		{name: "extension attribute without URN", rs: rsUser(), path: "manager", wantOK: true, wantPath: enterpriseURN + ":manager", wantExt: enterpriseURN, typ: "complex", mutable: "readWrite"},
		{name: "read-only sub-attribute", rs: rsUser(), path: enterpriseURN + ":manager.displayName", wantOK: true, wantPath: enterpriseURN + ":manager.displayName", wantExt: enterpriseURN, typ: "string", mutable: "readOnly"},
		{name: "immutable member value", rs: rsGroup(), path: "members.value", wantOK: true, wantPath: "members.value", typ: "string", mutable: "immutable"},
		{name: "unknown attribute", rs: rsUser(), path: "bogus"},
		{name: "unknown sub-attribute", rs: rsUser(), path: "name.bogus"},
		{name: "sub-attribute of a simple attribute", rs: rsUser(), path: "userName.x"},
		{name: "bare extension URN is not an attribute", rs: rsUser(), path: enterpriseURN},
		{name: "unknown URN", rs: rsUser(), path: "urn:example:User:userName"},
		{name: "group has no userName", rs: rsGroup(), path: "userName"},
		{name: "empty", rs: rsUser(), path: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, ok := tt.rs.Lookup(tt.path)
			if ok != tt.wantOK {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.path, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			target := ref.Target()
			got := []any{ref.Path(), ref.Extension, target.AttributeType(), target.MultiValued(), target.CaseExact(), target.Mutability()}
			want := []any{tt.wantPath, tt.wantExt, tt.typ, tt.multi, tt.exact, tt.mutable}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Lookup(%q) mismatch (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}

func TestResourceSchemaResolveParsedPath(t *testing.T) {
	rs := rsUser()
	for _, tt := range []struct{ filter, want string }{
		{`USERNAME eq "x"`, "userName"},
		{`name.familyName eq "x"`, "name.familyName"},
		{enterpriseURN + `:manager.value eq "x"`, enterpriseURN + ":manager.value"},
		{`urn:ietf:params:scim:schemas:core:2.0:User:emails.type eq "x"`, "emails.type"},
	} {
		expr, err := filter.ParseFilter([]byte(tt.filter))
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", tt.filter, err)
		}
		ref, ok := rs.Resolve(expr.(*filter.AttributeExpression).AttributePath)
		if !ok || ref.Path() != tt.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.filter, ref.Path(), ok, tt.want)
		}
	}
}

func TestResourceSchemaCanonicalize(t *testing.T) {
	in := decodeDoc(t, `{
		"USERNAME": "a@example.com",
		"userName": "canonical@example.com",
		"Name": {"GivenName": "A", "familyname": "B"},
		"emails": [{"VALUE": "a@example.com", "Type": "work", "Primary": true}],
		"password": "secret",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "Eng", "MANAGER": {"Value": "m1"}},
		"x-unknown": {"Keep": "as is"}
	}`)
	want := decodeDoc(t, `{
		"userName": "canonical@example.com",
		"name": {"givenName": "A", "familyName": "B"},
		"emails": [{"value": "a@example.com", "type": "work", "primary": true}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng", "manager": {"value": "m1"}},
		"x-unknown": {"Keep": "as is"}
	}`)
	before := jsonNormal(t, in)
	got := rsUser().Canonicalize(in)
	if diff := cmp.Diff(jsonNormal(t, want), jsonNormal(t, got)); diff != "" {
		t.Errorf("Canonicalize mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, jsonNormal(t, in)); diff != "" {
		t.Errorf("Canonicalize modified its input (-before +after):\n%s", diff)
	}
}

// Documents built in Go rather than decoded from JSON must work too.
func TestResourceSchemaGoTypedDocument(t *testing.T) {
	doc := map[string]any{
		"userName": "a@example.com",
		"emails":   []map[string]any{{"value": "a@example.com", "type": "work"}},
		"name":     map[string]string{"givenName": "A"},
	}
	got := rsUser().Canonicalize(doc)
	want := map[string]any{
		"userName": "a@example.com",
		"emails":   []any{map[string]any{"value": "a@example.com", "type": "work"}},
		"name":     map[string]any{"givenName": "A"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Canonicalize mismatch (-want +got):\n%s", diff)
	}
	expr, err := filter.ParseFilter([]byte(`emails[type eq "work" and value eq "A@EXAMPLE.COM"] and name.givenName eq "a"`))
	if err != nil {
		t.Fatal(err)
	}
	if !Match(doc, expr, rsUser()) {
		t.Error("Match on a Go-typed document = false, want true")
	}
}
