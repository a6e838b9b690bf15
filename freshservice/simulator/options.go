package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Options configures a Server. Only APIKey is required.
type Options struct {
	// APIKey is the key clients send as the HTTP Basic username. Any
	// password is accepted, as Freshservice does (reference §1).
	APIKey string
	// Plan selects the rate limits (reference §10): "starter", "growth",
	// "pro" or "enterprise". Empty means "enterprise". It also decides
	// whether the specified_groups assignment scope is available (§4.3).
	Plan string
	// TimeScale is the number of simulated seconds per real second. 0 and 1
	// both mean real time; 60 lets a minute of rate-limit budget pass in one
	// real second. Timestamps in responses and the query index lag run on
	// the simulated clock too.
	TimeScale float64
	// Now is the real clock; nil means time.Now. Tests inject a fake clock to
	// move rate-limit windows without sleeping. The simulated clock is
	// start + (Now()-start)*TimeScale, where start is Now() at New.
	Now func() time.Time
	// FullTimeSeats is the number of active full-time agents the account
	// may have; 0 means unlimited. The default account owner uses one.
	FullTimeSeats int
	// Switches selects the behaviour at every point the reference marks
	// UNCERTAIN. The zero value is the documented default.
	Switches Switches
	// Faults injects failures into /api/v2 requests. The zero value
	// injects nothing.
	Faults Faults
	// NoDefaults starts with an empty account: no roles, departments,
	// locations, agent groups or account owner.
	NoDefaults bool
}

// Switches holds one field per behaviour the reference marks UNCERTAIN. The
// zero value of every field is the simulator's documented default, which is
// what the reference recommends (§15) or, failing that, its best guess.
type Switches struct {
	// DuplicateEmailStatus is the status of a duplicate-email error where
	// the reference still leaves it open (§9, §13 item 2, §15): agent
	// creates and every update. 0 or 409 (default), or 400. A requester
	// create answers 409 whatever this says: a real tenant does (§19).
	DuplicateEmailStatus int `json:"duplicate_email_status,omitempty"`
	// DuplicateEmailBody is the body of a 409 duplicate-email answer, whose
	// field and code are not public (§19): "" or "validation" (default,
	// {"description":"Validation failed","errors":[{"field":...,"code":
	// "duplicate_value"}]}), or "conflict" (a bare {"code":
	// "inconsistent_state","message":...} that names no field). A 400
	// (DuplicateEmailStatus) always has the validation body.
	DuplicateEmailBody string `json:"duplicate_email_body,omitempty"`
	// RequesterListActiveOnly makes GET /requesters without active= return
	// active requesters only. Default false: both active and deactivated,
	// as the official spec says (§3.2).
	RequesterListActiveOnly bool `json:"requester_list_active_only,omitempty"`
	// EmailFilterPrimaryOnly makes the email= list filter on /requesters
	// match primary emails only. Default false: primary or secondary (§3.2).
	EmailFilterPrimaryOnly bool `json:"email_filter_primary_only,omitempty"`
	// AgentDeleteStatus is the status of DELETE /agents/{id} (§4.5): 0 or
	// 200 (default, with the deactivated agent as body), or 204 (no body).
	AgentDeleteStatus int `json:"agent_delete_status,omitempty"`
	// ConvertToRequesterEnvelope is the envelope key of the
	// convert_to_requester response (§4.5): "" or "requester" (default), or
	// "agent". The object is requester-shaped either way.
	ConvertToRequesterEnvelope string `json:"convert_to_requester_envelope,omitempty"`
	// ConvertToAgentExistingStatus is what convert_to_agent answers for a
	// user who is already an agent (§15): 0 or 409 (default, an error), or
	// 200 (a no-op returning the agent unchanged).
	ConvertToAgentExistingStatus int `json:"convert_to_agent_existing_status,omitempty"`
	// RequesterGroupAddStatus is the status of a successful POST
	// /requester_groups/{id}/members/{user_id}, also when the user is
	// already a member: 0 or 200 (default; what a real tenant answers,
	// §19), or 201 or 204 as older sources have it (§6). The body is
	// empty in every case.
	RequesterGroupAddStatus int `json:"requester_group_add_status,omitempty"`
	// CreateStatus is the status of a successful POST that creates an agent,
	// an agent group or a location, whose status no real tenant has shown
	// yet (§2): 0 or 201 (default), or 200 as the old spec says. A requester
	// create answers 201, and a requester-group or department create 200,
	// whatever this says: real tenants do (§19).
	CreateStatus int `json:"create_status,omitempty"`
	// AgentRepeatCalls is what a repeated lifecycle call on an agent
	// answers, which no source has shown (§19, UNCERTAIN): "" or "succeed"
	// (default: DELETE /agents/{id} of a deactivated agent and PUT
	// /agents/{id}/reactivate of an active one change nothing and answer
	// as the first call did), or "fail" (like requesters on a real tenant:
	// 404 for the DELETE, 400 contact_already_active for the reactivate).
	AgentRepeatCalls string `json:"agent_repeat_calls,omitempty"`
	// AgentDeactivateClearsGroups makes agent deactivation drop the agent
	// from every agent group (members, observers, leaders). Default false:
	// member_of and observer_of are kept and come back on reactivation (§4.5).
	AgentDeactivateClearsGroups bool `json:"agent_deactivate_clears_groups,omitempty"`
	// AgentRolesOptional lets POST /agents omit roles (and PUT send an empty
	// roles array). Default false: at least one role is required (§4.3).
	AgentRolesOptional bool `json:"agent_roles_optional,omitempty"`
	// NotFoundBody is the body of every 404 (§9): "" or "empty" (default,
	// no body), "json" ({"code":"not_found","message":...}) or "html" (a
	// text/html page).
	NotFoundBody string `json:"not_found_body,omitempty"`
	// QueryLink makes query= responses carry a Link header when another page
	// exists (§3.3). Default false: no Link; clients stop on a short page.
	QueryLink bool `json:"query_link,omitempty"`
	// QueryIndexLag is the simulated time before a create or change is
	// visible to query= (§3.3, §13 item 5). Until then the user is matched
	// as it was before the change, or not at all if it is new. Default 0.
	QueryIndexLag time.Duration `json:"-"`
	// RateWindow is how the per-minute rate limits are counted (§10): "" or
	// "fixed" (default, fixed simulated-minute windows from the start of the
	// simulation), or "sliding" (the last 60 simulated seconds).
	RateWindow string `json:"rate_window,omitempty"`
	// HourlyLimit makes the account one created before September 2020 and
	// still on the legacy hourly limits (§10, §19): one bucket of
	// HourlyLimit calls per simulated hour (counted as RateWindow says,
	// from the start of the simulation), which every request draws from,
	// list calls included; every response's headers show it, and a 429's
	// Retry-After runs to the end of the hour. Freshservice's were 1,000,
	// 2,500, 5,000 and 7,500 by plan; its documentation shows 3,000.
	// Default 0: the plan's per-minute limits.
	HourlyLimit int `json:"hourly_limit,omitempty"`
	// RestrictedGroupApproval makes every agent group behave, and show, as
	// restricted with approval required (an Access Controls Pro feature,
	// §5, §19): a new member, observer or leader waits in
	// members_pending_approval (agents: member_of_pending_approval) until
	// approved (Server.ApproveAgentGroupMembers, or POST
	// /_simulator/agent_groups/{id}/approve), and a PUT of members (or of
	// an agent's member_of) that does not repeat a pending id drops its
	// request. Default false: only groups seeded or written with
	// restricted and approval_required both true behave so.
	RestrictedGroupApproval bool `json:"restricted_group_approval,omitempty"`
	// SeatExhaustion is what happens when an agent create, an update to
	// occasional:false or a reactivation needs a full-time seat and none is
	// free: "" or "error" (default, SeatLimitStatus), or "downgrade", as in
	// workspace accounts, where Freshservice "automatically allocates an
	// available licence", full-time first, then occasional, with no error
	// (§4.3, §19): the agent is made or kept occasional and the call
	// succeeds.
	SeatExhaustion string `json:"seat_exhaustion,omitempty"`
	// SeatLimitStatus is the status when an action would exceed the
	// full-time agent seats (§4.3, §13 item 10): 0 or 403 (default, code
	// access_denied), or any other 4xx.
	SeatLimitStatus int `json:"seat_limit_status,omitempty"`
	// VIPUserWritable accepts vip_user in requester and agent bodies.
	// Default false: vip_user is read-only and sending it is invalid_field
	// (§3.1 "no evidence that it is writable via API").
	VIPUserWritable bool `json:"vip_user_writable,omitempty"`
	// AgentExternalIDReadOnly rejects external_id in agent bodies with
	// invalid_field. Default false: writable on agents as on requesters
	// (§3.1, §4.1 disagree).
	AgentExternalIDReadOnly bool `json:"agent_external_id_read_only,omitempty"`
	// QueryExtraFields lets query= on /requesters use secondary_emails,
	// which only the old spec lists (§3.3). Default false: it is an
	// unknown field (400). external_id is always a requester query field
	// (§19).
	QueryExtraFields bool `json:"query_extra_fields,omitempty"`
	// RequesterGroupRejectsAgents makes adding an agent to a requester group
	// a 400. Default false: agents can be members (§6).
	RequesterGroupRejectsAgents bool `json:"requester_group_rejects_agents,omitempty"`
	// LocationAddressFlat makes locations read and write the address as
	// flat address_line1, address_line2, city, state, country and zipcode
	// keys, as the old spec does. Default false: a nested "address" object
	// (§8).
	LocationAddressFlat bool `json:"location_address_flat,omitempty"`
	// EmailChangeReadOnly refuses a change of an existing user's primary
	// email with 400 readonly_field, as SSO-managed accounts may (§13 item
	// 17). Default false: emails can be changed.
	EmailChangeReadOnly bool `json:"email_change_read_only,omitempty"`
	// Workspaces makes the account one with several workspaces (§5, §19):
	// IT (id 2, primary), HR (3) and Facilities (4), listed by GET
	// /api/v2/workspaces (modelled: the reference names no endpoint).
	// Agent groups and roles show their workspace_id (the primary one
	// unless seeded or created in another), and POST /groups takes a
	// workspace_id. Default false: one workspace, and no workspace_id on
	// groups and roles, as in the recorded responses of a trial account.
	// Workspace accounts also give an occasional licence when no full-time
	// seat is free: set SeatExhaustion to "downgrade" with it.
	Workspaces bool `json:"workspaces,omitempty"`
	// KeyWorkspaceID, with Workspaces, is the one workspace the API key's
	// owner can see (§19: "a key whose owner has limited workspace
	// visibility sees only its workspaces' data"): GET /groups, /roles and
	// /workspaces list only its objects, and the other groups and roles
	// answer 404 by id. Default 0: every workspace. References in agent
	// bodies (member_of, roles) are checked account-wide.
	KeyWorkspaceID int64 `json:"key_workspace_id,omitempty"`
	// KeyRole is the role of the agent who owns the API key, whose
	// permissions the key carries (§1, §3.2, §19): "" or "admin" (default,
	// everything), "no_manage_agents" (no "Manage Agents" permission: every
	// /agents endpoint but GET /agents/me, convert_to_agent, and
	// include_agents=true on /requesters answer 403 access_denied), or
	// "limited" (lists show part of the account: GET /agents, and agents in
	// GET /requesters?include_agents=true, only the owner and the agents
	// who share an agent group with the owner; GET /groups only the
	// owner's groups). Reads by id and writes are not limited.
	KeyRole string `json:"key_role,omitempty"`
	// CustomFieldRequired makes the user custom field employee_id mandatory
	// (required_for_agents), as real tenants make an employee id (§19): an
	// API create of a requester or an agent without it fails 400
	// missing_field, one error per missing mandatory field, and an update
	// that sets it to null fails too. Default false: it is optional. Fields
	// seeded with "required": true are mandatory whatever this says.
	CustomFieldRequired bool `json:"custom_field_required,omitempty"`
	// RequesterViewOfAgents is what GET /requesters/{id} answers for an
	// agent's id, which only indirect evidence settles (§3.4, §19,
	// UNCERTAIN): "" or "show" (default, 200 with the agent in requester
	// shape and is_agent:true), or "404".
	RequesterViewOfAgents string `json:"requester_view_of_agents,omitempty"`
	// NormalizeOnWrite makes the API rewrite values on create and update,
	// as Freshservice may (§19, UNCERTAIN): phone numbers lose spaces,
	// dashes and parentheses ("+1 (800) 555-0100" is stored as
	// "+18005550100"), and first and last names are trimmed with inner
	// runs of white space collapsed to one space. Default false: values
	// are stored as sent.
	NormalizeOnWrite bool `json:"normalize_on_write,omitempty"`
	// WriteContentTypeRequired answers 415 invalid_content_type to every
	// POST and PUT that does not say Content-Type: application/json, those
	// without a body included (convert_to_agent, reactivate, a requester
	// group member add), as Freshservice's sister product Freshdesk does
	// (§19, UNCERTAIN). Default false: only a non-JSON body is refused (§1).
	WriteContentTypeRequired bool `json:"write_content_type_required,omitempty"`
}

// Values accepted by the string switches.
const (
	NotFoundEmpty = "empty"
	NotFoundJSON  = "json"
	NotFoundHTML  = "html"

	RateWindowFixed   = "fixed"
	RateWindowSliding = "sliding"

	EnvelopeRequester = "requester"
	EnvelopeAgent     = "agent"

	DuplicateBodyValidation = "validation"
	DuplicateBodyConflict   = "conflict"

	RepeatSucceed = "succeed"
	RepeatFail    = "fail"

	RequesterViewShow     = "show"
	RequesterViewNotFound = "404"

	SeatsError     = "error"
	SeatsDowngrade = "downgrade"
)

// switchesJSON is the wire form of Switches: durations in milliseconds,
// like Faults.
type switchesJSON struct {
	switchesAlias
	QueryIndexLagMS int64 `json:"query_index_lag_ms,omitempty"`
}

type switchesAlias Switches

// MarshalJSON writes QueryIndexLag as query_index_lag_ms.
func (sw Switches) MarshalJSON() ([]byte, error) {
	return json.Marshal(switchesJSON{switchesAlias: switchesAlias(sw), QueryIndexLagMS: sw.QueryIndexLag.Milliseconds()})
}

// UnmarshalJSON reads the form MarshalJSON writes; unknown keys are errors so
// that a misspelt switch is not silently ignored.
func (sw *Switches) UnmarshalJSON(data []byte) error {
	var j switchesJSON
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("switches: %w", err)
	}
	*sw = Switches(j.switchesAlias)
	sw.QueryIndexLag = time.Duration(j.QueryIndexLagMS) * time.Millisecond
	return nil
}

// Validate reports every switch set to a value the simulator does not know.
func (sw Switches) Validate() error {
	var errs []error
	oneOf := func(name string, v int, allowed ...int) {
		if v == 0 {
			return
		}
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		errs = append(errs, fmt.Errorf("switch %s: %d is not one of %v", name, v, allowed))
	}
	oneOfStr := func(name, v string, allowed ...string) {
		if v == "" {
			return
		}
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		errs = append(errs, fmt.Errorf("switch %s: %q is not one of %q", name, v, allowed))
	}
	oneOf("duplicate_email_status", sw.DuplicateEmailStatus, 409, 400)
	oneOf("agent_delete_status", sw.AgentDeleteStatus, 200, 204)
	oneOf("convert_to_agent_existing_status", sw.ConvertToAgentExistingStatus, 409, 200)
	oneOf("requester_group_add_status", sw.RequesterGroupAddStatus, 200, 201, 204)
	oneOf("create_status", sw.CreateStatus, 201, 200)
	if sw.SeatLimitStatus != 0 && (sw.SeatLimitStatus < 400 || sw.SeatLimitStatus > 499) {
		errs = append(errs, fmt.Errorf("switch seat_limit_status: %d is not a 4xx status", sw.SeatLimitStatus))
	}
	oneOfStr("convert_to_requester_envelope", sw.ConvertToRequesterEnvelope, EnvelopeRequester, EnvelopeAgent)
	oneOfStr("not_found_body", sw.NotFoundBody, NotFoundEmpty, NotFoundJSON, NotFoundHTML)
	oneOfStr("rate_window", sw.RateWindow, RateWindowFixed, RateWindowSliding)
	oneOfStr("duplicate_email_body", sw.DuplicateEmailBody, DuplicateBodyValidation, DuplicateBodyConflict)
	oneOfStr("agent_repeat_calls", sw.AgentRepeatCalls, RepeatSucceed, RepeatFail)
	if sw.KeyWorkspaceID != 0 && !knownWorkspace(sw.KeyWorkspaceID) {
		errs = append(errs, fmt.Errorf("switch key_workspace_id: %d is not a workspace (2, 3 or 4)", sw.KeyWorkspaceID))
	}
	oneOfStr("key_role", sw.KeyRole, KeyRoleAdmin, KeyRoleNoManageAgents, KeyRoleLimited)
	oneOfStr("seat_exhaustion", sw.SeatExhaustion, SeatsError, SeatsDowngrade)
	oneOfStr("requester_view_of_agents", sw.RequesterViewOfAgents, RequesterViewShow, RequesterViewNotFound)
	if sw.HourlyLimit < 0 {
		errs = append(errs, fmt.Errorf("switch hourly_limit: %d is negative", sw.HourlyLimit))
	}
	if sw.QueryIndexLag < 0 {
		errs = append(errs, fmt.Errorf("switch query_index_lag: %v is negative", sw.QueryIndexLag))
	}
	return errors.Join(errs...)
}

// Accessors that turn zero values into the documented defaults, so the
// handlers never repeat the defaulting.

func (sw Switches) duplicateStatus() int {
	if sw.DuplicateEmailStatus == 400 {
		return 400
	}
	return 409
}

func (sw Switches) createStatus() int {
	if sw.CreateStatus == 200 {
		return 200
	}
	return 201
}

func (sw Switches) seatStatus() int {
	if sw.SeatLimitStatus >= 400 && sw.SeatLimitStatus <= 499 {
		return sw.SeatLimitStatus
	}
	return 403
}

func (sw Switches) requesterGroupAddStatus() int {
	switch sw.RequesterGroupAddStatus {
	case 201, 204:
		return sw.RequesterGroupAddStatus
	}
	return 200
}

func (sw Switches) rateMode() rateMode {
	return rateMode{sliding: sw.RateWindow == RateWindowSliding, hourly: max(sw.HourlyLimit, 0)}
}

// Faults injects failures into /api/v2 requests, after authentication and
// rate limiting. Each request draws once: with probability Rate429 it gets a
// 429, else with Rate5xx a 500, 502 or 503, else with RateDrop its connection
// is closed without a response, else (writes only) with RateCommitThenFail
// the write is performed and then the connection is dropped or a 5xx is
// returned. The rates are cumulative, so their sum should not exceed 1.
type Faults struct {
	Rate429, Rate5xx, RateDrop, RateCommitThenFail float64
	// Latency is added to every /api/v2 request, plus a uniform random
	// duration in [0, Jitter]. Both are real time, not simulated.
	Latency, Jitter time.Duration
	// Seed seeds the RNG, so that a run is reproducible when its requests
	// arrive in the same order.
	Seed int64
}

type faultsJSON struct {
	Rate429            float64 `json:"rate_429"`
	Rate5xx            float64 `json:"rate_5xx"`
	RateDrop           float64 `json:"rate_drop"`
	RateCommitThenFail float64 `json:"rate_commit_then_fail"`
	LatencyMS          int64   `json:"latency_ms"`
	JitterMS           int64   `json:"jitter_ms"`
	Seed               int64   `json:"seed"`
}

// MarshalJSON writes the control-endpoint form: rates, latency_ms, jitter_ms
// and seed.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		Rate429: f.Rate429, Rate5xx: f.Rate5xx, RateDrop: f.RateDrop, RateCommitThenFail: f.RateCommitThenFail,
		LatencyMS: f.Latency.Milliseconds(), JitterMS: f.Jitter.Milliseconds(), Seed: f.Seed,
	})
}

// UnmarshalJSON reads the form MarshalJSON writes. Unknown keys are errors.
func (f *Faults) UnmarshalJSON(data []byte) error {
	var j faultsJSON
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	*f = Faults{
		Rate429: j.Rate429, Rate5xx: j.Rate5xx, RateDrop: j.RateDrop, RateCommitThenFail: j.RateCommitThenFail,
		Latency: time.Duration(j.LatencyMS) * time.Millisecond, Jitter: time.Duration(j.JitterMS) * time.Millisecond,
		Seed: j.Seed,
	}
	return nil
}

// Validate reports rates outside [0, 1], rates that sum above 1, and negative
// durations.
func (f Faults) Validate() error {
	var errs []error
	sum := 0.0
	for _, r := range []struct {
		name string
		v    float64
	}{{"rate_429", f.Rate429}, {"rate_5xx", f.Rate5xx}, {"rate_drop", f.RateDrop}, {"rate_commit_then_fail", f.RateCommitThenFail}} {
		if r.v < 0 || r.v > 1 || r.v != r.v {
			errs = append(errs, fmt.Errorf("fault %s: %v is not a probability in [0, 1]", r.name, r.v))
		}
		sum += r.v
	}
	if sum > 1+1e-9 {
		errs = append(errs, fmt.Errorf("faults: the rates sum to %v, more than 1", sum))
	}
	if f.Latency < 0 || f.Jitter < 0 {
		errs = append(errs, errors.New("faults: latency and jitter must not be negative"))
	}
	return errors.Join(errs...)
}

// planLimits are the per-minute rate limits of a plan (reference §10).
type planLimits struct {
	overall, list int
}

var plans = map[string]planLimits{
	"starter":    {100, 40},
	"growth":     {200, 70},
	"pro":        {400, 120},
	"enterprise": {500, 140},
}

// validate checks the options and fills in defaults.
func (o *Options) validate() error {
	var errs []error
	if o.APIKey == "" {
		errs = append(errs, errors.New("an API key is required"))
	}
	if o.Plan == "" {
		o.Plan = "enterprise"
	}
	o.Plan = strings.ToLower(o.Plan)
	if _, ok := plans[o.Plan]; !ok {
		errs = append(errs, fmt.Errorf("plan %q is not one of starter, growth, pro, enterprise", o.Plan))
	}
	if o.TimeScale < 0 || o.TimeScale != o.TimeScale {
		errs = append(errs, fmt.Errorf("time scale %v must not be negative", o.TimeScale))
	}
	if o.TimeScale == 0 {
		o.TimeScale = 1
	}
	if o.FullTimeSeats < 0 {
		errs = append(errs, fmt.Errorf("full-time seats %d must not be negative", o.FullTimeSeats))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := o.Switches.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := o.Faults.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	return nil
}
