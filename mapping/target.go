package mapping

import "fmt"

// UserTarget is the Freshservice state a user should have, with what was decided on the way.
type UserTarget struct {
	Target
	// Rules are the names of the role rules the user matches.
	Rules []string
	// FullTime is what the rules ask: a full-time agent. Agent.Occasional may say otherwise while
	// Freshservice has no seat for the user (Downgraded).
	FullTime bool
	// Downgraded: the rules ask for full-time, but the user is kept occasional, as Freshservice
	// made it for want of a seat.
	Downgraded bool
}

// TargetInput is what a user's target is decided from.
type TargetInput struct {
	// Profile is the user's Freshservice profile, from its desired document (ProfileFromSCIM and
	// the configured extras).
	Profile Profile
	// Doc is the desired document: its roles and the Freshservice extension are read by the rules.
	Doc Doc
	// Deleted is set when the user was deleted over SCIM.
	Deleted bool
	// Applied is what the bridge last applied for the user.
	Applied Applied
	// Rules are the rules, resolved to Freshservice ids.
	Rules *Rules
	// Groups are the SCIM groups the user is in.
	Groups []GroupRef
	// ForgetOnDelete erases a user deleted over SCIM instead of deactivating it.
	ForgetOnDelete bool
	// NoAgentExternalID leaves external_id out of agent bodies (see Target).
	NoAgentExternalID bool
	// FullTimeAgents is the number of full-time agents the account has now. It is read only when
	// Applied.Downgraded is set, to decide whether the downgrade holds (HoldDowngrade).
	FullTimeAgents int
}

// DecideTarget decides the Freshservice state a user should have: its profile (inactive once
// deleted over SCIM), what the rules make of its groups and roles (DecideAccess; leaving the last
// role group may deactivate it), and, for a full-time agent Freshservice kept occasional for want
// of a seat, whether it stays so. It fails with DecideAccess's *AttrError when the document asks
// for an agent the rules cannot make.
func DecideTarget(in TargetInput) (UserTarget, error) {
	var t UserTarget
	t.Profile = in.Profile
	if in.Deleted {
		t.Profile.Active = false
		t.Profile.Set |= FieldActive
	}
	t.ManagedRoles = in.Rules.ManagedRoles
	t.ManagedAgentGroups = in.Rules.ManagedAgentGroups
	t.Forget = in.Deleted && in.ForgetOnDelete
	t.NoAgentExternalID = in.NoAgentExternalID
	access, err := DecideAccess(in.Rules, in.Groups, in.Doc, in.Applied, in.Deleted)
	if err != nil {
		return t, err
	}
	t.Kind, t.Agent, t.Rules = access.Kind, access.Agent, access.Rules
	t.MemberOf, t.ObserverOf, t.RequesterGroups = access.MemberOf, access.ObserverOf, access.RequesterGroups
	if access.Deactivate {
		t.Profile.Active = false
		t.Profile.Set |= FieldActive
	}
	if t.Kind == KindAgent && !t.Agent.Occasional {
		t.FullTime = true
		if in.Applied.Downgraded != nil && HoldDowngrade(in.Applied.Downgraded, t.Rules, in.FullTimeAgents) {
			t.Agent.Occasional, t.Downgraded = true, true
		}
	}
	return t, nil
}

// CheckOwnManager refuses a profile that names user id (0 for a user not created yet) as its own
// manager.
func CheckOwnManager(id int64, p Profile) error {
	if id != 0 && p.ReportingManagerID == id {
		return &AttrError{Attr: URNEnterprise + ":manager", Reason: fmt.Sprintf("a user cannot be their own manager (id %d)", id)}
	}
	return nil
}
