package freshservice_test

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

// What the client makes of each answer a real tenant gives (reference §19),
// over real HTTP against the simulator, whose defaults are those answers.
func TestRealTenantAnswersThroughTheClient(t *testing.T) {
	ctx := context.Background()
	requester := func(t *testing.T, c *freshservice.Client, email string) *freshservice.User {
		t.Helper()
		u, _, err := c.Requesters.Create(ctx, &freshservice.RequesterFields{Email: freshservice.Ptr(email), Profile: freshservice.Profile{FirstName: freshservice.Ptr("R")}})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	tests := []struct {
		name string
		sw   simulator.Switches
		run  func(t *testing.T, sim *simulator.Server, c *freshservice.Client)
	}{
		{"a department create answered 200 decodes", simulator.Switches{}, func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
			d, resp, err := c.Departments.Create(ctx, &freshservice.DepartmentFields{Name: freshservice.Ptr("Finance")})
			if err != nil || resp.StatusCode != 200 || d == nil || d.ID == 0 || d.Name != "Finance" {
				t.Fatalf("Create = %+v, %v, %v", d, resp, err)
			}
		}},
		{"a requester-group create answered 200 decodes", simulator.Switches{}, func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
			g, resp, err := c.RequesterGroups.Create(ctx, &freshservice.RequesterGroupFields{Name: freshservice.Ptr("Staff")})
			if err != nil || resp.StatusCode != 200 || g == nil || g.ID == 0 || g.Type != "manual" {
				t.Fatalf("Create = %+v, %v, %v", g, resp, err)
			}
			_, _, err = c.RequesterGroups.Create(ctx, &freshservice.RequesterGroupFields{Name: freshservice.Ptr("STAFF")})
			if !errors.Is(err, freshservice.ErrDuplicate) || freshservice.Classify(err) != freshservice.ReasonConflict {
				t.Errorf("duplicate name: %v (%s), want ErrDuplicate, conflict", err, freshservice.Classify(err))
			}
		}},
		{"a used email on create is a conflict", simulator.Switches{}, func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
			_, _, err := c.Requesters.Create(ctx, &freshservice.RequesterFields{Email: freshservice.Ptr("Owner@Example.com"), Profile: freshservice.Profile{FirstName: freshservice.Ptr("X")}})
			if !errors.Is(err, freshservice.ErrDuplicate) || freshservice.Classify(err) != freshservice.ReasonConflict {
				t.Errorf("got %v (%s), want ErrDuplicate, conflict", err, freshservice.Classify(err))
			}
		}},
		{"a 409 that names no field is still a duplicate on create", simulator.Switches{DuplicateEmailBody: simulator.DuplicateBodyConflict}, func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
			for _, create := range []func() error{
				func() error {
					_, _, err := c.Requesters.Create(ctx, &freshservice.RequesterFields{Email: freshservice.Ptr(simulator.OwnerEmail), Profile: freshservice.Profile{FirstName: freshservice.Ptr("X")}})
					return err
				},
				func() error {
					_, _, err := c.Agents.Create(ctx, &freshservice.AgentFields{Email: freshservice.Ptr(simulator.OwnerEmail), Profile: freshservice.Profile{FirstName: freshservice.Ptr("X")},
						Roles: &[]freshservice.RoleAssignment{{RoleID: roleID(t, sim, "SD Agent"), AssignmentScope: freshservice.ScopeEntireHelpdesk}}})
					return err
				},
			} {
				err := create()
				var er *freshservice.ErrorResponse
				if !errors.As(err, &er) || er.Status != 409 || er.HasCode("duplicate_value") {
					t.Fatalf("got %v, want a 409 without duplicate_value", err)
				}
				if !errors.Is(err, freshservice.ErrDuplicate) || freshservice.Classify(err) != freshservice.ReasonConflict {
					t.Errorf("got %v (%s), want ErrDuplicate, conflict", err, freshservice.Classify(err))
				}
			}
		}},
		{"reactivating an active requester is ErrAlreadyActive", simulator.Switches{}, func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
			r := requester(t, c, "r@example.com")
			_, _, err := c.Requesters.Reactivate(ctx, r.ID)
			if !errors.Is(err, freshservice.ErrAlreadyActive) || errors.Is(err, freshservice.ErrNotFound) {
				t.Errorf("got %v, want ErrAlreadyActive", err)
			}
		}},
		{"deactivating a deactivated requester is ErrNotFound", simulator.Switches{}, func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
			r := requester(t, c, "r@example.com")
			if _, err := c.Requesters.Deactivate(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Requesters.Deactivate(ctx, r.ID); !errors.Is(err, freshservice.ErrNotFound) {
				t.Errorf("got %v, want ErrNotFound", err)
			}
			if got, _, err := c.Requesters.Get(ctx, r.ID); err != nil || got.Active {
				t.Errorf("Get tells it apart from an unknown id: %+v, %v", got, err)
			}
		}},
		{"repeated agent calls fail like a requester's", simulator.Switches{AgentRepeatCalls: simulator.RepeatFail}, func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
			owner, _, err := c.Agents.Me(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Agents.Reactivate(ctx, owner.ID); !errors.Is(err, freshservice.ErrAlreadyActive) {
				t.Errorf("got %v, want ErrAlreadyActive", err)
			}
		}},
		{"requester-group member add twice, remove of a non-member", simulator.Switches{}, func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
			g, _, err := c.RequesterGroups.Create(ctx, &freshservice.RequesterGroupFields{Name: freshservice.Ptr("Staff")})
			if err != nil {
				t.Fatal(err)
			}
			r := requester(t, c, "m@example.com")
			for range 2 {
				if _, err := c.RequesterGroups.AddMember(ctx, g.ID, r.ID); err != nil {
					t.Errorf("AddMember: %v", err)
				}
			}
			if _, err := c.RequesterGroups.RemoveMember(ctx, g.ID, r.ID); err != nil {
				t.Errorf("RemoveMember: %v", err)
			}
			if _, err := c.RequesterGroups.RemoveMember(ctx, g.ID, r.ID); !errors.Is(err, freshservice.ErrNotFound) {
				t.Errorf("second RemoveMember: %v, want ErrNotFound", err)
			}
		}},
		{"agents carry the user custom fields and external_id", simulator.Switches{}, func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
			a, _, err := c.Agents.Create(ctx, &freshservice.AgentFields{Email: freshservice.Ptr("a@example.com"), ExternalID: freshservice.Ptr("00u9"),
				Roles: &[]freshservice.RoleAssignment{{RoleID: roleID(t, sim, "SD Agent"), AssignmentScope: freshservice.ScopeEntireHelpdesk}},
				Profile: freshservice.Profile{FirstName: freshservice.Ptr("A"),
					CustomFields: map[string]any{"employee_id": "E-9", "desk_number": 12, "hire_date": "2026-02-01", "remote_worker": true, "employment_type": "Part-time"}}})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"employee_id": "E-9", "desk_number": float64(12), "hire_date": "2026-02-01", "remote_worker": true, "employment_type": "Part-time"}
			for _, u := range []*freshservice.User{a, mustGetAgent(t, c, a.ID)} {
				if u.ExternalID != "00u9" || !maps.Equal(u.CustomFields, want) {
					t.Errorf("agent external_id %q, custom_fields %v", u.ExternalID, u.CustomFields)
				}
			}
			u, _, err := c.Agents.Update(ctx, a.ID, &freshservice.AgentFields{Profile: freshservice.Profile{CustomFields: map[string]any{"desk_number": nil}}})
			if err != nil || u.CustomFields["desk_number"] != nil || u.CustomFields["employee_id"] != "E-9" {
				t.Errorf("after clearing one field: %v, %v", u.CustomFields, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim, c := newSim(t, simulator.Options{Switches: tc.sw})
			tc.run(t, sim, c)
		})
	}
}

func mustGetAgent(t *testing.T, c *freshservice.Client, id int64) *freshservice.User {
	t.Helper()
	a, _, err := c.Agents.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func roleID(t *testing.T, sim *simulator.Server, name string) int64 {
	t.Helper()
	r, ok := sim.RoleByName(name)
	if !ok {
		t.Fatalf("no role %q", name)
	}
	return r.ID
}
