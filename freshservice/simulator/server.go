package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// Server is a simulated Freshservice account. It is an http.Handler, safe for
// concurrent use.
type Server struct {
	apiKey     string
	plan       string
	scale      float64
	nowFn      func() time.Time
	realStart  time.Time
	noDefaults bool
	eps        []endpoint

	// mu guards the account and the settings handlers read.
	mu    sync.Mutex
	st    *state
	sw    Switches
	seats int
	// seeds are the successful Seed calls, replayed by Reset.
	seeds []SeedData

	limiter *limiter
	faults  *faultInjector
	rec     *recorder
}

// New returns a simulator configured by opts. It fails if opts are invalid.
func New(opts Options) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s := &Server{
		apiKey: opts.APIKey, plan: opts.Plan, scale: opts.TimeScale, nowFn: opts.Now,
		noDefaults: opts.NoDefaults, sw: opts.Switches, seats: opts.FullTimeSeats,
		faults: newFaultInjector(opts.Faults), rec: newRecorder(),
	}
	s.realStart = s.nowFn()
	s.eps = s.endpoints()
	s.limiter = newLimiter(s.plan, s.sim(s.realStart))
	st, err := s.initialState()
	if err != nil {
		return nil, err
	}
	s.st = st
	return s, nil
}

func (s *Server) now() time.Time { return s.nowFn() }

// sim converts a real time to simulated time: the simulated clock starts at
// the real start time and runs TimeScale times faster.
func (s *Server) sim(real time.Time) time.Time {
	return s.realStart.Add(time.Duration(float64(real.Sub(s.realStart)) * s.scale))
}

// initialState builds the defaults plus every seed so far.
func (s *Server) initialState() (*state, error) {
	st := newState()
	now := s.sim(s.now())
	if !s.noDefaults {
		if err := st.applySeed(defaultSeed(), now, s.plan); err != nil {
			return nil, fmt.Errorf("simulator: default seed: %w", err)
		}
	}
	for _, d := range s.seeds {
		// A seed that applied once applies again to the same start, unless
		// it referred to objects created through the API since; those
		// references are dropped with the rest of that seed.
		next := st.clone()
		if err := next.applySeed(d, now, s.plan); err == nil {
			st = next
		}
	}
	return st, nil
}

func (s *Server) switches() Switches {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sw
}

// ServeHTTP serves the API under /api/v2 and the control endpoints under
// /_simulator. Anything else is a plain 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/api/v2" || strings.HasPrefix(p, "/api/v2/"):
		s.serveAPI(w, r)
	case strings.HasPrefix(p, "/_simulator/"):
		s.serveControl(w, r)
	default:
		http.NotFound(w, r)
	}
}

// Stats returns the counters of /api/v2 requests since start or Reset.
func (s *Server) Stats() Stats { return s.rec.snapshot() }

// Requests returns every /api/v2 request served since start or Reset, in the
// order they completed (at most the last 100,000).
func (s *Server) Requests() []Request { return s.rec.log() }

// Reset returns the account to its initial state (defaults plus every Seed
// call so far), clears stats, the request log and the rate-limit buckets.
// Switches, faults and seats stay as they are.
func (s *Server) Reset() {
	s.mu.Lock()
	st, err := s.initialState()
	if err == nil {
		s.st = st
	}
	s.mu.Unlock()
	s.rec.reset()
	s.limiter.reset()
}

// Seed adds the objects of d to the account, all or nothing, and remembers d
// so that Reset restores it.
func (s *Server) Seed(d SeedData) error {
	// Keep a private copy: the caller may reuse d.
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("simulator: seed: %w", err)
	}
	var cp SeedData
	if err := json.Unmarshal(data, &cp); err != nil {
		return fmt.Errorf("simulator: seed: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.st.clone()
	if err := next.applySeed(cp, s.sim(s.now()), s.plan); err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	s.st = next
	s.seeds = append(s.seeds, cp)
	return nil
}

// SeedFile seeds from a JSON file in the SeedData shape. Unknown keys are
// errors, so that a misspelt key is not silently ignored.
func (s *Server) SeedFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("simulator: seed file: %w", err)
	}
	defer f.Close()
	d, err := decodeSeed(f)
	if err != nil {
		return fmt.Errorf("simulator: seed file %s: %w", path, err)
	}
	return s.Seed(d)
}

func decodeSeed(r io.Reader) (SeedData, error) {
	var d SeedData
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return SeedData{}, err
	}
	return d, nil
}

// SetFaults replaces the fault settings and reseeds the RNG. Invalid rates
// are clamped to [0, 1]; use Faults.Validate to report them instead.
func (s *Server) SetFaults(f Faults) {
	for _, r := range []*float64{&f.Rate429, &f.Rate5xx, &f.RateDrop, &f.RateCommitThenFail} {
		if *r < 0 || *r != *r {
			*r = 0
		}
		*r = min(*r, 1)
	}
	f.Latency, f.Jitter = max(f.Latency, 0), max(f.Jitter, 0)
	s.faults.set(f)
}

// Faults returns the current fault settings.
func (s *Server) Faults() Faults { return s.faults.get() }

// SetSwitches replaces the switches. Unknown values behave as the default;
// use Switches.Validate to report them instead.
func (s *Server) SetSwitches(sw Switches) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sw = sw
}

// Switches returns the current switches.
func (s *Server) Switches() Switches { return s.switches() }

// SetSeats sets the number of full-time agent seats; 0 means unlimited.
// Agents beyond a lowered limit stay; new full-time agents are refused.
func (s *Server) SetSeats(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seats = max(n, 0)
}

// Window returns the real duration of one rate-limit minute: 60s/TimeScale.
func (s *Server) Window() time.Duration {
	return time.Duration(float64(time.Minute) / s.scale)
}

// Direct state access. Everything returned is a copy.

// User returns the user with id, agent or requester, active or not.
func (s *Server) User(id int64) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.users[id]
	if !ok {
		return User{}, false
	}
	return s.st.userCopy(u), true
}

// UserByEmail returns the user whose primary or secondary email is email,
// ignoring case, whatever its state.
func (s *Server) UserByEmail(email string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.userByEmail(email)
	if !ok {
		return User{}, false
	}
	return s.st.userCopy(u), true
}

// Users returns every user, ordered by id.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []User
	for _, u := range s.st.usersByID() {
		out = append(out, s.st.userCopy(u))
	}
	return out
}

// AgentGroup returns the agent group with id.
func (s *Server) AgentGroup(id int64) (Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.groups[id]
	if !ok {
		return Group{}, false
	}
	return *g.clone(), true
}

// AgentGroups returns every agent group, ordered by id.
func (s *Server) AgentGroups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Group
	for _, g := range sortedByID(s.st.groups) {
		out = append(out, *g.clone())
	}
	return out
}

// AgentGroupByName returns the agent group named name, ignoring case.
func (s *Server) AgentGroupByName(name string) (Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.groupByName(name)
	if !ok {
		return Group{}, false
	}
	return *g.clone(), true
}

// RequesterGroup returns the requester group with id.
func (s *Server) RequesterGroup(id int64) (RequesterGroup, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.requesterGroups[id]
	if !ok {
		return RequesterGroup{}, false
	}
	return *g, true
}

// RequesterGroups returns every requester group, ordered by id.
func (s *Server) RequesterGroups() []RequesterGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RequesterGroup
	for _, g := range sortedByID(s.st.requesterGroups) {
		out = append(out, *g)
	}
	return out
}

// RequesterGroupByName returns the requester group named name, ignoring case.
func (s *Server) RequesterGroupByName(name string) (RequesterGroup, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.requesterGroupByName(name)
	if !ok {
		return RequesterGroup{}, false
	}
	return *g, true
}

// RequesterGroupMembers returns the user ids of a requester group's members
// in the order they were added; nil if the group does not exist.
func (s *Server) RequesterGroupMembers(id int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.requesterGroupMembers[id])
}

// Roles returns every role, ordered by id.
func (s *Server) Roles() []Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Role
	for _, r := range sortedByID(s.st.roles) {
		c := *r
		c.Scopes = slices.Clone(r.Scopes)
		out = append(out, c)
	}
	return out
}

// RoleByName returns the role named name, ignoring case.
func (s *Server) RoleByName(name string) (Role, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.st.roleByName(name)
	if !ok {
		return Role{}, false
	}
	c := *r
	c.Scopes = slices.Clone(r.Scopes)
	return c, true
}

// Departments returns every department, ordered by id.
func (s *Server) Departments() []Department {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Department
	for _, d := range sortedByID(s.st.departments) {
		c := *d
		c.Domains = slices.Clone(d.Domains)
		c.CustomFields = maps.Clone(d.CustomFields)
		out = append(out, c)
	}
	return out
}

// Locations returns every location, ordered by id.
func (s *Server) Locations() []Location {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Location
	for _, l := range sortedByID(s.st.locations) {
		out = append(out, *l)
	}
	return out
}

// setIn returns list with id present or absent as in says, keeping order.
func setIn(list []int64, id int64, in bool) []int64 {
	has := slices.Contains(list, id)
	switch {
	case in && !has:
		return append(list, id)
	case !in && has:
		return slices.DeleteFunc(list, func(x int64) bool { return x == id })
	}
	return list
}

// dedupe removes repeated ids, keeping the first of each.
func dedupe(ids []int64) []int64 {
	var out []int64
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Errors of the direct edit functions.
var (
	// ErrNotFound means the object to edit does not exist.
	ErrNotFound = errors.New("simulator: not found")
	// ErrInvalidEdit means the edit breaks an invariant of the account; the
	// state is unchanged.
	ErrInvalidEdit = errors.New("simulator: invalid edit")
)

// EditUser changes a user the way an admin would in the Freshservice UI:
// edit receives a copy (with MemberOf and ObserverOf filled in) and may
// change anything but the id. Changes to MemberOf and ObserverOf move the
// agent in or out of groups (approved at once: an admin needs no approval).
// updated_at is bumped if anything changed, unless the edit set UpdatedAt
// itself. The edit is refused, leaving the
// state unchanged, if it breaks an invariant: unknown references, a
// duplicate email, or a full-time seat that is not there.
func (s *Server) EditUser(id int64, edit func(u *User)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	old, ok := st.users[id]
	if !ok {
		return fmt.Errorf("edit user %d: %w", id, ErrNotFound)
	}
	before := st.userCopy(old)
	u := st.userCopy(old)
	edit(&u)
	if err := st.checkEdit(&u, old, s.seats); err != nil {
		return fmt.Errorf("edit user %d: %w: %w", id, ErrInvalidEdit, err)
	}
	next := u.clone()
	normalizeUser(next)
	next.CreatedAt, next.UpdatedAt = timestamp(next.CreatedAt), timestamp(next.UpdatedAt)
	// An edit that sets UpdatedAt itself (to backdate a user, say) keeps it.
	if u.UpdatedAt.Equal(before.UpdatedAt) && !reflect.DeepEqual(before, u) {
		next.UpdatedAt = timestamp(s.sim(s.now()))
	}
	st.putUser(next)
	// Group membership follows MemberOf and ObserverOf; the pending lists
	// say which of those still wait for approval.
	for m, l := range [][2][]int64{asMember: {u.MemberOf, u.MemberOfPendingApproval}, asObserver: {u.ObserverOf, u.ObserverOfPendingApproval}} {
		for _, g := range st.groups {
			approved, pending := g.lists(membership(m))
			inApproved := u.IsAgent && slices.Contains(l[0], g.ID)
			inPending := u.IsAgent && !inApproved && slices.Contains(l[1], g.ID)
			*approved = setIn(*approved, id, inApproved)
			*pending = setIn(*pending, id, inPending)
		}
	}
	if !next.IsAgent {
		st.dropFromAgentGroups(id)
	}
	if !next.Active {
		st.dropFromRequesterGroups(id)
	}
	exact := s.sim(s.now())
	st.indexWrite(id, next, exact, s.sw.QueryIndexLag)
	return nil
}

// checkEdit checks the invariants EditUser keeps.
func (st *state) checkEdit(u *User, old *User, seats int) error {
	var errs []error
	if u.ID != old.ID {
		errs = append(errs, errors.New("the id cannot change"))
	}
	if u.FirstName == "" {
		errs = append(errs, errors.New("first name is required"))
	}
	if u.IsAgent && u.PrimaryEmail == "" {
		errs = append(errs, errors.New("an agent needs an email"))
	}
	for _, e := range append([]string{u.PrimaryEmail}, u.SecondaryEmails...) {
		if e == "" {
			continue
		}
		if other, taken := st.emailOwner(e, u.ID); taken {
			errs = append(errs, fmt.Errorf("email %q belongs to user %d", e, other.ID))
		}
	}
	for _, d := range u.DepartmentIDs {
		if _, ok := st.departments[d]; !ok {
			errs = append(errs, fmt.Errorf("no department %d", d))
		}
	}
	if _, ok := st.locations[u.LocationID]; u.LocationID != 0 && !ok {
		errs = append(errs, fmt.Errorf("no location %d", u.LocationID))
	}
	if _, ok := st.users[u.ReportingManagerID]; u.ReportingManagerID != 0 && (!ok || u.ReportingManagerID == u.ID) {
		errs = append(errs, fmt.Errorf("no other user %d to be the reporting manager", u.ReportingManagerID))
	}
	if !validTimeZone(u.TimeZone) {
		errs = append(errs, fmt.Errorf("time zone %q is not a Freshservice time zone", u.TimeZone))
	}
	if !validLanguage(u.Language) {
		errs = append(errs, fmt.Errorf("language %q is not a Freshservice language", u.Language))
	}
	for _, r := range u.Roles {
		if _, ok := st.roles[r.RoleID]; !ok {
			errs = append(errs, fmt.Errorf("no role %d", r.RoleID))
		}
		for _, g := range r.Groups {
			if _, ok := st.groups[g]; !ok {
				errs = append(errs, fmt.Errorf("no agent group %d", g))
			}
		}
	}
	for _, g := range slices.Concat(u.MemberOf, u.ObserverOf) {
		if _, ok := st.groups[g]; !ok {
			errs = append(errs, fmt.Errorf("no agent group %d", g))
		}
	}
	wasFullTime := old.IsAgent && old.Active && !old.Occasional
	if u.IsAgent && u.Active && !u.Occasional && !wasFullTime && seats > 0 && st.fullTimeUsed(u.ID) >= seats {
		errs = append(errs, fmt.Errorf("all %d full-time seats are taken", seats))
	}
	return errors.Join(errs...)
}

// EditAgentGroup changes an agent group as an admin would in the UI: edit
// receives a copy and may change anything but the id. Lists are taken as
// given, so moving an id from MembersPendingApproval to Members approves it.
// Every id in the lists must be an agent, and the name must stay unique.
func (s *Server) EditAgentGroup(id int64, edit func(g *Group)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.st.groups[id]
	if !ok {
		return fmt.Errorf("edit agent group %d: %w", id, ErrNotFound)
	}
	g := old.clone()
	edit(g)
	var errs []error
	if g.ID != id {
		errs = append(errs, errors.New("the id cannot change"))
	}
	if strings.TrimSpace(g.Name) == "" || nameTaken(s.st.groups, g.Name, id, func(x *Group) (int64, string) { return x.ID, x.Name }) {
		errs = append(errs, fmt.Errorf("name %q is blank or taken", g.Name))
	}
	for _, uid := range slices.Concat(g.Members, g.Observers, g.Leaders, g.MembersPendingApproval, g.ObserversPendingApproval, g.LeadersPendingApproval) {
		if u, ok := s.st.users[uid]; !ok || !u.IsAgent {
			errs = append(errs, fmt.Errorf("user %d is not an agent", uid))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("edit agent group %d: %w: %w", id, ErrInvalidEdit, err)
	}
	for _, l := range []*[]int64{&g.Members, &g.Observers, &g.Leaders, &g.MembersPendingApproval, &g.ObserversPendingApproval, &g.LeadersPendingApproval} {
		*l = dedupe(*l)
	}
	if !reflect.DeepEqual(old, g) {
		g.UpdatedAt = timestamp(s.sim(s.now()))
	}
	s.st.groups[id] = g
	return nil
}

// ApproveAgentGroupMembers approves pending memberships of an agent group,
// as an admin does in the Freshservice UI for a restricted group with
// approval required (reference §4.4, §5, §19): each user id moves from the
// group's pending lists (members, observers, leaders) to the approved ones.
// No ids approves everything pending. An id that is not pending in the
// group is refused with ErrInvalidEdit, and nothing changes.
func (s *Server) ApproveAgentGroupMembers(groupID int64, userIDs ...int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.groups[groupID]
	if !ok {
		return fmt.Errorf("approve agent group %d: %w", groupID, ErrNotFound)
	}
	pendingAnywhere := func(uid int64) bool {
		for _, m := range []membership{asMember, asObserver, asLeader} {
			if _, pending := g.lists(m); slices.Contains(*pending, uid) {
				return true
			}
		}
		return false
	}
	var errs []error
	for _, uid := range userIDs {
		if !pendingAnywhere(uid) {
			errs = append(errs, fmt.Errorf("user %d is not pending", uid))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("approve agent group %d: %w: %w", groupID, ErrInvalidEdit, err)
	}
	next := g.clone()
	changed := false
	for _, m := range []membership{asMember, asObserver, asLeader} {
		approved, pending := next.lists(m)
		var keep []int64
		for _, uid := range *pending {
			if len(userIDs) == 0 || slices.Contains(userIDs, uid) {
				*approved = append(*approved, uid)
				changed = true
			} else {
				keep = append(keep, uid)
			}
		}
		*pending = keep
	}
	if changed {
		next.UpdatedAt = timestamp(s.sim(s.now()))
	}
	s.st.groups[groupID] = next
	return nil
}
