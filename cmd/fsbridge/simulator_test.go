package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

func getRoles(t *testing.T, base, key string) (*http.Response, []string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/api/v2/roles", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(key, "X")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Roles []struct {
			Name string `json:"name"`
		} `json:"roles"`
	}
	if res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for _, r := range body.Roles {
		names = append(names, r.Name)
	}
	return res, names
}

func TestServeSimulator(t *testing.T) {
	sim, err := simulator.New(simulator.Options{APIKey: "K"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveSimulator(ctx, ln, sim) }()

	res, roles := getRoles(t, "http://"+ln.Addr().String(), "K")
	if res.StatusCode != 200 || len(roles) != 13 || roles[0] != "Account Admin" {
		t.Errorf("GET /api/v2/roles: %d %v", res.StatusCode, roles)
	}
	if res, _ := getRoles(t, "http://"+ln.Addr().String(), "wrong"); res.StatusCode != 401 {
		t.Errorf("wrong key: %d", res.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serveSimulator: %v", err)
	}
}

// startCommand runs "fsbridge simulator args..." and returns the base URL and
// API key it prints, and a function that stops it and returns its error.
func startCommand(t *testing.T, args ...string) (base, key string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runSimulator(ctx, args, pw, io.Discard)
		pw.CloseWithError(errors.Join(err, io.EOF))
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	for lines.Scan() && (base == "" || key == "") {
		line := strings.TrimSpace(lines.Text())
		if v, ok := strings.CutPrefix(line, "base URL: "); ok {
			base = strings.TrimSuffix(v, "/api/v2")
		}
		if v, ok := strings.CutPrefix(line, "API key:"); ok {
			key = strings.Fields(v)[0]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if base == "" || key == "" {
		cancel()
		t.Fatalf("no base URL or key printed: %v", <-done)
	}
	return base, key, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("the command did not stop")
		}
	}
}

func TestSimulatorCommand(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(seed, []byte(`{"roles":[{"name":"Tier 2"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	base, key, stop := startCommand(t, "--listen", "127.0.0.1:0", "--api-key", "K", "--plan", "starter", "--seed", seed, "--not-found-body", "json")
	if key != "K" {
		t.Errorf("printed key %q", key)
	}
	res, roles := getRoles(t, base, "K")
	if res.StatusCode != 200 || len(roles) != 14 || roles[13] != "Tier 2" {
		t.Errorf("roles: %d %v", res.StatusCode, roles)
	}
	if got := res.Header.Get("X-RateLimit-Total"); got != "100" {
		t.Errorf("starter overall limit: %s", got)
	}
	if err := stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
}

func TestSimulatorCommandGeneratesKey(t *testing.T) {
	base, key, stop := startCommand(t, "--listen", "127.0.0.1:0", "--no-defaults")
	defer stop()
	if len(key) != 32 {
		t.Errorf("generated key %q", key)
	}
	if res, roles := getRoles(t, base, key); res.StatusCode != 200 || len(roles) != 0 {
		t.Errorf("no-defaults roles: %d %v", res.StatusCode, roles)
	}
}

func TestSimulatorFlags(t *testing.T) {
	fs := newFlagSet("simulator", io.Discard)
	cfg := simulatorFlags(fs)
	err := parseFlags(fs, []string{
		"--duplicate-email-status", "400", "--requester-list-active-only", "--email-filter-primary-only",
		"--agent-delete-status", "204", "--convert-to-requester-envelope", "agent", "--convert-to-agent-existing-status", "200",
		"--requester-group-add-status", "201", "--create-status", "200", "--agent-deactivate-clears-groups",
		"--agent-roles-optional", "--not-found-body", "html", "--query-link", "--query-index-lag", "2m",
		"--rate-window", "sliding", "--seat-limit-status", "402", "--vip-user-writable", "--agent-external-id-read-only",
		"--query-extra-fields", "--requester-group-rejects-agents", "--location-address-flat", "--email-change-read-only",
		"--write-content-type-required", "--hourly-limit", "3000",
		"--duplicate-email-body", "conflict", "--agent-repeat-calls", "fail",
		"--requester-view-of-agents", "404", "--normalize-on-write", "--seat-exhaustion", "downgrade",
		"--restricted-group-approval", "--custom-field-required", "--workspaces", "--key-workspace-id", "3",
		"--key-role", "limited",
		"--fault-429", "0.1", "--fault-5xx", "0.2", "--fault-drop", "0.05", "--fault-commit-then-fail", "0.05",
		"--latency", "20ms", "--jitter", "5ms", "--fault-seed", "9", "--seats", "3", "--time-scale", "60",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := simulator.Switches{
		DuplicateEmailStatus: 400, RequesterListActiveOnly: true, EmailFilterPrimaryOnly: true, AgentDeleteStatus: 204,
		ConvertToRequesterEnvelope: "agent", ConvertToAgentExistingStatus: 200, RequesterGroupAddStatus: 201, CreateStatus: 200,
		AgentDeactivateClearsGroups: true, AgentRolesOptional: true, NotFoundBody: "html", QueryLink: true,
		QueryIndexLag: 2 * time.Minute, RateWindow: "sliding", SeatLimitStatus: 402, VIPUserWritable: true,
		AgentExternalIDReadOnly: true, QueryExtraFields: true, RequesterGroupRejectsAgents: true, LocationAddressFlat: true,
		EmailChangeReadOnly: true, WriteContentTypeRequired: true, HourlyLimit: 3000,
		DuplicateEmailBody: "conflict", AgentRepeatCalls: "fail",
		RequesterViewOfAgents: "404", NormalizeOnWrite: true, SeatExhaustion: "downgrade",
		RestrictedGroupApproval: true, CustomFieldRequired: true, Workspaces: true, KeyWorkspaceID: 3,
		KeyRole: "limited",
	}
	if cfg.opts.Switches != want {
		t.Errorf("switches\n got %+v\nwant %+v", cfg.opts.Switches, want)
	}
	wantFaults := simulator.Faults{Rate429: 0.1, Rate5xx: 0.2, RateDrop: 0.05, RateCommitThenFail: 0.05, Latency: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Seed: 9}
	if cfg.opts.Faults != wantFaults || cfg.opts.FullTimeSeats != 3 || cfg.opts.TimeScale != 60 {
		t.Errorf("options %+v", cfg.opts)
	}
	// The flag defaults are valid values and mean the simulator defaults.
	fs = newFlagSet("simulator", io.Discard)
	cfg = simulatorFlags(fs)
	if err := parseFlags(fs, nil); err != nil {
		t.Fatal(err)
	}
	if err := cfg.opts.Switches.Validate(); err != nil {
		t.Errorf("default flags: %v", err)
	}
}

func TestSimulatorCommandErrors(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		usage bool
	}{
		{"unknown flag", []string{"--bogus"}, true},
		{"extra argument", []string{"extra"}, true},
		{"bad plan", []string{"--plan", "free", "--listen", "127.0.0.1:0"}, false},
		{"bad fault rate", []string{"--fault-5xx", "2", "--listen", "127.0.0.1:0"}, false},
		{"bad switch", []string{"--not-found-body", "xml", "--listen", "127.0.0.1:0"}, false},
		{"missing seed file", []string{"--seed", "/nonexistent/seed.json", "--listen", "127.0.0.1:0"}, false},
		{"bad listen address", []string{"--listen", "256.0.0.1:99999"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := runSimulator(context.Background(), tc.args, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, errUsage) != tc.usage {
				t.Errorf("error %v: usage=%v, want %v", err, errors.Is(err, errUsage), tc.usage)
			}
		})
	}
}
