package freshservice_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

// What the client gives its callers on accounts that differ from the
// default (reference §19: the uncertain points and the account
// variations), over real HTTP against the simulator.
func TestAccountVariantsThroughTheClient(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		opts simulator.Options
		run  func(t *testing.T, sim *simulator.Server, c *freshservice.Client)
	}{
		{"the requester view of an agent may be 404", simulator.Options{Switches: simulator.Switches{RequesterViewOfAgents: simulator.RequesterViewNotFound}},
			func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
				owner, _, err := c.Agents.Me(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := c.Requesters.Get(ctx, owner.ID); !errors.Is(err, freshservice.ErrNotFound) {
					t.Errorf("Requesters.Get of an agent: %v, want ErrNotFound", err)
				}
				if a, _, err := c.Agents.Get(ctx, owner.ID); err != nil || a.View != freshservice.ViewAgent {
					t.Errorf("Agents.Get = %+v, %v", a, err)
				}
				if u, _, err := c.GetUser(ctx, owner.ID); err != nil || u.ID != owner.ID || !u.IsAgent {
					t.Errorf("GetUser of an agent = %+v, %v", u, err)
				}
				if _, _, err := c.GetUser(ctx, 42); !errors.Is(err, freshservice.ErrNotFound) {
					t.Errorf("GetUser of no one: %v, want ErrNotFound", err)
				}
				calls := len(sim.Requests())
				r, _, err := c.Requesters.Create(ctx, &freshservice.RequesterFields{Email: freshservice.Ptr("r@example.com"), Profile: freshservice.Profile{FirstName: freshservice.Ptr("R")}})
				if err != nil {
					t.Fatal(err)
				}
				if u, _, err := c.GetUser(ctx, r.ID); err != nil || u.ID != r.ID || u.IsAgent {
					t.Errorf("GetUser of a requester = %+v, %v", u, err)
				}
				if n := len(sim.Requests()) - calls; n != 2 {
					t.Errorf("a requester's GetUser took %d calls with the create, want 2", n)
				}
			}},
		{"rewritten values read back rewritten and compare equivalent", simulator.Options{Switches: simulator.Switches{NormalizeOnWrite: true}},
			func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
				sentName, sentPhone := "  Mary   Ann", "+1 (800) 555-0100"
				u, _, err := c.Requesters.Create(ctx, &freshservice.RequesterFields{Email: freshservice.Ptr("m@example.com"),
					Profile: freshservice.Profile{FirstName: &sentName, WorkPhone: &sentPhone}})
				if err != nil {
					t.Fatal(err)
				}
				if u.FirstName == sentName || u.WorkPhone == sentPhone {
					t.Errorf("values not rewritten: %q %q", u.FirstName, u.WorkPhone)
				}
				if !freshservice.EquivalentName(u.FirstName, sentName) || !freshservice.EquivalentPhone(u.WorkPhone, sentPhone) {
					t.Errorf("stored %q %q not equivalent to what was sent", u.FirstName, u.WorkPhone)
				}
			}},
		{"a full-time agent without a seat may come back occasional, without error", simulator.Options{FullTimeSeats: 1, Switches: simulator.Switches{SeatExhaustion: simulator.SeatsDowngrade}},
			func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
				a, _, err := c.Agents.Create(ctx, &freshservice.AgentFields{Email: freshservice.Ptr("a@example.com"), Occasional: freshservice.Ptr(false),
					Roles:   &[]freshservice.RoleAssignment{{RoleID: roleID(t, sim, "SD Agent"), AssignmentScope: freshservice.ScopeEntireHelpdesk}},
					Profile: freshservice.Profile{FirstName: freshservice.Ptr("A")}})
				if err != nil || !a.Occasional {
					t.Fatalf("Create = %+v, %v; want an occasional agent and no error", a, err)
				}
				u, _, err := c.Agents.Update(ctx, a.ID, &freshservice.AgentFields{Occasional: freshservice.Ptr(false)})
				if err != nil || !u.Occasional {
					t.Errorf("Update = %+v, %v; want still occasional and no error", u, err)
				}
			}},
		{"a full-time agent without a seat is refused by default", simulator.Options{FullTimeSeats: 1},
			func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
				_, _, err := c.Agents.Create(ctx, &freshservice.AgentFields{Email: freshservice.Ptr("a@example.com"), Occasional: freshservice.Ptr(false),
					Roles:   &[]freshservice.RoleAssignment{{RoleID: roleID(t, sim, "SD Agent"), AssignmentScope: freshservice.ScopeEntireHelpdesk}},
					Profile: freshservice.Profile{FirstName: freshservice.Ptr("A")}})
				if !errors.Is(err, freshservice.ErrForbidden) {
					t.Errorf("Create: %v, want ErrForbidden", err)
				}
			}},
		{"approval-gated groups list pending members apart", simulator.Options{Switches: simulator.Switches{RestrictedGroupApproval: true}},
			func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
				me, _, err := c.Agents.Me(ctx)
				if err != nil {
					t.Fatal(err)
				}
				desk, _ := sim.AgentGroupByName("Service Desk")
				g, _, err := c.Groups.Update(ctx, desk.ID, &freshservice.GroupFields{Members: &[]int64{me.ID}})
				if err != nil || len(g.Members) != 0 || !slices.Equal(g.MembersPendingApproval, []int64{me.ID}) || !g.Restricted || !g.ApprovalRequired {
					t.Fatalf("Update = %+v, %v", g, err)
				}
				if !slices.Equal(g.AllMembers(), []int64{me.ID}) {
					t.Errorf("AllMembers %v", g.AllMembers())
				}
				a, _, err := c.Agents.Get(ctx, me.ID)
				if err != nil || len(a.MemberOf) != 0 || !slices.Equal(a.MemberOfPending, []int64{desk.ID}) {
					t.Errorf("agent member_of %v, pending %v, %v", a.MemberOf, a.MemberOfPending, err)
				}
				if err := sim.ApproveAgentGroupMembers(desk.ID); err != nil {
					t.Fatal(err)
				}
				g, _, err = c.Groups.Get(ctx, desk.ID)
				if err != nil || !slices.Equal(g.Members, []int64{me.ID}) || len(g.MembersPendingApproval) != 0 {
					t.Errorf("after approval %+v, %v", g, err)
				}
			}},
		{"a feature the plan lacks is ErrRequiresFeature, named", simulator.Options{Plan: "pro"},
			func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
				_, _, err := c.Groups.Create(ctx, &freshservice.GroupFields{Name: freshservice.Ptr("Secure"), Restricted: freshservice.Ptr(true)})
				var er *freshservice.ErrorResponse
				if !errors.Is(err, freshservice.ErrRequiresFeature) || !errors.As(err, &er) {
					t.Fatalf("got %v, want ErrRequiresFeature", err)
				}
				if f, ok := er.RequiresFeature(); !ok || f != simulator.FeatureAccessControlsPro {
					t.Errorf("RequiresFeature() = %q, %v", f, ok)
				}
				desk, _ := sim.AgentGroupByName("Service Desk")
				me, _, _ := c.Agents.Me(ctx)
				_, _, err = c.Agents.Update(ctx, me.ID, &freshservice.AgentFields{Roles: &[]freshservice.RoleAssignment{
					{RoleID: roleID(t, sim, "SD Agent"), AssignmentScope: freshservice.ScopeSpecifiedGroups, Groups: []int64{desk.ID}}}})
				if err != nil {
					t.Errorf("specified_groups on Pro: %v", err)
				}
			}},
		{"a mandatory custom field missing is a missing_field error on it", simulator.Options{Switches: simulator.Switches{CustomFieldRequired: true}},
			func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
				_, _, err := c.Requesters.Create(ctx, &freshservice.RequesterFields{Email: freshservice.Ptr("r@example.com"), Profile: freshservice.Profile{FirstName: freshservice.Ptr("R")}})
				var er *freshservice.ErrorResponse
				if !errors.As(err, &er) || er.Status != 400 {
					t.Fatalf("got %v, want a 400", err)
				}
				if code, ok := er.FieldCode(simulator.EmployeeIDField); !ok || code != "missing_field" {
					t.Errorf("FieldCode(employee_id) = %q, %v", code, ok)
				}
			}},
		{"external_id may be read-only on agents", simulator.Options{Switches: simulator.Switches{AgentExternalIDReadOnly: true}},
			func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
				me, _, _ := c.Agents.Me(ctx)
				_, _, err := c.Agents.Update(ctx, me.ID, &freshservice.AgentFields{ExternalID: freshservice.Ptr("00u1")})
				var er *freshservice.ErrorResponse
				if !errors.As(err, &er) {
					t.Fatalf("got %v", err)
				}
				if code, ok := er.FieldCode("external_id"); !ok || code != "invalid_field" {
					t.Errorf("FieldCode(external_id) = %q, %v", code, ok)
				}
			}},
		{"workspaces, and groups and roles in them", simulator.Options{Switches: simulator.Switches{Workspaces: true}},
			func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
				var ws []freshservice.Workspace
				for w, err := range c.Workspaces.All(ctx) {
					if err != nil {
						t.Fatal(err)
					}
					ws = append(ws, *w)
				}
				if len(ws) != 3 || !ws[0].Primary || ws[0].ID != simulator.PrimaryWorkspaceID {
					t.Errorf("workspaces %+v", ws)
				}
				g, _, err := c.Groups.Create(ctx, &freshservice.GroupFields{Name: freshservice.Ptr("HR Team"), WorkspaceID: freshservice.Ptr(ws[1].ID)})
				if err != nil || g.WorkspaceID != ws[1].ID {
					t.Errorf("Groups.Create = %+v, %v", g, err)
				}
				r, _, err := c.Roles.Get(ctx, roleID(t, sim, "SD Agent"))
				if err != nil || r.WorkspaceID != simulator.PrimaryWorkspaceID {
					t.Errorf("Roles.Get = %+v, %v", r, err)
				}
			}},
		{"a key that sees one workspace lists only its groups", simulator.Options{Switches: simulator.Switches{Workspaces: true, KeyWorkspaceID: 3}},
			func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
				ws, _, err := c.Workspaces.List(ctx, nil)
				if err != nil || len(ws) != 1 || ws[0].ID != 3 {
					t.Errorf("workspaces %v, %v", ws, err)
				}
				groups, _, err := c.Groups.List(ctx, nil)
				if err != nil || len(groups) != 0 {
					t.Errorf("groups %v, %v; the default groups are in another workspace", groups, err)
				}
				desk, _ := sim.AgentGroupByName("Service Desk")
				if _, _, err := c.Groups.Get(ctx, desk.ID); !errors.Is(err, freshservice.ErrNotFound) {
					t.Errorf("Groups.Get of another workspace's group: %v", err)
				}
			}},
		{"an account without workspaces has one and shows none on groups", simulator.Options{},
			func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
				ws, _, err := c.Workspaces.List(ctx, nil)
				if err != nil || len(ws) != 1 || !ws[0].Primary {
					t.Errorf("workspaces %v, %v", ws, err)
				}
				groups, _, err := c.Groups.List(ctx, nil)
				if err != nil || len(groups) == 0 || groups[0].WorkspaceID != 0 {
					t.Errorf("groups %+v, %v", groups, err)
				}
			}},
		{"a key without Manage Agents: ErrForbidden on agents, /agents/me answers", simulator.Options{Switches: simulator.Switches{KeyRole: simulator.KeyRoleNoManageAgents}},
			func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
				if _, _, err := c.Agents.Me(ctx); err != nil {
					t.Errorf("Me: %v", err)
				}
				_, _, err := c.Requesters.List(ctx, &freshservice.RequesterListOptions{IncludeAgents: true})
				var er *freshservice.ErrorResponse
				if !errors.Is(err, freshservice.ErrForbidden) || errors.Is(err, freshservice.ErrRequiresFeature) || !errors.As(err, &er) || er.Code != "access_denied" {
					t.Errorf("include_agents: %v, want ErrForbidden access_denied", err)
				}
				if _, _, err := c.Agents.List(ctx, nil); !errors.Is(err, freshservice.ErrForbidden) {
					t.Errorf("Agents.List: %v, want ErrForbidden", err)
				}
				if _, _, err := c.Requesters.List(ctx, nil); err != nil {
					t.Errorf("Requesters.List without agents: %v", err)
				}
			}},
		{"a limited key's lists leave agents out", simulator.Options{Switches: simulator.Switches{KeyRole: simulator.KeyRoleLimited}},
			func(t *testing.T, sim *simulator.Server, c *freshservice.Client) {
				a, _, err := c.Agents.Create(ctx, &freshservice.AgentFields{Email: freshservice.Ptr("a@example.com"),
					Roles:   &[]freshservice.RoleAssignment{{RoleID: roleID(t, sim, "SD Agent"), AssignmentScope: freshservice.ScopeEntireHelpdesk}},
					Profile: freshservice.Profile{FirstName: freshservice.Ptr("A")}})
				if err != nil {
					t.Fatal(err)
				}
				list, _, err := c.Agents.List(ctx, nil)
				if err != nil || len(list) != 1 || list[0].Email != simulator.OwnerEmail {
					t.Errorf("Agents.List = %v, %v; want the owner only", list, err)
				}
				if got, _, err := c.Agents.Get(ctx, a.ID); err != nil || got.ID != a.ID {
					t.Errorf("Agents.Get by id = %v, %v", got, err)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim, c := newSim(t, tc.opts)
			tc.run(t, sim, c)
		})
	}
}
