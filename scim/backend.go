package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	escim "github.com/elimity-com/scim"
	serrors "github.com/elimity-com/scim/errors"
	"github.com/scim2/filter-parser/v2"
)

// Resource is a user or group as the backend returns it: its SCIM
// attributes without id, schemas and meta, which the edge adds.
type Resource struct {
	ID         string
	ExternalID string
	Attributes map[string]any
	Created    time.Time
	Modified   time.Time
	// Version is the resource's ETag, e.g. W/"3".
	Version string
}

// ListQuery is a list request after parsing: the filter (nil for none) and
// the page. StartIndex is 1-based; Count 0 asks only for totalResults.
type ListQuery struct {
	Filter     filter.Expression
	StartIndex int
	Count      int
	// ExcludeMembers is set when the IdP asked not to get group members,
	// so the backend can skip assembling them.
	ExcludeMembers bool
}

// Page is one page of a list.
type Page struct {
	Total     int
	Resources []Resource
}

// Backend serves one resource type (Users or Groups). Each method's error,
// if not nil, should be an *Error; any other error is answered 500 with a
// generic detail and logged, never shown to the IdP.
type Backend interface {
	// Create adds a resource from validated, normalised attributes.
	// Outcomes: the new resource (201); *Error 409 uniqueness when the
	// resource exists; 400 for values that cannot be mapped; 429/503 when
	// Freshservice cannot be reached in time.
	Create(ctx context.Context, attrs map[string]any) (Resource, error)
	// Get returns the resource, or *Error 404.
	Get(ctx context.Context, id string) (Resource, error)
	// List returns the matching resources in a stable order.
	List(ctx context.Context, q ListQuery) (Page, error)
	// Replace replaces every attribute (PUT). Outcomes as Create, plus 404.
	Replace(ctx context.Context, id string, attrs map[string]any) (Resource, error)
	// Patch applies the operations in order (PATCH). A zero Resource asks
	// for 204 No Content.
	Patch(ctx context.Context, id string, ops []escim.PatchOperation) (Resource, error)
	// Delete removes the resource (204), or *Error 404.
	Delete(ctx context.Context, id string) error
}

// Error is a SCIM error the edge answers with (RFC 7644 §3.12). Unlike the
// library's error type it carries any status (429, 503 included) and the
// Retry-After to send.
type Error struct {
	Status   int
	ScimType string
	Detail   string
	// RetryAfter is sent as a Retry-After header on 429 and 503.
	RetryAfter time.Duration
	// Plan lists the Freshservice calls a dry run would have made; it is
	// sent as "plan" beside the detail.
	Plan []string
	// Err is the underlying cause, for logs only; never sent to the IdP.
	Err error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("scim %d", e.Status)
	if e.ScimType != "" {
		s += " " + e.ScimType
	}
	s += ": " + e.Detail
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// escimError is the library's error type.
type escimError = serrors.ScimError

// The scimType keywords of RFC 7644 §3.12.
const (
	TypeInvalidFilter = "invalidFilter"
	TypeTooMany       = "tooMany"
	TypeUniqueness    = "uniqueness"
	TypeMutability    = "mutability"
	TypeInvalidSyntax = "invalidSyntax"
	TypeInvalidPath   = "invalidPath"
	TypeNoTarget      = "noTarget"
	TypeInvalidValue  = "invalidValue"
	TypeInvalidVers   = "invalidVers"
	TypeSensitive     = "sensitive"
)

// Errorf builds an *Error.
func Errorf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// NotFound is the 404 for a resource id.
func NotFound(kind, id string) *Error {
	return &Error{Status: http.StatusNotFound, Detail: fmt.Sprintf("%s %q not found", kind, id)}
}

// AsError turns any error into the *Error to answer with: an *Error as is,
// the library's ScimError by its fields, a cancelled or timed-out context
// as 503, anything else as a 500 whose detail says nothing of the cause.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var le escimError
	if errors.As(err, &le) {
		return &Error{Status: le.Status, ScimType: string(le.ScimType), Detail: le.Detail}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &Error{Status: http.StatusServiceUnavailable, Detail: "the request took too long; it can be retried", RetryAfter: 5 * time.Second, Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Detail: "internal error; the bridge log has the details under this request's id", Err: err}
}
