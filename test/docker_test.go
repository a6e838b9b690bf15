package test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/store/sqlite"
)

// The container test builds the image from the Dockerfile and runs it the
// way docs/docker.md tells an operator to: with a mounted configuration
// directory and secret files, and from the environment alone. It needs a
// Docker engine; `eval "$(.ci/docker.sh)"` provides one (and, where the
// registries are out of reach, stand-ins for the two base images) and sets
// FSBRIDGE_TEST_DOCKER. .ci/run does.

const dockerVar = "FSBRIDGE_TEST_DOCKER"

// docker runs the docker CLI and returns its trimmed stdout; it fails the
// test, with stderr, when the command fails.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := dockerErr(args...)
	if err != nil {
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func dockerErr(args ...string) (string, error) {
	cmd := exec.Command("docker", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String()), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// imageFiles lists the paths in the filesystem of ref, from `docker export`.
func imageFiles(t *testing.T, ref string) map[string]bool {
	t.Helper()
	// A command is needed for images without one; the container never runs.
	id := docker(t, "create", ref, "/none")
	defer dockerErr("rm", "-f", id)
	cmd := exec.Command("docker", "export", id)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	tr := tar.NewReader(out)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("docker export %s: %v", ref, err)
		}
		files[strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")] = true
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("docker export %s: %v", ref, err)
	}
	return files
}

// container is one `docker run -d` of the image under test. Containers
// share the host's network and listen on a loopback port of their own, so
// every byte of the test stays on 127.0.0.1 and nothing depends on how the
// engine's bridge network is set up (or whether it has one).
type container struct {
	t    *testing.T
	name string
	base string // http://127.0.0.1:PORT, where the bridge in it listens
}

// runContainer starts the image with the host's network, listening on a
// free loopback port; the image's health check probes that port.
func runContainer(t *testing.T, name string, args ...string) *container {
	t.Helper()
	_, _ = dockerErr("rm", "-f", name)
	addr := freeLoopbackAddr(t)
	run := []string{"run", "-d", "--name", name, "--network", "host",
		"-e", "FSBRIDGE_LISTEN=" + addr,
		"-e", "FSBRIDGE_HEALTHCHECK_URL=http://" + addr + "/healthz"}
	docker(t, append(run, args...)...)
	c := &container{t: t, name: name, base: "http://" + addr}
	t.Cleanup(func() {
		// Every line the bridge logged goes to the secrets check.
		fmt.Fprintln(everything, c.logs())
		_, _ = dockerErr("rm", "-f", name)
	})
	if mode := c.inspect("{{.HostConfig.NetworkMode}}"); mode != "host" {
		t.Fatalf("container %s runs on network %q, want host", name, mode)
	}
	return c
}

// freeLoopbackAddr is a 127.0.0.1 port nothing listens on now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (c *container) logs() string {
	out, err := exec.Command("docker", "logs", c.name).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(docker logs %s: %v)", c.name, err)
	}
	return string(out)
}

func (c *container) inspect(format string) string {
	c.t.Helper()
	return docker(c.t, "inspect", "-f", format, c.name)
}

// waitHealthy waits until Docker's health check (the image's HEALTHCHECK,
// run every second here) says healthy.
func (c *container) waitHealthy() time.Duration {
	c.t.Helper()
	start := time.Now()
	for {
		switch st := c.inspect("{{.State.Status}} {{.State.Health.Status}}"); st {
		case "running healthy":
			return time.Since(start)
		case "running starting", "created starting", "running unhealthy":
		default:
			c.t.Fatalf("container %s: %s\n%s", c.name, st, c.logs())
		}
		if time.Since(start) > 90*time.Second {
			c.t.Fatalf("container %s not healthy within 90 s: %s\nhealth log: %s\n%s", c.name,
				c.inspect("{{.State.Health.Status}}"), c.inspect("{{json .State.Health.Log}}"), c.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitLog waits until the container has logged a line holding s.
func (c *container) waitLog(s string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(c.logs(), s) {
		if time.Now().After(deadline) {
			c.t.Fatalf("container %s did not log %q within 20 s:\n%s", c.name, s, c.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *container) scim(method, path, token string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+"/scim/v2"+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

func TestContainerImage(t *testing.T) {
	if os.Getenv(dockerVar) == "" {
		t.Skipf("%s is not set: eval \"$(.ci/docker.sh)\" makes a Docker engine available and sets it (.ci/run does)", dockerVar)
	}
	if testing.Short() {
		t.Skip("builds the image; skipped with -short")
	}
	if _, err := dockerErr("info"); err != nil {
		t.Fatalf("%s is set but no Docker engine answers (%v): start one, or run eval \"$(.ci/docker.sh)\", which starts one", dockerVar, err)
	}
	root := moduleRoot(t)
	tag := fmt.Sprintf("fsbridge-test:%d", time.Now().UnixNano())
	const version = "container-test"

	// 1. The image builds from a clean tree with the documented command.
	// On .ci/docker.sh's stand-in Go image, which carries the project's
	// modules, the build needs no network at all; on the real one its RUN
	// steps fetch modules over the host's network. Either way it does not
	// depend on the engine's bridge.
	buildNet := "host"
	if docker(t, "image", "inspect", "-f", `{{index .Config.Labels "org.fsbridge.stand-in"}}`, dockerfileFrom(t, root)[0]) == "true" {
		buildNet = "none"
	}
	t0 := time.Now()
	build := exec.Command("docker", "build", "-q", "--network", buildNet, "-t", tag, "--build-arg", "VERSION="+version, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_, _ = dockerErr("rmi", "-f", tag)
		// The legacy builder keeps the build stage as an untagged image
		// (about 900 MB); BuildKit keeps none.
		_, _ = dockerErr("image", "prune", "-f", "--filter", "label=org.fsbridge.stage=build")
	})
	t.Logf("docker build (network %s): %s", buildNet, time.Since(t0).Round(time.Millisecond))
	if docker(t, "image", "inspect", "-f", `{{index .Config.Labels "org.fsbridge.stand-in"}}`, tag) == "true" {
		t.Logf("the base images are stand-ins built by .ci/docker.sh from this machine")
	}

	// 2. What the image declares: non-root, the volume, the port, the
	// health check, the entry point.
	var cfg struct {
		User         string
		ExposedPorts map[string]any
		Volumes      map[string]any
		Entrypoint   []string
		Cmd          []string
		Healthcheck  struct{ Test []string }
		Env          []string
	}
	if err := json.Unmarshal([]byte(docker(t, "image", "inspect", "-f", "{{json .Config}}", tag)), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.User != "65532:65532" {
		t.Errorf("image user %q, want 65532:65532 (non-root)", cfg.User)
	}
	if _, ok := cfg.Volumes["/data"]; !ok {
		t.Errorf("image volumes %v, want /data", cfg.Volumes)
	}
	if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports %v, want 8080/tcp", cfg.ExposedPorts)
	}
	if want := []string{"CMD", "/fsbridge", "healthcheck"}; !slices.Equal(cfg.Healthcheck.Test, want) {
		t.Errorf("health check %q, want %q", cfg.Healthcheck.Test, want)
	}
	if want := []string{"/fsbridge"}; !slices.Equal(cfg.Entrypoint, want) {
		t.Errorf("entry point %q, want %q", cfg.Entrypoint, want)
	}
	// By default the bridge listens on 8080 on every interface, and the
	// health check probes that port.
	for _, want := range []string{"FSBRIDGE_LISTEN=0.0.0.0:8080", "FSBRIDGE_HEALTHCHECK_URL=http://127.0.0.1:8080/healthz", "FSBRIDGE_STORE_PATH=/data/fsbridge.db"} {
		if !slices.Contains(cfg.Env, want) {
			t.Errorf("image environment %q lacks %s", cfg.Env, want)
		}
	}
	size := docker(t, "image", "inspect", "-f", "{{.Size}}", tag)
	t.Logf("image %s: %s bytes, user %s, cmd %q", tag, size, cfg.User, cfg.Cmd)

	// 3. Minimal: the final stage adds the binary and the data directory to
	// the base image, nothing else (no shell, no Go toolchain, no source).
	froms := dockerfileFrom(t, root)
	baseRef := froms[len(froms)-1]
	baseFiles, files := imageFiles(t, baseRef), imageFiles(t, tag)
	var added []string
	for f := range files {
		if !baseFiles[f] {
			added = append(added, f)
		}
	}
	slices.Sort(added)
	// Docker adds these empty mount points to every container.
	added = slices.DeleteFunc(added, func(f string) bool {
		return slices.Contains([]string{".dockerenv", "dev", "dev/console", "dev/pts", "dev/shm", "etc/hostname", "etc/hosts", "etc/mtab", "etc/resolv.conf", "proc", "sys"}, f)
	})
	if want := []string{"data", "fsbridge"}; !slices.Equal(added, want) {
		t.Errorf("the final stage adds %q to %s, want only %q", added, baseRef, want)
	}
	if files["bin/sh"] || files["usr/local/go/bin/go"] {
		t.Errorf("the final image holds a shell or the Go toolchain")
	}

	// 4. The binary is static (the image has no libc) and carries the
	// build's version.
	if out := docker(t, "run", "--rm", "--network", "none", tag, "version"); !strings.Contains(out, version) {
		t.Errorf("`docker run IMAGE version` printed %q, want the build-arg version %q", out, version)
	}

	// Freshservice: the simulator, served by this test on loopback, where
	// the containers (on the host's network) reach it.
	const timeScale = 60
	sim, err := simulator.New(simulator.Options{APIKey: testAPIKey, Plan: "enterprise", TimeScale: timeScale})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	simSrv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = simSrv.Serve(ln) }()
	t.Cleanup(func() { _ = simSrv.Close() })
	simURL := "http://" + ln.Addr().String()

	// 5. The documented run with a mounted configuration directory and
	// secret files. The files are readable by uid 65532, as the docs say.
	dir := t.TempDir()
	confDir, secretsDir := filepath.Join(dir, "etc-fsbridge"), filepath.Join(dir, "secrets")
	for _, d := range []string{confDir, secretsDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(secretsDir, "freshservice-api-key"), testAPIKey+"\n", 0o444)
	writeFile(t, filepath.Join(secretsDir, "scim-token"), testToken+"\n", 0o444)
	conf := func(rules string) string {
		return fmt.Sprintf(`freshservice:
  url: %s
  api_key_file: /run/secrets/freshservice-api-key
  plan: enterprise
  share: 1
  window: %s
scim:
  tokens:
    - name: okta
      token_file: /run/secrets/scim-token
reconcile:
  interval: 200ms
%s`, simURL, sim.Window(), rules)
	}
	const rulesAgents = `rules:
  role_groups:
    - name: agents
      match: {display_name: "FS Agents"}
      roles: [{role: SD Agent, scope: member_groups}]
`
	const rulesAdmins = rulesAgents + `    - name: admins
      match: {display_name: "FS Admins"}
      roles: [{role: Account Admin, scope: entire_helpdesk}]
`
	confFile := filepath.Join(confDir, "fsbridge.yaml")
	writeFile(t, confFile, conf(rulesAgents), 0o644)
	volume := strings.ReplaceAll(tag, ":", "-") + "-data"
	t.Cleanup(func() { _, _ = dockerErr("volume", "rm", "-f", volume) })
	name := strings.ReplaceAll(tag, ":", "-")
	c := runContainer(t, name,
		"--restart", "unless-stopped",
		"-v", volume+":/data",
		"-v", confDir+":/etc/fsbridge:ro",
		"-v", secretsDir+":/run/secrets:ro",
		// The image checks every 30 s; here every second, so that the
		// test need not wait for the first check.
		"--health-interval", "1s",
		tag)
	t.Logf("mounted configuration: healthy after %s", c.waitHealthy().Round(time.Millisecond))
	// Every process of the container runs as uid 65532.
	top := strings.Split(docker(t, "top", name, "-o", "pid,uid,comm"), "\n")
	for _, line := range top[1:] {
		if f := strings.Fields(line); len(f) < 2 || f[1] != "65532" {
			t.Errorf("docker top: a process does not run as uid 65532:\n%s", strings.Join(top, "\n"))
		}
	}
	if len(top) < 2 {
		t.Errorf("docker top lists no process:\n%s", strings.Join(top, "\n"))
	}
	resp, err := http.Get(c.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %d, want 200", resp.StatusCode)
	}

	// A user created over SCIM lands in Freshservice.
	const email = "ada.lovelace@example.com"
	status, body := c.scim("POST", "/Users", testToken, map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": email, "active": true,
		"name":   map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
		"emails": []map[string]any{{"value": email, "primary": true, "type": "work"}},
	})
	if status != http.StatusCreated {
		t.Fatalf("POST /Users: %d %v\n%s", status, body, c.logs())
	}
	id, _ := body["id"].(string)
	fsUser, ok := sim.UserByEmail(email)
	if !ok || fsUser.IsAgent || !fsUser.Active {
		t.Fatalf("Freshservice after POST /Users: %+v (found %v), want an active requester", fsUser, ok)
	}
	if status, _ := c.scim("GET", "/Users", "wrong-token", nil); status != http.StatusUnauthorized {
		t.Errorf("GET /Users with a wrong token: %d, want 401", status)
	}

	// The documented backup: exec the binary itself (the image has no
	// shell), copy the file out, and it is a store holding the user.
	if out := docker(t, "exec", name, "/fsbridge", "backup", "--config", "/etc/fsbridge/fsbridge.yaml", "--to", "/data/backup.db"); !strings.Contains(out, "backed up /data/fsbridge.db") {
		t.Errorf("docker exec ... backup printed %q", out)
	}
	backup := filepath.Join(dir, "backup.db")
	docker(t, "cp", name+":/data/backup.db", backup)
	if st, err := sqlite.Open(t.Context(), backup); err != nil {
		t.Errorf("opening the backup: %v", err)
	} else {
		if u, err := st.GetUserByUserName(t.Context(), email); err != nil || strconv.FormatInt(u.ID, 10) != id {
			t.Errorf("the backup's user %s: %+v %v", email, u, err)
		}
		st.Close()
	}

	// 6. SIGHUP re-reads the mounted file: a role group added to the rules
	// promotes its members without a restart.
	writeFile(t, confFile, conf(rulesAdmins), 0o644)
	docker(t, "kill", "-s", "HUP", name)
	c.waitLog(`"role_groups":2`)
	status, body = c.scim("POST", "/Groups", testToken, map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "FS Admins",
		"members":     []map[string]any{{"value": id}},
	})
	if status != http.StatusCreated {
		t.Fatalf("POST /Groups FS Admins: %d %v\n%s", status, body, c.logs())
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		u, _ := sim.UserByEmail(email)
		if u.IsAgent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reloaded rule did not make %s an agent within 20 s:\n%s", email, c.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// 7. docker stop (SIGTERM) ends the bridge cleanly within Docker's
	// default 10 s, and the store in the volume outlives the container.
	t0 = time.Now()
	docker(t, "stop", name)
	if code := c.inspect("{{.State.ExitCode}}"); code != "0" {
		t.Errorf("exit code after docker stop: %s, want 0 (a clean shutdown)\n%s", code, c.logs())
	}
	t.Logf("docker stop: %s", time.Since(t0).Round(time.Millisecond))
	if logs := c.logs(); !strings.Contains(logs, "shutting down") || !strings.Contains(logs, "fsbridge stopped") {
		t.Errorf("the logs do not show a graceful shutdown:\n%s", logs)
	}
	docker(t, "start", name)
	c.waitHealthy()
	status, body = c.scim("GET", "/Users/"+id, testToken, nil)
	if status != http.StatusOK || body["userName"] != email {
		t.Errorf("GET /Users/%s after a restart on the same volume: %d %v", id, status, body)
	}

	// 8. Logs are JSON lines, and no secret is in them.
	for _, line := range strings.Split(strings.TrimSpace(c.logs()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("a log line is not JSON: %q", line)
		}
	}
	if logs := c.logs(); strings.Contains(logs, testAPIKey) || strings.Contains(logs, testToken) {
		t.Errorf("a secret is in the container's logs")
	}
	docker(t, "stop", name)

	// 9. The documented run from the environment alone (no configuration
	// file), hardened as docs/docker.md shows (read-only root, no
	// capabilities, no privilege gain), serves the same Freshservice account
	// and can still be backed up.
	env := runContainer(t, name+"-env",
		"--restart", "unless-stopped",
		"--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
		"-v", volume+"-env:/data",
		"-e", "FSBRIDGE_FRESHSERVICE_URL="+simURL,
		"-e", "FSBRIDGE_FRESHSERVICE_API_KEY="+testAPIKey,
		"-e", "FSBRIDGE_FRESHSERVICE_PLAN=enterprise",
		"-e", "FSBRIDGE_FRESHSERVICE_WINDOW="+sim.Window().String(),
		"-e", "FSBRIDGE_SCIM_TOKEN="+testToken,
		"-e", "FSBRIDGE_BASE_URL=https://scim.example.com",
		"--health-interval", "1s",
		tag, "serve")
	t.Cleanup(func() { _, _ = dockerErr("volume", "rm", "-f", volume+"-env") })
	t.Logf("environment only: healthy after %s", env.waitHealthy().Round(time.Millisecond))
	status, body = env.scim("GET", fmt.Sprintf("/Users?filter=userName+eq+%%22%s%%22", email), testToken, nil)
	if status != http.StatusOK || body["totalResults"] != float64(1) {
		t.Errorf("GET /Users?filter=userName eq %q from the environment-configured bridge: %d %v", email, status, body)
	}
	if out := docker(t, "exec", name+"-env", "/fsbridge", "backup", "--to", "/data/backup.db"); !strings.Contains(out, "backed up") {
		t.Errorf("backup in the hardened container printed %q", out)
	}
	if rs, _ := body["Resources"].([]any); len(rs) == 1 {
		loc, _ := rs[0].(map[string]any)["meta"].(map[string]any)["location"].(string)
		if !strings.HasPrefix(loc, "https://scim.example.com/") {
			t.Errorf("meta.location %q, want it under FSBRIDGE_BASE_URL https://scim.example.com", loc)
		}
	}
}

// dockerfileFrom lists the base images of the Dockerfile's stages, in order.
func dockerfileFrom(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(readFile(t, filepath.Join(root, "Dockerfile")), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && strings.EqualFold(f[0], "FROM") {
			out = append(out, f[1])
		}
	}
	if len(out) == 0 {
		t.Fatal("the Dockerfile has no FROM line")
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
