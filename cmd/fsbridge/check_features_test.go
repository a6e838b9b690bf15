package main

import (
	"bytes"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

// TestCheckFlagsRulesThePlanLacks: on a Starter account, check names the
// plan it inferred and every rule setting that needs a feature Starter
// lacks, and passes the rule that needs none.
func TestCheckFlagsRulesThePlanLacks(t *testing.T) {
	sim, err := simulator.New(simulator.Options{APIKey: "check-key-0123456789", Plan: "starter"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	dir := t.TempDir()
	// freshservice.plan says enterprise: the account's own headers win.
	cfg := writeFile(t, dir, "fsbridge.yaml", `
freshservice:
  url: `+ts.URL+`
  api_key: check-key-0123456789
  plan: enterprise
scim:
  tokens:
    - name: okta
      sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
store:
  path: `+filepath.Join(dir, "fsbridge.db")+`
rules:
  role_groups:
    - name: Network
      match: {display_name: FS Network}
      roles: [{role: IT Ops Agent, scope: specified_groups, groups: [Network Team]}]
      observer_of: [Service Desk]
    - name: Desk
      match: {display_name: FS Agents}
      roles: [{role: SD Agent, scope: member_groups}]
      member_of: [Service Desk]
`)
	var out, errb bytes.Buffer
	if code := realMain([]string{"check", "--config", cfg}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"plan: Starter (from X-RateLimit-Total 100)",
		`role group "Network": role IT Ops Agent scoped specified_groups needs the Specified Groups Scope feature (plans: Pro, Enterprise); this account's plan lacks it`,
		`role group "Network": observer of agent group Service Desk needs the Access Controls Pro feature (plans: Enterprise); this account's plan lacks it`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("check output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, `role group "Desk": role`) {
		t.Errorf("the rule that needs no feature is flagged:\n%s", got)
	}
}
