package server

import (
	"context"
	"net/http"
	"time"

	"github.com/fsbridge/fsbridge/internal/health"
)

// readiness runs the health model's checks (internal/health), the ones
// /readyz and /status report.
func (s *Server) readiness(ctx context.Context, now time.Time) []health.Check {
	return health.Readiness(ctx, now, source{s})
}

// ready serves /readyz from the readiness checks: 200 when none fails,
// else 503, with each check's state ("ok", "ok (warning: …)") or, for a
// failing one, why it fails.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	ok, out := health.Ready(s.readiness(ctx, time.Now()))
	writeJSON(w, map[bool]int{true: http.StatusOK, false: http.StatusServiceUnavailable}[ok], map[string]any{"ready": ok, "checks": out})
}
