package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/scim2/filter-parser/v2"
)

// Resource is a user or group as the backend returns it: its SCIM
// attributes without id, schemas and meta, which the edge adds.
type Resource struct {
	ID         string
	ExternalID string
	// Attributes are the resource's attributes, spelt canonically. The edge
	// only reads them: a backend may hand out a document it keeps.
	// References in "$ref" sub-attributes may be relative to the SCIM base
	// URL ("Users/42"); the edge makes them absolute.
	Attributes map[string]any
	Created    time.Time
	Modified   time.Time
	// Version is the resource's ETag, e.g. W/"3". It is sent as the ETag
	// header and meta.version, and If-Match and If-None-Match are compared
	// with it.
	Version string
}

// PatchOperation is one operation of a PATCH request (RFC 7644 §3.5.2), as
// the edge hands it to the backend: the IdP's dialect normalised (see
// NormalizePatch), Op one of PatchAdd, PatchReplace and PatchRemove, Path
// bounded, parsed and known to name an attribute of the resource's schema
// (nil for an operation without a path, whose Value is then an object),
// and Value the decoded JSON (objects, arrays, strings, json.Number, bools).
// A remove has a Value only in Entra's form of removing listed members.
type PatchOperation struct {
	Op    string
	Path  *filter.Path
	Value any
}

// The PATCH operations of RFC 7644 §3.5.2.
const (
	PatchAdd     = "add"
	PatchReplace = "replace"
	PatchRemove  = "remove"
)

// Lookup is a filter that asks for resources whose attribute equals one
// value: what IdPs send to find a user or group before they create it
// (userName eq "a@b.c"). The edge recognises these without the general
// parser and hands them over as a Lookup beside the expression, so that a
// backend with an index can answer from it.
type Lookup struct {
	// Attr is the attribute compared, spelt canonically: userName, id,
	// externalId, displayName, emails.value or members.value.
	Attr string
	// Type restricts a multi-valued attribute to elements of that type:
	// "work" for Entra's emails[type eq "work"].value eq "x". Compare it
	// case-insensitively.
	Type string
	// Value is the compared value, its escapes decoded (see FilterString).
	Value string
}

// ListQuery is a list request (GET with a query, or POST .search) after
// parsing.
type ListQuery struct {
	// Filter is the parsed filter, nil for none. Match evaluates it.
	Filter filter.Expression
	// Lookup is set when Filter is a single equality a backend can answer
	// from an index (see Lookup); Filter says the same thing.
	Lookup *Lookup
	// StartIndex is 1-based; Count 0 asks only for totalResults.
	StartIndex int
	Count      int
	// SortBy is the attribute to order by, spelt canonically ("" keeps the
	// backend's stable order); Sort orders resources by it.
	SortBy         string
	SortDescending bool
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
	// List returns the matching resources, ordered by q.SortBy when it is
	// set and otherwise in a stable order, and paged as q asks.
	List(ctx context.Context, q ListQuery) (Page, error)
	// Replace replaces every attribute (PUT). Outcomes as Create, plus 404.
	Replace(ctx context.Context, id string, attrs map[string]any) (Resource, error)
	// Patch applies the operations in order, all or nothing (PATCH). A
	// Resource without an ID asks for 204 No Content; its Version, if set,
	// is still sent as the ETag.
	Patch(ctx context.Context, id string, ops []PatchOperation) (Resource, error)
	// Delete removes the resource (204), or *Error 404.
	Delete(ctx context.Context, id string) error
}

// Error is a SCIM error the edge answers with (RFC 7644 §3.12). It carries
// any status (429, 503 included) and the Retry-After to send.
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
	return &Error{Status: http.StatusNotFound, Detail: fmt.Sprintf("%s %q not found", kind, truncate(id, 100))}
}

// AsError turns any error into the *Error to answer with: an *Error as is,
// a cancelled or timed-out context as 503, anything else as a 500 whose
// detail says nothing of the cause.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &Error{Status: http.StatusServiceUnavailable, Detail: "the request took too long; it can be retried", RetryAfter: 5 * time.Second, Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Detail: "internal error; the bridge log has the details under this request's id", Err: err}
}
