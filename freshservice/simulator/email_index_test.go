package simulator

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// scanEmails is the email index rebuilt from every user, as the index must
// always be.
func scanEmails(st *state) map[string]int64 {
	out := map[string]int64{}
	for _, u := range st.users {
		for _, e := range userEmails(u) {
			out[foldEmail(e)] = u.ID
		}
	}
	return out
}

// TestEmailIndexFollowsEveryWrite runs every kind of write that adds, moves
// or frees an email and checks after each that the email index and the id
// order are exactly what a scan of all users gives, and that uniqueness
// answers and the email= filter follow them.
func TestEmailIndexFollowsEveryWrite(t *testing.T) {
	s, err := New(Options{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.SetBasicAuth("k", "X")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		var m map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &m)
		return w.Code, m
	}
	idOf := func(m map[string]any, env string) string {
		return fmt.Sprint(int64(m[env].(map[string]any)["id"].(float64)))
	}
	sdAgent, _ := s.RoleByName("SD Agent")
	var jane, bob, agent string
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"create with a secondary email", func(t *testing.T) {
			code, m := call("POST", "/api/v2/requesters", `{"first_name":"Jane","primary_email":"Jane@Example.com","secondary_emails":["j.doe@example.com"]}`)
			if code != 201 {
				t.Fatalf("create: %d", code)
			}
			jane = idOf(m, "requester")
		}},
		{"another case is taken", func(t *testing.T) {
			if code, _ := call("POST", "/api/v2/requesters", `{"first_name":"X","primary_email":"J.DOE@example.COM"}`); code != 409 {
				t.Errorf("secondary in another case: %d, want 409", code)
			}
		}},
		{"change both emails frees the old ones", func(t *testing.T) {
			if code, _ := call("PUT", "/api/v2/requesters/"+jane, `{"primary_email":"jane.new@example.com","secondary_emails":["jd@example.com"]}`); code != 200 {
				t.Fatalf("update: %d", code)
			}
			code, m := call("POST", "/api/v2/requesters", `{"first_name":"Bob","primary_email":"jane@example.com","secondary_emails":["j.doe@example.com"]}`)
			if code != 201 {
				t.Fatalf("the freed emails: %d, want 201", code)
			}
			bob = idOf(m, "requester")
		}},
		{"deactivated user keeps its emails", func(t *testing.T) {
			if code, _ := call("DELETE", "/api/v2/requesters/"+bob, ""); code != 204 {
				t.Fatalf("deactivate: %d", code)
			}
			if code, _ := call("POST", "/api/v2/requesters", `{"first_name":"X","primary_email":"x@example.com","secondary_emails":["JANE@example.com"]}`); code != 409 {
				t.Errorf("a deactivated user's email: %d, want 409", code)
			}
			if code, _ := call("PUT", "/api/v2/requesters/"+bob+"/reactivate", ""); code != 200 {
				t.Errorf("reactivate: %d", code)
			}
		}},
		{"convert keeps the emails", func(t *testing.T) {
			if code, _ := call("PUT", "/api/v2/requesters/"+jane+"/convert_to_agent", ""); code != 200 {
				t.Fatalf("convert: %d", code)
			}
			if code, _ := call("POST", "/api/v2/agents", fmt.Sprintf(`{"first_name":"X","email":"JD@example.com","roles":[{"role_id":%d,"assignment_scope":"entire_helpdesk"}]}`, sdAgent.ID)); code != 409 {
				t.Errorf("the converted agent's secondary: %d, want 409", code)
			}
		}},
		{"agent create", func(t *testing.T) {
			code, m := call("POST", "/api/v2/agents", fmt.Sprintf(`{"first_name":"A","email":"agent@example.com","roles":[{"role_id":%d,"assignment_scope":"entire_helpdesk"}]}`, sdAgent.ID))
			if code != 201 {
				t.Fatalf("agent create: %d", code)
			}
			agent = idOf(m, "agent")
		}},
		{"forget frees the emails", func(t *testing.T) {
			if code, _ := call("DELETE", "/api/v2/requesters/"+bob+"/forget", ""); code != 204 {
				t.Fatalf("forget: %d", code)
			}
			if code, _ := call("POST", "/api/v2/requesters", `{"first_name":"Y","primary_email":"jane@example.com"}`); code != 201 {
				t.Errorf("a forgotten user's email: %d, want 201", code)
			}
		}},
		{"admin edit moves an email", func(t *testing.T) {
			var id int64
			fmt.Sscan(agent, &id)
			if err := s.EditUser(id, func(u *User) { u.PrimaryEmail = "agent.renamed@example.com" }); err != nil {
				t.Fatal(err)
			}
			if err := s.EditUser(id, func(u *User) { u.SecondaryEmails = []string{"JANE.NEW@example.com"} }); err == nil {
				t.Error("an admin edit took Jane's email")
			}
		}},
		{"seed", func(t *testing.T) {
			if err := s.Seed(SeedData{Requesters: []SeedUser{{FirstName: "S", PrimaryEmail: "agent@example.com", SecondaryEmails: []string{"seeded@example.com"}}}}); err != nil {
				t.Fatal(err)
			}
			if err := s.Seed(SeedData{Requesters: []SeedUser{{FirstName: "T", PrimaryEmail: "Seeded@Example.com"}}}); err == nil {
				t.Error("a seed took a seeded user's secondary email")
			}
		}},
		{"Unicode case folding as strings.EqualFold", func(t *testing.T) {
			// U+212A KELVIN SIGN folds to K.
			if code, _ := call("POST", "/api/v2/requesters", `{"first_name":"K","primary_email":"kelvin@example.com"}`); code != 201 {
				t.Fatalf("create: %d", code)
			}
			if code, _ := call("POST", "/api/v2/requesters", `{"first_name":"K","primary_email":"\u212aelvin@example.com"}`); code != 409 {
				t.Errorf("the Kelvin sign spelling: %d, want 409", code)
			}
		}},
		{"seed with an id below the others", func(t *testing.T) {
			if err := s.Seed(SeedData{Requesters: []SeedUser{{ID: 5, FirstName: "Low", PrimaryEmail: "low@example.com"}}}); err != nil {
				t.Fatal(err)
			}
			code, m := call("GET", "/api/v2/requesters?per_page=1", "")
			if first := m["requesters"].([]any)[0].(map[string]any); code != 200 || first["primary_email"] != "low@example.com" {
				t.Errorf("first listed: %d %v", code, first)
			}
		}},
		{"email filter", func(t *testing.T) {
			code, m := call("GET", "/api/v2/requesters?email=J.DOE@EXAMPLE.COM", "")
			if got := m["requesters"].([]any); code != 200 || len(got) != 0 {
				t.Errorf("a forgotten user's secondary: %d %v", code, got)
			}
			code, m = call("GET", "/api/v2/requesters?email=SEEDED@example.com", "")
			if got := m["requesters"].([]any); code != 200 || len(got) != 1 || got[0].(map[string]any)["first_name"] != "S" {
				t.Errorf("a secondary email: %d %v", code, got)
			}
			code, m = call("GET", "/api/v2/agents?email=jane.new@example.com", "")
			if got := m["agents"].([]any); code != 200 || len(got) != 1 {
				t.Errorf("an agent by email: %d %v", code, got)
			}
			code, m = call("GET", "/api/v2/requesters?email=jane.new@example.com", "")
			if got := m["requesters"].([]any); code != 200 || len(got) != 0 {
				t.Errorf("an agent without include_agents: %d %v", code, got)
			}
		}},
		{"reset", func(t *testing.T) { s.Reset() }},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.run(t)
			s.mu.Lock()
			defer s.mu.Unlock()
			if want := scanEmails(s.st); !maps.Equal(s.st.emails, want) {
				t.Errorf("email index\n got %v\nwant %v", s.st.emails, want)
			}
			if want := slices.Sorted(maps.Keys(s.st.users)); !slices.Equal(s.st.ids, want) {
				t.Errorf("ids in list order\n got %v\nwant %v", s.st.ids, want)
			}
		})
	}
	if len(s.st.emails) == 0 {
		t.Error("the index is empty after reset; the defaults and seeds have emails")
	}
}
