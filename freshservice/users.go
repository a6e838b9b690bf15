package freshservice

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// View says through which endpoint a user was read. Agents and requesters
// are one user table with shared ids (§4.6); each endpoint shows part of it.
type View string

// The two views of a user.
const (
	ViewRequester View = "requester" // /requesters: primary_email, secondary_emails, is_agent
	ViewAgent     View = "agent"     // /agents: email, occasional, roles, member_of, observer_of
)

// RoleAssignment is one role of an agent with its scope (§4.3).
type RoleAssignment struct {
	RoleID int64 `json:"role_id"`
	// AssignmentScope is entire_helpdesk, member_groups, specified_groups
	// or assigned_items; Groups is required for specified_groups only.
	AssignmentScope string  `json:"assignment_scope"`
	Groups          []int64 `json:"groups,omitempty"`
}

// The assignment scopes of a role (§4.3).
const (
	ScopeEntireHelpdesk  = "entire_helpdesk"
	ScopeMemberGroups    = "member_groups"
	ScopeSpecifiedGroups = "specified_groups"
	ScopeAssignedItems   = "assigned_items"
)

// User is a Freshservice user as read through either view. Email is the
// requester's primary_email or the agent's email: callers never deal with
// the two names. Fields of the other view are zero; View says which one.
type User struct {
	ID   int64
	View View

	Email           string
	SecondaryEmails []string // requester view only
	IsAgent         bool
	Active          bool

	FirstName             string
	LastName              string
	JobTitle              string
	WorkPhone             string
	MobilePhone           string
	Address               string
	TimeZone              string
	TimeFormat            string
	Language              string
	ExternalID            string
	BackgroundInformation string
	DepartmentIDs         []int64
	ReportingManagerID    int64
	LocationID            int64
	CustomFields          map[string]any

	CanSeeAllTicketsFromAssociatedDepartments bool

	HasLoggedIn bool
	VIPUser     bool
	CreatedAt   time.Time
	UpdatedAt   time.Time

	// Agent view only. MemberOfPending and ObserverOfPending are the
	// approval-gated restricted groups where the membership waits for
	// approval; an update of MemberOf (ObserverOf) must repeat them to keep
	// the requests (§4.4, §19).
	Occasional        bool
	Roles             []RoleAssignment
	MemberOf          []int64
	ObserverOf        []int64
	MemberOfPending   []int64
	ObserverOfPending []int64
}

// userJSON is the wire form of both views; null strings decode to "".
type userJSON struct {
	ID                    int64            `json:"id"`
	View                  View             `json:"view,omitempty"` // only in our own encoding
	PrimaryEmail          *string          `json:"primary_email,omitempty"`
	Email                 *string          `json:"email,omitempty"`
	SecondaryEmails       []string         `json:"secondary_emails,omitempty"`
	IsAgent               *bool            `json:"is_agent,omitempty"`
	Active                bool             `json:"active"`
	FirstName             *string          `json:"first_name"`
	LastName              *string          `json:"last_name"`
	JobTitle              *string          `json:"job_title"`
	WorkPhone             *string          `json:"work_phone_number"`
	MobilePhone           *string          `json:"mobile_phone_number"`
	Address               *string          `json:"address"`
	TimeZone              *string          `json:"time_zone"`
	TimeFormat            *string          `json:"time_format"`
	Language              *string          `json:"language"`
	ExternalID            *string          `json:"external_id"`
	BackgroundInformation *string          `json:"background_information"`
	DepartmentIDs         []int64          `json:"department_ids"`
	ReportingManagerID    *int64           `json:"reporting_manager_id"`
	LocationID            *int64           `json:"location_id"`
	CustomFields          map[string]any   `json:"custom_fields,omitempty"`
	CanSeeAll             bool             `json:"can_see_all_tickets_from_associated_departments"`
	HasLoggedIn           bool             `json:"has_logged_in"`
	VIPUser               bool             `json:"vip_user"`
	CreatedAt             *time.Time       `json:"created_at,omitempty"`
	UpdatedAt             *time.Time       `json:"updated_at,omitempty"`
	Occasional            *bool            `json:"occasional,omitempty"`
	Roles                 []RoleAssignment `json:"roles,omitempty"`
	MemberOf              []int64          `json:"member_of,omitempty"`
	ObserverOf            []int64          `json:"observer_of,omitempty"`
	MemberOfPending       []int64          `json:"member_of_pending_approval,omitempty"`
	ObserverOfPending     []int64          `json:"observer_of_pending_approval,omitempty"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func i64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// UnmarshalJSON reads either view. The agent view is recognised by its
// "email" key (requesters have "primary_email").
func (u *User) UnmarshalJSON(data []byte) error {
	var w userJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*u = User{
		ID: w.ID, View: w.View, Active: w.Active,
		SecondaryEmails: w.SecondaryEmails,
		FirstName:       str(w.FirstName), LastName: str(w.LastName), JobTitle: str(w.JobTitle),
		WorkPhone: str(w.WorkPhone), MobilePhone: str(w.MobilePhone), Address: str(w.Address),
		TimeZone: str(w.TimeZone), TimeFormat: str(w.TimeFormat), Language: str(w.Language),
		ExternalID: str(w.ExternalID), BackgroundInformation: str(w.BackgroundInformation),
		DepartmentIDs: w.DepartmentIDs, ReportingManagerID: i64(w.ReportingManagerID), LocationID: i64(w.LocationID),
		CustomFields: w.CustomFields, CanSeeAllTicketsFromAssociatedDepartments: w.CanSeeAll,
		HasLoggedIn: w.HasLoggedIn, VIPUser: w.VIPUser,
		Roles: w.Roles, MemberOf: w.MemberOf, ObserverOf: w.ObserverOf,
		MemberOfPending: w.MemberOfPending, ObserverOfPending: w.ObserverOfPending,
	}
	if w.CreatedAt != nil {
		u.CreatedAt = *w.CreatedAt
	}
	if w.UpdatedAt != nil {
		u.UpdatedAt = *w.UpdatedAt
	}
	if w.Occasional != nil {
		u.Occasional = *w.Occasional
	}
	switch {
	case w.PrimaryEmail != nil:
		u.Email = *w.PrimaryEmail
		if u.View == "" {
			u.View = ViewRequester
		}
		if w.IsAgent != nil {
			u.IsAgent = *w.IsAgent
		}
	case w.Email != nil:
		u.Email = *w.Email
		if u.View == "" {
			u.View = ViewAgent
		}
		u.IsAgent = true
		if w.IsAgent != nil {
			u.IsAgent = *w.IsAgent
		}
	}
	return nil
}

// MarshalJSON writes the user in Freshservice's key names plus "view", so
// that UnmarshalJSON reads it back unchanged (the mirror persists users so).
func (u User) MarshalJSON() ([]byte, error) {
	w := userJSON{
		ID: u.ID, View: u.View, Active: u.Active, SecondaryEmails: u.SecondaryEmails,
		FirstName: &u.FirstName, LastName: &u.LastName, JobTitle: &u.JobTitle,
		WorkPhone: &u.WorkPhone, MobilePhone: &u.MobilePhone, Address: &u.Address,
		TimeZone: &u.TimeZone, TimeFormat: &u.TimeFormat, Language: &u.Language,
		ExternalID: &u.ExternalID, BackgroundInformation: &u.BackgroundInformation,
		DepartmentIDs: u.DepartmentIDs, ReportingManagerID: &u.ReportingManagerID, LocationID: &u.LocationID,
		CustomFields: u.CustomFields, CanSeeAll: u.CanSeeAllTicketsFromAssociatedDepartments,
		HasLoggedIn: u.HasLoggedIn, VIPUser: u.VIPUser,
		Roles: u.Roles, MemberOf: u.MemberOf, ObserverOf: u.ObserverOf,
		MemberOfPending: u.MemberOfPending, ObserverOfPending: u.ObserverOfPending,
		IsAgent: &u.IsAgent, Occasional: &u.Occasional,
	}
	if !u.CreatedAt.IsZero() {
		w.CreatedAt = &u.CreatedAt
	}
	if !u.UpdatedAt.IsZero() {
		w.UpdatedAt = &u.UpdatedAt
	}
	email := u.Email
	if u.View == ViewAgent {
		w.Email = &email
	} else {
		w.PrimaryEmail = &email
	}
	return json.Marshal(w)
}

// Name is "first last", as Freshservice's name search field builds it.
func (u *User) Name() string { return strings.TrimSpace(u.FirstName + " " + u.LastName) }

// Emails returns the primary email followed by the secondary ones.
func (u *User) Emails() []string {
	out := make([]string, 0, 1+len(u.SecondaryEmails))
	if u.Email != "" {
		out = append(out, u.Email)
	}
	return append(out, u.SecondaryEmails...)
}

// Profile holds the writable fields requesters and agents share. A nil
// pointer leaves the field as it is; an empty string or a zero id clears it
// (it is sent as null). Slices are sent whole and replace the stored list
// (§3.5).
type Profile struct {
	FirstName             *string  `json:"first_name"`
	LastName              *string  `json:"last_name"`
	JobTitle              *string  `json:"job_title"`
	WorkPhone             *string  `json:"work_phone_number"`
	MobilePhone           *string  `json:"mobile_phone_number"`
	Address               *string  `json:"address"`
	TimeZone              *string  `json:"time_zone"`
	TimeFormat            *string  `json:"time_format"`
	Language              *string  `json:"language"`
	BackgroundInformation *string  `json:"background_information"`
	DepartmentIDs         *[]int64 `json:"department_ids"`
	ReportingManagerID    *int64   `json:"reporting_manager_id"`
	LocationID            *int64   `json:"location_id"`
	// CustomFields are written key by key by their internal names (from
	// /requester_fields); a key left out keeps its value, a nil value
	// clears it. A create without a mandatory field fails 400
	// missing_field, one field error per field (§3.5, §19).
	CustomFields map[string]any `json:"custom_fields"`

	// CanSeeAllTicketsFromAssociatedDepartments is always sent: Freshservice
	// resets it to false on any PUT that leaves it out (§3.5, §13.7), so an
	// update that means to keep it true must say so.
	CanSeeAllTicketsFromAssociatedDepartments bool `json:"can_see_all_tickets_from_associated_departments"`
}

// RequesterFields is the body of a requester create or update (§3.5).
type RequesterFields struct {
	Email           *string   `json:"primary_email"`
	SecondaryEmails *[]string `json:"secondary_emails"`
	// ExternalID is writable on requesters [S4]; uniqueness is undocumented.
	ExternalID *string `json:"external_id"`
	Profile
}

// MarshalJSON omits nil fields and sends cleared ones as null.
func (f RequesterFields) MarshalJSON() ([]byte, error) { return marshalFields(f) }

// AgentFields is the body of an agent create or update (§4.3, §4.4). Roles,
// MemberOf and ObserverOf replace the agent's lists whole. Agents carry the
// account's user custom fields, as requesters do (Profile.CustomFields,
// §19).
type AgentFields struct {
	Email      *string `json:"email"`
	Occasional *bool   `json:"occasional"`
	// ExternalID is writable on agents on most accounts; where it is not,
	// Freshservice answers 400 invalid_field on external_id (§4.1
	// UNCERTAIN).
	ExternalID *string           `json:"external_id"`
	Roles      *[]RoleAssignment `json:"roles"`
	MemberOf   *[]int64          `json:"member_of"`
	ObserverOf *[]int64          `json:"observer_of"`
	Profile
}

// MarshalJSON omits nil fields and sends cleared ones as null.
func (f AgentFields) MarshalJSON() ([]byte, error) { return marshalFields(f) }

// marshalFields encodes a struct of optional fields: nil pointers and maps
// are left out, pointers to "" or to a zero id become null, plain values
// are always sent. Embedded structs are flattened.
func marshalFields(v any) ([]byte, error) {
	m := map[string]any{}
	collectFields(reflect.ValueOf(v), m)
	return json.Marshal(m)
}

func collectFields(v reflect.Value, m map[string]any) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			collectFields(fv, m)
			continue
		}
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		switch fv.Kind() {
		case reflect.Pointer:
			if fv.IsNil() {
				continue
			}
			e := fv.Elem()
			switch {
			case e.Kind() == reflect.String && e.String() == "":
				m[name] = nil
			case e.Kind() == reflect.Int64 && e.Int() == 0:
				m[name] = nil
			case e.Kind() == reflect.Slice && e.IsNil():
				m[name] = []any{}
			default:
				m[name] = e.Interface()
			}
		case reflect.Map:
			if fv.IsNil() {
				continue
			}
			m[name] = fv.Interface()
		default:
			m[name] = fv.Interface()
		}
	}
}

// Ptr returns a pointer to v, for building field structs.
func Ptr[T any](v T) *T { return &v }
