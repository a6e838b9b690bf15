package simulator

import (
	"maps"
	"slices"
	"time"
)

// User is one row of the single user table that backs both the requester and
// the agent views (reference §4.6): agents and requesters share ids, and
// converting one into the other keeps the id.
//
// Plain values are used throughout: a blank string and a zero id or time are
// what the API renders as null. Slices are never shared with the server's
// state; every User handed out is a copy.
type User struct {
	ID int64
	// IsAgent is true for agents; the agent view shows only these users.
	IsAgent bool
	// Occasional is meaningful for agents only; an active agent that is not
	// occasional uses a full-time seat.
	Occasional bool
	// Active is false after deactivation (DELETE on either view).
	Active      bool
	HasLoggedIn bool
	VIPUser     bool

	FirstName string
	LastName  string
	// PrimaryEmail is primary_email in the requester view and email in the
	// agent view.
	PrimaryEmail          string
	SecondaryEmails       []string
	JobTitle              string
	WorkPhoneNumber       string
	MobilePhoneNumber     string
	Address               string
	BackgroundInformation string
	DepartmentIDs         []int64
	ReportingManagerID    int64
	LocationID            int64
	TimeZone              string
	TimeFormat            string
	Language              string
	ExternalID            string
	// CustomFields holds scalar JSON values (string, float64, bool or nil).
	CustomFields map[string]any

	CanSeeAllTicketsFromAssociatedDepartments bool
	CanSeeAllChangesFromAssociatedDepartments bool

	// Agent-only fields.
	Roles             []RoleAssignment
	Signature         string
	ScoreboardLevelID int64
	AutoAssignTickets bool
	// MemberOf and ObserverOf are the agent groups that list this user as
	// member or observer; the pending lists are the approval-enabled
	// restricted groups where that membership awaits approval. They are
	// derived from the groups: EditUser applies changes to them to the
	// groups, and the server ignores them everywhere else.
	MemberOf                  []int64
	ObserverOf                []int64
	MemberOfPendingApproval   []int64
	ObserverOfPendingApproval []int64

	LastLoginAt  time.Time
	LastActiveAt time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// RoleAssignment is one element of an agent's roles array (reference §4.3).
type RoleAssignment struct {
	RoleID int64 `json:"role_id"`
	// AssignmentScope is entire_helpdesk, member_groups, specified_groups or
	// assigned_items.
	AssignmentScope string `json:"assignment_scope"`
	// Groups lists agent group ids; only specified_groups uses it.
	Groups []int64 `json:"groups"`
}

// Name returns "First Last", the value of the query field name.
func (u User) Name() string {
	switch {
	case u.LastName == "":
		return u.FirstName
	case u.FirstName == "":
		return u.LastName
	}
	return u.FirstName + " " + u.LastName
}

func (u *User) clone() *User {
	c := *u
	c.SecondaryEmails = slices.Clone(u.SecondaryEmails)
	c.DepartmentIDs = slices.Clone(u.DepartmentIDs)
	c.CustomFields = maps.Clone(u.CustomFields)
	c.Roles = cloneRoles(u.Roles)
	c.MemberOf = slices.Clone(u.MemberOf)
	c.ObserverOf = slices.Clone(u.ObserverOf)
	c.MemberOfPendingApproval = slices.Clone(u.MemberOfPendingApproval)
	c.ObserverOfPendingApproval = slices.Clone(u.ObserverOfPendingApproval)
	return &c
}

func cloneRoles(rs []RoleAssignment) []RoleAssignment {
	if rs == nil {
		return nil
	}
	out := make([]RoleAssignment, len(rs))
	for i, r := range rs {
		out[i] = RoleAssignment{RoleID: r.RoleID, AssignmentScope: r.AssignmentScope, Groups: slices.Clone(r.Groups)}
	}
	return out
}

// Group is an agent group (reference §5). Members, Observers and Leaders are
// the source of truth for agent-group membership; an agent's member_of and
// observer_of are derived from them.
type Group struct {
	ID               int64
	Name             string
	Description      string
	EscalateTo       int64
	UnassignedFor    string
	BusinessHoursID  int64
	AutoTicketAssign bool
	// Restricted and ApprovalRequired together make new members, observers
	// and leaders wait in the pending lists until an admin approves them
	// (EditAgentGroup).
	Restricted       bool
	ApprovalRequired bool
	OCSScheduleID    int64
	// WorkspaceID is the group's workspace; 0 means the primary one.
	WorkspaceID int64

	Members                  []int64
	Observers                []int64
	Leaders                  []int64
	MembersPendingApproval   []int64
	ObserversPendingApproval []int64
	LeadersPendingApproval   []int64

	CreatedAt time.Time
	UpdatedAt time.Time
}

func (g *Group) clone() *Group {
	c := *g
	c.Members = slices.Clone(g.Members)
	c.Observers = slices.Clone(g.Observers)
	c.Leaders = slices.Clone(g.Leaders)
	c.MembersPendingApproval = slices.Clone(g.MembersPendingApproval)
	c.ObserversPendingApproval = slices.Clone(g.ObserversPendingApproval)
	c.LeadersPendingApproval = slices.Clone(g.LeadersPendingApproval)
	return &c
}

// RequesterGroup is a requester group (reference §6). Its members are read
// with Server.RequesterGroupMembers.
type RequesterGroup struct {
	ID          int64
	Name        string
	Description string
	// Type is "manual" or "rule_based". Only manual groups can be changed
	// through the API; rule-based ones can only be seeded.
	Type      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Role is an agent role (reference §7). Roles are read-only in the API.
type Role struct {
	ID          int64
	Name        string
	Description string
	Default     bool
	// Scopes lists the modules the role has a scope entry for; the API
	// renders each as a key with a null value, as every recorded response
	// does.
	Scopes []string
	// WorkspaceID is the role's workspace; 0 means the primary one.
	WorkspaceID int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Department is a department (reference §8).
type Department struct {
	ID           int64
	Name         string
	Description  string
	HeadUserID   int64
	PrimeUserID  int64
	Domains      []string
	CustomFields map[string]any
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Location is a location (reference §8).
type Location struct {
	ID               int64
	Name             string
	ParentLocationID int64
	PrimaryContactID int64
	Address          LocationAddress
	Email            string
	Phone            string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// LocationAddress is the address of a location. The API nests it under
// "address" unless Switches.LocationAddressFlat is set.
type LocationAddress struct {
	Line1   string `json:"line1,omitempty"`
	Line2   string `json:"line2,omitempty"`
	City    string `json:"city,omitempty"`
	State   string `json:"state,omitempty"`
	Country string `json:"country,omitempty"`
	Zipcode string `json:"zipcode,omitempty"`
}

// CustomField defines a custom requester or agent field (reference §3.6, §13
// item 15). Only defined fields can be written, each with a value of its
// type, and every user shows every defined field of its view in
// custom_fields, null when unset.
type CustomField struct {
	// Name is the internal name, the key in custom_fields.
	Name  string `json:"name"`
	Label string `json:"label,omitempty"`
	// Type is one of custom_text, custom_paragraph, custom_phone,
	// custom_url, custom_number, custom_decimal, custom_date,
	// custom_checkbox and custom_dropdown.
	Type string `json:"type"`
	// Required is required_for_agents: a create through the API (which acts
	// as an agent) fails with missing_field without it.
	Required bool `json:"required,omitempty"`
	// Choices are the values of a custom_dropdown.
	Choices []string `json:"choices,omitempty"`
}
