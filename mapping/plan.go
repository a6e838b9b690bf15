package mapping

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
)

// Kind is what a user should be in Freshservice.
type Kind int

// The kinds.
const (
	// KindKeep leaves the user a requester or an agent as it is: users the
	// bridge did not promote are never demoted by it.
	KindKeep Kind = iota
	KindRequester
	KindAgent
)

func (k Kind) String() string {
	switch k {
	case KindRequester:
		return "requester"
	case KindAgent:
		return "agent"
	}
	return "keep"
}

// AgentSpec is what the rules give a user who should be an agent.
type AgentSpec struct {
	Occasional bool
	Roles      []freshservice.RoleAssignment
	MemberOf   []int64
	ObserverOf []int64
}

// Target is the Freshservice state one user should have.
type Target struct {
	Profile Profile
	Kind    Kind
	// Agent applies when Kind is KindAgent.
	Agent AgentSpec
	// ManagedRoles are the role ids the rules name: on an existing agent the
	// bridge adds and removes only these, leaving roles given in
	// Freshservice alone.
	ManagedRoles map[int64]bool
	// AgentGroups are the agent groups the bridge manages (from rules and
	// agent-group mappings) and, of those, the ones the user should be a
	// member or observer of. They apply to every agent.
	ManagedAgentGroups map[int64]bool
	MemberOf           []int64
	ObserverOf         []int64
	// RequesterGroups are the requester groups the user should be in.
	RequesterGroups []int64
	// Forget erases a user that should be inactive instead of deactivating.
	Forget bool
	// NoAgentExternalID leaves external_id out of agent bodies: the
	// account refuses it on agents (400 invalid_field, §4.1).
	NoAgentExternalID bool
}

// Applied is what the bridge last applied for one user; it is kept in the
// store beside the desired state.
type Applied struct {
	// Fields are the fields the IdP has ever set for this user: the bridge
	// manages them (an attribute dropped later is cleared) and leaves the
	// others as Freshservice has them.
	Fields FieldSet `json:"fields,omitempty"`
	// Promoted is set when the bridge made the user an agent, so that it
	// may demote them; it never demotes agents it did not make.
	Promoted bool `json:"promoted,omitempty"`
	// Rules are the role rules the user was last given.
	Rules []string `json:"rules,omitempty"`
	// InFlight is set while a plan runs: if the bridge dies or a call's
	// answer is lost, the mirror may not show what Freshservice now holds,
	// so the next plan for the user first reads it from Freshservice.
	InFlight bool `json:"in_flight,omitempty"`
	// PromotionPending is set between convert_to_agent and the update that
	// gives the new agent its roles: a plan cut short there is finished by
	// setting roles, type and groups whole, replacing the SD Agent role
	// convert_to_agent gave.
	PromotionPending bool `json:"promotion_pending,omitempty"`
	// RequesterGroups are the requester groups the bridge last put the user
	// in and has not seen Freshservice drop.
	RequesterGroups []int64 `json:"requester_groups,omitempty"`
	// RequesterGroupsUncertain are groups the user may or may not be in: an
	// add or remove whose answer was lost, or memberships across a change
	// between agent and requester (whether Freshservice keeps them is not
	// documented). Plans add them again if wanted (adding is harmless) and
	// remove them if not (removing an absent member is harmless).
	RequesterGroupsUncertain []int64 `json:"requester_groups_uncertain,omitempty"`
	// Gaps are the values the user was last provisioned without, because
	// Freshservice could not hold them (see Profile.Gaps).
	Gaps []Gap `json:"gaps,omitempty"`
	// Downgraded is set while Freshservice holds the user occasional
	// although the rules ask for full-time: it had no full-time seat free
	// (see HoldDowngrade).
	Downgraded *Downgrade `json:"downgraded,omitempty"`
	// DeactivationUnconfirmed is when a deactivation Freshservice answered
	// 404 was taken as done. A real tenant answers so for a user already
	// deactivated (§19), but also for one erased, or one an admin moved to
	// the other view (a requester made agent): the first walk that begins
	// after it shows which, and re-plans the user if it is still active.
	DeactivationUnconfirmed time.Time `json:"deactivation_unconfirmed,omitzero"`
}

// StepKind is one kind of Freshservice call.
type StepKind string

// The steps a plan is made of.
const (
	StepCreateRequester      StepKind = "create_requester"
	StepCreateAgent          StepKind = "create_agent"
	StepUpdateRequester      StepKind = "update_requester"
	StepUpdateAgent          StepKind = "update_agent"
	StepReactivateRequester  StepKind = "reactivate_requester"
	StepReactivateAgent      StepKind = "reactivate_agent"
	StepDeactivateRequester  StepKind = "deactivate_requester"
	StepDeactivateAgent      StepKind = "deactivate_agent"
	StepForgetRequester      StepKind = "forget_requester"
	StepForgetAgent          StepKind = "forget_agent"
	StepConvertToAgent       StepKind = "convert_to_agent"
	StepConvertToRequester   StepKind = "convert_to_requester"
	StepAddRequesterGroup    StepKind = "add_to_requester_group"
	StepRemoveRequesterGroup StepKind = "remove_from_requester_group"
	StepJoinAgentGroup       StepKind = "join_agent_group"
	StepLeaveAgentGroup      StepKind = "leave_agent_group"
)

// Step is one Freshservice call of a plan. Group steps on agent groups are
// a read-modify-write of the group's member list (two calls).
type Step struct {
	Kind      StepKind
	UserID    int64 // 0 for creates
	GroupID   int64
	Observer  bool // for agent-group steps: the observers list
	Requester *freshservice.RequesterFields
	Agent     *freshservice.AgentFields
}

// Call returns the method and path of the step's call.
func (s Step) Call() (string, string) {
	id := fmt.Sprint(s.UserID)
	g := fmt.Sprint(s.GroupID)
	switch s.Kind {
	case StepCreateRequester:
		return "POST", "/api/v2/requesters"
	case StepCreateAgent:
		return "POST", "/api/v2/agents"
	case StepUpdateRequester:
		return "PUT", "/api/v2/requesters/" + id
	case StepUpdateAgent:
		return "PUT", "/api/v2/agents/" + id
	case StepReactivateRequester:
		return "PUT", "/api/v2/requesters/" + id + "/reactivate"
	case StepReactivateAgent:
		return "PUT", "/api/v2/agents/" + id + "/reactivate"
	case StepDeactivateRequester:
		return "DELETE", "/api/v2/requesters/" + id
	case StepDeactivateAgent:
		return "DELETE", "/api/v2/agents/" + id
	case StepForgetRequester:
		return "DELETE", "/api/v2/requesters/" + id + "/forget"
	case StepForgetAgent:
		return "DELETE", "/api/v2/agents/" + id + "/forget"
	case StepConvertToAgent:
		return "PUT", "/api/v2/requesters/" + id + "/convert_to_agent"
	case StepConvertToRequester:
		return "PUT", "/api/v2/agents/" + id + "/convert_to_requester"
	case StepAddRequesterGroup:
		return "POST", "/api/v2/requester_groups/" + g + "/members/" + id
	case StepRemoveRequesterGroup:
		return "DELETE", "/api/v2/requester_groups/" + g + "/members/" + id
	case StepJoinAgentGroup, StepLeaveAgentGroup:
		return "GET+PUT", "/api/v2/groups/" + g
	}
	return "?", "?"
}

// String renders the step as the call it makes, with its body.
func (s Step) String() string {
	m, p := s.Call()
	var body []byte
	switch {
	case s.Requester != nil:
		body, _ = json.Marshal(s.Requester)
	case s.Agent != nil:
		body, _ = json.Marshal(s.Agent)
	}
	switch s.Kind {
	case StepJoinAgentGroup, StepLeaveAgentGroup:
		list := "members"
		if s.Observer {
			list = "observers"
		}
		verb := "add"
		if s.Kind == StepLeaveAgentGroup {
			verb = "remove"
		}
		return fmt.Sprintf("%s %s (%s user %d to/from %s)", m, p, verb, s.UserID, list)
	}
	if len(body) > 0 {
		return m + " " + p + " " + string(body)
	}
	return m + " " + p
}

// Calls is the number of Freshservice calls the step makes.
func (s Step) Calls() int {
	if s.Kind == StepJoinAgentGroup || s.Kind == StepLeaveAgentGroup {
		return 2
	}
	return 1
}

// Plan is the ordered list of calls that takes a user from its current
// Freshservice state to its target.
type Plan []Step

// Calls is the number of Freshservice calls the plan makes.
func (p Plan) Calls() int {
	n := 0
	for _, s := range p {
		n += s.Calls()
	}
	return n
}

func (p Plan) String() string {
	lines := make([]string, len(p))
	for i, s := range p {
		lines[i] = s.String()
	}
	return strings.Join(lines, "\n")
}

// AgentGroups returns the agent groups the plan touches, ascending: the
// executor holds their locks while it runs, so no concurrent
// read-modify-write of a group's members can undo the plan's changes.
func (p Plan) AgentGroups() []int64 {
	var ids []int64
	for _, s := range p {
		switch {
		case s.Kind == StepJoinAgentGroup || s.Kind == StepLeaveAgentGroup:
			ids = append(ids, s.GroupID)
		case s.Agent != nil:
			if s.Agent.MemberOf != nil {
				ids = append(ids, *s.Agent.MemberOf...)
			}
			if s.Agent.ObserverOf != nil {
				ids = append(ids, *s.Agent.ObserverOf...)
			}
		}
	}
	return sortedIDs(ids)
}

// PlanUser computes the shortest ordered list of calls that brings cur (nil
// when Freshservice has no such user yet) to t. It is pure: running the plan
// and planning again yields an empty plan, so a plan cut short by a crash or
// an upstream failure is finished by planning again.
//
// Order: reactivate, change kind, update fields, roles and groups, then
// deactivate, so a user being switched off is left with the final fields,
// and one being switched on is active before anything else is asked of it.
// A user that stays inactive gets no field updates until it is reactivated.
func PlanUser(cur *freshservice.User, t Target, applied Applied) Plan {
	managed := applied.Fields | t.Profile.Set
	want := t.Profile
	if cur == nil {
		return planCreate(t)
	}
	var plan Plan
	isAgent := cur.IsAgent
	active := cur.Active
	appliedRG, unsureRG := applied.RequesterGroups, applied.RequesterGroupsUncertain
	finalAgent := isAgent
	switch t.Kind {
	case KindAgent:
		finalAgent = true
	case KindRequester:
		finalAgent = false
	}
	wantActive := want.Active
	if !managed.Has(FieldActive) {
		wantActive = active
	}

	if wantActive && !active {
		plan = append(plan, Step{Kind: pick(isAgent, StepReactivateAgent, StepReactivateRequester), UserID: cur.ID})
		active = true
		appliedRG, unsureRG = nil, nil // Freshservice dropped them at deactivation (§3.6).
	}
	if !active && !wantActive {
		return plan
	}
	have := ProfileOf(cur)
	switch {
	case finalAgent && (!isAgent || (applied.PromotionPending && t.Kind == KindAgent)):
		// Promotion: convert_to_agent yields an occasional SD Agent in no
		// groups (§13.10); one PUT then sets what the rules say.
		if !isAgent {
			plan = append(plan, Step{Kind: StepConvertToAgent, UserID: cur.ID})
		}
		f := agentFieldsDiff(&want, &have, managed, !t.NoAgentExternalID)
		f.Occasional = freshservice.Ptr(t.Agent.Occasional)
		roles := slices.Clone(t.Agent.Roles)
		f.Roles = &roles
		member := groupList(t.MemberOf)
		observer := groupList(t.ObserverOf)
		f.MemberOf, f.ObserverOf = &member, &observer
		plan = append(plan, Step{Kind: StepUpdateAgent, UserID: cur.ID, Agent: f.AgentFields})
		appliedRG, unsureRG = nil, append(unsureRG, appliedRG...)
	case !finalAgent && isAgent:
		plan = append(plan, Step{Kind: StepConvertToRequester, UserID: cur.ID})
		if f := requesterFieldsDiff(&want, &have, managed); f != nil {
			plan = append(plan, Step{Kind: StepUpdateRequester, UserID: cur.ID, Requester: f})
		}
		appliedRG, unsureRG = nil, append(unsureRG, appliedRG...)
	case finalAgent:
		f := agentFieldsDiff(&want, &have, managed, !t.NoAgentExternalID)
		changed := f.hasChanges()
		if t.Kind == KindAgent {
			if cur.Occasional != t.Agent.Occasional {
				f.Occasional = freshservice.Ptr(t.Agent.Occasional)
				changed = true
			}
			if roles, ok := mergeRoles(cur.Roles, t.Agent.Roles, t.ManagedRoles); ok {
				f.Roles = &roles
				changed = true
			}
		}
		if changed {
			plan = append(plan, Step{Kind: StepUpdateAgent, UserID: cur.ID, Agent: f.AgentFields})
		}
		// A membership waiting for approval in a restricted group counts
		// as joined (§19): asking again would re-request it, and leaving
		// it is a leave like any other.
		plan = append(plan, groupSteps(cur.ID, union(cur.MemberOf, cur.MemberOfPending), t.MemberOf, t.ManagedAgentGroups, false)...)
		plan = append(plan, groupSteps(cur.ID, union(cur.ObserverOf, cur.ObserverOfPending), t.ObserverOf, t.ManagedAgentGroups, true)...)
	default:
		if f := requesterFieldsDiff(&want, &have, managed); f != nil {
			plan = append(plan, Step{Kind: StepUpdateRequester, UserID: cur.ID, Requester: f})
		}
	}
	if !finalAgent && wantActive {
		plan = append(plan, requesterGroupSteps(cur.ID, appliedRG, unsureRG, t.RequesterGroups)...)
	}
	if !wantActive && active {
		switch {
		case t.Forget:
			plan = append(plan, Step{Kind: pick(finalAgent, StepForgetAgent, StepForgetRequester), UserID: cur.ID})
		default:
			plan = append(plan, Step{Kind: pick(finalAgent, StepDeactivateAgent, StepDeactivateRequester), UserID: cur.ID})
		}
	}
	return plan
}

func pick(agent bool, a, r StepKind) StepKind {
	if agent {
		return a
	}
	return r
}

func groupList(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return sortedIDs(ids)
}

// planCreate makes a new user in one call: an agent is created with its
// roles and groups directly (§4.3), a requester plainly; a user that should
// be inactive is then deactivated.
func planCreate(t Target) Plan {
	var plan Plan
	p := t.Profile
	if t.Kind == KindAgent {
		f := agentFieldsDiff(&p, &Profile{}, p.Set|FieldEmail|FieldName, !t.NoAgentExternalID)
		f.Occasional = freshservice.Ptr(t.Agent.Occasional)
		roles := slices.Clone(t.Agent.Roles)
		f.Roles = &roles
		if len(t.MemberOf) > 0 {
			m := sortedIDs(t.MemberOf)
			f.MemberOf = &m
		}
		if len(t.ObserverOf) > 0 {
			o := sortedIDs(t.ObserverOf)
			f.ObserverOf = &o
		}
		plan = append(plan, Step{Kind: StepCreateAgent, Agent: f.AgentFields})
	} else {
		f := requesterFieldsDiff(&p, &Profile{}, p.Set|FieldEmail|FieldName)
		if f == nil {
			f = &freshservice.RequesterFields{}
		}
		plan = append(plan, Step{Kind: StepCreateRequester, Requester: f})
		if p.Active {
			plan = append(plan, requesterGroupSteps(0, nil, nil, t.RequesterGroups)...)
		}
	}
	if !p.Active {
		plan = append(plan, Step{Kind: pick(t.Kind == KindAgent, StepDeactivateAgent, StepDeactivateRequester)})
	}
	return plan
}

// profileDiff fills the shared fields that differ, among the managed ones.
// Empty desired strings clear a field; fields Freshservice cannot clear
// (time zone, language, time format) are only ever set.
func profileDiff(w, h *Profile, managed FieldSet) (freshservice.Profile, bool) {
	var f freshservice.Profile
	changed := false
	setStr := func(field Field, dst **string, want, have string) {
		if managed.Has(field) && want != have {
			*dst = freshservice.Ptr(want)
			changed = true
		}
	}
	// Names and phone numbers are compared as Freshservice may rewrite
	// them on write (§19): a value it stored rewritten is the one sent,
	// not a change to send again on every reconcile.
	if managed.Has(FieldName) && !sameName(w, h) {
		f.FirstName, f.LastName = freshservice.Ptr(w.FirstName), freshservice.Ptr(w.LastName)
		changed = true
	}
	setStr(FieldJobTitle, &f.JobTitle, w.JobTitle, h.JobTitle)
	if managed.Has(FieldWorkPhone) && !freshservice.EquivalentPhone(w.WorkPhone, h.WorkPhone) {
		f.WorkPhone = freshservice.Ptr(w.WorkPhone)
		changed = true
	}
	if managed.Has(FieldMobilePhone) && !freshservice.EquivalentPhone(w.MobilePhone, h.MobilePhone) {
		f.MobilePhone = freshservice.Ptr(w.MobilePhone)
		changed = true
	}
	setStr(FieldAddress, &f.Address, w.Address, h.Address)
	setStr(FieldBackground, &f.BackgroundInformation, w.Background, h.Background)
	if w.TimeZone != "" {
		setStr(FieldTimeZone, &f.TimeZone, w.TimeZone, h.TimeZone)
	}
	if w.Language != "" {
		setStr(FieldLanguage, &f.Language, w.Language, h.Language)
	}
	if w.TimeFormat != "" {
		setStr(FieldTimeFormat, &f.TimeFormat, w.TimeFormat, h.TimeFormat)
	}
	if managed.Has(FieldDepartment) && !sameIDs(w.DepartmentIDs, h.DepartmentIDs) {
		ids := sortedIDs(w.DepartmentIDs)
		if ids == nil {
			ids = []int64{}
		}
		f.DepartmentIDs = &ids
		changed = true
	}
	if managed.Has(FieldManager) && w.ReportingManagerID != h.ReportingManagerID {
		f.ReportingManagerID = freshservice.Ptr(w.ReportingManagerID)
		changed = true
	}
	if managed.Has(FieldLocation) && w.LocationID != h.LocationID {
		f.LocationID = freshservice.Ptr(w.LocationID)
		changed = true
	}
	if cf := customFieldsDiff(w.CustomFields, h.CustomFields); cf != nil {
		f.CustomFields = cf
		changed = true
	}
	// Freshservice resets this flag on every PUT that leaves it out, so
	// every update sends the value to keep: the IdP's when it set one,
	// otherwise what Freshservice holds now.
	f.CanSeeAllTicketsFromAssociatedDepartments = h.CanSeeAllTickets
	if managed.Has(FieldCanSeeAllTickets) && w.Set.Has(FieldCanSeeAllTickets) {
		f.CanSeeAllTicketsFromAssociatedDepartments = w.CanSeeAllTickets
		if w.CanSeeAllTickets != h.CanSeeAllTickets {
			changed = true
		}
	}
	return f, changed
}

// sameName reports whether Freshservice holds the desired first and last
// name, up to the white space it may trim and collapse on write.
func sameName(w, h *Profile) bool {
	return freshservice.EquivalentName(w.FirstName, h.FirstName) && freshservice.EquivalentName(w.LastName, h.LastName)
}

// samePhones is sameName for the work and mobile numbers, up to the
// spaces, dashes, dots and parentheses Freshservice may strip.
func samePhones(w, h *Profile) bool {
	return freshservice.EquivalentPhone(w.WorkPhone, h.WorkPhone) && freshservice.EquivalentPhone(w.MobilePhone, h.MobilePhone)
}

func requesterFieldsDiff(w, h *Profile, managed FieldSet) *freshservice.RequesterFields {
	pf, changed := profileDiff(w, h, managed)
	f := &freshservice.RequesterFields{Profile: pf}
	if managed.Has(FieldEmail) && !strings.EqualFold(w.Email, h.Email) {
		f.Email = freshservice.Ptr(w.Email)
		changed = true
	}
	if managed.Has(FieldSecondaryEmails) && !sameEmails(w.SecondaryEmails, h.SecondaryEmails) {
		se := append([]string{}, w.SecondaryEmails...)
		f.SecondaryEmails = &se
		changed = true
	}
	if externalIDChanged(w, h) {
		f.ExternalID = freshservice.Ptr(w.ExternalID)
		changed = true
	}
	if !changed {
		return nil
	}
	return f
}

type agentDiff struct {
	*freshservice.AgentFields
	changed bool
}

func (d agentDiff) hasChanges() bool { return d.changed }

// agentFieldsDiff is requesterFieldsDiff for the agent view, which has no
// secondary emails. external_id is sent only when extID allows it.
func agentFieldsDiff(w, h *Profile, managed FieldSet, extID bool) agentDiff {
	pf, changed := profileDiff(w, h, managed)
	f := &freshservice.AgentFields{Profile: pf}
	if managed.Has(FieldEmail) && !strings.EqualFold(w.Email, h.Email) {
		f.Email = freshservice.Ptr(w.Email)
		changed = true
	}
	if extID && externalIDChanged(w, h) {
		f.ExternalID = freshservice.Ptr(w.ExternalID)
		changed = true
	}
	return agentDiff{AgentFields: f, changed: changed}
}

// externalIDChanged reports whether the IdP's externalId is to be sent:
// the setting is on (FieldExternalID), the IdP sent one, and Freshservice
// holds another. An externalId the IdP drops is left in Freshservice.
func externalIDChanged(w, h *Profile) bool {
	return w.Set.Has(FieldExternalID) && w.ExternalID != "" && w.ExternalID != h.ExternalID
}

// mergeRoles keeps the roles the rules do not manage and sets the managed
// ones to want. It reports whether the result differs from cur.
func mergeRoles(cur, want []freshservice.RoleAssignment, managed map[int64]bool) ([]freshservice.RoleAssignment, bool) {
	var out []freshservice.RoleAssignment
	for _, r := range cur {
		if !managed[r.RoleID] {
			out = append(out, r)
		}
	}
	out = append(out, want...)
	if len(out) == 0 {
		// An agent must keep at least one role; leave them as they are.
		return nil, false
	}
	return out, !sameRoles(cur, out)
}

func roleKey(r freshservice.RoleAssignment) string {
	g := sortedIDs(r.Groups)
	if r.AssignmentScope != freshservice.ScopeSpecifiedGroups {
		g = nil
	}
	return fmt.Sprintf("%d/%s/%v", r.RoleID, r.AssignmentScope, g)
}

func sameRoles(a, b []freshservice.RoleAssignment) bool {
	ka := make([]string, len(a))
	for i, r := range a {
		ka[i] = roleKey(r)
	}
	kb := make([]string, len(b))
	for i, r := range b {
		kb[i] = roleKey(r)
	}
	sort.Strings(ka)
	sort.Strings(kb)
	return slices.Equal(ka, kb)
}

// groupSteps joins or leaves managed agent groups.
// union is a and the ids of b not in a.
func union(a, b []int64) []int64 {
	if len(b) == 0 {
		return a
	}
	out := slices.Clone(a)
	for _, id := range b {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func groupSteps(user int64, have, want []int64, managed map[int64]bool, observer bool) Plan {
	var plan Plan
	in := map[int64]bool{}
	for _, g := range have {
		in[g] = true
	}
	should := map[int64]bool{}
	for _, g := range want {
		should[g] = true
	}
	for _, g := range sortedIDs(want) {
		if !in[g] {
			plan = append(plan, Step{Kind: StepJoinAgentGroup, UserID: user, GroupID: g, Observer: observer})
		}
	}
	for _, g := range sortedIDs(have) {
		if managed[g] && !should[g] {
			plan = append(plan, Step{Kind: StepLeaveAgentGroup, UserID: user, GroupID: g, Observer: observer})
		}
	}
	return plan
}

// requesterGroupSteps adds and removes requester-group memberships, one
// call each (§6). Groups the user may or may not be in are added again if
// wanted and removed if not.
func requesterGroupSteps(user int64, have, unsure, want []int64) Plan {
	var plan Plan
	in := map[int64]bool{}
	for _, g := range have {
		in[g] = true
	}
	maybe := map[int64]bool{}
	for _, g := range unsure {
		if !in[g] {
			maybe[g] = true
		}
	}
	should := map[int64]bool{}
	for _, g := range want {
		should[g] = true
	}
	for _, g := range sortedIDs(want) {
		if !in[g] {
			plan = append(plan, Step{Kind: StepAddRequesterGroup, UserID: user, GroupID: g})
		}
	}
	for _, g := range sortedIDs(append(append([]int64{}, have...), unsure...)) {
		if (in[g] || maybe[g]) && !should[g] {
			plan = append(plan, Step{Kind: StepRemoveRequesterGroup, UserID: user, GroupID: g})
		}
	}
	return plan
}
