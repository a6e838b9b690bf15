package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeReloadsRulesOnSIGHUPWithoutDroppingRequests runs the serve
// command, changes the rules file, sends SIGHUP while requests flow, and
// checks that the new rules apply and no request failed.
func TestServeReloadsRulesOnSIGHUPWithoutDroppingRequests(t *testing.T) {
	sim, err := simulator.New(simulator.Options{APIKey: "serve-key-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sim)
	defer ts.Close()
	dir := t.TempDir()
	addr := freePort(t)
	base := fmt.Sprintf(`listen: %s
freshservice: {url: %s, api_key: serve-key-0123456789, plan: enterprise}
scim: {tokens: [{name: t, token: serve-token-0123456789}]}
store: {path: %s}
log: {level: warn}
`, addr, ts.URL, filepath.Join(dir, "db"))
	cfgPath := writeFile(t, dir, "c.yaml", base)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- exitCode(runServe(ctx, []string{"--config", cfgPath}, io.Discard, io.Discard)) }()
	url := "http://" + addr + "/scim/v2"
	call := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer serve-token-0123456789")
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s, _ := call("GET", "/Users?count=1", ""); s == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Traffic flows through the reload.
	var failed atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if s, _ := call("GET", "/Users?filter=userName%20eq%20%22nobody@example.com%22", ""); s != 200 {
				failed.Add(1)
			}
		}
	})
	if err := os.WriteFile(cfgPath, []byte(base+`rules:
  role_groups:
    - match: {display_name: Helpdesk}
      roles: [{role: SD Agent, scope: entire_helpdesk}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// The new rule applies: a member of "Helpdesk" becomes an agent. The
	// signal is handled asynchronously, so a group made before the reload
	// is a requester group: delete it and try again until the rule shows.
	status, u := call("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"hup@example.com"}`)
	if status != 201 {
		t.Fatalf("create: %d %v", status, u)
	}
	var agent bool
	for i := 0; i < 100 && !agent; i++ {
		_, g := call("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Helpdesk","members":[{"value":"`+u["id"].(string)+`"}]}`)
		if su, ok := sim.UserByEmail("hup@example.com"); ok && su.IsAgent {
			agent = true
			break
		}
		if id, ok := g["id"].(string); ok {
			call("DELETE", "/Groups/"+id, "")
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if !agent {
		t.Error("after SIGHUP the new role group rule did not apply")
	}
	if n := failed.Load(); n != 0 {
		t.Errorf("%d requests failed during the reload", n)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exited %d", code)
	}
}

func exitCode(err error) int {
	if err != nil {
		return 1
	}
	return 0
}

// TestServeStartFailuresAreJSONLogLines: a bridge that cannot start says
// why in its JSON log, one line at level fatal, and exits 1; nothing else
// is written, so a log pipeline reads it like every other line.
func TestServeStartFailuresAreJSONLogLines(t *testing.T) {
	dir := t.TempDir()
	notADir := writeFile(t, dir, "file", "x")
	for _, tc := range []struct {
		name, config, want string
	}{
		{"invalid configuration", `freshservice: {url: "http://127.0.0.1:1", plan: growth}
scim: {tokens: [{name: t, token: serve-token-0123456789}]}
`, "freshservice.api_key"},
		{"store cannot be created", fmt.Sprintf(`freshservice: {url: "http://127.0.0.1:1", api_key: serve-key-0123456789, plan: growth}
scim: {tokens: [{name: t, token: serve-token-0123456789}]}
store: {path: %s}
`, filepath.Join(notADir, "fsbridge.db")), "cannot create or write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgPath := writeFile(t, t.TempDir(), "c.yaml", tc.config)
			var stdout, stderr strings.Builder
			code := realMain([]string{"serve", "--config", cfgPath}, &stdout, &stderr)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("stderr has %d lines, want one JSON line:\n%s", len(lines), stderr.String())
			}
			var entry map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
				t.Fatalf("stderr is not a JSON log line: %q", lines[0])
			}
			if entry["level"] != "fatal" || !strings.Contains(fmt.Sprint(entry["error"]), tc.want) {
				t.Errorf("log line %v: want level fatal and an error naming %q", entry, tc.want)
			}
			if strings.Contains(stderr.String(), "serve-key-0123456789") || strings.Contains(stderr.String(), "serve-token-0123456789") {
				t.Errorf("a secret is in the log line: %s", lines[0])
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q, want nothing", stdout.String())
			}
		})
	}
}
