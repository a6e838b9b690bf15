// Command bench measures fsbridge against the Freshservice simulator, both
// in this process and spoken to over real HTTP, with the traffic the IdPs
// send (reference/idp-scim-behaviors.md):
//
//	(a) import   Okta's first import: lookup by userName, then create
//	(b) entra    Entra's cycle: lookup, create, manager PATCH, group PATCH
//	(c) groups   Okta Group Push: M groups with members, a PATCH each
//	(d) updates  steady-state attribute updates (Okta GET+PUT, Entra PATCH)
//	(e) deactivate  bulk deactivation (Okta and Entra forms)
//	(f) ops      each operation the targets name, one at a time
//
// For each it prints the Freshservice calls per SCIM operation by kind,
// 429s both ways, the latency the bridge adds, peak memory and budget use,
// next to what the same traffic costs a bridge without the mirror (the
// naive baseline, -baseline). -scale100k adds the 100,000-user part: a
// restart on a store holding the mirror, its memory, and lookup latency.
// The last section says for each target of docs/performance.md whether it
// is met. The exit status is 1 when a target fails or a request got an
// answer it should not have.
//
//	go run ./test/bench                       # the default run (Starter, 2,000 users, 60x)
//	go run ./test/bench -scale100k            # plus the 100,000-user targets
//	go run ./test/bench -scenarios ops -n 50  # a quick look at per-operation costs
//	go run ./test/bench -scenarios none -baseline=false -lookup   # lookups alone: rate, allocations, p99
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

type options struct {
	params
	Plan          string
	TimeScale     float64
	BaseTimeScale float64
	Share         float64
	Scenarios     []string
	Baseline      bool
	Scale         bool
	Scale100k     scaleParams
	Lookup        bool
	Lookups       lookupParams
	Quiet         bool
	LogFile       string
}

func main() {
	var o options
	var scen string
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	fs.IntVar(&o.N, "n", 2000, "users per user scenario (import, entra; groups, updates and deactivate work on the imported users)")
	fs.IntVar(&o.M, "m", 20, "groups pushed in the group scenario")
	fs.IntVar(&o.Members, "members", 25, "members per pushed group")
	fs.IntVar(&o.Concurrency, "concurrency", 8, "SCIM requests the IdP keeps in flight")
	fs.IntVar(&o.OpsRepeats, "ops-repeats", defaultOpsRepeats, "repetitions of each operation in the ops scenario")
	fs.StringVar(&o.Plan, "plan", "starter", "Freshservice plan of the simulator and the bridge: starter, growth, pro, enterprise")
	fs.Float64Var(&o.TimeScale, "timescale", 60, "simulated seconds per real second (60: a minute of API budget per second)")
	fs.Float64Var(&o.BaseTimeScale, "baseline-timescale", 600, "time scale of the baseline run (it only counts calls; a faster clock saves time)")
	fs.Float64Var(&o.Share, "share", 1, "fraction of the plan's budget the bridge may spend (freshservice.share)")
	fs.StringVar(&scen, "scenarios", "import,entra,groups,updates,deactivate,ops", "comma-separated scenarios to run, \"all\" or \"none\"")
	fs.BoolVar(&o.Baseline, "baseline", true, "also run the same traffic through a bridge without the mirror and print the ratio")
	fs.BoolVar(&o.Scale, "scale100k", false, "run the 100,000-user part: restart from the store, memory, lookup latency")
	fs.IntVar(&o.Scale100k.Users, "scale-users", 100_000, "users in the mirror for -scale100k")
	fs.IntVar(&o.Scale100k.Managed, "scale-managed", 100_000, "of them, users with desired state in the store (provisioned over SCIM)")
	fs.IntVar(&o.Scale100k.Lookups, "lookups", 5000, "measured lookups for -scale100k")
	fs.BoolVar(&o.Lookup, "lookup", false, "run the lookup part: userName lookups with -concurrency in flight against a store of -lookup-users users")
	fs.IntVar(&o.Lookups.Users, "lookup-users", 10_000, "users in the store for -lookup")
	fs.IntVar(&o.Lookups.Lookups, "lookup-n", 20_000, "measured lookups for -lookup")
	fs.BoolVar(&o.Quiet, "q", false, "no progress lines on stderr")
	fs.StringVar(&o.LogFile, "log", "", "write the bridges' warnings and errors to this file")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile at the end to this file")
	_ = fs.Parse(os.Args[1:])
	switch scen {
	case "all":
		scen = "import,entra,groups,updates,deactivate,ops"
	case "none", "":
		scen = ""
	}
	for _, s := range strings.Split(scen, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if _, ok := scenarioByKey(s); !ok {
				fmt.Fprintf(os.Stderr, "bench: unknown scenario %q\n", s)
				os.Exit(2)
			}
			o.Scenarios = append(o.Scenarios, s)
		}
	}
	o.Scale100k.Managed = min(o.Scale100k.Managed, o.Scale100k.Users)
	o.Scale100k.Plan = o.Plan
	o.Lookups.Plan, o.Lookups.Concurrency = o.Plan, o.Concurrency
	if !o.Quiet {
		o.Progress = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
		}
		o.Scale100k.Progress = o.Progress
		o.Lookups.Progress = o.Progress
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ok, err := benchmark(ctx, os.Stdout, o)
	if *memProfile != "" {
		if f, err := os.Create(*memProfile); err == nil {
			runtime.GC()
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if !ok {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// outcome is everything one benchmark run measured.
type outcome struct {
	Mirror, Naive []*summary
	Budget        budget
	BaseBudget    budget
	Scale         *scaleResult
	Lookup        *lookupResult
	Targets       []target
}

// measure runs the scenarios (and the baseline and the 100k part, as o
// says) and evaluates the targets.
func measure(ctx context.Context, o options) (*outcome, error) {
	out := &outcome{}
	var logw io.Writer = io.Discard
	if o.LogFile != "" {
		f, err := os.Create(o.LogFile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		logw = f
	}
	if len(o.Scenarios) > 0 {
		progress(o, "mirror run: plan %s, time scale %gx, %d users, %d groups", o.Plan, o.TimeScale, o.N, o.M)
		e, err := newEnv(ctx, envOptions{Plan: o.Plan, TimeScale: o.TimeScale, Share: o.Share, Concurrency: o.Concurrency, Log: logw})
		if err != nil {
			return nil, err
		}
		out.Budget = planBudget(o.Plan, o.TimeScale, o.Share, e.sim.Window())
		runs, err := runScenarios(ctx, e, o.Scenarios, o.params)
		e.Close()
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			out.Mirror = append(out.Mirror, summarize(r))
		}
		if o.Baseline {
			progress(o, "baseline run (no mirror): time scale %gx", o.BaseTimeScale)
			// The baseline waits for budget rather than answering 429, so that
			// its count does not depend on its time scale.
			b, err := newEnv(ctx, envOptions{Plan: o.Plan, TimeScale: o.BaseTimeScale, Share: o.Share, NoMirror: true, Concurrency: o.Concurrency, Log: logw, MaxWait: time.Minute})
			if err != nil {
				return nil, err
			}
			out.BaseBudget = planBudget(o.Plan, o.BaseTimeScale, o.Share, b.sim.Window())
			runs, err := runScenarios(ctx, b, o.Scenarios, o.params)
			b.Close()
			if err != nil {
				return nil, err
			}
			for _, r := range runs {
				out.Naive = append(out.Naive, summarize(r))
			}
		}
	}
	if o.Scale {
		progress(o, "100k part: %d users, %d with desired state", o.Scale100k.Users, o.Scale100k.Managed)
		res, err := runScale(ctx, o.Scale100k, logw)
		if err != nil {
			return nil, err
		}
		out.Scale = res
	}
	if o.Lookup {
		progress(o, "lookup part: %d users, %d lookups, %d in flight", o.Lookups.Users, o.Lookups.Lookups, o.Lookups.Concurrency)
		res, err := runLookups(ctx, o.Lookups, logw)
		if err != nil {
			return nil, err
		}
		out.Lookup = res
	}
	out.Targets = evaluate(o, out)
	return out, nil
}

func progress(o options, format string, args ...any) {
	if o.Progress != nil {
		o.Progress(format, args...)
	}
}

// evaluate lists every target with its measured value.
func evaluate(o options, out *outcome) []target {
	ts := callTargets(out.Mirror)
	imp := target{Name: "import of 2,000 users on Starter (time-scaled)", Want: ">= 90% budget use, no 429 from Freshservice", Status: "NOT RUN"}
	for _, s := range out.Mirror {
		if s.Run.Key != "import" {
			continue
		}
		use := out.Budget.use(s.Useful, s.Run.Elapsed)
		imp.Measured = fmt.Sprintf("%d users, %s: %.1f%% budget use, %d x 429", o.N, o.Plan, 100*use, s.FS429)
		if o.Plan == "starter" && o.N >= 2000 {
			imp.Status = passFail(use >= 0.90 && s.FS429 == 0 && s.Run.nProblem == 0)
		} else {
			imp.Status = "NOT RUN (needs -plan starter -n 2000)"
		}
	}
	ts = append(ts, imp)
	if out.Scale != nil {
		ts = append(ts, out.Scale.targets()...)
	} else {
		for _, n := range []string{"filter lookup p99, 100k users in the mirror, 8 in flight", "mirror of 100k users in memory", "restart with 100k users answers lookups"} {
			ts = append(ts, target{Name: n, Status: "NOT RUN (-scale100k)"})
		}
	}
	if out.Lookup != nil {
		ts = append(ts, out.Lookup.targets()...)
	} else {
		ts = append(ts, target{Name: "lookup allocations", Status: "NOT RUN (-lookup)"})
	}
	return ts
}

// benchmark runs and prints; ok is false when a target failed or a request
// got an unexpected answer.
func benchmark(ctx context.Context, w io.Writer, o options) (bool, error) {
	start := time.Now()
	out, err := measure(ctx, o)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(w, "fsbridge benchmark, %s\n", time.Now().Format("2006-01-02 15:04"))
	fmt.Fprintf(w, "   %s %s/%s, %d CPUs (GOMAXPROCS %d), %s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), cpuModel())
	fmt.Fprintf(w, "   command: go run ./test/bench %s\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(w, "\n%s\n%s\n", budgetDefinition, latencyDefinition)
	if o.Baseline && len(out.Naive) > 0 {
		fmt.Fprintf(w, `naive baseline = the same traffic through a bridge fronted by test/bench/naive.go: every lookup asks Freshservice
  (GET /requesters?email=...&include_agents=true, then again with active=false on a miss, then GET /agents?email=...),
  GET /Users/{id} reads the user, a create looks the email up first; no walk, no background pass. Run at time scale %gx,
  waiting for budget instead of answering 429 (it only counts calls).
`, o.BaseTimeScale)
	}
	ok := true
	naive := map[string]*summary{}
	for _, s := range out.Naive {
		naive[s.Run.Key] = s
	}
	var totalMirror, totalNaive int
	for _, s := range out.Mirror {
		def, _ := scenarioByKey(s.Run.Key)
		size := fmt.Sprintf("N=%d users", o.N)
		switch s.Run.Key {
		case "groups":
			size = fmt.Sprintf("M=%d groups x %d members (imported users)", o.M, o.Members)
		case "updates", "deactivate":
			size = fmt.Sprintf("N=%d imported users", o.N)
		case "ops":
			size = fmt.Sprintf("each operation %d times, one request at a time", o.OpsRepeats)
		}
		printScenario(w, def.Title, s, naive[s.Run.Key], out.Budget, o.params, size)
		if s.Run.nProblem > 0 {
			ok = false
		}
		totalMirror += s.Calls
		if b := naive[s.Run.Key]; b != nil {
			totalNaive += b.Calls
			if b.Run.nProblem > 0 {
				ok = false
			}
		}
	}
	if len(out.Naive) > 0 && totalMirror > 0 {
		fmt.Fprintf(w, "\n== naive baseline, all scenarios: %d Freshservice calls without the mirror, %d with it: %.2fx\n", totalNaive, totalMirror, float64(totalNaive)/float64(totalMirror))
	}
	if out.Scale != nil {
		out.Scale.print(w)
		if len(out.Scale.Problems) > 0 {
			ok = false
		}
	}
	if out.Lookup != nil {
		out.Lookup.print(w)
		if len(out.Lookup.Problems) > 0 {
			ok = false
		}
	}
	printTargets(w, out.Targets)
	for _, t := range out.Targets {
		if t.Status == "FAIL" {
			ok = false
		}
	}
	fmt.Fprintf(w, "\n   peak RSS of the process: %s; total run time %s\n", mb(procStatus("VmHWM")), time.Since(start).Round(time.Second))
	return ok, nil
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
