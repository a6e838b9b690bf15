package test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/store/sqlite"
)

// The crash test: the real binary serves an import and a promotion run
// and is killed with SIGKILL at random points of each, restarted on the
// same store every time, while the IdP-like client keeps retrying through
// the restarts. At the end Freshservice must hold exactly what the IdP
// asked for.

// buildBridge builds the fsbridge binary once per test run, with -race
// when the test binary has it (so the build reuses the test's compiled
// packages, and the binary is race-checked too).
func buildBridge(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go tool is not on PATH (%v): cannot build the fsbridge binary for the crash test", err)
	}
	root := moduleRoot(t)
	bin := filepath.Join(t.TempDir(), "fsbridge")
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/fsbridge")
	cmd := exec.Command(gobin, args...)
	cmd.Dir = root
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("built %s (go %s) in %s", bin, strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return bin
}

// moduleRoot is the repository's root directory (where go.mod is).
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		t.Fatalf("finding the module root: go env GOMOD: %q %v", out, err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// bridgeProc is the fsbridge serve subprocess, restarted on one config.
type bridgeProc struct {
	t      *testing.T
	bin    string
	config string
	base   string // http://127.0.0.1:PORT

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	logs   []*syncWriter // one per start
	starts int
	kills  int
}

// start runs the binary and waits until /readyz answers 200.
func (p *bridgeProc) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	logs := &syncWriter{w: &bytes.Buffer{}}
	cmd := exec.Command(p.bin, "serve", "--config", p.config)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), "GORACE=halt_on_error=0")
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("starting fsbridge: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	p.logs = append(p.logs, logs)
	p.starts++
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			p.t.Fatalf("fsbridge (start %d) exited before it was ready:\n%s", p.starts, logs.String())
		default:
		}
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("fsbridge (start %d) not ready within 30 s:\n%s", p.starts, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL to the process this test started and waits for it.
func (p *bridgeProc) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	p.cmd = nil
	p.kills++
}

// stop ends the process gracefully (SIGTERM), or kills it after 20 s.
func (p *bridgeProc) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
	}
	p.cmd = nil
}

func (p *bridgeProc) allLogs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for i, l := range p.logs {
		fmt.Fprintf(&b, "--- start %d ---\n%s", i+1, l.String())
	}
	return b.String()
}

// plansPending reads fsbridge_plans_pending from /metrics (-1 if unknown).
func (p *bridgeProc) plansPending() float64 {
	resp, err := http.Get(p.base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "fsbridge_plans_pending "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

func crashFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// killPoint is when to kill: once after jobs have finished, plus delay
// (the other workers' requests are in flight then).
type killPoint struct {
	jobs  int
	delay time.Duration
}

// killer SIGKILLs and restarts the bridge at each kill point, while the
// jobs run.
func (p *bridgeProc) killer(progress *atomic.Int64, points []killPoint, finished <-chan struct{}, log func(string, ...any)) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, kp := range points {
			for progress.Load() < int64(kp.jobs) {
				select {
				case <-finished:
					return
				case <-time.After(time.Millisecond):
				}
			}
			time.Sleep(kp.delay)
			t0 := time.Now()
			p.kill()
			log("SIGKILL %s after job %d finished (%d finished now); restarting", kp.delay, kp.jobs, progress.Load())
			p.start()
			log("restarted and ready in %s", time.Since(t0).Round(time.Millisecond))
		}
	}()
	return done
}

// counted wraps jobs so that each finished one counts in progress.
func counted(jobs []func(context.Context) error, progress *atomic.Int64) []func(context.Context) error {
	out := make([]func(context.Context) error, len(jobs))
	for i, j := range jobs {
		out[i] = func(ctx context.Context) error {
			defer progress.Add(1)
			return j(ctx)
		}
	}
	return out
}

// killPoints draws n kill points at distinct job counts in [1, total-1],
// each with a delay under 15 ms.
func killPoints(rng *rand.Rand, n, total int) []killPoint {
	var jobs []int
	for _, v := range rng.Perm(total - 1)[:min(n, total-1)] {
		jobs = append(jobs, v+1)
	}
	slices.Sort(jobs)
	var out []killPoint
	for _, j := range jobs {
		out = append(out, killPoint{jobs: j, delay: time.Duration(rng.IntN(15000)) * time.Microsecond})
	}
	return out
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	start := time.Now()
	bin := buildBridge(t)
	seed := seedFromEnv(t, "FSBRIDGE_TEST_CRASH_SEED", 7)
	rng := rand.New(rand.NewPCG(uint64(seed), 0xc7a54))

	// Freshservice: the simulator in this process, no failures injected,
	// a little latency so that kills land between a Freshservice call and
	// the bridge recording its answer.
	const timeScale = 60
	sim, err := simulator.New(simulator.Options{APIKey: testAPIKey, Plan: "enterprise", TimeScale: timeScale,
		Faults: simulator.Faults{Latency: 2 * time.Millisecond, Jitter: 4 * time.Millisecond, Seed: seed}})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	base := takeBaseline(sim)

	dir := t.TempDir()
	port := crashFreePort(t)
	cfgPath := filepath.Join(dir, "fsbridge.yaml")
	dbPath := filepath.Join(dir, "fsbridge.db")
	cfg := fmt.Sprintf(`listen: 127.0.0.1:%d
freshservice:
  url: %s
  api_key: %s
  plan: enterprise
  share: 1
  window: %s
  max_wait: %s
scim:
  tokens:
    - name: crash-test
      token: %s
store:
  path: %s
reconcile:
  interval: 200ms
  max_backoff: 1s
log:
  level: info
%s`, port, simSrv.URL, testAPIKey, sim.Window(), 10*time.Second/timeScale, testToken, dbPath, chaosRulesYAML)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &bridgeProc{t: t, bin: bin, config: cfgPath, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	t.Cleanup(p.kill)
	p.start()
	t.Logf("crash seed %d (FSBRIDGE_TEST_CRASH_SEED overrides it); fsbridge serving on %s over SQLite %s", seed, p.base, dbPath)

	const nUsers, workers, killsPerPhase = 150, 8, 4
	f := newFleet(nUsers, "crash")
	c := newIDPClient(p.base+"/scim/v2", testToken)
	tr := &traffic{f: f, c: c, rng: rng}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	var failures []error
	phase := func(name string, kills int, jobs []func(context.Context) error) {
		t.Helper()
		total := len(jobs)
		var progress atomic.Int64
		finished := make(chan struct{})
		ths := killPoints(rng, kills, total)
		t0, k0 := time.Now(), p.kills
		killed := p.killer(&progress, ths, finished, func(format string, args ...any) { t.Logf("  %s: "+format, append([]any{name}, args...)...) })
		failures = append(failures, runJobs(ctx, workers, counted(jobs, &progress))...)
		close(finished)
		<-killed
		t.Logf("%s: %d jobs in %s, %d kills", name, total, time.Since(t0).Round(time.Millisecond), p.kills-k0)
	}

	// 1. Import.
	phase("import (150 creates)", killsPerPhase, tr.createJobs(tr.rng.Perm(nUsers)))

	// 2. Promotion run: group pushes, then concurrent membership changes:
	// about 40 users join role groups (FS Agents, Network Ops, FS Admins)
	// and the agent-mapped group Network Team, some leave again; two
	// requester groups hold users whose demotion must restore them.
	plans := []groupPlan{
		tr.planGroup("Crash Staff 1", nUsers, 20, 6, 4, 1),
		tr.planGroup("Crash Staff 2", nUsers, 20, 6, 4, 1),
		tr.planGroup(groupFSAgents, nUsers, 8, 14, 4, 2),
		tr.planGroup(groupNetOps, nUsers, 4, 6, 2, 1),
		tr.planGroup(groupFSAdmins, nUsers, 2, 3, 1, 1),
		tr.planGroup(groupNetTeam, nUsers, 4, 6, 2, 1),
	}
	var pushes []func(context.Context) error
	for _, pl := range plans {
		pushes = append(pushes, tr.groupPushJob(pl))
	}
	phase("promotion run: 6 group pushes", 2, pushes)
	// Membership jobs need the group ids the pushes returned.
	var memberJobs []func(context.Context) error
	for _, pl := range plans {
		if f.group(pl.name) == nil {
			t.Errorf("group %s was not pushed; its membership traffic is left out", pl.name)
			continue
		}
		memberJobs = append(memberJobs, tr.membershipJobs(pl)...)
	}
	phase("promotion run: membership PATCHes", killsPerPhase, shuffled(tr.rng, memberJobs))

	t.Logf("IdP client: %s", c.stats.String())
	for _, err := range failures {
		t.Errorf("IdP request failed for good: %v", err)
	}

	// One last kill and restart, then the bridge must converge.
	time.Sleep(time.Duration(rng.IntN(50)) * time.Millisecond)
	p.kill()
	p.start()
	t0 := time.Now()
	var r *fleetReport
	pending := -1.0
	for {
		r = checkFleet(sim, f, base)
		pending = p.plansPending()
		if len(r.problems) == 0 && pending == 0 {
			t.Logf("converged %s after the last restart (plans pending 0)", time.Since(t0).Round(time.Millisecond))
			break
		}
		if time.Since(t0) > 20*time.Second {
			t.Errorf("not converged 20 s after the last restart: %d differences, %v plans pending", len(r.problems), pending)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.stop()
	st, err := sqlite.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatalf("opening the store after the run: %v", err)
	}
	defer st.Close()
	if n, desc, err := storeBacklog(t.Context(), st); err != nil || n > 0 {
		t.Errorf("the store still holds unfinished work after convergence: %s %v", desc, err)
	}
	reportFleet(t, r, sim.Requests(), func(id int64) []string { return auditLines(t.Context(), st, id) })
	logs := p.allLogs()
	if strings.Contains(logs, "WARNING: DATA RACE") {
		t.Errorf("the race detector fired in fsbridge:\n%s", logs)
	}
	if t.Failed() {
		t.Logf("fsbridge warnings and errors (%d starts):\n%s", p.starts, lastLines(problemLines(logs), 80))
	}
	t.Logf("%d starts, %d SIGKILLs; %d Freshservice requests; crash test took %s", p.starts, p.kills, sim.Stats().Total, time.Since(start).Round(time.Millisecond))
}

// problemLines keeps the log lines of warnings, errors, panics and races.
func problemLines(logs string) string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"level":"warn"`) || strings.Contains(l, `"level":"error"`) || strings.Contains(l, "panic") ||
			strings.Contains(l, "DATA RACE") || strings.HasPrefix(l, "--- start") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… %d lines before …", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
