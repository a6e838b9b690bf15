package scim

import (
	"testing"

	"github.com/elimity-com/scim/schema"
	"github.com/google/go-cmp/cmp"
)

const projectUser = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
	"id": "u1",
	"externalId": "e1",
	"meta": {"resourceType": "User", "location": "Users/u1"},
	"userName": "jane@example.com",
	"displayName": "Jane Doe",
	"password": "secret",
	"name": {"givenName": "Jane", "familyName": "Doe"},
	"emails": [{"value": "jane@example.com", "type": "work", "primary": true}, {"value": "jd@home.example", "type": "home"}],
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng", "manager": {"value": "m1", "displayName": "Boss"}}
}`

const projectGroup = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
	"id": "g1",
	"displayName": "Engineering",
	"meta": {"resourceType": "Group"},
	"members": [{"value": "u1", "display": "one"}]
}`

func TestProject(t *testing.T) {
	tests := []struct {
		name       string
		rs         ResourceSchema
		doc        string
		attributes []string
		excluded   []string
		want       string
	}{
		{
			name: "no parameters: everything but password",
			rs:   rsUser(),
			doc:  projectUser,
			want: `{
				"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
				"id": "u1", "externalId": "e1", "meta": {"resourceType": "User", "location": "Users/u1"},
				"userName": "jane@example.com", "displayName": "Jane Doe", "name": {"givenName": "Jane", "familyName": "Doe"},
				"emails": [{"value": "jane@example.com", "type": "work", "primary": true}, {"value": "jd@home.example", "type": "home"}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng", "manager": {"value": "m1", "displayName": "Boss"}}}`,
		},
		{
			name:       "attributes keeps id, schemas and meta",
			rs:         rsUser(),
			doc:        projectUser,
			attributes: []string{"userName"},
			want:       `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"], "id": "u1", "meta": {"resourceType": "User", "location": "Users/u1"}, "userName": "jane@example.com"}`,
		},
		{
			name:       "comma-separated list with spaces, other cases",
			rs:         rsUser(),
			doc:        projectUser,
			attributes: []string{"USERNAME, displayname", " externalId"},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"], "id": "u1", "meta": {"resourceType": "User", "location": "Users/u1"},
				"userName": "jane@example.com", "displayName": "Jane Doe", "externalId": "e1"}`,
		},
		{
			name:       "sub-attributes",
			rs:         rsUser(),
			doc:        projectUser,
			attributes: []string{"name.givenName,emails.value"},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"], "id": "u1", "meta": {"resourceType": "User", "location": "Users/u1"},
				"name": {"givenName": "Jane"}, "emails": [{"value": "jane@example.com"}, {"value": "jd@home.example"}]}`,
		},
		{
			name:       "a whole attribute wins over its sub-attribute",
			rs:         rsUser(),
			doc:        projectUser,
			attributes: []string{"name.givenName", "name"},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"], "id": "u1", "meta": {"resourceType": "User", "location": "Users/u1"},
				"name": {"givenName": "Jane", "familyName": "Doe"}}`,
		},
		{
			name:       "URN-prefixed extension attribute",
			rs:         rsUser(),
			doc:        projectUser,
			attributes: []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"], "id": "u1", "meta": {"resourceType": "User", "location": "Users/u1"},
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m1"}}}`,
		},
		{
			name:       "bare extension URN",
			rs:         rsUser(),
			doc:        projectUser,
			attributes: []string{"userName", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"], "id": "u1", "meta": {"resourceType": "User", "location": "Users/u1"},
				"userName": "jane@example.com",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng", "manager": {"value": "m1", "displayName": "Boss"}}}`,
		},
		{
			name:       "password is never returned, even when asked for",
			rs:         rsUser(),
			doc:        projectUser,
			attributes: []string{"password", "userName"},
			want:       `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"], "id": "u1", "meta": {"resourceType": "User", "location": "Users/u1"}, "userName": "jane@example.com"}`,
		},
		{
			name:       "unknown attributes are ignored",
			rs:         rsUser(),
			doc:        projectUser,
			attributes: []string{"bogus", "name.bogus"},
			want:       `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"], "id": "u1", "meta": {"resourceType": "User", "location": "Users/u1"}}`,
		},
		{
			name:     "entra excludedAttributes=members",
			rs:       rsGroup(),
			doc:      projectGroup,
			excluded: []string{"members"},
			want:     `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Engineering", "meta": {"resourceType": "Group"}}`,
		},
		{
			name:     "excludedAttributes never removes id or schemas",
			rs:       rsGroup(),
			doc:      projectGroup,
			excluded: []string{"id,schemas", "Members", "meta"},
			want:     `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Engineering"}`,
		},
		{
			name:     "excluded sub-attributes and extension attributes",
			rs:       rsUser(),
			doc:      projectUser,
			excluded: []string{"name.familyName, emails.type, emails.primary", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "department"},
			want: `{
				"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
				"id": "u1", "externalId": "e1", "meta": {"resourceType": "User", "location": "Users/u1"},
				"userName": "jane@example.com", "displayName": "Jane Doe", "name": {"givenName": "Jane"},
				"emails": [{"value": "jane@example.com"}, {"value": "jd@home.example"}]}`,
		},
		{
			name:     "excluding the bare extension URN",
			rs:       rsUser(),
			doc:      `{"id":"u1","userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Eng"}}`,
			excluded: []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
			want:     `{"id":"u1","userName":"a"}`,
		},
		{
			name:       "attributes and excludedAttributes together",
			rs:         rsGroup(),
			doc:        projectGroup,
			attributes: []string{"displayName,members"},
			excluded:   []string{"members"},
			want:       `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Engineering", "meta": {"resourceType": "Group"}}`,
		},
		{
			name:       "non-canonical keys in the document come out canonical",
			rs:         rsUser(),
			doc:        `{"ID":"u1","USERNAME":"a","Name":{"GIVENNAME":"A"}}`,
			attributes: []string{"name.givenName"},
			want:       `{"id":"u1","name":{"givenName":"A"}}`,
		},
		{
			name:       "a password on a group is dropped too",
			rs:         rsGroup(),
			doc:        `{"id":"g1","displayName":"G","Password":"x"}`,
			attributes: []string{"password", "displayName"},
			want:       `{"id":"g1","displayName":"G"}`,
		},
		{
			name:       "empty and blank lists are no parameters",
			rs:         rsGroup(),
			doc:        projectGroup,
			attributes: []string{"", " , "},
			excluded:   []string{","},
			want:       projectGroup,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := decodeDoc(t, tt.doc)
			before := jsonNormal(t, doc)
			got := Project(doc, tt.attributes, tt.excluded, tt.rs)
			if diff := cmp.Diff(jsonNormal(t, decodeDoc(t, tt.want)), jsonNormal(t, got)); diff != "" {
				t.Errorf("Project mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, jsonNormal(t, doc)); diff != "" {
				t.Errorf("Project modified its input (-before +after):\n%s", diff)
			}
		})
	}
}

// returned:"always" and returned:"request" attributes of a schema are honoured, not just the
// common id/schemas/meta.
func TestProjectReturnedCharacteristics(t *testing.T) {
	core := schema.CoreGroupSchema()
	core.Attributes = append(core.Attributes,
		schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "tenant", Returned: schema.AttributeReturnedAlways()})),
		schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "audit", Returned: schema.AttributeReturnedRequest()})),
	)
	rs := ResourceSchema{Core: core}
	doc := decodeDoc(t, `{"id":"g1","displayName":"G","tenant":"t1","audit":"a1"}`)
	for _, tt := range []struct {
		name                 string
		attributes, excluded []string
		want                 string
	}{
		{name: "request attribute hidden by default", want: `{"id":"g1","displayName":"G","tenant":"t1"}`},
		{name: "request attribute returned when asked for", attributes: []string{"audit"}, want: `{"id":"g1","tenant":"t1","audit":"a1"}`},
		{name: "always attribute cannot be excluded", excluded: []string{"tenant,displayName"}, want: `{"id":"g1","tenant":"t1"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Project(doc, tt.attributes, tt.excluded, rs)
			if diff := cmp.Diff(jsonNormal(t, decodeDoc(t, tt.want)), jsonNormal(t, got)); diff != "" {
				t.Errorf("Project mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
