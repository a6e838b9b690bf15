package freshservice

import (
	"context"
	"net/http"
)

// Me returns the agent who owns the API key (reference §19,
// GET /api/v2/agents/me). Deactivating, demoting or stripping that agent of
// its roles revokes or weakens the key, so the bridge protects it.
func (s *AgentsService) Me(ctx context.Context) (*User, *Response, error) {
	var out struct {
		Agent *User `json:"agent"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: "agents/me", route: "/api/v2/agents/me", idempotent: true,
	}, &out)
	markAgents(out.Agent)
	return out.Agent, resp, err
}
