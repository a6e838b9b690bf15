// Package reqctx carries per-request facts through a context: the request
// id, the IdP client that made the request, and counters of the
// Freshservice calls made on its behalf. The SCIM edge sets them; the
// bridge and the client's observer read and add to them.
package reqctx

import (
	"context"
	"sync/atomic"
)

// Info is what is known about one SCIM request.
type Info struct {
	RequestID string
	Client    string
	// FSCalls counts Freshservice HTTP attempts made for the request;
	// FSWait is the time they spent waiting for budget, in nanoseconds.
	FSCalls atomic.Int64
	FSWait  atomic.Int64
	FSTime  atomic.Int64
}

type key struct{}

// With returns a context carrying info.
func With(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, key{}, info)
}

// From returns the request's Info, or nil outside a request.
func From(ctx context.Context) *Info {
	i, _ := ctx.Value(key{}).(*Info)
	return i
}

// RequestID returns the request id, or "" outside a request.
func RequestID(ctx context.Context) string {
	if i := From(ctx); i != nil {
		return i.RequestID
	}
	return ""
}

// Client returns the IdP client name, or "" outside a request.
func Client(ctx context.Context) string {
	if i := From(ctx); i != nil {
		return i.Client
	}
	return ""
}
