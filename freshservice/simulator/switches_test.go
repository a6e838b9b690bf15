package simulator_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

// Every Switches field, at its default and at each other setting. Query
// index lag and rate window have their own tests (query_test.go,
// ratelimit_test.go).
func TestSwitches(t *testing.T) {
	sdAgent := func(e *env) []any {
		return []any{map[string]any{"role_id": e.roleID("SD Agent"), "assignment_scope": "entire_helpdesk"}}
	}
	tests := []struct {
		name string
		sw   simulator.Switches
		run  func(t *testing.T, e *env)
	}{
		{"duplicate email 409 by default", simulator.Switches{}, func(t *testing.T, e *env) {
			e.do("POST", "/api/v2/requesters", map[string]any{"first_name": "D", "primary_email": "owner@example.com"}).want(t, 409)
			r := e.do("POST", "/api/v2/agents", map[string]any{"first_name": "D", "email": "ON@example.com", "roles": sdAgent(e)}).want(t, 409)
			if got := r.errorCodes(t); !slices.Equal(got, []string{"email:duplicate_value"}) {
				t.Errorf("errors %v", got)
			}
		}},
		{"duplicate email 400 where a real tenant has not shown it", simulator.Switches{DuplicateEmailStatus: 400}, func(t *testing.T, e *env) {
			r := e.do("POST", "/api/v2/agents", map[string]any{"first_name": "D", "email": "on@example.com", "roles": sdAgent(e)}).want(t, 400)
			if got := r.errorCodes(t); !slices.Equal(got, []string{"email:duplicate_value"}) {
				t.Errorf("errors %v", got)
			}
			on := e.sim.Users()[1].ID
			r = e.do("PUT", "/api/v2/requesters/"+itoa(on), map[string]any{"secondary_emails": []string{"OFF@example.com"}}).want(t, 400)
			if got := r.errorCodes(t); !slices.Equal(got, []string{"secondary_emails:duplicate_value"}) {
				t.Errorf("errors %v", got)
			}
			// A requester create answers 409 on a real tenant, whatever the switch (§19).
			e.do("POST", "/api/v2/requesters", map[string]any{"first_name": "D", "primary_email": "owner@example.com"}).want(t, 409)
		}},
		{"duplicate email body names no field", simulator.Switches{DuplicateEmailBody: "conflict"}, func(t *testing.T, e *env) {
			for _, w := range []struct {
				path string
				body map[string]any
			}{
				{"/api/v2/requesters", map[string]any{"first_name": "D", "primary_email": "Off@Example.com"}},
				{"/api/v2/agents", map[string]any{"first_name": "D", "email": "on.alias@example.com", "roles": sdAgent(e)}},
			} {
				r := e.do("POST", w.path, w.body).want(t, 409)
				if m := r.obj(t); m["code"] != "inconsistent_state" || m["errors"] != nil {
					t.Errorf("%s: body %s", w.path, r.body)
				}
			}
		}},
		{"agent repeat calls succeed by default", simulator.Switches{}, func(t *testing.T, e *env) {
			aid := e.createAgent(map[string]any{"first_name": "A", "email": "a@example.com"})
			e.do("PUT", "/api/v2/agents/"+itoa(aid)+"/reactivate", nil).want(t, 200)
			e.do("DELETE", "/api/v2/agents/"+itoa(aid), nil).want(t, 200)
			before := e.user(aid)
			if a := e.do("DELETE", "/api/v2/agents/"+itoa(aid), nil).want(t, 200).item(t, "agent"); a["active"] != false {
				t.Errorf("second delete: %v", a)
			}
			if e.user(aid).UpdatedAt != before.UpdatedAt {
				t.Error("a repeated delete moved updated_at")
			}
		}},
		{"agent repeat calls fail", simulator.Switches{AgentRepeatCalls: "fail"}, func(t *testing.T, e *env) {
			aid := e.createAgent(map[string]any{"first_name": "A", "email": "a@example.com"})
			r := e.do("PUT", "/api/v2/agents/"+itoa(aid)+"/reactivate", nil).want(t, 400)
			if r.obj(t)["code"] != "contact_already_active" {
				t.Errorf("body %s", r.body)
			}
			e.do("DELETE", "/api/v2/agents/"+itoa(aid), nil).want(t, 200)
			e.do("DELETE", "/api/v2/agents/"+itoa(aid), nil).want(t, 404)
			e.do("PUT", "/api/v2/agents/"+itoa(aid)+"/reactivate", nil).want(t, 200)
		}},
		{"requester list returns inactive by default", simulator.Switches{}, func(t *testing.T, e *env) {
			wantListed(t, e, "/api/v2/requesters", "requesters", 2)
		}},
		{"requester list active only", simulator.Switches{RequesterListActiveOnly: true}, func(t *testing.T, e *env) {
			wantListed(t, e, "/api/v2/requesters", "requesters", 1)
			wantListed(t, e, "/api/v2/requesters?active=false", "requesters", 1)
		}},
		{"email filter matches secondary by default", simulator.Switches{}, func(t *testing.T, e *env) {
			wantListed(t, e, "/api/v2/requesters?email=on.alias@example.com", "requesters", 1)
		}},
		{"email filter primary only", simulator.Switches{EmailFilterPrimaryOnly: true}, func(t *testing.T, e *env) {
			wantListed(t, e, "/api/v2/requesters?email=on.alias@example.com", "requesters", 0)
			wantListed(t, e, "/api/v2/requesters?email=on@example.com", "requesters", 1)
		}},
		{"agent delete 200 with body by default", simulator.Switches{}, func(t *testing.T, e *env) {
			aid := e.createAgent(map[string]any{"first_name": "A", "email": "a@example.com"})
			if a := e.do("DELETE", "/api/v2/agents/"+itoa(aid), nil).want(t, 200).item(t, "agent"); a["active"] != false {
				t.Errorf("body %v", a)
			}
		}},
		{"agent delete 204", simulator.Switches{AgentDeleteStatus: 204}, func(t *testing.T, e *env) {
			aid := e.createAgent(map[string]any{"first_name": "A", "email": "a@example.com"})
			if r := e.do("DELETE", "/api/v2/agents/"+itoa(aid), nil).want(t, 204); len(r.body) != 0 {
				t.Errorf("body %q", r.body)
			}
			if e.user(aid).Active {
				t.Error("still active")
			}
		}},
		{"convert_to_requester envelope requester by default", simulator.Switches{}, func(t *testing.T, e *env) {
			aid := e.createAgent(map[string]any{"first_name": "A", "email": "a@example.com"})
			e.do("PUT", "/api/v2/agents/"+itoa(aid)+"/convert_to_requester", nil).want(t, 200).item(t, "requester")
		}},
		{"convert_to_requester envelope agent", simulator.Switches{ConvertToRequesterEnvelope: "agent"}, func(t *testing.T, e *env) {
			aid := e.createAgent(map[string]any{"first_name": "A", "email": "a@example.com"})
			r := e.do("PUT", "/api/v2/agents/"+itoa(aid)+"/convert_to_requester", nil).want(t, 200).item(t, "agent")
			if r["primary_email"] != "a@example.com" || r["is_agent"] != false {
				t.Errorf("not requester-shaped: %v", r)
			}
		}},
		{"convert_to_agent on an agent 409 by default", simulator.Switches{}, func(t *testing.T, e *env) {
			e.do("PUT", "/api/v2/requesters/"+itoa(e.sim.Users()[0].ID)+"/convert_to_agent", nil).want(t, 409)
		}},
		{"convert_to_agent on an agent 200 no-op", simulator.Switches{ConvertToAgentExistingStatus: 200}, func(t *testing.T, e *env) {
			owner := e.sim.Users()[0]
			a := e.do("PUT", "/api/v2/requesters/"+itoa(owner.ID)+"/convert_to_agent", nil).want(t, 200).item(t, "agent")
			if a["occasional"] != false || e.user(owner.ID).UpdatedAt != owner.UpdatedAt {
				t.Errorf("not a no-op: %v", a)
			}
		}},
		{"requester group add 201", simulator.Switches{RequesterGroupAddStatus: 201}, func(t *testing.T, e *env) {
			addMember(t, e, 201)
		}},
		{"requester group add 204", simulator.Switches{RequesterGroupAddStatus: 204}, func(t *testing.T, e *env) {
			addMember(t, e, 204)
		}},
		{"create 201 by default where no real tenant has shown it", simulator.Switches{}, func(t *testing.T, e *env) {
			wantCreates(t, e, 201, map[string]map[string]any{
				"agents":    {"first_name": "C", "email": "c2@example.com", "roles": sdAgent(e)},
				"groups":    {"name": "G"},
				"locations": {"name": "L"},
			})
		}},
		{"create 200", simulator.Switches{CreateStatus: 200}, func(t *testing.T, e *env) {
			wantCreates(t, e, 200, map[string]map[string]any{
				"agents":    {"first_name": "C", "email": "c2@example.com", "roles": sdAgent(e)},
				"groups":    {"name": "G"},
				"locations": {"name": "L"},
			})
		}},
		{"create status of requesters, requester groups and departments ignores the switch", simulator.Switches{CreateStatus: 200}, func(t *testing.T, e *env) {
			wantCreates(t, e, 201, map[string]map[string]any{"requesters": {"first_name": "C", "primary_email": "c@example.com"}})
			wantCreates(t, e, 200, map[string]map[string]any{"requester_groups": {"name": "G"}, "departments": {"name": "D"}})
		}},
		{"agent deactivation clears groups", simulator.Switches{AgentDeactivateClearsGroups: true}, func(t *testing.T, e *env) {
			aid := e.createAgent(map[string]any{"first_name": "A", "email": "a@example.com", "member_of": []int64{e.groupID("Service Desk")}})
			e.do("DELETE", "/api/v2/agents/"+itoa(aid), nil).want(t, 200)
			if u := e.user(aid); len(u.MemberOf) != 0 {
				t.Errorf("member_of %v", u.MemberOf)
			}
		}},
		{"agent roles optional", simulator.Switches{AgentRolesOptional: true}, func(t *testing.T, e *env) {
			a := e.do("POST", "/api/v2/agents", map[string]any{"first_name": "A", "email": "a@example.com"}).want(t, 201).item(t, "agent")
			if len(a["roles"].([]any)) != 0 {
				t.Errorf("roles %v", a["roles"])
			}
			e.do("PUT", "/api/v2/agents/"+itoa(id(t, a["id"])), map[string]any{"roles": []any{}}).want(t, 200)
		}},
		{"404 body empty by default", simulator.Switches{}, func(t *testing.T, e *env) {
			if r := e.do("GET", "/api/v2/requesters/1", nil).want(t, 404); len(r.body) != 0 {
				t.Errorf("body %q", r.body)
			}
		}},
		{"404 body json", simulator.Switches{NotFoundBody: "json"}, func(t *testing.T, e *env) {
			if r := e.do("GET", "/api/v2/requesters/1", nil).want(t, 404); r.obj(t)["code"] != "not_found" {
				t.Errorf("body %s", r.body)
			}
		}},
		{"404 body html", simulator.Switches{NotFoundBody: "html"}, func(t *testing.T, e *env) {
			r := e.do("GET", "/api/v2/nothing", nil).want(t, 404)
			if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "<html>") {
				t.Errorf("%v %s", r.header, r.body)
			}
		}},
		{"query Link", simulator.Switches{QueryLink: true}, func(t *testing.T, e *env) {
			for i := range 31 {
				e.createRequester(map[string]any{"first_name": "Q", "primary_email": fmt.Sprintf("q%d@example.com", i)})
			}
			r := e.do("GET", queryPath("requesters", `first_name:'Q'`), nil).want(t, 200)
			if !strings.Contains(r.header.Get("Link"), "page=2") {
				t.Errorf("Link %q", r.header.Get("Link"))
			}
			if r := e.do("GET", queryPath("requesters", `first_name:'Q'`, "page", "2"), nil).want(t, 200); r.header.Get("Link") != "" {
				t.Errorf("Link on the last page %q", r.header.Get("Link"))
			}
		}},
		{"seat limit 403 by default", simulator.Switches{}, func(t *testing.T, e *env) {
			e.sim.SetSeats(1)
			e.do("POST", "/api/v2/agents", map[string]any{"first_name": "A", "email": "a@example.com", "roles": sdAgent(e)}).want(t, 403)
		}},
		{"seat limit 402", simulator.Switches{SeatLimitStatus: 402}, func(t *testing.T, e *env) {
			e.sim.SetSeats(1)
			r := e.do("POST", "/api/v2/agents", map[string]any{"first_name": "A", "email": "a@example.com", "roles": sdAgent(e)}).want(t, 402)
			if r.obj(t)["code"] != "access_denied" {
				t.Errorf("body %s", r.body)
			}
		}},
		{"seat exhaustion downgrades to occasional", simulator.Switches{SeatExhaustion: "downgrade"}, func(t *testing.T, e *env) {
			e.sim.SetSeats(2) // the owner has one
			full := e.do("POST", "/api/v2/agents", map[string]any{"first_name": "F", "email": "f@example.com", "occasional": false, "roles": sdAgent(e)}).want(t, 201).item(t, "agent")
			if full["occasional"] != false {
				t.Fatalf("a free seat goes first: %v", full["occasional"])
			}
			a := e.do("POST", "/api/v2/agents", map[string]any{"first_name": "A", "email": "a@example.com", "occasional": false, "roles": sdAgent(e)}).want(t, 201).item(t, "agent")
			if a["occasional"] != true {
				t.Errorf("create without a seat: occasional %v", a["occasional"])
			}
			aid := id(t, a["id"])
			u := e.do("PUT", "/api/v2/agents/"+itoa(aid), map[string]any{"occasional": false, "job_title": "Ops"}).want(t, 200).item(t, "agent")
			if u["occasional"] != true || u["job_title"] != "Ops" {
				t.Errorf("update to full-time without a seat: %v %v", u["occasional"], u["job_title"])
			}
			fid := id(t, full["id"])
			e.do("DELETE", "/api/v2/agents/"+itoa(fid), nil).want(t, 200)
			// The freed seat goes to the next agent who asks.
			if u := e.do("PUT", "/api/v2/agents/"+itoa(aid), map[string]any{"occasional": false}).want(t, 200).item(t, "agent"); u["occasional"] != false {
				t.Errorf("update with a free seat: occasional %v", u["occasional"])
			}
			if r := e.do("PUT", "/api/v2/agents/"+itoa(fid)+"/reactivate", nil).want(t, 200).item(t, "agent"); r["occasional"] != true || r["active"] != true {
				t.Errorf("reactivation without a seat: %v %v", r["occasional"], r["active"])
			}
			if n := fullTime(e); n != 2 {
				t.Errorf("%d full-time agents, seats are 2", n)
			}
		}},
		{"vip_user writable", simulator.Switches{VIPUserWritable: true}, func(t *testing.T, e *env) {
			r := e.do("POST", "/api/v2/requesters", map[string]any{"first_name": "V", "primary_email": "v@example.com", "vip_user": true}).want(t, 201)
			if r.item(t, "requester")["vip_user"] != true {
				t.Errorf("body %s", r.body)
			}
		}},
		{"agent external_id writable by default", simulator.Switches{}, func(t *testing.T, e *env) {
			a := e.do("POST", "/api/v2/agents", map[string]any{"first_name": "A", "email": "a@example.com", "roles": sdAgent(e), "external_id": "x-1"}).want(t, 201).item(t, "agent")
			if a["external_id"] != "x-1" {
				t.Errorf("external_id %v", a["external_id"])
			}
		}},
		{"agent external_id read-only", simulator.Switches{AgentExternalIDReadOnly: true}, func(t *testing.T, e *env) {
			r := e.do("POST", "/api/v2/agents", map[string]any{"first_name": "A", "email": "a@example.com", "roles": sdAgent(e), "external_id": "x-1"}).want(t, 400)
			if got := r.errorCodes(t); !slices.Equal(got, []string{"external_id:invalid_field"}) {
				t.Errorf("errors %v", got)
			}
			e.do("POST", "/api/v2/requesters", map[string]any{"first_name": "R", "primary_email": "r@example.com", "external_id": "x-1"}).want(t, 201)
		}},
		{"query extra fields off by default", simulator.Switches{}, func(t *testing.T, e *env) {
			e.do("GET", queryPath("requesters", `secondary_emails:'on.alias@example.com'`), nil).want(t, 400)
			// external_id is a documented requester query field (§19).
			if got := e.queryNames("requesters", `external_id:'ext-1'`); !slices.Equal(got, []string{"On"}) {
				t.Errorf("external_id: %v", got)
			}
		}},
		{"query extra fields", simulator.Switches{QueryExtraFields: true}, func(t *testing.T, e *env) {
			if got := e.queryNames("requesters", `secondary_emails:'ON.alias@example.com'`); !slices.Equal(got, []string{"On"}) {
				t.Errorf("secondary_emails: %v", got)
			}
			if got := e.queryNames("requesters", `external_id:'ext-1'`); !slices.Equal(got, []string{"On"}) {
				t.Errorf("external_id: %v", got)
			}
		}},
		{"requester groups accept agents by default", simulator.Switches{}, func(t *testing.T, e *env) {
			gid := id(t, e.do("POST", "/api/v2/requester_groups", map[string]any{"name": "G"}).want(t, 200).item(t, "requester_group")["id"])
			e.do("POST", fmt.Sprintf("/api/v2/requester_groups/%d/members/%d", gid, e.sim.Users()[0].ID), nil).want(t, 200)
		}},
		{"requester groups reject agents", simulator.Switches{RequesterGroupRejectsAgents: true}, func(t *testing.T, e *env) {
			gid := id(t, e.do("POST", "/api/v2/requester_groups", map[string]any{"name": "G"}).want(t, 200).item(t, "requester_group")["id"])
			e.do("POST", fmt.Sprintf("/api/v2/requester_groups/%d/members/%d", gid, e.sim.Users()[0].ID), nil).want(t, 400)
		}},
		{"location address nested by default", simulator.Switches{}, func(t *testing.T, e *env) {
			l := e.do("POST", "/api/v2/locations", map[string]any{"name": "L", "address": map[string]any{"line1": "1 Main", "city": "X"}}).want(t, 201).item(t, "location")
			addr := l["address"].(map[string]any)
			if addr["line1"] != "1 Main" || addr["city"] != "X" || addr["zipcode"] != nil {
				t.Errorf("address %v", addr)
			}
			e.do("POST", "/api/v2/locations", map[string]any{"name": "M", "city": "X"}).want(t, 400)
			e.do("POST", "/api/v2/locations", map[string]any{"name": "M", "address": map[string]any{"street": "X"}}).want(t, 400)
		}},
		{"location address flat", simulator.Switches{LocationAddressFlat: true}, func(t *testing.T, e *env) {
			l := e.do("POST", "/api/v2/locations", map[string]any{"name": "L", "address_line1": "1 Main", "city": "X"}).want(t, 201).item(t, "location")
			if l["address_line1"] != "1 Main" || l["city"] != "X" || l["address"] != nil {
				t.Errorf("location %v", l)
			}
		}},
		{"email change allowed by default", simulator.Switches{}, func(t *testing.T, e *env) {
			rid := e.createRequester(map[string]any{"first_name": "E", "primary_email": "e@example.com"})
			e.do("PUT", "/api/v2/requesters/"+itoa(rid), map[string]any{"primary_email": "e2@example.com"}).want(t, 200)
		}},
		{"email change read-only", simulator.Switches{EmailChangeReadOnly: true}, func(t *testing.T, e *env) {
			rid := e.createRequester(map[string]any{"first_name": "E", "primary_email": "e@example.com"})
			r := e.do("PUT", "/api/v2/requesters/"+itoa(rid), map[string]any{"primary_email": "e2@example.com"}).want(t, 400)
			if got := r.errorCodes(t); !slices.Equal(got, []string{"primary_email:readonly_field"}) {
				t.Errorf("errors %v", got)
			}
			e.do("PUT", "/api/v2/requesters/"+itoa(rid), map[string]any{"primary_email": "e@example.com", "job_title": "x"}).want(t, 200)
		}},
		{"requester view shows agents by default", simulator.Switches{}, func(t *testing.T, e *env) {
			owner := e.sim.Users()[0].ID
			if r := e.do("GET", "/api/v2/requesters/"+itoa(owner), nil).want(t, 200).item(t, "requester"); r["is_agent"] != true {
				t.Errorf("requester view %v", r)
			}
		}},
		{"requester view of agents 404", simulator.Switches{RequesterViewOfAgents: "404"}, func(t *testing.T, e *env) {
			owner, on := e.sim.Users()[0].ID, e.sim.Users()[1].ID
			e.do("GET", "/api/v2/requesters/"+itoa(owner), nil).want(t, 404)
			e.do("GET", "/api/v2/agents/"+itoa(owner), nil).want(t, 200)
			e.do("GET", "/api/v2/requesters/"+itoa(on), nil).want(t, 200)
			// Lists with include_agents still show agents in requester shape.
			wantListed(t, e, "/api/v2/requesters?include_agents=true&email=owner@example.com", "requesters", 1)
		}},
		{"values stored as sent by default", simulator.Switches{}, func(t *testing.T, e *env) {
			r := e.do("POST", "/api/v2/requesters", map[string]any{"first_name": " Mary  Ann", "primary_email": "m@example.com", "work_phone_number": "+1 (800) 555-0100"}).want(t, 201).item(t, "requester")
			if r["first_name"] != " Mary  Ann" || r["work_phone_number"] != "+1 (800) 555-0100" {
				t.Errorf("stored %v %v", r["first_name"], r["work_phone_number"])
			}
		}},
		{"values normalised on write", simulator.Switches{NormalizeOnWrite: true}, func(t *testing.T, e *env) {
			r := e.do("POST", "/api/v2/requesters", map[string]any{"first_name": " Mary \t Ann ", "last_name": "van  der Berg", "primary_email": "m@example.com",
				"work_phone_number": "+1 (800) 555-0100", "mobile_phone_number": "07700 900-123"}).want(t, 201).item(t, "requester")
			want := map[string]any{"first_name": "Mary Ann", "last_name": "van der Berg", "work_phone_number": "+18005550100", "mobile_phone_number": "07700900123"}
			for k, v := range want {
				if r[k] != v {
					t.Errorf("%s = %q, want %q", k, r[k], v)
				}
			}
			rid := id(t, r["id"])
			before := e.user(rid)
			e.clock.Advance(time.Minute)
			// The same values, written differently, change nothing.
			e.do("PUT", "/api/v2/requesters/"+itoa(rid), map[string]any{"first_name": "Mary   Ann", "work_phone_number": "+1 800 555 0100"}).want(t, 200)
			if e.user(rid).UpdatedAt != before.UpdatedAt {
				t.Error("an equivalent write moved updated_at")
			}
			wantListed(t, e, "/api/v2/requesters?work_phone_number=%2B18005550100", "requesters", 1)
			wantListed(t, e, "/api/v2/requesters?work_phone_number="+url.QueryEscape("+1 (800) 555-0100"), "requesters", 0)
			a := e.do("POST", "/api/v2/agents", map[string]any{"first_name": "Al ", "last_name": " Bo", "email": "al@example.com", "roles": sdAgent(e), "mobile_phone_number": "(555) 12-34"}).want(t, 201).item(t, "agent")
			if a["first_name"] != "Al" || a["last_name"] != "Bo" || a["mobile_phone_number"] != "5551234" {
				t.Errorf("agent %v %v %v", a["first_name"], a["last_name"], a["mobile_phone_number"])
			}
		}},
		{"bodyless write without content type accepted by default", simulator.Switches{}, func(t *testing.T, e *env) {
			rid := e.createRequester(map[string]any{"first_name": "C", "primary_email": "c@example.com"})
			e.do("PUT", "/api/v2/requesters/"+itoa(rid)+"/convert_to_agent", nil).want(t, 200)
		}},
		{"write without content type 415", simulator.Switches{WriteContentTypeRequired: true}, func(t *testing.T, e *env) {
			rid := e.createRequester(map[string]any{"first_name": "C", "primary_email": "c@example.com"})
			off := e.sim.Users()[2].ID // the deactivated requester every case starts with
			gid := id(t, e.do("POST", "/api/v2/requester_groups", map[string]any{"name": "G"}).want(t, 200).item(t, "requester_group")["id"])
			for _, w := range []struct{ method, path string }{
				{"PUT", "/api/v2/requesters/" + itoa(rid) + "/convert_to_agent"},
				{"PUT", "/api/v2/requesters/" + itoa(off) + "/reactivate"},
				{"POST", fmt.Sprintf("/api/v2/requester_groups/%d/members/%d", gid, rid)},
			} {
				if got := e.do(w.method, w.path, nil).want(t, 415).obj(t)["code"]; got != "invalid_content_type" {
					t.Errorf("%s %s: code %v", w.method, w.path, got)
				}
				req := e.request(w.method, w.path, nil)
				req.Header.Set("Content-Type", "application/json")
				e.send(req).want(t, 200)
			}
			// Reads and deletes carry no body and need no Content-Type.
			e.do("GET", "/api/v2/requesters/"+itoa(rid), nil).want(t, 200)
			e.do("DELETE", fmt.Sprintf("/api/v2/requester_groups/%d/members/%d", gid, rid), nil).want(t, 204)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *simulatorOptions) { o.Switches = tc.sw })
			// Every case starts with an active and a deactivated requester.
			e.createRequester(map[string]any{"first_name": "On", "primary_email": "on@example.com", "secondary_emails": []string{"on.alias@example.com"}, "external_id": "ext-1"})
			off := e.createRequester(map[string]any{"first_name": "Off", "primary_email": "off@example.com"})
			e.do("DELETE", "/api/v2/requesters/"+itoa(off), nil).want(t, http.StatusNoContent)
			tc.run(t, e)
		})
	}
}

// wantCreates POSTs each body to /api/v2/<path> and expects status and a
// Location header.
func wantCreates(t *testing.T, e *env, status int, bodies map[string]map[string]any) {
	t.Helper()
	for path, body := range bodies {
		if r := e.do("POST", "/api/v2/"+path, body); r.status != status || r.header.Get("Location") == "" {
			t.Errorf("POST %s: %d (want %d), Location %q: %s", path, r.status, status, r.header.Get("Location"), r.body)
		}
	}
}

// fullTime counts the active full-time agents.
func fullTime(e *env) int {
	n := 0
	for _, u := range e.sim.Users() {
		if u.IsAgent && u.Active && !u.Occasional {
			n++
		}
	}
	return n
}

func wantListed(t *testing.T, e *env, path, envelope string, n int) {
	t.Helper()
	if got := e.do("GET", path, nil).want(t, 200).items(t, envelope); len(got) != n {
		t.Errorf("%s: %d items, want %d", path, len(got), n)
	}
}

func addMember(t *testing.T, e *env, status int) {
	t.Helper()
	gid := id(t, e.do("POST", "/api/v2/requester_groups", map[string]any{"name": "G"}).want(t, 200).item(t, "requester_group")["id"])
	rid := e.createRequester(map[string]any{"first_name": "M", "primary_email": "m@example.com"})
	e.do("POST", fmt.Sprintf("/api/v2/requester_groups/%d/members/%d", gid, rid), nil).want(t, status)
	if got := e.sim.RequesterGroupMembers(gid); !slices.Equal(got, []int64{rid}) {
		t.Errorf("members %v", got)
	}
}

func TestSwitchValidation(t *testing.T) {
	bad := []simulator.Switches{
		{DuplicateEmailStatus: 422}, {AgentDeleteStatus: 202}, {ConvertToAgentExistingStatus: 204},
		{RequesterGroupAddStatus: 202}, {CreateStatus: 202}, {SeatLimitStatus: 500},
		{DuplicateEmailBody: "empty"}, {AgentRepeatCalls: "ignore"}, {RequesterViewOfAgents: "hide"}, {SeatExhaustion: "wait"}, {KeyWorkspaceID: 9},
		{ConvertToRequesterEnvelope: "user"}, {NotFoundBody: "xml"}, {RateWindow: "hourly"}, {HourlyLimit: -1},
	}
	for _, sw := range bad {
		if _, err := simulator.New(simulator.Options{APIKey: "k", Switches: sw}); err == nil {
			t.Errorf("%+v accepted", sw)
		}
	}
	for _, o := range []simulator.Options{{}, {APIKey: "k", Plan: "free"}, {APIKey: "k", TimeScale: -1}, {APIKey: "k", FullTimeSeats: -1},
		{APIKey: "k", Faults: simulator.Faults{Rate5xx: 2}}, {APIKey: "k", Faults: simulator.Faults{Rate5xx: 0.6, RateDrop: 0.6}}} {
		if _, err := simulator.New(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
