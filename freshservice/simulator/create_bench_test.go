package simulator

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkCreateRequester measures POST /requesters on an account that
// already holds n users: every create checks its email against all of them.
func BenchmarkCreateRequester(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			s := benchAccount(b, n)
			i := 0
			for b.Loop() {
				body := fmt.Sprintf(`{"first_name":"N","primary_email":"new%d@example.com"}`, i)
				i++
				req := httptest.NewRequest("POST", "/api/v2/requesters", strings.NewReader(body))
				req.SetBasicAuth("k", "X")
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				if w.Code != http.StatusCreated {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
		})
	}
}

// BenchmarkListRequestersPage measures one page of GET /requesters, as a
// walk of the account reads it, on an account of n users.
func BenchmarkListRequestersPage(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			s := benchAccount(b, n)
			page := 0
			for b.Loop() {
				page = page%(n/100) + 1
				req := httptest.NewRequest("GET", fmt.Sprintf("/api/v2/requesters?per_page=100&page=%d", page), nil)
				req.SetBasicAuth("k", "X")
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
		})
	}
}

// benchAccount is a simulator whose account holds n requesters, a tenth of
// them deactivated and a tenth with a secondary email (both keep their
// emails reserved). At a time scale of a million a rate-limit minute lasts
// 60 µs, so the limits never refuse a call.
func benchAccount(b *testing.B, n int) *Server {
	b.Helper()
	s, err := New(Options{APIKey: "k", TimeScale: 1e6})
	if err != nil {
		b.Fatal(err)
	}
	s.mu.Lock()
	for i := range n {
		u := &User{ID: allocate(&s.st.nextUser, 0), FirstName: "U", PrimaryEmail: fmt.Sprintf("user%d@example.com", i),
			Active: i%10 != 0, TimeZone: defaultTimeZone, Language: defaultLanguage, TimeFormat: defaultTimeFormat}
		if i%10 == 5 {
			u.SecondaryEmails = []string{fmt.Sprintf("alias%d@example.com", i)}
		}
		s.st.putUser(u)
	}
	s.mu.Unlock()
	return s
}
