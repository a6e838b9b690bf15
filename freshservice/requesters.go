package freshservice

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// RequestersService handles requesters (§3).
type RequestersService service

// RequesterListOptions filter GET /requesters (§3.2).
type RequesterListOptions struct {
	// Email matches exactly; on some accounts secondary emails too.
	Email       string
	MobilePhone string
	WorkPhone   string
	// Active, when set, filters by state. Unset returns both active and
	// deactivated users (§13.3).
	Active *bool
	// IncludeAgents makes agents visible, in requester shape, with
	// is_agent:true. Without it agents are hidden (§13.4).
	IncludeAgents bool
	ListOptions
}

func (o *RequesterListOptions) values() url.Values {
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
	if o.IncludeAgents {
		v.Set("include_agents", "true")
	}
	return o.ListOptions.values(v)
}

// List returns one page of requesters. It draws from the "list requesters"
// bucket as well as the overall one (§10).
func (s *RequestersService) List(ctx context.Context, opts *RequesterListOptions) ([]*User, *Response, error) {
	var out struct {
		Requesters []*User `json:"requesters"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: "requesters", route: "/api/v2/requesters",
		query: opts.values(), idempotent: true, bucket: BucketListRequesters,
	}, &out)
	return out.Requesters, resp, err
}

// All walks every page of the list.
func (s *RequestersService) All(ctx context.Context, opts *RequesterListOptions) iter.Seq2[*User, error] {
	var o RequesterListOptions
	if opts != nil {
		o = *opts
	}
	return pages(ctx, func(ctx context.Context, page int) ([]*User, *Response, error) {
		o.Page = page
		return s.List(ctx, &o)
	})
}

// Get returns the user with the id in requester shape; deactivated users
// too (§3.4). Agents come with IsAgent set, unless the account answers 404
// for them (§19 leaves it open): ErrNotFound then means "no requester with
// this id", and the id may still be an agent's (AgentsService.Get).
func (s *RequestersService) Get(ctx context.Context, id int64) (*User, *Response, error) {
	var out struct {
		Requester *User `json:"requester"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: idPath("requesters", id), route: "/api/v2/requesters/{id}", idempotent: true,
	}, &out)
	return out.Requester, resp, err
}

// GetUser returns the user with the id, agent or requester, active or not,
// with one call on most accounts: the requester view, which shows agents
// too. Where that view answers 404 for agents (§19 leaves it open), a 404
// is asked again of the agent view, so ErrNotFound means that neither view
// has the id. An agent read so comes in the agent view.
func (c *Client) GetUser(ctx context.Context, id int64) (*User, *Response, error) {
	u, resp, err := c.Requesters.Get(ctx, id)
	if !errors.Is(err, ErrNotFound) {
		return u, resp, err
	}
	a, aresp, aerr := c.Agents.Get(ctx, id)
	if errors.Is(aerr, ErrNotFound) {
		return nil, resp, err
	}
	return a, aresp, aerr
}

// Create creates a requester (§3.5; a real tenant answers 201, §19). An
// email that any user holds, active or not, primary or secondary, in any
// case, gives ErrDuplicate (409, whatever its body). Not retried after 5xx
// or transport errors: the create may have happened.
func (s *RequestersService) Create(ctx context.Context, f *RequesterFields) (*User, *Response, error) {
	var out struct {
		Requester *User `json:"requester"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPost, path: "requesters", route: "/api/v2/requesters", body: f,
	}, &out)
	return out.Requester, resp, err
}

// Update changes the given fields (§3.5): PUT is partial, lists replace.
// Idempotent.
func (s *RequestersService) Update(ctx context.Context, id int64, f *RequesterFields) (*User, *Response, error) {
	var out struct {
		Requester *User `json:"requester"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPut, path: idPath("requesters", id), route: "/api/v2/requesters/{id}", body: f, idempotent: true,
	}, &out)
	return out.Requester, resp, err
}

// Deactivate soft-deletes a requester (§3.6): it can no longer log in and
// Freshservice removes it from every requester group. Reversible with
// Reactivate. A requester that is already deactivated gives ErrNotFound, as
// an unknown id does (§19): so does a retry whose first attempt succeeded
// unseen. Get tells the two apart (Active false, or ErrNotFound again).
func (s *RequestersService) Deactivate(ctx context.Context, id int64) (*Response, error) {
	return s.client.do(ctx, request{
		method: http.MethodDelete, path: idPath("requesters", id), route: "/api/v2/requesters/{id}", idempotent: true,
	}, nil)
}

// Reactivate undoes Deactivate (§3.6). Requester-group memberships are not
// restored by Freshservice. An active requester gives ErrAlreadyActive (400
// contact_already_active, §19), also when a retry follows a first attempt
// that succeeded unseen: the requester is active either way.
func (s *RequestersService) Reactivate(ctx context.Context, id int64) (*User, *Response, error) {
	var out struct {
		Requester *User `json:"requester"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPut, path: idPath("requesters", id, "reactivate"), route: "/api/v2/requesters/{id}/reactivate", idempotent: true,
	}, &out)
	return out.Requester, resp, err
}

// Forget permanently deletes a requester AND the tickets they requested
// (§3.6). Irreversible; frees the email.
func (s *RequestersService) Forget(ctx context.Context, id int64) (*Response, error) {
	return s.client.do(ctx, request{
		method: http.MethodDelete, path: idPath("requesters", id, "forget"), route: "/api/v2/requesters/{id}/forget", idempotent: true,
	}, nil)
}

// ConvertToAgent makes the requester an occasional agent with the SD Agent
// role and no groups, keeping the id (§3.6, §13.10). Not idempotent (a
// second call on an agent fails), so never retried after 5xx or transport
// errors.
func (s *RequestersService) ConvertToAgent(ctx context.Context, id int64) (*User, *Response, error) {
	var out struct {
		Agent *User `json:"agent"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPut, path: idPath("requesters", id, "convert_to_agent"), route: "/api/v2/requesters/{id}/convert_to_agent",
	}, &out)
	if out.Agent != nil {
		out.Agent.View, out.Agent.IsAgent = ViewAgent, true
	}
	return out.Agent, resp, err
}
