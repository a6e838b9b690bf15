package freshservice

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// AgentsService handles agents (§4).
type AgentsService service

// AgentListOptions filter GET /agents (§4.2).
type AgentListOptions struct {
	Email       string
	MobilePhone string
	WorkPhone   string
	// Active, when set, filters by state; unset returns both (§13.3).
	Active *bool
	// State is "fulltime" or "occasional"; empty for both.
	State string
	ListOptions
}

func (o *AgentListOptions) values() url.Values {
	v := url.Values{}
	if o == nil {
		return ListOptions{}.values(v)
	}
	if o.Email != "" {
		v.Set("email", o.Email)
	}
	if o.MobilePhone != "" {
		v.Set("mobile_phone_number", o.MobilePhone)
	}
	if o.WorkPhone != "" {
		v.Set("work_phone_number", o.WorkPhone)
	}
	if o.Active != nil {
		v.Set("active", strconv.FormatBool(*o.Active))
	}
	if o.State != "" {
		v.Set("state", o.State)
	}
	return o.ListOptions.values(v)
}

// List returns one page of agents, drawing from the "list agents" bucket
// as well as the overall one (§10).
func (s *AgentsService) List(ctx context.Context, opts *AgentListOptions) ([]*User, *Response, error) {
	var out struct {
		Agents []*User `json:"agents"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: "agents", route: "/api/v2/agents",
		query: opts.values(), idempotent: true, bucket: BucketListAgents,
	}, &out)
	markAgents(out.Agents...)
	return out.Agents, resp, err
}

// All walks every page of the list.
func (s *AgentsService) All(ctx context.Context, opts *AgentListOptions) iter.Seq2[*User, error] {
	var o AgentListOptions
	if opts != nil {
		o = *opts
	}
	return pages(ctx, func(ctx context.Context, page int) ([]*User, *Response, error) {
		o.Page = page
		return s.List(ctx, &o)
	})
}

func markAgents(us ...*User) {
	for _, u := range us {
		if u != nil {
			u.View, u.IsAgent = ViewAgent, true
		}
	}
}

// Get returns an agent; a requester's id gives ErrNotFound.
func (s *AgentsService) Get(ctx context.Context, id int64) (*User, *Response, error) {
	var out struct {
		Agent *User `json:"agent"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: idPath("agents", id), route: "/api/v2/agents/{id}", idempotent: true,
	}, &out)
	markAgents(out.Agent)
	return out.Agent, resp, err
}

// Create creates an agent directly, with roles and groups in one call
// (§4.3). A full-time agent takes a paid seat; with none left Freshservice
// answers 403 (ErrForbidden), or, in workspace accounts, creates an
// occasional agent without error (§19): compare the answer's Occasional with
// the request. An email in use gives ErrDuplicate. Not retried after 5xx or
// transport errors.
func (s *AgentsService) Create(ctx context.Context, f *AgentFields) (*User, *Response, error) {
	var out struct {
		Agent *User `json:"agent"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPost, path: "agents", route: "/api/v2/agents", body: f,
	}, &out)
	markAgents(out.Agent)
	return out.Agent, resp, err
}

// Update changes the given fields (§4.4); Roles, MemberOf and ObserverOf
// replace the agent's lists whole. Idempotent. Occasional false with no
// full-time seat free is 403 (ErrForbidden), or, in workspace accounts, a
// success that leaves the agent occasional (§19): read the answer's
// Occasional.
func (s *AgentsService) Update(ctx context.Context, id int64, f *AgentFields) (*User, *Response, error) {
	var out struct {
		Agent *User `json:"agent"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPut, path: idPath("agents", id), route: "/api/v2/agents/{id}", body: f, idempotent: true,
	}, &out)
	markAgents(out.Agent)
	return out.Agent, resp, err
}

// Deactivate soft-deletes an agent (§4.5). Freshservice answers 200 with
// the agent or 204 without a body; the agent is returned when there is one.
// An agent that is already deactivated may answer as the first call did or
// give ErrNotFound, like a requester (§19 leaves it open).
func (s *AgentsService) Deactivate(ctx context.Context, id int64) (*User, *Response, error) {
	var out struct {
		Agent *User `json:"agent"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodDelete, path: idPath("agents", id), route: "/api/v2/agents/{id}", idempotent: true,
	}, &out)
	markAgents(out.Agent)
	return out.Agent, resp, err
}

// Reactivate undoes Deactivate; roles are kept (§4.5). An active agent may
// answer as a reactivated one or give ErrAlreadyActive, like a requester
// (§19 leaves it open). A full-time agent finding no seat free is refused
// (ErrForbidden) or, in workspace accounts, comes back occasional (§19).
func (s *AgentsService) Reactivate(ctx context.Context, id int64) (*User, *Response, error) {
	var out struct {
		Agent *User `json:"agent"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPut, path: idPath("agents", id, "reactivate"), route: "/api/v2/agents/{id}/reactivate", idempotent: true,
	}, &out)
	markAgents(out.Agent)
	return out.Agent, resp, err
}

// Forget permanently deletes an agent and the tickets they requested
// (§4.5). Irreversible.
func (s *AgentsService) Forget(ctx context.Context, id int64) (*Response, error) {
	return s.client.do(ctx, request{
		method: http.MethodDelete, path: idPath("agents", id, "forget"), route: "/api/v2/agents/{id}/forget", idempotent: true,
	}, nil)
}

// ConvertToRequester turns an agent back into a requester with the same id,
// freeing its seat (§4.5). The answer is requester-shaped under either the
// "requester" or the "agent" key; both are read. Not idempotent.
func (s *AgentsService) ConvertToRequester(ctx context.Context, id int64) (*User, *Response, error) {
	var out struct {
		Requester *User `json:"requester"`
		Agent     *User `json:"agent"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPut, path: idPath("agents", id, "convert_to_requester"), route: "/api/v2/agents/{id}/convert_to_requester",
	}, &out)
	u := out.Requester
	if u == nil {
		u = out.Agent
	}
	if u != nil {
		u.View, u.IsAgent = ViewRequester, false
	}
	return u, resp, err
}
