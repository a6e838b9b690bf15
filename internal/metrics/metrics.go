// Package metrics exposes fsbridge's Prometheus metrics: SCIM requests,
// Freshservice calls, the API budget, the mirror, unfinished plans and
// failures. Counters are fed by the server's observers; gauges are read
// from the bridge when Prometheus scrapes.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/scim"
)

// Source is what the scrape-time gauges read.
type Source interface {
	// BudgetStats returns the budget's buckets and the total time waited.
	BudgetStats() ([]freshservice.BucketStats, time.Duration)
	MirrorUsers() int
	MirrorWalkedAt() time.Time
	PlansPending() int
	DriftUsers() int
	// UsersWithGaps counts users provisioned without a value Freshservice
	// cannot hold yet.
	UsersWithGaps() int
	// AgentsDowngraded counts agents Freshservice made occasional for want
	// of a full-time seat, although the rules ask for full-time.
	AgentsDowngraded() int
}

// Metrics holds the collectors.
type Metrics struct {
	reg          *prometheus.Registry
	scimRequests *prometheus.CounterVec
	scimDuration *prometheus.HistogramVec
	fsCalls      *prometheus.CounterVec
	fsDuration   *prometheus.HistogramVec
	failures     *prometheus.CounterVec
}

// New builds the collectors on a fresh registry (with the Go and process
// collectors).
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.scimRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fsbridge_scim_requests_total", Help: "SCIM requests answered, by resource, method and status.",
	}, []string{"resource", "method", "status"})
	m.scimDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "fsbridge_scim_request_duration_seconds", Help: "Time to answer a SCIM request, budget waits and Freshservice calls included.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"resource", "method"})
	m.fsCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fsbridge_freshservice_calls_total", Help: "Freshservice HTTP attempts, by method, route and status (0: no response).",
	}, []string{"method", "route", "status"})
	m.fsDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "fsbridge_freshservice_call_duration_seconds", Help: "Time of one Freshservice HTTP attempt.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"method", "route"})
	m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fsbridge_failures_total", Help: "Failed Freshservice attempts by reason (rate_limited, budget, auth, not_found, conflict, client, server, transport, decode, canceled).",
	}, []string{"reason"})
	m.reg.MustRegister(m.scimRequests, m.scimDuration, m.fsCalls, m.fsDuration, m.failures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest records a finished SCIM request.
func (m *Metrics) ObserveRequest(r scim.RequestRecord) {
	res := r.Resource
	if res == "" {
		res = "other"
	}
	m.scimRequests.WithLabelValues(res, r.Method, strconv.Itoa(r.Status)).Inc()
	m.scimDuration.WithLabelValues(res, r.Method).Observe(r.Duration.Seconds())
}

// ObserveCall records a Freshservice HTTP attempt.
func (m *Metrics) ObserveCall(_ context.Context, c freshservice.Call) {
	m.fsCalls.WithLabelValues(c.Method, c.Route, strconv.Itoa(c.Status)).Inc()
	m.fsDuration.WithLabelValues(c.Method, c.Route).Observe(c.Duration.Seconds())
	if c.Reason != "" {
		m.failures.WithLabelValues(string(c.Reason)).Inc()
	}
}

// Watch registers the scrape-time gauges read from src.
func (m *Metrics) Watch(src Source) {
	m.reg.MustRegister(&gauges{src: src})
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry returns the registry, for tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

type gauges struct{ src Source }

var (
	descRemaining = prometheus.NewDesc("fsbridge_freshservice_budget_remaining", "API credit left in the current window, per Freshservice bucket.", []string{"bucket"}, nil)
	descLimit     = prometheus.NewDesc("fsbridge_freshservice_budget_limit", "The bridge's share of each Freshservice bucket per window.", []string{"bucket"}, nil)
	descTotal     = prometheus.NewDesc("fsbridge_freshservice_budget_account_limit", "The account's limit of each Freshservice bucket per window.", []string{"bucket"}, nil)
	descOthers    = prometheus.NewDesc("fsbridge_freshservice_budget_others_spent_total", "Credit other integrations spent, as inferred from X-RateLimit-Remaining.", []string{"bucket"}, nil)
	descWaited    = prometheus.NewDesc("fsbridge_freshservice_budget_wait_seconds_total", "Time callers spent waiting for API budget.", nil, nil)
	descMirror    = prometheus.NewDesc("fsbridge_mirror_users", "Freshservice users in the mirror.", nil, nil)
	descAge       = prometheus.NewDesc("fsbridge_mirror_age_seconds", "Time since the last complete walk of Freshservice (-1: never).", nil, nil)
	descPending   = prometheus.NewDesc("fsbridge_plans_pending", "Users whose plan is waiting to be re-run.", nil, nil)
	descDrift     = prometheus.NewDesc("fsbridge_drift_users", "Users whose Freshservice state differs from what the IdP asked for, as of the last drift check.", nil, nil)
	descGaps      = prometheus.NewDesc("fsbridge_users_with_gaps", "Users provisioned without a value Freshservice cannot hold yet (an unknown department, location, manager, time zone or language).", nil, nil)
	descDowngrade = prometheus.NewDesc("fsbridge_agents_downgraded", "Agents the rules make full-time that Freshservice made occasional because no full-time seat was free.", nil, nil)
)

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRemaining, descLimit, descTotal, descOthers, descWaited, descMirror, descAge, descPending, descDrift, descGaps, descDowngrade} {
		ch <- d
	}
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	stats, waited := g.src.BudgetStats()
	for _, s := range stats {
		b := string(s.Bucket)
		ch <- prometheus.MustNewConstMetric(descRemaining, prometheus.GaugeValue, float64(s.Remaining), b)
		ch <- prometheus.MustNewConstMetric(descLimit, prometheus.GaugeValue, float64(s.Limit), b)
		ch <- prometheus.MustNewConstMetric(descTotal, prometheus.GaugeValue, float64(s.Total), b)
		ch <- prometheus.MustNewConstMetric(descOthers, prometheus.CounterValue, float64(s.OthersSpent), b)
	}
	ch <- prometheus.MustNewConstMetric(descWaited, prometheus.CounterValue, waited.Seconds())
	ch <- prometheus.MustNewConstMetric(descMirror, prometheus.GaugeValue, float64(g.src.MirrorUsers()))
	age := -1.0
	if t := g.src.MirrorWalkedAt(); !t.IsZero() {
		age = time.Since(t).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(descAge, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(g.src.PlansPending()))
	ch <- prometheus.MustNewConstMetric(descDrift, prometheus.GaugeValue, float64(g.src.DriftUsers()))
	ch <- prometheus.MustNewConstMetric(descGaps, prometheus.GaugeValue, float64(g.src.UsersWithGaps()))
	ch <- prometheus.MustNewConstMetric(descDowngrade, prometheus.GaugeValue, float64(g.src.AgentsDowngraded()))
}
