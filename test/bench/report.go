package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
)

// kindStats summarises the requests of one kind in one scenario.
type kindStats struct {
	Kind     string
	Ops      int
	Calls    int // Freshservice attempts made for them
	Useful   int
	MaxCalls int // most calls one request of the kind made
	IdP429   int // 429 answers
	Ops429   int // operations that got at least one 429
	Failed   int // operations that ended with a non-2xx answer
	Added    []time.Duration
	Wait     []time.Duration
	Store    storeCost // summed over the successful requests
}

func (k *kindStats) perOp() float64 {
	if k.Ops == 0 {
		return 0
	}
	return float64(k.Calls) / float64(k.Ops)
}

// summary is what the report needs of one scenario run.
type summary struct {
	Run        *run
	Kinds      []*kindStats // in order of first appearance
	Background []callRecord
	Calls      int // every attempt, requests and background
	Useful     int
	FS429      int
	Failed     int // attempts that failed for another reason
	IdP429     int
	Ops429     int
	Ops        int
	Added      []time.Duration
	Wait       []time.Duration
	ByRoute    map[string]int
	// Cross-check: the edge's own count of calls per request.
	EdgeCalls int64
}

func summarize(r *run) *summary {
	s := &summary{Run: r, Background: r.W.Background, ByRoute: map[string]int{}}
	byKind := map[string]*kindStats{}
	for _, op := range r.W.Ops {
		k := byKind[op.Kind]
		if k == nil {
			k = &kindStats{Kind: op.Kind}
			byKind[op.Kind] = k
			s.Kinds = append(s.Kinds, k)
		}
		k.Ops++
		s.Ops++
		calls := op.calls()
		for _, c := range calls {
			if c.useful() {
				k.Useful++
			}
		}
		k.Calls += len(calls)
		k.MaxCalls = max(k.MaxCalls, len(calls))
		hit := false
		for _, a := range op.Attempts {
			if a.Status == 429 {
				k.IdP429++
				s.IdP429++
				hit = true
				continue
			}
			if a.Status >= 300 {
				continue
			}
			var fsTime, fsWait time.Duration
			for _, c := range a.Calls {
				fsTime += c.Duration
				fsWait += c.Waited
			}
			added := a.Server - fsTime - fsWait
			for c := range numStoreClasses {
				k.Store.N[c] += a.Store.N[c]
				k.Store.D[c] += a.Store.D[c]
			}
			k.Added = append(k.Added, added)
			k.Wait = append(k.Wait, fsWait)
			s.Added = append(s.Added, added)
			s.Wait = append(s.Wait, fsWait)
		}
		if hit {
			k.Ops429++
			s.Ops429++
		}
		if op.final().Status >= 300 {
			k.Failed++
		}
	}
	for _, c := range r.W.Calls {
		s.Calls++
		s.ByRoute[c.name()]++
		switch {
		case c.useful():
			s.Useful++
		case c.Status == 429:
			s.FS429++
		default:
			s.Failed++
		}
	}
	for _, rr := range r.W.Requests {
		s.EdgeCalls += rr.FSCalls
	}
	return s
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

// budget describes the account's limit for a run.
type budget struct {
	Plan      string
	Overall   int // the plan's overall per-minute limit
	Share     float64
	Window    time.Duration // real length of one simulated minute
	TimeScale float64
}

func planBudget(plan string, scale, share float64, window time.Duration) budget {
	return budget{Plan: plan, Overall: freshservice.PlanLimits[freshservice.Plan(plan)].Overall, Share: share, Window: window, TimeScale: scale}
}

// minutes is the number of simulated minutes in d.
func (b budget) minutes(d time.Duration) float64 { return float64(d) / float64(b.Window) }

// use is the budget use of a run: useful calls over what the plan allows
// in its simulated minutes.
func (b budget) use(useful int, d time.Duration) float64 {
	m := b.minutes(d)
	if m <= 0 || b.Overall == 0 {
		return 0
	}
	return float64(useful) / (float64(b.Overall) * m)
}

const budgetDefinition = `budget use = useful calls / (plan overall limit per minute x simulated minutes elapsed).
  useful calls: Freshservice attempts that got a 2xx answer, made for SCIM requests or by background
  work (walks, reconcile) during the scenario; 429s, other failures and the failed attempts before a
  retry are not useful. simulated minutes = wall time / (60 s / time scale). The denominator is the
  plan's whole limit, not the bridge's share of it. Freshservice's bucket is full when a run starts,
  so a run of m minutes can spend up to (m+1) x limit: short budget-bound runs can exceed 100%.
  "attainable" below divides by (m+1) x limit instead, the most any client could have spent.`

const latencyDefinition = `added latency = the request's time in the bridge's handler - the time of its Freshservice calls
  (FSTime) - its wait for API budget (FSWait). The budget wait is pacing, not overhead: shown apart.`

// printScenario writes one scenario's table. base is the naive baseline's
// run of the same traffic, or nil.
func printScenario(w io.Writer, title string, s, base *summary, b budget, p params, size string) {
	r := s.Run
	fmt.Fprintf(w, "\n== %s\n", title)
	fmt.Fprintf(w, "   %s, plan %s (overall %d calls/min), time scale %gx (1 simulated minute = %s), %d requests in flight, share %.2f\n",
		size, b.Plan, b.Overall, b.TimeScale, b.Window, p.Concurrency, b.Share)
	fmt.Fprintf(w, "   wall time %s (%.2f simulated min), %d SCIM operations, %.1f ops/s\n",
		r.Elapsed.Round(time.Millisecond), b.minutes(r.Elapsed), s.Ops, float64(s.Ops)/r.Elapsed.Seconds())
	baseKinds := map[string]*kindStats{}
	if base != nil {
		for _, k := range base.Kinds {
			baseKinds[k.Kind] = k
		}
	}
	width := len(kBackgroundCalls)
	for _, k := range s.Kinds {
		width = max(width, len(k.Kind))
	}
	pad := func(k string) string { return "   " + k + strings.Repeat(" ", width-len(k)) }
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tops\tFS calls\tcalls/op\tmax/op\tnaive calls/op\tIdP 429s\tops 429ed\tadded p50\tadded p99\twait p50\twait p99\t\n", pad("kind"))
	for _, k := range s.Kinds {
		naive := "-"
		if bk := baseKinds[k.Kind]; bk != nil {
			naive = fmt.Sprintf("%.2f", bk.perOp())
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%d\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n", pad(k.Kind), k.Ops, k.Calls, k.perOp(), k.MaxCalls, naive, k.IdP429, k.Ops429,
			ms(pct(k.Added, 50)), ms(pct(k.Added, 99)), ms(pct(k.Wait, 50)), ms(pct(k.Wait, 99)))
	}
	baseBG := "-"
	if base != nil {
		baseBG = fmt.Sprint(len(base.Background))
	}
	fmt.Fprintf(tw, "%s\t\t%d\t\t\t%s\t\t\t\t\t\t\t\n", pad(kBackgroundCalls), len(s.Background), baseBG)
	naiveAll := "-"
	if base != nil && base.Ops > 0 {
		naiveAll = fmt.Sprintf("%.2f", float64(base.Calls-len(base.Background))/float64(base.Ops))
	}
	fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n", pad("all operations"), s.Ops, s.Calls-len(s.Background), float64(s.Calls-len(s.Background))/math.Max(1, float64(s.Ops)), naiveAll, s.IdP429, s.Ops429,
		ms(pct(s.Added, 50)), ms(pct(s.Added, 99)), ms(pct(s.Wait, 50)), ms(pct(s.Wait, 99)))
	tw.Flush()
	fmt.Fprintf(w, "   where the added time goes (mean per answered request):\n")
	tw = tabwriter.NewWriter(w, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tadded\tstore writes\t(n)\tstore reads\t(n)\tlock waits\tother\t\n", pad("kind"))
	for _, k := range s.Kinds {
		n := len(k.Added)
		if n == 0 {
			continue
		}
		var sum time.Duration
		for _, d := range k.Added {
			sum += d
		}
		mean := func(d time.Duration) time.Duration { return d / time.Duration(n) }
		other := sum - k.Store.D[storeWrite] - k.Store.D[storeRead] - k.Store.D[storeLock]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%s\t%.1f\t%s\t%s\t\n", pad(k.Kind), ms(mean(sum)),
			ms(mean(k.Store.D[storeWrite])), float64(k.Store.N[storeWrite])/float64(n),
			ms(mean(k.Store.D[storeRead])), float64(k.Store.N[storeRead])/float64(n),
			ms(mean(k.Store.D[storeLock])), ms(mean(other)))
	}
	tw.Flush()
	fmt.Fprintf(w, "   Freshservice: %d attempts, %d useful, %d answered 429 (simulator counted %d), %d other failures\n",
		s.Calls, s.Useful, s.FS429, r.SimStats.RateLimited, s.Failed)
	if int64(s.Calls-len(s.Background)) != s.EdgeCalls {
		fmt.Fprintf(w, "   note: the SCIM edge counted %d calls for these requests, the benchmark attributed %d\n", s.EdgeCalls, s.Calls-len(s.Background))
	}
	fmt.Fprintf(w, "   calls by route: %s\n", routes(s.ByRoute))
	if len(s.Background) > 0 {
		bg := map[string]int{}
		for _, c := range s.Background {
			bg[c.name()]++
		}
		fmt.Fprintf(w, "   background calls by route: %s\n", routes(bg))
	}
	fmt.Fprintf(w, "   429 returned to the IdP: %d answers, on %d of %d operations (the IdP retried them when the budget had room)\n", s.IdP429, s.Ops429, s.Ops)
	m := b.minutes(r.Elapsed)
	fmt.Fprintf(w, "   budget use: %d useful / (%d/min x %.2f min) = %.1f%% (attainable: %.1f%%)",
		s.Useful, b.Overall, m, 100*b.use(s.Useful, r.Elapsed), 100*float64(s.Useful)/(float64(b.Overall)*(m+1)))
	if m < 2 {
		fmt.Fprintf(w, "; under two simulated minutes, not budget-bound: not meaningful")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "   peak memory during the scenario: heap %s, Go runtime total %s (simulator included)\n", mb(r.PeakHeap), mb(r.PeakGo))
	if base != nil {
		ratio := math.Inf(1)
		if s.Calls > 0 {
			ratio = float64(base.Calls) / float64(s.Calls)
		}
		fmt.Fprintf(w, "   naive baseline (no mirror): %d calls (%d useful, %d answered 429) for the same traffic, vs %d with the mirror: %.2fx\n",
			base.Calls, base.Useful, base.FS429, s.Calls, ratio)
	}
	for _, pr := range r.Problems {
		fmt.Fprintf(w, "   PROBLEM: %s\n", pr)
	}
	if r.nProblem > len(r.Problems) {
		fmt.Fprintf(w, "   ... and %d more problems\n", r.nProblem-len(r.Problems))
	}
	if base != nil {
		for _, pr := range base.Run.Problems {
			fmt.Fprintf(w, "   PROBLEM (baseline): %s\n", pr)
		}
	}
}

func routes(m map[string]int) string {
	keys := sortedKeys(m)
	sort.SliceStable(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// target is one line of the targets section.
type target struct {
	Name     string
	Measured string
	Want     string
	Status   string // PASS, FAIL, or NOT RUN
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func printTargets(w io.Writer, ts []target) {
	fmt.Fprintf(w, "\n== targets\n")
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "   target\tmeasured\twant\tresult\n")
	for _, t := range ts {
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\n", t.Name, t.Measured, t.Want, t.Status)
	}
	tw.Flush()
}

// callTargets checks the per-operation call counts (target 3b) on the ops
// scenario, where each operation runs alone on fresh users, and the 0-call
// warm lookups over every scenario that ran. The bulk scenarios' numbers
// for the same operations are shown beside them: there, a retry after a
// Freshservice 429 or work left by an earlier request that got 429 can add
// calls to an operation.
func callTargets(sums []*summary) []target {
	type agg struct{ ops, calls, max int }
	ops, bulk := map[string]*agg{}, map[string]*agg{}
	for _, s := range sums {
		for _, k := range s.Kinds {
			m := bulk
			if s.Run.Key == "ops" {
				m = ops
			}
			a := m[k.Kind]
			if a == nil {
				a = &agg{}
				m[k.Kind] = a
			}
			a.ops += k.Ops
			a.calls += k.Calls
			a.max = max(a.max, k.MaxCalls)
		}
	}
	sum := func(m map[string]*agg, kinds ...string) agg {
		var t agg
		for _, k := range kinds {
			if a := m[k]; a != nil {
				t.ops += a.ops
				t.calls += a.calls
				t.max = max(t.max, a.max)
			}
		}
		return t
	}
	var ts []target
	lookups := []string{kLookupID, kLookupUserName, kLookupEmail, kLookupExternalID, kLookupWalked, kLookupMiss, kGetByID, kGroupLookup}
	all := sum(ops, lookups...)
	b := sum(bulk, lookups...)
	all.ops += b.ops
	all.calls += b.calls
	all.max = max(all.max, b.max)
	if all.ops == 0 {
		ts = append(ts, target{Name: "warm lookups (id, userName, email, externalId)", Want: "0 calls", Status: "NOT RUN"})
	} else {
		ts = append(ts, target{Name: "warm lookups (id, userName, email, externalId)", Measured: fmt.Sprintf("max %d calls over %d lookups, all scenarios", all.max, all.ops), Want: "0 calls", Status: passFail(all.max == 0)})
	}
	for _, c := range []struct {
		name      string
		kinds     []string
		bulkKinds []string
		want      int
	}{
		{"create requester", []string{kCreateRequester}, []string{kCreateRequester}, 1},
		{"create agent with roles", []string{kCreateAgent}, nil, 1},
		{"deactivate", []string{kDeactivate}, []string{kDeactivateOkta, kDeactivateEntra}, 1},
		{"reactivate", []string{kReactivate}, nil, 1},
		{"promote an existing requester", []string{kPromoteGroup, kPromoteRole}, nil, 2},
		{"requester-group member add", []string{kRGAdd}, []string{kGroupAddOne}, 1},
		{"requester-group member remove", []string{kRGRemove}, nil, 1},
	} {
		want := fmt.Sprintf("%d call", c.want)
		if c.want > 1 {
			want = fmt.Sprintf("at most %d calls", c.want)
		}
		a := sum(ops, c.kinds...)
		if a.ops == 0 {
			ts = append(ts, target{Name: c.name, Want: want, Status: "NOT RUN (ops scenario)"})
			continue
		}
		m := fmt.Sprintf("max %d, mean %.2f over %d", a.max, float64(a.calls)/float64(a.ops), a.ops)
		if bb := sum(bulk, c.bulkKinds...); bb.ops > 0 {
			m += fmt.Sprintf(" (bulk: max %d, mean %.3f over %d)", bb.max, float64(bb.calls)/float64(bb.ops), bb.ops)
		}
		ts = append(ts, target{Name: c.name, Measured: m, Want: want, Status: passFail(a.max <= c.want && a.calls >= a.ops)})
	}
	return ts
}
