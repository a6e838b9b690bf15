package test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/store"
)

// The chaos test: an IdP-like client provisions through the bridge while
// the simulator fails about one request in five, then the faults stop, the bridge
// converges, and Freshservice must hold exactly what the IdP asked for.
// What the IdP asked for is tracked here (the fleet), not read from the
// bridge.

// The SCIM groups the rules give a meaning (see chaosRules).
const (
	groupFSAgents = "FS Agents"    // role group: full-time SD Agent (member_groups), agent group Service Desk
	groupFSAdmins = "FS Admins"    // role group: full-time Account Admin (entire_helpdesk)
	groupNetOps   = "Network Ops"  // role group: occasional IT Ops Agent (entire_helpdesk), agent group Network Team
	groupNetTeam  = "Network Team" // agent group Network Team
)

// chaosRules are the rules of both tests; chaosRulesYAML is the same for
// the binary.
func chaosRules() config.Rules {
	return config.Rules{
		RoleGroups: []config.RoleGroup{
			{Name: "agents", Match: config.Match{DisplayName: groupFSAgents}, Roles: []config.RoleGrant{{Role: "SD Agent", Scope: "member_groups"}}, MemberOf: []string{"Service Desk"}},
			{Name: "admins", Match: config.Match{DisplayName: groupFSAdmins}, Roles: []config.RoleGrant{{Role: "Account Admin", Scope: "entire_helpdesk"}}},
			{Name: "netops", Match: config.Match{DisplayName: groupNetOps}, Roles: []config.RoleGrant{{Role: "IT Ops Agent", Scope: "entire_helpdesk"}}, MemberOf: []string{"Network Team"}, Occasional: true},
		},
		AgentGroups: []config.AgentGroupMap{{Match: config.Match{DisplayName: groupNetTeam}}},
	}
}

const chaosRulesYAML = `rules:
  role_groups:
    - name: agents
      match: {display_name: "FS Agents"}
      roles: [{role: SD Agent, scope: member_groups}]
      member_of: [Service Desk]
    - name: admins
      match: {display_name: "FS Admins"}
      roles: [{role: Account Admin, scope: entire_helpdesk}]
    - name: netops
      match: {display_name: "Network Ops"}
      occasional: true
      roles: [{role: IT Ops Agent, scope: entire_helpdesk}]
      member_of: [Network Team]
  agent_groups:
    - match: {display_name: "Network Team"}
`

// roleGroupSpec is what each role group gives, as the checker expects it.
var roleGroupSpec = map[string]struct {
	role       string // "Role/scope"
	occasional bool
	memberOf   []string
}{
	groupFSAgents: {"SD Agent/member_groups", false, []string{"Service Desk"}},
	groupFSAdmins: {"Account Admin/entire_helpdesk", false, nil},
	groupNetOps:   {"IT Ops Agent/entire_helpdesk", true, []string{"Network Team"}},
}

// managedAgentGroups are the agent groups the rules manage.
var managedAgentGroups = []string{"Service Desk", "Network Team"}

func groupKind(name string) string {
	if _, ok := roleGroupSpec[name]; ok {
		return "role"
	}
	if strings.EqualFold(name, groupNetTeam) {
		return "agent"
	}
	return "requester"
}

// fleet is the desired state the IdP holds: users and group memberships,
// changed only when the bridge accepted the change.
type fleet struct {
	mu     sync.Mutex
	users  []*fleetUser
	groups []*fleetGroup
}

type fleetUser struct {
	userName           string // as sent; the email too
	first, last, title string
	active             bool
	deleted            bool // SCIM DELETE
	id                 string
}

type fleetGroup struct {
	name    string
	id      string
	members map[int]bool // user index
}

func (f *fleet) user(i int) fleetUser {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.users[i]
}

func (f *fleet) update(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *fleet) group(name string) *fleetGroup {
	for _, g := range f.groups {
		if g.name == name {
			return g
		}
	}
	return nil
}

// created keeps the users the IdP holds an id for: it cannot push or
// change a user whose create failed for good.
func (f *fleet) created(idx []int) []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for _, i := range idx {
		if f.users[i].id != "" {
			out = append(out, i)
		}
	}
	return out
}

// ids returns the SCIM ids of users by index.
func (f *fleet) ids(idx []int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = f.users[i].id
	}
	return out
}

// expected is what Freshservice must hold for one user.
type expected struct {
	agent           bool
	occasional      bool
	roles           []string // "Role/scope", sorted
	agentGroups     []string // sorted
	requesterGroups []string // sorted; checked for active requesters
}

// expect applies the rules to a user's memberships. Every rule's on_leave
// is demote, so a user is an agent exactly when in a role group.
func (f *fleet) expect(i int) expected {
	var x expected
	x.occasional = true
	ag := map[string]bool{}
	for _, g := range f.groups {
		if !g.members[i] {
			continue
		}
		switch groupKind(g.name) {
		case "role":
			spec := roleGroupSpec[g.name]
			x.agent = true
			x.occasional = x.occasional && spec.occasional
			x.roles = append(x.roles, spec.role)
			for _, n := range spec.memberOf {
				ag[n] = true
			}
		case "agent":
			ag[g.name] = true
		default:
			x.requesterGroups = append(x.requesterGroups, g.name)
		}
	}
	if !x.agent || f.users[i].deleted {
		// A user deleted over SCIM leaves every group, and with them the
		// agent groups the bridge manages; it stays the agent it was.
		ag = nil
	}
	if !x.agent {
		x.occasional = false
	}
	for n := range ag {
		x.agentGroups = append(x.agentGroups, n)
	}
	sort.Strings(x.roles)
	sort.Strings(x.agentGroups)
	sort.Strings(x.requesterGroups)
	return x
}

// baseline is what the account held before the test's traffic.
type baseline struct {
	users       map[int64]bool
	agentGroups map[string][]int64
	reqGroups   map[string]bool
}

func takeBaseline(sim *simulator.Server) baseline {
	b := baseline{users: map[int64]bool{}, agentGroups: map[string][]int64{}, reqGroups: map[string]bool{}}
	for _, u := range sim.Users() {
		b.users[u.ID] = true
	}
	for _, g := range sim.AgentGroups() {
		b.agentGroups[g.Name] = slices.Clone(g.Members)
	}
	for _, g := range sim.RequesterGroups() {
		b.reqGroups[strings.ToLower(g.Name)] = true
	}
	return b
}

// fleetReport is the outcome of comparing Freshservice with the fleet.
type fleetReport struct {
	checked  map[string]int // what was compared, by kind
	problems []string
	bad      map[int64]string // Freshservice user id -> email, of users that differ
}

func (r *fleetReport) check(kind string, ok bool, format string, args ...any) bool {
	r.checked[kind]++
	if !ok {
		r.problems = append(r.problems, fmt.Sprintf(format, args...))
	}
	return ok
}

func (r *fleetReport) summary() string {
	var kinds []string
	for k := range r.checked {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s: %d", k, r.checked[k]))
	}
	return strings.Join(parts, ", ")
}

func simRoleNames(sim *simulator.Server, u simulator.User) []string {
	names := map[int64]string{}
	for _, r := range sim.Roles() {
		names[r.ID] = r.Name
	}
	var out []string
	for _, r := range u.Roles {
		out = append(out, names[r.RoleID]+"/"+r.AssignmentScope)
	}
	sort.Strings(out)
	return out
}

// checkFleet compares the simulator's state with the fleet, exactly.
func checkFleet(sim *simulator.Server, f *fleet, base baseline) *fleetReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &fleetReport{checked: map[string]int{}, bad: map[int64]string{}}
	users := sim.Users()
	byEmail := map[string][]simulator.User{}
	for _, u := range users {
		seen := map[string]bool{}
		for _, e := range append([]string{u.PrimaryEmail}, u.SecondaryEmails...) {
			e = strings.ToLower(strings.TrimSpace(e))
			if e != "" && !seen[e] {
				seen[e] = true
				byEmail[e] = append(byEmail[e], u)
			}
		}
	}
	agentGroupMembers := map[string]map[int64]bool{}
	for _, g := range sim.AgentGroups() {
		m := map[int64]bool{}
		for _, id := range g.Members {
			m[id] = true
		}
		agentGroupMembers[g.Name] = m
	}
	reqGroupsByName := map[string][]simulator.RequesterGroup{}
	for _, g := range sim.RequesterGroups() {
		reqGroupsByName[strings.ToLower(g.Name)] = append(reqGroupsByName[strings.ToLower(g.Name)], g)
	}
	reqMembers := map[string]map[int64]bool{}
	for _, g := range f.groups {
		if groupKind(g.name) != "requester" {
			continue
		}
		found := reqGroupsByName[strings.ToLower(g.name)]
		if !r.check("requester group objects (exactly one per SCIM group)", len(found) == 1,
			"requester group %q: %d Freshservice requester groups with that name, want 1", g.name, len(found)) || len(found) == 0 {
			continue
		}
		m := map[int64]bool{}
		for _, id := range sim.RequesterGroupMembers(found[0].ID) {
			m[id] = true
		}
		reqMembers[g.name] = m
	}

	fleetIDs := map[int64]int{}
	for i, fu := range f.users {
		if fu.id == "" {
			found := byEmail[strings.ToLower(fu.userName)]
			r.check("users the IdP could create", false, "user %s: the IdP holds no id (its create failed for good); Freshservice has %d users with the email (ids %v)",
				fu.userName, len(found), idsOf(found))
			for _, u := range found {
				r.bad[u.ID] = strings.ToLower(fu.userName)
				fleetIDs[u.ID] = i
			}
			continue
		}
		n, _ := strconv.ParseInt(fu.id, 10, 64)
		fleetIDs[n] = i
		email := strings.ToLower(fu.userName)
		found := byEmail[email]
		if !r.check("users present exactly once (by email)", len(found) == 1, "%s: %d Freshservice users have this email, want 1 (ids %v)", fu.userName, len(found), idsOf(found)) {
			for _, u := range found {
				r.bad[u.ID] = email
			}
			if len(found) == 0 {
				r.bad[n] = email
				continue
			}
		}
		u := found[0]
		bad := false
		mark := func(ok bool) {
			if !ok {
				bad = true
			}
		}
		mark(r.check("SCIM id = Freshservice id", u.ID == n, "%s: the IdP holds id %s, Freshservice has the email on %d", fu.userName, fu.id, u.ID))
		mark(r.check("fields (first name, last name, job title)", u.FirstName == fu.first && u.LastName == fu.last && u.JobTitle == fu.title,
			"%s (%d): fields first=%q last=%q title=%q, want %q %q %q", fu.userName, u.ID, u.FirstName, u.LastName, u.JobTitle, fu.first, fu.last, fu.title))
		mark(r.check("active flags", u.Active == fu.active, "%s (%d): active=%v, want %v", fu.userName, u.ID, u.Active, fu.active))
		x := f.expect(i)
		mark(r.check("agent or requester", u.IsAgent == x.agent, "%s (%d): agent=%v, want %v (role groups give %v)", fu.userName, u.ID, u.IsAgent, x.agent, x.roles))
		roles := simRoleNames(sim, u)
		var inAgentGroups []string
		for _, name := range managedAgentGroups {
			if agentGroupMembers[name][u.ID] {
				inAgentGroups = append(inAgentGroups, name)
			}
		}
		sort.Strings(inAgentGroups)
		if x.agent {
			mark(r.check("agent type (full-time/occasional)", u.Occasional == x.occasional, "%s (%d): occasional=%v, want %v", fu.userName, u.ID, u.Occasional, x.occasional))
			mark(r.check("agent roles", slices.Equal(roles, x.roles), "%s (%d): roles %v, want %v", fu.userName, u.ID, roles, x.roles))
		} else {
			mark(r.check("requesters have no roles", len(roles) == 0, "%s (%d): a requester with roles %v", fu.userName, u.ID, roles))
		}
		mark(r.check("agent-group memberships", slices.Equal(inAgentGroups, x.agentGroups),
			"%s (%d): in agent groups %v, want %v", fu.userName, u.ID, inAgentGroups, x.agentGroups))
		// Requester groups: Freshservice drops a deactivated user from
		// every requester group (the bridge restores them on
		// reactivation); an agent's requester groups are not managed by
		// the bridge (mapping.PlanUser), so they are not compared.
		switch {
		case !u.Active || !fu.active:
			var in []string
			for name, m := range reqMembers {
				if m[u.ID] {
					in = append(in, name)
				}
			}
			sort.Strings(in)
			mark(r.check("requester-group memberships", len(in) == 0, "%s (%d): deactivated but still in requester groups %v", fu.userName, u.ID, in))
		case x.agent:
			r.checked["requester-group memberships of agents (not managed, skipped)"]++
		default:
			var in []string
			for name, m := range reqMembers {
				if m[u.ID] {
					in = append(in, name)
				}
			}
			sort.Strings(in)
			mark(r.check("requester-group memberships", slices.Equal(in, x.requesterGroups),
				"%s (%d): in requester groups %v, want %v", fu.userName, u.ID, in, x.requesterGroups))
		}
		if bad {
			r.bad[u.ID] = email
		}
	}
	for _, u := range users {
		if base.users[u.ID] {
			continue
		}
		_, ours := fleetIDs[u.ID]
		if !r.check("no unexpected users", ours, "unexpected Freshservice user %d <%s> (agent=%v active=%v): the IdP has no such user", u.ID, u.PrimaryEmail, u.IsAgent, u.Active) {
			r.bad[u.ID] = strings.ToLower(u.PrimaryEmail)
		}
	}
	for name, members := range reqMembers {
		for id := range members {
			if _, ours := fleetIDs[id]; !ours && !base.users[id] {
				r.check("no unexpected group members", false, "requester group %q holds user %d, which the IdP does not know", name, id)
			}
		}
	}
	for _, name := range managedAgentGroups {
		for id := range agentGroupMembers[name] {
			_, ours := fleetIDs[id]
			r.check("no unexpected group members", ours || slices.Contains(base.agentGroups[name], id),
				"agent group %q holds user %d, which the IdP does not know", name, id)
		}
	}
	return r
}

func idsOf(us []simulator.User) []int64 {
	var out []int64
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}

// traceUser lists the Freshservice requests that touched one user: its
// own paths, creates and lookups with its email, and agent-group member
// lists naming it.
func traceUser(reqs []simulator.Request, id int64, email string, limit int) []string {
	sid := strconv.FormatInt(id, 10)
	var out []string
	for _, q := range reqs {
		segs := strings.Split(q.Path, "/")
		groupPut := strings.HasPrefix(q.Route, "/api/v2/groups/") && q.Method == "PUT"
		hit := slices.Contains(segs, sid) ||
			(email != "" && strings.Contains(strings.ToLower(q.Body), email)) ||
			(groupPut && strings.Contains(q.Body, sid)) ||
			(email != "" && strings.Contains(strings.ToLower(q.Query), strings.ReplaceAll(email, "@", "%40")))
		if !hit {
			continue
		}
		out = append(out, describeRequest(q, sid))
	}
	if len(out) > limit {
		out = append(out[:limit/2], append([]string{fmt.Sprintf("… %d more …", len(out)-limit)}, out[len(out)-limit/2:]...)...)
	}
	return out
}

// describeRequest renders one simulator request on a line; an agent
// group's member list is summarised (and says whether it names sid).
func describeRequest(q simulator.Request, sid string) string {
	line := fmt.Sprintf("%s %s %s", q.Time.Format("15:04:05.000"), q.Method, q.Path)
	if q.Query != "" {
		line += "?" + q.Query
	}
	line += fmt.Sprintf(" -> %d", q.Status)
	if q.Injected != "" {
		line += " [injected " + q.Injected + "]"
	}
	if q.RateLimited {
		line += " [rate limited]"
	}
	body := q.Body
	if strings.HasPrefix(q.Route, "/api/v2/groups/") && q.Method == "PUT" {
		var g struct {
			Members *[]int64 `json:"members"`
		}
		if json.Unmarshal([]byte(q.Body), &g) == nil && g.Members != nil {
			body = fmt.Sprintf("members: %d ids %v", len(*g.Members), *g.Members)
			if sid != "" {
				body = fmt.Sprintf("members: %d ids, user %s %s", len(*g.Members), sid, map[bool]string{true: "IN", false: "not in"}[slices.Contains(*g.Members, chaosAtoi(sid))])
			}
		}
	} else if len(body) > 240 {
		body = body[:240] + "…"
	}
	if body != "" {
		line += " " + body
	}
	return line
}

func chaosAtoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// refusals lists the Freshservice answers the bridge should rarely get:
// 400s and 404s of writes, and 409s other than a create's duplicate
// email (expected after a lost answer).
func refusals(reqs []simulator.Request, limit int) []string {
	var out []string
	n := 0
	for _, q := range reqs {
		switch {
		case q.Status == 400, q.Status == 404 && q.Method != "GET",
			q.Status == 409 && !(q.Method == "POST" && (q.Route == "/api/v2/requesters" || q.Route == "/api/v2/agents")):
		default:
			continue
		}
		n++
		if len(out) < limit {
			out = append(out, describeRequest(q, ""))
		}
	}
	if n > limit {
		out = append(out, fmt.Sprintf("… %d more", n-limit))
	}
	return out
}

// reportFleet logs the checks and, if anything differs, fails the test
// with the differences and the Freshservice calls behind the first few.
func reportFleet(t *testing.T, r *fleetReport, reqs []simulator.Request, auditOf func(id int64) []string) {
	t.Helper()
	t.Logf("checked against the IdP's desired state: %s", r.summary())
	if len(r.problems) == 0 {
		t.Logf("Freshservice equals the desired state exactly")
		return
	}
	sort.Strings(r.problems)
	t.Errorf("Freshservice differs from the desired state in %d check(s):\n  %s", len(r.problems), strings.Join(r.problems, "\n  "))
	if ref := refusals(reqs, 25); len(ref) > 0 {
		t.Logf("Freshservice refused these writes (400, 404, 409 other than a duplicate create):\n    %s", strings.Join(ref, "\n    "))
	}
	var ids []int64
	for id := range r.bad {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for k, id := range ids {
		if k == 6 {
			t.Logf("(%d more users differ; traces omitted)", len(ids)-k)
			break
		}
		lines := traceUser(reqs, id, r.bad[id], 60)
		t.Logf("Freshservice requests touching user %d <%s>:\n    %s", id, r.bad[id], strings.Join(lines, "\n    "))
		if auditOf != nil {
			if a := auditOf(id); len(a) > 0 {
				t.Logf("bridge audit trail of user %d:\n    %s", id, strings.Join(a, "\n    "))
			}
		}
	}
}

// chaosSeed is FSBRIDGE_TEST_CHAOS_SEED, or a fixed default.
func chaosSeed(t *testing.T) int64 { return seedFromEnv(t, "FSBRIDGE_TEST_CHAOS_SEED", 20260101) }

// seedFromEnv is the random seed in the variable name, or def when unset,
// so that a failing run can be repeated.
func seedFromEnv(t *testing.T, name string, def int64) int64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// traffic builds the IdP's work, phase by phase, from a seeded RNG. Each
// (group, user) pair and each user's profile is changed by one job only,
// so the desired state does not depend on the order concurrent jobs run
// in; concurrent jobs do touch the same users (through different groups)
// and the same groups (for different users).
type traffic struct {
	f   *fleet
	c   *idpClient
	rng *rand.Rand
}

// newFleet makes n users; userNames vary in case.
func newFleet(n int, prefix string) *fleet {
	f := &fleet{}
	for i := range n {
		un := fmt.Sprintf("%s-%03d@example.com", prefix, i)
		if i%7 == 3 {
			un = fmt.Sprintf("%s.User%03d@Example.COM", strings.ToUpper(prefix[:1])+prefix[1:], i)
		}
		f.users = append(f.users, &fleetUser{
			userName: un, first: fmt.Sprintf("First%03d", i), last: fmt.Sprintf("Last%03d", i),
			title: fmt.Sprintf("Engineer %d", i%9), active: true,
		})
	}
	return f
}

func (tr *traffic) createJobs(idx []int) []func(context.Context) error {
	var jobs []func(context.Context) error
	for _, i := range idx {
		jobs = append(jobs, func(ctx context.Context) error {
			u := tr.f.user(i)
			id, err := tr.c.createUser(ctx, u.userName, userBody(u.userName, u.first, u.last, map[string]any{"title": u.title}))
			if err != nil {
				return fmt.Errorf("create %s: %w", u.userName, err)
			}
			tr.f.update(func() { tr.f.users[i].id = id })
			return nil
		})
	}
	return jobs
}

// updateJobs change each user's profile once, in the Okta form (PUT of
// the whole user) or the Entra form (PATCH with paths), some clearing the
// title.
func (tr *traffic) updateJobs(idx []int) []func(context.Context) error {
	var jobs []func(context.Context) error
	for k, i := range idx {
		style := k % 3
		clear := k%10 == 4
		jobs = append(jobs, func(ctx context.Context) error {
			u := tr.f.user(i)
			if u.id == "" {
				return nil // its create failed for good (reported)
			}
			first, last, title := u.first, u.last+"-v2", fmt.Sprintf("Senior %s", u.title)
			if clear {
				title = ""
			}
			var err error
			switch style {
			case 0: // Okta: PUT the whole user
				first = u.first + "-v2"
				extra := map[string]any{}
				if title != "" {
					extra["title"] = title
				}
				err = tr.c.putUser(ctx, u.id, userBody(u.userName, first, last, extra))
			default: // Entra: PATCH by path
				ops := []map[string]any{{"op": "Replace", "path": "name.familyName", "value": last}}
				if clear {
					ops = append(ops, map[string]any{"op": "Remove", "path": "title"})
				} else {
					ops = append(ops, map[string]any{"op": "Replace", "path": "title", "value": title})
				}
				err = tr.c.patchUser(ctx, u.id, ops...)
			}
			if err != nil {
				return fmt.Errorf("update %s: %w", u.userName, err)
			}
			tr.f.update(func() {
				fu := tr.f.users[i]
				fu.first, fu.last, fu.title = first, last, title
			})
			return nil
		})
	}
	return jobs
}

// groupPlan is the membership traffic of one group.
type groupPlan struct {
	name       string
	initial    []int   // members of the group push
	adds       [][]int // PATCH add batches
	removes    [][]int // PATCH remove batches (of initial members)
	addRemoves [][2][]int
}

// planGroup draws the membership traffic of one group from the RNG.
func (tr *traffic) planGroup(name string, n, initial, adds, removes, addRemoves int) groupPlan {
	perm := tr.rng.Perm(n)
	p := groupPlan{name: name, initial: perm[:initial]}
	rest := perm[initial:]
	batch := func(from []int, max int) ([]int, []int) {
		k := min(1+tr.rng.IntN(max), len(from))
		return from[:k], from[k:]
	}
	pool := rest[:adds]
	for len(pool) > 0 {
		var b []int
		b, pool = batch(pool, 5)
		p.adds = append(p.adds, b)
	}
	rest = rest[adds:]
	rm := slices.Clone(p.initial[:removes])
	for len(rm) > 0 {
		var b []int
		b, rm = batch(rm, 3)
		p.removes = append(p.removes, b)
	}
	for range addRemoves {
		first := rest[0]
		var b []int
		b, rest = batch(rest[1:], 3)
		b = append([]int{first}, b...)
		p.addRemoves = append(p.addRemoves, [2][]int{b, b[:1+tr.rng.IntN(len(b))]})
	}
	return p
}

func (tr *traffic) groupPushJob(p groupPlan) func(context.Context) error {
	return func(ctx context.Context) error {
		initial := tr.f.created(p.initial)
		id, err := tr.c.createGroup(ctx, p.name, tr.f.ids(initial))
		if err != nil {
			return fmt.Errorf("push group %s: %w", p.name, err)
		}
		tr.f.update(func() {
			g := &fleetGroup{name: p.name, id: id, members: map[int]bool{}}
			for _, i := range initial {
				g.members[i] = true
			}
			tr.f.groups = append(tr.f.groups, g)
		})
		return nil
	}
}

func (tr *traffic) setMembers(name string, idx []int, in bool) {
	tr.f.update(func() {
		g := tr.f.group(name)
		for _, i := range idx {
			if in {
				g.members[i] = true
			} else {
				delete(g.members, i)
			}
		}
	})
}

func (tr *traffic) groupID(name string) string {
	tr.f.mu.Lock()
	defer tr.f.mu.Unlock()
	return tr.f.group(name).id
}

func (tr *traffic) membershipJobs(p groupPlan) []func(context.Context) error {
	var jobs []func(context.Context) error
	add := func(ctx context.Context, idx []int) error {
		if idx = tr.f.created(idx); len(idx) == 0 {
			return nil
		}
		if err := tr.c.addMembers(ctx, tr.groupID(p.name), tr.f.ids(idx)...); err != nil {
			return fmt.Errorf("add %v to %s: %w", tr.f.ids(idx), p.name, err)
		}
		tr.setMembers(p.name, idx, true)
		return nil
	}
	remove := func(ctx context.Context, idx []int) error {
		if idx = tr.f.created(idx); len(idx) == 0 {
			return nil
		}
		if err := tr.c.removeMembers(ctx, tr.groupID(p.name), tr.f.ids(idx)...); err != nil {
			return fmt.Errorf("remove %v from %s: %w", tr.f.ids(idx), p.name, err)
		}
		tr.setMembers(p.name, idx, false)
		return nil
	}
	for _, b := range p.adds {
		jobs = append(jobs, func(ctx context.Context) error { return add(ctx, b) })
	}
	for _, b := range p.removes {
		jobs = append(jobs, func(ctx context.Context) error { return remove(ctx, b) })
	}
	for _, ar := range p.addRemoves {
		jobs = append(jobs, func(ctx context.Context) error {
			if err := add(ctx, ar[0]); err != nil {
				return err
			}
			return remove(ctx, ar[1])
		})
	}
	return jobs
}

// deactivateJobs switch users off the ways IdPs do: Okta's path-less
// PATCH, Entra's PATCH with a string boolean, and DELETE.
func (tr *traffic) deactivateJobs(idx []int) []func(context.Context) error {
	var jobs []func(context.Context) error
	for k, i := range idx {
		style := k % 5
		jobs = append(jobs, func(ctx context.Context) error {
			u := tr.f.user(i)
			if u.id == "" {
				return nil // its create failed for good (reported)
			}
			var err error
			switch style {
			case 0, 1:
				err = tr.c.patchUser(ctx, u.id, map[string]any{"op": "replace", "value": map[string]any{"active": false}})
			case 2, 3:
				err = tr.c.patchUser(ctx, u.id, map[string]any{"op": "Replace", "path": "active", "value": "False"})
			default:
				err = tr.c.deleteUser(ctx, u.id)
			}
			if err != nil {
				return fmt.Errorf("deactivate %s: %w", u.userName, err)
			}
			tr.f.update(func() {
				tr.f.users[i].active = false
				tr.f.users[i].deleted = style == 4
			})
			return nil
		})
	}
	return jobs
}

func shuffled(rng *rand.Rand, jobs []func(context.Context) error) []func(context.Context) error {
	rng.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
	return jobs
}

// storeBacklog describes what the bridge has not finished: dirty users and
// groups, and creates in flight.
func storeBacklog(ctx context.Context, st store.Store) (int, string, error) {
	far := time.Now().Add(100 * 365 * 24 * time.Hour)
	users, err := st.DirtyUsers(ctx, far, 1_000_000)
	if err != nil {
		return 0, "", err
	}
	groups, err := st.DirtyGroups(ctx, far, 1_000_000)
	if err != nil {
		return 0, "", err
	}
	intents, err := st.ListIntents(ctx)
	if err != nil {
		return 0, "", err
	}
	n := len(users) + len(groups) + len(intents)
	if n == 0 {
		return 0, "", nil
	}
	var parts []string
	for k, id := range users {
		if k == 10 {
			parts = append(parts, fmt.Sprintf("… %d more users", len(users)-k))
			break
		}
		u, err := st.GetUser(ctx, id)
		if err == nil {
			parts = append(parts, fmt.Sprintf("user %d <%s> attempts=%d last error: %s", id, u.UserName, u.Attempts, u.LastError))
		}
	}
	for _, id := range groups {
		g, err := st.GetGroup(ctx, id)
		if err == nil {
			parts = append(parts, fmt.Sprintf("group %q attempts=%d last error: %s", g.DisplayName, g.Attempts, g.LastError))
		}
	}
	for _, in := range intents {
		parts = append(parts, fmt.Sprintf("create of %s in flight since %s", in.Key, in.Created.Format(time.RFC3339Nano)))
	}
	return n, fmt.Sprintf("%d dirty users, %d dirty groups, %d creates in flight: %s", len(users), len(groups), len(intents), strings.Join(parts, "; ")), nil
}

func auditLines(ctx context.Context, st store.Store, id int64) []string {
	events, err := st.ListAudit(ctx, store.AuditQuery{FSID: id, Limit: 60})
	if err != nil {
		return nil
	}
	slices.Reverse(events)
	var out []string
	for _, ev := range events {
		out = append(out, fmt.Sprintf("%s %s %s %s", ev.Time.Format("15:04:05.000"), ev.Operation, ev.Outcome, ev.Detail))
	}
	return out
}

// convergeLimit bounds the wait for the bridge to finish after the faults
// stop; a converging run needs well under a second.
const convergeLimit = 10 * time.Second

// convergeInProcess runs reconcile passes until the store holds no dirty
// user or group and no create in flight, for at most limit.
func convergeInProcess(ctx context.Context, e *env, limit time.Duration) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	passes := 0
	for {
		e.srv.Bridge.ReconcilePass(cctx)
		passes++
		n, _, err := storeBacklog(cctx, e.srv.Store)
		if err == nil && n == 0 {
			return passes, nil
		}
		if cctx.Err() != nil {
			_, desc, err := storeBacklog(ctx, e.srv.Store)
			if err != nil {
				return passes, err
			}
			return passes, fmt.Errorf("%s", desc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func chaosEnvInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test: skipped with -short")
	}
	start := time.Now()
	seed := chaosSeed(t)
	faults := simulator.Faults{
		Rate429: 0.05, Rate5xx: 0.10, RateDrop: 0.02, RateCommitThenFail: 0.02,
		Latency: time.Millisecond, Jitter: 6 * time.Millisecond, Seed: seed,
	}
	const timeScale = 120
	e := newEnv(t, func(c *config.Config, o *simulator.Options) {
		c.Rules = chaosRules()
		o.TimeScale = timeScale
		// The bridge's budget runs on the simulator's clock: a minute of
		// budget in half a real second, so a Freshservice 429, which lasts until its
		// window ends, lasts under half a real second. max_wait is 90% of
		// a window: a 429 that came early in its window outlasts it, and
		// the IdP then gets the bridge's own 429 and Retry-After.
		c.Freshservice.Window = time.Minute / timeScale
		c.Freshservice.MaxWait = c.Freshservice.Window * 9 / 10
		c.Reconcile.Interval = 100 * time.Millisecond
		c.Reconcile.MaxBackoff = time.Second
	})
	base := takeBaseline(e.sim)
	t.Logf("fault seed %d (FSBRIDGE_TEST_CHAOS_SEED overrides it; concurrent requests draw in a varying order, so a seed fixes the fault mix and the traffic, not every draw): 429 %.0f%%, 5xx %.0f%%, drop %.0f%%, commit-then-fail %.0f%%, latency %s + jitter up to %s; time scale %gx",
		seed, faults.Rate429*100, faults.Rate5xx*100, faults.RateDrop*100, faults.RateCommitThenFail*100, faults.Latency, faults.Jitter, float64(timeScale))
	e.sim.SetFaults(faults)

	// 500 creates, 200 updates and 100 deactivations: under a minute with
	// -race on 2 cores, most of it Freshservice 429s waited out.
	// FSBRIDGE_TEST_CHAOS_USERS scales the fleet.
	nUsers := chaosEnvInt(t, "FSBRIDGE_TEST_CHAOS_USERS", 500)
	nUpdates := nUsers / 5
	workers := chaosEnvInt(t, "FSBRIDGE_TEST_CHAOS_WORKERS", 8)
	f := newFleet(nUsers, "chaos")
	c := newIDPClient(e.url, testToken)
	tr := &traffic{f: f, c: c, rng: rand.New(rand.NewPCG(uint64(seed), 0xc4a05))}
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Second)
	defer cancel()

	var failures []error
	phase := func(name string, jobs []func(context.Context) error) {
		t0, s0, a0, w0 := time.Now(), e.sim.Stats(), c.stats.Requests.Load(), c.stats.Wait429.Load()
		errs := runJobs(ctx, workers, jobs)
		failures = append(failures, errs...)
		s1 := e.sim.Stats()
		t.Logf("%s: %d jobs on %d workers in %s, %d failed for good; %d SCIM attempts (%s in Retry-After waits), %d Freshservice requests, %d injected 429s",
			name, len(jobs), workers, time.Since(t0).Round(time.Millisecond), len(errs), c.stats.Requests.Load()-a0,
			time.Duration(c.stats.Wait429.Load()-w0).Round(time.Millisecond), s1.Total-s0.Total, s1.Injected.TooManyRequests-s0.Injected.TooManyRequests)
	}

	// 1. Import: one create per user.
	phase(fmt.Sprintf("import (%d creates)", nUsers), tr.createJobs(tr.rng.Perm(nUsers)))

	// 2. Group pushes with their first members (promotions among them),
	// concurrently with the first nUpdates profile updates.
	updated := tr.rng.Perm(nUsers)[:2*nUpdates]
	plans := []groupPlan{
		tr.planGroup(groupFSAgents, nUsers, 15, 15, 6, 3),
		tr.planGroup(groupNetOps, nUsers, 8, 8, 3, 2),
		tr.planGroup(groupFSAdmins, nUsers, 4, 4, 2, 1),
		tr.planGroup(groupNetTeam, nUsers, 8, 12, 4, 2),
	}
	for k := range 4 {
		plans = append(plans, tr.planGroup(fmt.Sprintf("Chaos Staff %d", k+1), nUsers, 25, 15, 8, 2))
	}
	var jobs []func(context.Context) error
	for _, p := range plans {
		jobs = append(jobs, tr.groupPushJob(p))
	}
	jobs = append(jobs, tr.updateJobs(updated[:nUpdates])...)
	phase(fmt.Sprintf("group pushes + %d updates", nUpdates), shuffled(tr.rng, jobs))

	// 3. Concurrent membership PATCHes on every group (promotions,
	// demotions, agent-group and requester-group changes) with the other
	// nUpdates profile updates.
	jobs = nil
	for _, p := range plans {
		if f.group(p.name) == nil {
			t.Errorf("group %s was not pushed; its membership traffic is left out", p.name)
			continue
		}
		jobs = append(jobs, tr.membershipJobs(p)...)
	}
	nMember := len(jobs)
	jobs = append(jobs, tr.updateJobs(updated[nUpdates:])...)
	phase(fmt.Sprintf("%d membership PATCH jobs + %d updates", nMember, nUpdates), shuffled(tr.rng, jobs))

	// 4. Deactivations.
	phase(fmt.Sprintf("%d deactivations", nUpdates), tr.deactivateJobs(tr.rng.Perm(nUsers)[:nUpdates]))
	trafficDone := time.Now()
	injected := e.sim.Stats().Injected
	total := e.sim.Stats().Total
	t.Logf("IdP client: %s", c.stats.String())
	t.Logf("injected during the traffic: %d 429, %d 5xx, %d dropped connections, %d commit-then-fail, out of %d Freshservice requests (%d answered 429 by the rate limiter itself)",
		injected.TooManyRequests, injected.ServerError, injected.Drop, injected.CommitThenFail, total, e.sim.Stats().RateLimited)
	for _, err := range failures {
		t.Errorf("IdP request failed for good: %v", err)
	}

	// Faults off; the bridge finishes what is left.
	e.sim.SetFaults(simulator.Faults{})
	if passes, err := convergeInProcess(t.Context(), e, convergeLimit); err != nil {
		t.Errorf("the bridge did not converge within %s after the faults stopped (%d reconcile passes): %v", convergeLimit, passes, err)
	} else {
		t.Logf("the bridge converged %s after the faults stopped (%d reconcile passes)", time.Since(trafficDone).Round(time.Millisecond), passes)
	}

	r := checkFleet(e.sim, f, base)
	reportFleet(t, r, e.sim.Requests(), func(id int64) []string { return auditLines(t.Context(), e.srv.Store, id) })
	st := e.sim.Stats()
	t.Logf("Freshservice requests in all: %d; by status %v; chaos test took %s", st.Total, st.ByStatus, time.Since(start).Round(time.Millisecond))
}
