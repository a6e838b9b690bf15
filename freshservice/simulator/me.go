package simulator

// The API key belongs to an agent, the account owner seeded with the email
// OwnerEmail (reference §19: GET /api/v2/agents/me names it). Freshservice
// revokes a deactivated agent's key, so while that agent is inactive every
// call with the key answers 401, as a real account does to an integration
// that deactivated its own key's owner.

// getMe answers GET /api/v2/agents/me: the agent who owns the API key.
func (c *call) getMe() reply {
	u, ok := c.st.userByEmail(OwnerEmail)
	if !ok || !u.IsAgent {
		return c.notFound()
	}
	return okReply(viewAgent.envelope(), c.render(u, viewAgent))
}

// keyRevoked reports whether the key's owner exists and is deactivated.
// An account seeded without the owner has no revocation to model.
func (s *Server) keyRevoked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.userByEmail(OwnerEmail)
	return ok && !u.Active
}
