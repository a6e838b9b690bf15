package simulator

import (
	"net/http"
	"slices"
	"strings"
)

// Permissions of the API key (reference §1, §3.2, §19): the key carries the
// permissions of the agent who owns it (OwnerEmail). A valid key without a
// permission answers 403 access_denied, and lists are filtered by the
// owner's role. GET /api/v2/agents/me answers whatever the role.

// Values of Switches.KeyRole.
const (
	// KeyRoleAdmin may do everything (the default).
	KeyRoleAdmin = "admin"
	// KeyRoleNoManageAgents lacks "Manage Agents": every /agents endpoint
	// but /agents/me, convert_to_agent, and include_agents=true on
	// /requesters answer 403 access_denied.
	KeyRoleNoManageAgents = "no_manage_agents"
	// KeyRoleLimited sees part of the account in lists: of the agents, the
	// owner and those who share an agent group with the owner; of the agent
	// groups, those the owner is a member of.
	KeyRoleLimited = "limited"
)

func accessDenied() reply {
	return codeError(http.StatusForbidden, "access_denied", "You are not authorized to perform this action.")
}

// permitted answers 403 to a call the key's role may not make.
func (c *call) permitted(ep *endpoint) (reply, bool) {
	if c.sw.KeyRole != KeyRoleNoManageAgents {
		return reply{}, true
	}
	p := ep.pattern
	switch {
	case p == "/api/v2/agents/me":
		return reply{}, true
	case p == "/api/v2/agents" || strings.HasPrefix(p, "/api/v2/agents/"),
		strings.HasSuffix(p, "/convert_to_agent"),
		p == "/api/v2/requesters" && strings.EqualFold(c.q.Get("include_agents"), "true"):
		return accessDenied(), false
	}
	return reply{}, true
}

// keyOwner returns the agent who owns the key, if the account has it.
func (c *call) keyOwner() (*User, bool) {
	u, ok := c.st.userByEmail(OwnerEmail)
	if !ok || !u.IsAgent {
		return nil, false
	}
	return u, true
}

// agentVisibleFunc returns whether lists show an agent to a limited key: the
// owner, and the agents who share an agent group with the owner. An
// account without the owner has no role to limit.
func (c *call) agentVisibleFunc() func(u *User) bool {
	if c.sw.KeyRole != KeyRoleLimited {
		return func(*User) bool { return true }
	}
	owner, ok := c.keyOwner()
	if !ok {
		return func(*User) bool { return true }
	}
	mates := map[int64]bool{owner.ID: true}
	for _, g := range c.st.groups {
		if slices.Contains(g.Members, owner.ID) {
			for _, id := range g.Members {
				mates[id] = true
			}
		}
	}
	return func(u *User) bool { return !u.IsAgent || mates[u.ID] }
}

// groupListed returns whether lists show agent group g to a limited key:
// the groups the owner is a member of.
func (c *call) groupListed(g *Group) bool {
	if c.sw.KeyRole != KeyRoleLimited {
		return true
	}
	owner, ok := c.keyOwner()
	return !ok || slices.Contains(g.Members, owner.ID)
}
