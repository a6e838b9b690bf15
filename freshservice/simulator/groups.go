package simulator

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// This file implements /groups (agent groups, reference §5) and
// /requester_groups (reference §6).

// unassignedForValues are the accepted unassigned_for values [S3], plus the
// "15m" seen in a real response.
var unassignedForValues = []string{"15m", "30m", "1h", "2h", "4h", "8h", "12h", "1d", "2d", "3d"}

type groupInput struct {
	name, description, unassignedFor       *string
	escalateTo, businessHoursID            *int64
	autoTicketAssign, restricted, approval *bool
	lists                                  [3]*[]int64 // by membership
}

var membershipKeys = [3]string{asMember: "members", asObserver: "observers", asLeader: "leaders"}

func readGroupInput(f *form) *groupInput {
	// agent_ids is the deprecated twin of members; like the deprecated agent
	// keys it is refused on input.
	f.deprecated("agent_ids")
	in := &groupInput{
		name:             f.str("name"),
		description:      f.str("description"),
		unassignedFor:    f.str("unassigned_for"),
		escalateTo:       f.id("escalate_to"),
		businessHoursID:  f.id("business_hours_id"),
		autoTicketAssign: f.boolean("auto_ticket_assign"),
		restricted:       f.boolean("restricted"),
		approval:         f.boolean("approval_required"),
	}
	for m, key := range membershipKeys {
		in.lists[m] = f.ids(key)
	}
	return in
}

// checkGroup validates the values of a group body.
func (c *call) checkGroup(in *groupInput) []fieldError {
	var errs []fieldError
	add := func(field, code, msg string) { errs = append(errs, fieldError{Field: field, Message: msg, Code: code}) }
	if in.name != nil && strings.TrimSpace(*in.name) == "" {
		add("name", codeInvalidValue, "It should not be blank")
	}
	if in.unassignedFor != nil && *in.unassignedFor != "" && !slices.Contains(unassignedForValues, *in.unassignedFor) {
		add("unassigned_for", codeInvalidValue, "It should be one of these values: '"+strings.Join(unassignedForValues[1:], ",")+"'")
	}
	if in.escalateTo != nil && *in.escalateTo != 0 {
		if u, ok := c.st.users[*in.escalateTo]; !ok || !u.IsAgent {
			add("escalate_to", codeInvalidValue, fmt.Sprintf("There is no agent with the id %d", *in.escalateTo))
		}
	}
	for m, ids := range in.lists {
		if ids == nil {
			continue
		}
		for _, id := range *ids {
			// Only agents can be in agent groups (reference §5).
			if u, ok := c.st.users[id]; !ok || !u.IsAgent {
				add(membershipKeys[m], codeInvalidValue, fmt.Sprintf("There is no agent with the id %d", id))
			}
		}
	}
	return errs
}

// groupNameTaken reports whether workspace ws has another agent group
// named name: names are unique within a workspace, and two workspaces may
// each have a "Service Desk".
func (c *call) groupNameTaken(name string, ws, except int64) bool {
	return groupNameTaken(c.st.groups, name, ws, except)
}

func groupNameTaken(groups map[int64]*Group, name string, ws, except int64) bool {
	for _, g := range groups {
		if g.ID != except && workspaceOf(g.WorkspaceID) == workspaceOf(ws) && strings.EqualFold(g.Name, name) {
			return true
		}
	}
	return false
}

func duplicateName() reply {
	return validationError(http.StatusConflict, []fieldError{{Field: "name", Message: "It should be a unique value", Code: codeDuplicateValue}})
}

func (c *call) applyGroupInput(g *Group, in *groupInput) {
	if in.name != nil {
		g.Name = *in.name
	}
	if in.description != nil {
		g.Description = *in.description
	}
	if in.unassignedFor != nil {
		g.UnassignedFor = *in.unassignedFor
	}
	if in.escalateTo != nil {
		g.EscalateTo = *in.escalateTo
	}
	if in.businessHoursID != nil {
		g.BusinessHoursID = *in.businessHoursID
	}
	if in.autoTicketAssign != nil {
		g.AutoTicketAssign = *in.autoTicketAssign
	}
	if in.restricted != nil {
		g.Restricted = *in.restricted
	}
	if in.approval != nil {
		g.ApprovalRequired = *in.approval
	}
	// Lists replace whole (reference §5); membership of the agents follows,
	// since member_of and observer_of are derived from the groups.
	for m, ids := range in.lists {
		if ids != nil {
			g.setMembership(membership(m), *ids, c.sw.RestrictedGroupApproval)
		}
	}
}

func (c *call) listGroups() reply {
	var errs []fieldError
	p := c.paging(&errs)
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	var visible []*Group
	for _, g := range sortedByID(c.st.groups) {
		if c.groupVisible(g) && c.groupListed(g) {
			visible = append(visible, g)
		}
	}
	return listPage(c, "groups", visible, p, true, func(g *Group) any { return c.groupView(g) })
}

// group returns the agent group of the path id if the key's owner sees it.
func (c *call) group() (*Group, bool) {
	g, ok := c.st.groups[c.ids[0]]
	if !ok || !c.groupVisible(g) {
		return nil, false
	}
	return g, true
}

func (c *call) getGroup() reply {
	g, ok := c.group()
	if !ok {
		return c.notFound()
	}
	return okReply("group", c.groupView(g))
}

func (c *call) createGroup() reply {
	in := readGroupInput(c.f)
	// In workspace accounts a group is created in a workspace: the one
	// given, or the primary one, or the only one the key's owner sees.
	ws := workspaceOf(c.sw.KeyWorkspaceID)
	var wsIn *int64
	if c.sw.Workspaces {
		wsIn = c.f.id("workspace_id")
	}
	errs := c.f.finish()
	if len(errs) == 0 {
		if rep, gated := c.gateGroup(in); gated {
			return rep
		}
	}
	if !c.f.has("name") {
		errs = append(errs, fieldError{Field: "name", Message: "It should be a/an String", Code: codeMissingField})
	}
	errs = append(errs, c.checkGroup(in)...)
	if wsIn != nil {
		ws = *wsIn
		errs = append(errs, c.checkWorkspace(ws)...)
	}
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	if c.groupNameTaken(*in.name, ws, 0) {
		return duplicateName()
	}
	g := &Group{WorkspaceID: ws, CreatedAt: c.now, UpdatedAt: c.now}
	g.ID = allocate(&c.st.nextGroup, 0)
	c.applyGroupInput(g, in)
	c.st.groups[g.ID] = g
	return c.created("group", "/api/v2/groups", g.ID, c.groupView(g))
}

func (c *call) updateGroup() reply {
	g, ok := c.group()
	if !ok {
		return c.notFound()
	}
	in := readGroupInput(c.f)
	errs := c.f.finish()
	if len(errs) == 0 {
		if rep, gated := c.gateGroup(in); gated {
			return rep
		}
	}
	errs = append(errs, c.checkGroup(in)...)
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	if in.name != nil && c.groupNameTaken(*in.name, g.WorkspaceID, g.ID) {
		return duplicateName()
	}
	next := g.clone()
	c.applyGroupInput(next, in)
	if !reflect.DeepEqual(g, next) {
		next.UpdatedAt = c.now
	}
	c.st.groups[g.ID] = next
	return okReply("group", c.groupView(next))
}

// deleteGroup removes the group, and with it every agent's membership and
// every specified_groups role assignment that named it.
func (c *call) deleteGroup() reply {
	g, ok := c.group()
	if !ok {
		return c.notFound()
	}
	delete(c.st.groups, g.ID)
	for _, u := range c.st.users {
		for i := range u.Roles {
			u.Roles[i].Groups = slices.DeleteFunc(u.Roles[i].Groups, func(x int64) bool { return x == g.ID })
		}
	}
	return noContent()
}

// Requester groups.

func readRequesterGroupInput(f *form) (name, description *string) {
	return f.str("name"), f.str("description")
}

func (c *call) requesterGroupNameTaken(name string, except int64) bool {
	return nameTaken(c.st.requesterGroups, name, except, func(g *RequesterGroup) (int64, string) { return g.ID, g.Name })
}

func (c *call) listRequesterGroups() reply {
	var errs []fieldError
	p := c.paging(&errs)
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	return listPage(c, "requester_groups", sortedByID(c.st.requesterGroups), p, true, func(g *RequesterGroup) any { return requesterGroupView(g) })
}

func (c *call) getRequesterGroup() reply {
	g, ok := c.st.requesterGroups[c.ids[0]]
	if !ok {
		return c.notFound()
	}
	return okReply("requester_group", requesterGroupView(g))
}

// createRequesterGroup always makes a manual group: rules cannot be given
// through the API (reference §6).
func (c *call) createRequesterGroup() reply {
	name, description := readRequesterGroupInput(c.f)
	errs := c.f.finish()
	if name == nil && !c.f.has("name") {
		errs = append(errs, fieldError{Field: "name", Message: "It should be a/an String", Code: codeMissingField})
	} else if name != nil && strings.TrimSpace(*name) == "" {
		errs = append(errs, fieldError{Field: "name", Message: "It should not be blank", Code: codeInvalidValue})
	}
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	if c.requesterGroupNameTaken(*name, 0) {
		return duplicateName()
	}
	g := &RequesterGroup{Name: *name, Type: "manual", CreatedAt: c.now, UpdatedAt: c.now}
	if description != nil {
		g.Description = *description
	}
	g.ID = allocate(&c.st.nextRequesterGroup, 0)
	c.st.requesterGroups[g.ID] = g
	// A real tenant answers 200 here, not 201 (reference §19).
	return createdWith(http.StatusOK, c.base, "requester_group", "/api/v2/requester_groups", g.ID, requesterGroupView(g))
}

// manualOnly is the answer for a change to a rule-based group (reference §6:
// only manual groups can be updated or have members added or removed).
func manualOnly() reply {
	return invalid("type", "Only manual requester groups can be changed")
}

func (c *call) updateRequesterGroup() reply {
	g, ok := c.st.requesterGroups[c.ids[0]]
	if !ok {
		return c.notFound()
	}
	name, description := readRequesterGroupInput(c.f)
	errs := c.f.finish()
	if name != nil && strings.TrimSpace(*name) == "" {
		errs = append(errs, fieldError{Field: "name", Message: "It should not be blank", Code: codeInvalidValue})
	}
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	if g.Type != "manual" {
		return manualOnly()
	}
	if name != nil && c.requesterGroupNameTaken(*name, g.ID) {
		return duplicateName()
	}
	next := *g
	if name != nil {
		next.Name = *name
	}
	if description != nil {
		next.Description = *description
	}
	if next != *g {
		next.UpdatedAt = c.now
	}
	*g = next
	return okReply("requester_group", requesterGroupView(g))
}

// deleteRequesterGroup disbands the group; its members stay (reference §6).
func (c *call) deleteRequesterGroup() reply {
	g, ok := c.st.requesterGroups[c.ids[0]]
	if !ok {
		return c.notFound()
	}
	delete(c.st.requesterGroups, g.ID)
	delete(c.st.requesterGroupMembers, g.ID)
	return noContent()
}

func (c *call) listRequesterGroupMembers() reply {
	g, ok := c.st.requesterGroups[c.ids[0]]
	if !ok {
		return c.notFound()
	}
	var errs []fieldError
	p := c.paging(&errs)
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	var members []*User
	for _, id := range c.st.requesterGroupMembers[g.ID] {
		if u, ok := c.st.users[id]; ok {
			members = append(members, u)
		}
	}
	return listPage(c, "requesters", members, p, true, func(u *User) any {
		return requesterGroupMemberJSON{ID: u.ID, FirstName: u.FirstName, LastName: nstr(u.LastName), Email: nstr(u.PrimaryEmail)}
	})
}

// addRequesterGroupMember adds one existing, active user to a manual group.
// Adding a member twice is not an error: a real tenant answers 200 again
// (reference §19).
func (c *call) addRequesterGroupMember() reply {
	g, ok := c.st.requesterGroups[c.ids[0]]
	if !ok {
		return c.notFound()
	}
	if g.Type != "manual" {
		return manualOnly()
	}
	uid := c.ids[1]
	u, ok := c.st.users[uid]
	switch {
	case !ok || !u.Active:
		return invalid("requester_id", fmt.Sprintf("There is no active requester with the id %d", uid))
	case u.IsAgent && c.sw.RequesterGroupRejectsAgents:
		return invalid("requester_id", fmt.Sprintf("The user %d is an agent; only requesters can join requester groups", uid))
	}
	if !slices.Contains(c.st.requesterGroupMembers[g.ID], uid) {
		c.st.requesterGroupMembers[g.ID] = append(c.st.requesterGroupMembers[g.ID], uid)
	}
	return reply{status: c.sw.requesterGroupAddStatus()}
}

// removeRequesterGroupMember removes one user from a manual group. Removing
// a user who is not a member answers 404, as a real tenant does (reference
// §19), so a repeated remove is not a no-op.
func (c *call) removeRequesterGroupMember() reply {
	g, ok := c.st.requesterGroups[c.ids[0]]
	if !ok {
		return c.notFound()
	}
	if g.Type != "manual" {
		return manualOnly()
	}
	uid := c.ids[1]
	if !slices.Contains(c.st.requesterGroupMembers[g.ID], uid) {
		return c.notFound()
	}
	c.st.requesterGroupMembers[g.ID] = slices.DeleteFunc(c.st.requesterGroupMembers[g.ID], func(x int64) bool { return x == uid })
	return noContent()
}
