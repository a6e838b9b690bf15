package bridge

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/fault"
	"github.com/fsbridge/fsbridge/mapping"
	"github.com/fsbridge/fsbridge/scim"
)

// KeyOwner is the agent who owns the bridge's API key, as GET /agents/me
// named it when the bridge started or last reloaded.
type KeyOwner struct {
	ID    int64
	Email string
	Name  string
}

// loadKeyOwner asks Freshservice who owns the API key (one call). An
// account that does not answer /agents/me (404, or a key that may not read
// agents) leaves the owner unknown, and only protected_users protects; a
// passing failure fails the start, as a catalog read does.
func (b *Bridge) loadKeyOwner(ctx context.Context) error {
	me, _, err := b.fs.Agents.Me(ctx)
	switch fault.KindOf(err) {
	case "":
		if me != nil {
			b.keyOwner.Store(&KeyOwner{ID: me.ID, Email: me.Email, Name: me.Name()})
		}
		return nil
	case fault.NotFound, fault.Unavailable, fault.Forbidden:
		b.logger(ctx).Warn().Err(err).Msg("Freshservice did not say who owns the API key (GET /api/v2/agents/me); list that agent in protected_users so the bridge never deactivates or demotes it")
		b.keyOwner.Store(nil)
		return nil
	}
	return fmt.Errorf("asking who owns the API key: %w", err)
}

// KeyOwner returns the API key's owner, or nil when unknown.
func (b *Bridge) KeyOwner() *KeyOwner { return b.keyOwner.Load() }

// ProtectedUsers returns the protected_users setting as configured.
func (b *Bridge) ProtectedUsers() []string { return b.opts.ProtectedUsers }

// protectedReason says why u must never be locked out, or "" when it may.
func (b *Bridge) protectedReason(u *freshservice.User) string {
	if u == nil {
		return ""
	}
	if o := b.keyOwner.Load(); o != nil && o.ID == u.ID {
		return "it is the agent who owns the bridge's Freshservice API key"
	}
	for _, p := range b.opts.ProtectedUsers {
		p = strings.TrimSpace(p)
		if n, err := strconv.ParseInt(p, 10, 64); err == nil && n == u.ID {
			return "it is listed in protected_users"
		}
		for _, e := range u.Emails() {
			if strings.EqualFold(e, p) {
				return "it is listed in protected_users"
			}
		}
	}
	return ""
}

// refuseLockOut answers a request whose plan would lock a protected user
// out (DESIGN D12) with 409 (a fault.Protected), and records the refusal
// in the audit trail.
// Nothing has been written when it is called. A lock-out the previous
// desired state already asked for (prev; the user left a role group, say)
// is not this request's doing: the request goes on, and reconciling keeps
// the user safe (mapping.Protect), so a protected user is never stuck.
func (b *Bridge) refuseLockOut(ctx context.Context, cur *freshservice.User, plan, prev mapping.Plan) *scim.Error {
	reason := b.protectedReason(cur)
	if reason == "" {
		return nil
	}
	pending := map[mapping.StepKind]bool{}
	for _, s := range mapping.LockOuts(cur, prev) {
		pending[s.Kind] = true
	}
	var step mapping.Step
	locks := false
	for _, s := range mapping.LockOuts(cur, plan) {
		if !pending[s.Kind] {
			step, locks = s, true
			break
		}
	}
	if !locks {
		return nil
	}
	m, p := step.Call()
	serr := scimError(&fault.Error{Op: "user.protect", Kind: fault.Protected, Detail: fmt.Sprintf(
		"user %d (%s) is protected: %s, and %s %s would deactivate, demote, convert it or take a role away, which would lock the bridge out of Freshservice; nothing was changed. To offboard this person, first give the bridge an API key owned by another administrator, or take them out of protected_users, then retry",
		cur.ID, cur.Email, reason, m, p)})
	b.auditRefusal(ctx, "user.protect", strconv.FormatInt(cur.ID, 10), cur.ID, cur.Email, serr)
	return serr
}
