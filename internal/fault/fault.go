// Package fault is the core's one error type (DESIGN D11: errors are
// data). A failure says what was being done (Op), what kind of failure it
// is (Kind), and, when Freshservice was involved, which call failed
// (Call), what it answered (Status, Code, Field) and when to try again
// (RetryAfter). Behaviour keys on those fields, never on an error's text:
//
//   - retry policy tests the Kind (Kind.Permanent): a refused request is
//     not re-sent as it is, a passing failure is finished in the
//     background;
//   - the SCIM edge turns the Kind into a status and fixed wording, in one
//     place in internal/bridge;
//   - the audit trail stores Kind, Call, Status, Code and Field as
//     columns, and the status page explains a failure from them.
//
// The kinds:
//
//	invalid       Freshservice (or the bridge) refused a value of the request; 400
//	conflict      a value that must be unique is taken, or the object's state forbids the change; 409
//	not_found     the object is gone from Freshservice; 404
//	no_seat       no agent seat is left: Freshservice's 403 to making an agent, or rules.max_agents; 403
//	forbidden     the API key's agent lacks a permission; 503 until fixed
//	requires_feature  the account's plan lacks a feature the request uses (Freshservice's 403 require_feature); 403
//	protected     the change would lock the bridge out (DESIGN D12), refused; 409
//	transient     Freshservice failed (5xx), did not answer, or its answer was lost or unreadable; 503
//	unavailable   Freshservice refuses the API key; 503 until the configuration is fixed
//	rate_limited  Freshservice answered 429, or the bridge's budget share is spent; 429
//	canceled      the IdP hung up or the request's time ran out before the work ended; 503
//	internal      the bridge's own failure (the store, a bug); 500
//
// The package is named fault, not errors, so that code using it keeps the
// standard errors package (errors.Is, errors.As) under its own name.
//
// From is the one place that classifies an error of the Freshservice
// client; the bridge builds its own refusals (the seat cap, a protected
// user) as an *Error with a Kind and a Detail.
package fault

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
)

// Kind is what sort of failure an error is. It is stored in the audit
// trail as it is spelled, so the names never change. A Kind is also an
// error, so errors.Is(err, fault.Transient) asks for an *Error of that
// kind anywhere in err's chain.
type Kind string

// The kinds (see the package comment for what each means to the IdP).
const (
	Invalid   Kind = "invalid"
	Conflict  Kind = "conflict"
	NotFound  Kind = "not_found"
	NoSeat    Kind = "no_seat"
	Forbidden Kind = "forbidden"
	// RequiresFeature: the account's plan lacks the feature the request
	// uses (Error.Feature names it). It comes back until the plan is
	// upgraded or the rules stop using the feature, so it is permanent.
	RequiresFeature Kind = "requires_feature"
	Protected       Kind = "protected"
	Transient       Kind = "transient"
	Unavailable     Kind = "unavailable"
	RateLimited     Kind = "rate_limited"
	Canceled        Kind = "canceled"
	Internal        Kind = "internal"
)

func (k Kind) Error() string { return string(k) }

// Permanent reports whether a failure of this kind comes back, unchanged,
// every time the same request is sent: the request itself is wrong for
// Freshservice (a value refused or taken, no seat, a protected user). Such
// a request is refused and what it asked is not kept for a retry. Every
// other kind may pass: Freshservice recovers, the budget refills, an
// administrator fixes the key or the permission, a vanished object is
// read again.
func (k Kind) Permanent() bool {
	switch k {
	case Invalid, Conflict, NoSeat, Protected, RequiresFeature:
		return true
	}
	return false
}

// FieldError is one field error Freshservice named: the field and its
// code (such as time_zone, invalid_value). Its message is never kept.
type FieldError struct {
	Field string
	Code  string
}

// Error is a failure of the core.
type Error struct {
	// Op is what the bridge was doing, as the audit trail names it
	// ("user.update", "department.create").
	Op   string
	Kind Kind
	// Call is the Freshservice call that failed, with its real path
	// ("PUT /api/v2/requesters/42"), when the bridge knows it; "" when the
	// failure is not one call's.
	Call string
	// Status is Freshservice's HTTP status; 0 when it did not answer or
	// the failure is the bridge's own.
	Status int
	// Code and Field are the first field error Freshservice named (or its
	// top-level code, with no field), or the bridge's own (Field
	// "rules.max_agents" for the seat cap).
	Code  string
	Field string
	// Fields are all the field errors Freshservice named, in its order,
	// then its top-level code (with no field) if it gave both; Field and
	// Code repeat the first. Empty when Freshservice named no field.
	Fields []FieldError
	// Feature is the plan-gated feature Freshservice said the account
	// lacks (RequiresFeature), as its message names it; "" if unnamed.
	Feature string
	// RetryAfter is when Freshservice (or the budget) said to try again.
	RetryAfter time.Duration
	// Detail is what the bridge says of a refusal it decides itself, in
	// words written for the IdP and the audit trail. It is empty for a
	// failure of Freshservice, whose words the SCIM edge writes: an
	// upstream error's own text is never passed on (DESIGN D8).
	Detail string
	// Err is the underlying cause, for logs and errors.Is.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	add := func(s string) {
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(s)
	}
	add(e.Op)
	add(e.Call)
	add(string(e.Kind))
	add(e.Detail)
	if e.Err != nil {
		add(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's Kind, so that errors.Is(err, Kind)
// works through wrapping.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// KindOf returns the Kind of err: that of the first *Error in its chain,
// else what From classifies it as; "" for nil.
func KindOf(err error) Kind {
	if f := From("", err); f != nil {
		return f.Kind
	}
	return ""
}

// From returns err as an *Error of op. Four things might happen:
//   - err is nil: nil;
//   - err holds an *Error: that one, unchanged (its Op is kept, since it is
//     the more precise);
//   - err is an error of the Freshservice client, or the end of a context:
//     a new *Error classified here, the one place the core does it, with
//     Status, Code, Field and RetryAfter from Freshservice's answer and no
//     Call (the client knows the route, not the real path; the caller
//     sets Call when it knows it);
//   - anything else: an Internal *Error wrapping it.
func From(op string, err error) *Error {
	if err == nil {
		return nil
	}
	var f *Error
	if errors.As(err, &f) {
		return f
	}
	f = &Error{Op: op, Err: err}
	var (
		rl *freshservice.RateLimitError
		er *freshservice.ErrorResponse
		te *freshservice.TransportError
		de *freshservice.DecodeError
	)
	switch {
	// Before the client's types: a transport error may wrap the
	// context's end, and it is the end that matters.
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		f.Kind = Canceled
	case errors.As(err, &rl):
		f.Kind, f.RetryAfter = RateLimited, rl.RetryAfter
		if rl.Upstream {
			f.Status = http.StatusTooManyRequests
		}
	case errors.As(err, &er):
		f.Status = er.Status
		for _, fe := range er.Errors {
			f.Fields = append(f.Fields, FieldError{Field: fe.Field, Code: fe.Code})
		}
		if er.Code != "" && len(f.Fields) > 0 {
			f.Fields = append(f.Fields, FieldError{Code: er.Code})
		}
		if len(f.Fields) > 0 {
			f.Field, f.Code = f.Fields[0].Field, f.Fields[0].Code
		} else {
			f.Code = er.Code
		}
		f.Kind = answerKind(er)
		if f.Kind == RequiresFeature {
			f.Feature, _ = er.RequiresFeature()
		}
	case errors.As(err, &te), errors.As(err, &de):
		// No answer, or one that could not be read: the call may or may
		// not have done its work, and trying again (after a lookup, for
		// a create) finds out.
		f.Kind = Transient
	default:
		f.Kind = Internal
	}
	return f
}

// answerKind classifies an error answer of Freshservice.
func answerKind(er *freshservice.ErrorResponse) Kind {
	switch {
	case er.Status == http.StatusUnauthorized:
		return Unavailable
	case errors.Is(er, freshservice.ErrRequiresFeature):
		// Before the seat guess below: a require_feature to an agent
		// create names what is missing, and it is not a seat.
		return RequiresFeature
	case er.Status == http.StatusForbidden && makesAgent(er.Method, er.Route):
		// Freshservice says no more than 403 (access_denied) when no agent
		// seat is left (reference §4.3), so a 403 to a call that makes a
		// user an agent is taken for that; the SCIM detail says it may be
		// a permission too.
		return NoSeat
	case er.Status == http.StatusForbidden:
		return Forbidden
	case er.Status == http.StatusNotFound:
		return NotFound
	case er.Status == http.StatusConflict, errors.Is(er, freshservice.ErrDuplicate):
		return Conflict
	case er.Status >= 500:
		return Transient
	}
	return Invalid
}

// makesAgent reports whether a call makes a user an agent, or an agent
// full-time or active again: the calls that take a seat.
func makesAgent(method, route string) bool {
	switch method + " " + route {
	case "POST /api/v2/agents",
		"PUT /api/v2/agents/{id}",
		"PUT /api/v2/agents/{id}/reactivate",
		"PUT /api/v2/requesters/{id}/convert_to_agent":
		return true
	}
	return false
}

// Duplicate returns the field Freshservice said is already taken
// (duplicate_value), the last one it named, and whether it named one.
func (e *Error) Duplicate() (string, bool) {
	fields := e.Fields
	if len(fields) == 0 {
		fields = []FieldError{{Field: e.Field, Code: e.Code}}
	}
	field, found := "", false
	for _, fe := range fields {
		if fe.Code == "duplicate_value" {
			if !found || fe.Field != "" {
				field = fe.Field
			}
			found = true
		}
	}
	return field, found
}
