package freshservice

import (
	"context"
	"iter"
	"net/http"
	"slices"
	"time"
)

// GroupsService handles agent groups (§5).
type GroupsService service

// Group is an agent group. Membership has no per-member endpoint: Members
// (and Observers, Leaders) are replaced whole by Update, so changes must be
// read-modify-write and serialised per group (§5).
//
// In a restricted group with approval required (Access Controls Pro), a new
// member, observer or leader waits in the *PendingApproval lists until an
// admin approves, and an Update must repeat the pending ids it means to
// keep: a list sent without them drops their requests (§4.4, §19). So the
// whole list to send is the approved ids plus the pending ones.
type Group struct {
	ID                       int64   `json:"id"`
	Name                     string  `json:"name"`
	Description              string  `json:"description"`
	Members                  []int64 `json:"members"`
	Observers                []int64 `json:"observers"`
	Leaders                  []int64 `json:"leaders"`
	MembersPendingApproval   []int64 `json:"members_pending_approval"`
	ObserversPendingApproval []int64 `json:"observers_pending_approval"`
	LeadersPendingApproval   []int64 `json:"leaders_pending_approval"`
	Restricted               bool    `json:"restricted"`
	ApprovalRequired         bool    `json:"approval_required"`
	// WorkspaceID is the group's workspace in accounts with several; 0
	// where the account has none to show (§5).
	WorkspaceID int64     `json:"workspace_id"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// AllMembers returns the approved members followed by those pending
// approval: the members list an Update must send to keep both (§4.4).
func (g *Group) AllMembers() []int64 { return union(g.Members, g.MembersPendingApproval) }

// AllObservers is AllMembers for observers.
func (g *Group) AllObservers() []int64 { return union(g.Observers, g.ObserversPendingApproval) }

// AllLeaders is AllMembers for leaders.
func (g *Group) AllLeaders() []int64 { return union(g.Leaders, g.LeadersPendingApproval) }

func union(a, b []int64) []int64 {
	out := make([]int64, 0, len(a)+len(b))
	for _, id := range append(append([]int64(nil), a...), b...) {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// GroupFields is the body of an agent-group create or update. Restricted
// and ApprovalRequired, like non-empty Observers and Leaders, need the
// Access Controls Pro feature; without it Freshservice answers 403
// require_feature (ErrRequiresFeature, §19).
type GroupFields struct {
	Name             *string  `json:"name"`
	Description      *string  `json:"description"`
	Members          *[]int64 `json:"members"`
	Observers        *[]int64 `json:"observers"`
	Leaders          *[]int64 `json:"leaders"`
	Restricted       *bool    `json:"restricted"`
	ApprovalRequired *bool    `json:"approval_required"`
	// WorkspaceID creates the group in a workspace (workspace accounts
	// only; others refuse the key). Nil means the primary one, or the
	// key's only one.
	WorkspaceID *int64 `json:"workspace_id"`
}

// MarshalJSON omits nil fields.
func (f GroupFields) MarshalJSON() ([]byte, error) { return marshalFields(f) }

// List returns one page of agent groups.
func (s *GroupsService) List(ctx context.Context, opts *ListOptions) ([]*Group, *Response, error) {
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	var out struct {
		Groups []*Group `json:"groups"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: "groups", route: "/api/v2/groups", query: o.values(nil), idempotent: true,
	}, &out)
	return out.Groups, resp, err
}

// All walks every page of agent groups.
func (s *GroupsService) All(ctx context.Context) iter.Seq2[*Group, error] {
	return pages(ctx, func(ctx context.Context, page int) ([]*Group, *Response, error) {
		return s.List(ctx, &ListOptions{Page: page})
	})
}

// Get returns an agent group.
func (s *GroupsService) Get(ctx context.Context, id int64) (*Group, *Response, error) {
	var out struct {
		Group *Group `json:"group"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: idPath("groups", id), route: "/api/v2/groups/{id}", idempotent: true,
	}, &out)
	return out.Group, resp, err
}

// Create creates an agent group. Not retried after 5xx or transport errors.
func (s *GroupsService) Create(ctx context.Context, f *GroupFields) (*Group, *Response, error) {
	var out struct {
		Group *Group `json:"group"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPost, path: "groups", route: "/api/v2/groups", body: f,
	}, &out)
	return out.Group, resp, err
}

// Update changes an agent group; Members, Observers and Leaders replace the
// lists whole. Idempotent.
func (s *GroupsService) Update(ctx context.Context, id int64, f *GroupFields) (*Group, *Response, error) {
	var out struct {
		Group *Group `json:"group"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPut, path: idPath("groups", id), route: "/api/v2/groups/{id}", body: f, idempotent: true,
	}, &out)
	return out.Group, resp, err
}

// Delete deletes an agent group.
func (s *GroupsService) Delete(ctx context.Context, id int64) (*Response, error) {
	return s.client.do(ctx, request{
		method: http.MethodDelete, path: idPath("groups", id), route: "/api/v2/groups/{id}", idempotent: true,
	}, nil)
}

// RequesterGroupsService handles requester groups and their members (§6).
type RequesterGroupsService service

// RequesterGroup is a requester group. Only "manual" groups can be changed
// or have members added and removed; "rule_based" ones compute members.
type RequesterGroup struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
}

// RequesterGroupFields is the body of a requester-group create or update.
type RequesterGroupFields struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// MarshalJSON omits nil fields.
func (f RequesterGroupFields) MarshalJSON() ([]byte, error) { return marshalFields(f) }

// GroupMember is an entry of a requester group's member list, which holds
// exactly these four fields (§6).
type GroupMember struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
}

// List returns one page of requester groups.
func (s *RequesterGroupsService) List(ctx context.Context, opts *ListOptions) ([]*RequesterGroup, *Response, error) {
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	var out struct {
		Groups []*RequesterGroup `json:"requester_groups"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: "requester_groups", route: "/api/v2/requester_groups", query: o.values(nil), idempotent: true,
	}, &out)
	return out.Groups, resp, err
}

// All walks every page of requester groups.
func (s *RequesterGroupsService) All(ctx context.Context) iter.Seq2[*RequesterGroup, error] {
	return pages(ctx, func(ctx context.Context, page int) ([]*RequesterGroup, *Response, error) {
		return s.List(ctx, &ListOptions{Page: page})
	})
}

// Get returns a requester group.
func (s *RequesterGroupsService) Get(ctx context.Context, id int64) (*RequesterGroup, *Response, error) {
	var out struct {
		Group *RequesterGroup `json:"requester_group"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: idPath("requester_groups", id), route: "/api/v2/requester_groups/{id}", idempotent: true,
	}, &out)
	return out.Group, resp, err
}

// Create creates a manual requester group (a real tenant answers 200, §19).
// A name in use gives ErrDuplicate (409). Not retried after 5xx or
// transport errors.
func (s *RequesterGroupsService) Create(ctx context.Context, f *RequesterGroupFields) (*RequesterGroup, *Response, error) {
	var out struct {
		Group *RequesterGroup `json:"requester_group"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPost, path: "requester_groups", route: "/api/v2/requester_groups", body: f,
	}, &out)
	return out.Group, resp, err
}

// Update renames or re-describes a manual requester group.
func (s *RequesterGroupsService) Update(ctx context.Context, id int64, f *RequesterGroupFields) (*RequesterGroup, *Response, error) {
	var out struct {
		Group *RequesterGroup `json:"requester_group"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPut, path: idPath("requester_groups", id), route: "/api/v2/requester_groups/{id}", body: f, idempotent: true,
	}, &out)
	return out.Group, resp, err
}

// Delete disbands a requester group; its members are kept. Irreversible.
func (s *RequesterGroupsService) Delete(ctx context.Context, id int64) (*Response, error) {
	return s.client.do(ctx, request{
		method: http.MethodDelete, path: idPath("requester_groups", id), route: "/api/v2/requester_groups/{id}", idempotent: true,
	}, nil)
}

// AddMember adds one user to a manual requester group (§6). Adding a member
// twice answers 200 again (§19), so the call is retried like an idempotent
// one.
func (s *RequesterGroupsService) AddMember(ctx context.Context, groupID, userID int64) (*Response, error) {
	return s.client.do(ctx, request{
		method: http.MethodPost, path: idPath("requester_groups", groupID, "members", itoa(userID)),
		route: "/api/v2/requester_groups/{id}/members/{id}", idempotent: true,
	}, nil)
}

// RemoveMember removes one user from a manual requester group (§6). A user
// who is not a member gives ErrNotFound, as an unknown group does (§19): so
// does a retry whose first attempt succeeded unseen.
func (s *RequesterGroupsService) RemoveMember(ctx context.Context, groupID, userID int64) (*Response, error) {
	return s.client.do(ctx, request{
		method: http.MethodDelete, path: idPath("requester_groups", groupID, "members", itoa(userID)),
		route: "/api/v2/requester_groups/{id}/members/{id}", idempotent: true,
	}, nil)
}

// ListMembers returns one page of a requester group's members.
func (s *RequesterGroupsService) ListMembers(ctx context.Context, groupID int64, opts *ListOptions) ([]*GroupMember, *Response, error) {
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	var out struct {
		Members []*GroupMember `json:"requesters"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: idPath("requester_groups", groupID, "members"),
		route: "/api/v2/requester_groups/{id}/members", query: o.values(nil), idempotent: true,
	}, &out)
	return out.Members, resp, err
}

// AllMembers walks every page of a requester group's members.
func (s *RequesterGroupsService) AllMembers(ctx context.Context, groupID int64) iter.Seq2[*GroupMember, error] {
	return pages(ctx, func(ctx context.Context, page int) ([]*GroupMember, *Response, error) {
		return s.ListMembers(ctx, groupID, &ListOptions{Page: page})
	})
}
