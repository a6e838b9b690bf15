package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/fault"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/mapping"
	"github.com/fsbridge/fsbridge/scim"
)

// Errors are data (DESIGN D11). A failure of the core is a *fault.Error:
// fault.From classifies the Freshservice client's errors, stepFault adds
// the plan step's real call, and scimError is the one place that turns a
// failure into what the IdP is answered. The audit trail stores the same
// fields (auditFields), and retry decisions test the Kind (permanent).

// stepFault is err, the failure of plan step s, as a *fault.Error that
// names the step's call with its real path. An *Error err already holds
// is copied, not changed: it may be shared.
func stepFault(s mapping.Step, err error) *fault.Error {
	f := fault.From(operationOf(s.Kind), err)
	if f == nil || f.Call != "" {
		return f
	}
	c := *f
	m, p := s.Call()
	c.Call = m + " " + p
	return &c
}

// asFault returns the *fault.Error err holds, or makes one: from a failed
// plan step (a *stepError) with the step's call, else as fault.From
// classifies err. nil for nil.
func asFault(err error) *fault.Error {
	if err == nil {
		return nil
	}
	var f *fault.Error
	if errors.As(err, &f) {
		return f
	}
	var ste *stepError
	if errors.As(err, &ste) {
		return stepFault(ste.step, ste.err)
	}
	return fault.From("", err)
}

// kindOf is the Kind of any error the bridge handles. A *scim.Error made
// without a *fault.Error inside (the checks of a request's own values,
// which answer the IdP directly) has the kind its status means.
func kindOf(err error) fault.Kind {
	var f *fault.Error
	var se *scim.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &f):
		return f.Kind
	case errors.As(err, &se):
		switch {
		case se.Status == http.StatusNotFound:
			return fault.NotFound
		case se.Status == http.StatusConflict:
			return fault.Conflict
		case se.Status == http.StatusForbidden:
			// A 403 the bridge made without a *fault.Error has one
			// reason: no seat under rules.max_agents (a plan's missing
			// feature carries its *fault.Error).
			return fault.NoSeat
		case se.Status == http.StatusTooManyRequests:
			return fault.RateLimited
		case se.Status >= 400 && se.Status < 500:
			return fault.Invalid
		case se.Status == http.StatusServiceUnavailable:
			return fault.Transient
		case se.Status >= 500:
			return fault.Internal
		}
		return "" // not a failure: a dry run's 202
	}
	return asFault(err).Kind
}

// permanent reports whether an error will not go away by retrying: the
// request itself is wrong for Freshservice (a value refused or taken, no
// seat, a protected user). Such a request is refused and the desired state
// it saved is put back; any other failure is finished in the background.
func permanent(err error) bool { return kindOf(err).Permanent() }

// toSCIMError turns an error of the bridge into the SCIM error the IdP
// gets (a *scim.Error already made is passed on as it is).
func toSCIMError(err error) *scim.Error {
	var se *scim.Error
	if errors.As(err, &se) {
		return se
	}
	f := asFault(err)
	if f == nil {
		return scim.AsError(err)
	}
	return scimError(f)
}

// scimError is the SCIM error the IdP gets for a failure: fixed, useful
// wording, the Freshservice call, field and code when there are some,
// never an upstream body (DESIGN D8). The *fault.Error is kept as the
// cause, so the audit trail records its fields from the answer too.
func scimError(f *fault.Error) *scim.Error {
	if f == nil {
		return nil
	}
	if f.Detail != "" {
		return ownRefusal(f)
	}
	what := f.Call
	if what == "" {
		what = "the Freshservice call"
	}
	const retryLater = 30 * time.Second
	switch f.Kind {
	case fault.RateLimited:
		return &scim.Error{Status: http.StatusTooManyRequests, Detail: "Freshservice's API budget is used up for now; retry after the time given", RetryAfter: max(f.RetryAfter, time.Second), Err: f}
	case fault.Conflict:
		if field, ok := f.Duplicate(); ok {
			if field == "" {
				field = "email"
			}
			return &scim.Error{Status: http.StatusConflict, ScimType: scim.TypeUniqueness, Detail: fmt.Sprintf("Freshservice already has this %s: %s rejected it (duplicate_value)", field, what), Err: f}
		}
		if errors.Is(f, freshservice.ErrDuplicate) {
			// A 409 to a create whose body names no field: a real
			// tenant's body is not public, and a create has no other
			// conflict than a taken email (§19).
			return &scim.Error{Status: http.StatusConflict, ScimType: scim.TypeUniqueness, Detail: "Freshservice already has this email: " + what + " answered 409", Err: f}
		}
		// A conflict Freshservice named no value for (a bare 409) is a
		// refusal of the request like any other.
		return rejected(f, what)
	case fault.Invalid:
		return rejected(f, what)
	case fault.Unavailable:
		return &scim.Error{Status: http.StatusServiceUnavailable, Detail: "Freshservice refused the bridge's API key; the administrator must fix the bridge's configuration", RetryAfter: time.Minute, Err: f}
	case fault.NoSeat:
		return &scim.Error{Status: http.StatusForbidden, Detail: "Freshservice refused to make this user an agent: no agent seat is left, or the API key's agent may not manage agents", Err: f}
	case fault.RequiresFeature:
		return &scim.Error{Status: http.StatusForbidden, Detail: "Freshservice refused " + what + ": " + featureWords(f) +
			"; upgrade the plan, or change the rule that asks for it (fsbridge check lists such rules)", Err: f}
	case fault.Forbidden:
		return &scim.Error{Status: http.StatusServiceUnavailable, Detail: "Freshservice refused " + what + ": the API key's agent lacks a permission", RetryAfter: time.Minute, Err: f}
	case fault.NotFound:
		return &scim.Error{Status: http.StatusNotFound, Detail: "Freshservice no longer has this object (" + what + " answered 404)", Err: f}
	case fault.Transient:
		if f.Status >= 500 {
			return &scim.Error{Status: http.StatusServiceUnavailable, Detail: "Freshservice failed (" + what + "); the change is saved and will be retried", RetryAfter: retryLater, Err: f}
		}
		return &scim.Error{Status: http.StatusServiceUnavailable, Detail: "Freshservice did not answer in time (" + what + "); the change is saved and will be retried", RetryAfter: retryLater, Err: f}
	case fault.Canceled:
		if errors.Is(f, context.Canceled) {
			// The IdP hung up; it will not read this answer, but the log
			// and the audit trail will: Freshservice may well have acted.
			return &scim.Error{Status: http.StatusServiceUnavailable, Detail: "the client closed the request before " + what + " finished; what Freshservice did is recorded, and the rest of the change is saved and finished in the background", RetryAfter: retryLater, Err: f}
		}
		return &scim.Error{Status: http.StatusServiceUnavailable, Detail: "the request ran out of time during " + what + "; what Freshservice did is recorded, and the rest of the change is saved and finished in the background", RetryAfter: retryLater, Err: f}
	}
	return scim.AsError(f) // Internal: a 500 that points at the log
}

// featureWords says which feature a require_feature refusal named and
// which plans have it: "it needs the Specified Groups Scope feature
// (plans: Pro, Enterprise); this account's plan lacks it".
func featureWords(f *fault.Error) string {
	if f.Feature == "" {
		return "it needs a feature this account's plan lacks (Freshservice did not name it)"
	}
	if ft, ok := freshservice.FeatureNamed(f.Feature); ok {
		return fmt.Sprintf("it needs the %s feature (plans: %s); this account's plan lacks it", ft.Name, ft.PlanList())
	}
	return fmt.Sprintf("it needs the %s feature; this account's plan lacks it", f.Feature)
}

// rejected is the 400 for a request Freshservice refused, with the fields
// and codes it named.
func rejected(f *fault.Error, what string) *scim.Error {
	detail := "Freshservice rejected " + what
	fields, top := splitCodes(f)
	for _, fe := range fields {
		detail += fmt.Sprintf("; field %s: %s", fe.Field, fe.Code)
	}
	if top != "" {
		detail += " (" + top + ")"
	}
	if missing := missingCustomFields(fields); len(missing) > 0 {
		detail += fmt.Sprintf(". %s: mandatory custom field(s) of the Freshservice account; map a SCIM attribute to each, or give it a default, under mapping.custom_fields (docs/mapping.md)", strings.Join(missing, ", "))
	}
	return &scim.Error{Status: http.StatusBadRequest, ScimType: scim.TypeInvalidValue, Detail: detail, Err: f}
}

// missingCustomFields are the fields Freshservice said are missing that
// are not among its own user fields: the account's mandatory custom
// fields, which only the configuration can fill.
func missingCustomFields(fields []fault.FieldError) []string {
	var out []string
	for _, fe := range fields {
		name := strings.TrimPrefix(fe.Field, "custom_fields.")
		if fe.Code == "missing_field" && (name != fe.Field || !userBodyKeys[name]) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// userBodyKeys are the keys of Freshservice's own requester and agent
// fields.
var userBodyKeys = func() map[string]bool {
	keys := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" {
				keys[name] = true
			}
		}
	}
	walk(reflect.TypeOf(freshservice.RequesterFields{}))
	walk(reflect.TypeOf(freshservice.AgentFields{}))
	return keys
}()

// ownRefusal is the SCIM error of a refusal the bridge decided itself,
// in its own words (f.Detail).
func ownRefusal(f *fault.Error) *scim.Error {
	se := &scim.Error{Detail: f.Detail, Err: f}
	switch f.Kind {
	case fault.Invalid:
		se.Status, se.ScimType = http.StatusBadRequest, scim.TypeInvalidValue
	case fault.Conflict:
		se.Status, se.ScimType = http.StatusConflict, scim.TypeUniqueness
	case fault.Protected:
		se.Status = http.StatusConflict
	case fault.NoSeat, fault.RequiresFeature, fault.Forbidden:
		se.Status = http.StatusForbidden
	case fault.NotFound:
		se.Status = http.StatusNotFound
	default:
		se.Status = http.StatusServiceUnavailable
	}
	return se
}

// splitCodes separates the field errors Freshservice named from its
// top-level code (which names no field).
func splitCodes(f *fault.Error) (fields []fault.FieldError, top string) {
	all := f.Fields
	if len(all) == 0 && f.Code != "" {
		all = []fault.FieldError{{Field: f.Field, Code: f.Code}}
	}
	for _, fe := range all {
		if fe.Field == "" {
			top = fe.Code
			continue
		}
		fields = append(fields, fe)
	}
	return fields, top
}

// describeFailure says in plain words what failed, with Freshservice's
// field and code when it gave them: the detail of the step's audit event.
func describeFailure(s mapping.Step, err error) string {
	m, p := s.Call()
	return fmt.Sprintf("%s %s failed: %s", m, p, plainError(err))
}

// plainError describes a failure without upstream text, from its fields.
func plainError(err error) string {
	f := asFault(err)
	if f == nil {
		return "no error"
	}
	if f.Detail != "" {
		return f.Detail
	}
	switch f.Kind {
	case fault.RateLimited:
		var rl *freshservice.RateLimitError
		bucket := freshservice.BucketOverall
		if errors.As(f, &rl) {
			bucket = rl.Bucket
		}
		return fmt.Sprintf("no API budget left (bucket %s), retry after %s", bucket, f.RetryAfter.Round(time.Second))
	case fault.RequiresFeature:
		return fmt.Sprintf("Freshservice answered %d (require_feature): %s", f.Status, featureWords(f))
	case fault.Canceled:
		if errors.Is(f, context.Canceled) {
			return "the client closed the request before Freshservice answered"
		}
		return "the request ran out of time"
	case fault.Transient:
		if f.Status == 0 && errors.As(f, new(*freshservice.DecodeError)) {
			return "Freshservice sent an unreadable answer"
		}
		if f.Status == 0 {
			return "Freshservice did not answer (connection failed or dropped)"
		}
	}
	if f.Status == 0 {
		return "internal error"
	}
	s := fmt.Sprintf("Freshservice answered %d %s", f.Status, http.StatusText(f.Status))
	fields, top := splitCodes(f)
	if top != "" {
		s += " (" + top + ")"
	}
	for _, fe := range fields {
		s += fmt.Sprintf("; field %s: %s", fe.Field, fe.Code)
	}
	return s
}

// auditFields copies a failure's data into an audit event. Fields are
// kept only when Freshservice named more than one: Field and Code hold
// the one.
func auditFields(ev *store.AuditEvent, f *fault.Error) {
	if f == nil {
		return
	}
	if f.Call != "" {
		ev.Call = f.Call
	}
	ev.Kind, ev.Status, ev.Code, ev.Field = string(f.Kind), f.Status, f.Code, f.Field
	if len(f.Fields) > 1 {
		for _, fe := range f.Fields {
			ev.Fields = append(ev.Fields, store.AuditField{Field: fe.Field, Code: fe.Code})
		}
	}
}
