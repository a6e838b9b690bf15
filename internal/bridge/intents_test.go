package bridge

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/store"
)

// TestNextIntentStep is what the background pass does with a create whose
// answer was lost, at each point of its life.
func TestNextIntentStep(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const interval = 30 * time.Second
	policy := CreateRetry{MaxAttempts: 10, MaxAge: 24 * time.Hour, Share: 0.1}
	doc := json.RawMessage(`{"userName":"ada@example.com","emails":[{"value":"ada@example.com"}]}`)
	in := func(age time.Duration, change func(*store.Intent)) store.Intent {
		i := store.Intent{Key: "ada@example.com", Doc: doc, Created: now.Add(-age)}
		if change != nil {
			change(&i)
		}
		return i
	}
	for _, c := range []struct {
		name    string
		in      store.Intent
		settled bool
		want    intentStep
	}{
		{"YoungerThanTheIntervalIsARequests", in(10*time.Second, nil), false, intentWaits},
		{"YoungAndSettled", in(10*time.Second, nil), true, intentWaits},
		{"Unsettled", in(time.Minute, nil), false, intentTried},
		{"SettledWaitsForTheIdPsRetry", in(time.Hour, nil), true, intentWaits},
		{"SettledForADay", in(25*time.Hour, nil), true, intentForgotten},
		{"SettledEvenIfItFailedBefore", in(time.Hour, func(i *store.Intent) { i.Failed = now.Add(-8 * 24 * time.Hour) }), true, intentWaits},
		{"GivenUpOnIsListed", in(48*time.Hour, func(i *store.Intent) { i.Failed = now.Add(-24 * time.Hour) }), false, intentWaits},
		{"GivenUpOnForAWeek", in(9*24*time.Hour, func(i *store.Intent) { i.Failed = now.Add(-8 * 24 * time.Hour) }), false, intentForgotten},
		{"BackingOff", in(time.Hour, func(i *store.Intent) { i.Attempts, i.NextAttempt = 2, now.Add(time.Minute) }), false, intentWaits},
		{"BackoffOver", in(time.Hour, func(i *store.Intent) { i.Attempts, i.NextAttempt = 2, now }), false, intentTried},
		{"TooOldAfterATry", in(24*time.Hour, func(i *store.Intent) { i.Attempts = 1 }), false, intentTooOld},
		{"TooOldButNeverTried", in(30*24*time.Hour, nil), false, intentTried},
		{"TooOldButBackingOff", in(25*time.Hour, func(i *store.Intent) { i.Attempts, i.NextAttempt = 1, now.Add(time.Minute) }), false, intentWaits},
		{"UnreadableDocument", in(time.Minute, func(i *store.Intent) { i.Doc = json.RawMessage(`not json`) }), false, intentForgotten},
		{"NoDocument", in(time.Minute, func(i *store.Intent) { i.Doc = nil }), false, intentForgotten},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := nextIntentStep(c.in, now, c.settled, policy, interval); got != c.want {
				t.Errorf("nextIntentStep = %d, want %d", got, c.want)
			}
		})
	}
}

// TestLastTry is when a failed try at a create is the last, and the reason
// the audit trail and /status give.
func TestLastTry(t *testing.T) {
	created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	policy := CreateRetry{MaxAttempts: 3, MaxAge: 24 * time.Hour}
	for _, c := range []struct {
		name     string
		attempts int
		end      time.Time
		wantWhy  string
		wantLast bool
	}{
		{"TriesLeft", 2, created.Add(time.Hour), "", false},
		{"TriesSpent", 3, created.Add(time.Hour), "3 tries failed", true},
		{"TooOld", 1, created.Add(24 * time.Hour), "1 try failed, and 24h0m0s have passed since the IdP sent it", true},
		{"SpentAndTooOld", 3, created.Add(48 * time.Hour), "3 tries failed", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			why, last := lastTry(policy, c.attempts, created, c.end)
			if why != c.wantWhy || last != c.wantLast {
				t.Errorf("lastTry = %q, %v; want %q, %v", why, last, c.wantWhy, c.wantLast)
			}
		})
	}
}

// TestCreateRetryAllowance is the calls per window all background tries of
// creates may spend: the share of the scarcest bucket, at least one.
func TestCreateRetryAllowance(t *testing.T) {
	buckets := func(overall, agents, requesters int) []freshservice.BucketStats {
		return []freshservice.BucketStats{
			{Bucket: freshservice.BucketOverall, Limit: overall},
			{Bucket: freshservice.BucketListAgents, Limit: agents},
			{Bucket: freshservice.BucketListRequesters, Limit: requesters},
		}
	}
	for _, c := range []struct {
		name  string
		stats []freshservice.BucketStats
		share float64
		want  int
	}{
		{"ShareOfTheListBucket", buckets(200, 50, 50), 0.1, 5},
		{"TheOverallBucketWhenScarcest", buckets(20, 50, 50), 0.5, 10},
		{"RoundsDown", buckets(200, 59, 70), 0.1, 5},
		{"AtLeastOne", buckets(200, 5, 5), 0.1, 1},
		{"NoStats", nil, 0.1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := createRetryAllowance(c.stats, c.share); got != c.want {
				t.Errorf("createRetryAllowance = %d, want %d", got, c.want)
			}
		})
	}
}

// TestCreateRetrySpending: the calls charged to tries count for one
// window after the try ended, then no more.
func TestCreateRetrySpending(t *testing.T) {
	var st createRetryState
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st.charge(t0, 2)
	st.charge(t0.Add(30*time.Second), 3)
	for _, c := range []struct {
		since time.Time
		want  int
	}{
		{t0.Add(-time.Second), 5},
		{t0, 3},
		{t0.Add(30 * time.Second), 0},
	} {
		if got := st.spentSince(c.since); got != c.want {
			t.Errorf("spent since %v = %d, want %d", c.since.Sub(t0), got, c.want)
		}
	}
}
