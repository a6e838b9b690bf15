package mapping

import (
	"fmt"
	"net/http"
)

// KeyProbe is what Freshservice answered to the calls that show what the
// API key may do: the HTTP status of each (0 when no answer came, so
// nothing is known).
type KeyProbe struct {
	// OwnerEmail names the key's owner (GET /api/v2/agents/me); "" when
	// Freshservice did not say.
	OwnerEmail string
	// ListAgents is GET /api/v2/agents?per_page=1.
	ListAgents int
	// ListRequestersWithAgents is GET
	// /api/v2/requesters?include_agents=true&per_page=1.
	ListRequestersWithAgents int
	// ListWorkspaces is GET /api/v2/workspaces; 404 on accounts that have
	// no such endpoint.
	ListWorkspaces int
}

// KeyAccess is what the bridge may do with its API key, and what it may
// not, in words.
type KeyAccess struct {
	// ManageAgents: the key's owner may read and write agents. Without it
	// the bridge serves requesters only and refuses agent operations.
	ManageAgents bool
	// SeeAgentsAsRequesters: requester lists with include_agents=true
	// answer, so lookups by email find agents too.
	SeeAgentsAsRequesters bool
	// SeeWorkspaces: the workspace list answers.
	SeeWorkspaces bool
	// Problems are what is missing, each with its fix; empty when the key
	// may do everything the bridge needs.
	Problems []KeyProblem
}

// KeyProblem is one thing the key may not do.
type KeyProblem struct {
	// Missing names the Freshservice permission ("Manage Agents").
	Missing string
	// What says what the bridge cannot do, and which call said so.
	What string
	// Fix says how an administrator fixes it.
	Fix string
}

func (p KeyProblem) String() string { return p.What + ": " + p.Fix }

// PermissionManageAgents is Freshservice's name for the permission the
// agent endpoints need.
const PermissionManageAgents = "Manage Agents"

// EvaluateKey turns the answers of a probe into what the key may do. A
// 403 means the permission is missing; any other answer (an error or no
// answer at all) says nothing about permissions, and the bridge goes on
// as if it had them: the call that needs them will say.
func EvaluateKey(p KeyProbe) KeyAccess {
	a := KeyAccess{
		ManageAgents:          p.ListAgents != http.StatusForbidden,
		SeeAgentsAsRequesters: p.ListRequestersWithAgents != http.StatusForbidden,
		SeeWorkspaces:         p.ListWorkspaces != http.StatusForbidden && p.ListWorkspaces != http.StatusNotFound,
	}
	owner := "the API key's owner"
	who := "the key's owner"
	if p.OwnerEmail != "" {
		owner = "the API key's owner " + p.OwnerEmail
		who = p.OwnerEmail
	}
	fix := fmt.Sprintf("give %s a role with the %s permission (Admin > Agent Roles, or make them an Account Admin), or give the bridge the API key of another administrator who has it", who, PermissionManageAgents)
	if !a.ManageAgents {
		a.Problems = append(a.Problems, KeyProblem{
			Missing: PermissionManageAgents,
			What: fmt.Sprintf("%s lacks the %s permission (GET /api/v2/agents answered 403): the bridge serves requesters only and refuses to create, promote, change or demote agents",
				owner, PermissionManageAgents),
			Fix: fix,
		})
	} else if !a.SeeAgentsAsRequesters {
		a.Problems = append(a.Problems, KeyProblem{
			Missing: PermissionManageAgents,
			What: fmt.Sprintf("%s may not list agents among requesters (GET /api/v2/requesters?include_agents=true answered 403): lookups by email miss agents",
				owner),
			Fix: fix,
		})
	}
	return a
}

// AgentSteps returns the steps of plan that need the Manage Agents
// permission: every call on /api/v2/agents, and convert_to_agent.
func AgentSteps(plan Plan) []Step {
	var out []Step
	for _, s := range plan {
		switch s.Kind {
		case StepCreateAgent, StepUpdateAgent, StepReactivateAgent, StepDeactivateAgent, StepForgetAgent,
			StepConvertToAgent, StepConvertToRequester:
			out = append(out, s)
		}
	}
	return out
}
