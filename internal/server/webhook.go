package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/scim"
)

// webhook serves /webhooks/freshservice: a Freshservice Workflow Automator
// "Trigger Webhook" action posts a small JSON body naming the user that
// changed, and the bridge refreshes just that user in the mirror (one
// call) instead of waiting for the next walk. The body is whatever the
// admin writes in the automator (docs/webhook.md); the user is found under
// any of: user_id, requester_id, agent_id, id, or the id of a requester,
// agent or user object, else by email. An event or key naming an agent
// reads the agent view.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	if !s.webhookAuthorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fsbridge webhook"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "missing or wrong webhook secret"})
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": "body too large"})
		return
	}
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "the body is not a JSON object"})
		return
	}
	id, agent, email := webhookTarget(body)
	if id <= 0 && email == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "no user id (user_id, requester_id, agent_id, id) or email in the body"})
		return
	}
	if ok, retry := s.webhookPace.take(time.Now()); !ok {
		// Over the share: the walk reads the user in its turn.
		w.Header().Set("Retry-After", strconv.Itoa(int(max(retry.Round(time.Second), time.Second)/time.Second)))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": "too many webhook events for the bridge's share of the API budget; the next walk catches up"})
		return
	}
	ctx := r.Context()
	switch {
	case id > 0:
		err = s.Bridge.RefreshUser(ctx, id, agent)
	case email != "":
		var u *freshservice.User
		u, err = s.Bridge.LookupEmail(ctx, email)
		if err == nil && u == nil {
			err = freshservice.ErrNotFound
		}
		if u != nil {
			id = u.ID
		}
	}
	switch {
	case errors.Is(err, freshservice.ErrNotFound):
		writeJSON(w, http.StatusOK, map[string]any{"refreshed": id, "exists": false})
	case err != nil:
		s.Log.Warn().Err(err).Int64("fs_id", id).Msg("webhook refresh failed")
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "Freshservice could not be read; the next walk will catch up"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"refreshed": id, "exists": true})
	}
}

// webhookPace bounds what webhook events spend. Events are mirror work,
// as walks are, so they spend at most mirror.share of the bridge's overall
// bucket per window. A bulk change in Freshservice fires the automator
// once per user; without a share, those events would spend the budget the
// IdP's requests need. An event over the share is refused at once, not
// queued; within it, events are not spaced out, so the few a person's
// edits fire are all served.
type webhookPace struct {
	limit  int
	window time.Duration
	mu     sync.Mutex
	times  []time.Time // the events served in the last window, oldest first
}

func newWebhookPace(budget *freshservice.Budget, share float64) *webhookPace {
	stats, _ := budget.Stats()
	limit := 0
	for _, st := range stats {
		if st.Bucket == freshservice.BucketOverall {
			limit = st.Limit
		}
	}
	return &webhookPace{limit: max(int(float64(limit)*share), 1), window: budget.Window()}
}

// take counts one event if the window has room for it; otherwise it says
// how long until it has.
func (p *webhookPace) take(now time.Time) (bool, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := 0
	for i < len(p.times) && !p.times[i].After(now.Add(-p.window)) {
		i++
	}
	p.times = p.times[i:]
	if len(p.times) >= p.limit {
		return false, p.times[0].Add(p.window).Sub(now)
	}
	p.times = append(p.times, now)
	return true, 0
}

// webhookAuthorized accepts the webhook secret as X-Webhook-Secret, as a
// bearer token, or as a Basic password (Freshservice's workflow automator
// can send any of them).
func (s *Server) webhookAuthorized(r *http.Request) bool {
	v := scim.NewVerifier([]scim.Credential{{Name: "webhook", Hash: config.HashToken(s.Config.Webhook.Secret.Reveal())}}, nil)
	if _, ok := v.Token(r.Header.Get("X-Webhook-Secret")); ok {
		return true
	}
	_, ok := v.Authorization(r, true)
	return ok
}

// webhookTarget finds the user a webhook body is about.
func webhookTarget(body map[string]any) (id int64, agent bool, email string) {
	if ev, _ := body["event"].(string); strings.Contains(strings.ToLower(ev), "agent") {
		agent = true
	}
	num := func(v any) int64 {
		switch t := v.(type) {
		case float64:
			return int64(t)
		case string:
			n, _ := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
			return n
		}
		return 0
	}
	for _, k := range []string{"agent_id", "requester_id", "user_id", "id"} {
		if n := num(body[k]); n > 0 {
			return n, agent || k == "agent_id", ""
		}
	}
	for _, k := range []string{"agent", "requester", "user"} {
		if m, ok := body[k].(map[string]any); ok {
			if n := num(m["id"]); n > 0 {
				return n, agent || k == "agent", ""
			}
			if e, _ := m["email"].(string); e != "" {
				email = e
			}
		}
	}
	if e, _ := body["email"].(string); e != "" {
		email = e
	}
	return 0, agent, strings.TrimSpace(email)
}
