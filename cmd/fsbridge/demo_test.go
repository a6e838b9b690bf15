package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestDemoTimeScaleAndPlan checks that --time-scale and --plan reach both
// the simulated account and the bridge's budget, so the bridge spends the
// plan's limit per simulated minute, no more.
func TestDemoTimeScaleAndPlan(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantWindow time.Duration
		wantTotal  string // the simulator's overall limit
		wantErr    bool
	}{
		{"real time enterprise by default", nil, time.Minute, "500", false},
		{"starter at 60x", []string{"--time-scale", "60", "--plan", "starter"}, time.Second, "100", false},
		{"growth at 600x", []string{"--time-scale=600", "--plan=growth"}, 100 * time.Millisecond, "200", false},
		{"negative time scale", []string{"--time-scale", "-1"}, 0, "", true},
		{"unknown plan", []string{"--plan", "free"}, 0, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFlagSet("demo", io.Discard)
			d := demoFlags(fs)
			if err := parseFlags(fs, tc.args); err != nil {
				t.Fatal(err)
			}
			sim, err := d.simulator()
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := d.bridgeConfig(sim, "http://127.0.0.1:1", t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if sim.Window() != tc.wantWindow || cfg.Freshservice.Window != tc.wantWindow {
				t.Errorf("windows: simulator %s, bridge %s, want %s", sim.Window(), cfg.Freshservice.Window, tc.wantWindow)
			}
			req := httptest.NewRequest("GET", "/api/v2/roles", nil)
			req.SetBasicAuth(d.apiKey, "X")
			w := httptest.NewRecorder()
			sim.ServeHTTP(w, req)
			if got := w.Header().Get("X-RateLimit-Total"); got != tc.wantTotal || cfg.Freshservice.Plan != d.plan {
				t.Errorf("simulator limit %s (want %s), bridge plan %q (want %q)", got, tc.wantTotal, cfg.Freshservice.Plan, d.plan)
			}
		})
	}
}

// TestDemoCommandTimeScaled runs the demo command time-scaled and reads
// what it prints.
func TestDemoCommandTimeScaled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runDemo(ctx, []string{"--listen", "127.0.0.1:0", "--simulator-listen", "127.0.0.1:0", "--time-scale", "60", "--plan", "starter", "--log-level", "error"}, pw, io.Discard)
		pw.CloseWithError(errors.Join(err, io.EOF))
		done <- err
	}()
	var printed []string
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		printed = append(printed, lines.Text())
		if strings.HasPrefix(lines.Text(), "Time runs") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("demo: %v", err)
	}
	want := "Time runs 60x faster in the simulated account (plan starter): a minute of API budget passes every 1s."
	if last := printed[len(printed)-1]; last != want {
		t.Errorf("last line %q, want %q\n%s", last, want, strings.Join(printed, "\n"))
	}
}
