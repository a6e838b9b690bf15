package mapping

import (
	"errors"
	"strings"
	"testing"
)

func TestEvaluateKey(t *testing.T) {
	for _, tc := range []struct {
		name                        string
		probe                       KeyProbe
		manage, seeAgents, seeSpace bool
		problem                     []string // substrings of the one problem; nil: none
	}{
		{"admin key", KeyProbe{OwnerEmail: "o@x", ListAgents: 200, ListRequestersWithAgents: 200, ListWorkspaces: 200}, true, true, true, nil},
		{"no manage agents", KeyProbe{OwnerEmail: "o@x", ListAgents: 403, ListRequestersWithAgents: 403, ListWorkspaces: 200}, false, false, true,
			[]string{"the API key's owner o@x lacks the Manage Agents permission", "serves requesters only", "give o@x a role with the Manage Agents permission", "another administrator"}},
		{"owner unknown", KeyProbe{ListAgents: 403, ListRequestersWithAgents: 403}, false, false, true,
			[]string{"the API key's owner lacks the Manage Agents permission", "give the key's owner a role"}},
		{"agents but not among requesters", KeyProbe{ListAgents: 200, ListRequestersWithAgents: 403, ListWorkspaces: 200}, true, false, true,
			[]string{"may not list agents among requesters", "lookups by email miss agents"}},
		{"no answer says nothing", KeyProbe{ListAgents: 0, ListRequestersWithAgents: 503, ListWorkspaces: 0}, true, true, true, nil},
		{"no workspace endpoint", KeyProbe{ListAgents: 200, ListRequestersWithAgents: 200, ListWorkspaces: 404}, true, true, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := EvaluateKey(tc.probe)
			if a.ManageAgents != tc.manage || a.SeeAgentsAsRequesters != tc.seeAgents || a.SeeWorkspaces != tc.seeSpace {
				t.Errorf("access %+v, want manage %v, see agents %v, see workspaces %v", a, tc.manage, tc.seeAgents, tc.seeSpace)
			}
			if tc.problem == nil {
				if len(a.Problems) != 0 {
					t.Errorf("problems %v, want none", a.Problems)
				}
				return
			}
			if len(a.Problems) != 1 {
				t.Fatalf("problems %v, want one", a.Problems)
			}
			if a.Problems[0].Missing != PermissionManageAgents {
				t.Errorf("missing %q", a.Problems[0].Missing)
			}
			for _, w := range tc.problem {
				if !strings.Contains(a.Problems[0].String(), w) {
					t.Errorf("problem %q lacks %q", a.Problems[0].String(), w)
				}
			}
		})
	}
}

func TestAgentSteps(t *testing.T) {
	plan := Plan{{Kind: StepCreateRequester}, {Kind: StepAddRequesterGroup}, {Kind: StepConvertToAgent}, {Kind: StepUpdateAgent}, {Kind: StepJoinAgentGroup}}
	got := AgentSteps(plan)
	if len(got) != 2 || got[0].Kind != StepConvertToAgent || got[1].Kind != StepUpdateAgent {
		t.Errorf("agent steps %v", got)
	}
	if len(AgentSteps(Plan{{Kind: StepUpdateRequester}, {Kind: StepRemoveRequesterGroup}})) != 0 {
		t.Error("a requester plan needs Manage Agents")
	}
}

func TestResolvePlaced(t *testing.T) {
	spaces := []Workspace{{2, "IT", true}, {3, "HR", false}, {4, "Facilities", false}}
	objs := []Placed{
		{10, "Service Desk", 2}, {11, "Service Desk", 3}, {12, "Payroll", 3}, {13, "Payroll", 4}, {14, "Badges", 4}, {15, "Old", 0},
	}
	for _, tc := range []struct {
		name, obj, ws string
		spaces        []Workspace
		id            int64
		kind          NameErrorKind
		msg           []string
	}{
		{"primary wins without workspace", "service desk", "", spaces, 10, "", nil},
		{"workspace named", "Service Desk", "hr", spaces, 11, "", nil},
		{"only one other workspace has it", "Badges", "", spaces, 14, "", nil},
		{"no workspace id is the primary", "Old", "IT", spaces, 15, "", nil},
		{"ambiguous names both", "Payroll", "", spaces, 0, NameAmbiguous,
			[]string{`"Payroll" is ambiguous`, `"Payroll" (workspace HR, id 12)`, `"Payroll" (workspace Facilities, id 13)`, "workspace: HR"}},
		{"not in that workspace", "Badges", "HR", spaces, 0, NameUnknown, []string{`"Badges" is not in workspace "HR"`}},
		{"workspace not seen", "Service Desk", "Legal", spaces, 0, WorkspaceUnknown, []string{`workspace "Legal" is not one the API key's owner sees (it sees: IT, HR, Facilities)`}},
		{"key sees one workspace", "Network", "", []Workspace{{3, "HR", false}}, 0, WorkspacePartial, []string{"not in the workspaces the API key's owner sees (HR)"}},
		{"plain unknown", "Network", "", spaces, 0, NameUnknown, []string{`"Network" is unknown`}},
		{"account without workspaces", "Service Desk", "", nil, 10, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := ResolvePlaced(objs, tc.spaces, tc.obj, tc.ws)
			if id != tc.id {
				t.Errorf("id %d, want %d (%v)", id, tc.id, err)
			}
			var ne *NameError
			if tc.kind == "" {
				if err != nil {
					t.Errorf("error %v", err)
				}
				return
			}
			if !errors.As(err, &ne) || ne.Kind != tc.kind {
				t.Fatalf("error %v, want kind %s", err, tc.kind)
			}
			for _, w := range tc.msg {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err.Error(), w)
				}
			}
		})
	}
}
