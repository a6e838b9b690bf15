package simulator

import (
	"maps"
	"time"
)

// This file turns state into the JSON objects of the API. Every field seen in
// a real response (reference §18) is present; blank values are null and empty
// lists are [] (reference §2).

// timeLayout is the API's timestamp format (reference §2).
const timeLayout = "2006-01-02T15:04:05Z"

// workspaceID is the primary workspace, which real responses of accounts with
// workspaces carry on requester groups and departments (reference §18).
const workspaceID = 2

// agentScopes is the deprecated scopes object of agents; every recorded
// response has all seven keys null (reference §4.1).
var agentScopes = map[string]any{"ticket": nil, "problem": nil, "change": nil, "release": nil, "asset": nil, "solution": nil, "contract": nil}

func nstr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nid(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

func nts(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ts(t)
	return &s
}

// list returns s, or an empty non-nil slice, so that it renders as [].
func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func custom(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return maps.Clone(m)
}

type requesterJSON struct {
	Active                bool           `json:"active"`
	Address               *string        `json:"address"`
	BackgroundInformation *string        `json:"background_information"`
	CanSeeAllChanges      bool           `json:"can_see_all_changes_from_associated_departments"`
	CanSeeAllTickets      bool           `json:"can_see_all_tickets_from_associated_departments"`
	CreatedAt             string         `json:"created_at"`
	CustomFields          map[string]any `json:"custom_fields"`
	DepartmentIDs         []int64        `json:"department_ids"`
	DepartmentNames       []string       `json:"department_names"`
	ExternalID            *string        `json:"external_id"`
	FirstName             string         `json:"first_name"`
	HasLoggedIn           bool           `json:"has_logged_in"`
	ID                    int64          `json:"id"`
	IsAgent               bool           `json:"is_agent"`
	JobTitle              *string        `json:"job_title"`
	Language              string         `json:"language"`
	LastName              *string        `json:"last_name"`
	LocationID            *int64         `json:"location_id"`
	LocationName          *string        `json:"location_name"`
	MobilePhoneNumber     *string        `json:"mobile_phone_number"`
	PrimaryEmail          *string        `json:"primary_email"`
	ReportingManagerID    *int64         `json:"reporting_manager_id"`
	SecondaryEmails       []string       `json:"secondary_emails"`
	TimeFormat            string         `json:"time_format"`
	TimeZone              string         `json:"time_zone"`
	UpdatedAt             string         `json:"updated_at"`
	VIPUser               bool           `json:"vip_user"`
	WorkPhoneNumber       *string        `json:"work_phone_number"`
	WorkScheduleID        *int64         `json:"work_schedule_id"`
}

// departmentNames is null when the user has no departments, as in the real
// example of reference §3.1.
func (st *state) departmentNames(ids []int64) []string {
	if len(ids) == 0 {
		return nil
	}
	names := []string{}
	for _, id := range ids {
		if d, ok := st.departments[id]; ok {
			names = append(names, d.Name)
		}
	}
	return names
}

func (st *state) locationName(id int64) *string {
	if l, ok := st.locations[id]; ok {
		return &l.Name
	}
	return nil
}

func (st *state) requesterJSON(u *User) requesterJSON {
	return requesterJSON{
		Active:                u.Active,
		Address:               nstr(u.Address),
		BackgroundInformation: nstr(u.BackgroundInformation),
		CanSeeAllChanges:      u.CanSeeAllChangesFromAssociatedDepartments,
		CanSeeAllTickets:      u.CanSeeAllTicketsFromAssociatedDepartments,
		CreatedAt:             ts(u.CreatedAt),
		CustomFields:          st.renderCustom(viewRequester, u.CustomFields),
		DepartmentIDs:         list(append([]int64(nil), u.DepartmentIDs...)),
		DepartmentNames:       st.departmentNames(u.DepartmentIDs),
		ExternalID:            nstr(u.ExternalID),
		FirstName:             u.FirstName,
		HasLoggedIn:           u.HasLoggedIn,
		ID:                    u.ID,
		IsAgent:               u.IsAgent,
		JobTitle:              nstr(u.JobTitle),
		Language:              u.Language,
		LastName:              nstr(u.LastName),
		LocationID:            nid(u.LocationID),
		LocationName:          st.locationName(u.LocationID),
		MobilePhoneNumber:     nstr(u.MobilePhoneNumber),
		PrimaryEmail:          nstr(u.PrimaryEmail),
		ReportingManagerID:    nid(u.ReportingManagerID),
		SecondaryEmails:       list(append([]string(nil), u.SecondaryEmails...)),
		TimeFormat:            u.TimeFormat,
		TimeZone:              u.TimeZone,
		UpdatedAt:             ts(u.UpdatedAt),
		VIPUser:               u.VIPUser,
		WorkPhoneNumber:       nstr(u.WorkPhoneNumber),
	}
}

type roleAssignmentJSON struct {
	RoleID          int64   `json:"role_id"`
	AssignmentScope string  `json:"assignment_scope"`
	Groups          []int64 `json:"groups"`
}

type agentJSON struct {
	Active                    bool                 `json:"active"`
	Address                   *string              `json:"address"`
	AutoAssignStatusChangedAt *string              `json:"auto_assign_status_changed_at"`
	AutoAssignTickets         bool                 `json:"auto_assign_tickets"`
	BackgroundInformation     *string              `json:"background_information"`
	CanSeeAllTickets          bool                 `json:"can_see_all_tickets_from_associated_departments"`
	CreatedAt                 string               `json:"created_at"`
	CustomFields              map[string]any       `json:"custom_fields"`
	DepartmentIDs             []int64              `json:"department_ids"`
	DepartmentNames           []string             `json:"department_names"`
	Email                     *string              `json:"email"`
	ExternalID                *string              `json:"external_id"`
	FirstName                 string               `json:"first_name"`
	GroupIDs                  []int64              `json:"group_ids"`
	HasLoggedIn               bool                 `json:"has_logged_in"`
	ID                        int64                `json:"id"`
	JobTitle                  *string              `json:"job_title"`
	Language                  string               `json:"language"`
	LastActiveAt              *string              `json:"last_active_at"`
	LastLoginAt               *string              `json:"last_login_at"`
	LastName                  *string              `json:"last_name"`
	LocationID                *int64               `json:"location_id"`
	LocationName              *string              `json:"location_name"`
	MemberOf                  []int64              `json:"member_of"`
	MemberOfPendingApproval   []int64              `json:"member_of_pending_approval"`
	MobilePhoneNumber         *string              `json:"mobile_phone_number"`
	ObserverOf                []int64              `json:"observer_of"`
	ObserverOfPendingApproval []int64              `json:"observer_of_pending_approval"`
	Occasional                bool                 `json:"occasional"`
	ReportingManagerID        *int64               `json:"reporting_manager_id"`
	RoleIDs                   []int64              `json:"role_ids"`
	Roles                     []roleAssignmentJSON `json:"roles"`
	Scopes                    map[string]any       `json:"scopes"`
	ScoreboardLevelID         *int64               `json:"scoreboard_level_id"`
	ScoreboardPoints          *int64               `json:"scoreboard_points"`
	Signature                 *string              `json:"signature"`
	TimeFormat                string               `json:"time_format"`
	TimeZone                  string               `json:"time_zone"`
	UpdatedAt                 string               `json:"updated_at"`
	VIPUser                   bool                 `json:"vip_user"`
	WorkPhoneNumber           *string              `json:"work_phone_number"`
}

func (st *state) agentJSON(stored *User) agentJSON {
	u := st.userCopy(stored)
	roles := []roleAssignmentJSON{}
	roleIDs := []int64{}
	for _, r := range u.Roles {
		roles = append(roles, roleAssignmentJSON{RoleID: r.RoleID, AssignmentScope: r.AssignmentScope, Groups: list(r.Groups)})
		roleIDs = append(roleIDs, r.RoleID)
	}
	return agentJSON{
		Active:                    u.Active,
		Address:                   nstr(u.Address),
		AutoAssignTickets:         u.AutoAssignTickets,
		BackgroundInformation:     nstr(u.BackgroundInformation),
		CanSeeAllTickets:          u.CanSeeAllTicketsFromAssociatedDepartments,
		CreatedAt:                 ts(u.CreatedAt),
		CustomFields:              st.renderCustom(viewAgent, u.CustomFields),
		DepartmentIDs:             list(u.DepartmentIDs),
		DepartmentNames:           st.departmentNames(u.DepartmentIDs),
		Email:                     nstr(u.PrimaryEmail),
		ExternalID:                nstr(u.ExternalID),
		FirstName:                 u.FirstName,
		GroupIDs:                  list(append([]int64(nil), u.MemberOf...)),
		HasLoggedIn:               u.HasLoggedIn,
		ID:                        u.ID,
		JobTitle:                  nstr(u.JobTitle),
		Language:                  u.Language,
		LastActiveAt:              nts(u.LastActiveAt),
		LastLoginAt:               nts(u.LastLoginAt),
		LastName:                  nstr(u.LastName),
		LocationID:                nid(u.LocationID),
		LocationName:              st.locationName(u.LocationID),
		MemberOf:                  list(u.MemberOf),
		MemberOfPendingApproval:   list(u.MemberOfPendingApproval),
		MobilePhoneNumber:         nstr(u.MobilePhoneNumber),
		ObserverOf:                list(u.ObserverOf),
		ObserverOfPendingApproval: list(u.ObserverOfPendingApproval),
		Occasional:                u.Occasional,
		ReportingManagerID:        nid(u.ReportingManagerID),
		RoleIDs:                   roleIDs,
		Roles:                     roles,
		Scopes:                    maps.Clone(agentScopes),
		ScoreboardLevelID:         nid(u.ScoreboardLevelID),
		Signature:                 nstr(u.Signature),
		TimeFormat:                u.TimeFormat,
		TimeZone:                  u.TimeZone,
		UpdatedAt:                 ts(u.UpdatedAt),
		VIPUser:                   u.VIPUser,
		WorkPhoneNumber:           nstr(u.WorkPhoneNumber),
	}
}

type groupJSON struct {
	AgentIDs                 []int64 `json:"agent_ids"`
	ApprovalRequired         bool    `json:"approval_required"`
	AutoTicketAssign         bool    `json:"auto_ticket_assign"`
	BusinessHoursID          *int64  `json:"business_hours_id"`
	CreatedAt                string  `json:"created_at"`
	Description              *string `json:"description"`
	EscalateTo               *int64  `json:"escalate_to"`
	ID                       int64   `json:"id"`
	Leaders                  []int64 `json:"leaders"`
	LeadersPendingApproval   []int64 `json:"leaders_pending_approval"`
	Members                  []int64 `json:"members"`
	MembersPendingApproval   []int64 `json:"members_pending_approval"`
	Name                     string  `json:"name"`
	Observers                []int64 `json:"observers"`
	ObserversPendingApproval []int64 `json:"observers_pending_approval"`
	OCSScheduleID            *int64  `json:"ocs_schedule_id"`
	Restricted               bool    `json:"restricted"`
	UnassignedFor            *string `json:"unassigned_for"`
	UpdatedAt                string  `json:"updated_at"`
	// WorkspaceID is present in workspace accounts only (reference §5).
	WorkspaceID *int64 `json:"workspace_id,omitempty"`
}

// groupView renders g; under Switches.RestrictedGroupApproval every group
// shows as restricted with approval required, as it behaves.
func (c *call) groupView(g *Group) groupJSON {
	v := g.clone()
	if c.sw.RestrictedGroupApproval {
		v.Restricted, v.ApprovalRequired = true, true
	}
	return groupJSON{
		// agent_ids is the deprecated twin of members (reference §5).
		AgentIDs:                 list(append([]int64(nil), v.Members...)),
		ApprovalRequired:         v.ApprovalRequired,
		AutoTicketAssign:         v.AutoTicketAssign,
		BusinessHoursID:          nid(v.BusinessHoursID),
		CreatedAt:                ts(v.CreatedAt),
		Description:              nstr(v.Description),
		EscalateTo:               nid(v.EscalateTo),
		ID:                       v.ID,
		Leaders:                  list(v.Leaders),
		LeadersPendingApproval:   list(v.LeadersPendingApproval),
		Members:                  list(v.Members),
		MembersPendingApproval:   list(v.MembersPendingApproval),
		Name:                     v.Name,
		Observers:                list(v.Observers),
		ObserversPendingApproval: list(v.ObserversPendingApproval),
		OCSScheduleID:            nid(v.OCSScheduleID),
		Restricted:               v.Restricted,
		UnassignedFor:            nstr(v.UnassignedFor),
		UpdatedAt:                ts(v.UpdatedAt),
		WorkspaceID:              c.shownWorkspace(v.WorkspaceID),
	}
}

type requesterGroupJSON struct {
	Description *string `json:"description"`
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	Type        string  `json:"type"`
	WorkspaceID int64   `json:"workspace_id"`
}

func requesterGroupView(g *RequesterGroup) requesterGroupJSON {
	return requesterGroupJSON{Description: nstr(g.Description), ID: g.ID, Name: g.Name, Type: g.Type, WorkspaceID: workspaceID}
}

// requesterGroupMemberJSON is exactly the four fields of a member list item
// (reference §6).
type requesterGroupMemberJSON struct {
	ID        int64   `json:"id"`
	FirstName string  `json:"first_name"`
	LastName  *string `json:"last_name"`
	Email     *string `json:"email"`
}

type roleJSON struct {
	CreatedAt   string         `json:"created_at"`
	Default     bool           `json:"default"`
	Description string         `json:"description"`
	ID          int64          `json:"id"`
	Name        string         `json:"name"`
	Scopes      map[string]any `json:"scopes"`
	UpdatedAt   string         `json:"updated_at"`
	// WorkspaceID is present in workspace accounts only (reference §19).
	WorkspaceID *int64 `json:"workspace_id,omitempty"`
}

func (c *call) roleView(r *Role) roleJSON {
	scopes := map[string]any{}
	for _, s := range r.Scopes {
		scopes[s] = nil
	}
	return roleJSON{CreatedAt: ts(r.CreatedAt), Default: r.Default, Description: r.Description, ID: r.ID, Name: r.Name, Scopes: scopes,
		UpdatedAt: ts(r.UpdatedAt), WorkspaceID: c.shownWorkspace(r.WorkspaceID)}
}

type departmentJSON struct {
	CreatedAt     string         `json:"created_at"`
	CustomFields  map[string]any `json:"custom_fields"`
	Description   *string        `json:"description"`
	Domains       []string       `json:"domains"`
	HeadName      *string        `json:"head_name"`
	HeadUserID    *int64         `json:"head_user_id"`
	ID            int64          `json:"id"`
	Name          string         `json:"name"`
	PrimeUserID   *int64         `json:"prime_user_id"`
	PrimeUserName *string        `json:"prime_user_name"`
	UpdatedAt     string         `json:"updated_at"`
	WorkspaceID   int64          `json:"workspace_id"`
}

func (st *state) userName(id int64) *string {
	if u, ok := st.users[id]; ok {
		n := u.Name()
		return &n
	}
	return nil
}

func (st *state) departmentView(d *Department) departmentJSON {
	return departmentJSON{
		CreatedAt:     ts(d.CreatedAt),
		CustomFields:  custom(d.CustomFields),
		Description:   nstr(d.Description),
		Domains:       list(append([]string(nil), d.Domains...)),
		HeadName:      st.userName(d.HeadUserID),
		HeadUserID:    nid(d.HeadUserID),
		ID:            d.ID,
		Name:          d.Name,
		PrimeUserID:   nid(d.PrimeUserID),
		PrimeUserName: st.userName(d.PrimeUserID),
		UpdatedAt:     ts(d.UpdatedAt),
		WorkspaceID:   workspaceID,
	}
}

// locationView renders a location; the address shape follows
// Switches.LocationAddressFlat.
func (st *state) locationView(l *Location, flat bool) map[string]any {
	v := map[string]any{
		"id":                 l.ID,
		"name":               l.Name,
		"parent_location_id": nid(l.ParentLocationID),
		"primary_contact_id": nid(l.PrimaryContactID),
		"contact_name":       st.userName(l.PrimaryContactID),
		"email":              nstr(l.Email),
		"phone":              nstr(l.Phone),
		"created_at":         ts(l.CreatedAt),
		"updated_at":         ts(l.UpdatedAt),
	}
	a := l.Address
	parts := map[string]*string{
		"line1": nstr(a.Line1), "line2": nstr(a.Line2), "city": nstr(a.City),
		"state": nstr(a.State), "country": nstr(a.Country), "zipcode": nstr(a.Zipcode),
	}
	if flat {
		for k, p := range parts {
			if k == "line1" || k == "line2" {
				k = "address_" + k
			}
			v[k] = p
		}
	} else {
		v["address"] = parts
	}
	return v
}
