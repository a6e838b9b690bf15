package fault_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/fault"
)

func answer(method, route string, status int, code string, fields ...freshservice.FieldError) *freshservice.ErrorResponse {
	return &freshservice.ErrorResponse{Method: method, Route: route, Status: status, Code: code, Errors: fields,
		Description: "Validation failed", Message: "words Freshservice wrote"}
}

func field(name, code string) freshservice.FieldError {
	return freshservice.FieldError{Field: name, Code: code, Message: "It should be one of these values: ..."}
}

// TestFrom is the classification of every error the Freshservice client
// returns: what the IdP is answered, whether it is retried and what the
// audit trail records all follow from it.
func TestFrom(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want fault.Error // Op, Err ignored
	}{
		{"ValidationOneField",
			answer("PUT", "/api/v2/requesters/{id}", 400, "", field("time_zone", "invalid_value")),
			fault.Error{Kind: fault.Invalid, Status: 400, Field: "time_zone", Code: "invalid_value",
				Fields: []fault.FieldError{{"time_zone", "invalid_value"}}}},
		{"ValidationTwoFieldsInOrder",
			answer("PUT", "/api/v2/requesters/{id}", 400, "", field("vip_user", "invalid_field"), field("language", "invalid_value")),
			fault.Error{Kind: fault.Invalid, Status: 400, Field: "vip_user", Code: "invalid_field",
				Fields: []fault.FieldError{{"vip_user", "invalid_field"}, {"language", "invalid_value"}}}},
		{"TopLevelCodeOnly",
			answer("PUT", "/api/v2/requesters/{id}/reactivate", 400, "contact_already_active"),
			fault.Error{Kind: fault.Invalid, Status: 400, Code: "contact_already_active"}},
		{"TopLevelCodeAfterFields",
			answer("PUT", "/api/v2/requesters/{id}", 400, "invalid_request", field("language", "invalid_value")),
			fault.Error{Kind: fault.Invalid, Status: 400, Field: "language", Code: "invalid_value",
				Fields: []fault.FieldError{{"language", "invalid_value"}, {"", "invalid_request"}}}},
		{"DuplicateEmail409",
			answer("POST", "/api/v2/requesters", 409, "", field("primary_email", "duplicate_value")),
			fault.Error{Kind: fault.Conflict, Status: 409, Field: "primary_email", Code: "duplicate_value",
				Fields: []fault.FieldError{{"primary_email", "duplicate_value"}}}},
		{"DuplicateEmail400",
			answer("PUT", "/api/v2/requesters/{id}", 400, "", field("secondary_emails", "duplicate_value")),
			fault.Error{Kind: fault.Conflict, Status: 400, Field: "secondary_emails", Code: "duplicate_value",
				Fields: []fault.FieldError{{"secondary_emails", "duplicate_value"}}}},
		{"Bare409ToCreate",
			answer("POST", "/api/v2/requesters", 409, "inconsistent_state"),
			fault.Error{Kind: fault.Conflict, Status: 409, Code: "inconsistent_state"}},
		{"KeyRefused",
			answer("GET", "/api/v2/agents/me", 401, "invalid_credentials"),
			fault.Error{Kind: fault.Unavailable, Status: 401, Code: "invalid_credentials"}},
		{"NoSeatOnConvert",
			answer("PUT", "/api/v2/requesters/{id}/convert_to_agent", 403, "access_denied"),
			fault.Error{Kind: fault.NoSeat, Status: 403, Code: "access_denied"}},
		{"NoSeatOnAgentCreate",
			answer("POST", "/api/v2/agents", 403, "access_denied"),
			fault.Error{Kind: fault.NoSeat, Status: 403, Code: "access_denied"}},
		{"NoSeatOnAgentUpdate",
			answer("PUT", "/api/v2/agents/{id}", 403, ""),
			fault.Error{Kind: fault.NoSeat, Status: 403}},
		{"NoSeatOnAgentReactivate",
			answer("PUT", "/api/v2/agents/{id}/reactivate", 403, "access_denied"),
			fault.Error{Kind: fault.NoSeat, Status: 403, Code: "access_denied"}},
		{"FeatureUnnamed",
			answer("PUT", "/api/v2/groups/{id}", 403, "require_feature"),
			fault.Error{Kind: fault.RequiresFeature, Status: 403, Code: "require_feature"}},
		{"FeatureOnAgentCreateIsNoSeatProblem",
			&freshservice.ErrorResponse{Method: "POST", Route: "/api/v2/agents", Status: 403, Code: "require_feature",
				Message: "The Specified Groups Scope feature(s) is/are not supported in your plan. Please upgrade your account to use it."},
			fault.Error{Kind: fault.RequiresFeature, Status: 403, Code: "require_feature", Feature: "Specified Groups Scope"}},
		{"FeatureOnAgentUpdate",
			&freshservice.ErrorResponse{Method: "PUT", Route: "/api/v2/agents/{id}", Status: 403, Code: "require_feature",
				Message: "The Access Controls Pro feature(s) is/are not supported in your plan. Please upgrade your account to use it."},
			fault.Error{Kind: fault.RequiresFeature, Status: 403, Code: "require_feature", Feature: "Access Controls Pro"}},
		{"ForbiddenDemote",
			answer("PUT", "/api/v2/agents/{id}/convert_to_requester", 403, "access_denied"),
			fault.Error{Kind: fault.Forbidden, Status: 403, Code: "access_denied"}},
		{"NotFound",
			answer("DELETE", "/api/v2/requesters/{id}", 404, ""),
			fault.Error{Kind: fault.NotFound, Status: 404}},
		{"ServerError",
			answer("PUT", "/api/v2/requesters/{id}", 502, ""),
			fault.Error{Kind: fault.Transient, Status: 502}},
		{"Upstream429",
			&freshservice.RateLimitError{Method: "GET", Route: "/api/v2/requesters", Bucket: freshservice.BucketOverall, RetryAfter: 17 * time.Second, Upstream: true},
			fault.Error{Kind: fault.RateLimited, Status: 429, RetryAfter: 17 * time.Second}},
		{"BudgetSpent",
			&freshservice.RateLimitError{Bucket: freshservice.BucketOverall, RetryAfter: 30 * time.Second},
			fault.Error{Kind: fault.RateLimited, RetryAfter: 30 * time.Second}},
		{"NoAnswer",
			&freshservice.TransportError{Method: "POST", Route: "/api/v2/requesters"},
			fault.Error{Kind: fault.Transient}},
		{"UnreadableAnswer",
			fmt.Errorf("creating: %w", &freshservice.DecodeError{Method: "POST", Route: "/api/v2/requesters"}),
			fault.Error{Kind: fault.Transient}},
		{"IdPHungUp",
			fmt.Errorf("freshservice: PUT /api/v2/requesters/{id}: %w", context.Canceled),
			fault.Error{Kind: fault.Canceled}},
		{"TimeRanOut",
			fmt.Errorf("waiting for user:42: %w", context.DeadlineExceeded),
			fault.Error{Kind: fault.Canceled}},
		{"NotTheClients",
			errors.New("store: disk I/O error"),
			fault.Error{Kind: fault.Internal}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := fault.From("user.update", c.err)
			if got == nil {
				t.Fatal("From returned nil")
			}
			if got.Op != "user.update" || got.Err != c.err {
				t.Errorf("Op %q Err %v, want user.update and the error given", got.Op, got.Err)
			}
			if d := cmp.Diff(c.want, *got, cmpopts.IgnoreFields(fault.Error{}, "Op", "Err")); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if k := fault.KindOf(c.err); k != c.want.Kind {
				t.Errorf("KindOf = %q, want %q", k, c.want.Kind)
			}
			if !errors.Is(got, c.want.Kind) {
				t.Errorf("errors.Is(err, %s) is false", c.want.Kind)
			}
			// What Freshservice wrote is never carried as data.
			if got.Detail != "" {
				t.Errorf("Detail %q made from an upstream error", got.Detail)
			}
		})
	}
}

func TestFromKeepsAnError(t *testing.T) {
	own := &fault.Error{Op: "user.promote", Kind: fault.NoSeat, Field: "rules.max_agents", Detail: "no full-time agent seat left"}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"Itself", own},
		{"Wrapped", fmt.Errorf("reconciling user 7: %w", own)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fault.From("user.update", c.err); got != own {
				t.Errorf("From = %+v, want the *Error in the chain, unchanged", got)
			}
			if !errors.Is(c.err, fault.NoSeat) || errors.Is(c.err, fault.Invalid) {
				t.Error("errors.Is does not find the kind through the wrapping")
			}
		})
	}
	if fault.From("x", nil) != nil || fault.KindOf(nil) != "" {
		t.Error("nil is a failure")
	}
}

func TestFromKeepsTheSentinels(t *testing.T) {
	err := fault.From("user.create", answer("POST", "/api/v2/requesters", 409, "", field("primary_email", "duplicate_value")))
	if !errors.Is(err, freshservice.ErrDuplicate) {
		t.Error("errors.Is(err, freshservice.ErrDuplicate) is false through the *Error")
	}
	var er *freshservice.ErrorResponse
	if !errors.As(err, &er) || er.Status != http.StatusConflict {
		t.Error("errors.As does not reach the client's error")
	}
	ctxErr := fault.From("user.update", fmt.Errorf("x: %w", context.Canceled))
	if !errors.Is(ctxErr, context.Canceled) || errors.Is(ctxErr, context.DeadlineExceeded) {
		t.Error("a canceled *Error does not say which end it was")
	}
}

func TestPermanent(t *testing.T) {
	for _, c := range []struct {
		kind fault.Kind
		want bool
	}{
		{fault.Invalid, true},
		{fault.Conflict, true},
		{fault.NoSeat, true},
		{fault.Protected, true},
		{fault.RequiresFeature, true}, // until the plan is upgraded or the rules change
		{fault.NotFound, false},       // read again, the plan may need no call
		{fault.Forbidden, false},
		{fault.Unavailable, false},
		{fault.Transient, false},
		{fault.RateLimited, false},
		{fault.Canceled, false},
		{fault.Internal, false},
		{"", false},
	} {
		t.Run(string(c.kind), func(t *testing.T) {
			if got := c.kind.Permanent(); got != c.want {
				t.Errorf("Permanent = %v, want %v", got, c.want)
			}
		})
	}
}

func TestDuplicate(t *testing.T) {
	for _, c := range []struct {
		name      string
		err       *fault.Error
		field     string
		duplicate bool
	}{
		{"OneField", &fault.Error{Field: "primary_email", Code: "duplicate_value", Fields: []fault.FieldError{{"primary_email", "duplicate_value"}}}, "primary_email", true},
		{"LastNamed", &fault.Error{Field: "primary_email", Code: "duplicate_value",
			Fields: []fault.FieldError{{"primary_email", "duplicate_value"}, {"language", "invalid_value"}, {"secondary_emails", "duplicate_value"}}}, "secondary_emails", true},
		{"NotFirst", &fault.Error{Field: "language", Code: "invalid_value",
			Fields: []fault.FieldError{{"language", "invalid_value"}, {"", "duplicate_value"}}}, "", true},
		{"TopLevel", &fault.Error{Code: "duplicate_value"}, "", true},
		{"Other", &fault.Error{Code: "inconsistent_state"}, "", false},
		{"None", &fault.Error{}, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, ok := c.err.Duplicate()
			if f != c.field || ok != c.duplicate {
				t.Errorf("Duplicate = %q, %v; want %q, %v", f, ok, c.field, c.duplicate)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	err := &fault.Error{Op: "user.update", Kind: fault.Invalid, Call: "PUT /api/v2/requesters/42", Status: 400,
		Err: answer("PUT", "/api/v2/requesters/{id}", 400, "", field("time_zone", "invalid_value"))}
	want := "user.update: PUT /api/v2/requesters/42: invalid: freshservice: PUT /api/v2/requesters/{id}: 400 Bad Request: Validation failed: time_zone invalid_value"
	if got := err.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	own := &fault.Error{Op: "user.protect", Kind: fault.Protected, Detail: "user 1 is protected"}
	if got := own.Error(); got != "user.protect: protected: user 1 is protected" {
		t.Errorf("Error() = %q", got)
	}
}
