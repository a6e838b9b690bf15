package test

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"gopkg.in/yaml.v3"
)

// exposition is what /metrics serves: each metric family's type and the
// label names its samples carry.
type exposition struct {
	types  map[string]string
	labels map[string]map[string]bool
}

var (
	sampleRe  = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? `)
	labelRe   = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="`)
	matcherRe = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	metricRe  = regexp.MustCompile(`\b(fsbridge_[a-z0-9_]+)(\{[^}]*\})?`)
)

func scrape(t *testing.T, url string) exposition {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	x := exposition{types: map[string]string{}, labels: map[string]map[string]bool{}}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			x.types[f[2]] = f[3]
			continue
		}
		m := sampleRe.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(line, "#") {
			continue
		}
		family := m[1]
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(family, suffix); ok && x.types[base] == "histogram" {
				family = base
			}
		}
		if x.labels[family] == nil {
			x.labels[family] = map[string]bool{}
		}
		for _, l := range labelRe.FindAllStringSubmatch(m[2], -1) {
			if l[1] != "le" {
				x.labels[family][l[1]] = true
			}
		}
	}
	return x
}

// family maps a sample name in a query to its metric family.
func (x exposition) family(name string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && x.types[base] == "histogram" {
			return base
		}
	}
	return name
}

// TestMonitoringDocsMatchMetrics: docs/monitoring.md's metric table and the
// alerting rules in docs/prometheus-alerts.yml name only metrics and labels
// the bridge serves, and the table names all of them. An alert on a metric
// that does not exist never fires, and nobody notices.
func TestMonitoringDocsMatchMetrics(t *testing.T) {
	var fail atomic.Bool
	e := newEnvWrapped(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if fail.Load() && r.Method == http.MethodPut {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	// Traffic that makes every labelled series appear: SCIM requests, a
	// Freshservice call, a failed one.
	id := e.mustCreate(userBody("monitor@example.com", "Mon", "Itor", nil))
	fail.Store(true)
	e.do("PATCH", "/Users/"+id, patchBody(map[string]any{"op": "replace", "path": "title", "value": "Watcher"}))
	fail.Store(false)
	x := scrape(t, strings.TrimSuffix(e.url, "/scim/v2")+"/metrics")

	served := map[string]bool{}
	for name := range x.types {
		if strings.HasPrefix(name, "fsbridge_") {
			served[name] = true
		}
	}
	if len(served) < 10 {
		t.Fatalf("/metrics serves only %d fsbridge_ metrics: %v", len(served), served)
	}

	// The table: | `name` | type | labels | what |
	doc := readFile(t, filepath.Join("..", "docs", "monitoring.md"))
	documented := map[string]bool{}
	for _, line := range strings.Split(doc, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`fsbridge_") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		documented[name] = true
		typ, ok := x.types[name]
		if !ok {
			t.Errorf("docs/monitoring.md documents %s, which /metrics does not serve", name)
			continue
		}
		if got := strings.TrimSpace(cells[2]); got != typ {
			t.Errorf("docs/monitoring.md says %s is a %s; /metrics says %s", name, got, typ)
		}
		for label := range x.labels[name] {
			if !strings.Contains(cells[3], "`"+label+"`") {
				t.Errorf("docs/monitoring.md does not name the label %q of %s", label, name)
			}
		}
	}
	for name := range served {
		if !documented[name] {
			t.Errorf("/metrics serves %s; docs/monitoring.md does not document it", name)
		}
	}

	// The alerting rules.
	raw, err := os.ReadFile(filepath.Join("..", "docs", "prometheus-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert       string
				Expr        string
				For         string
				Labels      map[string]string
				Annotations map[string]string
			}
		}
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil && err != io.EOF {
		t.Fatalf("docs/prometheus-alerts.yml: %v", err)
	}
	var alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %+v: want alert, expr, a severity label and a summary", r)
			}
			for _, m := range metricRe.FindAllStringSubmatch(r.Expr, -1) {
				name := x.family(m[1])
				if !served[name] {
					t.Errorf("alert %s uses %s, which /metrics does not serve", r.Alert, m[1])
					continue
				}
				for _, l := range matcherRe.FindAllStringSubmatch(m[2], -1) {
					if !x.labels[name][l[1]] {
						t.Errorf("alert %s matches on label %q, which %s does not have", r.Alert, l[1], name)
					}
				}
			}
		}
	}
	if len(alerts) == 0 {
		t.Fatal("docs/prometheus-alerts.yml holds no alert")
	}
	for _, a := range alerts {
		if !strings.Contains(doc, "`"+a+"`") {
			t.Errorf("alert %s is not in docs/monitoring.md's table", a)
		}
	}
	slices.Sort(alerts)
	t.Logf("%d metrics documented and served; alerts checked: %s", len(served), strings.Join(alerts, ", "))
}
