package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/fault"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/mapping"
	"github.com/fsbridge/fsbridge/scim"
)

// upstreamWords is text only Freshservice wrote; it must never reach the
// IdP or the audit trail.
const upstreamWords = "UPSTREAM-WORDS"

func fsAnswer(method, route string, status int, code string, fields ...string) *freshservice.ErrorResponse {
	er := &freshservice.ErrorResponse{Method: method, Route: route, Status: status, Code: code,
		Description: upstreamWords, Message: upstreamWords}
	for i := 0; i+1 < len(fields); i += 2 {
		er.Errors = append(er.Errors, freshservice.FieldError{Field: fields[i], Code: fields[i+1], Message: upstreamWords})
	}
	return er
}

func failed(kind mapping.StepKind, user, group int64, err error) error {
	return &stepError{step: mapping.Step{Kind: kind, UserID: user, GroupID: group}, err: err}
}

// TestToSCIMError is what the IdP is answered for each failure: status,
// scimType, the fixed words and Retry-After (DESIGN D8).
func TestToSCIMError(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want scim.Error // Err is not compared
	}{
		{"DuplicateEmail",
			failed(mapping.StepCreateRequester, 0, 0, fsAnswer("POST", "/api/v2/requesters", 409, "", "primary_email", "duplicate_value")),
			scim.Error{Status: 409, ScimType: scim.TypeUniqueness, Detail: "Freshservice already has this primary_email: POST /api/v2/requesters rejected it (duplicate_value)"}},
		{"DuplicateWithoutField",
			failed(mapping.StepUpdateRequester, 42, 0, fsAnswer("PUT", "/api/v2/requesters/{id}", 400, "duplicate_value")),
			scim.Error{Status: 409, ScimType: scim.TypeUniqueness, Detail: "Freshservice already has this email: PUT /api/v2/requesters/42 rejected it (duplicate_value)"}},
		{"FieldsRefused",
			failed(mapping.StepUpdateRequester, 42, 0, fsAnswer("PUT", "/api/v2/requesters/{id}", 400, "invalid_request", "time_zone", "invalid_value", "language", "invalid_value")),
			scim.Error{Status: 400, ScimType: scim.TypeInvalidValue, Detail: "Freshservice rejected PUT /api/v2/requesters/42; field time_zone: invalid_value; field language: invalid_value (invalid_request)"}},
		{"BareConflictToACreateIsUniqueness",
			failed(mapping.StepCreateRequester, 0, 0, fsAnswer("POST", "/api/v2/requesters", 409, "inconsistent_state")),
			scim.Error{Status: 409, ScimType: scim.TypeUniqueness, Detail: "Freshservice already has this email: POST /api/v2/requesters answered 409"}},
		{"BareConflictIsARefusal",
			failed(mapping.StepConvertToAgent, 7, 0, fsAnswer("PUT", "/api/v2/requesters/{id}/convert_to_agent", 409, "inconsistent_state")),
			scim.Error{Status: 400, ScimType: scim.TypeInvalidValue, Detail: "Freshservice rejected PUT /api/v2/requesters/7/convert_to_agent (inconsistent_state)"}},
		{"KeyRefused",
			failed(mapping.StepUpdateRequester, 42, 0, fsAnswer("PUT", "/api/v2/requesters/{id}", 401, "invalid_credentials")),
			scim.Error{Status: 503, Detail: "Freshservice refused the bridge's API key; the administrator must fix the bridge's configuration", RetryAfter: time.Minute}},
		{"NoSeat",
			failed(mapping.StepConvertToAgent, 7, 0, fsAnswer("PUT", "/api/v2/requesters/{id}/convert_to_agent", 403, "access_denied")),
			scim.Error{Status: 403, Detail: "Freshservice refused to make this user an agent: no agent seat is left, or the API key's agent may not manage agents"}},
		{"Permission",
			failed(mapping.StepJoinAgentGroup, 7, 5, fsAnswer("PUT", "/api/v2/groups/{id}", 403, "access_denied")),
			scim.Error{Status: 503, Detail: "Freshservice refused GET+PUT /api/v2/groups/5: the API key's agent lacks a permission", RetryAfter: time.Minute}},
		{"FeatureUnnamed",
			failed(mapping.StepJoinAgentGroup, 7, 5, fsAnswer("PUT", "/api/v2/groups/{id}", 403, "require_feature")),
			scim.Error{Status: 403, Detail: "Freshservice refused GET+PUT /api/v2/groups/5: it needs a feature this account's plan lacks (Freshservice did not name it); upgrade the plan, or change the rule that asks for it (fsbridge check lists such rules)"}},
		{"FeatureNamedWithItsPlans",
			failed(mapping.StepCreateAgent, 0, 0, &freshservice.ErrorResponse{Method: "POST", Route: "/api/v2/agents", Status: 403, Code: "require_feature",
				Message: "The Specified Groups Scope feature(s) is/are not supported in your plan. Please upgrade your account to use it."}),
			scim.Error{Status: 403, Detail: "Freshservice refused POST /api/v2/agents: it needs the Specified Groups Scope feature (plans: Pro, Enterprise); this account's plan lacks it; upgrade the plan, or change the rule that asks for it (fsbridge check lists such rules)"}},
		{"Gone",
			failed(mapping.StepDeactivateRequester, 9, 0, fsAnswer("DELETE", "/api/v2/requesters/{id}", 404, "")),
			scim.Error{Status: 404, Detail: "Freshservice no longer has this object (DELETE /api/v2/requesters/9 answered 404)"}},
		{"ServerFailed",
			failed(mapping.StepUpdateRequester, 9, 0, fsAnswer("PUT", "/api/v2/requesters/{id}", 502, "")),
			scim.Error{Status: 503, Detail: "Freshservice failed (PUT /api/v2/requesters/9); the change is saved and will be retried", RetryAfter: 30 * time.Second}},
		{"NoAnswerOutsideAPlan",
			&freshservice.TransportError{Method: "GET", Route: "/api/v2/requesters"},
			scim.Error{Status: 503, Detail: "Freshservice did not answer in time (the Freshservice call); the change is saved and will be retried", RetryAfter: 30 * time.Second}},
		{"RateLimitedAtLeastASecond",
			&freshservice.RateLimitError{Bucket: freshservice.BucketOverall, RetryAfter: 200 * time.Millisecond, Upstream: true},
			scim.Error{Status: 429, Detail: "Freshservice's API budget is used up for now; retry after the time given", RetryAfter: time.Second}},
		{"RateLimited",
			&freshservice.RateLimitError{Bucket: freshservice.BucketOverall, RetryAfter: 42 * time.Second},
			scim.Error{Status: 429, Detail: "Freshservice's API budget is used up for now; retry after the time given", RetryAfter: 42 * time.Second}},
		{"IdPHungUp",
			failed(mapping.StepUpdateRequester, 9, 0, fmt.Errorf("freshservice: PUT: %w", context.Canceled)),
			scim.Error{Status: 503, Detail: "the client closed the request before PUT /api/v2/requesters/9 finished; what Freshservice did is recorded, and the rest of the change is saved and finished in the background", RetryAfter: 30 * time.Second}},
		{"TimeRanOut",
			failed(mapping.StepUpdateRequester, 9, 0, fmt.Errorf("freshservice: PUT: %w", context.DeadlineExceeded)),
			scim.Error{Status: 503, Detail: "the request ran out of time during PUT /api/v2/requesters/9; what Freshservice did is recorded, and the rest of the change is saved and finished in the background", RetryAfter: 30 * time.Second}},
		{"NotFreshservices",
			errors.New("store: disk I/O error"),
			scim.Error{Status: 500, Detail: "internal error; the bridge log has the details under this request's id"}},
		{"BridgesOwnRefusal",
			&fault.Error{Kind: fault.NoSeat, Field: "rules.max_agents", Detail: "no full-time agent seat left: rules.max_agents is 2"},
			scim.Error{Status: 403, Detail: "no full-time agent seat left: rules.max_agents is 2"}},
		{"ProtectedUser",
			&fault.Error{Kind: fault.Protected, Detail: "user 1 is protected"},
			scim.Error{Status: 409, Detail: "user 1 is protected"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := toSCIMError(c.err)
			if got == nil {
				t.Fatal("nil")
			}
			cmpGot := *got
			cmpGot.Err = nil
			if d := cmp.Diff(c.want, cmpGot); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if strings.Contains(got.Detail, upstreamWords) {
				t.Errorf("detail %q carries Freshservice's words", got.Detail)
			}
			// The failure stays reachable for the log and the audit.
			if got.Err == nil || (!errors.Is(got, c.err) && !errors.As(got, new(*fault.Error))) {
				t.Errorf("the cause is lost: %v", got.Err)
			}
		})
	}
}

func TestToSCIMErrorPassesAnAnswerOn(t *testing.T) {
	se := scim.Errorf(http.StatusBadRequest, scim.TypeInvalidValue, "timeFormat: 13h is not 12h or 24h")
	for _, err := range []error{se, fmt.Errorf("checking: %w", se)} {
		if got := toSCIMError(err); got != se {
			t.Errorf("toSCIMError(%v) = %+v, want the answer already made", err, got)
		}
	}
}

// TestPermanent is the retry decision: a refusal restores what the
// request saved and is not retried; anything else is finished in the
// background.
func TestPermanent(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"FieldRefused", failed(mapping.StepUpdateRequester, 1, 0, fsAnswer("PUT", "/api/v2/requesters/{id}", 400, "", "time_zone", "invalid_value")), true},
		{"Duplicate", failed(mapping.StepCreateRequester, 0, 0, fsAnswer("POST", "/api/v2/requesters", 409, "", "primary_email", "duplicate_value")), true},
		{"NoSeat", failed(mapping.StepConvertToAgent, 1, 0, fsAnswer("PUT", "/api/v2/requesters/{id}/convert_to_agent", 403, "access_denied")), true},
		{"Forbidden", failed(mapping.StepJoinAgentGroup, 1, 5, fsAnswer("PUT", "/api/v2/groups/{id}", 403, "")), false},
		{"RequiresFeature", failed(mapping.StepCreateAgent, 0, 0, fsAnswer("POST", "/api/v2/agents", 403, "require_feature")), true},
		{"KeyRefused", fsAnswer("PUT", "/api/v2/requesters/{id}", 401, ""), false},
		{"Gone", fsAnswer("DELETE", "/api/v2/requesters/{id}", 404, ""), false},
		{"ServerFailed", fsAnswer("PUT", "/api/v2/requesters/{id}", 500, ""), false},
		{"NoAnswer", &freshservice.TransportError{Method: "PUT", Route: "/api/v2/requesters/{id}"}, false},
		{"RateLimited", &freshservice.RateLimitError{RetryAfter: time.Second, Upstream: true}, false},
		{"Canceled", context.Canceled, false},
		{"Internal", errors.New("boom"), false},
		{"ProtectedUser", scimError(&fault.Error{Kind: fault.Protected, Detail: "protected"}), true},
		{"SeatCapAnswer", scimError(&fault.Error{Kind: fault.NoSeat, Field: "rules.max_agents", Detail: "no seat"}), true},
		// Answers made without a *fault.Error keep the kind of their status.
		{"ValueAnswer", scim.Errorf(http.StatusBadRequest, scim.TypeInvalidValue, "bad"), true},
		{"UniquenessAnswer", scim.Errorf(http.StatusConflict, scim.TypeUniqueness, "taken"), true},
		{"GroupSeatCapAnswer", scim.Errorf(http.StatusForbidden, "", "no full-time agent seat left"), true},
		{"NotFoundAnswer", scim.NotFound("User", "9"), false},
		{"DryRunAnswer", &scim.Error{Status: http.StatusAccepted, Detail: "dry run"}, false},
		{"StoreAnswer", scim.AsError(errors.New("disk")), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := permanent(c.err); got != c.want {
				t.Errorf("permanent = %v, want %v (kind %q)", got, c.want, kindOf(c.err))
			}
		})
	}
}

// TestFailureWords: the audit detail of a failed step, written from the
// failure's fields, and the fields recorded beside it.
func TestFailureWords(t *testing.T) {
	for _, c := range []struct {
		name   string
		step   mapping.Step
		err    error
		detail string
		fields store.AuditEvent // the failure fields auditFields sets
	}{
		{"FieldRefused", mapping.Step{Kind: mapping.StepUpdateRequester, UserID: 42},
			fsAnswer("PUT", "/api/v2/requesters/{id}", 400, "", "time_zone", "invalid_value"),
			"PUT /api/v2/requesters/42 failed: Freshservice answered 400 Bad Request; field time_zone: invalid_value",
			store.AuditEvent{Call: "PUT /api/v2/requesters/42", Kind: "invalid", Status: 400, Field: "time_zone", Code: "invalid_value"}},
		{"SeveralFields", mapping.Step{Kind: mapping.StepUpdateRequester, UserID: 42},
			fsAnswer("PUT", "/api/v2/requesters/{id}", 400, "invalid_request", "vip_user", "invalid_field", "language", "invalid_value"),
			"PUT /api/v2/requesters/42 failed: Freshservice answered 400 Bad Request (invalid_request); field vip_user: invalid_field; field language: invalid_value",
			store.AuditEvent{Call: "PUT /api/v2/requesters/42", Kind: "invalid", Status: 400, Field: "vip_user", Code: "invalid_field",
				Fields: []store.AuditField{{Field: "vip_user", Code: "invalid_field"}, {Field: "language", Code: "invalid_value"}, {Code: "invalid_request"}}}},
		{"TopLevelCode", mapping.Step{Kind: mapping.StepConvertToAgent, UserID: 7},
			fsAnswer("PUT", "/api/v2/requesters/{id}/convert_to_agent", 403, "access_denied"),
			"PUT /api/v2/requesters/7/convert_to_agent failed: Freshservice answered 403 Forbidden (access_denied)",
			store.AuditEvent{Call: "PUT /api/v2/requesters/7/convert_to_agent", Kind: "no_seat", Status: 403, Code: "access_denied"}},
		{"Budget", mapping.Step{Kind: mapping.StepUpdateRequester, UserID: 9},
			&freshservice.RateLimitError{Bucket: freshservice.BucketOverall, RetryAfter: 30 * time.Second},
			"PUT /api/v2/requesters/9 failed: no API budget left (bucket overall), retry after 30s",
			store.AuditEvent{Call: "PUT /api/v2/requesters/9", Kind: "rate_limited"}},
		{"NoAnswer", mapping.Step{Kind: mapping.StepCreateRequester},
			&freshservice.TransportError{Method: "POST", Route: "/api/v2/requesters"},
			"POST /api/v2/requesters failed: Freshservice did not answer (connection failed or dropped)",
			store.AuditEvent{Call: "POST /api/v2/requesters", Kind: "transient"}},
		{"Unreadable", mapping.Step{Kind: mapping.StepCreateRequester},
			&freshservice.DecodeError{Method: "POST", Route: "/api/v2/requesters"},
			"POST /api/v2/requesters failed: Freshservice sent an unreadable answer",
			store.AuditEvent{Call: "POST /api/v2/requesters", Kind: "transient"}},
		{"IdPHungUp", mapping.Step{Kind: mapping.StepUpdateRequester, UserID: 9},
			fmt.Errorf("x: %w", context.Canceled),
			"PUT /api/v2/requesters/9 failed: the client closed the request before Freshservice answered",
			store.AuditEvent{Call: "PUT /api/v2/requesters/9", Kind: "canceled"}},
		{"TimeRanOut", mapping.Step{Kind: mapping.StepUpdateRequester, UserID: 9},
			fmt.Errorf("x: %w", context.DeadlineExceeded),
			"PUT /api/v2/requesters/9 failed: the request ran out of time",
			store.AuditEvent{Call: "PUT /api/v2/requesters/9", Kind: "canceled"}},
		{"Internal", mapping.Step{Kind: mapping.StepUpdateRequester, UserID: 9},
			errors.New("boom"),
			"PUT /api/v2/requesters/9 failed: internal error",
			store.AuditEvent{Call: "PUT /api/v2/requesters/9", Kind: "internal"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := describeFailure(c.step, c.err); got != c.detail {
				t.Errorf("describeFailure =\n%s\nwant\n%s", got, c.detail)
			}
			var ev store.AuditEvent
			auditFields(&ev, stepFault(c.step, c.err))
			if d := cmp.Diff(c.fields, ev); d != "" {
				t.Errorf("audit fields (-want +got):\n%s", d)
			}
			// The same failure, once it has become the IdP's answer,
			// records the same fields.
			var again store.AuditEvent
			var f *fault.Error
			if errors.As(toSCIMError(&stepError{step: c.step, err: stepFault(c.step, c.err)}), &f) {
				auditFields(&again, f)
			}
			if d := cmp.Diff(c.fields, again); d != "" {
				t.Errorf("audit fields from the SCIM answer (-want +got):\n%s", d)
			}
		})
	}
}

func TestStepFaultDoesNotChangeASharedError(t *testing.T) {
	shared := &fault.Error{Kind: fault.Transient}
	f := stepFault(mapping.Step{Kind: mapping.StepUpdateRequester, UserID: 3}, shared)
	if f.Call != "PUT /api/v2/requesters/3" || shared.Call != "" {
		t.Errorf("step fault call %q, shared call %q", f.Call, shared.Call)
	}
	named := &fault.Error{Kind: fault.Transient, Call: "GET+PUT /api/v2/groups/5"}
	if got := stepFault(mapping.Step{Kind: mapping.StepJoinAgentGroup, GroupID: 5}, named); got != named {
		t.Error("an error that names its call was copied")
	}
}
