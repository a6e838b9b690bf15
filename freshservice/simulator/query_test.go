package simulator_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// queryPath builds a query= URL the way a client should: the expression in
// double quotes, the whole value URL-encoded.
func queryPath(resource, expr string, extra ...string) string {
	v := url.Values{"query": {`"` + expr + `"`}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return "/api/v2/" + resource + "?" + v.Encode()
}

func (e *env) queryNames(resource, expr string) []string {
	e.t.Helper()
	var out []string
	for _, it := range e.do("GET", queryPath(resource, expr), nil).want(e.t, 200).items(e.t, resource) {
		out = append(out, it["first_name"].(string))
	}
	return out
}

func TestQueryGrammar(t *testing.T) {
	e := newEnv(t, nil)
	eng, sales := e.departmentID("Engineering"), e.departmentID("Sales")
	hq := e.sim.Locations()[0].ID
	day := 24 * time.Hour
	alice := e.createRequester(map[string]any{"first_name": "Alice", "last_name": "Smith", "primary_email": "alice@example.com",
		"job_title": "HR Manager", "department_ids": []int64{eng}, "location_id": hq, "work_phone_number": "555-1", "time_zone": "Chennai"})
	e.clock.Advance(day)
	e.createRequester(map[string]any{"first_name": "Bob", "last_name": "O'Brien", "primary_email": "bob@example.com",
		"job_title": "Engineer", "department_ids": []int64{sales}, "mobile_phone_number": "777"})
	e.clock.Advance(day)
	e.createRequester(map[string]any{"first_name": "Carol", "last_name": "Smithers", "primary_email": "carol@example.com",
		"job_title": "HR Manager", "reporting_manager_id": alice, "custom_fields": map[string]any{"employee_id": "E42"}})
	e.clock.Advance(day)
	e.createRequester(map[string]any{"first_name": "Dan", "primary_email": "dan@example.com", "language": "de", "external_id": "00u1abc"})

	tests := []struct {
		expr string
		want []string
	}{
		{`job_title:'HR Manager'`, []string{"Carol", "Alice"}},
		{`job_title:'hr manager'`, []string{"Carol", "Alice"}},
		{`last_name:'O\'Brien'`, []string{"Bob"}},
		{`name:'Alice Smith'`, []string{"Alice"}},
		{`name:'Dan'`, []string{"Dan"}},
		{`~[first_name|last_name]:'smi'`, []string{"Carol", "Alice"}},
		{`~[name]:'bo'`, []string{"Bob"}},
		{`~[primary_email]:'DAN@'`, []string{"Dan"}},
		{fmt.Sprintf(`department_id:%d`, eng), []string{"Alice"}},
		{`department_id:null`, []string{"Dan", "Carol"}},
		{`last_name:null`, []string{"Dan"}},
		{fmt.Sprintf(`reporting_manager_id:%d`, alice), []string{"Carol"}},
		{fmt.Sprintf(`location_id:%d`, hq), []string{"Alice"}},
		{`created_at:>'2026-03-04'`, []string{"Dan", "Carol"}},
		{`created_at:<'2026-03-03'`, []string{"Bob", "Alice"}},
		{`created_at:'2026-03-03'`, []string{"Bob"}},
		{`updated_at:>'2026-03-05'`, []string{"Dan"}},
		{`job_title:'HR Manager' AND created_at:>'2026-03-03'`, []string{"Carol"}},
		{`first_name:'Alice' OR first_name:'Bob'`, []string{"Bob", "Alice"}},
		{fmt.Sprintf(`(first_name:'Alice' OR first_name:'Bob') AND department_id:%d`, sales), []string{"Bob"}},
		{fmt.Sprintf(`first_name:'Alice' OR first_name:'Bob' AND department_id:%d`, eng), []string{"Alice"}},
		{`employee_id:'E42'`, []string{"Carol"}},
		{`employee_id:null AND job_title:'HR Manager'`, []string{"Alice"}},
		{`work_phone_number:'555-1'`, []string{"Alice"}},
		{`mobile_phone_number:'777'`, []string{"Bob"}},
		{`language:'de'`, []string{"Dan"}},
		{`time_zone:'Chennai'`, []string{"Alice"}},
		{`primary_email:'BOB@example.com'`, []string{"Bob"}},
		{`external_id:'00u1abc'`, []string{"Dan"}},
		{`first_name:'Nobody'`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			if got := e.queryNames("requesters", tc.expr); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestQueryValidation(t *testing.T) {
	e := newEnv(t, nil)
	long := `first_name:'` + strings.Repeat("x", 512-len(`"first_name:''"`)) + `'`
	tests := []struct {
		name, raw string // raw is the decoded value of query=, quotes included
		status    int
	}{
		{"512 characters", `"` + long + `"`, 200},
		{"513 characters", `"` + long + ` "`, 400},
		// A real tenant answers 200 without the outer quotes (§19).
		{"no outer quotes", `first_name:'A'`, 200},
		{"no outer quotes, 512 characters", long + `  `, 200},
		{"no outer quotes, 513 characters", long + `   `, 400},
		{"single quote only", `"first_name:'A'`, 400},
		{"empty", `""`, 400},
		{"empty without quotes", ``, 400},
		{"unknown field", `"nickname:'x'"`, 400},
		{"range on a string", `"first_name:>'A'"`, 400},
		{"bad date", `"created_at:>'yesterday'"`, 400},
		{"unterminated string", `"first_name:'A"`, 400},
		{"dangling AND", `"first_name:'A' AND"`, 400},
		{"starts-with on job_title", `"~[job_title]:'x'"`, 400},
		{"string for an id", `"department_id:'abc'"`, 400},
		{"unbalanced parenthesis", `"(first_name:'A'"`, 400},
		{"lower-case and", `"first_name:'A' and last_name:'B'"`, 400},
		{"null with a range", `"reporting_manager_id:>null"`, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", "/api/v2/requesters?"+url.Values{"query": {tc.raw}}.Encode(), nil).want(t, tc.status)
			if tc.status == 400 {
				if got := r.errorCodes(t); !slices.Equal(got, []string{"query:invalid_value"}) {
					t.Errorf("errors %v", got)
				}
			}
		})
	}
}

func TestQueryPagingFixedAt30And40Pages(t *testing.T) {
	e := newEnv(t, nil)
	var created []int64
	for i := range 65 {
		created = append(created, e.createRequester(map[string]any{"first_name": "Same", "primary_email": fmt.Sprintf("s%d@example.com", i)}))
	}
	slices.Reverse(created) // same created_at: id descending
	var seen []int64
	for page := 1; page <= 3; page++ {
		r := e.do("GET", queryPath("requesters", `first_name:'Same'`, "page", fmt.Sprint(page), "per_page", "100"), nil).want(t, 200)
		if r.header.Get("Link") != "" {
			t.Errorf("page %d has Link %q (default: none)", page, r.header.Get("Link"))
		}
		items := r.items(t, "requesters")
		if want := []int{30, 30, 5}[page-1]; len(items) != want {
			t.Errorf("page %d: %d items, want %d", page, len(items), want)
		}
		for _, it := range items {
			seen = append(seen, id(t, it["id"]))
		}
	}
	if !slices.Equal(seen, created) {
		t.Errorf("order %v, want %v", seen, created)
	}
	e.do("GET", queryPath("requesters", `first_name:'Same'`, "page", "40"), nil).want(t, 200)
	r := e.do("GET", queryPath("requesters", `first_name:'Same'`, "page", "41"), nil).want(t, 400)
	if got := r.errorCodes(t); !slices.Equal(got, []string{"page:invalid_value"}) {
		t.Errorf("page 41: %v", got)
	}
}

// §13 item 5: the search index lags; a new user is not found and a changed
// one is found as it was, until the lag has passed (simulated time).
func TestTrapQueryIndexLag(t *testing.T) {
	e := newEnv(t, func(o *simulatorOptions) {
		o.TimeScale = 60
		o.Switches.QueryIndexLag = 5 * time.Minute
	})
	rid := e.createRequester(map[string]any{"first_name": "Lag", "primary_email": "lag@example.com", "job_title": "Old"})
	if got := e.queryNames("requesters", `first_name:'Lag'`); len(got) != 0 {
		t.Errorf("found at once: %v", got)
	}
	// Exact-match list filters are not subject to the lag.
	if got := e.do("GET", "/api/v2/requesters?email=lag@example.com", nil).want(t, 200).items(t, "requesters"); len(got) != 1 {
		t.Errorf("email= during lag: %v", got)
	}
	e.clock.Advance(4 * time.Second) // 4 simulated minutes
	if got := e.queryNames("requesters", `first_name:'Lag'`); len(got) != 0 {
		t.Errorf("found after 4 minutes: %v", got)
	}
	e.clock.Advance(time.Second)
	if got := e.queryNames("requesters", `first_name:'Lag'`); !slices.Equal(got, []string{"Lag"}) {
		t.Errorf("not found after 5 minutes: %v", got)
	}
	e.do("PUT", "/api/v2/requesters/"+itoa(rid), map[string]any{"job_title": "New"}).want(t, 200)
	items := e.do("GET", queryPath("requesters", `job_title:'Old'`), nil).want(t, 200).items(t, "requesters")
	if len(items) != 1 || items[0]["job_title"] != "New" {
		t.Errorf("stale match should render the current record: %v", items)
	}
	if got := e.queryNames("requesters", `job_title:'New'`); len(got) != 0 {
		t.Errorf("new value found during lag: %v", got)
	}
	e.clock.Advance(5 * time.Second)
	if got := e.queryNames("requesters", `job_title:'Old'`); len(got) != 0 {
		t.Errorf("old value still found: %v", got)
	}
	if got := e.queryNames("requesters", `job_title:'New'`); !slices.Equal(got, []string{"Lag"}) {
		t.Errorf("new value not found: %v", got)
	}
	// Seeded users are indexed from the start.
	if got := e.do("GET", queryPath("agents", `email:'owner@example.com'`), nil).want(t, 200).items(t, "agents"); len(got) != 1 {
		t.Errorf("owner: %v", got)
	}
}

func TestQueryAgentsAndCombinedFilters(t *testing.T) {
	e := newEnv(t, nil)
	e.createAgent(map[string]any{"first_name": "Occ", "email": "occ@example.com", "occasional": true, "job_title": "Tech"})
	e.createAgent(map[string]any{"first_name": "Full", "email": "full@example.com", "job_title": "Tech"})
	e.createRequester(map[string]any{"first_name": "Req", "primary_email": "req@example.com", "job_title": "Tech"})
	tests := []struct {
		resource, expr string
		extra          []string
		want           []string
	}{
		{"agents", `job_title:'Tech'`, nil, []string{"Full", "Occ"}},
		{"agents", `job_title:'Tech'`, []string{"state", "occasional"}, []string{"Occ"}},
		{"agents", `~[email]:'full'`, nil, []string{"Full"}},
		{"requesters", `job_title:'Tech'`, nil, []string{"Req"}},
		{"requesters", `job_title:'Tech'`, []string{"include_agents", "true"}, []string{"Req", "Full", "Occ"}},
	}
	for _, tc := range tests {
		t.Run(tc.resource+" "+tc.expr+" "+strings.Join(tc.extra, "="), func(t *testing.T) {
			var got []string
			for _, it := range e.do("GET", queryPath(tc.resource, tc.expr, tc.extra...), nil).want(t, 200).items(t, tc.resource) {
				got = append(got, it["first_name"].(string))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestQueryDepartmentsAndLocations(t *testing.T) {
	e := newEnv(t, nil)
	names := func(resource, expr string) []string {
		var out []string
		for _, it := range e.do("GET", queryPath(resource, expr), nil).want(t, 200).items(t, resource) {
			out = append(out, it["name"].(string))
		}
		return out
	}
	if got := names("departments", `name:'sales'`); !slices.Equal(got, []string{"Sales"}) {
		t.Errorf("departments: %v", got)
	}
	if got := names("locations", `name:'HQ'`); !slices.Equal(got, []string{"HQ"}) {
		t.Errorf("locations: %v", got)
	}
	e.do("GET", queryPath("departments", `head_user_id:1`), nil).want(t, 400)
	// The outer quotes are optional here too (§19).
	if got := e.do("GET", "/api/v2/departments?query=name:'Sales'", nil).want(t, 200).items(t, "departments"); len(got) != 1 || got[0]["name"] != "Sales" {
		t.Errorf("unquoted department query: %v", got)
	}
}
