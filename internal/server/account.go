package server

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/status"
)

// rateSeen keeps the last X-RateLimit-Total Freshservice showed per bucket.
type rateSeen struct {
	mu     sync.Mutex
	totals map[freshservice.BucketName]int
}

func (r *rateSeen) observe(c freshservice.Call) {
	if c.Rate.Total <= 0 || c.Status == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.totals == nil {
		r.totals = map[freshservice.BucketName]int{}
	}
	r.totals[c.Bucket] = c.Rate.Total
}

func (r *rateSeen) get(b freshservice.BucketName) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.totals[b]
}

// Account reports the account as the bridge last saw it, for the status
// page's Account card and `fsbridge check`. It makes no Freshservice call.
func (s *Server) Account() status.AccountReport {
	rep := status.AccountReport{URL: s.Config.Freshservice.URL, Plan: s.Config.Freshservice.Plan, Per: "minute", AllWorkspaces: true}
	budget := s.Client.Budget()
	if budget.Hourly() {
		rep.Per = "hour"
	}
	stats, _ := budget.Stats()
	for _, b := range stats {
		seen := s.rates.get(b.Bucket)
		total := b.Total
		if seen > 0 {
			total = seen
			if b.Bucket == freshservice.BucketOverall {
				rep.Measured = true
			}
		}
		switch b.Bucket {
		case freshservice.BucketOverall:
			rep.Limit = total
		case freshservice.BucketListAgents:
			rep.ListAgents = total
		case freshservice.BucketListRequesters:
			rep.ListRequesters = total
		}
	}
	if rep.Per == "hour" {
		rep.ListAgents, rep.ListRequesters = 0, 0
	}
	if o := s.Bridge.KeyOwner(); o != nil {
		rep.KeyOwner, rep.KeyOwnerName = o.Email, o.Name
	}
	rep.ManageAgents, rep.SeeAgentsAsRequesters = true, true
	a := s.Bridge.KeyAccess()
	if a != nil {
		rep.ManageAgents, rep.SeeAgentsAsRequesters = a.ManageAgents, a.SeeAgentsAsRequesters
		for _, p := range a.Problems {
			rep.Problems = append(rep.Problems, status.AccountProblem{What: p.What, Fix: p.Fix})
		}
	}
	spaces := s.Bridge.Catalog().Workspaces
	if a != nil && len(a.Workspaces) > 0 {
		spaces = a.Workspaces
	}
	rep.AllWorkspaces = len(spaces) == 0
	for _, w := range spaces {
		rep.Workspaces = append(rep.Workspaces, status.AccountWorkspace{ID: w.ID, Name: w.Name, Primary: w.Primary})
		if w.Primary {
			rep.AllWorkspaces = true
		}
	}
	c := s.Bridge.Directory().Count()
	rep.FullTimeAgents, rep.OccasionalAgents = c.FullTimeAgents, c.OccasionalAgents
	if rs := s.Bridge.Rules(); rs != nil {
		rep.MaxAgents = rs.MaxAgents
	}
	if rep.Problems == nil {
		rep.Problems = []status.AccountProblem{}
	}
	rep.Ready = len(rep.Problems) == 0
	return rep
}

// keyAccessOK says whether the key may do what the bridge needs. A key
// found lacking is probed again at most once a minute (two calls), so
// a fixed permission is noticed; a key found able is probed again only
// after Freshservice refused a call (403), also at most once a minute.
func (s *Server) keyAccessOK(ctx context.Context) (bool, string) {
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	a := s.Bridge.KeyAccess()
	stale := a == nil || len(a.Problems) > 0 || s.saw403.Load()
	if stale && (a == nil || time.Since(a.ProbedAt) > credentialsCheckEvery) {
		s.saw403.Store(false)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		a = s.Bridge.ProbeKey(cctx)
		cancel()
	}
	if a == nil || len(a.Problems) == 0 {
		return true, "ok"
	}
	var l []string
	for _, p := range a.Problems {
		l = append(l, status.AccountProblem{What: p.What, Fix: p.Fix}.String())
	}
	return false, strings.Join(l, "; ")
}
