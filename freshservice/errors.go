package freshservice

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrNotFound: the id (or the URL) does not exist. Freshservice's 404
	// body may be empty or not JSON, so it is never required (§9).
	ErrNotFound = errors.New("freshservice: not found")
	// ErrDuplicate: a value that must be unique account-wide is taken; for
	// users that is an email, primary or secondary, of any user, active or
	// deactivated (§9, §13.2). Answered 400 or 409 with code
	// duplicate_value, or 409 to a create with any body: a real tenant's
	// 409 body is not public, so every 409 to a create counts (§19).
	ErrDuplicate = errors.New("freshservice: duplicate value")
	// ErrAlreadyActive: a reactivate found the user active; Freshservice
	// answers 400 contact_already_active and changes nothing (§19). A
	// reactivate retried after its first attempt succeeded unseen ends so.
	ErrAlreadyActive = errors.New("freshservice: already active")
	// ErrRequiresFeature: the account's plan lacks a feature the request
	// uses (403 require_feature, §9, §19); RequiresFeature names it.
	ErrRequiresFeature = errors.New("freshservice: the plan lacks a feature")
	// ErrUnauthorized: the API key was refused (401).
	ErrUnauthorized = errors.New("freshservice: API key refused")
	// ErrForbidden: the key's agent lacks a permission, the plan lacks a
	// feature, or the agent seats are used up (403).
	ErrForbidden = errors.New("freshservice: forbidden")
)

// FieldError is one entry of a Freshservice validation error (§9).
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Code    string `json:"code"`
}

// ErrorResponse is an error answer from Freshservice. It carries the status,
// the description (or top-level code and message) and the field errors with
// their codes; it never carries the request's URL query or credentials.
type ErrorResponse struct {
	Method string
	Route  string // templated path, e.g. /api/v2/requesters/{id}
	Status int

	Description string       `json:"description"`
	Errors      []FieldError `json:"errors"`
	Code        string       `json:"code"`
	Message     string       `json:"message"`
}

func (e *ErrorResponse) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "freshservice: %s %s: %d", e.Method, e.Route, e.Status)
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.Code != "" {
		b.WriteString(": " + e.Code)
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	for i, fe := range e.Errors {
		if i == 0 {
			b.WriteString(":")
		} else {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %s %s", fe.Field, fe.Code)
	}
	return b.String()
}

// Is lets errors.Is match an ErrorResponse against the sentinels above.
func (e *ErrorResponse) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrDuplicate:
		return e.HasCode("duplicate_value") || (e.Status == http.StatusConflict && e.isCreate())
	case ErrAlreadyActive:
		return e.HasCode("contact_already_active")
	case ErrRequiresFeature:
		return e.HasCode("require_feature")
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	}
	return false
}

// isCreate reports whether the failed call created an object: a POST to a
// collection, such as /api/v2/requesters (a member add is a POST too, but
// to an object's path).
func (e *ErrorResponse) isCreate() bool {
	return e.Method == http.MethodPost && !strings.Contains(e.Route, "{id}")
}

// RequiresFeature reports whether Freshservice refused the call because the
// account's plan lacks a feature (403 require_feature, §19), and which: the
// feature's name as the message gives it ("The Observers feature(s) is/are
// not supported in your plan..."), or "" when the message names none.
func (e *ErrorResponse) RequiresFeature() (string, bool) {
	if !e.HasCode("require_feature") {
		return "", false
	}
	if m := featureName.FindStringSubmatch(e.Message); m != nil {
		return strings.TrimSpace(m[1]), true
	}
	return "", true
}

// featureName finds the feature in a require_feature message, in the
// wording Freshservice's family uses: "The <feature> feature(s) is/are not
// supported in your plan".
var featureName = regexp.MustCompile(`(?i)^\s*the\s+(.+?)\s+feature(?:\(s\)|s)?\b`)

// HasCode reports whether any field error, or the top-level code, is code.
func (e *ErrorResponse) HasCode(code string) bool {
	if e.Code == code {
		return true
	}
	for _, fe := range e.Errors {
		if fe.Code == code {
			return true
		}
	}
	return false
}

// FieldCode returns the code of the first field error on field, if any.
func (e *ErrorResponse) FieldCode(field string) (string, bool) {
	for _, fe := range e.Errors {
		if fe.Field == field {
			return fe.Code, true
		}
	}
	return "", false
}

// RateLimitError means no credit was available: either Freshservice answered
// 429 (Upstream) or waiting for the local budget would take longer than the
// budget's MaxWait. RetryAfter says when to try again.
type RateLimitError struct {
	Method     string
	Route      string
	Bucket     BucketName
	RetryAfter time.Duration
	Upstream   bool
}

func (e *RateLimitError) Error() string {
	who := "budget"
	if e.Upstream {
		who = "429 Too Many Requests"
	}
	if e.Route == "" {
		return fmt.Sprintf("freshservice: %s exhausted for bucket %s, retry after %s", who, e.Bucket, e.RetryAfter.Round(time.Millisecond))
	}
	return fmt.Sprintf("freshservice: %s %s: %s (bucket %s), retry after %s", e.Method, e.Route, who, e.Bucket, e.RetryAfter.Round(time.Millisecond))
}

// TransportError means no HTTP response arrived (connection refused or
// dropped, timeout). For a call that is not idempotent the write may or may
// not have happened.
type TransportError struct {
	Method string
	Route  string
	err    error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("freshservice: %s %s: %v", e.Method, e.Route, e.err)
}

func (e *TransportError) Unwrap() error { return e.err }

// DecodeError means a 2xx response body could not be decoded.
type DecodeError struct {
	Method string
	Route  string
	err    error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("freshservice: %s %s: decoding response: %v", e.Method, e.Route, e.err)
}

func (e *DecodeError) Unwrap() error { return e.err }

// checkResponse turns a non-2xx response into a typed error (go-github's
// CheckResponse). The body read is capped, and its text is never copied into
// the error beyond the structured fields.
func checkResponse(resp *Response, req request, redact func(string) string) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return &RateLimitError{
			Method: req.method, Route: req.route, Bucket: req.bucket, Upstream: true,
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After")),
		}
	}
	e := &ErrorResponse{Method: req.method, Route: req.route, Status: resp.StatusCode}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body struct {
		Description string       `json:"description"`
		Errors      []FieldError `json:"errors"`
		Code        string       `json:"code"`
		Message     string       `json:"message"`
	}
	if json.Unmarshal(data, &body) == nil {
		e.Description, e.Code, e.Message = redact(body.Description), redact(body.Code), redact(body.Message)
		for _, fe := range body.Errors {
			e.Errors = append(e.Errors, FieldError{Field: redact(fe.Field), Message: redact(fe.Message), Code: redact(fe.Code)})
		}
	}
	return e
}

// parseRetryAfter reads Retry-After as seconds (Freshservice's form) or as
// an HTTP date; a missing or unreadable value means one minute, the length
// of a Freshservice rate-limit window.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
		return 0
	}
	return time.Minute
}
