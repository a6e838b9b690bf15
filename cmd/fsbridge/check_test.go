package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkEnv(t *testing.T, rules string) (dir, cfgPath string, sim *simulator.Server) {
	t.Helper()
	sim, err := simulator.New(simulator.Options{APIKey: "check-key-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	dir = t.TempDir()
	cfgPath = writeFile(t, dir, "fsbridge.yaml", `
freshservice:
  url: `+ts.URL+`
  api_key: check-key-0123456789
  plan: pro
scim:
  tokens:
    - name: okta
      sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
store:
  path: `+filepath.Join(dir, "fsbridge.db")+`
`+rules)
	return dir, cfgPath, sim
}

func TestCheckPrintsThePlanAndSendsNothing(t *testing.T) {
	dir, cfg, sim := checkEnv(t, `rules:
  role_groups:
    - match: {display_name: FS Admins, role: Admin}
      roles: [{role: Account Admin, scope: entire_helpdesk}]
`)
	req := writeFile(t, dir, "req.json", `{"method":"POST","path":"/Users","body":{
		"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new.admin@example.com",
		"name":{"givenName":"New","familyName":"Admin"},"roles":[{"value":"Admin"}]}}`)
	var out, errb bytes.Buffer
	code := realMain([]string{"check", "--config", cfg, "--request", req, "--walk"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"configuration: valid",
		`role group "FS Admins"`, "Account Admin (",
		"budget (plan pro",
		"api key: owned by agent ", "Account Owner (owner@example.com)",
		"plan: 1 Freshservice call(s) would be made:",
		`POST /api/v2/agents {`, `"email":"new.admin@example.com"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, ok := sim.UserByEmail("new.admin@example.com"); ok {
		t.Error("check created the user in Freshservice")
	}
	if strings.Contains(out.String(), "check-key-0123456789") {
		t.Error("the API key was printed")
	}
}

func TestCheckListsUnknownNames(t *testing.T) {
	_, cfg, _ := checkEnv(t, `rules:
  role_groups:
    - match: {display_name: FS Agents}
      roles: [{role: Wizard, scope: entire_helpdesk}]
      member_of: [Hogwarts]
`)
	out, code := runCheckCmd(t, cfg)
	if code == 0 {
		t.Fatalf("check passed with unknown names:\n%s", out)
	}
	for _, want := range []string{
		`rules: unknown roles "Wizard" (the account has: `, `"SD Agent"`, `rules: unknown agent groups "Hogwarts" (the account has: `, `"Service Desk"`,
		"fix: correct the name in the configuration's rules to one the account has",
		// The rest of the report is still there.
		"rate limit: ", "api key rights: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if last := lastLine(out); last != "not ready: 2 problems" {
		t.Errorf("last line %q", last)
	}
}

// runCheckCmd runs `fsbridge check` and returns its output and exit status.
func runCheckCmd(t *testing.T, cfg string, args ...string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := realMain(append([]string{"check", "--config", cfg}, args...), &out, &errb)
	if errb.Len() > 0 {
		t.Logf("stderr: %s", errb.String())
	}
	return out.String(), code
}

func lastLine(s string) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return l[len(l)-1]
}

func wantLines(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestCheckReportReadyWithAnAdminKey(t *testing.T) {
	_, cfg, _ := checkEnv(t, "")
	out, code := runCheckCmd(t, cfg)
	if code != 0 || lastLine(out) != "ready" {
		t.Fatalf("exit %d, last line %q:\n%s", code, lastLine(out), out)
	}
	wantLines(t, out,
		"rate limit: 500 calls per minute, list agents 140, list requesters 140, measured from Freshservice's X-RateLimit-Total headers",
		// checkEnv configures plan pro; the simulator is enterprise.
		"set freshservice.plan: enterprise",
		"api key rights: owned by owner@example.com (Account Owner); may manage agents\n",
		"workspaces: IT (2, primary)\n",
		"mandatory requester fields: none the mapping leaves empty",
		"agents: 1 full-time, 0 occasional;",
	)
}

func TestCheckReportNamesManageAgents(t *testing.T) {
	_, cfg, sim := checkEnv(t, "")
	sim.SetSwitches(simulator.Switches{KeyRole: "no_manage_agents"})
	out, code := runCheckCmd(t, cfg)
	if code == 0 {
		t.Fatalf("check passed:\n%s", out)
	}
	if last := lastLine(out); last != "not ready: 1 problem" {
		t.Errorf("last line %q", last)
	}
	wantLines(t, out,
		"api key rights: owned by owner@example.com (Account Owner); may NOT manage agents (requesters only)",
		"1. the API key's owner owner@example.com lacks the Manage Agents permission (GET /api/v2/agents answered 403)",
		"fix: give owner@example.com a role with the Manage Agents permission",
		"agents: not counted (the key may not list agents)",
	)
}

func TestCheckReportListsWorkspaces(t *testing.T) {
	_, cfg, sim := checkEnv(t, "")
	sim.SetSwitches(simulator.Switches{Workspaces: true})
	out, code := runCheckCmd(t, cfg)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wantLines(t, out, "workspaces: IT (2, primary), HR (3), Facilities (4)\n")
}

func TestCheckReportNamesWhatAOneWorkspaceKeyCannotSee(t *testing.T) {
	_, cfg, sim := checkEnv(t, `rules:
  role_groups:
    - match: {display_name: FS Agents}
      roles: [{role: SD Agent, scope: entire_helpdesk}]
      member_of: [Service Desk]
`)
	sim.SetSwitches(simulator.Switches{Workspaces: true, KeyWorkspaceID: 3})
	out, code := runCheckCmd(t, cfg)
	if code == 0 {
		t.Fatalf("check passed:\n%s", out)
	}
	wantLines(t, out,
		"workspaces: HR (3); the key's owner sees only these",
		`rules: role "SD Agent" is not in the workspaces the API key's owner sees (HR): objects of other workspaces are invisible to the key`,
		`rules: agent group "Service Desk" is not in the workspaces the API key's owner sees (HR)`,
		"not ready: 2 problems",
	)
}

func TestCheckReportHourlyLimit(t *testing.T) {
	_, cfg, sim := checkEnv(t, "")
	sim.SetSwitches(simulator.Switches{HourlyLimit: 3000})
	out, code := runCheckCmd(t, cfg)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wantLines(t, out,
		"rate limit: 3000 calls per hour, one bucket for every call (a legacy per-hour account), measured from Freshservice's X-RateLimit-Total headers",
		"set freshservice.hourly_limits: true",
	)
}

func TestCheckReportMandatoryFields(t *testing.T) {
	_, cfg, sim := checkEnv(t, "")
	sim.SetSwitches(simulator.Switches{CustomFieldRequired: true})
	before := sim.Stats().ByRoute["POST /api/v2/requesters"]
	out, code := runCheckCmd(t, cfg)
	if code == 0 {
		t.Fatalf("check passed:\n%s", out)
	}
	wantLines(t, out,
		"mandatory requester fields: employee_id, which the mapping does not fill for every user",
		"1. Freshservice requires the requester fields employee_id, which the bridge does not fill for every user",
		"fix: map each under mapping.custom_fields with a source and a default",
		"not ready: 1 problem",
	)
	if n := sim.Stats().ByRoute["POST /api/v2/requesters"] - before; n != 1 {
		t.Errorf("%d requester creates asked", n)
	}
	if len(sim.Users()) != 1 {
		t.Errorf("check created a user: %d users", len(sim.Users()))
	}
}

func TestCheckReportMandatoryFieldFilledByAMapping(t *testing.T) {
	_, cfg, sim := checkEnv(t, `mapping:
  custom_fields:
    - {source: employeeNumber, target: employee_id, type: text, default: "none"}
`)
	sim.SetSwitches(simulator.Switches{CustomFieldRequired: true})
	out, code := runCheckCmd(t, cfg)
	if code != 0 || lastLine(out) != "ready" {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wantLines(t, out, "mandatory requester fields: none the mapping leaves empty")
}
