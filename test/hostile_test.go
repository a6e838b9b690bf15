package test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
)

// TestHostileInputWritesNothing: each malformed or hostile request gets a
// SCIM error and leaves Freshservice untouched.
func TestHostileInputWritesNothing(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate(userBody("victim@example.com", "Vic", "Tim", nil))
	deep := strings.Repeat("(", 200) + `userName eq "x"` + strings.Repeat(")", 200)
	cases := []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"1 MiB body", "POST", "/Users", `{"userName":"` + strings.Repeat("a", 1<<20) + `"}`, 413},
		{"malformed JSON", "POST", "/Users", `{"userName": "x@example.com",`, 400},
		{"wrong type", "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x@example.com","active":{"a":1}}`, 400},
		{"deep nesting", "POST", "/Users", strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100), 400},
		{"invalid UTF-8", "POST", "/Users", "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"\xc3\x28@example.com\"}", 400},
		{"unknown PATCH path", "PATCH", "/Users/" + id, patchBody(map[string]any{"op": "replace", "path": "salary", "value": "1"}), 400},
		{"PATCH of a read-only attribute", "PATCH", "/Users/" + id, patchBody(map[string]any{"op": "replace", "path": "id", "value": "1"}), 400},
		{"huge filter", "GET", "/Users?filter=" + url.QueryEscape(`userName eq "`+strings.Repeat("a", 5000)+`"`), nil, 400},
		{"deeply nested filter", "GET", "/Users?filter=" + url.QueryEscape(deep), nil, 400},
		{"unknown filter attribute", "GET", "/Users?filter=" + url.QueryEscape(`salary gt 5`), nil, 400},
		{"negative startIndex is 1", "GET", "/Users?startIndex=-5&count=-3", nil, 200},
		{"huge count", "GET", "/Users?count=99999999999999999999", nil, 400},
	}
	before := e.sim.Stats().Total
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do(tc.method, tc.path, tc.body)
			if status != tc.status {
				t.Errorf("%d %v, want %d", status, body, tc.status)
			}
			if status >= 400 && (body["detail"] == nil || body["schemas"] == nil) {
				t.Errorf("not a SCIM error body: %v", body)
			}
		})
	}
	if n := e.sim.Stats().Total - before; n != 0 {
		t.Errorf("hostile requests made %d Freshservice calls", n)
	}
	if su := e.simUser(id); su.FirstName != "Vic" || su.TimeZone == "" {
		t.Errorf("the user changed: %+v", su)
	}
}

// TestAwkwardValuesReachFreshserviceExactly: quotes, backslashes and
// query-language syntax in values are data, never syntax.
func TestAwkwardValuesReachFreshserviceExactly(t *testing.T) {
	e := newEnv(t)
	nasty := []string{`O'Brien "The \ Wrench"`, `x' OR name:'admin`, `title:'CEO' AND (id:>1)`, `Zoë 🦊 <b>bold</b>`}
	for i, v := range nasty {
		email := fmt.Sprintf("odd%d@example.com", i)
		id := e.mustCreate(userBody(email, v, v, map[string]any{"title": v}))
		su := e.simUser(id)
		if su.FirstName != v || su.LastName != v || su.JobTitle != v {
			t.Errorf("%q reached Freshservice as %q / %q / %q", v, su.FirstName, su.LastName, su.JobTitle)
		}
		// And it can be found again by a filter holding the same value.
		esc := strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `"`, `\"`)
		status, list := e.do("GET", "/Users?filter="+url.QueryEscape(`title eq "`+esc+`"`), nil)
		if status != 200 || len(listIDs(t, list)) != 1 || listIDs(t, list)[0] != id {
			t.Errorf("filter on %q: %d %v", v, status, list)
		}
	}
	for _, r := range e.sim.Requests() {
		if strings.Contains(r.Query, "query=") {
			t.Errorf("the bridge used query= for users: %s %s?%s", r.Method, r.Path, r.Query)
		}
	}
}

// TestConcurrentChangesLoseNothing: 50 concurrent PATCHes to one group and
// 50 concurrent updates to one user.
func TestConcurrentChangesLoseNothing(t *testing.T) {
	e := newEnv(t)
	const n = 50
	var ids []string
	for i := range n {
		ids = append(ids, e.mustCreate(userBody(fmt.Sprintf("c%d@example.com", i), "C", fmt.Sprint(i), nil)))
	}
	g := e.mustGroup("Everyone")
	target := e.mustCreate(userBody("busy@example.com", "Busy", "Bee", nil))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			if status, body := e.addMembers(g, id); status != 204 {
				t.Errorf("add %s: %d %v", id, status, body)
			}
		})
		wg.Go(func() {
			op := map[string]any{"op": "add", "path": "emails", "value": []any{map[string]any{"value": fmt.Sprintf("alias%d@example.com", i), "type": "other"}}}
			if status, body := e.do("PATCH", "/Users/"+target, patchBody(op)); status != 200 {
				t.Errorf("update %d: %d %v", i, status, body)
			}
		})
	}
	wg.Wait()
	rg, _ := e.sim.RequesterGroupByName("Everyone")
	if got := len(e.sim.RequesterGroupMembers(rg.ID)); got != n {
		t.Errorf("the requester group has %d members, want %d", got, n)
	}
	if got := len(e.simUser(target).SecondaryEmails); got != n {
		t.Errorf("the user has %d secondary emails, want %d", got, n)
	}
	_, grp := e.do("GET", "/Groups/"+g, nil)
	if got := len(grp["members"].([]any)); got != n {
		t.Errorf("the SCIM group has %d members, want %d", got, n)
	}
}

// TestTLS: with a certificate configured the bridge serves HTTPS, TLS 1.2
// and later only.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	e := newEnv(t, func(c *config.Config, _ *simulator.Options) {
		c.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := contextWithCancel()
	defer stop()
	go func() { _ = e.srv.Serve(ctx, ln) }()
	addr := "https://" + ln.Addr().String() + "/healthz"
	get := func(maxVersion uint16) error {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MaxVersion: maxVersion}}}
		resp, err := c.Get(addr)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(tls.VersionTLS12); err != nil {
		t.Errorf("TLS 1.2: %v", err)
	}
	if err := get(tls.VersionTLS11); err == nil {
		t.Error("a TLS 1.1 client was served")
	}
	if resp, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil && resp.StatusCode == 200 {
		t.Error("plain HTTP was served on the TLS port")
	}
}

func selfSigned(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
