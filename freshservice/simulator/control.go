package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The control endpoints under /_simulator need no authentication, cost no
// rate-limit credit and are not counted in Stats:
//
//	GET  /_simulator/stats      Stats
//	POST /_simulator/reset      Reset
//	GET  /_simulator/state      the whole account as SeedData
//	POST /_simulator/seed       Seed with a SeedData body
//	GET  /_simulator/requests   the request log
//	GET  /_simulator/faults     current Faults
//	PUT  /_simulator/faults     SetFaults with a Faults body
//	GET  /_simulator/switches   current Switches
//	PUT  /_simulator/switches   SetSwitches with a Switches body
//	PUT  /_simulator/seats      SetSeats with {"full_time_seats": N}
//	POST /_simulator/agent_groups/{id}/approve
//	                            ApproveAgentGroupMembers, with an optional
//	                            {"user_ids": [...]} body (none: everyone)

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/_simulator/"), "/")
	type op struct{ name, method string }
	read := func(v any) bool {
		dec := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			controlError(w, http.StatusBadRequest, fmt.Errorf("bad body: %w", err))
			return false
		}
		return true
	}
	if gid, ok := approvePath(name); ok && r.Method == http.MethodPost {
		var body struct {
			UserIDs []int64 `json:"user_ids"`
		}
		if r.ContentLength != 0 && !read(&body) {
			return
		}
		if err := s.ApproveAgentGroupMembers(gid, body.UserIDs...); err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, ErrNotFound) {
				status = http.StatusNotFound
			}
			controlError(w, status, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	switch (op{name, r.Method}) {
	case op{"stats", http.MethodGet}:
		controlJSON(w, s.Stats())
	case op{"reset", http.MethodPost}:
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case op{"state", http.MethodGet}:
		s.mu.Lock()
		d := s.st.dump()
		s.mu.Unlock()
		controlJSON(w, d)
	case op{"seed", http.MethodPost}:
		var d SeedData
		if !read(&d) {
			return
		}
		if err := s.Seed(d); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case op{"requests", http.MethodGet}:
		controlJSON(w, s.Requests())
	case op{"faults", http.MethodGet}:
		controlJSON(w, s.Faults())
	case op{"faults", http.MethodPut}:
		var f Faults
		if !read(&f) {
			return
		}
		if err := f.Validate(); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		s.SetFaults(f)
		controlJSON(w, s.Faults())
	case op{"switches", http.MethodGet}:
		controlJSON(w, s.Switches())
	case op{"switches", http.MethodPut}:
		var sw Switches
		if !read(&sw) {
			return
		}
		if err := sw.Validate(); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		s.SetSwitches(sw)
		controlJSON(w, s.Switches())
	case op{"seats", http.MethodPut}:
		var body struct {
			FullTimeSeats *int `json:"full_time_seats"`
		}
		if !read(&body) {
			return
		}
		if body.FullTimeSeats == nil || *body.FullTimeSeats < 0 {
			controlError(w, http.StatusBadRequest, errors.New(`the body must be {"full_time_seats": N} with N >= 0`))
			return
		}
		s.SetSeats(*body.FullTimeSeats)
		w.WriteHeader(http.StatusNoContent)
	default:
		controlError(w, http.StatusNotFound, fmt.Errorf("no control endpoint %s %s", r.Method, r.URL.Path))
	}
}

// approvePath reads the group id of "agent_groups/{id}/approve".
func approvePath(name string) (int64, bool) {
	rest, ok := strings.CutPrefix(name, "agent_groups/")
	if !ok {
		return 0, false
	}
	idPart, ok := strings.CutSuffix(rest, "/approve")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(idPart, 10, 64)
	return id, err == nil && id > 0
}

func controlJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", jsonContentType)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func controlError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
