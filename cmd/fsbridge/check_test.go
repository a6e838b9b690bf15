package main

import (
	"bytes"
	"context"
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
	var out, errb bytes.Buffer
	code := realMain([]string{"check", "--config", cfg}, &out, &errb)
	if code == 0 {
		t.Fatalf("check passed with unknown names:\n%s", out.String())
	}
	for _, want := range []string{`unknown roles "Wizard"`, `"SD Agent"`, `unknown agent groups "Hogwarts"`, `"Service Desk"`} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("error lacks %q:\n%s", want, errb.String())
		}
	}
	_ = context.Background
}
