package simulator

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// SeedData is a set of objects to add to the account: the shape of a seed
// file and of GET /_simulator/state. Objects refer to each other by name
// (roles, departments, locations, groups) or by email (users), so a seed file
// can be written by hand; ids are optional and, when given, kept, so the
// state of one simulator seeds an identical one.
type SeedData struct {
	Roles           []SeedRole           `json:"roles,omitempty"`
	Departments     []SeedDepartment     `json:"departments,omitempty"`
	Locations       []SeedLocation       `json:"locations,omitempty"`
	AgentGroups     []SeedAgentGroup     `json:"agent_groups,omitempty"`
	RequesterGroups []SeedRequesterGroup `json:"requester_groups,omitempty"`
	Requesters      []SeedUser           `json:"requesters,omitempty"`
	Agents          []SeedUser           `json:"agents,omitempty"`
	// RequesterFields and AgentFields define custom fields.
	RequesterFields []CustomField `json:"requester_fields,omitempty"`
	AgentFields     []CustomField `json:"agent_fields,omitempty"`
}

// SeedRole is a role. Scopes lists module names, each rendered with a null
// value.
type SeedRole struct {
	ID          int64    `json:"id,omitempty"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Default     bool     `json:"default,omitempty"`
	Scopes      []string `json:"scopes,omitempty"`
	// WorkspaceID is one of the workspaces of Workspaces; empty means the
	// primary one.
	WorkspaceID int64 `json:"workspace_id,omitempty"`
}

// SeedDepartment is a department; HeadUser and PrimeUser are emails.
type SeedDepartment struct {
	ID           int64          `json:"id,omitempty"`
	Name         string         `json:"name"`
	Description  string         `json:"description,omitempty"`
	Domains      []string       `json:"domains,omitempty"`
	HeadUser     string         `json:"head_user,omitempty"`
	PrimeUser    string         `json:"prime_user,omitempty"`
	CustomFields map[string]any `json:"custom_fields,omitempty"`
}

// SeedLocation is a location; Parent is a location name and PrimaryContact
// an email.
type SeedLocation struct {
	ID             int64           `json:"id,omitempty"`
	Name           string          `json:"name"`
	Parent         string          `json:"parent,omitempty"`
	PrimaryContact string          `json:"primary_contact,omitempty"`
	Address        LocationAddress `json:"address,omitzero"`
	Email          string          `json:"email,omitempty"`
	Phone          string          `json:"phone,omitempty"`
}

// SeedAgentGroup is an agent group. Members, Observers, Leaders and
// EscalateTo are agent emails; agents can also name their groups in
// SeedUser.MemberOf and ObserverOf.
type SeedAgentGroup struct {
	ID               int64    `json:"id,omitempty"`
	Name             string   `json:"name"`
	Description      string   `json:"description,omitempty"`
	UnassignedFor    string   `json:"unassigned_for,omitempty"`
	EscalateTo       string   `json:"escalate_to,omitempty"`
	AutoTicketAssign bool     `json:"auto_ticket_assign,omitempty"`
	Restricted       bool     `json:"restricted,omitempty"`
	ApprovalRequired bool     `json:"approval_required,omitempty"`
	Members          []string `json:"members,omitempty"`
	Observers        []string `json:"observers,omitempty"`
	Leaders          []string `json:"leaders,omitempty"`
	// WorkspaceID is one of the workspaces of Workspaces; empty means the
	// primary one.
	WorkspaceID int64 `json:"workspace_id,omitempty"`
}

// SeedRequesterGroup is a requester group. Type is "manual" (default) or
// "rule_based". Members are emails; MemberIDs names users without one.
type SeedRequesterGroup struct {
	ID          int64    `json:"id,omitempty"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Type        string   `json:"type,omitempty"`
	Members     []string `json:"members,omitempty"`
	MemberIDs   []int64  `json:"member_ids,omitempty"`
}

// SeedUser is a requester or an agent. The primary email can be given as
// primary_email or email. Departments, Location, MemberOf, ObserverOf and
// role and group references are names; ReportingManager is an email (or use
// ReportingManagerID). Active defaults to true, TimeZone, Language and
// TimeFormat to the account defaults, CreatedAt and UpdatedAt to now.
type SeedUser struct {
	ID                                        int64                `json:"id,omitempty"`
	Active                                    *bool                `json:"active,omitempty"`
	FirstName                                 string               `json:"first_name"`
	LastName                                  string               `json:"last_name,omitempty"`
	PrimaryEmail                              string               `json:"primary_email,omitempty"`
	Email                                     string               `json:"email,omitempty"`
	SecondaryEmails                           []string             `json:"secondary_emails,omitempty"`
	JobTitle                                  string               `json:"job_title,omitempty"`
	WorkPhoneNumber                           string               `json:"work_phone_number,omitempty"`
	MobilePhoneNumber                         string               `json:"mobile_phone_number,omitempty"`
	Address                                   string               `json:"address,omitempty"`
	BackgroundInformation                     string               `json:"background_information,omitempty"`
	Departments                               []string             `json:"departments,omitempty"`
	ReportingManager                          string               `json:"reporting_manager,omitempty"`
	ReportingManagerID                        int64                `json:"reporting_manager_id,omitempty"`
	Location                                  string               `json:"location,omitempty"`
	TimeZone                                  string               `json:"time_zone,omitempty"`
	TimeFormat                                string               `json:"time_format,omitempty"`
	Language                                  string               `json:"language,omitempty"`
	ExternalID                                string               `json:"external_id,omitempty"`
	CustomFields                              map[string]any       `json:"custom_fields,omitempty"`
	CanSeeAllTicketsFromAssociatedDepartments bool                 `json:"can_see_all_tickets_from_associated_departments,omitempty"`
	CanSeeAllChangesFromAssociatedDepartments bool                 `json:"can_see_all_changes_from_associated_departments,omitempty"`
	VIPUser                                   bool                 `json:"vip_user,omitempty"`
	HasLoggedIn                               bool                 `json:"has_logged_in,omitempty"`
	Occasional                                bool                 `json:"occasional,omitempty"`
	Roles                                     []SeedRoleAssignment `json:"roles,omitempty"`
	MemberOf                                  []string             `json:"member_of,omitempty"`
	ObserverOf                                []string             `json:"observer_of,omitempty"`
	Signature                                 string               `json:"signature,omitempty"`
	CreatedAt                                 time.Time            `json:"created_at,omitzero"`
	UpdatedAt                                 time.Time            `json:"updated_at,omitzero"`
}

// SeedRoleAssignment is a role of a seeded agent, by name. AssignmentScope
// defaults to entire_helpdesk; Groups are agent group names.
type SeedRoleAssignment struct {
	Role            string   `json:"role"`
	AssignmentScope string   `json:"assignment_scope,omitempty"`
	Groups          []string `json:"groups,omitempty"`
}

// defaultRoles are the 13 roles of a fresh account, with the descriptions and
// scope keys of the recorded response (reference §7, S5).
var defaultRoles = []SeedRole{
	{Name: "Account Admin", Description: "Has complete control over the help desk including access to Account or Billing related information, and receives Invoices.", Scopes: []string{"ticket", "problem", "change", "release", "asset", "solution", "contract"}},
	{Name: "Admin", Description: "Can configure all features through the Admin tab, but is restricted from viewing Account or Billing related information.", Scopes: []string{"ticket", "problem", "change", "release", "asset", "solution", "contract"}},
	{Name: "SD Supervisor", Description: "Can perform all agent related activities and access reports, but cannot access or change configurations in the Admin tab.", Scopes: []string{"ticket", "problem", "asset", "solution", "contract"}},
	{Name: "SD Agent", Description: "Can log, view, reply, update and resolve tickets and manage contacts.", Scopes: []string{"ticket", "problem", "change", "asset", "solution", "contract"}},
	{Name: "Problem Manager", Description: "Can perform all agent related activities, view and create change and have full access for problem module", Scopes: []string{"ticket", "problem", "change", "asset", "contract"}},
	{Name: "Change Manager", Description: "Can perform all agent related activities, view and create problem release and have full access for change module", Scopes: []string{"ticket", "problem", "change", "release", "asset", "contract"}},
	{Name: "Release Manager", Description: "Can perform all agent related activities, view and create change and have full access for release module", Scopes: []string{"ticket", "change", "release", "asset", "contract"}},
	{Name: "Configuration Manager", Description: "Can perform all agent related activities, view problem, change, release and have full access for CMDB module", Scopes: []string{"ticket", "problem", "change", "release", "asset", "contract"}},
	{Name: "Contract Manager", Description: "Can perform all agent related activities, view problem, change and have full access for Contract module", Scopes: []string{"ticket", "problem", "change", "asset", "contract"}},
	{Name: "IT Ops Agent", Description: "Can perform all agent related activities, can view and manage alerts", Scopes: []string{"ticket", "problem", "change", "asset", "solution", "contract"}},
	{Name: "Project Manager", Description: "Can view, create and manage projects", Scopes: []string{"ticket", "problem", "change", "asset"}},
	{Name: "Project Member", Description: "Can view and work on projects", Scopes: []string{"ticket", "problem", "change", "asset"}},
	{Name: "Procurement Manager", Description: "Can perform all agent related activities and perform all activities on Purchase Order", Scopes: []string{"ticket", "asset", "contract"}},
}

// OwnerEmail is the email of the default account owner, the agent that owns
// the API key.
const OwnerEmail = "owner@example.com"

// defaultSeed is what a new simulator starts with unless Options.NoDefaults.
func defaultSeed() SeedData {
	roles := make([]SeedRole, len(defaultRoles))
	for i, r := range defaultRoles {
		r.Default = true
		r.Scopes = slices.Clone(r.Scopes)
		roles[i] = r
	}
	return SeedData{
		Roles:           roles,
		Departments:     []SeedDepartment{{Name: "Engineering"}, {Name: "Sales"}, {Name: "IT"}},
		Locations:       []SeedLocation{{Name: "HQ"}},
		RequesterFields: cloneFields(defaultRequesterFields),
		AgentGroups:     []SeedAgentGroup{{Name: "Service Desk"}, {Name: "Network Team"}},
		Agents: []SeedUser{{
			FirstName: "Account", LastName: "Owner", Email: OwnerEmail, HasLoggedIn: true,
			Roles: []SeedRoleAssignment{{Role: "Account Admin", AssignmentScope: scopeEntireHelpdesk}},
		}},
	}
}

// seedErrors collects seed problems with the position of the object.
type seedErrors struct{ errs []error }

func (e *seedErrors) add(where string, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
}

// applySeed adds d to st. It reports every problem it finds; the caller
// applies seeds to a copy so a failed seed leaves no trace.
func (st *state) applySeed(d SeedData, now time.Time, plan string) error {
	now = timestamp(now)
	var e seedErrors
	byName := func(what, name string, find func(string) (int64, bool), where string) int64 {
		id, ok := find(name)
		if !ok {
			e.add(where, "no %s named %q", what, name)
		}
		return id
	}
	freeID := func(where string, id int64, taken bool) {
		if id < 0 || (id > 0 && taken) {
			e.add(where, "id %d is invalid or already used", id)
		}
	}

	st.addFields(viewRequester, d.RequesterFields, "requester_fields", &e)
	st.addFields(viewAgent, d.AgentFields, "agent_fields", &e)
	for i, r := range d.Roles {
		where := fmt.Sprintf("roles[%d]", i)
		_, taken := st.roles[r.ID]
		freeID(where, r.ID, taken)
		if r.Name == "" || nameTaken(st.roles, r.Name, 0, func(x *Role) (int64, string) { return x.ID, x.Name }) {
			e.add(where, "name %q is empty or already used", r.Name)
			continue
		}
		if r.WorkspaceID != 0 && !knownWorkspace(r.WorkspaceID) {
			e.add(where, "workspace_id %d is not a workspace", r.WorkspaceID)
		}
		id := allocate(&st.nextRole, r.ID)
		st.roles[id] = &Role{ID: id, Name: r.Name, Description: r.Description, Default: r.Default, Scopes: slices.Clone(r.Scopes),
			WorkspaceID: workspaceOf(r.WorkspaceID), CreatedAt: now, UpdatedAt: now}
	}
	for i, x := range d.Departments {
		where := fmt.Sprintf("departments[%d]", i)
		_, taken := st.departments[x.ID]
		freeID(where, x.ID, taken)
		if x.Name == "" || nameTaken(st.departments, x.Name, 0, func(v *Department) (int64, string) { return v.ID, v.Name }) {
			e.add(where, "name %q is empty or already used", x.Name)
			continue
		}
		id := allocate(&st.nextDepartment, x.ID)
		cf := maps.Clone(x.CustomFields)
		if cf == nil {
			cf = map[string]any{}
		}
		st.departments[id] = &Department{ID: id, Name: x.Name, Description: x.Description, Domains: slices.Clone(x.Domains), CustomFields: cf, CreatedAt: now, UpdatedAt: now}
	}
	for i, x := range d.Locations {
		where := fmt.Sprintf("locations[%d]", i)
		_, taken := st.locations[x.ID]
		freeID(where, x.ID, taken)
		if x.Name == "" || nameTaken(st.locations, x.Name, 0, func(v *Location) (int64, string) { return v.ID, v.Name }) {
			e.add(where, "name %q is empty or already used", x.Name)
			continue
		}
		id := allocate(&st.nextLocation, x.ID)
		st.locations[id] = &Location{ID: id, Name: x.Name, Address: x.Address, Email: x.Email, Phone: x.Phone, CreatedAt: now, UpdatedAt: now}
	}
	for i, x := range d.Locations {
		if x.Parent == "" {
			continue
		}
		where := fmt.Sprintf("locations[%d]", i)
		if l, ok := st.locationByName(x.Name); ok {
			l.ParentLocationID = byName("location", x.Parent, st.locationID, where)
		}
	}
	for i, x := range d.AgentGroups {
		where := fmt.Sprintf("agent_groups[%d]", i)
		_, taken := st.groups[x.ID]
		freeID(where, x.ID, taken)
		if x.Name == "" || groupNameTaken(st.groups, x.Name, x.WorkspaceID, 0) {
			e.add(where, "name %q is empty or already used in its workspace", x.Name)
			continue
		}
		if x.UnassignedFor != "" && !slices.Contains(unassignedForValues, x.UnassignedFor) {
			e.add(where, "unassigned_for %q is not one of %v", x.UnassignedFor, unassignedForValues)
		}
		if x.WorkspaceID != 0 && !knownWorkspace(x.WorkspaceID) {
			e.add(where, "workspace_id %d is not a workspace", x.WorkspaceID)
		}
		id := allocate(&st.nextGroup, x.ID)
		st.groups[id] = &Group{ID: id, Name: x.Name, Description: x.Description, UnassignedFor: x.UnassignedFor,
			AutoTicketAssign: x.AutoTicketAssign, Restricted: x.Restricted, ApprovalRequired: x.ApprovalRequired,
			WorkspaceID: workspaceOf(x.WorkspaceID), CreatedAt: now, UpdatedAt: now}
	}
	for i, x := range d.RequesterGroups {
		where := fmt.Sprintf("requester_groups[%d]", i)
		_, taken := st.requesterGroups[x.ID]
		freeID(where, x.ID, taken)
		if x.Name == "" || nameTaken(st.requesterGroups, x.Name, 0, func(v *RequesterGroup) (int64, string) { return v.ID, v.Name }) {
			e.add(where, "name %q is empty or already used", x.Name)
			continue
		}
		typ := x.Type
		if typ == "" {
			typ = "manual"
		}
		if typ != "manual" && typ != "rule_based" {
			e.add(where, "type %q is not manual or rule_based", x.Type)
		}
		id := allocate(&st.nextRequesterGroup, x.ID)
		st.requesterGroups[id] = &RequesterGroup{ID: id, Name: x.Name, Description: x.Description, Type: typ, CreatedAt: now, UpdatedAt: now}
	}

	// Users, in two passes: first the users themselves, then everything that
	// refers to a user, so references may point forward in the file.
	type seeded struct {
		where string
		in    SeedUser
		id    int64
	}
	var users []seeded
	for _, group := range []struct {
		key   string
		list  []SeedUser
		agent bool
	}{{"requesters", d.Requesters, false}, {"agents", d.Agents, true}} {
		for i, x := range group.list {
			where := fmt.Sprintf("%s[%d]", group.key, i)
			_, taken := st.users[x.ID]
			freeID(where, x.ID, taken)
			u, ok := st.seedUser(x, group.agent, now, plan, where, &e, byName)
			if !ok {
				continue
			}
			u.ID = allocate(&st.nextUser, x.ID)
			st.putUser(u)
			users = append(users, seeded{where, x, u.ID})
		}
	}
	userByEmail := func(where, email string) int64 {
		u, ok := st.userByEmail(email)
		if !ok {
			e.add(where, "no user with the email %q", email)
			return 0
		}
		return u.ID
	}
	agentByEmail := func(where, email string) int64 {
		id := userByEmail(where, email)
		if id != 0 && !st.users[id].IsAgent {
			e.add(where, "%q is not an agent", email)
			return 0
		}
		return id
	}
	for _, s := range users {
		u := st.users[s.id]
		switch {
		case s.in.ReportingManager != "":
			u.ReportingManagerID = userByEmail(s.where, s.in.ReportingManager)
		case s.in.ReportingManagerID != 0:
			if _, ok := st.users[s.in.ReportingManagerID]; !ok {
				e.add(s.where, "no user with the id %d", s.in.ReportingManagerID)
			}
			u.ReportingManagerID = s.in.ReportingManagerID
		}
		for m, names := range [][]string{asMember: s.in.MemberOf, asObserver: s.in.ObserverOf} {
			for _, n := range names {
				if g, ok := st.groupByName(n); ok {
					st.addToGroup(g, membership(m), u.ID)
				} else {
					e.add(s.where, "no agent group named %q", n)
				}
			}
		}
		if !u.IsAgent && (len(s.in.MemberOf) > 0 || len(s.in.ObserverOf) > 0 || len(s.in.Roles) > 0) {
			e.add(s.where, "a requester cannot have roles or agent groups")
		}
	}
	for i, x := range d.AgentGroups {
		where := fmt.Sprintf("agent_groups[%d]", i)
		g, ok := st.groupByNameIn(x.Name, x.WorkspaceID)
		if !ok {
			continue
		}
		if x.EscalateTo != "" {
			g.EscalateTo = agentByEmail(where, x.EscalateTo)
		}
		for m, emails := range [][]string{asMember: x.Members, asObserver: x.Observers, asLeader: x.Leaders} {
			for _, em := range emails {
				if id := agentByEmail(where, em); id != 0 {
					st.addToGroup(g, membership(m), id)
				}
			}
		}
	}
	for i, x := range d.RequesterGroups {
		where := fmt.Sprintf("requester_groups[%d]", i)
		g, ok := st.requesterGroupByName(x.Name)
		if !ok {
			continue
		}
		ids := slices.Clone(x.MemberIDs)
		for _, em := range x.Members {
			ids = append(ids, userByEmail(where, em))
		}
		for _, id := range ids {
			if u, ok := st.users[id]; !ok || !u.Active {
				if id != 0 {
					e.add(where, "no active user with the id %d", id)
				}
				continue
			}
			if !slices.Contains(st.requesterGroupMembers[g.ID], id) {
				st.requesterGroupMembers[g.ID] = append(st.requesterGroupMembers[g.ID], id)
			}
		}
	}
	for i, x := range d.Departments {
		where := fmt.Sprintf("departments[%d]", i)
		dep, ok := st.departmentByName(x.Name)
		if !ok {
			continue
		}
		if x.HeadUser != "" {
			dep.HeadUserID = userByEmail(where, x.HeadUser)
		}
		if x.PrimeUser != "" {
			dep.PrimeUserID = userByEmail(where, x.PrimeUser)
		}
	}
	for i, x := range d.Locations {
		if x.PrimaryContact == "" {
			continue
		}
		if l, ok := st.locationByName(x.Name); ok {
			l.PrimaryContactID = userByEmail(fmt.Sprintf("locations[%d]", i), x.PrimaryContact)
		}
	}
	// Seeded users are old news to the search index: visible at once.
	for _, s := range users {
		st.indexWrite(s.id, st.users[s.id], time.Time{}, 0)
	}
	if len(e.errs) > 0 {
		return fmt.Errorf("seed: %w", errors.Join(e.errs...))
	}
	return nil
}

// seedUser builds one user from a seed entry, checking it as the API would.
func (st *state) seedUser(x SeedUser, agent bool, now time.Time, plan, where string, e *seedErrors,
	byName func(what, name string, find func(string) (int64, bool), where string) int64) (*User, bool) {
	email := x.PrimaryEmail
	if email == "" {
		email = x.Email
	}
	u := &User{
		IsAgent: agent, Occasional: agent && x.Occasional, Active: x.Active == nil || *x.Active,
		HasLoggedIn: x.HasLoggedIn, VIPUser: x.VIPUser,
		FirstName: x.FirstName, LastName: x.LastName, PrimaryEmail: email, SecondaryEmails: slices.Clone(x.SecondaryEmails),
		JobTitle: x.JobTitle, WorkPhoneNumber: x.WorkPhoneNumber, MobilePhoneNumber: x.MobilePhoneNumber,
		Address: x.Address, BackgroundInformation: x.BackgroundInformation,
		TimeZone: x.TimeZone, TimeFormat: x.TimeFormat, Language: x.Language, ExternalID: x.ExternalID,
		CustomFields: maps.Clone(x.CustomFields),
		CanSeeAllTicketsFromAssociatedDepartments: x.CanSeeAllTicketsFromAssociatedDepartments,
		CanSeeAllChangesFromAssociatedDepartments: x.CanSeeAllChangesFromAssociatedDepartments,
		Signature: x.Signature, CreatedAt: timestamp(x.CreatedAt), UpdatedAt: timestamp(x.UpdatedAt),
	}
	if u.TimeZone == "" {
		u.TimeZone = defaultTimeZone
	}
	if u.Language == "" {
		u.Language = defaultLanguage
	}
	if u.TimeFormat == "" {
		u.TimeFormat = defaultTimeFormat
	}
	if x.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	if x.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	ok := true
	fail := func(format string, args ...any) {
		e.add(where, format, args...)
		ok = false
	}
	if u.FirstName == "" {
		fail("first_name is required")
	}
	if agent && email == "" {
		fail("an agent needs an email")
	}
	if email == "" && u.WorkPhoneNumber == "" && u.MobilePhoneNumber == "" {
		fail("one of primary_email, work_phone_number and mobile_phone_number is required")
	}
	for _, em := range append([]string{email}, u.SecondaryEmails...) {
		if em == "" {
			continue
		}
		if !validEmail(em) {
			fail("%q is not an email address", em)
		} else if _, taken := st.emailOwner(em, 0); taken {
			fail("the email %q is already used", em)
		}
	}
	if !validTimeZone(u.TimeZone) {
		fail("time_zone %q is not a Freshservice time zone", u.TimeZone)
	}
	if !validLanguage(u.Language) {
		fail("language %q is not a Freshservice language", u.Language)
	}
	if u.TimeFormat != "12h" && u.TimeFormat != "24h" {
		fail("time_format %q is not 12h or 24h", u.TimeFormat)
	}
	view := viewRequester
	if agent {
		view = viewAgent
	}
	for _, fe := range st.checkCustomValues(view, u.CustomFields, false, false) {
		fail("custom field %s: %s", fe.Field, fe.Message)
	}
	for _, n := range x.Departments {
		u.DepartmentIDs = append(u.DepartmentIDs, byName("department", n, st.departmentID, where))
	}
	if x.Location != "" {
		u.LocationID = byName("location", x.Location, st.locationID, where)
	}
	for _, r := range x.Roles {
		ra := RoleAssignment{RoleID: byName("role", r.Role, st.roleID, where), AssignmentScope: r.AssignmentScope}
		if ra.AssignmentScope == "" {
			ra.AssignmentScope = scopeEntireHelpdesk
		}
		switch ra.AssignmentScope {
		case scopeEntireHelpdesk, scopeMemberGroups, scopeAssignedItems:
		case scopeSpecifiedGroups:
			if len(r.Groups) == 0 {
				fail("role %q: specified_groups needs groups", r.Role)
			}
			if plan != "pro" && plan != "enterprise" {
				fail("role %q: specified_groups needs the pro or enterprise plan", r.Role)
			}
			for _, g := range r.Groups {
				ra.Groups = append(ra.Groups, byName("agent group", g, st.groupID, where))
			}
		default:
			fail("role %q: unknown assignment_scope %q", r.Role, r.AssignmentScope)
		}
		u.Roles = append(u.Roles, ra)
	}
	normalizeUser(u)
	return u, ok
}

// addToGroup adds uid to g's list for m, pending if the group needs approval.
func (st *state) addToGroup(g *Group, m membership, uid int64) {
	approved, pending := g.lists(m)
	if !g.has(m, uid) {
		g.setMembership(m, append(slices.Concat(*approved, *pending), uid), false)
	}
}

// Lookups by name (case-insensitive) and email.

func findByName[T any](m map[int64]*T, name string, nameOf func(*T) (int64, string)) (*T, bool) {
	for _, v := range sortedByID(m) {
		if _, n := nameOf(v); strings.EqualFold(n, name) {
			return v, true
		}
	}
	return nil, false
}

func (st *state) roleByName(name string) (*Role, bool) {
	return findByName(st.roles, name, func(r *Role) (int64, string) { return r.ID, r.Name })
}

func (st *state) departmentByName(name string) (*Department, bool) {
	return findByName(st.departments, name, func(d *Department) (int64, string) { return d.ID, d.Name })
}

func (st *state) locationByName(name string) (*Location, bool) {
	return findByName(st.locations, name, func(l *Location) (int64, string) { return l.ID, l.Name })
}

func (st *state) groupByName(name string) (*Group, bool) {
	return findByName(st.groups, name, func(g *Group) (int64, string) { return g.ID, g.Name })
}

// groupByNameIn finds the agent group of that name in workspace ws.
func (st *state) groupByNameIn(name string, ws int64) (*Group, bool) {
	var best *Group
	for _, g := range st.groups {
		if workspaceOf(g.WorkspaceID) == workspaceOf(ws) && strings.EqualFold(g.Name, name) && (best == nil || g.ID < best.ID) {
			best = g
		}
	}
	return best, best != nil
}

func (st *state) requesterGroupByName(name string) (*RequesterGroup, bool) {
	return findByName(st.requesterGroups, name, func(g *RequesterGroup) (int64, string) { return g.ID, g.Name })
}

func (st *state) roleID(name string) (int64, bool) {
	r, ok := st.roleByName(name)
	if !ok {
		return 0, false
	}
	return r.ID, true
}

func (st *state) departmentID(name string) (int64, bool) {
	d, ok := st.departmentByName(name)
	if !ok {
		return 0, false
	}
	return d.ID, true
}

func (st *state) locationID(name string) (int64, bool) {
	l, ok := st.locationByName(name)
	if !ok {
		return 0, false
	}
	return l.ID, true
}

func (st *state) groupID(name string) (int64, bool) {
	g, ok := st.groupByName(name)
	if !ok {
		return 0, false
	}
	return g.ID, true
}

// userByEmail finds the user with email as primary or secondary email.
func (st *state) userByEmail(email string) (*User, bool) { return st.emailOwner(email, 0) }

// dump returns the whole state as seed data that recreates it, ids included.
// Pending approvals are written as plain memberships.
func (st *state) dump() SeedData {
	d := SeedData{RequesterFields: cloneFields(st.requesterFields), AgentFields: cloneFields(st.agentFields)}
	emailOf := func(id int64) string {
		if u, ok := st.users[id]; ok {
			return u.PrimaryEmail
		}
		return ""
	}
	for _, r := range sortedByID(st.roles) {
		d.Roles = append(d.Roles, SeedRole{ID: r.ID, Name: r.Name, Description: r.Description, Default: r.Default, Scopes: slices.Clone(r.Scopes), WorkspaceID: nonPrimary(r.WorkspaceID)})
	}
	for _, x := range sortedByID(st.departments) {
		d.Departments = append(d.Departments, SeedDepartment{ID: x.ID, Name: x.Name, Description: x.Description,
			Domains: slices.Clone(x.Domains), HeadUser: emailOf(x.HeadUserID), PrimeUser: emailOf(x.PrimeUserID),
			CustomFields: maps.Clone(x.CustomFields)})
	}
	for _, x := range sortedByID(st.locations) {
		l := SeedLocation{ID: x.ID, Name: x.Name, PrimaryContact: emailOf(x.PrimaryContactID), Address: x.Address, Email: x.Email, Phone: x.Phone}
		if p, ok := st.locations[x.ParentLocationID]; ok {
			l.Parent = p.Name
		}
		d.Locations = append(d.Locations, l)
	}
	for _, g := range sortedByID(st.groups) {
		sg := SeedAgentGroup{ID: g.ID, Name: g.Name, Description: g.Description, UnassignedFor: g.UnassignedFor,
			EscalateTo: emailOf(g.EscalateTo), AutoTicketAssign: g.AutoTicketAssign, Restricted: g.Restricted, ApprovalRequired: g.ApprovalRequired,
			WorkspaceID: nonPrimary(g.WorkspaceID)}
		for _, id := range slices.Concat(g.Leaders, g.LeadersPendingApproval) {
			sg.Leaders = append(sg.Leaders, emailOf(id))
		}
		d.AgentGroups = append(d.AgentGroups, sg)
	}
	for _, g := range sortedByID(st.requesterGroups) {
		sg := SeedRequesterGroup{ID: g.ID, Name: g.Name, Description: g.Description, Type: g.Type}
		for _, id := range st.requesterGroupMembers[g.ID] {
			if e := emailOf(id); e != "" {
				sg.Members = append(sg.Members, e)
			} else {
				sg.MemberIDs = append(sg.MemberIDs, id)
			}
		}
		d.RequesterGroups = append(d.RequesterGroups, sg)
	}
	for _, stored := range st.usersByID() {
		u := st.userCopy(stored)
		active := u.Active
		su := SeedUser{
			ID: u.ID, Active: &active, FirstName: u.FirstName, LastName: u.LastName,
			SecondaryEmails: slices.Clone(u.SecondaryEmails), JobTitle: u.JobTitle,
			WorkPhoneNumber: u.WorkPhoneNumber, MobilePhoneNumber: u.MobilePhoneNumber,
			Address: u.Address, BackgroundInformation: u.BackgroundInformation,
			TimeZone: u.TimeZone, TimeFormat: u.TimeFormat, Language: u.Language, ExternalID: u.ExternalID,
			CustomFields: maps.Clone(u.CustomFields),
			CanSeeAllTicketsFromAssociatedDepartments: u.CanSeeAllTicketsFromAssociatedDepartments,
			CanSeeAllChangesFromAssociatedDepartments: u.CanSeeAllChangesFromAssociatedDepartments,
			VIPUser: u.VIPUser, HasLoggedIn: u.HasLoggedIn, Occasional: u.Occasional, Signature: u.Signature,
			CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		}
		if len(su.CustomFields) == 0 {
			su.CustomFields = nil
		}
		for _, id := range u.DepartmentIDs {
			if x, ok := st.departments[id]; ok {
				su.Departments = append(su.Departments, x.Name)
			}
		}
		if l, ok := st.locations[u.LocationID]; ok {
			su.Location = l.Name
		}
		if m, ok := st.users[u.ReportingManagerID]; ok {
			if m.PrimaryEmail != "" {
				su.ReportingManager = m.PrimaryEmail
			} else {
				su.ReportingManagerID = m.ID
			}
		}
		for _, r := range u.Roles {
			sr := SeedRoleAssignment{AssignmentScope: r.AssignmentScope}
			if x, ok := st.roles[r.RoleID]; ok {
				sr.Role = x.Name
			}
			for _, g := range r.Groups {
				if x, ok := st.groups[g]; ok {
					sr.Groups = append(sr.Groups, x.Name)
				}
			}
			su.Roles = append(su.Roles, sr)
		}
		for _, id := range slices.Concat(u.MemberOf, u.MemberOfPendingApproval) {
			su.MemberOf = append(su.MemberOf, st.groups[id].Name)
		}
		for _, id := range slices.Concat(u.ObserverOf, u.ObserverOfPendingApproval) {
			su.ObserverOf = append(su.ObserverOf, st.groups[id].Name)
		}
		if u.IsAgent {
			su.Email = u.PrimaryEmail
			d.Agents = append(d.Agents, su)
		} else {
			su.PrimaryEmail = u.PrimaryEmail
			d.Requesters = append(d.Requesters, su)
		}
	}
	return d
}
