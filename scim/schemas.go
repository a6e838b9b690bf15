package scim

import (
	"slices"
	"sort"
	"strings"

	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// Schema URNs the edge serves.
const (
	URNUser         = "urn:ietf:params:scim:schemas:core:2.0:User"
	URNGroup        = "urn:ietf:params:scim:schemas:core:2.0:Group"
	URNEnterprise   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	URNFreshservice = "urn:ietf:params:scim:schemas:extension:freshservice:2.0:User"
	URNPatchOp      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	URNListResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	URNError        = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// FreshserviceUserExtension is the schema of the Freshservice extension
// (URNFreshservice, the URN the Freshservice marketplace SCIM apps use):
// what the core and enterprise schemas cannot say about a Freshservice user.
func FreshserviceUserExtension() schema.Schema {
	str := func(name, desc string, m schema.AttributeMutability, canonical ...string) schema.CoreAttribute {
		return schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
			Name: name, Description: optional.NewString(desc), Mutability: m, CanonicalValues: canonical,
		}))
	}
	boolean := func(name, desc string) schema.CoreAttribute {
		return schema.SimpleCoreAttribute(schema.SimpleBooleanParams(schema.BooleanParams{
			Name: name, Description: optional.NewString(desc), Mutability: schema.AttributeMutabilityReadWrite(),
		}))
	}
	rw := schema.AttributeMutabilityReadWrite()
	return schema.Schema{
		ID:          URNFreshservice,
		Name:        optional.NewString("Freshservice User"),
		Description: optional.NewString("Freshservice fields of a user, and the IdP's say on whether they are an agent."),
		Attributes: []schema.CoreAttribute{
			str("userType", "agent or requester. agent makes the user an agent through the role rules named in roles (or the default agent rule); requester keeps them a requester.", rw, "agent", "requester"),
			boolean("isAgent", "true means userType agent (the attribute the Freshservice marketplace Entra app maps)."),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name: "roles", MultiValued: true, Mutability: rw,
				Description: optional.NewString("Names of role rules (or role values) that make this user an agent."),
			})),
			str("agentType", "fulltime or occasional when the user is an agent in Freshservice; absent for requesters. Read-only.", schema.AttributeMutabilityReadOnly(), "fulltime", "occasional"),
			str("location", "Freshservice location, by name.", rw),
			str("timeFormat", "12h or 24h.", rw, "12h", "24h"),
			str("backgroundInformation", "Freshservice background information.", rw),
			boolean("canSeeAllTicketsFromAssociatedDepartments", "Whether the user can see every ticket of their departments."),
		},
	}
}

// UserSchema is the resource schema of /Users with its extensions: the
// enterprise and Freshservice ones, and any extra (CustomExtension).
func UserSchema(extra ...schema.Schema) ResourceSchema {
	return ResourceSchema{
		Core:       schema.CoreUserSchema(),
		Extensions: append([]schema.Schema{schema.ExtensionEnterpriseUser(), FreshserviceUserExtension()}, extra...),
	}
}

// Attribute types of a CustomExtension.
const (
	TypeString  = "string"
	TypeInteger = "integer"
	TypeDecimal = "decimal"
	TypeBoolean = "boolean"
)

// CustomExtension is the schema of an extension the IdP sends and the
// configuration maps to Freshservice custom fields: its attributes by name
// ("name", or "name.sub" for a sub-attribute of a complex one) and type
// (TypeString, TypeInteger, TypeDecimal, TypeBoolean; strings holding a
// number or a boolean are accepted for those, as for every attribute).
func CustomExtension(urn string, attrs map[string]string) schema.Schema {
	rw := schema.AttributeMutabilityReadWrite()
	desc := optional.NewString("Sent to a Freshservice custom field, by configuration.")
	simple := func(name, typ string) schema.SimpleParams {
		switch typ {
		case TypeInteger:
			return schema.SimpleNumberParams(schema.NumberParams{Name: name, Type: schema.AttributeTypeInteger(), Mutability: rw, Description: desc})
		case TypeDecimal:
			return schema.SimpleNumberParams(schema.NumberParams{Name: name, Type: schema.AttributeTypeDecimal(), Mutability: rw, Description: desc})
		case TypeBoolean:
			return schema.SimpleBooleanParams(schema.BooleanParams{Name: name, Mutability: rw, Description: desc})
		}
		return schema.SimpleStringParams(schema.StringParams{Name: name, Mutability: rw, Description: desc})
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	var top []string
	subs := map[string][]schema.SimpleParams{}
	for _, n := range names {
		head, rest, complex := strings.Cut(n, ".")
		if !slices.Contains(top, head) {
			top = append(top, head)
		}
		if complex {
			subs[head] = append(subs[head], simple(rest, attrs[n]))
		}
	}
	s := schema.Schema{ID: urn, Name: optional.NewString(urn[strings.LastIndex(urn, ":")+1:]), Description: optional.NewString("An extension whose attributes the configuration maps to Freshservice custom fields.")}
	for _, name := range top {
		if sp, ok := subs[name]; ok {
			s.Attributes = append(s.Attributes, schema.ComplexCoreAttribute(schema.ComplexParams{Name: name, Mutability: rw, SubAttributes: sp}))
			continue
		}
		s.Attributes = append(s.Attributes, schema.SimpleCoreAttribute(simple(name, attrs[name])))
	}
	return s
}

// GroupSchema is the resource schema of /Groups.
func GroupSchema() ResourceSchema {
	return ResourceSchema{Core: schema.CoreGroupSchema()}
}
