package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/scim2/filter-parser/v2"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/bridge"
	"github.com/fsbridge/fsbridge/internal/reqctx"
	"github.com/fsbridge/fsbridge/scim"
)

// naive stands in front of the bridge to make it the benchmark's baseline: a bridge without a
// mirror. Before the bridge answers, it asks Freshservice what such a bridge must ask, through the
// bridge (so the calls share its budget, are counted as the request's, and what they find is what
// the bridge answers from):
//
//   - GET /Users/{id}: the user (Bridge.RefreshUser);
//   - GET /Users?filter=… naming an email (userName eq, emails[…] eq, emails.value eq): the
//     requester list by email with agents included, again for deactivated users on a miss
//     (Bridge.LookupEmail), and the agent list by email;
//   - POST /Users: the same requester lookups for the new user's email, to find who exists.
//
// The env runs no walk for it, so the bridge knows only what the traffic and these reads showed it.
func naive(b *bridge.Bridge, fs *freshservice.Client, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := reqctx.With(r.Context(), &reqctx.Info{RequestID: r.Header.Get("X-Request-Id")})
		path := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, scim.Prefix), "/"))
		var err error
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(path, "/users/"):
			if id, perr := strconv.ParseInt(strings.TrimPrefix(path, "/users/"), 10, 64); perr == nil {
				if err = b.RefreshUser(ctx, id, false); errors.Is(err, freshservice.ErrNotFound) {
					err = nil
				}
			}
		case r.Method == http.MethodGet && path == "/users":
			for _, em := range filterEmails(r.URL.Query().Get("filter")) {
				if _, err = b.LookupEmail(ctx, em); err != nil {
					break
				}
				if _, _, err = fs.Agents.List(ctx, &freshservice.AgentListOptions{Email: em}); err != nil {
					break
				}
			}
		case r.Method == http.MethodPost && path == "/users":
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if em := bodyEmail(body); em != "" {
				_, err = b.LookupEmail(ctx, em)
			}
		}
		if err != nil {
			status := http.StatusServiceUnavailable
			var rl *freshservice.RateLimitError
			if errors.As(err, &rl) {
				status = http.StatusTooManyRequests
				w.Header().Set("Retry-After", strconv.Itoa(int(rl.RetryAfter.Seconds())+1))
			}
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(status)
			_, _ = fmt.Fprintf(w, `{"schemas":[%q],"status":"%d","detail":"the naive lookup failed"}`, scim.URNError, status)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// filterEmails are the emails a filter compares for equality.
func filterEmails(raw string) []string {
	if raw == "" {
		return nil
	}
	expr, err := filter.ParseFilter([]byte(raw))
	if err != nil {
		return nil
	}
	var out []string
	var walk func(filter.Expression)
	walk = func(x filter.Expression) {
		switch e := x.(type) {
		case *filter.AttributeExpression:
			if v, ok := e.CompareValue.(string); ok && e.Operator == filter.EQ && strings.Contains(v, "@") {
				out = append(out, v)
			}
		case *filter.ValuePath:
			walk(e.ValueFilter)
		case *filter.LogicalExpression:
			walk(e.Left)
			walk(e.Right)
		}
	}
	walk(expr)
	return out
}

// bodyEmail is the email a POST /Users names: its primary (or first) email, else its userName.
func bodyEmail(body []byte) string {
	var u struct {
		UserName string `json:"userName"`
		Emails   []struct {
			Value   string `json:"value"`
			Primary any    `json:"primary"`
		} `json:"emails"`
	}
	if json.Unmarshal(body, &u) != nil {
		return ""
	}
	for _, e := range u.Emails {
		if p, _ := e.Primary.(bool); p || strings.EqualFold(fmt.Sprint(e.Primary), "true") {
			return e.Value
		}
	}
	if len(u.Emails) > 0 {
		return u.Emails[0].Value
	}
	if strings.Contains(u.UserName, "@") {
		return u.UserName
	}
	return ""
}
