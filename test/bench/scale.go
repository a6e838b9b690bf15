package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/internal/store/sqlite"
	"github.com/fsbridge/fsbridge/scim"
)

// scaleParams size the 100,000-user part.
type scaleParams struct {
	Users    int // users in the mirror
	Managed  int // of them, users with desired state (provisioned over SCIM)
	Lookups  int // measured sequential lookups
	Plan     string
	Progress func(format string, args ...any)
}

// scaleResult is what the 100,000-user part measured.
type scaleResult struct {
	P                   scaleParams
	Seed                time.Duration // writing the store
	New                 time.Duration // server.New: catalog calls, loading the mirror
	FirstLookup         time.Duration // from opening the store (then server.New) to the first answered lookup
	RestartWait         time.Duration // of which Freshservice calls waited for API budget
	HeapBefore          uint64        // live heap after GC, before server.New
	HeapAfter           uint64        // live heap after GC, mirror loaded
	RSSBefore, RSSAfter uint64
	StoreBytes          int64
	RestartRoutes       map[string]int // Freshservice calls from server.New to the end of the lookups
	// RestartUserReads are the calls among them that read users (any would
	// mean the restart walked Freshservice); RestartProbes the key probe's
	// one-row lists.
	RestartUserReads, RestartProbes int
	LookupCalls                     int // Freshservice calls attributed to the lookups
	Seq                             map[string]*latencies
	SeqAll                          *latencies
	Slow, SlowGC                    int        // sequential lookups over 1 ms, and of them those a GC cycle ended during
	GCCycles                        uint64     // GC cycles during the sequential lookups
	AllocPerLookup                  uint64     // heap bytes allocated in the process per sequential lookup
	Conc                            *latencies // lookups with 8 in flight
	ConcRate                        float64
	Scan                            *latencies // title co "..." (full scan)
	ScanMatches                     int
	Page                            *latencies // GET /Users?startIndex=1&count=100 (unfiltered page)
	Problems                        []string
}

// latencies keeps the IdP-side round trip and the time in the handler.
type latencies struct {
	RTT, Server []time.Duration
}

func (l *latencies) add(o opRecord) {
	l.RTT = append(l.RTT, o.final().RTT)
	l.Server = append(l.Server, o.final().Server)
}

var titles = []string{"Engineer", "Senior Engineer", "Manager", "Analyst", "Designer", "Accountant", "Recruiter",
	"Sales Representative", "Support Specialist", "Director", "Product Manager", "Technician", "Consultant", "Administrator"}

// scaleUser is the i-th synthetic Freshservice user: 2% agents, 5%
// deactivated, 10% with a secondary email.
func scaleUser(i int, depts []int64, roles []int64, groups []int64, now time.Time) *freshservice.User {
	id := int64(50_000_000_000) + int64(i)
	u := &freshservice.User{
		ID: id, View: freshservice.ViewRequester,
		Email:     fmt.Sprintf("user%06d@scale.example.com", i),
		Active:    i%20 != 7,
		FirstName: fmt.Sprintf("First%06d", i), LastName: fmt.Sprintf("Last%06d", i),
		JobTitle:  titles[i%len(titles)],
		WorkPhone: fmt.Sprintf("+1 555 %07d", i), TimeZone: "Eastern Time (US & Canada)", TimeFormat: "12h", Language: "en",
		ExternalID: fmt.Sprintf("hr-%06d", i),
		CreatedAt:  now.Add(-time.Duration(i) * time.Minute), UpdatedAt: now.Add(-time.Duration(i) * time.Second),
		HasLoggedIn: i%3 == 0,
	}
	if len(depts) > 0 {
		u.DepartmentIDs = []int64{depts[i%len(depts)]}
	}
	if i%10 == 3 {
		u.SecondaryEmails = []string{fmt.Sprintf("alias%06d@scale.example.com", i)}
	}
	if i > 0 && i%50 == 0 && len(roles) > 0 {
		u.IsAgent = true
		u.Roles = []freshservice.RoleAssignment{{RoleID: roles[i%len(roles)], AssignmentScope: freshservice.ScopeEntireHelpdesk}}
		if len(groups) > 0 {
			u.MemberOf = []int64{groups[i%len(groups)]}
		}
	}
	if i > 100 {
		u.ReportingManagerID = int64(50_000_000_000) + int64(i%100)
	}
	return u
}

// scaleDoc is the desired state an IdP would have left for user i.
func scaleDoc(u *freshservice.User, i int) json.RawMessage {
	doc := map[string]any{
		"userName":    u.Email,
		"name":        map[string]any{"givenName": u.FirstName, "familyName": u.LastName, "formatted": u.FirstName + " " + u.LastName},
		"displayName": u.FirstName + " " + u.LastName,
		"emails":      []any{map[string]any{"primary": true, "type": "work", "value": u.Email}},
		"title":       u.JobTitle,
		"active":      u.Active,
		"locale":      "en-US",
		"externalId":  scaleExternalID(i),
	}
	data, _ := json.Marshal(doc)
	return data
}

func scaleExternalID(i int) string { return fmt.Sprintf("00u%017d", i) }

// seedScaleStore writes the mirror snapshot and the desired state a bridge
// that has served users for a while would have saved.
func seedScaleStore(ctx context.Context, path string, sim *simulator.Server, p scaleParams) error {
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	var depts, roles, groups []int64
	for _, d := range sim.Departments() {
		depts = append(depts, d.ID)
	}
	for _, r := range sim.Roles() {
		roles = append(roles, r.ID)
	}
	for _, g := range sim.AgentGroups() {
		groups = append(groups, g.ID)
	}
	now := time.Now().UTC()
	const batch = 1000
	entries := make([]store.MirrorEntry, 0, batch)
	for i := 0; i < p.Users; i++ {
		u := scaleUser(i, depts, roles, groups, now)
		data, err := json.Marshal(u)
		if err != nil {
			return err
		}
		entries = append(entries, store.MirrorEntry{ID: u.ID, Data: data})
		if len(entries) == batch || i == p.Users-1 {
			if err := st.PutMirror(ctx, entries); err != nil {
				return err
			}
			entries = entries[:0]
		}
	}
	if p.Progress != nil {
		p.Progress("  scale: %d mirror entries written", p.Users)
	}
	// Desired state: the first Managed users, as SCIM creates left them.
	var mu sync.Mutex
	var firstErr error
	parallel(ctx, p.Managed, 4, func(i int) {
		u := scaleUser(i, depts, roles, groups, now)
		_, err := st.CreateUser(ctx, store.User{
			ID: u.ID, UserName: u.Email, ExternalID: scaleExternalID(i), Doc: scaleDoc(u, i),
			Applied: json.RawMessage(`{}`), Created: u.CreatedAt, Modified: u.UpdatedAt,
		})
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
		if p.Progress != nil && (i+1)%20000 == 0 {
			p.Progress("  scale: %d desired states written", i+1)
		}
	})
	if firstErr != nil {
		return firstErr
	}
	// A recent walk, as a running bridge records: a restart must not walk.
	return st.SetMeta(ctx, "mirror.walked_at", now.Format(time.RFC3339Nano))
}

// runScale measures the 100,000-user targets: a restart on a store that
// holds the mirror (time to the first answered lookup, Freshservice calls
// made), the memory of the loaded mirror, and lookup latency over HTTP.
func runScale(ctx context.Context, p scaleParams, logw io.Writer) (*scaleResult, error) {
	res := &scaleResult{P: p, Seq: map[string]*latencies{}, SeqAll: &latencies{}, Conc: &latencies{}, Scan: &latencies{}, Page: &latencies{}}
	e, err := newSimEnv(envOptions{Plan: p.Plan, TimeScale: 1, Concurrency: 8, Log: logw})
	if err != nil {
		return nil, err
	}
	defer e.Close()
	t := time.Now()
	if err := seedScaleStore(ctx, e.cfg.Store.Path, e.sim, p); err != nil {
		return nil, fmt.Errorf("seeding the store: %w", err)
	}
	res.Seed = time.Since(t)
	res.StoreBytes = fileSize(e.cfg.Store.Path) + fileSize(e.cfg.Store.Path+"-wal")
	if p.Progress != nil {
		p.Progress("  scale: store written in %s (%s); restarting the bridge on it", res.Seed.Round(time.Millisecond), mb(uint64(res.StoreBytes)))
	}

	res.HeapBefore = liveHeap()
	res.RSSBefore = procStatus("VmRSS")
	simBefore := e.sim.Stats()
	logBefore := len(e.sim.Requests())

	// The restart: server.New loads the mirror from the store, the
	// background work starts as in serve, and the IdP's first lookup is
	// answered.
	first := fmt.Sprintf(`userName eq "%s"`, scaleUser(12345%p.Users, nil, nil, nil, time.Now()).Email)
	restartFrom := e.rec.mark()
	t0 := time.Now()
	if err := e.start(ctx, true); err != nil {
		return nil, err
	}
	res.New = time.Since(t0)
	e.runBackground()
	for {
		resp, err := e.do(ctx, "first lookup", "GET", filterPath(first, "&startIndex=1&count=100"), nil)
		if err == nil && resp.Status == 200 && totalResults(resp) == 1 {
			break
		}
		if time.Since(t0) > time.Minute {
			return nil, fmt.Errorf("no answer to the first lookup after a minute: %v %d", err, resp.Status)
		}
		time.Sleep(time.Millisecond)
	}
	res.FirstLookup = time.Since(t0)
	for _, c := range e.rec.since(restartFrom, e.rec.mark()).Calls {
		res.RestartWait += c.Waited
	}
	res.HeapAfter = liveHeap()
	res.RSSAfter = procStatus("VmRSS")
	if p.Progress != nil {
		p.Progress("  scale: first lookup answered %s after the restart began", res.FirstLookup.Round(time.Millisecond))
	}

	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []string{kLookupUserName, kLookupEmail, kLookupExternalID, kLookupID, "lookup by id filter"}
	lookup := func(k int) (string, string, int) {
		i := rng.IntN(p.Users)
		kind := kinds[k%len(kinds)]
		if kind == kLookupExternalID {
			i = rng.IntN(max(p.Managed, 1))
		}
		u := scaleUser(i, nil, nil, nil, time.Now())
		switch kind {
		case kLookupUserName:
			return kind, filterPath(`userName eq "`+u.Email+`"`, "&startIndex=1&count=100"), 1
		case kLookupEmail:
			return kind, filterPath(`emails[type eq "work"].value eq "`+u.Email+`"`, ""), 1
		case kLookupExternalID:
			return kind, filterPath(`externalId eq "`+scaleExternalID(i)+`"`, ""), 1
		case kLookupID:
			return kind, "/Users/" + strconv.FormatInt(u.ID, 10), -1
		}
		return kind, filterPath(`id eq "`+strconv.FormatInt(u.ID, 10)+`"`, ""), 1
	}
	check := func(kind, path string, want int, resp response, err error) {
		if err != nil || resp.Status != 200 || (want >= 0 && totalResults(resp) != want) {
			if len(res.Problems) < maxProblemsToKeep {
				res.Problems = append(res.Problems, fmt.Sprintf("%s %s: %v %d %d results", kind, path, err, resp.Status, totalResults(resp)))
			}
		}
	}
	// Warm-up: connections, code paths.
	for k := range 200 {
		kind, path, _ := lookup(k)
		_, _ = e.do(ctx, "warm-up", "GET", path, nil)
		_ = kind
	}
	from := e.rec.mark()
	gcBefore := gcCycles()
	allocBefore := heapAllocs()
	slowGC := 0
	for k := range p.Lookups {
		kind, path, want := lookup(k)
		g0 := gcCycles()
		t := time.Now()
		resp, err := e.do(ctx, kind, "GET", path, nil)
		d := time.Since(t)
		if d > time.Millisecond {
			res.Slow++
			if gcCycles() != g0 {
				slowGC++
			}
		}
		check(kind, path, want, resp, err)
	}
	res.SlowGC = slowGC
	res.GCCycles = gcCycles() - gcBefore
	res.AllocPerLookup = (heapAllocs() - allocBefore) / uint64(max(p.Lookups, 1))

	w := e.since(from, e.rec.mark())
	for _, o := range w.Ops {
		if res.Seq[o.Kind] == nil {
			res.Seq[o.Kind] = &latencies{}
		}
		res.Seq[o.Kind].add(o)
		res.SeqAll.add(o)
		res.LookupCalls += len(o.calls())
	}

	// The same lookups with 8 in flight: throughput, and latency under load. The IdP here is the
	// lean client of the lookup part, on a listener of its own without the recorder, so that what
	// the 8 in flight measure is the bridge, not the benchmark's bookkeeping on the same cores.
	lean := httptest.NewServer(e.srv.Handler)
	defer lean.Close()
	lc := newLeanClient(ctx, lean.URL+scim.Prefix, 8)
	defer lc.close()
	workers := make([]*leanWorker, 8)
	for i := range workers {
		workers[i] = lc.worker()
	}
	nConc := p.Lookups
	paths := make([]string, nConc)
	wants := make([]int, nConc)
	for k := range nConc {
		_, paths[k], wants[k] = lookup(k)
	}
	res.Conc.RTT = make([]time.Duration, nConc)
	var mu sync.Mutex
	t = time.Now()
	runParallel(ctx, workers, nConc, func(w *leanWorker, k int) {
		path, query, _ := strings.Cut(paths[k], "?")
		status, body, d, err := lc.get(w, path, query)
		res.Conc.RTT[k] = d
		if err != nil || status != 200 || (wants[k] >= 0 && !bytes.Contains(body, []byte(`"totalResults":`+strconv.Itoa(wants[k])))) {
			mu.Lock()
			if len(res.Problems) < maxProblemsToKeep {
				res.Problems = append(res.Problems, fmt.Sprintf("concurrent lookup %s: %v %d %.200s", paths[k], err, status, body))
			}
			mu.Unlock()
		}
	})
	res.ConcRate = float64(nConc) / time.Since(t).Seconds()

	// A filter no index serves: a full scan of the mirror.
	from = e.rec.mark()
	for range 5 {
		resp, err := e.do(ctx, "scan", "GET", "/Users?filter="+url.QueryEscape(`title co "Product"`)+"&startIndex=1&count=100", nil)
		check("title co", "", -1, resp, err)
		res.ScanMatches = totalResults(resp)
	}
	for range 5 {
		resp, err := e.do(ctx, "page", "GET", "/Users?startIndex=1&count=100", nil)
		check("page", "", -1, resp, err)
	}
	w = e.since(from, e.rec.mark())
	for _, o := range w.Ops {
		if o.Kind == "scan" {
			res.Scan.add(o)
		} else {
			res.Page.add(o)
		}
		res.LookupCalls += len(o.calls())
	}
	res.RestartRoutes = statsDelta(simBefore, e.sim.Stats()).ByRoute
	for _, rq := range e.sim.Requests()[logBefore:] {
		if rq.Method != "GET" {
			continue
		}
		switch rq.Route {
		case "/api/v2/requesters", "/api/v2/agents":
			// The key probe lists one row of each to learn what the key
			// may do; that is not reading the directory.
			if q, err := url.ParseQuery(rq.Query); err == nil && q.Get("per_page") == "1" {
				res.RestartProbes++
				continue
			}
			res.RestartUserReads++
		case "/api/v2/requesters/{id}", "/api/v2/agents/{id}":
			res.RestartUserReads++
		}
	}
	return res, nil
}

func (r *scaleResult) print(w io.Writer) {
	fmt.Fprintf(w, "\n== 100,000-user mirror: restart, memory, lookups (-scale100k)\n")
	fmt.Fprintf(w, "   %d Freshservice users written to a fresh SQLite store's mirror snapshot (2%% agents, 5%% deactivated,\n", r.P.Users)
	fmt.Fprintf(w, "   10%% with a secondary email), %d of them with desired state (provisioned over SCIM); store %s, written in %s\n",
		r.P.Managed, mb(uint64(r.StoreBytes)), r.Seed.Round(time.Millisecond))
	fmt.Fprintf(w, "   restart: server.New (catalog calls + loading the store) %s; first lookup answered %s after New began, of which\n",
		r.New.Round(time.Millisecond), r.FirstLookup.Round(time.Millisecond))
	fmt.Fprintf(w, "   Freshservice calls waited %s for API budget (the client's pacing on plan %s), so the bridge's own time was %s\n",
		r.RestartWait.Round(time.Millisecond), r.P.Plan, (r.FirstLookup - r.RestartWait).Round(time.Millisecond))
	fmt.Fprintf(w, "   Freshservice calls from the restart to the end of the lookups: %s\n", routes(r.RestartRoutes))
	fmt.Fprintf(w, "   memory: live heap after GC %s before New, %s with the mirror loaded: +%s (%.0f bytes/user); RSS %s -> %s\n",
		mb(r.HeapBefore), mb(r.HeapAfter), mb(r.HeapAfter-min(r.HeapBefore, r.HeapAfter)),
		float64(r.HeapAfter-min(r.HeapBefore, r.HeapAfter))/float64(max(r.P.Users, 1)), mb(r.RSSBefore), mb(r.RSSAfter))
	fmt.Fprintf(w, "   lookups over HTTP, one at a time (after 200 warm-up lookups); rtt = as the IdP sees it on loopback, handler = inside the bridge:\n")
	line := func(name string, l *latencies) {
		fmt.Fprintf(w, "     %-34s n=%-5d rtt p50 %-8s p99 %-8s max %-8s handler p50 %-8s p99 %-8s\n", name, len(l.RTT),
			ms(pct(l.RTT, 50)), ms(pct(l.RTT, 99)), ms(pct(l.RTT, 100)), ms(pct(l.Server, 50)), ms(pct(l.Server, 99)))
	}
	for _, k := range sortedKeys(r.Seq) {
		line(k, r.Seq[k])
	}
	line("all filter and id lookups", r.SeqAll)
	fmt.Fprintf(w, "     %d garbage collections ended during the %d lookups (%.1f KB allocated per lookup in the process: bridge,\n",
		r.GCCycles, len(r.SeqAll.RTT), float64(r.AllocPerLookup)/1024)
	fmt.Fprintf(w, "     simulator and benchmark client); %d lookups took over 1 ms, a collection ended during %d of them\n", r.Slow, r.SlowGC)
	fmt.Fprintf(w, "   the same lookups, 8 in flight from a client that reuses its requests and checks answers as bytes:\n")
	line(fmt.Sprintf("8 in flight (%.0f lookups/s)", r.ConcRate), r.Conc)
	line(fmt.Sprintf(`title co "Product" (full scan, %d hits)`, r.ScanMatches), r.Scan)
	line("unfiltered page (count=100)", r.Page)
	fmt.Fprintf(w, "   Freshservice calls made for these lookups: %d\n", r.LookupCalls)
	for _, pr := range r.Problems {
		fmt.Fprintf(w, "   PROBLEM: %s\n", pr)
	}
}

func (r *scaleResult) targets() []target {
	concP99 := pct(r.Conc.RTT, 99)
	mem := r.HeapAfter - min(r.HeapBefore, r.HeapAfter)
	walked := r.RestartUserReads
	return []target{
		{Name: fmt.Sprintf("filter lookup p99, %dk users in the mirror, 8 in flight", r.P.Users/1000),
			Measured: fmt.Sprintf("%s (rtt over HTTP, %.0f lookups/s; one at a time %s)", ms(concP99), r.ConcRate, ms(pct(r.SeqAll.RTT, 99))),
			Want:     "<= 5ms", Status: passFail(concP99 <= 5*time.Millisecond && len(r.Problems) == 0)},
		{Name: fmt.Sprintf("mirror of %dk users in memory", r.P.Users/1000), Measured: fmt.Sprintf("%s live heap (RSS +%s)", mb(mem), mb(r.RSSAfter-min(r.RSSBefore, r.RSSAfter))), Want: "<= 300 MB", Status: passFail(mem <= 300<<20)},
		{Name: fmt.Sprintf("restart with %dk users answers lookups", r.P.Users/1000),
			Measured: fmt.Sprintf("%s, of which %s waiting for API budget: %s of the bridge's own; %d user reads from Freshservice (and %d one-row key probes)",
				r.FirstLookup.Round(time.Millisecond), r.RestartWait.Round(time.Millisecond), (r.FirstLookup - r.RestartWait).Round(time.Millisecond), walked, r.RestartProbes),
			Want: "<= 2s (budget waits apart), from the store", Status: passFail(r.FirstLookup-r.RestartWait <= 2*time.Second && walked == 0)},
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(filepath.Clean(path))
	if err != nil {
		return 0
	}
	return fi.Size()
}
