package server

import (
	"context"

	"github.com/go-chi/chi/v5"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/scim"
)

// statusPage serves /status and /status.json (to be written).
type statusPage struct{ s *Server }

func newStatusPage(s *Server) *statusPage                            { return &statusPage{s: s} }
func (p *statusPage) observeCall(context.Context, freshservice.Call) {}
func (p *statusPage) observeRequest(scim.RequestRecord)              {}
func (p *statusPage) routes(chi.Router)                              {}
