package scim

import (
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

// UserSchema is the resource schema of /Users with its extensions.
func UserSchema() ResourceSchema {
	return ResourceSchema{
		Core:       schema.CoreUserSchema(),
		Extensions: []schema.Schema{schema.ExtensionEnterpriseUser(), FreshserviceUserExtension()},
	}
}

// GroupSchema is the resource schema of /Groups.
func GroupSchema() ResourceSchema {
	return ResourceSchema{Core: schema.CoreGroupSchema()}
}
