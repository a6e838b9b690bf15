package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/internal/store/sqlite"
	"github.com/fsbridge/fsbridge/mapping"
)

// fakeWriter is a writer whose answers a test sets, by method name: it
// records every write it is asked for ("UpdateRequester 7 {body}"), fails
// with the error set for its method, else answers the user set for it.
type fakeWriter struct {
	calls   []string
	answers map[string]*freshservice.User
	fails   map[string]error
}

var _ writer = (*fakeWriter)(nil)

func (f *fakeWriter) do(method string, args ...any) (*freshservice.User, error) {
	call := method
	for _, a := range args {
		switch a.(type) {
		case *freshservice.RequesterFields, *freshservice.AgentFields:
			b, _ := json.Marshal(a)
			call += " " + string(b)
		default:
			call += " " + fmt.Sprint(a)
		}
	}
	f.calls = append(f.calls, call)
	if err := f.fails[method]; err != nil {
		return nil, err
	}
	return f.answers[method], nil
}

func (f *fakeWriter) CreateRequester(_ context.Context, rf *freshservice.RequesterFields) (*freshservice.User, error) {
	return f.do("CreateRequester", rf)
}

func (f *fakeWriter) CreateAgent(_ context.Context, af *freshservice.AgentFields) (*freshservice.User, error) {
	return f.do("CreateAgent", af)
}

func (f *fakeWriter) UpdateRequester(_ context.Context, id int64, rf *freshservice.RequesterFields) (*freshservice.User, error) {
	return f.do("UpdateRequester", id, rf)
}

func (f *fakeWriter) UpdateAgent(_ context.Context, id int64, af *freshservice.AgentFields) (*freshservice.User, error) {
	return f.do("UpdateAgent", id, af)
}

func (f *fakeWriter) ReactivateRequester(_ context.Context, id int64) (*freshservice.User, error) {
	return f.do("ReactivateRequester", id)
}

func (f *fakeWriter) ReactivateAgent(_ context.Context, id int64) (*freshservice.User, error) {
	return f.do("ReactivateAgent", id)
}

func (f *fakeWriter) DeactivateRequester(_ context.Context, id int64) error {
	_, err := f.do("DeactivateRequester", id)
	return err
}

func (f *fakeWriter) DeactivateAgent(_ context.Context, id int64) (*freshservice.User, error) {
	return f.do("DeactivateAgent", id)
}

func (f *fakeWriter) ForgetRequester(_ context.Context, id int64) error {
	_, err := f.do("ForgetRequester", id)
	return err
}

func (f *fakeWriter) ForgetAgent(_ context.Context, id int64) error {
	_, err := f.do("ForgetAgent", id)
	return err
}

func (f *fakeWriter) ConvertToAgent(_ context.Context, id int64) (*freshservice.User, error) {
	return f.do("ConvertToAgent", id)
}

func (f *fakeWriter) ConvertToRequester(_ context.Context, id int64) (*freshservice.User, error) {
	return f.do("ConvertToRequester", id)
}

func (f *fakeWriter) AddRequesterGroupMember(_ context.Context, group, user int64) error {
	_, err := f.do("AddRequesterGroupMember", group, user)
	return err
}

func (f *fakeWriter) RemoveRequesterGroupMember(_ context.Context, group, user int64) error {
	_, err := f.do("RemoveRequesterGroupMember", group, user)
	return err
}

func (f *fakeWriter) JoinAgentGroup(_ context.Context, group, user int64, observer bool) error {
	_, err := f.do("JoinAgentGroup", group, user, observer)
	return err
}

func (f *fakeWriter) LeaveAgentGroup(_ context.Context, group, user int64, observer bool) error {
	_, err := f.do("LeaveAgentGroup", group, user, observer)
	return err
}

// execFixture is a bridge on a fresh store that knows Ada (id 7): as a
// requester, or as an agent (member of agent group 40), in the directory,
// the store's mirror, and with a user record.
type execFixture struct {
	b  *Bridge
	st store.Store
}

const adaID = 7

func adaRequester() *freshservice.User {
	return &freshservice.User{ID: adaID, View: freshservice.ViewRequester, Email: "ada@example.com", Active: true}
}

func adaAgent() *freshservice.User {
	return &freshservice.User{ID: adaID, View: freshservice.ViewAgent, Email: "ada@example.com", Active: true, IsAgent: true,
		Roles: []freshservice.RoleAssignment{{RoleID: 3, AssignmentScope: "entire_helpdesk"}}, MemberOf: []int64{40}}
}

func newExecFixture(t *testing.T, known *freshservice.User) execFixture {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	dir := directory.New()
	b := &Bridge{store: records{st, dir}, dir: dir, log: zerolog.Nop()}
	if known != nil {
		b.writeThrough(t.Context(), known)
		if _, err := b.store.CreateUser(t.Context(), store.User{ID: known.ID, UserName: known.Email}); err != nil {
			t.Fatal(err)
		}
	}
	return execFixture{b: b, st: st}
}

// known is the user as the directory and the store's mirror hold it; the
// two must agree.
func (f execFixture) known(t *testing.T, id int64) *freshservice.User {
	t.Helper()
	e, _ := f.b.dir.Get(id)
	m, err := f.st.GetMirror(t.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if e.User != nil {
			t.Errorf("the directory holds user %d, the store's mirror does not", id)
		}
		return nil
	case err != nil:
		t.Fatal(err)
	}
	var saved freshservice.User
	if err := json.Unmarshal(m.Data, &saved); err != nil {
		t.Fatal(err)
	}
	if e.User == nil || e.User.Active != saved.Active || e.User.IsAgent != saved.IsAgent || !slices.Equal(e.User.MemberOf, saved.MemberOf) {
		t.Errorf("the directory holds %+v, the store's mirror %+v", e.User, saved)
	}
	return &saved
}

// audit is the audit trail, oldest first.
func (f execFixture) audit(t *testing.T) []store.AuditEvent {
	t.Helper()
	evs, err := f.st.ListAudit(t.Context(), store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(evs)
	return evs
}

func (f execFixture) applied(t *testing.T, id int64) mapping.Applied {
	t.Helper()
	rec, err := f.st.GetUser(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return decodeApplied(rec.Applied)
}

func outcomes(evs []store.AuditEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Outcome + " " + e.Call
	}
	return out
}

// TestExecutorMakesEachStepsWrite: every kind of step makes its own
// Freshservice write, with the step's ids and body, and is audited under
// its operation with its real call; the mirror shows what it did.
func TestExecutorMakesEachStepsWrite(t *testing.T) {
	made := &freshservice.User{ID: 9, View: freshservice.ViewRequester, Email: "grace@example.com", Active: true}
	madeAgent := &freshservice.User{ID: 9, View: freshservice.ViewAgent, Email: "grace@example.com", Active: true, IsAgent: true}
	tests := []struct {
		name      string
		known     *freshservice.User // Ada as the bridge knows her; nil: nobody yet
		step      mapping.Step
		answer    *freshservice.User
		wantWrite string
		wantOp    string
		wantCall  string
		wantFSID  int64
		// check tells what is wrong with the user the mirror then holds
		// (nil: gone), or "".
		check func(u *freshservice.User) string
	}{
		{
			name: "create requester", step: mapping.Step{Kind: mapping.StepCreateRequester, Requester: &freshservice.RequesterFields{Email: freshservice.Ptr("grace@example.com")}},
			answer:    made,
			wantWrite: `CreateRequester {"can_see_all_tickets_from_associated_departments":false,"primary_email":"grace@example.com"}`, wantOp: "user.create", wantCall: "POST /api/v2/requesters", wantFSID: 9,
		},
		{
			name: "create agent", step: mapping.Step{Kind: mapping.StepCreateAgent, Agent: &freshservice.AgentFields{Email: freshservice.Ptr("grace@example.com")}},
			answer:    madeAgent,
			wantWrite: `CreateAgent {"can_see_all_tickets_from_associated_departments":false,"email":"grace@example.com"}`, wantOp: "user.create_agent", wantCall: "POST /api/v2/agents", wantFSID: 9,
		},
		{
			name: "update requester", known: adaRequester(),
			step:      mapping.Step{Kind: mapping.StepUpdateRequester, UserID: adaID, Requester: &freshservice.RequesterFields{Email: freshservice.Ptr("ada.l@example.com")}},
			answer:    &freshservice.User{ID: adaID, View: freshservice.ViewRequester, Email: "ada.l@example.com", Active: true},
			wantWrite: `UpdateRequester 7 {"can_see_all_tickets_from_associated_departments":false,"primary_email":"ada.l@example.com"}`, wantOp: "user.update", wantCall: "PUT /api/v2/requesters/7", wantFSID: adaID,
			check: func(u *freshservice.User) string {
				if u == nil || u.Email != "ada.l@example.com" {
					return "the new email is not recorded"
				}
				return ""
			},
		},
		{
			name: "update agent", known: adaAgent(),
			step:      mapping.Step{Kind: mapping.StepUpdateAgent, UserID: adaID, Agent: &freshservice.AgentFields{Occasional: freshservice.Ptr(true)}},
			answer:    &freshservice.User{ID: adaID, View: freshservice.ViewAgent, Email: "ada@example.com", Active: true, IsAgent: true, Occasional: true},
			wantWrite: `UpdateAgent 7 {"can_see_all_tickets_from_associated_departments":false,"occasional":true}`, wantOp: "user.update", wantCall: "PUT /api/v2/agents/7", wantFSID: adaID,
		},
		{
			name: "reactivate requester", known: &freshservice.User{ID: adaID, View: freshservice.ViewRequester, Email: "ada@example.com"},
			step:      mapping.Step{Kind: mapping.StepReactivateRequester, UserID: adaID},
			wantWrite: "ReactivateRequester 7", wantOp: "user.reactivate", wantCall: "PUT /api/v2/requesters/7/reactivate", wantFSID: adaID,
			check: func(u *freshservice.User) string {
				if u == nil || !u.Active {
					return "not recorded as active"
				}
				return ""
			},
		},
		{
			name: "reactivate agent", known: &freshservice.User{ID: adaID, View: freshservice.ViewAgent, Email: "ada@example.com", IsAgent: true},
			step:      mapping.Step{Kind: mapping.StepReactivateAgent, UserID: adaID},
			wantWrite: "ReactivateAgent 7", wantOp: "user.reactivate", wantCall: "PUT /api/v2/agents/7/reactivate", wantFSID: adaID,
		},
		{
			name: "deactivate requester", known: adaRequester(),
			step:      mapping.Step{Kind: mapping.StepDeactivateRequester, UserID: adaID},
			wantWrite: "DeactivateRequester 7", wantOp: "user.deactivate", wantCall: "DELETE /api/v2/requesters/7", wantFSID: adaID,
			check: func(u *freshservice.User) string {
				if u == nil || u.Active {
					return "not recorded as inactive"
				}
				return ""
			},
		},
		{
			name: "deactivate agent", known: adaAgent(),
			step:      mapping.Step{Kind: mapping.StepDeactivateAgent, UserID: adaID},
			wantWrite: "DeactivateAgent 7", wantOp: "user.deactivate", wantCall: "DELETE /api/v2/agents/7", wantFSID: adaID,
		},
		{
			name: "forget requester", known: adaRequester(),
			step:      mapping.Step{Kind: mapping.StepForgetRequester, UserID: adaID},
			wantWrite: "ForgetRequester 7", wantOp: "user.forget", wantCall: "DELETE /api/v2/requesters/7/forget", wantFSID: adaID,
			check: func(u *freshservice.User) string {
				if u != nil {
					return "an erased user is still recorded"
				}
				return ""
			},
		},
		{
			name: "forget agent", known: adaAgent(),
			step:      mapping.Step{Kind: mapping.StepForgetAgent, UserID: adaID},
			wantWrite: "ForgetAgent 7", wantOp: "user.forget", wantCall: "DELETE /api/v2/agents/7/forget", wantFSID: adaID,
		},
		{
			name: "convert to agent", known: adaRequester(),
			step:      mapping.Step{Kind: mapping.StepConvertToAgent, UserID: adaID},
			answer:    &freshservice.User{ID: adaID, View: freshservice.ViewAgent, Email: "ada@example.com", Active: true, IsAgent: true},
			wantWrite: "ConvertToAgent 7", wantOp: "user.promote", wantCall: "PUT /api/v2/requesters/7/convert_to_agent", wantFSID: adaID,
			check: func(u *freshservice.User) string {
				if u == nil || !u.IsAgent {
					return "not recorded as an agent once the plan ended"
				}
				return ""
			},
		},
		{
			name: "convert to requester", known: adaAgent(),
			step:      mapping.Step{Kind: mapping.StepConvertToRequester, UserID: adaID},
			wantWrite: "ConvertToRequester 7", wantOp: "user.demote", wantCall: "PUT /api/v2/agents/7/convert_to_requester", wantFSID: adaID,
			check: func(u *freshservice.User) string {
				if u == nil || u.IsAgent || len(u.MemberOf) != 0 {
					return "still recorded as an agent, or in its agent groups"
				}
				return ""
			},
		},
		{
			name: "add to requester group", known: adaRequester(),
			step:      mapping.Step{Kind: mapping.StepAddRequesterGroup, UserID: adaID, GroupID: 30},
			wantWrite: "AddRequesterGroupMember 30 7", wantOp: "group.add_member", wantCall: "POST /api/v2/requester_groups/30/members/7", wantFSID: adaID,
		},
		{
			name: "remove from requester group", known: adaRequester(),
			step:      mapping.Step{Kind: mapping.StepRemoveRequesterGroup, UserID: adaID, GroupID: 30},
			wantWrite: "RemoveRequesterGroupMember 30 7", wantOp: "group.remove_member", wantCall: "DELETE /api/v2/requester_groups/30/members/7", wantFSID: adaID,
		},
		{
			name: "join agent group", known: adaAgent(),
			step:      mapping.Step{Kind: mapping.StepJoinAgentGroup, UserID: adaID, GroupID: 41},
			wantWrite: "JoinAgentGroup 41 7 false", wantOp: "agent_group.add_member", wantCall: "GET+PUT /api/v2/groups/41", wantFSID: adaID,
			check: func(u *freshservice.User) string {
				if u == nil || !slices.Equal(u.MemberOf, []int64{40, 41}) {
					return "not recorded as a member of 41"
				}
				return ""
			},
		},
		{
			name: "leave agent group as observer", known: adaAgent(),
			step:      mapping.Step{Kind: mapping.StepLeaveAgentGroup, UserID: adaID, GroupID: 40, Observer: true},
			wantWrite: "LeaveAgentGroup 40 7 true", wantOp: "agent_group.remove_member", wantCall: "GET+PUT /api/v2/groups/40", wantFSID: adaID,
			check: func(u *freshservice.User) string {
				if u == nil || !slices.Equal(u.MemberOf, []int64{40}) {
					return "leaving the observers changed the members"
				}
				return ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newExecFixture(t, tt.known)
			w := &fakeWriter{answers: map[string]*freshservice.User{}}
			if tt.answer != nil {
				w.answers[strings.Fields(tt.wantWrite)[0]] = tt.answer
			}
			scimID := ""
			if tt.known != nil {
				scimID = fmt.Sprint(tt.known.ID)
			}
			var applied mapping.Applied
			_, err := executor{w: w, l: bridgeLedger{f.b}}.run(t.Context(), mapping.Plan{tt.step}, tt.known, &applied, scimID)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if diff := cmp.Diff([]string{tt.wantWrite}, w.calls); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			evs := f.audit(t)
			if len(evs) != 1 {
				t.Fatalf("%d audit events, want 1: %v", len(evs), outcomes(evs))
			}
			ev := evs[0]
			if ev.Outcome != "ok" || ev.Operation != tt.wantOp || ev.Call != tt.wantCall || ev.FSID != tt.wantFSID || ev.SCIMID != fmt.Sprint(tt.wantFSID) {
				t.Errorf("audited %s %s %q fs %d scim %q, want ok %s %q fs %d", ev.Outcome, ev.Operation, ev.Call, ev.FSID, ev.SCIMID, tt.wantOp, tt.wantCall, tt.wantFSID)
			}
			if tt.check != nil {
				if problem := tt.check(f.known(t, adaID)); problem != "" {
					t.Error(problem)
				}
			}
		})
	}
}

// TestExecutorStopsAtTheFailedStep: a failed step ends the plan (nothing
// after it is sent), is returned and audited with its call and the
// failure's fields, and what ran before it stays recorded.
func TestExecutorStopsAtTheFailedStep(t *testing.T) {
	refused := fsAnswer("PUT", "/api/v2/requesters/{id}", 400, "validation_failed", "job_title", "invalid_value")
	lost := fsAnswer("POST", "/api/v2/requester_groups/{id}/members/{id}", 503, "")
	roles := &freshservice.AgentFields{Roles: &[]freshservice.RoleAssignment{{RoleID: 3, AssignmentScope: "entire_helpdesk"}}}
	tests := []struct {
		name       string
		plan       mapping.Plan
		answers    map[string]*freshservice.User
		fails      map[string]error
		wantWrites []string
		wantAudit  []string
		wantKind   string
		check      func(t *testing.T, f execFixture, applied mapping.Applied)
	}{
		{
			name: "refused update",
			plan: mapping.Plan{
				{Kind: mapping.StepUpdateRequester, UserID: adaID, Requester: &freshservice.RequesterFields{Email: freshservice.Ptr("ada.l@example.com")}},
				{Kind: mapping.StepAddRequesterGroup, UserID: adaID, GroupID: 30},
			},
			fails:      map[string]error{"UpdateRequester": refused},
			wantWrites: []string{`UpdateRequester 7 {"can_see_all_tickets_from_associated_departments":false,"primary_email":"ada.l@example.com"}`},
			wantAudit:  []string{"error PUT /api/v2/requesters/7"},
			wantKind:   "invalid",
			check: func(t *testing.T, f execFixture, _ mapping.Applied) {
				if ev := f.audit(t)[0]; ev.Status != 400 || ev.Field != "job_title" || ev.Code != "invalid_value" {
					t.Errorf("audited status %d field %q code %q, want 400 job_title invalid_value", ev.Status, ev.Field, ev.Code)
				}
				if u := f.known(t, adaID); u.Email != "ada@example.com" {
					t.Errorf("a refused update changed the recorded email to %q", u.Email)
				}
			},
		},
		{
			name: "lost answer to a requester group add",
			plan: mapping.Plan{
				{Kind: mapping.StepRemoveRequesterGroup, UserID: adaID, GroupID: 31},
				{Kind: mapping.StepAddRequesterGroup, UserID: adaID, GroupID: 30},
				{Kind: mapping.StepRemoveRequesterGroup, UserID: adaID, GroupID: 32},
			},
			fails:      map[string]error{"AddRequesterGroupMember": lost},
			wantWrites: []string{"RemoveRequesterGroupMember 31 7", "AddRequesterGroupMember 30 7"},
			wantAudit:  []string{"ok DELETE /api/v2/requester_groups/31/members/7", "error POST /api/v2/requester_groups/30/members/7"},
			wantKind:   "transient",
			check: func(t *testing.T, _ execFixture, applied mapping.Applied) {
				// Unknown whether she joined: the next plan must neither
				// take her for a member nor for a non-member.
				if !slices.Equal(applied.RequesterGroupsUncertain, []int64{30}) || slices.Contains(applied.RequesterGroups, 30) {
					t.Errorf("applied groups %v, uncertain %v; want 30 uncertain", applied.RequesterGroups, applied.RequesterGroupsUncertain)
				}
			},
		},
		{
			name:       "refused requester group add",
			plan:       mapping.Plan{{Kind: mapping.StepAddRequesterGroup, UserID: adaID, GroupID: 30}},
			fails:      map[string]error{"AddRequesterGroupMember": fsAnswer("POST", "/api/v2/requester_groups/{id}/members/{id}", 400, "invalid_value")},
			wantWrites: []string{"AddRequesterGroupMember 30 7"},
			wantAudit:  []string{"error POST /api/v2/requester_groups/30/members/7"},
			wantKind:   "invalid",
			check: func(t *testing.T, _ execFixture, applied mapping.Applied) {
				if len(applied.RequesterGroupsUncertain) != 0 || len(applied.RequesterGroups) != 0 {
					t.Errorf("a refused add left groups %v, uncertain %v", applied.RequesterGroups, applied.RequesterGroupsUncertain)
				}
			},
		},
		{
			name: "promotion stopped between convert and its PUT",
			plan: mapping.Plan{
				{Kind: mapping.StepConvertToAgent, UserID: adaID},
				{Kind: mapping.StepUpdateAgent, UserID: adaID, Agent: roles},
				{Kind: mapping.StepJoinAgentGroup, UserID: adaID, GroupID: 40},
			},
			answers:    map[string]*freshservice.User{"ConvertToAgent": {ID: adaID, View: freshservice.ViewAgent, Email: "ada@example.com", Active: true, IsAgent: true}},
			fails:      map[string]error{"UpdateAgent": fsAnswer("PUT", "/api/v2/agents/{id}", 400, "invalid_value")},
			wantWrites: []string{"ConvertToAgent 7", `UpdateAgent 7 {"can_see_all_tickets_from_associated_departments":false,"roles":[{"role_id":3,"assignment_scope":"entire_helpdesk"}]}`},
			wantAudit:  []string{"ok PUT /api/v2/requesters/7/convert_to_agent", "error PUT /api/v2/agents/7"},
			wantKind:   "invalid",
			check: func(t *testing.T, f execFixture, applied mapping.Applied) {
				// Freshservice holds an agent now: recorded, and known as
				// the bridge's promotion still to finish.
				if u := f.known(t, adaID); u == nil || !u.IsAgent {
					t.Errorf("the mirror holds %+v, want the agent the convert made", u)
				}
				if !applied.Promoted || !applied.PromotionPending {
					t.Errorf("applied promoted %v pending %v, want both", applied.Promoted, applied.PromotionPending)
				}
				if saved := f.applied(t, adaID); !saved.Promoted || !saved.PromotionPending {
					t.Errorf("saved applied promoted %v pending %v, want both", saved.Promoted, saved.PromotionPending)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newExecFixture(t, adaRequester())
			w := &fakeWriter{answers: tt.answers, fails: tt.fails}
			var applied mapping.Applied
			_, err := executor{w: w, l: bridgeLedger{f.b}}.run(t.Context(), tt.plan, adaRequester(), &applied, "7")
			var se *stepError
			if !errors.As(err, &se) {
				t.Fatalf("run returned %v, want the failed step", err)
			}
			if got := string(kindOf(err)); got != tt.wantKind {
				t.Errorf("failure kind %q, want %q", got, tt.wantKind)
			}
			if diff := cmp.Diff(tt.wantWrites, w.calls); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			evs := f.audit(t)
			if diff := cmp.Diff(tt.wantAudit, outcomes(evs)); diff != "" {
				t.Errorf("audit (-want +got):\n%s", diff)
			}
			if last := evs[len(evs)-1]; last.Kind != tt.wantKind {
				t.Errorf("audited kind %q, want %q", last.Kind, tt.wantKind)
			}
			if tt.check != nil {
				tt.check(t, f, applied)
			}
		})
	}
}

// rereadLedger is a bridgeLedger whose read of a user from Freshservice
// answers user (nil: Freshservice has none).
type rereadLedger struct {
	bridgeLedger
	user  *freshservice.User
	reads int
}

func (l *rereadLedger) reread(ctx context.Context, _ int64) *freshservice.User {
	l.reads++
	if l.user == nil {
		return nil
	}
	return l.answered(ctx, l.user)
}

// TestExecutorTakesADeactivationFreshserviceAlreadyShowsAsDone: the 404
// Freshservice answers for a user it has already deactivated ends the
// step as done, recorded inactive and unconfirmed until the next walk; a
// refusal is taken as done only when Freshservice, read again, shows the
// user inactive.
func TestExecutorTakesADeactivationFreshserviceAlreadyShowsAsDone(t *testing.T) {
	notFound := func(route string) error { return fsAnswer("DELETE", route, 404, "") }
	inactive := &freshservice.User{ID: adaID, View: freshservice.ViewRequester, Email: "ada@example.com"}
	tests := []struct {
		name            string
		known           *freshservice.User
		kind            mapping.StepKind
		fail            error
		fresh           *freshservice.User // what a read of Freshservice shows
		wantErr         bool
		wantUnconfirmed bool
		wantReads       int
	}{
		{name: "answered", known: adaRequester(), kind: mapping.StepDeactivateRequester},
		{name: "requester 404", known: adaRequester(), kind: mapping.StepDeactivateRequester, fail: notFound("/api/v2/requesters/{id}"), wantUnconfirmed: true},
		{name: "agent 404", known: adaAgent(), kind: mapping.StepDeactivateAgent, fail: notFound("/api/v2/agents/{id}"), wantUnconfirmed: true},
		{name: "404 for a user not known", kind: mapping.StepDeactivateRequester, fail: notFound("/api/v2/requesters/{id}"), wantErr: true, wantReads: 1},
		{name: "refused, and inactive when read again", known: adaRequester(), kind: mapping.StepDeactivateRequester,
			fail: fsAnswer("DELETE", "/api/v2/requesters/{id}", 400, "invalid_value"), fresh: inactive, wantReads: 1},
		{name: "refused, and still active when read again", known: adaRequester(), kind: mapping.StepDeactivateRequester,
			fail: fsAnswer("DELETE", "/api/v2/requesters/{id}", 400, "invalid_value"), fresh: adaRequester(), wantErr: true, wantReads: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newExecFixture(t, tt.known)
			method := map[mapping.StepKind]string{mapping.StepDeactivateRequester: "DeactivateRequester", mapping.StepDeactivateAgent: "DeactivateAgent"}[tt.kind]
			w := &fakeWriter{fails: map[string]error{method: tt.fail}}
			l := &rereadLedger{bridgeLedger: bridgeLedger{f.b}, user: tt.fresh}
			applied := mapping.Applied{RequesterGroups: []int64{30}}
			_, err := executor{w: w, l: l}.run(t.Context(), mapping.Plan{{Kind: tt.kind, UserID: adaID}}, tt.known, &applied, "7")
			if (err != nil) != tt.wantErr {
				t.Fatalf("run: %v, want error %v", err, tt.wantErr)
			}
			if l.reads != tt.wantReads {
				t.Errorf("read Freshservice again %d times, want %d", l.reads, tt.wantReads)
			}
			if got := !applied.DeactivationUnconfirmed.IsZero(); got != tt.wantUnconfirmed {
				t.Errorf("deactivation unconfirmed %v, want %v", got, tt.wantUnconfirmed)
			}
			want := "ok"
			if tt.wantErr {
				want = "error"
			}
			if evs := f.audit(t); len(evs) != 1 || evs[0].Outcome != want {
				t.Errorf("audit %v, want one %s", outcomes(evs), want)
			}
			if tt.wantErr || tt.known == nil {
				return
			}
			if u := f.known(t, adaID); u == nil || u.Active {
				t.Errorf("the mirror holds %+v, want her inactive", u)
			}
		})
	}
}

// TestDryRunRecordsAndKeepsNothing: a dry run runs a plan through the same
// executor; every step is recorded as the call a real run would make,
// with its body, and nothing is written: no mirror entry, applied state,
// directory entry or audit event changes.
func TestDryRunRecordsAndKeepsNothing(t *testing.T) {
	roles := &freshservice.AgentFields{Roles: &[]freshservice.RoleAssignment{{RoleID: 3, AssignmentScope: "entire_helpdesk"}}}
	tests := []struct {
		name      string
		known     *freshservice.User
		plan      mapping.Plan
		wantLines []string
	}{
		{
			name: "a new person", plan: mapping.Plan{
				{Kind: mapping.StepCreateRequester, Requester: &freshservice.RequesterFields{Email: freshservice.Ptr("grace@example.com")}},
				{Kind: mapping.StepAddRequesterGroup, GroupID: 30},
			},
			wantLines: []string{`POST /api/v2/requesters {"can_see_all_tickets_from_associated_departments":false,"primary_email":"grace@example.com"}`, "POST /api/v2/requester_groups/30/members/0"},
		},
		{
			name: "a promotion", known: adaRequester(), plan: mapping.Plan{
				{Kind: mapping.StepRemoveRequesterGroup, UserID: adaID, GroupID: 30},
				{Kind: mapping.StepConvertToAgent, UserID: adaID},
				{Kind: mapping.StepUpdateAgent, UserID: adaID, Agent: roles},
				{Kind: mapping.StepJoinAgentGroup, UserID: adaID, GroupID: 40},
			},
			wantLines: []string{
				"DELETE /api/v2/requester_groups/30/members/7",
				"PUT /api/v2/requesters/7/convert_to_agent",
				`PUT /api/v2/agents/7 {"can_see_all_tickets_from_associated_departments":false,"roles":[{"role_id":3,"assignment_scope":"entire_helpdesk"}]}`,
				"GET+PUT /api/v2/groups/40 (add user 7 to/from members)",
			},
		},
		{
			name: "a demotion and deactivation", known: adaAgent(), plan: mapping.Plan{
				{Kind: mapping.StepLeaveAgentGroup, UserID: adaID, GroupID: 40},
				{Kind: mapping.StepConvertToRequester, UserID: adaID},
				{Kind: mapping.StepDeactivateRequester, UserID: adaID},
			},
			wantLines: []string{
				"GET+PUT /api/v2/groups/40 (remove user 7 to/from members)",
				"PUT /api/v2/agents/7/convert_to_requester",
				"DELETE /api/v2/requesters/7",
			},
		},
		{
			name: "an erasure", known: adaAgent(), plan: mapping.Plan{{Kind: mapping.StepForgetAgent, UserID: adaID}},
			wantLines: []string{"DELETE /api/v2/agents/7/forget"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newExecFixture(t, adaRequester())
			mirrorBefore, _ := f.st.GetMirror(t.Context(), adaID)
			recBefore, _ := f.st.GetUser(t.Context(), adaID)
			dirBefore, _ := f.b.dir.Get(adaID)
			var r planRecorder
			applied := mapping.Applied{RequesterGroups: []int64{30}}
			if _, err := planning(&r).run(t.Context(), tt.plan, tt.known, &applied, "7"); err != nil {
				t.Fatalf("run: %v", err)
			}
			var lines, calls []string
			for _, c := range r.calls {
				lines, calls = append(lines, c.line), append(calls, c.call)
			}
			if diff := cmp.Diff(tt.wantLines, lines); diff != "" {
				t.Errorf("planned lines (-want +got):\n%s", diff)
			}
			for i, c := range calls {
				if !strings.HasPrefix(tt.wantLines[i], c) || strings.Contains(c, "{") {
					t.Errorf("planned call %q is not the call of %q", c, tt.wantLines[i])
				}
			}
			if evs := f.audit(t); len(evs) != 0 {
				t.Errorf("a dry run audited %v", outcomes(evs))
			}
			if m, _ := f.st.GetMirror(t.Context(), adaID); string(m.Data) != string(mirrorBefore.Data) {
				t.Errorf("a dry run changed the mirror entry to %s", m.Data)
			}
			entries := 0
			if err := f.st.ForEachMirror(t.Context(), func(store.MirrorEntry) error { entries++; return nil }); err != nil || entries != 1 {
				t.Errorf("a dry run left %d mirror entries (%v), want 1", entries, err)
			}
			if rec, _ := f.st.GetUser(t.Context(), adaID); string(rec.Applied) != string(recBefore.Applied) {
				t.Errorf("a dry run saved applied state %s", rec.Applied)
			}
			if e, _ := f.b.dir.Get(adaID); e.User != dirBefore.User {
				t.Errorf("a dry run changed the directory to %+v", e.User)
			}
		})
	}
}
