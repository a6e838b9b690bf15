// Package health is the one health model /readyz and the status page
// report: whether the store answers, Freshservice accepts the API key, the
// key's owner has the permissions the bridge needs, and the mirror is
// loaded and walked. A check that fails makes the bridge unready; a
// warning does not.
package health

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
)

// Check is one check's outcome: its State is ok, warn or fail, and its
// Detail says why in words.
type Check struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	Detail string `json:"detail"`
}

// Source is what the checks read.
type Source interface {
	// PingStore reports whether the store answers.
	PingStore(ctx context.Context) error
	// Credentials says whether Freshservice accepts the API key, and if
	// not, why.
	Credentials(ctx context.Context) (ok bool, why string)
	// KeyAccess says whether the key's owner has every permission the
	// bridge needs, and if not, what is missing and its fix.
	KeyAccess(ctx context.Context) (ok bool, why string)
	// Mirror is the in-memory mirror as it is now.
	Mirror() Mirror
	// LastCalls is what the last Freshservice calls said.
	LastCalls() Calls
}

// Mirror is what the mirror check reads of the in-memory mirror.
type Mirror struct {
	// Loaded is false until the mirror is loaded: SCIM reads wait for it.
	Loaded bool
	Users  int
	// WalkedAt is when the last complete walk ended (zero before one);
	// RefreshEvery how often walks should run (mirror.refresh_interval),
	// WalkErrors how many failed part-way.
	WalkedAt     time.Time
	RefreshEvery time.Duration
	WalkErrors   int64
}

// Readiness runs the checks, in order: store, freshservice, permissions
// (only when Freshservice accepts the key) and mirror. Reaching
// Freshservice is left to the source, which answers from the last call
// when it can.
func Readiness(ctx context.Context, now time.Time, src Source) []Check {
	var checks []Check
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if err := src.PingStore(pctx); err != nil {
		checks = append(checks, Check{"store", "fail", "unreachable: the bridge cannot save or read state"})
	} else {
		checks = append(checks, Check{"store", "ok", "answering"})
	}
	cancel()
	fh := freshserviceCheck(ctx, now, src)
	checks = append(checks, fh)
	if fh.State != "fail" {
		if good, why := src.KeyAccess(ctx); good {
			checks = append(checks, Check{"permissions", "ok", "the API key's owner has every permission the bridge needs"})
		} else {
			checks = append(checks, Check{"permissions", "fail", why})
		}
	}
	return append(checks, mirrorCheck(now, src.Mirror()))
}

func freshserviceCheck(ctx context.Context, now time.Time, src Source) Check {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	good, why := src.Credentials(cctx)
	if !good {
		return Check{"freshservice", "fail", why}
	}
	last := src.LastCalls()
	if !last.FailedAt.IsZero() && last.FailedAt.After(last.AnsweredAt) && now.Sub(last.FailedAt) < 5*time.Minute {
		return Check{"freshservice", "warn", fmt.Sprintf("API key accepted, but the last call failed %s ago (%s)", Ago(now.Sub(last.FailedAt)), last.Failure)}
	}
	if !last.AnsweredAt.IsZero() {
		return Check{"freshservice", "ok", fmt.Sprintf("API key accepted; last call answered %s ago", Ago(now.Sub(last.AnsweredAt)))}
	}
	return Check{"freshservice", "ok", "API key accepted"}
}

func mirrorCheck(now time.Time, m Mirror) Check {
	if !m.Loaded {
		return Check{"mirror", "fail", "not loaded yet: SCIM reads wait for it"}
	}
	users := plural(m.Users, "user", "users")
	if m.WalkedAt.IsZero() {
		return Check{"mirror", "warn", users + " loaded, not walked yet (the first walk is running or failing)"}
	}
	age := now.Sub(m.WalkedAt)
	every := ShortDuration(m.RefreshEvery)
	if m.RefreshEvery > 0 && age > 2*m.RefreshEvery+time.Minute {
		return Check{"mirror", "warn", fmt.Sprintf("%s; last complete walk %s ago, but it should run every %s (%s failed)", users, Ago(age), every, plural(int(m.WalkErrors), "walk", "walks"))}
	}
	return Check{"mirror", "ok", fmt.Sprintf("%s; walked %s ago (every %s)", users, Ago(age), every)}
}

// Worst is the worst state among the checks: fail, else warn, else ok.
func Worst(checks []Check) string {
	state := "ok"
	for _, c := range checks {
		if c.State == "fail" || (c.State == "warn" && state == "ok") {
			state = c.State
		}
	}
	return state
}

// Ready is /readyz's answer: ready when no check fails, and each check's
// state in words: "ok", "ok (warning: …)", or, for a failing one, why it
// fails.
func Ready(checks []Check) (bool, map[string]string) {
	ok := true
	out := map[string]string{}
	for _, c := range checks {
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
	return ok, out
}

// Calls is what the last Freshservice calls said: when one was last
// answered, when one last failed, and how.
type Calls struct {
	AnsweredAt time.Time
	FailedAt   time.Time
	// Failure names the last failed call: "PUT /api/v2/requesters/{id}:
	// 400 client".
	Failure string
}

// CallLog keeps the Calls of every Freshservice HTTP attempt it observes.
// The zero value is ready to use.
type CallLog struct {
	mu   sync.Mutex
	last Calls
}

// Observe records one Freshservice HTTP attempt made at now.
func (l *CallLog) Observe(now time.Time, c freshservice.Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.Reason == "" {
		l.last.AnsweredAt = now
		return
	}
	l.last.FailedAt = now
	what := string(c.Reason)
	if c.Status != 0 {
		what = fmt.Sprintf("%d %s", c.Status, c.Reason)
	}
	l.last.Failure = fmt.Sprintf("%s %s: %s", c.Method, c.Route, what)
}

// Last returns what the last calls said.
func (l *CallLog) Last() Calls {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// Ago writes a duration the way the checks do: "under a second", else
// rounded to the second, minute or hour it is closest to ("15m", "2h").
func Ago(d time.Duration) string {
	switch {
	case d < time.Second:
		return "under a second"
	case d < time.Minute:
		return ShortDuration(d.Round(time.Second))
	case d < time.Hour:
		return ShortDuration(d.Round(time.Minute))
	}
	return ShortDuration(d.Round(time.Hour))
}

// ShortDuration writes 15m instead of 15m0s, and 2h instead of 2h0m0s.
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
