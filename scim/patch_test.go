package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	filter "github.com/scim2/filter-parser/v2"
)

var updatePatchGolden = flag.Bool("update-patch-golden", false, "rewrite the \"after\" documents of scim/testdata/patch/*.json")

// edgePatchOps sends a PATCH body through the edge's own reading of it (preparePatch: dialect
// normalisation, bounds, path parsing and resolution) and returns the operations the backend
// would get, or the error the IdP would.
func edgePatchOps(t testing.TB, endpoint string, body []byte) ([]PatchOperation, *Error) {
	t.Helper()
	rt := newResourceType("User", "/Users", "", rsUser(), nil)
	if strings.HasPrefix(endpoint, "/Groups") {
		rt = newResourceType("Group", "/Groups", "", rsGroup(), nil)
	}
	m, err := decodeBody(body)
	if err != nil {
		return nil, err
	}
	return preparePatch(m, rt)
}

// patchOp builds an operation without the edge's reading: path is parsed (empty means none) and
// value is JSON (empty means absent).
func patchOp(t testing.TB, op, path, value string) PatchOperation {
	t.Helper()
	o := PatchOperation{Op: op}
	if path != "" {
		p, err := filter.ParsePath([]byte(path))
		if err != nil {
			t.Fatalf("ParsePath(%q): %v", path, err)
		}
		o.Path = &p
	}
	if value != "" {
		d := json.NewDecoder(strings.NewReader(value))
		d.UseNumber()
		if err := d.Decode(&o.Value); err != nil {
			t.Fatalf("value %s: %v", value, err)
		}
	}
	return o
}

func patchBody(operations string) []byte {
	return []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":` + operations + `}`)
}

type patchCase struct {
	name string
	rs   ResourceSchema
	doc  string
	// Either ops (applied as given) or operations (a JSON array read by the edge first).
	ops        []PatchOperation
	operations string
	want       string
	wantErr    string
}

func runPatchCases(t *testing.T, tests []patchCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops := tt.ops
			if tt.operations != "" {
				endpoint := "/Users/u1"
				if tt.rs.Core.ID == rsGroup().Core.ID {
					endpoint = "/Groups/g1"
				}
				var serr *Error
				ops, serr = edgePatchOps(t, endpoint, patchBody(tt.operations))
				if serr != nil {
					t.Fatalf("the edge rejected the request: %v", serr)
				}
			}
			doc := decodeDoc(t, tt.doc)
			before := jsonNormal(t, doc)
			got, err := ApplyPatch(doc, ops, tt.rs)
			if diff := cmp.Diff(before, jsonNormal(t, doc)); diff != "" {
				t.Errorf("ApplyPatch modified its input (-before +after):\n%s", diff)
			}
			if tt.wantErr != "" {
				var se *Error
				if !errors.As(err, &se) {
					t.Fatalf("ApplyPatch error = %v, want a SCIM error %q", err, tt.wantErr)
				}
				if se.ScimType != tt.wantErr || se.Status != http.StatusBadRequest {
					t.Fatalf("ApplyPatch error = %v, want scimType %q, status 400", err, tt.wantErr)
				}
				if got != nil {
					t.Errorf("ApplyPatch returned a document with an error: %v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ApplyPatch: %v", err)
			}
			if diff := cmp.Diff(jsonNormal(t, decodeDoc(t, tt.want)), jsonNormal(t, got)); diff != "" {
				t.Errorf("ApplyPatch mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

const patchUser = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
	"id": "u1",
	"userName": "jane@example.com",
	"name": {"givenName": "Jane", "familyName": "Doe"},
	"active": true,
	"emails": [
		{"value": "jane@example.com", "type": "work", "primary": true},
		{"value": "jane@home.example", "type": "home"}
	],
	"phoneNumbers": [{"value": "+1 555 0100", "type": "work"}, {"value": "+1 555 0101", "type": "mobile"}]
}`

func TestApplyPatchUser(t *testing.T) {
	runPatchCases(t, []patchCase{
		{
			name:       "okta deactivate: path-less replace",
			rs:         rsUser(),
			doc:        `{"id":"u1","userName":"jane@example.com","active":true}`,
			operations: `[{"op":"replace","value":{"active":false}}]`,
			want:       `{"id":"u1","userName":"jane@example.com","active":false}`,
		},
		{
			name: "entra deactivate: string boolean False",
			rs:   rsUser(),
			doc:  `{"id":"u1","userName":"jane@example.com","active":true}`,
			ops:  []PatchOperation{patchOp(t, "Replace", "active", `"False"`)},
			want: `{"id":"u1","userName":"jane@example.com","active":false}`,
		},
		{
			name: "entra reactivate: string boolean true",
			rs:   rsUser(),
			doc:  `{"id":"u1","active":false}`,
			ops:  []PatchOperation{patchOp(t, "replace", "active", `"true"`)},
			want: `{"id":"u1","active":true}`,
		},
		{
			name: "entra default update: capitalised Replace on a filtered email and name.familyName",
			rs:   rsUser(),
			doc:  patchUser,
			operations: `[
				{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},
				{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}]`,
			want: `{
				"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "userName": "jane@example.com",
				"name": {"givenName": "Jane", "familyName": "updatedFamilyName"}, "active": true,
				"emails": [
					{"value": "updatedEmail@microsoft.com", "type": "work", "primary": true},
					{"value": "jane@home.example", "type": "home"}],
				"phoneNumbers": [{"value": "+1 555 0100", "type": "work"}, {"value": "+1 555 0101", "type": "mobile"}]}`,
		},
		{
			name:       "entra Replace on a filtered email that was never set creates it",
			rs:         rsUser(),
			doc:        `{"userName":"jane@example.com"}`,
			operations: `[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"jane@example.com"}]`,
			want:       `{"userName":"jane@example.com","emails":[{"type":"work","value":"jane@example.com"}]}`,
		},
		{
			name:       "entra Add to a filtered email creates the element with its type",
			rs:         rsUser(),
			doc:        `{"userName":"jane@example.com","emails":[{"value":"old@home.example","type":"home"}]}`,
			operations: `[{"op":"Add","path":"emails[type eq \"work\"].value","value":"x@example.com"}]`,
			want:       `{"userName":"jane@example.com","emails":[{"value":"old@home.example","type":"home"},{"type":"work","value":"x@example.com"}]}`,
		},
		{
			name: "several operations on one filter land in one element",
			rs:   rsUser(),
			doc:  `{}`,
			operations: `[
				{"op":"add","path":"addresses[type eq \"work\"].streetAddress","value":"1 Main St"},
				{"op":"add","path":"addresses[type eq \"work\"].locality","value":"Springfield"},
				{"op":"replace","path":"addresses[type eq \"work\"].postalCode","value":"12345"},
				{"op":"add","path":"emails[type eq \"work\"].value","value":"x@example.com"},
				{"op":"add","path":"emails[type eq \"work\"].display","value":"X"}]`,
			want: `{
				"addresses": [{"type":"work","streetAddress":"1 Main St","locality":"Springfield","postalCode":"12345"}],
				"emails": [{"type":"work","value":"x@example.com","display":"X"}]}`,
		},
		{
			name: "a filter the created element does not satisfy still finds it within the request",
			rs:   rsUser(),
			doc:  `{}`,
			ops: []PatchOperation{
				patchOp(t, "add", `emails[type eq "work" and value co "@example.com"].display`, `"X"`),
				patchOp(t, "add", `emails[type eq "work" and value co "@example.com"].value`, `"x@example.com"`),
			},
			want: `{"emails": [{"type":"work","display":"X","value":"x@example.com"}]}`,
		},
		{
			name:       "phoneNumbers mobile replace leaves the work number alone",
			rs:         rsUser(),
			doc:        patchUser,
			operations: `[{"op":"replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555 0199"}]`,
			want: `{
				"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "userName": "jane@example.com",
				"name": {"givenName": "Jane", "familyName": "Doe"}, "active": true,
				"emails": [
					{"value": "jane@example.com", "type": "work", "primary": true},
					{"value": "jane@home.example", "type": "home"}],
				"phoneNumbers": [{"value": "+1 555 0100", "type": "work"}, {"value": "+1 555 0199", "type": "mobile"}]}`,
		},
		{
			name:       "validator: replace emails[primary eq true].value",
			rs:         rsUser(),
			doc:        `{"emails":[{"value":"a@example.com","type":"home"},{"value":"b@example.com","type":"work","primary":true}]}`,
			operations: `[{"op":"replace","path":"emails[primary eq true].value","value":"new@example.com"}]`,
			want:       `{"emails":[{"value":"a@example.com","type":"home"},{"value":"new@example.com","type":"work","primary":true}]}`,
		},
		{
			name:       "validator: add emails[primary eq true].value on a user without a primary email",
			rs:         rsUser(),
			doc:        `{"emails":[{"value":"a@example.com","type":"home"}]}`,
			operations: `[{"op":"add","path":"emails[primary eq true].value","value":"new@example.com"}]`,
			want:       `{"emails":[{"value":"a@example.com","type":"home"},{"primary":true,"value":"new@example.com"}]}`,
		},
		{
			name: "flagged entra: filtered op plus path-less replace with dotted and URN keys",
			rs:   rsUser(),
			doc:  `{"userName":"u","displayName":"Old","name":{"givenName":"G","familyName":"F","formatted":"G F"},"emails":[{"type":"work","value":"old@example.com"}]}`,
			operations: `[
				{"op":"replace","path":"emails[type eq \"work\"].value","value":"TestMhvaes@test.microsoft.com"},
				{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua",
					"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}]`,
			want: `{
				"userName":"u","displayName":"Bjfe","name":{"givenName":"Kkom","familyName":"Unua","formatted":"G F"},
				"emails":[{"type":"work","value":"TestMhvaes@test.microsoft.com"}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"Aklq"}}`,
		},
		{
			name:       "path-less value with an extension URN container",
			rs:         rsUser(),
			doc:        `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"costCenter":"C1"}}`,
			operations: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Eng","manager":{"value":"m1"}}}}]`,
			want:       `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"costCenter":"C1","department":"Eng","manager":{"value":"m1"}}}`,
		},
		{
			name:       "path-less value keys in other cases are written canonically",
			rs:         rsUser(),
			doc:        `{"username":"old","NAME":{"GIVENNAME":"A"}}`,
			operations: `[{"op":"replace","value":{"USERNAME":"new","Name.FamilyName":"B"}}]`,
			want:       `{"userName":"new","name":{"givenName":"A","familyName":"B"}}`,
		},
		{
			name: "path-less replace of name merges sub-attributes, then a dotted key refines it",
			rs:   rsUser(),
			doc:  `{"name":{"givenName":"A","familyName":"B","middleName":"M"}}`,
			ops:  []PatchOperation{patchOp(t, "replace", "", `{"name.givenName":"Z","name":{"givenName":"X","familyName":"Y"}}`)},
			want: `{"name":{"givenName":"Z","familyName":"Y","middleName":"M"}}`,
		},
		{
			name:       "path-less add with a value-filter key",
			rs:         rsUser(),
			doc:        `{}`,
			operations: `[{"op":"add","value":{"emails[type eq \"work\"].value":"z@example.com"}}]`,
			want:       `{"emails":[{"type":"work","value":"z@example.com"}]}`,
		},
		{
			name: "read-only attributes and password in path-less values are ignored",
			rs:   rsUser(),
			doc:  `{"id":"u1","userName":"a","meta":{"resourceType":"User"}}`,
			ops: []PatchOperation{patchOp(t, "replace", "",
				`{"id":"other","meta":{"resourceType":"Group"},"schemas":["x"],"password":"p","groups":[{"value":"g"}],"userName":"b"}`)},
			want: `{"id":"u1","userName":"b","meta":{"resourceType":"User"}}`,
		},
		{
			name:       "okta password sync is dropped",
			rs:         rsUser(),
			doc:        `{"userName":"a"}`,
			operations: `[{"op":"replace","value":{"password":"1mz050nq"}},{"op":"replace","path":"password","value":"x"}]`,
			want:       `{"userName":"a"}`,
		},
		{
			name: "password already in the document is dropped",
			rs:   rsUser(),
			doc:  `{"userName":"a","password":"1mz050nq"}`,
			ops:  []PatchOperation{patchOp(t, "replace", "title", `"T"`)},
			want: `{"userName":"a","title":"T"}`,
		},
		{
			name:       "enterprise manager add as an object",
			rs:         rsUser(),
			doc:        `{"userName":"a"}`,
			operations: `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"2c2f6fb8"}}]`,
			want:       `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"2c2f6fb8"}}}`,
		},
		{
			name: "entra manager as a plain string",
			rs:   rsUser(),
			doc:  `{"userName":"a"}`,
			ops:  []PatchOperation{patchOp(t, "add", enterpriseURN+":manager", `"2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"`)},
			want: `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}}}`,
		},
		{
			name:       "manager replaced with {\"value\":\"\"} is removed",
			rs:         rsUser(),
			doc:        `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":{"value":"m1","displayName":"M"}}}`,
			operations: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":""}}]`,
			want:       `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
		},
		{
			name: "manager replaced with an empty string is removed, and the empty container with it",
			rs:   rsUser(),
			doc:  `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"}}}`,
			ops:  []PatchOperation{patchOp(t, "replace", enterpriseURN+":manager", `""`)},
			want: `{"userName":"a"}`,
		},
		{
			name:       "manager remove",
			rs:         rsUser(),
			doc:        `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":{"value":"m1"}}}`,
			operations: `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]`,
			want:       `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
		},
		{
			name:       "manager.value replace",
			rs:         rsUser(),
			doc:        `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1","$ref":"../Users/m1"}}}`,
			operations: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value","value":"m2"}]`,
			want:       `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m2","$ref":"../Users/m1"}}}`,
		},
		{
			name:       "manager read-only displayName in a value is dropped",
			rs:         rsUser(),
			doc:        `{}`,
			operations: `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m1","displayName":"Boss"}}]`,
			want:       `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"}}}`,
		},
		{
			name:       "enterprise department by URN path",
			rs:         rsUser(),
			doc:        `{}`,
			operations: `[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Eng"}]`,
			want:       `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Eng"}}`,
		},
		{
			name: "extension URN as a path addresses the container",
			rs:   rsUser(),
			doc:  `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
			ops: []PatchOperation{
				patchOp(t, "add", enterpriseURN, `{"costCenter":"C"}`),
				patchOp(t, "remove", enterpriseURN, ""),
				patchOp(t, "add", enterpriseURN, `{"division":"V"}`),
			},
			want: `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"division":"V"}}`,
		},
		{
			name:       "remove a sub-attribute",
			rs:         rsUser(),
			doc:        `{"name":{"givenName":"A","familyName":"B"}}`,
			operations: `[{"op":"remove","path":"name.givenName"}]`,
			want:       `{"name":{"familyName":"B"}}`,
		},
		{
			name:       "remove the last sub-attribute removes the attribute",
			rs:         rsUser(),
			doc:        `{"userName":"a","name":{"givenName":"A"}}`,
			operations: `[{"op":"remove","path":"name.givenName"}]`,
			want:       `{"userName":"a"}`,
		},
		{
			name:       "add a new primary email clears primary on the others",
			rs:         rsUser(),
			doc:        `{"emails":[{"value":"a@example.com","type":"work","primary":true}]}`,
			operations: `[{"op":"add","path":"emails","value":[{"value":"b@example.com","type":"home","primary":true}]}]`,
			want:       `{"emails":[{"value":"a@example.com","type":"work","primary":false},{"value":"b@example.com","type":"home","primary":true}]}`,
		},
		{
			name: "primary given as a string is a boolean",
			rs:   rsUser(),
			doc:  `{"emails":[{"value":"a@example.com","primary":true}]}`,
			ops:  []PatchOperation{patchOp(t, "add", "emails", `[{"value":"b@example.com","primary":"True"}]`)},
			want: `{"emails":[{"value":"a@example.com","primary":false},{"value":"b@example.com","primary":true}]}`,
		},
		{
			name:       "add an email that exists (other case) merges instead of duplicating",
			rs:         rsUser(),
			doc:        `{"emails":[{"value":"a@example.com","type":"work"}]}`,
			operations: `[{"op":"add","path":"emails","value":[{"value":"A@Example.com","type":"work","display":"A"}]}]`,
			want:       `{"emails":[{"value":"A@Example.com","type":"work","display":"A"}]}`,
		},
		{
			name:       "add the same address as another type keeps both",
			rs:         rsUser(),
			doc:        `{"emails":[{"value":"a@example.com","type":"work"}]}`,
			operations: `[{"op":"add","path":"emails","value":[{"value":"a@example.com","type":"home"}]}]`,
			want:       `{"emails":[{"value":"a@example.com","type":"work"},{"value":"a@example.com","type":"home"}]}`,
		},
		{
			name:       "replace a whole multi-valued attribute",
			rs:         rsUser(),
			doc:        patchUser,
			operations: `[{"op":"replace","path":"emails","value":[{"value":"only@example.com","type":"work","primary":true}]},{"op":"replace","path":"phoneNumbers","value":[]}]`,
			want: `{
				"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "userName": "jane@example.com",
				"name": {"givenName": "Jane", "familyName": "Doe"}, "active": true,
				"emails": [{"value": "only@example.com", "type": "work", "primary": true}]}`,
		},
		{
			name:       "remove emails[type eq \"work\"]",
			rs:         rsUser(),
			doc:        `{"emails":[{"value":"a@example.com","type":"work"},{"value":"b@example.com","type":"home"}]}`,
			operations: `[{"op":"remove","path":"emails[type eq \"work\"]"}]`,
			want:       `{"emails":[{"value":"b@example.com","type":"home"}]}`,
		},
		{
			name:       "remove emails[type eq \"work\"].value drops the element it empties",
			rs:         rsUser(),
			doc:        `{"emails":[{"value":"a@example.com","type":"work","primary":true},{"value":"b@example.com","type":"home"}]}`,
			operations: `[{"op":"remove","path":"emails[type eq \"work\"].value"}]`,
			want:       `{"emails":[{"value":"b@example.com","type":"home"}]}`,
		},
		{
			name:       "remove a sub-attribute on a filter keeps elements that still hold data",
			rs:         rsUser(),
			doc:        `{"addresses":[{"type":"work","locality":"L","streetAddress":"S"},{"type":"home","locality":"H"}]}`,
			operations: `[{"op":"remove","path":"addresses[type eq \"work\"].locality"},{"op":"remove","path":"addresses[type eq \"home\"].locality"}]`,
			want:       `{"addresses":[{"type":"work","streetAddress":"S"}]}`,
		},
		{
			name: "removing what is absent is a no-op",
			rs:   rsUser(),
			doc:  `{"userName":"a"}`,
			operations: `[
				{"op":"remove","path":"title"},
				{"op":"remove","path":"name.givenName"},
				{"op":"remove","path":"emails[type eq \"work\"]"},
				{"op":"remove","path":"emails[type eq \"work\"].value"},
				{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]`,
			want: `{"userName":"a"}`,
		},
		{
			name: "replace with null clears",
			rs:   rsUser(),
			doc:  `{"userName":"a","title":"T","emails":[{"value":"a@example.com"}]}`,
			ops:  []PatchOperation{patchOp(t, "replace", "title", "null"), patchOp(t, "replace", "emails", "null")},
			want: `{"userName":"a"}`,
		},
		{
			name: "value filter with a quote and a bracket in the compare value",
			rs:   rsUser(),
			doc:  `{"emails":[{"value":"a\"]b@example.com","type":"work"}]}`,
			ops:  []PatchOperation{patchOp(t, "replace", `emails[value eq "a\"]b@example.com"].display`, `"Q"`)},
			want: `{"emails":[{"value":"a\"]b@example.com","type":"work","display":"Q"}]}`,
		},
		{
			name: "a single object where an array belongs is taken as one element",
			rs:   rsUser(),
			doc:  `{"emails":{"value":"a@example.com","type":"work"}}`,
			ops:  []PatchOperation{patchOp(t, "add", `emails[type eq "work"].display`, `"A"`)},
			want: `{"emails":[{"value":"a@example.com","type":"work","display":"A"}]}`,
		},
		{
			name: "a scalar where an object belongs is replaced",
			rs:   rsUser(),
			doc:  `{"name":"Jane Doe"}`,
			ops:  []PatchOperation{patchOp(t, "add", "name.givenName", `"Jane"`)},
			want: `{"name":{"givenName":"Jane"}}`,
		},
		{
			name: "nil document",
			rs:   rsUser(),
			doc:  ``,
			ops:  []PatchOperation{patchOp(t, "add", "userName", `"a"`)},
			want: `{"userName":"a"}`,
		},
		{
			name: "operations apply in order",
			rs:   rsUser(),
			doc:  `{}`,
			ops:  []PatchOperation{patchOp(t, "add", "title", `"A"`), patchOp(t, "remove", "title", ""), patchOp(t, "add", "title", `"B"`)},
			want: `{"title":"B"}`,
		},
		{
			name: "externalId is writable",
			rs:   rsUser(),
			doc:  `{"externalId":"old"}`,
			ops:  []PatchOperation{patchOp(t, "replace", "externalId", `"new"`)},
			want: `{"externalId":"new"}`,
		},

		{
			name: "sub-attribute of every element: add, then remove",
			rs:   rsUser(),
			doc:  `{"emails":[{"value":"a@example.com","type":"work"},{"value":"b@example.com"}]}`,
			ops:  []PatchOperation{patchOp(t, "add", "emails.display", `"D"`), patchOp(t, "remove", "emails.type", "")},
			want: `{"emails":[{"value":"a@example.com","display":"D"},{"value":"b@example.com","display":"D"}]}`,
		},
		{
			name: "sub-attribute of every element on an empty attribute creates one element",
			rs:   rsUser(),
			doc:  `{}`,
			ops:  []PatchOperation{patchOp(t, "add", "emails.value", `"a@example.com"`)},
			want: `{"emails":[{"value":"a@example.com"}]}`,
		},
		{
			name: "removing every value drops the elements",
			rs:   rsUser(),
			doc:  `{"userName":"a","emails":[{"value":"a@example.com","type":"work"}]}`,
			ops:  []PatchOperation{patchOp(t, "remove", "emails.value", "")},
			want: `{"userName":"a"}`,
		},
		{
			name: "multi-valued simple attribute: add skips duplicates, filter replaces, value removes",
			rs:   rsUserWithTypes(),
			doc:  `{"urn:example:params:scim:schemas:extension:fsbridge:2.0:User":{"tags":["alpha","Beta"]}}`,
			ops: []PatchOperation{
				patchOp(t, "add", "tags", `["BETA","gamma"]`),
				patchOp(t, "replace", `tags[value eq "alpha"]`, `"delta"`),
				patchOp(t, "add", `tags[value eq "epsilon"]`, `"epsilon"`),
				patchOp(t, "remove", "tags", `["GAMMA"]`),
				patchOp(t, "remove", `tags[value sw "eps"]`, ""),
			},
			want: `{"urn:example:params:scim:schemas:extension:fsbridge:2.0:User":{"tags":["delta","Beta"]}}`,
		},
		{
			name: "numbers: strings become numbers, integers stay integers",
			rs:   rsUserWithTypes(),
			doc:  `{}`,
			ops: []PatchOperation{
				patchOp(t, "replace", "urn:example:params:scim:schemas:extension:fsbridge:2.0:User:level", `"7"`),
				patchOp(t, "replace", "urn:example:params:scim:schemas:extension:fsbridge:2.0:User:score", `"4.25"`),
				patchOp(t, "replace", "urn:example:params:scim:schemas:extension:fsbridge:2.0:User:hired", `"2020-02-29T09:00:00Z"`),
			},
			want: `{"urn:example:params:scim:schemas:extension:fsbridge:2.0:User":{"level":7,"score":4.25,"hired":"2020-02-29T09:00:00Z"}}`,
		},
		{
			name:    "a fraction is not an integer",
			rs:      rsUserWithTypes(),
			doc:     `{}`,
			ops:     []PatchOperation{patchOp(t, "replace", "urn:example:params:scim:schemas:extension:fsbridge:2.0:User:level", `7.5`)},
			wantErr: TypeInvalidValue,
		},
		{
			name: "remove with a value on an attribute without a value sub-attribute matches on what the item names",
			rs:   rsUser(),
			doc:  `{"addresses":[{"type":"work","locality":"L"},{"type":"home","locality":"H"}]}`,
			ops:  []PatchOperation{patchOp(t, "remove", "addresses", `[{"TYPE":"work"},{}]`)},
			want: `{"addresses":[{"type":"home","locality":"H"}]}`,
		},
		{
			name: "remove with a value matches members on value alone",
			rs:   rsUser(),
			doc:  `{"emails":[{"value":"a@example.com","type":"work"},{"value":"b@example.com","type":"home"}]}`,
			ops:  []PatchOperation{patchOp(t, "remove", "emails", `[{"value":"A@EXAMPLE.COM","type":"other"}]`)},
			want: `{"emails":[{"value":"b@example.com","type":"home"}]}`,
		},
		{
			name: "replace an element through a filter keeps the filter's type",
			rs:   rsUser(),
			doc:  `{"emails":[{"value":"a@example.com","type":"work","display":"A"},{"value":"b@example.com","type":"home"}]}`,
			ops:  []PatchOperation{patchOp(t, "replace", `emails[type eq "work"]`, `{"value":"c@example.com","primary":true}`)},
			want: `{"emails":[{"value":"c@example.com","type":"work","primary":true},{"value":"b@example.com","type":"home"}]}`,
		},
		{
			name: "add through a filter merges into the element",
			rs:   rsUser(),
			doc:  `{"emails":[{"value":"a@example.com","type":"work","display":"A"}]}`,
			ops:  []PatchOperation{patchOp(t, "add", `emails[type eq "work"]`, `[{"primary":true}]`)},
			want: `{"emails":[{"value":"a@example.com","type":"work","display":"A","primary":true}]}`,
		},

		// Errors.
		{name: "remove without a path", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "remove", "", "")}, wantErr: TypeNoTarget},
		{name: "entra remove without a path but with a value", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "Remove", "", `{"title":"x"}`)}, wantErr: TypeNoTarget},
		{name: "value filter on a single-valued attribute", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "remove", `name[givenName eq "x"]`, "")}, wantErr: TypeNoTarget},
		{name: "unknown attribute", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "add", "bogus", `"x"`)}, wantErr: TypeInvalidPath},
		{name: "unknown sub-attribute", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "add", "name.bogus", `"x"`)}, wantErr: TypeInvalidPath},
		{name: "sub-attribute of a simple attribute", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "add", "userName.x", `"x"`)}, wantErr: TypeInvalidPath},
		{name: "unknown attribute in a value filter", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "add", `emails[bogus eq "x"].value`, `"x"`)}, wantErr: TypeInvalidPath},
		{name: "unknown extension URN", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "add", "urn:example:ext:User:department", `"x"`)}, wantErr: TypeInvalidPath},
		{name: "unknown key in a path-less value", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "replace", "", `{"bogus":1}`)}, wantErr: TypeInvalidPath},
		{name: "unparseable key in a path-less value", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "replace", "", `{"not a path":1}`)}, wantErr: TypeInvalidPath},
		{name: "boolean that is not one", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "replace", "active", `"maybe"`)}, wantErr: TypeInvalidValue},
		{name: "number for a string", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "replace", "userName", `12`)}, wantErr: TypeInvalidValue},
		{name: "string for a complex attribute without value", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "replace", "name", `"Jane"`)}, wantErr: TypeInvalidValue},
		{name: "wrong type inside an element", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "add", "emails", `[{"value":"a","primary":"yes"}]`)}, wantErr: TypeInvalidValue},
		{name: "scalar value without a path", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "replace", "", `"x"`)}, wantErr: TypeInvalidValue},
		{name: "extension container that is not an object", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "replace", "", `{"`+enterpriseURN+`":"x"}`)}, wantErr: TypeInvalidValue},
		{name: "add without a value", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "add", "title", "")}, wantErr: TypeInvalidValue},
		{name: "add null to a filtered path", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "add", `emails[type eq "work"].value`, "null")}, wantErr: TypeInvalidValue},
		{name: "unknown op", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "copy", "title", `"x"`)}, wantErr: TypeInvalidValue},
		{name: "id is read-only", rs: rsUser(), doc: `{"id":"u1"}`, ops: []PatchOperation{patchOp(t, "replace", "id", `"u2"`)}, wantErr: TypeMutability},
		{name: "meta is read-only", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "remove", "meta.lastModified", "")}, wantErr: TypeMutability},
		{name: "manager.displayName is read-only", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "add", enterpriseURN+":manager.displayName", `"x"`)}, wantErr: TypeMutability},
		{name: "schemas is immutable", rs: rsUser(), doc: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`, ops: []PatchOperation{patchOp(t, "replace", "schemas", `["x"]`)}, wantErr: TypeMutability},
		{name: "error stops the request: the earlier operations are not returned", rs: rsUser(), doc: `{}`, ops: []PatchOperation{patchOp(t, "add", "title", `"x"`), patchOp(t, "add", "bogus", `"x"`)}, wantErr: TypeInvalidPath},
	})
}

const patchGroup = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
	"id": "g1",
	"displayName": "Engineering",
	"members": [
		{"value": "u1", "display": "one@example.com"},
		{"value": "u2", "display": "two@example.com"},
		{"value": "u3"}
	]
}`

func TestApplyPatchGroup(t *testing.T) {
	runPatchCases(t, []patchCase{
		{
			name:       "okta rename: id inside the replace value is ignored",
			rs:         rsGroup(),
			doc:        `{"id":"g1","displayName":"Old","members":[{"value":"u1"}]}`,
			operations: `[{"op":"replace","value":{"id":"abf4dd94-a4c0-4f67-89c9-76b03340cb9b","displayName":"Test SCIMv2"}}]`,
			want:       `{"id":"g1","displayName":"Test SCIMv2","members":[{"value":"u1"}]}`,
		},
		{
			name: "okta rename built by hand: id is still ignored",
			rs:   rsGroup(),
			doc:  `{"id":"g1","displayName":"Old"}`,
			ops:  []PatchOperation{patchOp(t, "replace", "", `{"Id":"other","displayName":"New"}`)},
			want: `{"id":"g1","displayName":"New"}`,
		},
		{
			name: "okta membership: removes and adds in one request",
			rs:   rsGroup(),
			doc:  patchGroup,
			operations: `[
				{"op":"remove","path":"members[value eq \"u1\"]"},
				{"op":"remove","path":"members[value eq \"u3\"]"},
				{"op":"add","path":"members","value":[{"value":"u4","display":"four@example.com"},{"value":"u5","display":"five@example.com"}]}]`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Engineering","members":[
				{"value":"u2","display":"two@example.com"},{"value":"u4","display":"four@example.com"},{"value":"u5","display":"five@example.com"}]}`,
		},
		{
			name:       "okta push now: replace members",
			rs:         rsGroup(),
			doc:        patchGroup,
			operations: `[{"op":"replace","path":"members","value":[{"value":"u9","display":"nine@example.com"}]}]`,
			want:       `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Engineering","members":[{"value":"u9","display":"nine@example.com"}]}`,
		},
		{
			name:       "okta replace members with an empty list clears them",
			rs:         rsGroup(),
			doc:        patchGroup,
			operations: `[{"op":"replace","path":"members","value":[]}]`,
			want:       `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Engineering"}`,
		},
		{
			name:       "path-less replace with empty members clears them",
			rs:         rsGroup(),
			doc:        patchGroup,
			operations: `[{"op":"replace","value":{"members":[]}}]`,
			want:       `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Engineering"}`,
		},
		{
			name: "replace members with null clears them",
			rs:   rsGroup(),
			doc:  patchGroup,
			ops:  []PatchOperation{patchOp(t, "replace", "members", "null")},
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Engineering"}`,
		},
		{
			name:       "entra Add members with a null $ref, several in one operation",
			rs:         rsGroup(),
			doc:        `{"displayName":"G"}`,
			operations: `[{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"},{"$ref":null,"value":"a1"}]}]`,
			want:       `{"displayName":"G","members":[{"value":"f648f8d5ea4e4cd38e9c"},{"value":"a1"}]}`,
		},
		{
			name:       "entra Remove members with a value array removes only those",
			rs:         rsGroup(),
			doc:        patchGroup,
			operations: `[{"op":"Remove","path":"members","value":[{"value":"u1"},{"value":"u3"}]}]`,
			want:       `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Engineering","members":[{"value":"u2","display":"two@example.com"}]}`,
		},
		{
			name:       "entra Remove members with $ref and a single object",
			rs:         rsGroup(),
			doc:        patchGroup,
			operations: `[{"op":"Remove","path":"members","value":{"$ref":null,"value":"u2"}}]`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Engineering","members":[
				{"value":"u1","display":"one@example.com"},{"value":"u3"}]}`,
		},
		{
			name:       "remove members with an empty value array removes nobody",
			rs:         rsGroup(),
			doc:        patchGroup,
			operations: `[{"op":"Remove","path":"members","value":[]}]`,
			want:       patchGroup,
		},
		{
			name:       "remove members of someone not in the group is a no-op",
			rs:         rsGroup(),
			doc:        patchGroup,
			operations: `[{"op":"Remove","path":"members","value":[{"value":"nobody"}]},{"op":"remove","path":"members[value eq \"nobody\"]"}]`,
			want:       patchGroup,
		},
		{
			name:       "add members with an empty list changes nothing",
			rs:         rsGroup(),
			doc:        patchGroup,
			operations: `[{"op":"add","path":"members","value":[]}]`,
			want:       patchGroup,
		},
		{
			name:       "remove members without a value removes them all",
			rs:         rsGroup(),
			doc:        patchGroup,
			operations: `[{"op":"remove","path":"members"}]`,
			want:       `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Engineering"}`,
		},
		{
			name: "jumpcloud repeats add-member: idempotent",
			rs:   rsGroup(),
			doc:  `{"displayName":"G","members":[{"value":"u1"}]}`,
			operations: `[
				{"op":"add","path":"members","value":[{"value":"u1"}]},
				{"op":"add","path":"members","value":[{"value":"u2"}]},
				{"op":"add","path":"members","value":[{"value":"u2"},{"value":"u1"}]}]`,
			want: `{"displayName":"G","members":[{"value":"u1"},{"value":"u2"}]}`,
		},
		{
			name:       "re-adding a member with another display keeps the immutable display",
			rs:         rsGroup(),
			doc:        `{"members":[{"value":"u1","display":"old"},{"value":"u2"}]}`,
			operations: `[{"op":"add","path":"members","value":[{"value":"u1","display":"new"},{"value":"u2","display":"two"}]}]`,
			want:       `{"members":[{"value":"u1","display":"old"},{"value":"u2","display":"two"}]}`,
		},
		{
			name:       "add members[value eq \"id\"] creates the member",
			rs:         rsGroup(),
			doc:        `{"displayName":"G"}`,
			operations: `[{"op":"add","path":"members[value eq \"u7\"]","value":{"value":"u7","display":"seven"}}]`,
			want:       `{"displayName":"G","members":[{"value":"u7","display":"seven"}]}`,
		},
		{
			name:       "entra Replace displayName",
			rs:         rsGroup(),
			doc:        `{"displayName":"G"}`,
			operations: `[{"op":"Replace","path":"displayName","value":"1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]`,
			want:       `{"displayName":"1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}`,
		},
		{
			name: "password on a group is dropped",
			rs:   rsGroup(),
			doc:  `{"displayName":"G"}`,
			ops:  []PatchOperation{patchOp(t, "replace", "", `{"password":"x","displayName":"H"}`)},
			want: `{"displayName":"H"}`,
		},
		{
			name:    "changing the immutable display of a member",
			rs:      rsGroup(),
			doc:     patchGroup,
			ops:     []PatchOperation{patchOp(t, "replace", `members[value eq "u1"].display`, `"other"`)},
			wantErr: TypeMutability,
		},
		{
			name: "setting the display of a member that has none is allowed",
			rs:   rsGroup(),
			doc:  `{"members":[{"value":"u3"}]}`,
			ops:  []PatchOperation{patchOp(t, "replace", `members[value eq "u3"].display`, `"three"`)},
			want: `{"members":[{"value":"u3","display":"three"}]}`,
		},
		{
			name:    "members must be objects",
			rs:      rsGroup(),
			doc:     `{}`,
			ops:     []PatchOperation{patchOp(t, "add", "members", `[1]`)},
			wantErr: TypeInvalidValue,
		},
		{
			name: "members given as bare ids",
			rs:   rsGroup(),
			doc:  `{}`,
			ops:  []PatchOperation{patchOp(t, "add", "members", `["u1","u2"]`)},
			want: `{"members":[{"value":"u1"},{"value":"u2"}]}`,
		},
	})
}

// Real IdP requests read by the edge and then applied by ApplyPatch, in the style of
// elimity's internal/idp_test: testdata/patch/<idp>_<case>.json holds {description, resource,
// before, request, after}. Run with -update-patch-golden to rewrite "after" from the current code.
func TestApplyPatchGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "patch", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files under testdata/patch")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var g struct {
				Description string          `json:"description"`
				Resource    string          `json:"resource"`
				Before      json.RawMessage `json:"before"`
				Request     json.RawMessage `json:"request"`
				After       json.RawMessage `json:"after"`
			}
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			rs, endpoint := rsUser(), "/Users/u1"
			if g.Resource == "Group" {
				rs, endpoint = rsGroup(), "/Groups/g1"
			}
			ops, serr := edgePatchOps(t, endpoint, g.Request)
			if serr != nil {
				t.Fatalf("the edge rejected the request: %v", serr)
			}
			got, err := ApplyPatch(decodeDoc(t, string(g.Before)), ops, rs)
			if err != nil {
				t.Fatalf("ApplyPatch: %v", err)
			}
			if *updatePatchGolden {
				var out map[string]any
				if err := json.Unmarshal(raw, &out); err != nil {
					t.Fatal(err)
				}
				out["after"] = got
				b, err := json.MarshalIndent(out, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(jsonNormal(t, decodeDoc(t, string(g.After))), jsonNormal(t, got)); diff != "" {
				t.Errorf("%s: mismatch (-want +got):\n%s", g.Description, diff)
			}
		})
	}
}

// What the edge refuses in a PATCH body before the backend is called, and what it lets through
// that a stricter reading would refuse (the IdP dialects, normalised by NormalizePatch).
func TestEdgePatchReading(t *testing.T) {
	for _, tt := range []struct {
		name, endpoint, operations string
		scimType                   string // "" when the edge accepts the body
	}{
		{"no operations", "/Users/u1", `[]`, TypeInvalidValue},
		{"an operation that is not an object", "/Users/u1", `["replace"]`, TypeInvalidValue},
		{"an unknown op", "/Users/u1", `[{"op":"merge","path":"title","value":"x"}]`, TypeInvalidValue},
		{"a path that is not a string", "/Users/u1", `[{"op":"replace","path":5,"value":"x"}]`, TypeInvalidPath},
		{"an unknown attribute", "/Users/u1", `[{"op":"replace","path":"shoeSize","value":"42"}]`, TypeInvalidPath},
		{"an unknown sub-attribute", "/Users/u1", `[{"op":"replace","path":"name.middle","value":"x"}]`, TypeInvalidPath},
		{"not a path", "/Users/u1", `[{"op":"replace","path":"emails[type eq","value":"x"}]`, TypeInvalidPath},
		{"a value filter on a single-valued attribute", "/Users/u1", `[{"op":"replace","path":"title[value eq \"x\"]","value":"y"}]`, TypeNoTarget},
		{"remove without path", "/Users/u1", `[{"op":"remove"}]`, TypeNoTarget},
		{"add without a value", "/Users/u1", `[{"op":"add","path":"title"}]`, TypeInvalidValue},
		{"add with null", "/Groups/g1", `[{"op":"add","path":"members","value":null}]`, TypeInvalidValue},
		{"a path-less value that is not an object", "/Users/u1", `[{"op":"replace","value":"x"}]`, TypeInvalidValue},
		// Accepted: the dialects.
		{"entra manager string", "/Users/u1", `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"2c2f"}]`, ""},
		{"path-less meta and schemas echoed", "/Users/u1", `[{"op":"replace","value":{"meta":{"resourceType":"User"},"schemas":["x"],"title":"T"}}]`, ""},
		{"extension container key in another case", "/Users/u1", `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user":{"department":"D"}}}]`, ""},
		{"replace members with null clears them", "/Groups/g1", `[{"op":"replace","path":"members","value":null}]`, ""},
		{"capitalised op", "/Users/u1", `[{"op":"Replace","path":"active","value":"False"}]`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ops, serr := edgePatchOps(t, tt.endpoint, patchBody(tt.operations))
			if tt.scimType == "" {
				if serr != nil {
					t.Fatalf("refused: %v", serr)
				}
				if len(ops) == 0 {
					t.Fatal("no operations")
				}
				return
			}
			if serr == nil {
				t.Fatalf("accepted %s as %+v", tt.operations, ops)
			}
			if serr.Status != http.StatusBadRequest || serr.ScimType != tt.scimType {
				t.Errorf("answered %d %q (%s), want 400 %q", serr.Status, serr.ScimType, serr.Detail, tt.scimType)
			}
		})
	}
}

// What the edge hands the backend for the shapes the engine must handle.
func TestEdgePatchShapes(t *testing.T) {
	t.Run("sub-attribute of a plain path is in AttributePath", func(t *testing.T) {
		for _, path := range []string{"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", "name.givenName"} {
			ops, serr := edgePatchOps(t, "/Users/u1", patchBody(`[{"op":"replace","path":"`+path+`","value":"m"}]`))
			if serr != nil {
				t.Fatal(serr)
			}
			p := ops[0].Path
			if p.AttributePath.SubAttributeName() == "" || p.SubAttribute != nil || p.ValueExpression != nil {
				t.Errorf("%s: path = %#v", path, p)
			}
		}
	})
	t.Run("a replace with null becomes a remove", func(t *testing.T) {
		ops, serr := edgePatchOps(t, "/Users/u1", patchBody(`[{"op":"replace","path":"title","value":null}]`))
		if serr != nil {
			t.Fatal(serr)
		}
		if ops[0].Op != PatchRemove || ops[0].Value != nil {
			t.Errorf("op %+v", ops[0])
		}
	})
	t.Run("remove with a single object value removes that member only", func(t *testing.T) {
		ops, serr := edgePatchOps(t, "/Groups/g1", patchBody(`[{"op":"Remove","path":"members","value":{"value":"u1"}}]`))
		if serr != nil {
			t.Fatal(serr)
		}
		got, err := ApplyPatch(decodeDoc(t, `{"displayName":"G","members":[{"value":"u1"},{"value":"u2"}]}`), ops, rsGroup())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(jsonNormal(t, decodeDoc(t, `{"displayName":"G","members":[{"value":"u2"}]}`)), jsonNormal(t, got)); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})
}

// The input document is never modified, whatever the operations do to the copy.
func TestApplyPatchDoesNotMutateInput(t *testing.T) {
	doc := decodeDoc(t, patchUser)
	doc[enterpriseURN] = map[string]any{"manager": map[string]any{"value": "m1"}}
	before := jsonNormal(t, doc)
	ops := []PatchOperation{
		patchOp(t, "replace", `emails[type eq "work"].value`, `"x@example.com"`),
		patchOp(t, "add", "emails", `[{"value":"n@example.com","primary":true}]`),
		patchOp(t, "remove", `phoneNumbers[type eq "mobile"]`, ""),
		patchOp(t, "remove", "name.givenName", ""),
		patchOp(t, "replace", enterpriseURN+":manager.value", `"m2"`),
	}
	got, err := ApplyPatch(doc, ops, rsUser())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, jsonNormal(t, doc)); diff != "" {
		t.Errorf("input modified (-before +after):\n%s", diff)
	}
	if cmp.Equal(before, jsonNormal(t, got)) {
		t.Error("result equals the input; the operations were not applied")
	}
}

func FuzzApplyPatch(f *testing.F) {
	f.Add(patchUser, `[{"op":"replace","path":"emails[type eq \"work\"].value","value":"x"}]`)
	f.Add(patchUser, `[{"op":"add","value":{"name.givenName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"1"}}]`)
	f.Add(patchUser, `[{"op":"remove","path":"emails[type eq \"work\"].value"},{"op":"remove","path":"name"}]`)
	f.Add(patchGroup, `[{"op":"Remove","path":"members","value":[{"value":"u1"}]},{"op":"add","path":"members","value":[{"value":"u9"}]}]`)
	f.Add(patchGroup, `[{"op":"replace","path":"members","value":null},{"op":"replace","value":{"id":"x","displayName":"y"}}]`)
	f.Add(`{"emails":"x","name":5,"members":{"value":1}}`, `[{"op":"add","path":"emails[primary eq true].value","value":"x"},{"op":"add","path":"name.givenName","value":"x"}]`)
	f.Add(`{}`, `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"manager":""}}]`)
	f.Add(`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":"x"}`, `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"}]`)
	f.Add(`{}`, `[{"op":"add","path":"emails[not (type eq \"work\")].display","value":"x"},{"op":"replace","path":"x509Certificates","value":[{"value":"!!"}]}]`)
	f.Fuzz(func(t *testing.T, docJSON, opsJSON string) {
		var doc map[string]any
		d := json.NewDecoder(strings.NewReader(docJSON))
		d.UseNumber()
		if d.Decode(&doc) != nil {
			return
		}
		var raw []struct {
			Op    string          `json:"op"`
			Path  string          `json:"path"`
			Value json.RawMessage `json:"value"`
		}
		if json.Unmarshal([]byte(opsJSON), &raw) != nil {
			return
		}
		ops := make([]PatchOperation, 0, len(raw))
		for _, r := range raw {
			o := PatchOperation{Op: r.Op}
			if r.Path != "" {
				p, err := filter.ParsePath([]byte(r.Path))
				if err != nil {
					continue
				}
				o.Path = &p
			}
			if len(r.Value) > 0 {
				vd := json.NewDecoder(bytes.NewReader(r.Value))
				vd.UseNumber()
				if vd.Decode(&o.Value) != nil {
					continue
				}
			}
			ops = append(ops, o)
		}
		before, err := json.Marshal(doc)
		if err != nil {
			return
		}
		for _, rs := range []ResourceSchema{rsUser(), rsGroup()} {
			got, err := ApplyPatch(doc, ops, rs)
			if after, _ := json.Marshal(doc); string(after) != string(before) {
				t.Fatalf("input modified:\nbefore %s\nafter  %s", before, after)
			}
			if err != nil {
				var se *Error
				if !errors.As(err, &se) || se.Status != http.StatusBadRequest {
					t.Fatalf("error %v is not a 400 SCIM error", err)
				}
				continue
			}
			if _, err := json.Marshal(got); err != nil {
				t.Fatalf("result does not marshal: %v", err)
			}
		}
	})
}
