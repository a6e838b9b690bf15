package simulator

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"unicode"
)

// This file implements /requesters and /agents (reference §3, §4): two views
// of the one user table.

type userView int

const (
	viewRequester userView = iota
	viewAgent
)

func (v userView) envelope() string {
	if v == viewAgent {
		return "agent"
	}
	return "requester"
}

func (v userView) plural() string { return v.envelope() + "s" }

func (v userView) path() string { return "/api/v2/" + v.plural() }

// emailKey is the name of the primary email in the view: requesters have
// primary_email, agents email (reference §13 item 1).
func (v userView) emailKey() string {
	if v == viewAgent {
		return "email"
	}
	return "primary_email"
}

// Defaults of a new user; the account's time zone is the one every recorded
// response shows.
const (
	defaultTimeZone   = "Eastern Time (US & Canada)"
	defaultLanguage   = "en"
	defaultTimeFormat = "12h"
)

// Assignment scopes of agent roles (reference §4.3).
const (
	scopeEntireHelpdesk  = "entire_helpdesk"
	scopeMemberGroups    = "member_groups"
	scopeSpecifiedGroups = "specified_groups"
	scopeAssignedItems   = "assigned_items"
)

func (c *call) render(u *User, v userView) any {
	if v == viewAgent {
		return c.st.agentJSON(u)
	}
	return c.st.requesterJSON(u)
}

// userInput is a parsed create or update body; a nil field was not sent.
type userInput struct {
	firstName, lastName, jobTitle, email, address, background *string
	workPhone, mobilePhone, timeZone, timeFormat, language    *string
	externalID, signature                                     *string
	secondaryEmails                                           *[]string
	departmentIDs, memberOf, observerOf                       *[]int64
	reportingManagerID, locationID, scoreboardLevelID         *int64
	canSeeAllTickets, canSeeAllChanges, vipUser, occasional   *bool
	customFields                                              map[string]any
	roles                                                     *[]RoleAssignment
}

// readUserInput reads the keys the view accepts. Anything else is left for
// form.finish to report as invalid_field.
func readUserInput(f *form, v userView, sw Switches) *userInput {
	in := &userInput{
		firstName:          f.str("first_name"),
		lastName:           f.str("last_name"),
		jobTitle:           f.str("job_title"),
		address:            f.str("address"),
		background:         f.str("background_information"),
		workPhone:          f.str("work_phone_number"),
		mobilePhone:        f.str("mobile_phone_number"),
		timeZone:           f.str("time_zone"),
		timeFormat:         f.str("time_format"),
		language:           f.str("language"),
		departmentIDs:      f.ids("department_ids"),
		reportingManagerID: f.id("reporting_manager_id"),
		locationID:         f.id("location_id"),
		canSeeAllTickets:   f.boolean("can_see_all_tickets_from_associated_departments"),
		customFields:       f.customFields("custom_fields"),
	}
	if sw.VIPUserWritable {
		in.vipUser = f.boolean("vip_user")
	}
	if v == viewRequester {
		in.email = f.str("primary_email")
		in.secondaryEmails = f.strs("secondary_emails")
		in.canSeeAllChanges = f.boolean("can_see_all_changes_from_associated_departments")
		in.externalID = f.str("external_id")
		return in
	}
	// Deprecated since Aug 2023 and rejected on input (reference §4.1).
	f.deprecated("role_ids", "group_ids", "ticket_scope", "problem_scope", "change_scope", "release_scope", "scopes")
	in.email = f.str("email")
	in.occasional = f.boolean("occasional")
	in.signature = f.str("signature")
	in.scoreboardLevelID = f.id("scoreboard_level_id")
	in.memberOf = f.ids("member_of")
	in.observerOf = f.ids("observer_of")
	in.roles = readRoles(f)
	if !sw.AgentExternalIDReadOnly {
		in.externalID = f.str("external_id")
	}
	return in
}

// readRoles reads the agent roles array: [{role_id, assignment_scope, groups}].
func readRoles(f *form) *[]RoleAssignment {
	v, ok := f.raw("roles")
	if !ok {
		return nil
	}
	out := []RoleAssignment{}
	if isNull(v) {
		return &out
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		f.mismatch("roles", "Array of key/value pairs")
		return nil
	}
	bad := false
	for _, it := range items {
		var ra RoleAssignment
		for _, k := range slices.Sorted(maps.Keys(it)) {
			if k != "role_id" && k != "assignment_scope" && k != "groups" {
				f.fail("roles", codeInvalidField, "Unexpected/invalid field in request: roles."+k)
				bad = true
			}
		}
		if raw, has := it["role_id"]; !has {
			f.fail("roles", codeMissingField, "role_id is mandatory in every role")
			bad = true
		} else if ra.RoleID, ok = parseID(raw); !ok {
			f.fail("roles", codeDatatypeMismatch, "role_id should be a/an Positive Integer")
			bad = true
		}
		if raw, has := it["assignment_scope"]; !has {
			f.fail("roles", codeMissingField, "assignment_scope is mandatory in every role")
			bad = true
		} else if json.Unmarshal(raw, &ra.AssignmentScope) != nil {
			f.fail("roles", codeDatatypeMismatch, "assignment_scope should be a/an String")
			bad = true
		}
		if raw, has := it["groups"]; has && !isNull(raw) {
			var groups []json.RawMessage
			if json.Unmarshal(raw, &groups) != nil {
				f.fail("roles", codeDatatypeMismatch, "groups should be a/an Array of Positive Integer")
				bad = true
			}
			for _, g := range groups {
				id, good := parseID(g)
				if !good {
					f.fail("roles", codeDatatypeMismatch, "groups should be a/an Array of Positive Integer")
					bad = true
					break
				}
				if !slices.Contains(ra.Groups, id) {
					ra.Groups = append(ra.Groups, id)
				}
			}
		}
		out = append(out, ra)
	}
	if bad {
		return nil
	}
	return &out
}

// checkUser validates the values of in against the account: formats,
// vocabularies and references. self is the user being updated, or nil.
func (c *call) checkUser(in *userInput, v userView, self *User) []fieldError {
	st := c.st
	var errs []fieldError
	add := func(field, code, msg string) { errs = append(errs, fieldError{Field: field, Message: msg, Code: code}) }
	if in.firstName != nil && strings.TrimSpace(*in.firstName) == "" {
		add("first_name", codeInvalidValue, "It should not be blank")
	}
	if in.email != nil && *in.email != "" && !validEmail(*in.email) {
		add(v.emailKey(), codeInvalidValue, "It should be in the 'valid email address' format")
	}
	if in.secondaryEmails != nil {
		primary := ""
		if self != nil {
			primary = self.PrimaryEmail
		}
		if in.email != nil {
			primary = *in.email
		}
		var seen []string
		for _, e := range *in.secondaryEmails {
			switch {
			case !validEmail(e):
				add("secondary_emails", codeInvalidValue, fmt.Sprintf("%q should be in the 'valid email address' format", e))
			case strings.EqualFold(e, primary) || slices.ContainsFunc(seen, func(s string) bool { return strings.EqualFold(s, e) }):
				add("secondary_emails", codeInvalidValue, fmt.Sprintf("%q is repeated; the emails of a user must all differ", e))
			}
			seen = append(seen, e)
		}
	}
	if in.departmentIDs != nil {
		for _, id := range *in.departmentIDs {
			if _, ok := st.departments[id]; !ok {
				add("department_ids", codeInvalidValue, fmt.Sprintf("There is no department with the id %d", id))
			}
		}
	}
	if in.reportingManagerID != nil && *in.reportingManagerID != 0 {
		id := *in.reportingManagerID
		if _, ok := st.users[id]; !ok || (self != nil && self.ID == id) {
			add("reporting_manager_id", codeInvalidValue, fmt.Sprintf("There is no other user with the id %d", id))
		}
	}
	if in.locationID != nil && *in.locationID != 0 {
		if _, ok := st.locations[*in.locationID]; !ok {
			add("location_id", codeInvalidValue, fmt.Sprintf("There is no location with the id %d", *in.locationID))
		}
	}
	if in.timeZone != nil && !validTimeZone(*in.timeZone) {
		add("time_zone", codeInvalidValue, fmt.Sprintf("%q is not a Freshservice time zone, e.g. 'Eastern Time (US & Canada)'", *in.timeZone))
	}
	if in.language != nil && !validLanguage(*in.language) {
		add("language", codeInvalidValue, fmt.Sprintf("%q is not a Freshservice language code, e.g. 'en' or 'ja-JP'", *in.language))
	}
	if in.timeFormat != nil && *in.timeFormat != "12h" && *in.timeFormat != "24h" {
		add("time_format", codeInvalidValue, "It should be one of these values: '12h,24h'")
	}
	if in.scoreboardLevelID != nil && (*in.scoreboardLevelID < 0 || *in.scoreboardLevelID > 6) {
		add("scoreboard_level_id", codeInvalidValue, "It should be one of these values: '1,2,3,4,5,6'")
	}
	if in.roles != nil {
		if len(*in.roles) == 0 && !c.sw.AgentRolesOptional {
			add("roles", codeInvalidValue, "It should contain at least one role")
		}
		for i := range *in.roles {
			r := &(*in.roles)[i]
			if _, ok := st.roles[r.RoleID]; !ok {
				add("roles", codeInvalidValue, fmt.Sprintf("There is no role with the id %d", r.RoleID))
			}
			switch r.AssignmentScope {
			case scopeEntireHelpdesk, scopeMemberGroups, scopeAssignedItems:
				// groups is ignored for these scopes (reference §4.3).
				r.Groups = nil
			case scopeSpecifiedGroups:
				// Below Pro this is 403 require_feature (gateUser).
				if len(r.Groups) == 0 {
					add("roles", codeMissingField, "groups is mandatory when assignment_scope is specified_groups")
				}
				for _, g := range r.Groups {
					if _, ok := st.groups[g]; !ok {
						add("roles", codeInvalidValue, fmt.Sprintf("There is no agent group with the id %d", g))
					}
				}
			default:
				add("roles", codeInvalidValue, "assignment_scope should be one of these values: 'entire_helpdesk,member_groups,specified_groups,assigned_items'")
			}
		}
	}
	for key, ids := range map[string]*[]int64{"member_of": in.memberOf, "observer_of": in.observerOf} {
		if ids == nil {
			continue
		}
		for _, id := range *ids {
			if _, ok := st.groups[id]; !ok {
				add(key, codeInvalidValue, fmt.Sprintf("There is no agent group with the id %d", id))
			}
		}
	}
	if in.customFields != nil || self == nil {
		errs = append(errs, st.checkCustomValues(v, in.customFields, self == nil, c.sw.CustomFieldRequired)...)
	}
	if self != nil && c.sw.EmailChangeReadOnly && in.email != nil && *in.email != self.PrimaryEmail {
		add(v.emailKey(), "readonly_field", "The email of an existing user cannot be changed through the API")
	}
	slices.SortStableFunc(errs, func(a, b fieldError) int { return strings.Compare(a.Field, b.Field) })
	return errs
}

// duplicateEmails checks account-wide email uniqueness (reference §9): every
// user's primary and secondary emails, any case, deactivated users included.
func (c *call) duplicateEmails(in *userInput, v userView, self int64) []fieldError {
	var errs []fieldError
	if in.email != nil && *in.email != "" {
		if _, taken := c.st.emailOwner(*in.email, self); taken {
			errs = append(errs, fieldError{Field: v.emailKey(), Message: "It should be a unique value", Code: codeDuplicateValue})
		}
	}
	if in.secondaryEmails != nil {
		for _, e := range *in.secondaryEmails {
			if _, taken := c.st.emailOwner(e, self); taken {
				errs = append(errs, fieldError{Field: "secondary_emails", Message: "It should be a unique value", Code: codeDuplicateValue})
				break
			}
		}
	}
	return errs
}

// applyUserInput copies the sent fields onto u. Arrays replace whole;
// custom_fields merges key by key. can_see_all_tickets_from_associated_
// departments is false unless sent as true, whatever it was before: the
// official note of reference §3.5.
func applyUserInput(u *User, in *userInput) {
	for _, f := range []struct {
		dst *string
		src *string
	}{
		{&u.FirstName, in.firstName}, {&u.LastName, in.lastName}, {&u.JobTitle, in.jobTitle},
		{&u.PrimaryEmail, in.email}, {&u.Address, in.address}, {&u.BackgroundInformation, in.background},
		{&u.WorkPhoneNumber, in.workPhone}, {&u.MobilePhoneNumber, in.mobilePhone},
		{&u.TimeZone, in.timeZone}, {&u.TimeFormat, in.timeFormat}, {&u.Language, in.language},
		{&u.ExternalID, in.externalID}, {&u.Signature, in.signature},
	} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if in.secondaryEmails != nil {
		u.SecondaryEmails = slices.Clone(*in.secondaryEmails)
	}
	if in.departmentIDs != nil {
		u.DepartmentIDs = slices.Clone(*in.departmentIDs)
	}
	for _, f := range []struct {
		dst *int64
		src *int64
	}{{&u.ReportingManagerID, in.reportingManagerID}, {&u.LocationID, in.locationID}, {&u.ScoreboardLevelID, in.scoreboardLevelID}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	for _, f := range []struct {
		dst *bool
		src *bool
	}{{&u.CanSeeAllChangesFromAssociatedDepartments, in.canSeeAllChanges}, {&u.VIPUser, in.vipUser}, {&u.Occasional, in.occasional}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	u.CanSeeAllTicketsFromAssociatedDepartments = in.canSeeAllTickets != nil && *in.canSeeAllTickets
	if in.customFields != nil {
		if u.CustomFields == nil {
			u.CustomFields = map[string]any{}
		}
		for k, v := range in.customFields {
			u.CustomFields[k] = v
		}
	}
	if in.roles != nil {
		u.Roles = cloneRoles(*in.roles)
	}
}

// normalizeUser puts u in canonical form, so that "did anything change" is a
// plain comparison: empty lists are nil, custom_fields is never nil, and a
// requester carries no agent-only values.
func normalizeUser(u *User) {
	if len(u.SecondaryEmails) == 0 {
		u.SecondaryEmails = nil
	}
	// A primary email that was a secondary one moves out of the list.
	u.SecondaryEmails = slices.DeleteFunc(u.SecondaryEmails, func(e string) bool { return strings.EqualFold(e, u.PrimaryEmail) })
	if len(u.SecondaryEmails) == 0 {
		u.SecondaryEmails = nil
	}
	if len(u.DepartmentIDs) == 0 {
		u.DepartmentIDs = nil
	}
	if u.CustomFields == nil {
		u.CustomFields = map[string]any{}
	}
	if !u.IsAgent {
		u.Occasional = false
		u.Roles = nil
	}
	if len(u.Roles) == 0 {
		u.Roles = nil
	}
	for i := range u.Roles {
		if len(u.Roles[i].Groups) == 0 {
			u.Roles[i].Groups = nil
		}
	}
	u.MemberOf, u.ObserverOf, u.MemberOfPendingApproval, u.ObserverOfPendingApproval = nil, nil, nil, nil
}

// requireContact checks what a user must have after a create or update.
func requireContact(u *User, v userView) []fieldError {
	if v == viewAgent {
		if u.PrimaryEmail == "" {
			return []fieldError{{Field: "email", Message: "It should be a/an String", Code: codeMissingField}}
		}
		return nil
	}
	if u.PrimaryEmail == "" && u.WorkPhoneNumber == "" && u.MobilePhoneNumber == "" {
		return []fieldError{{Field: "primary_email", Message: "Please fill at least 1 of primary_email, work_phone_number, mobile_phone_number fields", Code: codeMissingField}}
	}
	return nil
}

func (c *call) seatAvailable(except int64) bool {
	return c.s.seats == 0 || c.st.fullTimeUsed(except) < c.s.seats
}

// seatError is the answer when a full-time seat is needed and none is left
// (reference §4.3: the S1 notes list "agent limit reached" among the 403s).
func (c *call) seatError() reply {
	return codeError(c.sw.seatStatus(), "access_denied",
		"You have reached the maximum number of full-time agents your plan allows. Buy more agent licenses or make the agent occasional.")
}

// downgrades reports whether a full-time agent that finds no seat becomes
// occasional instead of failing, as in workspace accounts (§19).
func (c *call) downgrades() bool { return c.sw.SeatExhaustion == SeatsDowngrade }

func (c *call) indexUser(u *User) { c.st.indexWrite(u.ID, u, c.exact, c.sw.QueryIndexLag) }

// userFor returns the user of the path id if the view may change it:
// /agents addresses agents only and /requesters requesters only.
func (c *call) userFor(v userView) (*User, bool) {
	u, ok := c.st.users[c.ids[0]]
	if !ok || u.IsAgent != (v == viewAgent) {
		return nil, false
	}
	return u, true
}

func (c *call) getUser(v userView) reply {
	u, ok := c.st.users[c.ids[0]]
	// GET /requesters/{id} shows agents too, in requester shape with
	// is_agent:true (reference §3.4), unless Switches.RequesterViewOfAgents
	// says 404 (§19 leaves it open); GET /agents/{id} of a requester is 404.
	if !ok || (v == viewAgent && !u.IsAgent) || (v == viewRequester && u.IsAgent && c.sw.RequesterViewOfAgents == RequesterViewNotFound) {
		return c.notFound()
	}
	return okReply(v.envelope(), c.render(u, v))
}

// rewrite applies Switches.NormalizeOnWrite to the values of in.
func (c *call) rewrite(in *userInput) {
	if !c.sw.NormalizeOnWrite {
		return
	}
	for _, p := range []*string{in.workPhone, in.mobilePhone} {
		if p != nil {
			*p = normalizePhone(*p)
		}
	}
	for _, p := range []*string{in.firstName, in.lastName} {
		if p != nil {
			*p = strings.Join(strings.Fields(*p), " ")
		}
	}
}

// normalizePhone drops the spaces, dashes and parentheses people write
// phone numbers with, keeping digits, "+" and anything else.
func normalizePhone(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '-' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, s)
}

func (c *call) createUser(v userView) reply {
	in := readUserInput(c.f, v, c.sw)
	c.rewrite(in)
	errs := c.f.finish()
	if len(errs) == 0 {
		if rep, gated := c.gateUser(in); gated {
			return rep
		}
	}
	missing := func(field string) {
		if !c.f.has(field) {
			errs = append(errs, fieldError{Field: field, Message: "It should be a/an String", Code: codeMissingField})
		}
	}
	missing("first_name")
	if v == viewAgent {
		missing("email")
		if !c.sw.AgentRolesOptional && !c.f.has("roles") {
			errs = append(errs, fieldError{Field: "roles", Message: "Assign at least one role so the agent can sign in", Code: codeMissingField})
		}
	}
	errs = append(errs, c.checkUser(in, v, nil)...)
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	u := &User{
		IsAgent: v == viewAgent, Active: true,
		TimeZone: defaultTimeZone, Language: defaultLanguage, TimeFormat: defaultTimeFormat,
		CreatedAt: c.now, UpdatedAt: c.now,
	}
	applyUserInput(u, in)
	normalizeUser(u)
	if errs := requireContact(u, v); len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	if dups := c.duplicateEmails(in, v, 0); len(dups) > 0 {
		return c.duplicateError(v == viewRequester, dups)
	}
	if u.IsAgent && !u.Occasional && !c.seatAvailable(0) {
		if !c.downgrades() {
			return c.seatError()
		}
		u.Occasional = true
	}
	u.ID = allocate(&c.st.nextUser, 0)
	c.st.putUser(u)
	if in.memberOf != nil {
		c.st.setUserGroups(u.ID, asMember, *in.memberOf, c.sw.RestrictedGroupApproval)
	}
	if in.observerOf != nil {
		c.st.setUserGroups(u.ID, asObserver, *in.observerOf, c.sw.RestrictedGroupApproval)
	}
	c.indexUser(u)
	if v == viewRequester {
		// A real tenant answers 201 to a requester create (reference §19).
		return createdWith(http.StatusCreated, c.base, v.envelope(), v.path(), u.ID, c.render(u, v))
	}
	return c.created(v.envelope(), v.path(), u.ID, c.render(u, v))
}

func (c *call) updateUser(v userView) reply {
	u, ok := c.userFor(v)
	if !ok {
		return c.notFound()
	}
	in := readUserInput(c.f, v, c.sw)
	c.rewrite(in)
	errs := c.f.finish()
	if len(errs) == 0 {
		if rep, gated := c.gateUser(in); gated {
			return rep
		}
	}
	errs = append(errs, c.checkUser(in, v, u)...)
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	next := u.clone()
	applyUserInput(next, in)
	normalizeUser(next)
	if errs := requireContact(next, v); len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	if dups := c.duplicateEmails(in, v, u.ID); len(dups) > 0 {
		return c.duplicateError(false, dups)
	}
	if next.IsAgent && next.Active && !next.Occasional && u.Occasional && !c.seatAvailable(u.ID) {
		if !c.downgrades() {
			return c.seatError()
		}
		next.Occasional = true
	}
	changed := !reflect.DeepEqual(u, next)
	c.st.putUser(next)
	if in.memberOf != nil && len(c.st.setUserGroups(u.ID, asMember, *in.memberOf, c.sw.RestrictedGroupApproval)) > 0 {
		changed = true
	}
	if in.observerOf != nil && len(c.st.setUserGroups(u.ID, asObserver, *in.observerOf, c.sw.RestrictedGroupApproval)) > 0 {
		changed = true
	}
	// Like Rails, an update that changes nothing leaves updated_at alone.
	if changed {
		next.UpdatedAt = c.now
		c.indexUser(next)
	}
	return okReply(v.envelope(), c.render(next, v))
}

// duplicateError answers a create or update that reuses an email. A
// requester create answers 409 on a real tenant (reference §19); elsewhere
// the status is Switches.DuplicateEmailStatus. The 409's body is not public,
// so Switches.DuplicateEmailBody picks it.
func (c *call) duplicateError(requesterCreate bool, dups []fieldError) reply {
	status := c.sw.duplicateStatus()
	if requesterCreate {
		status = http.StatusConflict
	}
	if status == http.StatusConflict && c.sw.DuplicateEmailBody == DuplicateBodyConflict {
		return codeError(status, "inconsistent_state", "The email address is already used by another user.")
	}
	return validationError(status, dups)
}

// alreadyActive is a real tenant's answer to reactivating an active
// requester (reference §19).
func alreadyActive() reply {
	return codeError(http.StatusBadRequest, "contact_already_active", "Contact is already active and cannot be restored.")
}

// repeatFails reports whether a repeated deactivate or reactivate of a user
// seen through v is an error: always for requesters (reference §19), for
// agents as Switches.AgentRepeatCalls says.
func (c *call) repeatFails(v userView) bool {
	return v == viewRequester || c.sw.AgentRepeatCalls == RepeatFail
}

// deactivateUser is DELETE /requesters/{id} or /agents/{id}: a soft delete
// (reference §3.6, §4.5). The user leaves every requester group; an agent
// keeps its agent groups unless Switches.AgentDeactivateClearsGroups. A
// deactivated requester answers 404, as on a real tenant (§19).
func (c *call) deactivateUser(v userView) reply {
	u, ok := c.userFor(v)
	if !ok {
		return c.notFound()
	}
	if !u.Active && c.repeatFails(v) {
		return c.notFound()
	}
	if u.Active {
		u.Active = false
		u.UpdatedAt = c.now
		c.indexUser(u)
	}
	c.st.dropFromRequesterGroups(u.ID)
	if v == viewRequester {
		return noContent()
	}
	if c.sw.AgentDeactivateClearsGroups {
		c.st.dropFromAgentGroups(u.ID)
	}
	if c.sw.AgentDeleteStatus == http.StatusNoContent {
		return noContent()
	}
	return okReply("agent", c.render(u, v))
}

// reactivateUser restores a deactivated user. Requester-group memberships
// are not restored (reference §3.6). A full-time agent needs a free seat.
// An active requester answers 400 contact_already_active, as on a real
// tenant (§19).
func (c *call) reactivateUser(v userView) reply {
	u, ok := c.userFor(v)
	if !ok {
		return c.notFound()
	}
	if u.Active && c.repeatFails(v) {
		return alreadyActive()
	}
	if !u.Active {
		if u.IsAgent && !u.Occasional && !c.seatAvailable(u.ID) {
			if !c.downgrades() {
				return c.seatError()
			}
			u.Occasional = true
		}
		u.Active = true
		u.UpdatedAt = c.now
		c.indexUser(u)
	}
	return okReply(v.envelope(), c.render(u, v))
}

// forgetUser hard-deletes the user and frees its emails (reference §3.6).
func (c *call) forgetUser(v userView) reply {
	u, ok := c.userFor(v)
	if !ok {
		return c.notFound()
	}
	c.st.forgetUser(u.ID, c.exact, c.sw.QueryIndexLag)
	return noContent()
}

// convertToAgent makes a requester an occasional agent with the SD Agent role
// for the entire helpdesk and no groups; the id stays (reference §3.6, §13
// item 10). An occasional agent needs no full-time seat.
func (c *call) convertToAgent() reply {
	u, ok := c.st.users[c.ids[0]]
	if !ok {
		return c.notFound()
	}
	if u.IsAgent {
		if c.sw.ConvertToAgentExistingStatus == http.StatusOK {
			return okReply("agent", c.st.agentJSON(u))
		}
		return codeError(http.StatusConflict, "inconsistent_state", "The user is already an agent.")
	}
	if !u.Active {
		return invalid("active", "A deactivated requester cannot be converted to an agent; reactivate it first")
	}
	if u.PrimaryEmail == "" {
		return validationError(http.StatusBadRequest, []fieldError{{Field: "primary_email", Message: "An agent needs an email address", Code: codeMissingField}})
	}
	u.IsAgent, u.Occasional = true, true
	u.Roles = nil
	for _, r := range sortedByID(c.st.roles) {
		if r.Name == "SD Agent" {
			u.Roles = []RoleAssignment{{RoleID: r.ID, AssignmentScope: scopeEntireHelpdesk}}
			break
		}
	}
	u.UpdatedAt = c.now
	c.indexUser(u)
	return okReply("agent", c.st.agentJSON(u))
}

// convertToRequester makes an agent a requester with the same id: roles and
// agent-group memberships go, the seat is freed (reference §4.5).
func (c *call) convertToRequester() reply {
	u, ok := c.userFor(viewAgent)
	if !ok {
		return c.notFound()
	}
	c.st.dropFromAgentGroups(u.ID)
	u.IsAgent, u.Occasional, u.Roles = false, false, nil
	u.UpdatedAt = c.now
	c.indexUser(u)
	envelope := "requester"
	if c.sw.ConvertToRequesterEnvelope == EnvelopeAgent {
		envelope = "agent"
	}
	return okReply(envelope, c.st.requesterJSON(u))
}

// boolParam reads an optional true/false query parameter.
func (c *call) boolParam(name string, errs *[]fieldError) *bool {
	if !c.q.Has(name) {
		return nil
	}
	switch strings.ToLower(c.q.Get(name)) {
	case "true":
		t := true
		return &t
	case "false":
		f := false
		return &f
	}
	*errs = append(*errs, fieldError{Field: name, Message: "It should be one of these values: 'true,false'", Code: codeInvalidValue})
	return nil
}

// listUsers is GET /requesters and GET /agents, with their exact-match
// filters (reference §3.2, §4.2), or with query= a search (§3.3).
func (c *call) listUsers(v userView) reply {
	var errs []fieldError
	active := c.boolParam("active", &errs)
	includeAgents := false
	if v == viewRequester {
		if ia := c.boolParam("include_agents", &errs); ia != nil {
			includeAgents = *ia
		}
		if active == nil && c.sw.RequesterListActiveOnly {
			t := true
			active = &t
		}
	}
	state := ""
	if v == viewAgent {
		state = c.q.Get("state")
		if state != "" && state != "fulltime" && state != "occasional" {
			errs = append(errs, fieldError{Field: "state", Message: "It should be one of these values: 'fulltime,occasional'", Code: codeInvalidValue})
		}
	}
	email, mobile, work := c.q.Get("email"), c.q.Get("mobile_phone_number"), c.q.Get("work_phone_number")
	secondary := v == viewRequester && !c.sw.EmailFilterPrimaryOnly
	// A limited key's lists leave out agents its owner's role does not see
	// (§19: "results are filtered by the owner's role").
	visible := c.agentVisibleFunc()
	match := func(u *User) bool {
		switch {
		case v == viewAgent && !u.IsAgent, v == viewRequester && u.IsAgent && !includeAgents:
			return false
		case !visible(u):
			return false
		case active != nil && u.Active != *active:
			return false
		case state == "fulltime" && u.Occasional, state == "occasional" && !u.Occasional:
			return false
		case mobile != "" && u.MobilePhoneNumber != mobile, work != "" && u.WorkPhoneNumber != work:
			return false
		case email != "":
			return strings.EqualFold(u.PrimaryEmail, email) ||
				secondary && slices.ContainsFunc(u.SecondaryEmails, func(e string) bool { return strings.EqualFold(e, email) })
		}
		return true
	}
	render := func(u *User) any { return c.render(u, v) }
	if c.q.Has("query") {
		p := c.queryPaging(&errs)
		expr, err := parseQuery(c.q.Get("query"), c.userSchema(v))
		if err != nil {
			errs = append(errs, fieldError{Field: "query", Message: queryMessage(err), Code: codeInvalidValue})
		}
		if len(errs) > 0 {
			return validationError(http.StatusBadRequest, errs)
		}
		// The search index may lag: match on the version it has, render
		// the current record (reference §3.3).
		var hits []*User
		for _, iu := range c.st.indexed(c.exact, c.sw.QueryIndexLag) {
			seen := iu.seen
			if match(seen) && expr.match(func(f string) any { return userField(seen, f) }) {
				hits = append(hits, iu.current)
			}
		}
		slices.SortFunc(hits, byCreatedDesc)
		return listPage(c, v.plural(), hits, p, c.sw.QueryLink && p.page < queryMaxPages, render)
	}
	p := c.paging(&errs)
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	if email != "" {
		// The exact email filter is the account's email index, at any size.
		var out []*User
		if u, ok := c.st.emailOwner(email, 0); ok && match(u) {
			out = append(out, u)
		}
		return listPage(c, v.plural(), out, p, true, render)
	}
	// Walk the users in id order up to the end of the page and one more
	// match (is there a next page?), collecting only the page: a walk of a
	// large account reads every page, so a page must not copy the account.
	skip := (p.page - 1) * p.perPage
	var page []any
	more := false
	for _, id := range c.st.ids {
		u := c.st.users[id]
		if !match(u) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(page) == p.perPage {
			more = true
			break
		}
		page = append(page, render(u))
	}
	return c.listReply(v.plural(), page, p, more, true)
}

// userSchema is the searchable fields of a view (reference §3.3, §4.2).
func (c *call) userSchema(v userView) *qschema {
	email := v.emailKey()
	s := &qschema{
		fields: map[string]qkind{
			"first_name": qkString, "last_name": qkString, "name": qkString, "job_title": qkString,
			email: qkString, "work_phone_number": qkString, "mobile_phone_number": qkString,
			"time_zone": qkString, "language": qkString,
			"department_id": qkIDList, "reporting_manager_id": qkID, "location_id": qkID,
			"created_at": qkDate, "updated_at": qkDate,
		},
		prefixable: map[string]bool{
			"first_name": true, "last_name": true, "name": true, email: true,
			"mobile_phone_number": true, "work_phone_number": true,
		},
		custom: func(name string) bool {
			_, ok := c.st.customField(v, name)
			return ok
		},
	}
	if v == viewRequester {
		// external_id is a documented requester query field (§19);
		// secondary_emails only the old spec lists (§3.3).
		s.fields["external_id"] = qkString
		if c.sw.QueryExtraFields {
			s.fields["secondary_emails"] = qkStringList
		}
	}
	return s
}

// userField is the value of a searchable field of u.
func userField(u *User, field string) any {
	switch field {
	case "first_name":
		return u.FirstName
	case "last_name":
		return u.LastName
	case "name":
		return u.Name()
	case "job_title":
		return u.JobTitle
	case "primary_email", "email":
		return u.PrimaryEmail
	case "work_phone_number":
		return u.WorkPhoneNumber
	case "mobile_phone_number":
		return u.MobilePhoneNumber
	case "time_zone":
		return u.TimeZone
	case "language":
		return u.Language
	case "department_id":
		return u.DepartmentIDs
	case "reporting_manager_id":
		return u.ReportingManagerID
	case "location_id":
		return u.LocationID
	case "created_at":
		return u.CreatedAt
	case "updated_at":
		return u.UpdatedAt
	case "secondary_emails":
		return u.SecondaryEmails
	case "external_id":
		return u.ExternalID
	}
	return u.CustomFields[field]
}
