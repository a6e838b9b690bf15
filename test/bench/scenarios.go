package main

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

const (
	urnUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	urnGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	urnEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	urnPatchOp    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// Operation kinds, as the tables and the targets name them.
const (
	kLookupMiss        = "lookup userName (miss)"
	kCreateRequester   = "create requester"
	kCreateAgent       = "create agent with roles"
	kManagerPatch      = "PATCH manager"
	kGroupAddOne       = "PATCH group: add 1 member"
	kGroupLookup       = "lookup group displayName"
	kGroupCreateEmpty  = "create group (no members)"
	kGroupList         = "list groups"
	kGroupCreateFull   = "create group with members"
	kGroupPatchMixed   = "PATCH group: rename+remove 1+add 1"
	kGetByID           = "GET user by id"
	kPutUpdate         = "PUT user (title changed)"
	kPatchUpdate       = "PATCH title"
	kDeactivateOkta    = "deactivate (Okta PATCH)"
	kDeactivateEntra   = "deactivate (Entra PATCH)"
	kLookupID          = "lookup by id"
	kLookupUserName    = "lookup by userName"
	kLookupEmail       = "lookup by email"
	kLookupExternalID  = "lookup by externalId"
	kLookupWalked      = "lookup walked user (userName, email)"
	kRGCreate          = "create requester group"
	kRGAdd             = "requester-group member add"
	kRGRemove          = "requester-group member remove"
	kDeactivate        = "deactivate"
	kReactivate        = "reactivate"
	kRoleGroupCreate   = "create role group"
	kPromoteGroup      = "promote requester (role group)"
	kPromoteRole       = "promote requester (app role)"
	kAgentGroupCreate  = "create agent group"
	kAgentGroupAdd     = "agent-group member add"
	kAgentGroupRemove  = "agent-group member remove"
	kDemote            = "demote (leave role group)"
	kUpdateOneField    = "update one field (PATCH)"
	kBackgroundCalls   = "background (walks, reconcile)"
	benchDomain        = "bench.example.com"
	defaultOpsRepeats  = 5
	maxProblemsToKeep  = 8
	progressEveryUsers = 500
)

// params are the traffic sizes.
type params struct {
	N           int // users per user scenario
	M           int // groups pushed
	Members     int // members per pushed group
	Concurrency int // IdP requests in flight
	OpsRepeats  int // repetitions of each operation in the ops scenario
	// NoIdle skips the idle window before each scenario (tests).
	NoIdle   bool
	Progress func(format string, args ...any)
}

// state is what the IdP remembers between scenarios: the ids of the users
// and groups it created.
type state struct {
	mu     sync.Mutex
	okta   []string // SCIM ids of the imported users, by index
	entra  []string
	groups []string
}

// run is one scenario's outcome on one bridge.
type run struct {
	Key      string
	W        window
	Elapsed  time.Duration
	Problems []string
	nProblem int
	PeakHeap uint64
	PeakGo   uint64
	SimStats simulator.Stats // delta over the scenario
}

func (r *run) problem(format string, args ...any) {
	r.nProblem++
	if len(r.Problems) < maxProblemsToKeep {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// problems collects unexpected answers from concurrent workers.
type problems struct {
	mu sync.Mutex
	r  *run
}

func (p *problems) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.r.problem(format, args...)
}

// expect checks a response's status; anything else is a problem.
func (p *problems) expect(what string, resp response, err error, want ...int) bool {
	if err != nil {
		p.add("%s: %v", what, err)
		return false
	}
	for _, w := range want {
		if resp.Status == w {
			return true
		}
	}
	detail := strings.TrimSpace(string(resp.Raw))
	if len(detail) > 300 {
		detail = detail[:300] + "..."
	}
	p.add("%s: status %d, want %v: %s", what, resp.Status, want, detail)
	return false
}

// parallel runs fn for i in [0, n) on conc workers.
func parallel(ctx context.Context, n, conc int, fn func(i int)) {
	if conc < 1 {
		conc = 1
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(conc, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func filterPath(expr string, extra string) string {
	return "/Users?filter=" + url.QueryEscape(expr) + extra
}

func oktaUserName(i int) string { return fmt.Sprintf("okta.user%05d@%s", i, benchDomain) }

func entraUserName(i int) string { return fmt.Sprintf("entra.user%05d@%s", i, benchDomain) }

// oktaUser is the body Okta POSTs (idp-scim-behaviors §1.3).
func oktaUser(userName string, i int) map[string]any {
	return map[string]any{
		"schemas":     []string{urnUser},
		"userName":    userName,
		"name":        map[string]any{"givenName": "Okta", "familyName": fmt.Sprintf("User%05d", i)},
		"emails":      []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
		"displayName": fmt.Sprintf("Okta User%05d", i),
		"locale":      "en-US",
		"externalId":  fmt.Sprintf("00u%017d", i),
		"groups":      []any{},
		"password":    "1mz050nq",
		"active":      true,
	}
}

// entraUser is the body Entra POSTs (idp-scim-behaviors §2.3).
func entraUser(userName string, i int) map[string]any {
	return map[string]any{
		"schemas":    []string{urnUser, urnEnterprise},
		"externalId": fmt.Sprintf("entra.user%05d", i),
		"userName":   userName,
		"active":     true,
		"emails":     []any{map[string]any{"primary": true, "type": "work", "value": userName}},
		"meta":       map[string]any{"resourceType": "User"},
		"name":       map[string]any{"formatted": fmt.Sprintf("Entra User%05d", i), "familyName": fmt.Sprintf("User%05d", i), "givenName": "Entra"},
		"title":      "Engineer",
		urnEnterprise: map[string]any{
			"department": "Engineering",
		},
		"roles": []any{},
	}
}

func patch(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []string{urnPatchOp}, "Operations": list}
}

func idOf(resp response) string {
	s, _ := resp.Body["id"].(string)
	return s
}

func totalResults(resp response) int {
	f, _ := resp.Body["totalResults"].(float64)
	return int(f)
}

// oktaImport is scenario (a): for each user, Okta's lookup by userName and
// then the POST (idp-scim-behaviors §1.2, §1.3).
func oktaImport(ctx context.Context, e *env, st *state, p params, r *run) {
	pr := &problems{r: r}
	ids := make([]string, p.N)
	var done atomic.Int64
	parallel(ctx, p.N, p.Concurrency, func(i int) {
		un := oktaUserName(i)
		resp, err := e.do(ctx, kLookupMiss, "GET", filterPath(`userName eq "`+un+`"`, "&startIndex=1&count=100"), nil)
		if pr.expect("lookup "+un, resp, err, 200) && totalResults(resp) != 0 {
			pr.add("lookup %s: found %d users before the create", un, totalResults(resp))
		}
		resp, err = e.do(ctx, kCreateRequester, "POST", "/Users", oktaUser(un, i))
		if pr.expect("create "+un, resp, err, 201) {
			ids[i] = idOf(resp)
		}
		if n := done.Add(1); p.Progress != nil && n%progressEveryUsers == 0 {
			p.Progress("  import: %d/%d users", n, p.N)
		}
	})
	st.mu.Lock()
	st.okta = ids
	st.mu.Unlock()
}

// entraCycle is scenario (b): Entra creates its groups (lookup, then POST
// without members), then for each user: lookup (with + for spaces), POST,
// a separate PATCH for the manager, and a PATCH adding the user to a group
// (idp-scim-behaviors §2.2 to §2.6). Team leads report to the first user,
// everyone else to their team lead, so managers exist before their
// reports' PATCH.
func entraCycle(ctx context.Context, e *env, st *state, p params, r *run) {
	pr := &problems{r: r}
	const nGroups = 5
	gids := make([]string, nGroups)
	for g := range nGroups {
		name := fmt.Sprintf("Entra Department %d", g)
		resp, err := e.do(ctx, kGroupLookup, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "`+name+`"`), nil)
		pr.expect("lookup group "+name, resp, err, 200)
		resp, err = e.do(ctx, kGroupCreateEmpty, "POST", "/Groups", map[string]any{
			"schemas": []string{urnGroup}, "externalId": fmt.Sprintf("8aa1a0c0-0000-4bc0-b4a5-%012d", g),
			"displayName": name, "meta": map[string]any{"resourceType": "Group"},
		})
		if pr.expect("create group "+name, resp, err, 201) {
			gids[g] = idOf(resp)
		}
	}
	ids := make([]string, p.N)
	const team = 20
	var done atomic.Int64
	cycle := func(i int, manager string) {
		un := entraUserName(i)
		resp, err := e.do(ctx, kLookupMiss, "GET", filterPath(`userName eq "`+un+`"`, ""), nil)
		if pr.expect("lookup "+un, resp, err, 200) && totalResults(resp) != 0 {
			pr.add("lookup %s: found %d users before the create", un, totalResults(resp))
		}
		resp, err = e.do(ctx, kCreateRequester, "POST", "/Users", entraUser(un, i))
		if !pr.expect("create "+un, resp, err, 201) {
			return
		}
		id := idOf(resp)
		ids[i] = id
		if manager != "" {
			resp, err = e.do(ctx, kManagerPatch, "PATCH", "/Users/"+id, patch(map[string]any{
				"op": "Add", "path": urnEnterprise + ":manager", "value": manager,
			}))
			pr.expect("manager of "+un, resp, err, 200, 204)
		}
		if g := gids[i%nGroups]; g != "" {
			resp, err = e.do(ctx, kGroupAddOne, "PATCH", "/Groups/"+g, patch(map[string]any{
				"op": "Add", "path": "members", "value": []any{map[string]any{"$ref": nil, "value": id}},
			}))
			pr.expect("add "+un+" to its group", resp, err, 200, 204)
		}
		if n := done.Add(1); p.Progress != nil && n%progressEveryUsers == 0 {
			p.Progress("  entra: %d/%d users", n, p.N)
		}
	}
	if p.N == 0 {
		return
	}
	cycle(0, "")
	var leads []int
	for i := team; i < p.N; i += team {
		leads = append(leads, i)
	}
	parallel(ctx, len(leads), p.Concurrency, func(k int) { cycle(leads[k], ids[0]) })
	var rest []int
	for i := 1; i < p.N; i++ {
		if i%team != 0 {
			rest = append(rest, i)
		}
	}
	parallel(ctx, len(rest), p.Concurrency, func(k int) {
		i := rest[k]
		cycle(i, ids[i/team*team])
	})
	st.mu.Lock()
	st.entra = ids
	st.mu.Unlock()
}

// groupPush is scenario (c): Okta Group Push of M groups (idp-scim-behaviors
// §1.6): the cached group list, a POST with the members, then a PATCH that
// re-sends the name and moves one member out and another in.
func groupPush(ctx context.Context, e *env, st *state, p params, r *run) {
	pr := &problems{r: r}
	pool := st.imported()
	if len(pool) == 0 {
		pr.add("group push: no imported users to push")
		return
	}
	resp, err := e.do(ctx, kGroupList, "GET", "/Groups?startIndex=1&count=100", nil)
	pr.expect("list groups", resp, err, 200)
	members := min(p.Members, len(pool)-1)
	gids := make([]string, p.M)
	member := func(g, k int) string { return pool[(g*members+k)%len(pool)] }
	parallel(ctx, p.M, p.Concurrency, func(g int) {
		name := fmt.Sprintf("Okta Push Group %03d", g)
		var ms []any
		for k := range members {
			ms = append(ms, map[string]any{"value": member(g, k), "display": ""})
		}
		resp, err := e.do(ctx, kGroupCreateFull, "POST", "/Groups", map[string]any{
			"schemas": []string{urnGroup}, "displayName": name, "members": ms,
		})
		if pr.expect("push "+name, resp, err, 201) {
			gids[g] = idOf(resp)
			return
		}
		if err == nil && resp.Status == 409 {
			// The admin links the group that exists, and the push goes on.
			resp, err = e.do(ctx, kGroupLookup, "GET", "/Groups?filter="+url.QueryEscape(`displayName eq "`+name+`"`), nil)
			if pr.expect("link "+name, resp, err, 200) {
				if list, _ := resp.Body["Resources"].([]any); len(list) == 1 {
					g0, _ := list[0].(map[string]any)
					gids[g], _ = g0["id"].(string)
				}
			}
		}
	})
	parallel(ctx, p.M, p.Concurrency, func(g int) {
		if gids[g] == "" {
			return
		}
		name := fmt.Sprintf("Okta Push Group %03d", g)
		resp, err := e.do(ctx, kGroupPatchMixed, "PATCH", "/Groups/"+gids[g], patch(
			map[string]any{"op": "replace", "value": map[string]any{"id": gids[g], "displayName": name}},
			map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, member(g, 0))},
			map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": member(g, members), "display": ""}}},
		))
		pr.expect("membership PATCH of "+name, resp, err, 200, 204)
	})
	st.mu.Lock()
	st.groups = gids
	st.mu.Unlock()
}

// updates is scenario (d): steady-state attribute changes. Even users get
// Okta's GET then PUT of the whole object it read, with the title changed
// (§1.4); odd users get Entra's PATCH Replace of title (§2.4).
func updates(ctx context.Context, e *env, st *state, p params, r *run) {
	pr := &problems{r: r}
	pool := st.imported()
	var done atomic.Int64
	parallel(ctx, len(pool), p.Concurrency, func(i int) {
		id := pool[i]
		title := fmt.Sprintf("Engineer L%d", 2+i%5)
		if i%2 == 0 {
			resp, err := e.do(ctx, kGetByID, "GET", "/Users/"+id, nil)
			if !pr.expect("GET "+id, resp, err, 200) {
				return
			}
			body := resp.Body
			body["title"] = title
			resp, err = e.do(ctx, kPutUpdate, "PUT", "/Users/"+id, body)
			pr.expect("PUT "+id, resp, err, 200)
		} else {
			resp, err := e.do(ctx, kPatchUpdate, "PATCH", "/Users/"+id, patch(map[string]any{
				"op": "Replace", "path": "title", "value": title,
			}))
			pr.expect("PATCH title "+id, resp, err, 200, 204)
		}
		if n := done.Add(1); p.Progress != nil && n%progressEveryUsers == 0 {
			p.Progress("  updates: %d/%d users", n, len(pool))
		}
	})
}

// deactivation is scenario (e): every imported user is deactivated, half
// in Okta's OIN form (path-less replace, §1.4) and half in Entra's
// (Replace active "False", §2.5).
func deactivation(ctx context.Context, e *env, st *state, p params, r *run) {
	pr := &problems{r: r}
	pool := st.imported()
	var done atomic.Int64
	parallel(ctx, len(pool), p.Concurrency, func(i int) {
		id := pool[i]
		var resp response
		var err error
		if i%2 == 0 {
			resp, err = e.do(ctx, kDeactivateOkta, "PATCH", "/Users/"+id, patch(map[string]any{
				"op": "replace", "value": map[string]any{"active": false},
			}))
		} else {
			resp, err = e.do(ctx, kDeactivateEntra, "PATCH", "/Users/"+id, patch(map[string]any{
				"op": "Replace", "path": "active", "value": "False",
			}))
		}
		pr.expect("deactivate "+id, resp, err, 200, 204)
		if n := done.Add(1); p.Progress != nil && n%progressEveryUsers == 0 {
			p.Progress("  deactivation: %d/%d users", n, len(pool))
		}
	})
}

// operations is scenario (f): each operation the targets name, repeated on
// fresh users, one request at a time, so that its calls can be counted
// exactly.
func operations(ctx context.Context, e *env, _ *state, p params, r *run) {
	pr := &problems{r: r}
	reps := p.OpsRepeats
	if reps <= 0 {
		reps = defaultOpsRepeats
	}
	user := func(prefix string, k int) string { return fmt.Sprintf("ops.%s%02d@%s", prefix, k, benchDomain) }
	create := func(kind, prefix string, k int, extra map[string]any) string {
		un := user(prefix, k)
		b := oktaUser(un, k)
		b["externalId"] = "ext-" + un
		for key, v := range extra {
			b[key] = v
		}
		resp, err := e.do(ctx, kind, "POST", "/Users", b)
		if !pr.expect(kind+" "+un, resp, err, 201) {
			return ""
		}
		return idOf(resp)
	}
	group := func(kind, name string) string {
		resp, err := e.do(ctx, kind, "POST", "/Groups", map[string]any{"schemas": []string{urnGroup}, "displayName": name, "members": []any{}})
		if !pr.expect(kind+" "+name, resp, err, 201) {
			return ""
		}
		return idOf(resp)
	}
	members := func(kind, gid, op, id string) {
		var o map[string]any
		if op == "add" {
			o = map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}}
		} else {
			o = map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, id)}
		}
		resp, err := e.do(ctx, kind, "PATCH", "/Groups/"+gid, patch(o))
		pr.expect(kind+" "+id, resp, err, 200, 204)
	}
	lookup := func(kind, path string, want int) {
		resp, err := e.do(ctx, kind, "GET", path, nil)
		if pr.expect(kind, resp, err, 200) && want >= 0 && totalResults(resp) != want {
			pr.add("%s %s: %d results, want %d", kind, path, totalResults(resp), want)
		}
	}
	setActive := func(kind, id string, active bool) {
		resp, err := e.do(ctx, kind, "PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "value": map[string]any{"active": active}}))
		pr.expect(kind+" "+id, resp, err, 200, 204)
	}

	reqs := make([]string, reps)
	for k := range reps {
		reqs[k] = create(kCreateRequester, "req", k, nil)
	}
	for k := range reps {
		create(kCreateAgent, "agent", k, map[string]any{
			"roles": []any{map[string]any{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}},
		})
	}
	for k, id := range reqs {
		if id == "" {
			continue
		}
		un := user("req", k)
		resp, err := e.do(ctx, kLookupID, "GET", "/Users/"+id, nil)
		pr.expect(kLookupID, resp, err, 200)
		lookup(kLookupUserName, filterPath(`userName eq "`+un+`"`, "&startIndex=1&count=100"), 1)
		lookup(kLookupEmail, filterPath(`emails[type eq "work"].value eq "`+un+`"`, ""), 1)
		lookup(kLookupExternalID, filterPath(`externalId eq "ext-`+un+`"`, ""), 1)
		lookup(kLookupWalked, filterPath(`userName eq "`+simulator.OwnerEmail+`"`, ""), 1)
		lookup(kLookupWalked, filterPath(`emails eq "`+simulator.OwnerEmail+`"`, ""), 1)
		resp, err = e.do(ctx, kUpdateOneField, "PATCH", "/Users/"+id, patch(map[string]any{"op": "Replace", "path": "title", "value": fmt.Sprintf("Analyst %d", k)}))
		pr.expect(kUpdateOneField, resp, err, 200, 204)
	}
	rg := group(kRGCreate, "Bench Requesters")
	for _, id := range reqs {
		if id == "" || rg == "" {
			continue
		}
		members(kRGAdd, rg, "add", id)
		members(kRGRemove, rg, "remove", id)
	}
	for _, id := range reqs {
		if id == "" {
			continue
		}
		setActive(kDeactivate, id, false)
		setActive(kReactivate, id, true)
	}
	fsAgents := group(kRoleGroupCreate, "FS Agents")
	for _, id := range reqs {
		if id != "" && fsAgents != "" {
			members(kPromoteGroup, fsAgents, "add", id)
		}
	}
	for k := range reps {
		id := create(kCreateRequester, "role", k, nil)
		if id == "" {
			continue
		}
		resp, err := e.do(ctx, kPromoteRole, "PATCH", "/Users/"+id, patch(map[string]any{
			"op": "Add", "path": "roles", "value": []any{map[string]any{"value": "Admin"}},
		}))
		pr.expect(kPromoteRole+" "+id, resp, err, 200, 204)
	}
	ag := group(kAgentGroupCreate, "Network Team")
	for _, id := range reqs {
		if id != "" && ag != "" {
			members(kAgentGroupAdd, ag, "add", id)
		}
	}
	for _, id := range reqs {
		if id != "" && ag != "" {
			members(kAgentGroupRemove, ag, "remove", id)
		}
	}
	for _, id := range reqs {
		if id != "" && fsAgents != "" {
			members(kDemote, fsAgents, "remove", id)
		}
	}
}

// imported is the ids of the users the Okta import created (those whose
// create failed are left out).
func (st *state) imported() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []string
	for _, id := range st.okta {
		if id != "" {
			out = append(out, id)
		}
	}
	return out
}

// scenarioDef names a scenario and what it needs.
type scenarioDef struct {
	Key   string
	Title string
	Run   func(context.Context, *env, *state, params, *run)
	// NeedsImport: it works on the imported users.
	NeedsImport bool
}

var scenarioDefs = []scenarioDef{
	{Key: "import", Title: "(a) Okta first import: lookup by userName, then create", Run: oktaImport},
	{Key: "entra", Title: "(b) Entra cycle: lookup, create, manager PATCH, group membership PATCH", Run: entraCycle},
	{Key: "groups", Title: "(c) Okta Group Push: M groups with members, then a membership PATCH each", Run: groupPush, NeedsImport: true},
	{Key: "updates", Title: "(d) steady-state attribute updates (Okta GET+PUT, Entra PATCH)", Run: updates, NeedsImport: true},
	{Key: "deactivate", Title: "(e) bulk deactivation (Okta and Entra PATCH active=false)", Run: deactivation, NeedsImport: true},
	{Key: "ops", Title: "(f) per-operation costs (one request at a time)", Run: operations},
}

func scenarioByKey(k string) (scenarioDef, bool) {
	for _, s := range scenarioDefs {
		if s.Key == k {
			return s, true
		}
	}
	return scenarioDef{}, false
}

// runScenarios runs the chosen scenarios in order on e, each between two
// marks, and returns their records. If a scenario works on imported users
// and the import is not among them, the import runs first, unrecorded.
func runScenarios(ctx context.Context, e *env, keys []string, p params) ([]*run, error) {
	st := &state{}
	need := false
	hasImport := false
	for _, k := range keys {
		s, ok := scenarioByKey(k)
		if !ok {
			return nil, fmt.Errorf("unknown scenario %q", k)
		}
		need = need || s.NeedsImport
		hasImport = hasImport || k == "import"
	}
	if need && !hasImport {
		if p.Progress != nil {
			p.Progress("  setup: importing %d users (not reported)", p.N)
		}
		oktaImport(ctx, e, st, p, &run{})
	}
	var runs []*run
	for _, k := range keys {
		s, _ := scenarioByKey(k)
		if p.Progress != nil {
			p.Progress("%s: %s", k, s.Title)
		}
		// Each scenario starts with a full bucket, as a run on its own would.
		if !p.NoIdle {
			select {
			case <-ctx.Done():
				return runs, ctx.Err()
			case <-time.After(e.cfg.Freshservice.Window):
			}
		}
		r := &run{Key: k}
		sampler := startMemSampler()
		simBefore := e.sim.Stats()
		from := e.rec.mark()
		s.Run(ctx, e, st, p, r)
		to := e.rec.mark()
		r.PeakHeap, r.PeakGo = sampler.stop()
		r.SimStats = statsDelta(simBefore, e.sim.Stats())
		r.W = e.since(from, to)
		r.Elapsed = to.at.Sub(from.at)
		runs = append(runs, r)
		if err := ctx.Err(); err != nil {
			return runs, err
		}
	}
	return runs, nil
}

func statsDelta(a, b simulator.Stats) simulator.Stats {
	d := simulator.Stats{Total: b.Total - a.Total, RateLimited: b.RateLimited - a.RateLimited, ByRoute: map[string]int{}, ByStatus: map[string]int{}}
	for k, v := range b.ByRoute {
		if n := v - a.ByRoute[k]; n != 0 {
			d.ByRoute[k] = n
		}
	}
	for k, v := range b.ByStatus {
		if n := v - a.ByStatus[k]; n != 0 {
			d.ByStatus[k] = n
		}
	}
	return d
}

// sortedKeys returns m's keys sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
