package status

import (
	"fmt"
	"strings"
)

// AccountReport is what the bridge knows of the Freshservice account and
// of what its API key may do: the facts `fsbridge check` prints and the
// status page's Account card shows. Building it makes no Freshservice
// call; the key is probed at start and by the health model's permissions
// check.
type AccountReport struct {
	URL string `json:"url"`
	// Plan is the configured plan; Limit and Per the account's overall
	// limit as Freshservice's X-RateLimit-Total headers showed it (Per
	// "minute" or "hour"), ListAgents and ListRequesters its list buckets
	// (per-minute accounts only). Measured is false before any header.
	Plan           string `json:"plan"`
	Limit          int    `json:"limit"`
	Per            string `json:"per"`
	ListAgents     int    `json:"list_agents_limit,omitempty"`
	ListRequesters int    `json:"list_requesters_limit,omitempty"`
	Measured       bool   `json:"measured"`
	// KeyOwner is the key's owner's email ("" when Freshservice did not
	// say); ManageAgents and SeeAgentsAsRequesters what the key may do.
	KeyOwner              string `json:"key_owner,omitempty"`
	KeyOwnerName          string `json:"key_owner_name,omitempty"`
	ManageAgents          bool   `json:"manage_agents"`
	SeeAgentsAsRequesters bool   `json:"see_agents_as_requesters"`
	// Workspaces are those the key's owner sees; none on an account
	// without workspaces. AllWorkspaces is false when the key sees only
	// some (no primary among them).
	Workspaces    []AccountWorkspace `json:"workspaces,omitempty"`
	AllWorkspaces bool               `json:"all_workspaces"`
	// FullTimeAgents and OccasionalAgents are the active agents the
	// mirror knows; MaxAgents is rules.max_agents (0: no cap).
	FullTimeAgents   int `json:"full_time_agents"`
	OccasionalAgents int `json:"occasional_agents"`
	MaxAgents        int `json:"max_agents,omitempty"`
	// Problems are what keeps the bridge from doing its work, each with
	// its fix; Ready is true when there are none.
	Problems []AccountProblem `json:"problems"`
	Ready    bool             `json:"ready"`
}

// AccountWorkspace is one workspace the key's owner sees.
type AccountWorkspace struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Primary bool   `json:"primary"`
}

// AccountProblem is one thing to fix, in words.
type AccountProblem struct {
	What string `json:"what"`
	Fix  string `json:"fix"`
}

func (p AccountProblem) String() string { return p.What + ". Fix: " + p.Fix }

// LimitWords says the account's rate limit in words.
func (r AccountReport) LimitWords() string {
	src := "measured from Freshservice's X-RateLimit-Total headers"
	if !r.Measured {
		src = "from the configured plan; no call has shown the account's own yet"
	}
	if r.Per == "hour" {
		return fmt.Sprintf("%d calls per hour, one bucket for every call (a legacy per-hour account), %s", r.Limit, src)
	}
	return fmt.Sprintf("%d calls per minute, list agents %d, list requesters %d, %s", r.Limit, r.ListAgents, r.ListRequesters, src)
}

// AccessWords says what the key may do in words.
func (r AccountReport) AccessWords() string {
	owner := "an agent Freshservice did not name (GET /api/v2/agents/me)"
	if r.KeyOwner != "" {
		owner = fmt.Sprintf("%s (%s)", r.KeyOwner, r.KeyOwnerName)
	}
	var may []string
	if r.ManageAgents {
		may = append(may, "may manage agents")
	} else {
		may = append(may, "may NOT manage agents (requesters only)")
	}
	if !r.SeeAgentsAsRequesters {
		may = append(may, "may NOT see agents among requesters")
	}
	return "owned by " + owner + "; " + strings.Join(may, ", ")
}

// WorkspaceWords lists the workspaces in words.
func (r AccountReport) WorkspaceWords() string {
	if len(r.Workspaces) == 0 {
		return "one (the account has no workspaces, or does not list them)"
	}
	var l []string
	for _, w := range r.Workspaces {
		s := fmt.Sprintf("%s (%d", w.Name, w.ID)
		if w.Primary {
			s += ", primary"
		}
		l = append(l, s+")")
	}
	out := strings.Join(l, ", ")
	if !r.AllWorkspaces {
		out += "; the key's owner sees only these: roles and agent groups of other workspaces are invisible to it"
	}
	return out
}
