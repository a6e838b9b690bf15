package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/fault"
	"github.com/fsbridge/fsbridge/mapping"
)

// KeyAccess is what the API key may do, as the last probe found.
type KeyAccess struct {
	mapping.KeyAccess
	// Workspaces are those the key's owner sees, as the catalog last
	// listed them (none: an account without workspaces, or one that does
	// not list them).
	Workspaces []mapping.Workspace
	ProbedAt   time.Time
}

// ProbeKey finds out what the API key may do with two cheap calls (one
// agent, one requester with agents; GET /agents/me is asked when the
// owner is loaded, the workspaces with the catalog) and makes the answer
// current. A call that gets no answer leaves that permission assumed.
func (b *Bridge) ProbeKey(ctx context.Context) *KeyAccess {
	p := mapping.KeyProbe{}
	if o := b.KeyOwner(); o != nil {
		p.OwnerEmail = o.Email
	}
	_, _, err := b.fs.Agents.List(ctx, &freshservice.AgentListOptions{ListOptions: freshservice.ListOptions{PerPage: 1}})
	p.ListAgents = answerStatus(err)
	_, _, err = b.fs.Requesters.List(ctx, &freshservice.RequesterListOptions{IncludeAgents: true, ListOptions: freshservice.ListOptions{PerPage: 1}})
	p.ListRequestersWithAgents = answerStatus(err)
	cat := b.catalog.Load()
	p.ListWorkspaces = cat.WorkspacesStatus
	a := &KeyAccess{KeyAccess: mapping.EvaluateKey(p), Workspaces: cat.Workspaces, ProbedAt: time.Now()}
	b.keyAccess.Store(a)
	if len(a.Problems) > 0 {
		for _, pr := range a.Problems {
			b.logger(ctx).Warn().Str("missing_permission", pr.Missing).Msg(pr.String())
		}
	}
	return a
}

// KeyAccess returns what the last probe found, or nil before the first.
func (b *Bridge) KeyAccess() *KeyAccess { return b.keyAccess.Load() }

// answerStatus is the HTTP status of a call's answer: 200 for success, 0
// when no answer came.
func answerStatus(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var er *freshservice.ErrorResponse
	if errors.As(err, &er) {
		return er.Status
	}
	return 0
}

// canSeeAgentsAsRequesters says whether requester lists may ask for agents
// too (include_agents=true); a key without Manage Agents may not.
func (b *Bridge) canSeeAgentsAsRequesters() bool {
	a := b.keyAccess.Load()
	return a == nil || a.SeeAgentsAsRequesters
}

// canManageAgents says whether the key may read and write agents.
func (b *Bridge) canManageAgents() bool {
	a := b.keyAccess.Load()
	return a == nil || a.ManageAgents
}

// refuseWithoutManageAgents refuses a plan that needs Manage Agents when
// the key lacks it, before any call: a 403 naming the permission and the
// fix, instead of Freshservice's bare 403 half way through the plan.
func (b *Bridge) refuseWithoutManageAgents(plan mapping.Plan) error {
	steps := mapping.AgentSteps(plan)
	if len(steps) == 0 || b.canManageAgents() {
		return nil
	}
	a := b.keyAccess.Load()
	var pr mapping.KeyProblem
	for _, p := range a.Problems {
		if p.Missing == mapping.PermissionManageAgents {
			pr = p
		}
	}
	m, p := steps[0].Call()
	return &stepError{step: steps[0], err: &fault.Error{
		Op: operationOf(steps[0].Kind), Kind: fault.Forbidden, Call: m + " " + p, Status: http.StatusForbidden,
		Detail: fmt.Sprintf("this change needs %s %s, and %s; nothing was changed. Fix: %s",
			m, p, pr.What, pr.Fix),
	}}
}
