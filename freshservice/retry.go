package freshservice

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"
)

// Reason classifies a failed call, for retry decisions and metrics.
type Reason string

// The failure reasons.
const (
	ReasonRateLimited Reason = "rate_limited" // Freshservice answered 429
	ReasonBudget      Reason = "budget"       // the local budget wait was too long
	ReasonAuth        Reason = "auth"         // 401 or 403
	ReasonNotFound    Reason = "not_found"    // 404
	ReasonConflict    Reason = "conflict"     // duplicate value or 409
	ReasonClient      Reason = "client"       // other 4xx: the request is wrong
	ReasonServer      Reason = "server"       // 5xx
	ReasonTransport   Reason = "transport"    // no response
	ReasonDecode      Reason = "decode"       // 2xx with an unreadable body
	ReasonCanceled    Reason = "canceled"     // the caller's context ended
)

// Classify returns the Reason of an error returned by the client.
func Classify(err error) Reason {
	if err == nil {
		return ""
	}
	var (
		rl *RateLimitError
		er *ErrorResponse
		te *TransportError
		de *DecodeError
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ReasonCanceled
	case errors.As(err, &rl):
		if rl.Upstream {
			return ReasonRateLimited
		}
		return ReasonBudget
	case errors.As(err, &er):
		switch {
		case er.Status == http.StatusUnauthorized || er.Status == http.StatusForbidden:
			return ReasonAuth
		case er.Status == http.StatusNotFound:
			return ReasonNotFound
		case er.Status == http.StatusConflict || er.HasCode("duplicate_value"):
			return ReasonConflict
		case er.Status >= 500:
			return ReasonServer
		default:
			return ReasonClient
		}
	case errors.As(err, &te):
		return ReasonTransport
	case errors.As(err, &de):
		return ReasonDecode
	}
	return ReasonClient
}

// Verdict is what the Retrier decided about one failed attempt.
type Verdict struct {
	Retry   bool
	Backoff time.Duration // wait before the next attempt (429 waits are the budget's)
	Reason  Reason
}

// Retrier decides which failed calls are tried again. The rules:
//   - 429: always retried, after Retry-After; the request did nothing.
//   - 5xx and transport errors: retried only for idempotent calls, since a
//     create may have happened before the failure (commit-then-fail).
//   - everything else (4xx, decode errors, cancellation): never retried.
//
// At most MaxAttempts attempts are made for 5xx and transport errors, and
// at most MaxRateLimited for 429s; the context bounds both.
type Retrier struct {
	MaxAttempts    int
	MaxRateLimited int
	BaseBackoff    time.Duration
	MaxBackoff     time.Duration
}

// DefaultRetrier is four attempts with backoff from 250 ms to 4 s, and up to
// ten 429s waited out.
func DefaultRetrier() Retrier {
	return Retrier{MaxAttempts: 4, MaxRateLimited: 10, BaseBackoff: 250 * time.Millisecond, MaxBackoff: 4 * time.Second}
}

// Check returns the verdict for err on the given attempt (1-based).
func (r Retrier) Check(err error, idempotent bool, attempt int) Verdict {
	reason := Classify(err)
	v := Verdict{Reason: reason}
	switch reason {
	case ReasonRateLimited:
		v.Retry = attempt < r.MaxRateLimited
	case ReasonServer, ReasonTransport:
		if idempotent && attempt < r.MaxAttempts {
			v.Retry = true
			v.Backoff = r.backoff(attempt)
		}
	}
	return v
}

// backoff is exponential with full jitter.
func (r Retrier) backoff(attempt int) time.Duration {
	d := r.BaseBackoff << (attempt - 1)
	if d > r.MaxBackoff || d <= 0 {
		d = r.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}
