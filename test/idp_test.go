package test

// IdP replay tests: the requests Okta (OIN and AIW apps), Entra ID (default
// and with ?aadOptscim062020), OneLogin and JumpCloud send, as
// reference/idp-scim-behaviors.md describes them, played through the real
// bridge over HTTP against the Freshservice simulator. Each sequence runs
// once per simulator switch setting in replaySwitches, on a fresh bridge
// and simulator, and asserts both the SCIM answers and what Freshservice
// holds afterwards.
//
// # Fixture format
//
// testdata/idp/<client>/<NN>-<case>.json is one sequence, run top to bottom:
//
//	{
//	  "description": "what the sequence covers",
//	  "reference":   ["§1.4", ...],           // sections of idp-scim-behaviors.md
//	  "rules":       "demo",                  // optional: the demo rules (role and agent groups)
//	  "seed":        {...},                   // optional: simulator seed (docs/simulator.md), there before the bridge's first walk
//	  "headers":     {"Accept": "..."},       // optional: sent with every request
//	  "steps": [{
//	    "name":    "deactivate (path-less replace)",
//	    "method":  "PATCH",
//	    "path":    "/Users/{{ada}}",          // under /scim/v2
//	    "query":   "filter=userName+eq+%22a%40b.c%22",  // raw, as the IdP encodes it
//	    "headers": {"Content-Type": "application/json"},  // per step, over the sequence's
//	    "body":    {...},                     // the exact request body
//	    "base":    "adaGET",                  // optional: body = that capture, with body merged over it
//	    "capture": {"ada": "id", "adaGET": "."},  // response paths: "id", "Resources.0.id", "." (all)
//	    "expect": {
//	      "status": 200,                      // or a list of acceptable statuses
//	      "body":   {...},                    // subset match, see below
//	      "fs":     {...}                     // simulator state after the step, see fsExpect
//	    }
//	  }]
//	}
//
// {{name}} anywhere in path, query, headers, body and expect.body is replaced
// by a captured value. The expected body is a subset match: every key given
// must be in the response with a matching value; arrays must have the same
// length and match element by element; the string "<absent>" requires the
// key to be missing and "<any>" only requires it to be there.
//
// A step whose status is not one of the expected ones is reported and its
// other assertions and captures are skipped; the sequence goes on (using a
// placeholder that step should have captured stops it). IDP_TRACE=1 logs
// every step with the Freshservice calls it made.
//
// Every response is also checked against the rules every IdP relies on
// (§0): JSON bodies are application/scim+json, errors are SCIM Error bodies
// whose status is the HTTP status as a string, 200 never comes with an
// empty body, a 201 carries a non-empty id, and a ListResponse has integer
// paging fields and a Resources key.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
)

// replaySwitches are the simulator settings every sequence runs under: the
// defaults, and every UNCERTAIN point of the Freshservice reference that
// the bridge's behaviour could depend on. Switches that act on different
// parts of the bridge share a row, which keeps the suite within its time
// budget under -race (the store's SQLite is most of the cost); when a row
// fails, run its switches one by one to see which one it is. The switches
// left out cannot change what these sequences do: the bridge never uses
// query= (QueryLink, QueryIndexLag, QueryExtraFields), never sends
// vip_user or external_id, sets no seat limit, and no sequence changes a
// primary email except entra/03, which EmailChangeReadOnly would refuse by
// design.
var replaySwitches = []struct {
	name string
	sw   simulator.Switches
}{
	{"default", simulator.Switches{}},
	{"duplicate-email-400+requester-list-active-only+email-filter-primary-only", simulator.Switches{
		DuplicateEmailStatus: 400, RequesterListActiveOnly: true, EmailFilterPrimaryOnly: true,
	}},
	{"agent-delete-204+convert-to-requester-envelope-agent+convert-to-agent-existing-200+agent-roles-optional", simulator.Switches{
		AgentDeleteStatus: 204, ConvertToRequesterEnvelope: simulator.EnvelopeAgent, ConvertToAgentExistingStatus: 200, AgentRolesOptional: true,
	}},
	{"agent-deactivate-clears-groups", simulator.Switches{AgentDeactivateClearsGroups: true}},
	{"requester-group-add-201+requester-group-rejects-agents", simulator.Switches{
		RequesterGroupAddStatus: 201, RequesterGroupRejectsAgents: true,
	}},
	{"requester-group-add-204+create-status-200", simulator.Switches{RequesterGroupAddStatus: 204, CreateStatus: 200}},
	{"not-found-body-json+rate-window-sliding+location-address-flat", simulator.Switches{
		NotFoundBody: simulator.NotFoundJSON, RateWindow: simulator.RateWindowSliding, LocationAddressFlat: true,
	}},
	{"not-found-body-html", simulator.Switches{NotFoundBody: simulator.NotFoundHTML}},
}

// replayWorkers is how many sequences run at once. The subtests are
// started from a worker pool rather than with t.Parallel so that the count
// does not depend on -parallel.
const replayWorkers = 4

type replaySequence struct {
	Description string            `json:"description"`
	Reference   []string          `json:"reference"`
	Rules       string            `json:"rules"`
	Seed        json.RawMessage   `json:"seed"`
	Headers     map[string]string `json:"headers"`
	Steps       []replayStep      `json:"steps"`
}

type replayStep struct {
	Name    string            `json:"name"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   string            `json:"query"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
	Base    string            `json:"base"`
	Capture map[string]string `json:"capture"`
	Expect  replayExpect      `json:"expect"`
}

type replayExpect struct {
	Status statusSet       `json:"status"`
	Body   json.RawMessage `json:"body"`
	FS     *fsExpect       `json:"fs"`
}

// statusSet is one status or a list of acceptable ones.
type statusSet []int

func (s *statusSet) UnmarshalJSON(data []byte) error {
	var one int
	if err := json.Unmarshal(data, &one); err == nil {
		*s = statusSet{one}
		return nil
	}
	var many []int
	if err := json.Unmarshal(data, &many); err != nil {
		return fmt.Errorf("status: want a number or a list of numbers: %w", err)
	}
	*s = many
	return nil
}

// fsExpect is what Freshservice (the simulator) must hold after a step.
// Users are named by primary email, groups and roles by name.
type fsExpect struct {
	// Users maps a primary email to the facts its user must show.
	Users map[string]fsUser `json:"users"`
	// Missing are emails no Freshservice user may have as primary email.
	Missing []string `json:"missing"`
	// UserCount is the number of Freshservice users, the account owner
	// and deactivated users included: no duplicates were made.
	UserCount *int `json:"user_count"`
	// RequesterGroups maps a requester group name to its exact members
	// (primary emails, any order); null means no such group exists.
	RequesterGroups map[string]*[]string `json:"requester_groups"`
	// AgentGroups maps an agent group name to its exact members.
	AgentGroups map[string][]string `json:"agent_groups"`
}

// fsUser lists facts of one Freshservice user; absent fields are not
// checked. Lists compare as sets; "" means none for department and
// reporting_manager.
type fsUser struct {
	Active           *bool     `json:"active"`
	IsAgent          *bool     `json:"is_agent"`
	Occasional       *bool     `json:"occasional"`
	FirstName        *string   `json:"first_name"`
	LastName         *string   `json:"last_name"`
	JobTitle         *string   `json:"job_title"`
	WorkPhone        *string   `json:"work_phone_number"`
	MobilePhone      *string   `json:"mobile_phone_number"`
	Address          *string   `json:"address"`
	Language         *string   `json:"language"`
	TimeZone         *string   `json:"time_zone"`
	SecondaryEmails  *[]string `json:"secondary_emails"`
	Department       *string   `json:"department"`
	ReportingManager *string   `json:"reporting_manager"`
	RequesterGroups  *[]string `json:"requester_groups"`
	AgentGroups      *[]string `json:"agent_groups"`
	Roles            *[]string `json:"roles"`
}

// replayRules are the rules of `fsbridge demo` (cmd/fsbridge/demo.go
// demoRules; package main cannot be imported): "FS Agents" and "FS Admins"
// (or the app role "Admin") make agents, "Network Team" is an agent group.
func replayRules() config.Rules {
	return config.Rules{
		RoleGroups: []config.RoleGroup{
			{
				Match:    config.Match{DisplayName: "FS Agents"},
				Roles:    []config.RoleGrant{{Role: "SD Agent", Scope: "member_groups"}},
				MemberOf: []string{"Service Desk"},
			},
			{
				Match: config.Match{DisplayName: "FS Admins", Role: "Admin"},
				Roles: []config.RoleGrant{{Role: "Account Admin", Scope: "entire_helpdesk"}},
			},
		},
		AgentGroups: []config.AgentGroupMap{{Match: config.Match{DisplayName: "Network Team"}, AgentGroup: "Network Team"}},
	}
}

func loadReplaySequences(t *testing.T) map[string]replaySequence {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "idp", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no fixtures under testdata/idp")
	}
	out := map[string]replaySequence{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var seq replaySequence
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&seq); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(seq.Steps) == 0 {
			t.Fatalf("%s: no steps", f)
		}
		for i, st := range seq.Steps {
			if st.Method == "" || st.Path == "" || len(st.Expect.Status) == 0 {
				t.Fatalf("%s: step %d (%s): method, path and expect.status are required", f, i+1, st.Name)
			}
		}
		client := filepath.Base(filepath.Dir(f))
		out[client+"/"+strings.TrimSuffix(filepath.Base(f), ".json")] = seq
	}
	return out
}

func TestIdPReplay(t *testing.T) {
	seqs := loadReplaySequences(t)
	names := make([]string, 0, len(seqs))
	for n := range seqs {
		names = append(names, n)
	}
	sort.Strings(names)
	type job struct{ seq, sw int }
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range replayWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				name, sw := names[j.seq], replaySwitches[j.sw]
				t.Run(name+"/"+sw.name, func(t *testing.T) {
					runReplay(t, seqs[name], sw.sw)
				})
			}
		}()
	}
	for i := range names {
		for k := range replaySwitches {
			jobs <- job{i, k}
		}
	}
	close(jobs)
	wg.Wait()
}

// replayTrace (IDP_TRACE=1) logs every step with the Freshservice calls it
// made, for working on a fixture.
var replayTrace = os.Getenv("IDP_TRACE") != ""

// memDir returns a fresh directory on a memory file system (/dev/shm) when
// there is one, removed after the test. The store syncs every transaction
// (WAL, synchronous=FULL), and on a disk those syncs are most of the
// suite's time; durability is not what these tests are about.
func memDir(t *testing.T) string {
	if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
		return ""
	}
	dir, err := os.MkdirTemp("/dev/shm", "fsbridge-idp-")
	if err != nil {
		return ""
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// replay is one sequence being played.
type replay struct {
	t    *testing.T
	e    *env
	seq  replaySequence
	vars map[string]any
}

func runReplay(t *testing.T, seq replaySequence, sw simulator.Switches) {
	opts := []envOption{func(_ *config.Config, o *simulator.Options) { o.Switches = sw }}
	if dir := memDir(t); dir != "" {
		opts = append(opts, func(c *config.Config, _ *simulator.Options) { c.Store.Path = filepath.Join(dir, "fsbridge.db") })
	}
	switch seq.Rules {
	case "":
	case "demo":
		opts = append(opts, func(c *config.Config, _ *simulator.Options) { c.Rules = replayRules() })
	default:
		t.Fatalf("unknown rules %q", seq.Rules)
	}
	e := newEnv(t, opts...)
	if len(seq.Seed) > 0 {
		// What the account held before the bridge started: seeded, then
		// walked into the mirror as the serve command's first walk would.
		var d simulator.SeedData
		dec := json.NewDecoder(bytes.NewReader(seq.Seed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("seed: %v", err)
		}
		if err := e.sim.Seed(d); err != nil {
			t.Fatalf("seed: %v", err)
		}
		if err := e.srv.Bridge.Walk(context.Background()); err != nil {
			t.Fatalf("walk after seeding: %v", err)
		}
	}
	r := &replay{t: t, e: e, seq: seq, vars: map[string]any{}}
	for i, st := range seq.Steps {
		if !r.step(i+1, st) {
			return
		}
	}
}

// expand replaces {{name}} with captured values.
func (r *replay) expand(where, s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			r.t.Fatalf("%s: unclosed {{ in %q", where, s)
		}
		name := s[i+2 : i+j]
		v, ok := r.vars[name]
		if !ok {
			r.t.Fatalf("%s: {{%s}} was not captured by an earlier step", where, name)
		}
		var text string
		switch x := v.(type) {
		case string:
			text = x
		case float64:
			text = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			r.t.Fatalf("%s: {{%s}} holds a %T, not a string", where, name, v)
		}
		b.WriteString(s[:i])
		b.WriteString(text)
		s = s[i+j+2:]
	}
}

// step runs one step and reports whether the sequence can go on.
func (r *replay) step(n int, st replayStep) bool {
	t := r.t
	t.Helper()
	where := fmt.Sprintf("step %d (%s)", n, st.Name)
	path := r.expand(where, st.Path)
	if st.Query != "" {
		path += "?" + r.expand(where, st.Query)
	}
	var body []byte
	if len(st.Body) > 0 {
		body = []byte(r.expand(where, string(st.Body)))
	}
	if st.Base != "" {
		base, ok := r.vars[st.Base].(map[string]any)
		if !ok {
			t.Fatalf("%s: base %q is not a captured object", where, st.Base)
		}
		doc := deepCopyJSON(base).(map[string]any)
		if len(body) > 0 {
			var over map[string]any
			if err := json.Unmarshal(body, &over); err != nil {
				t.Fatalf("%s: body: %v", where, err)
			}
			mergeJSON(doc, over)
		}
		var err error
		if body, err = json.Marshal(doc); err != nil {
			t.Fatal(err)
		}
	}
	hdr := http.Header{}
	for k, v := range r.seq.Headers {
		if strings.EqualFold(k, "Content-Type") && body == nil {
			continue
		}
		hdr.Set(k, r.expand(where, v))
	}
	for k, v := range st.Headers {
		hdr.Set(k, r.expand(where, v))
	}
	var reqBody any
	if body != nil {
		reqBody = body
	}
	before := len(r.e.sim.Requests())
	status, raw, respHdr := r.e.doRaw(st.Method, path, reqBody, hdr)
	request := fmt.Sprintf("%s %s", st.Method, path)
	if body != nil {
		request += " " + string(body)
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: %s\n  request:  %s\n  response: %d %s\n  Freshservice calls:%s",
			where, fmt.Sprintf(format, args...), request, status, raw, fsCalls(r.e.sim.Requests()[before:]))
	}

	if replayTrace {
		t.Logf("%s: %s -> %d %s\n  Freshservice calls:%s", where, request, status, raw, fsCalls(r.e.sim.Requests()[before:]))
	}
	if !slices.Contains(st.Expect.Status, status) {
		// The other assertions of this step would only repeat the news;
		// later steps still run (a placeholder this step should have
		// captured stops the sequence when it is used).
		fail("status %d, want %v", status, []int(st.Expect.Status))
		return true
	}
	var got any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &got); err != nil {
			fail("the body is not JSON: %v", err)
			return false
		}
	}
	for _, p := range protocolProblems(status, respHdr, got) {
		fail("%s", p)
	}
	if len(st.Expect.Body) > 0 {
		var want any
		if err := json.Unmarshal([]byte(r.expand(where, string(st.Expect.Body))), &want); err != nil {
			t.Fatalf("%s: expect.body: %v", where, err)
		}
		for _, p := range subsetMismatches("body", want, got) {
			fail("%s", p)
		}
	}
	for name, p := range st.Capture {
		v, ok := lookupJSON(got, p)
		if !ok {
			fail("capture %s: no %q in the response", name, p)
			return false
		}
		r.vars[name] = v
	}
	if st.Expect.FS != nil {
		for _, p := range r.fsMismatches(st.Expect.FS) {
			fail("Freshservice: %s", p)
		}
	}
	return true
}

// fsCalls lists the Freshservice calls a step made, for failure messages.
func fsCalls(reqs []simulator.Request) string {
	if len(reqs) == 0 {
		return " none"
	}
	var b strings.Builder
	for _, q := range reqs {
		line := q.Method + " " + q.Path
		if q.Query != "" {
			line += "?" + q.Query
		}
		fmt.Fprintf(&b, "\n    %s -> %d", line, q.Status)
		if q.Body != "" {
			fmt.Fprintf(&b, " %s", q.Body)
		}
	}
	return b.String()
}

// protocolProblems checks what every IdP relies on, whatever the step
// (§0 rules 10, 11, 13, 14, 15).
func protocolProblems(status int, hdr http.Header, body any) []string {
	var out []string
	ct := hdr.Get("Content-Type")
	if body != nil && !strings.HasPrefix(strings.ToLower(ct), "application/scim+json") {
		out = append(out, fmt.Sprintf("Content-Type %q, want application/scim+json (§0 rule 14)", ct))
	}
	m, _ := body.(map[string]any)
	switch {
	case status == http.StatusNoContent:
		if body != nil {
			out = append(out, "204 with a body")
		}
	case status >= 400:
		schemas, _ := m["schemas"].([]any)
		if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
			out = append(out, "an error without the SCIM Error schema (§0 rule 13)")
		}
		if m["status"] != strconv.Itoa(status) {
			out = append(out, fmt.Sprintf("error status %#v, want the string %q (§0 rule 13)", m["status"], strconv.Itoa(status)))
		}
		if d, _ := m["detail"].(string); d == "" {
			out = append(out, "an error without detail (§0 rule 13)")
		}
	case status == http.StatusOK && body == nil:
		out = append(out, "200 with an empty body (§0 rule 11)")
	case status == http.StatusCreated:
		if id, _ := m["id"].(string); id == "" {
			out = append(out, "201 without a non-empty id (§0 rule 10)")
		}
	}
	if schemas, _ := m["schemas"].([]any); slices.Contains(schemas, any("urn:ietf:params:scim:api:messages:2.0:ListResponse")) {
		for _, k := range []string{"totalResults", "itemsPerPage", "startIndex"} {
			f, ok := m[k].(float64)
			if !ok || f != float64(int64(f)) {
				out = append(out, fmt.Sprintf("ListResponse %s is %#v, not an integer (§0 rule 15)", k, m[k]))
			}
		}
		if _, ok := m["Resources"].([]any); !ok {
			out = append(out, "ListResponse without a Resources list (§0 rules 8, 15)")
		}
	}
	return out
}

// subsetMismatches compares a response with the expected subset.
func subsetMismatches(at string, want, got any) []string {
	if s, ok := want.(string); ok && s == "<any>" {
		if got == nil {
			return []string{fmt.Sprintf("%s: missing", at)}
		}
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %s, want an object", at, short(got))}
		}
		var out []string
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, present := g[k]
			if w[k] == "<absent>" {
				if present {
					out = append(out, fmt.Sprintf("%s.%s: got %s, want it absent", at, k, short(gv)))
				}
				continue
			}
			if !present {
				out = append(out, fmt.Sprintf("%s.%s: missing, want %s", at, k, short(w[k])))
				continue
			}
			out = append(out, subsetMismatches(at+"."+k, w[k], gv)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %s, want %d elements like %s", at, short(got), len(w), short(want))}
		}
		var out []string
		for i := range w {
			out = append(out, subsetMismatches(fmt.Sprintf("%s[%d]", at, i), w[i], g[i])...)
		}
		return out
	}
	if !reflect.DeepEqual(want, got) {
		return []string{fmt.Sprintf("%s: got %s, want %s", at, short(got), short(want))}
	}
	return nil
}

func short(v any) string {
	data, _ := json.Marshal(v)
	if len(data) > 300 {
		return string(data[:300]) + "…"
	}
	return string(data)
}

// lookupJSON follows a dotted path ("Resources.0.id"; "." is the whole
// document).
func lookupJSON(doc any, path string) (any, bool) {
	if path == "." {
		return doc, doc != nil
	}
	cur := doc
	for _, part := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[part]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func deepCopyJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopyJSON(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopyJSON(e)
		}
		return l
	}
	return v
}

// mergeJSON writes over into doc: objects merge key by key, anything else
// replaces.
func mergeJSON(doc, over map[string]any) {
	for k, v := range over {
		if vm, ok := v.(map[string]any); ok {
			if dm, ok := doc[k].(map[string]any); ok {
				mergeJSON(dm, vm)
				continue
			}
		}
		doc[k] = v
	}
}

// fsMismatches compares the simulator's state with x.
func (r *replay) fsMismatches(x *fsExpect) []string {
	sim := r.e.sim
	var out []string
	users := sim.Users()
	byEmail := map[string]simulator.User{}
	emailOf := map[int64]string{}
	for _, u := range users {
		byEmail[strings.ToLower(u.PrimaryEmail)] = u
		emailOf[u.ID] = strings.ToLower(u.PrimaryEmail)
	}
	agentGroupName := map[int64]string{}
	for _, g := range sim.AgentGroups() {
		agentGroupName[g.ID] = g.Name
	}
	roleName := map[int64]string{}
	for _, ro := range sim.Roles() {
		roleName[ro.ID] = ro.Name
	}
	deptName := map[int64]string{}
	for _, d := range sim.Departments() {
		deptName[d.ID] = d.Name
	}
	reqGroupsOf := map[int64][]string{}
	for _, g := range sim.RequesterGroups() {
		for _, id := range sim.RequesterGroupMembers(g.ID) {
			reqGroupsOf[id] = append(reqGroupsOf[id], g.Name)
		}
	}
	names := func(ids []int64, m map[int64]string) []string {
		out := []string{}
		for _, id := range ids {
			if n, ok := m[id]; ok {
				out = append(out, n)
			} else {
				out = append(out, fmt.Sprint(id))
			}
		}
		return out
	}

	if x.UserCount != nil && len(users) != *x.UserCount {
		var list []string
		for _, u := range users {
			list = append(list, fmt.Sprintf("%s(active=%v)", u.PrimaryEmail, u.Active))
		}
		out = append(out, fmt.Sprintf("%d users, want %d: %s", len(users), *x.UserCount, strings.Join(list, ", ")))
	}
	for _, e := range x.Missing {
		if _, ok := byEmail[strings.ToLower(e)]; ok {
			out = append(out, fmt.Sprintf("a user %s exists, want none", e))
		}
	}
	emails := make([]string, 0, len(x.Users))
	for e := range x.Users {
		emails = append(emails, e)
	}
	sort.Strings(emails)
	for _, email := range emails {
		want := x.Users[email]
		u, ok := byEmail[strings.ToLower(email)]
		if !ok {
			out = append(out, fmt.Sprintf("no user %s", email))
			continue
		}
		at := "user " + email
		cmpBool := func(field string, w *bool, g bool) {
			if w != nil && *w != g {
				out = append(out, fmt.Sprintf("%s: %s is %v, want %v", at, field, g, *w))
			}
		}
		cmpStr := func(field string, w *string, g string) {
			if w != nil && *w != g {
				out = append(out, fmt.Sprintf("%s: %s is %q, want %q", at, field, g, *w))
			}
		}
		cmpSet := func(field string, w *[]string, g []string) {
			if w == nil {
				return
			}
			a, b := slices.Clone(*w), slices.Clone(g)
			for i := range a {
				a[i] = strings.ToLower(a[i])
			}
			for i := range b {
				b[i] = strings.ToLower(b[i])
			}
			sort.Strings(a)
			sort.Strings(b)
			if !slices.Equal(a, b) {
				out = append(out, fmt.Sprintf("%s: %s are %q, want %q", at, field, g, *w))
			}
		}
		cmpBool("active", want.Active, u.Active)
		cmpBool("is_agent", want.IsAgent, u.IsAgent)
		cmpBool("occasional", want.Occasional, u.Occasional)
		cmpStr("first_name", want.FirstName, u.FirstName)
		cmpStr("last_name", want.LastName, u.LastName)
		cmpStr("job_title", want.JobTitle, u.JobTitle)
		cmpStr("work_phone_number", want.WorkPhone, u.WorkPhoneNumber)
		cmpStr("mobile_phone_number", want.MobilePhone, u.MobilePhoneNumber)
		cmpStr("address", want.Address, u.Address)
		cmpStr("language", want.Language, u.Language)
		cmpStr("time_zone", want.TimeZone, u.TimeZone)
		cmpSet("secondary_emails", want.SecondaryEmails, u.SecondaryEmails)
		dept := ""
		if len(u.DepartmentIDs) > 0 {
			dept = strings.Join(names(u.DepartmentIDs, deptName), ",")
		}
		cmpStr("department", want.Department, dept)
		mgr := ""
		if u.ReportingManagerID != 0 {
			mgr = emailOf[u.ReportingManagerID]
		}
		cmpStr("reporting_manager", want.ReportingManager, mgr)
		cmpSet("requester_groups", want.RequesterGroups, reqGroupsOf[u.ID])
		cmpSet("agent_groups (member_of)", want.AgentGroups, names(u.MemberOf, agentGroupName))
		var roleIDs []int64
		for _, ra := range u.Roles {
			roleIDs = append(roleIDs, ra.RoleID)
		}
		cmpSet("roles", want.Roles, names(roleIDs, roleName))
	}
	groupNames := make([]string, 0, len(x.RequesterGroups))
	for n := range x.RequesterGroups {
		groupNames = append(groupNames, n)
	}
	sort.Strings(groupNames)
	for _, name := range groupNames {
		want := x.RequesterGroups[name]
		g, ok := sim.RequesterGroupByName(name)
		switch {
		case want == nil && ok:
			out = append(out, fmt.Sprintf("requester group %q exists, want none", name))
		case want == nil:
		case !ok:
			out = append(out, fmt.Sprintf("no requester group %q", name))
		default:
			got := names(sim.RequesterGroupMembers(g.ID), emailOf)
			if !sameEmailSet(got, *want) {
				out = append(out, fmt.Sprintf("requester group %q has members %q, want %q", name, got, *want))
			}
		}
	}
	for name, want := range x.AgentGroups {
		g, ok := sim.AgentGroupByName(name)
		if !ok {
			out = append(out, fmt.Sprintf("no agent group %q", name))
			continue
		}
		got := names(g.Members, emailOf)
		if !sameEmailSet(got, want) {
			out = append(out, fmt.Sprintf("agent group %q has members %q, want %q", name, got, want))
		}
	}
	return out
}

func sameEmailSet(a, b []string) bool {
	norm := func(l []string) []string {
		out := make([]string, len(l))
		for i, s := range l {
			out[i] = strings.ToLower(s)
		}
		sort.Strings(out)
		return out
	}
	return slices.Equal(norm(a), norm(b))
}
