package freshservice

import (
	"context"
	"iter"
	"net/http"
)

// WorkspacesService lists the account's workspaces (§5, §19). Accounts
// with several workspaces put each agent group and role in one
// (Group.WorkspaceID, Role.WorkspaceID), and a key whose owner sees only
// some workspaces sees only their groups and roles. The reference names no
// endpoint for the list; GET /api/v2/workspaces is what public clients call.
type WorkspacesService service

// Workspace is one workspace of the account.
type Workspace struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Primary bool   `json:"primary"`
}

// List returns one page of the workspaces the key's owner can see.
func (s *WorkspacesService) List(ctx context.Context, opts *ListOptions) ([]*Workspace, *Response, error) {
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	var out struct {
		Workspaces []*Workspace `json:"workspaces"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: "workspaces", route: "/api/v2/workspaces", query: o.values(nil), idempotent: true,
	}, &out)
	return out.Workspaces, resp, err
}

// All walks every page of workspaces.
func (s *WorkspacesService) All(ctx context.Context) iter.Seq2[*Workspace, error] {
	return pages(ctx, func(ctx context.Context, page int) ([]*Workspace, *Response, error) {
		return s.List(ctx, &ListOptions{Page: page})
	})
}
