package health

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
)

// fakeSource answers the checks with fixed facts and counts what it was
// asked.
type fakeSource struct {
	storeErr      error
	credsOK       bool
	credsWhy      string
	accessOK      bool
	accessWhy     string
	mirror        Mirror
	calls         Calls
	askedAccess   int
	credsDeadline bool
}

func (f *fakeSource) PingStore(context.Context) error { return f.storeErr }
func (f *fakeSource) Credentials(ctx context.Context) (bool, string) {
	_, f.credsDeadline = ctx.Deadline()
	return f.credsOK, f.credsWhy
}
func (f *fakeSource) KeyAccess(context.Context) (bool, string) {
	f.askedAccess++
	return f.accessOK, f.accessWhy
}
func (f *fakeSource) Mirror() Mirror   { return f.mirror }
func (f *fakeSource) LastCalls() Calls { return f.calls }

func TestReadiness(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	healthy := func() *fakeSource {
		return &fakeSource{credsOK: true, credsWhy: "ok", accessOK: true, accessWhy: "ok",
			mirror: Mirror{Loaded: true, Users: 12, WalkedAt: now.Add(-3 * time.Minute), RefreshEvery: 15 * time.Minute},
			calls:  Calls{AnsweredAt: now.Add(-20 * time.Second)}}
	}
	for _, c := range []struct {
		name string
		edit func(*fakeSource)
		want []Check
	}{
		{"healthy", nil, []Check{
			{"store", "ok", "answering"},
			{"freshservice", "ok", "API key accepted; last call answered 20s ago"},
			{"permissions", "ok", "the API key's owner has every permission the bridge needs"},
			{"mirror", "ok", "12 users; walked 3m ago (every 15m)"},
		}},
		{"store unreachable", func(f *fakeSource) { f.storeErr = errors.New("closed") }, []Check{
			{"store", "fail", "unreachable: the bridge cannot save or read state"},
			{"freshservice", "ok", "API key accepted; last call answered 20s ago"},
			{"permissions", "ok", "the API key's owner has every permission the bridge needs"},
			{"mirror", "ok", "12 users; walked 3m ago (every 15m)"},
		}},
		// A refused key says nothing of its permissions: they are not asked.
		{"key refused", func(f *fakeSource) { f.credsOK, f.credsWhy = false, "the API key is refused (401)" }, []Check{
			{"store", "ok", "answering"},
			{"freshservice", "fail", "the API key is refused (401)"},
			{"mirror", "ok", "12 users; walked 3m ago (every 15m)"},
		}},
		{"permission missing", func(f *fakeSource) { f.accessOK, f.accessWhy = false, "lacks Manage Agents. Fix: give it" }, []Check{
			{"store", "ok", "answering"},
			{"freshservice", "ok", "API key accepted; last call answered 20s ago"},
			{"permissions", "fail", "lacks Manage Agents. Fix: give it"},
			{"mirror", "ok", "12 users; walked 3m ago (every 15m)"},
		}},
		{"last call failed lately", func(f *fakeSource) {
			f.calls = Calls{AnsweredAt: now.Add(-3 * time.Minute), FailedAt: now.Add(-90 * time.Second), Failure: "PUT /api/v2/requesters/{id}: 502 server"}
		}, []Check{
			{"store", "ok", "answering"},
			{"freshservice", "warn", "API key accepted, but the last call failed 2m ago (PUT /api/v2/requesters/{id}: 502 server)"},
			{"permissions", "ok", "the API key's owner has every permission the bridge needs"},
			{"mirror", "ok", "12 users; walked 3m ago (every 15m)"},
		}},
		{"a failure long ago is forgotten", func(f *fakeSource) {
			f.calls = Calls{AnsweredAt: now.Add(-10 * time.Minute), FailedAt: now.Add(-6 * time.Minute), Failure: "GET /api/v2/agents: 500 server"}
		}, []Check{
			{"store", "ok", "answering"},
			{"freshservice", "ok", "API key accepted; last call answered 10m ago"},
			{"permissions", "ok", "the API key's owner has every permission the bridge needs"},
			{"mirror", "ok", "12 users; walked 3m ago (every 15m)"},
		}},
		{"a failure followed by an answer", func(f *fakeSource) {
			f.calls.FailedAt, f.calls.Failure = now.Add(-time.Minute), "GET /api/v2/agents: 500 server"
		}, []Check{
			{"store", "ok", "answering"},
			{"freshservice", "ok", "API key accepted; last call answered 20s ago"},
			{"permissions", "ok", "the API key's owner has every permission the bridge needs"},
			{"mirror", "ok", "12 users; walked 3m ago (every 15m)"},
		}},
		{"no call yet", func(f *fakeSource) { f.calls = Calls{} }, []Check{
			{"store", "ok", "answering"},
			{"freshservice", "ok", "API key accepted"},
			{"permissions", "ok", "the API key's owner has every permission the bridge needs"},
			{"mirror", "ok", "12 users; walked 3m ago (every 15m)"},
		}},
		{"mirror not loaded", func(f *fakeSource) { f.mirror = Mirror{} }, []Check{
			{"store", "ok", "answering"},
			{"freshservice", "ok", "API key accepted; last call answered 20s ago"},
			{"permissions", "ok", "the API key's owner has every permission the bridge needs"},
			{"mirror", "fail", "not loaded yet: SCIM reads wait for it"},
		}},
		{"mirror not walked", func(f *fakeSource) { f.mirror.WalkedAt = time.Time{}; f.mirror.Users = 1 }, []Check{
			{"store", "ok", "answering"},
			{"freshservice", "ok", "API key accepted; last call answered 20s ago"},
			{"permissions", "ok", "the API key's owner has every permission the bridge needs"},
			{"mirror", "warn", "1 user loaded, not walked yet (the first walk is running or failing)"},
		}},
		// Late is over twice the interval and a minute.
		{"walks late", func(f *fakeSource) { f.mirror.WalkedAt, f.mirror.WalkErrors = now.Add(-2*time.Hour), 7 }, []Check{
			{"store", "ok", "answering"},
			{"freshservice", "ok", "API key accepted; last call answered 20s ago"},
			{"permissions", "ok", "the API key's owner has every permission the bridge needs"},
			{"mirror", "warn", "12 users; last complete walk 2h ago, but it should run every 15m (7 walks failed)"},
		}},
		{"walks on time", func(f *fakeSource) { f.mirror.WalkedAt = now.Add(-31 * time.Minute) }, []Check{
			{"store", "ok", "answering"},
			{"freshservice", "ok", "API key accepted; last call answered 20s ago"},
			{"permissions", "ok", "the API key's owner has every permission the bridge needs"},
			{"mirror", "ok", "12 users; walked 31m ago (every 15m)"},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := healthy()
			if c.edit != nil {
				c.edit(src)
			}
			got := Readiness(context.Background(), now, src)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("checks\n got %+v\nwant %+v", got, c.want)
			}
			if !src.credsDeadline {
				t.Error("the credentials check ran without a deadline")
			}
		})
	}
}

func TestReadyAndWorst(t *testing.T) {
	ok := Check{"store", "ok", "answering"}
	warn := Check{"mirror", "warn", "not walked yet"}
	fail := Check{"freshservice", "fail", "the API key is refused (401)"}
	for _, c := range []struct {
		name   string
		checks []Check
		ready  bool
		worst  string
		words  map[string]string
	}{
		{"all ok", []Check{ok}, true, "ok", map[string]string{"store": "ok"}},
		{"a warning is still ready", []Check{ok, warn}, true, "warn", map[string]string{"store": "ok", "mirror": "ok (warning: not walked yet)"}},
		{"a failure is not", []Check{fail, warn, ok}, false, "fail", map[string]string{
			"store": "ok", "mirror": "ok (warning: not walked yet)", "freshservice": "the API key is refused (401)"}},
		{"a warning after a failure", []Check{warn, fail, warn}, false, "fail", map[string]string{
			"mirror": "ok (warning: not walked yet)", "freshservice": "the API key is refused (401)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ready, words := Ready(c.checks)
			if ready != c.ready || !reflect.DeepEqual(words, c.words) {
				t.Errorf("Ready = %v %v, want %v %v", ready, words, c.ready, c.words)
			}
			if w := Worst(c.checks); w != c.worst {
				t.Errorf("Worst = %s, want %s", w, c.worst)
			}
		})
	}
}

func TestCallLog(t *testing.T) {
	var l CallLog
	if l.Last() != (Calls{}) {
		t.Fatalf("a new log says %+v", l.Last())
	}
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	l.Observe(t0, freshservice.Call{Method: http.MethodGet, Route: "/api/v2/agents", Status: 200})
	l.Observe(t0.Add(time.Second), freshservice.Call{Method: http.MethodPut, Route: "/api/v2/requesters/{id}", Status: 400, Reason: freshservice.ReasonClient})
	l.Observe(t0.Add(2*time.Second), freshservice.Call{Method: http.MethodPost, Route: "/api/v2/requesters", Reason: freshservice.ReasonTransport})
	want := Calls{AnsweredAt: t0, FailedAt: t0.Add(2 * time.Second), Failure: "POST /api/v2/requesters: " + string(freshservice.ReasonTransport)}
	if got := l.Last(); got != want {
		t.Errorf("last calls %+v, want %+v", got, want)
	}
	l.Observe(t0.Add(3*time.Second), freshservice.Call{Method: http.MethodPut, Route: "/api/v2/requesters/{id}", Status: 400, Reason: freshservice.ReasonClient})
	if got := l.Last().Failure; got != "PUT /api/v2/requesters/{id}: 400 client" {
		t.Errorf("failure %q", got)
	}
}

func TestWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "under a second", 999 * time.Millisecond: "under a second", 1500 * time.Millisecond: "2s", 59 * time.Second: "59s",
		90 * time.Second: "2m", 15 * time.Minute: "15m", 89 * time.Minute: "1h", 150 * time.Minute: "3h", 26 * time.Hour: "26h",
	} {
		if got := Ago(d); got != want {
			t.Errorf("Ago(%s) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		15 * time.Minute: "15m", 2 * time.Hour: "2h", 90 * time.Minute: "1h30m", 90 * time.Second: "1m30s", 168 * time.Hour: "168h",
	} {
		if got := ShortDuration(d); got != want {
			t.Errorf("ShortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
