//go:build unix

package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStatusPageInBrowser starts `fsbridge demo` (the binary, built from
// this tree), makes the SCIM calls the demo prints (create, find,
// deactivate and reactivate, promote through the group FS Agents, demote),
// then opens the status URL the demo printed in headless Chromium, as a
// new user would in a browser: the rendered page must show the budget
// gauges, the calls chart and the audit events, and a screenshot is saved
// in the test's temporary directory.
//
// It skips only when no Chromium is installed (.ci/chromium.sh installs
// Debian's).
func TestStatusPageInBrowser(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		t.Skip("Chromium is not installed; .ci/run installs it with apt-get install chromium (see .ci/chromium.sh)")
	}
	if testing.Short() {
		t.Skip("builds and runs the demo; skipped with -short")
	}
	dir := t.TempDir()
	bin := buildBridge(t)
	demo := startDemo(t, bin, dir)

	// The demo's printed steps, as curl would send them.
	ada := demo.scim(t, http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com","name":{"givenName":"Ada","familyName":"Lovelace"},"emails":[{"value":"ada@example.com","type":"work","primary":true}],"title":"Analyst","active":true}`, http.StatusCreated)
	id, _ := ada["id"].(string)
	if id == "" {
		t.Fatalf("the create returned no id: %v", ada)
	}
	demo.scim(t, http.MethodGet, `/Users?filter=userName%20eq%20%22ada@example.com%22`, "", http.StatusOK)
	demo.scim(t, http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`, http.StatusOK)
	demo.scim(t, http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":true}]}`, http.StatusOK)
	g := demo.scim(t, http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"FS Agents","members":[{"value":"`+id+`"}]}`, http.StatusCreated)
	gid, _ := g["id"].(string)
	demo.scim(t, http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"`+id+`\"]"}]}`, 0)

	// The DOM as Chromium rendered it, from the URL the demo printed.
	dom := runChromium(t, browser, dir, "dom", "--dump-dom", demo.statusURL)
	for _, want := range []string{
		`<svg class="gauge" data-bucket="overall"`, // a budget gauge
		`<svg class="chart"`,                       // the calls-per-minute chart
		`class="c-writes"`,                         // with this minute's writes in it
		"ada@example.com",                          // the audit events of the steps above
		"<code>user.create</code>",
		"<code>user.promote</code>",
		"<code>user.demote</code>",
		"FS Agents",
		`<section id="account">`, // the Account card: what fsbridge check reports
		"calls per minute", "may manage agents",
		"Ready: the key may do everything the bridge needs.",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page Chromium rendered lacks %q", want)
		}
	}
	if strings.Contains(dom, demo.token) {
		t.Error("the rendered page contains the token")
	}
	if t.Failed() {
		t.Logf("rendered DOM:\n%s", dom)
	}

	// The screenshot.
	shot := filepath.Join(dir, "status.png")
	runChromium(t, browser, dir, "shot", "--screenshot="+shot, "--window-size=1280,2000", "--hide-scrollbars", demo.statusURL)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	b := img.Bounds()
	if b.Dx() < 1000 || b.Dy() < 1000 {
		t.Errorf("the screenshot is %dx%d", b.Dx(), b.Dy())
	}
	// Non-trivial: more than a blank page's couple of colours.
	colours := map[uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
		}
	}
	if len(colours) < 20 {
		t.Errorf("the screenshot has only %d colours: a blank or error page?", len(colours))
	}
	t.Logf("screenshot: %s", shot)
}

// findChromium returns the path of an installed Chromium or Chrome, or "":
// $FSBRIDGE_CHROMIUM if set, else the first of the usual names on PATH.
func findChromium() string {
	if p := os.Getenv("FSBRIDGE_CHROMIUM"); p != "" {
		if p, err := exec.LookPath(p); err == nil {
			return p
		}
		return ""
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

type demoProc struct {
	scimURL   string
	token     string
	statusURL string
}

// startDemo runs `fsbridge demo` on free loopback ports and reads the
// addresses, the token and the status URL from what it prints.
func startDemo(t *testing.T, bin, dir string) *demoProc {
	t.Helper()
	cmd := exec.Command(bin, "demo", "--listen", "127.0.0.1:0", "--simulator-listen", "127.0.0.1:0",
		"--data", filepath.Join(dir, "demo-data"), "--log-level", "warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncWriter
	stderr.w = &bytes.Buffer{}
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	d := &demoProc{}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	deadline := time.After(60 * time.Second)
	var printed strings.Builder
	for done := false; !done; {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the demo stopped before it was ready:\n%s\n%s", printed.String(), stderr.String())
			}
			printed.WriteString(line + "\n")
			field := func(label string) string {
				rest, found := strings.CutPrefix(strings.TrimSpace(line), label)
				if f := strings.Fields(rest); found && len(f) > 0 {
					return f[0]
				}
				return ""
			}
			if v := field("SCIM base URL"); v != "" {
				d.scimURL = v
			}
			if v := field("Bearer token"); v != "" {
				d.token = v
			}
			if v := field("Status page"); v != "" {
				d.statusURL = v
			}
			done = strings.HasPrefix(line, "Press Ctrl-C")
		case <-deadline:
			t.Fatalf("the demo printed no ready message in 60 s:\n%s\n%s", printed.String(), stderr.String())
		}
	}
	go func() { // keep draining
		for range lines {
		}
	}()
	if d.scimURL == "" || d.token == "" || d.statusURL == "" {
		t.Fatalf("the demo did not print the SCIM URL, the token and the status page URL:\n%s", printed.String())
	}
	if !strings.HasPrefix(d.statusURL, strings.TrimSuffix(d.scimURL, "/scim/v2")+"/status?token=") {
		t.Errorf("the status URL %q is not the bridge's /status with the token", d.statusURL)
	}
	return d
}

// scim sends a SCIM request as the demo's curl commands do and checks the
// status (0: any 2xx).
func (d *demoProc) scim(t *testing.T, method, path, body string, want int) map[string]any {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, d.scimURL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if (want == 0 && resp.StatusCode/100 != 2) || (want != 0 && resp.StatusCode != want) {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	return m
}

// runChromium runs headless Chromium with a fresh profile, bounded to 60 s
// (its whole process group is killed then), and returns its stdout.
func runChromium(t *testing.T, browser, dir, name string, args ...string) string {
	t.Helper()
	profile := filepath.Join(dir, "chromium-"+name)
	all := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + profile,
	}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, all...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), "HOME="+profile)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	// Chromium's helpers may outlive it briefly; end the group either way.
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("chromium %s did not finish in 60 s\n%s", name, tail(errOut.String(), 3000))
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", name, err, tail(errOut.String(), 3000))
	}
	return out.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("…%s", s[len(s)-n:])
}
