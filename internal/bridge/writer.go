package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/mapping"
)

// writer is the Freshservice writes a plan's steps make: one method per
// kind of step (mapping.StepKind). A user in an answer is what
// Freshservice sent back; nil when the answer carries none.
//
// fsWriter sends them through the freshservice client; planRecorder, the
// writer of a dry run, records them and sends nothing.
type writer interface {
	CreateRequester(ctx context.Context, f *freshservice.RequesterFields) (*freshservice.User, error)
	CreateAgent(ctx context.Context, f *freshservice.AgentFields) (*freshservice.User, error)
	UpdateRequester(ctx context.Context, id int64, f *freshservice.RequesterFields) (*freshservice.User, error)
	UpdateAgent(ctx context.Context, id int64, f *freshservice.AgentFields) (*freshservice.User, error)
	ReactivateRequester(ctx context.Context, id int64) (*freshservice.User, error)
	ReactivateAgent(ctx context.Context, id int64) (*freshservice.User, error)
	DeactivateRequester(ctx context.Context, id int64) error
	DeactivateAgent(ctx context.Context, id int64) (*freshservice.User, error)
	ForgetRequester(ctx context.Context, id int64) error
	ForgetAgent(ctx context.Context, id int64) error
	ConvertToAgent(ctx context.Context, id int64) (*freshservice.User, error)
	ConvertToRequester(ctx context.Context, id int64) (*freshservice.User, error)
	AddRequesterGroupMember(ctx context.Context, group, user int64) error
	RemoveRequesterGroupMember(ctx context.Context, group, user int64) error
	// JoinAgentGroup and LeaveAgentGroup change the group's members (or,
	// with observer, its observers): a read-modify-write of the whole list.
	JoinAgentGroup(ctx context.Context, group, user int64, observer bool) error
	LeaveAgentGroup(ctx context.Context, group, user int64, observer bool) error
}

// fsWriter makes the writes through the freshservice client.
type fsWriter struct {
	fs *freshservice.Client
	// extIDRefused is set once Freshservice refused external_id on an
	// agent (the bridge's own flag: agent bodies leave it out from then
	// on); log is where that is said, once.
	extIDRefused *atomic.Bool
	log          *zerolog.Logger
}

var _ writer = fsWriter{}

func (w fsWriter) CreateRequester(ctx context.Context, f *freshservice.RequesterFields) (*freshservice.User, error) {
	u, _, err := w.fs.Requesters.Create(ctx, f)
	return u, err
}

func (w fsWriter) CreateAgent(ctx context.Context, f *freshservice.AgentFields) (*freshservice.User, error) {
	u, _, err := w.fs.Agents.Create(ctx, f)
	if g, retry := w.withoutAgentExternalID(f, err); retry {
		u, _, err = w.fs.Agents.Create(ctx, g)
	}
	return u, err
}

func (w fsWriter) UpdateRequester(ctx context.Context, id int64, f *freshservice.RequesterFields) (*freshservice.User, error) {
	u, _, err := w.fs.Requesters.Update(ctx, id, f)
	return u, err
}

func (w fsWriter) UpdateAgent(ctx context.Context, id int64, f *freshservice.AgentFields) (*freshservice.User, error) {
	u, _, err := w.fs.Agents.Update(ctx, id, f)
	if g, retry := w.withoutAgentExternalID(f, err); retry {
		u, _, err = w.fs.Agents.Update(ctx, id, g)
	}
	return u, err
}

func (w fsWriter) ReactivateRequester(ctx context.Context, id int64) (*freshservice.User, error) {
	u, _, err := w.fs.Requesters.Reactivate(ctx, id)
	return u, err
}

func (w fsWriter) ReactivateAgent(ctx context.Context, id int64) (*freshservice.User, error) {
	u, _, err := w.fs.Agents.Reactivate(ctx, id)
	return u, err
}

func (w fsWriter) DeactivateRequester(ctx context.Context, id int64) error {
	_, err := w.fs.Requesters.Deactivate(ctx, id)
	return err
}

func (w fsWriter) DeactivateAgent(ctx context.Context, id int64) (*freshservice.User, error) {
	u, _, err := w.fs.Agents.Deactivate(ctx, id)
	return u, err
}

func (w fsWriter) ForgetRequester(ctx context.Context, id int64) error {
	_, err := w.fs.Requesters.Forget(ctx, id)
	return err
}

func (w fsWriter) ForgetAgent(ctx context.Context, id int64) error {
	_, err := w.fs.Agents.Forget(ctx, id)
	return err
}

func (w fsWriter) ConvertToAgent(ctx context.Context, id int64) (*freshservice.User, error) {
	u, _, err := w.fs.Requesters.ConvertToAgent(ctx, id)
	return u, err
}

func (w fsWriter) ConvertToRequester(ctx context.Context, id int64) (*freshservice.User, error) {
	u, _, err := w.fs.Agents.ConvertToRequester(ctx, id)
	return u, err
}

func (w fsWriter) AddRequesterGroupMember(ctx context.Context, group, user int64) error {
	_, err := w.fs.RequesterGroups.AddMember(ctx, group, user)
	return err
}

func (w fsWriter) RemoveRequesterGroupMember(ctx context.Context, group, user int64) error {
	_, err := w.fs.RequesterGroups.RemoveMember(ctx, group, user)
	return err
}

func (w fsWriter) JoinAgentGroup(ctx context.Context, group, user int64, observer bool) error {
	return w.changeAgentGroup(ctx, group, observer, map[int64]bool{user: true})
}

func (w fsWriter) LeaveAgentGroup(ctx context.Context, group, user int64, observer bool) error {
	return w.changeAgentGroup(ctx, group, observer, map[int64]bool{user: false})
}

// changeAgentGroup adds or removes users from an agent group's members (or
// observers) by read-modify-write of the whole list, the only way
// Freshservice offers (§5). The caller holds the group's lock.
func (w fsWriter) changeAgentGroup(ctx context.Context, groupID int64, observer bool, change map[int64]bool) error {
	g, _, err := w.fs.Groups.Get(ctx, groupID)
	if err != nil {
		return err
	}
	// In an approval-gated group the PUT must repeat the ids still pending
	// approval, or their requests are dropped (§19): a pending member is a
	// member for this read-modify-write.
	list := g.AllMembers()
	if observer {
		list = g.AllObservers()
	}
	in := map[int64]bool{}
	for _, id := range list {
		in[id] = true
	}
	changed := false
	for id, join := range change {
		if in[id] != join {
			in[id] = join
			changed = true
		}
	}
	if !changed {
		return nil
	}
	var out []int64
	for id, ok := range in {
		if ok {
			out = append(out, id)
		}
	}
	out = dedupe(out)
	f := &freshservice.GroupFields{Members: &out}
	if observer {
		f = &freshservice.GroupFields{Observers: &out}
	}
	_, _, err = w.fs.Groups.Update(ctx, groupID, f)
	return err
}

// withoutAgentExternalID handles an account that refuses external_id on
// agents (400 invalid_field on external_id, §4.1): when err is that
// refusal of an agent body f that sent it, the bridge remembers it (agent
// bodies leave it out from now on) and returns the body without it, to be
// sent again. A person is not refused because their externalId cannot
// be stored on their agent record.
func (w fsWriter) withoutAgentExternalID(f *freshservice.AgentFields, err error) (*freshservice.AgentFields, bool) {
	if err == nil || f == nil || f.ExternalID == nil {
		return nil, false
	}
	var er *freshservice.ErrorResponse
	if !errors.As(err, &er) || er.Status != http.StatusBadRequest {
		return nil, false
	}
	if code, ok := er.FieldCode("external_id"); !ok || code != "invalid_field" {
		return nil, false
	}
	if !w.extIDRefused.Swap(true) {
		w.log.Warn().Msg("Freshservice refuses external_id on agents; agent writes leave it out from now on (set mapping.agent_external_id_read_only to skip the first refusal)")
	}
	c := *f
	c.ExternalID = nil
	return &c, true
}

// planRecorder is the writer of a dry run: it records every write it is
// asked for, as the plan step that makes it, and sends nothing. Nothing
// was made or changed, so no answer carries a user, and none fails.
type planRecorder struct {
	calls []plannedCall
}

var _ writer = (*planRecorder)(nil)

func (r *planRecorder) record(s mapping.Step) {
	m, p := s.Call()
	r.calls = append(r.calls, plannedCall{call: m + " " + p, line: s.String()})
}

// createRequesterGroup records the create of the requester group a SCIM
// group would become (not a plan step: the group's, made before its
// members' plans).
func (r *planRecorder) createRequesterGroup(name string) {
	r.calls = append(r.calls, plannedCall{call: "POST /api/v2/requester_groups",
		line: fmt.Sprintf("POST /api/v2/requester_groups {\"name\":%q}", name)})
}

func (r *planRecorder) CreateRequester(_ context.Context, f *freshservice.RequesterFields) (*freshservice.User, error) {
	r.record(mapping.Step{Kind: mapping.StepCreateRequester, Requester: f})
	return nil, nil
}

func (r *planRecorder) CreateAgent(_ context.Context, f *freshservice.AgentFields) (*freshservice.User, error) {
	r.record(mapping.Step{Kind: mapping.StepCreateAgent, Agent: f})
	return nil, nil
}

func (r *planRecorder) UpdateRequester(_ context.Context, id int64, f *freshservice.RequesterFields) (*freshservice.User, error) {
	r.record(mapping.Step{Kind: mapping.StepUpdateRequester, UserID: id, Requester: f})
	return nil, nil
}

func (r *planRecorder) UpdateAgent(_ context.Context, id int64, f *freshservice.AgentFields) (*freshservice.User, error) {
	r.record(mapping.Step{Kind: mapping.StepUpdateAgent, UserID: id, Agent: f})
	return nil, nil
}

func (r *planRecorder) ReactivateRequester(_ context.Context, id int64) (*freshservice.User, error) {
	r.record(mapping.Step{Kind: mapping.StepReactivateRequester, UserID: id})
	return nil, nil
}

func (r *planRecorder) ReactivateAgent(_ context.Context, id int64) (*freshservice.User, error) {
	r.record(mapping.Step{Kind: mapping.StepReactivateAgent, UserID: id})
	return nil, nil
}

func (r *planRecorder) DeactivateRequester(_ context.Context, id int64) error {
	r.record(mapping.Step{Kind: mapping.StepDeactivateRequester, UserID: id})
	return nil
}

func (r *planRecorder) DeactivateAgent(_ context.Context, id int64) (*freshservice.User, error) {
	r.record(mapping.Step{Kind: mapping.StepDeactivateAgent, UserID: id})
	return nil, nil
}

func (r *planRecorder) ForgetRequester(_ context.Context, id int64) error {
	r.record(mapping.Step{Kind: mapping.StepForgetRequester, UserID: id})
	return nil
}

func (r *planRecorder) ForgetAgent(_ context.Context, id int64) error {
	r.record(mapping.Step{Kind: mapping.StepForgetAgent, UserID: id})
	return nil
}

func (r *planRecorder) ConvertToAgent(_ context.Context, id int64) (*freshservice.User, error) {
	r.record(mapping.Step{Kind: mapping.StepConvertToAgent, UserID: id})
	return nil, nil
}

func (r *planRecorder) ConvertToRequester(_ context.Context, id int64) (*freshservice.User, error) {
	r.record(mapping.Step{Kind: mapping.StepConvertToRequester, UserID: id})
	return nil, nil
}

func (r *planRecorder) AddRequesterGroupMember(_ context.Context, group, user int64) error {
	r.record(mapping.Step{Kind: mapping.StepAddRequesterGroup, UserID: user, GroupID: group})
	return nil
}

func (r *planRecorder) RemoveRequesterGroupMember(_ context.Context, group, user int64) error {
	r.record(mapping.Step{Kind: mapping.StepRemoveRequesterGroup, UserID: user, GroupID: group})
	return nil
}

func (r *planRecorder) JoinAgentGroup(_ context.Context, group, user int64, observer bool) error {
	r.record(mapping.Step{Kind: mapping.StepJoinAgentGroup, UserID: user, GroupID: group, Observer: observer})
	return nil
}

func (r *planRecorder) LeaveAgentGroup(_ context.Context, group, user int64, observer bool) error {
	r.record(mapping.Step{Kind: mapping.StepLeaveAgentGroup, UserID: user, GroupID: group, Observer: observer})
	return nil
}
