package server

import (
	"context"
	"net/http"
	"time"
)

// readiness is the one health model /readyz and /status report: whether
// the store answers, Freshservice accepts the API key, the key's owner has
// the permissions the bridge needs, and the mirror is loaded and walked.
// A check that fails makes the bridge unready; a warning does not.
func (s *Server) readiness(ctx context.Context, now time.Time) []healthCheck {
	var checks []healthCheck
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if err := s.Store.Ping(pctx); err != nil {
		checks = append(checks, healthCheck{"store", "fail", "unreachable: the bridge cannot save or read state"})
	} else {
		checks = append(checks, healthCheck{"store", "ok", "answering"})
	}
	cancel()
	fh := s.status.freshserviceHealth(ctx, now)
	checks = append(checks, fh)
	if fh.State != "fail" {
		if good, why := s.keyAccessOK(ctx); good {
			checks = append(checks, healthCheck{"permissions", "ok", "the API key's owner has every permission the bridge needs"})
		} else {
			checks = append(checks, healthCheck{"permissions", "fail", why})
		}
	}
	return append(checks, s.status.mirrorHealth(now))
}

// ready serves /readyz from the readiness checks: 200 when none fails,
// else 503, with each check's state ("ok", "ok (warning: …)") or, for a
// failing one, why it fails.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	ok := true
	out := map[string]string{}
	for _, c := range s.readiness(ctx, time.Now()) {
		switch c.State {
		case "fail":
			ok = false
			out[c.Name] = c.Detail
		case "warn":
			out[c.Name] = "ok (warning: " + c.Detail + ")"
		default:
			out[c.Name] = "ok"
		}
	}
	writeJSON(w, map[bool]int{true: http.StatusOK, false: http.StatusServiceUnavailable}[ok], map[string]any{"ready": ok, "checks": out})
}
