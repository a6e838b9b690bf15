package freshservice_test

import (
	"errors"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

// The key's owner is named by /agents/me, and deactivating that agent
// revokes the key: every later call is refused, which is why the bridge
// must never do it.
func TestKeyOwnerAndRevocation(t *testing.T) {
	sim, c := newSim(t, simulator.Options{})
	ctx := t.Context()
	me, _, err := c.Agents.Me(ctx)
	if err != nil {
		t.Fatalf("Agents.Me: %v", err)
	}
	if me.Email != simulator.OwnerEmail || !me.IsAgent || !me.Active {
		t.Fatalf("Agents.Me = %s agent=%v active=%v, want the active agent %s", me.Email, me.IsAgent, me.Active, simulator.OwnerEmail)
	}
	if _, _, err := c.Agents.Deactivate(ctx, me.ID); err != nil {
		t.Fatalf("deactivating the owner: %v", err)
	}
	_, _, err = c.Agents.Me(ctx)
	var er *freshservice.ErrorResponse
	if !errors.As(err, &er) || er.Status != 401 {
		t.Fatalf("a call after the key owner was deactivated: %v, want 401", err)
	}
	if u, ok := sim.UserByEmail(simulator.OwnerEmail); !ok || u.Active {
		t.Fatalf("owner in the simulator: %+v", u)
	}
}
