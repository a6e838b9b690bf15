package server

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/status"
)

// connEnv is a bridge serving on a real listener with the given limits.
// Clients dial from chosen loopback addresses (127.0.0.x), so each address
// is a client of its own.
type connEnv struct {
	t       *testing.T
	srv     *Server
	addr    string
	tls     bool
	clients []*connClient
}

func serveWithLimits(t *testing.T, c config.Connections, withTLS bool) *connEnv {
	t.Helper()
	e := newStatusEnv(t, func(cfg *config.Config, _ *simulator.Options) {
		cfg.Connections = c
		if withTLS {
			cfg.TLS.CertFile, cfg.TLS.KeyFile = selfSigned(t)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln) }()
	ce := &connEnv{t: t, srv: e.srv, addr: ln.Addr().String(), tls: withTLS}
	t.Cleanup(func() {
		for _, c := range ce.clients {
			c.Close()
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ce
}

// connClient is one client connection, kept alive between requests.
type connClient struct {
	net.Conn
	r   *bufio.Reader
	env *connEnv
}

func (e *connEnv) dial(from string) *connClient {
	e.t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatalf("dial from %s: %v", from, err)
	}
	if e.tls {
		c = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	}
	cc := &connClient{Conn: c, r: bufio.NewReader(c), env: e}
	e.clients = append(e.clients, cc)
	return cc
}

// get sends a request on the connection and reads the answer.
func (c *connClient) get(path string) (*http.Response, string, error) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: bridge\r\nAuthorization: Bearer %s\r\n\r\n", path, stSCIMToken); err != nil {
		return nil, "", err
	}
	return c.read()
}

func (c *connClient) read() (*http.Response, string, error) {
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body), err
}

// mustGet is get, failing the test unless the answer is 200; it returns
// once the server holds the connection as idle (it marks it so just after
// writing the answer, which the client may read first).
func (c *connClient) mustGet(t *testing.T, path string) {
	t.Helper()
	resp, body, err := c.get(path)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s from %s: %v %v %s", path, c.LocalAddr(), err, resp, body)
	}
	c.env.await(t, func(lc *limitedConn) bool {
		return lc.RemoteAddr().String() == c.LocalAddr().String() && lc.state == http.StateIdle
	}, 1, "the connection from "+c.LocalAddr().String()+" idle")
}

// closedByServer reports whether the server has closed the connection,
// waiting at most wait for it to.
func (c *connClient) closedByServer(wait time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	defer c.SetReadDeadline(time.Time{})
	_, err := c.r.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil // EOF, or a reset
}

// open counts the connections the server has not closed.
func open(cs []*connClient) int {
	n := 0
	for _, c := range cs {
		if !c.closedByServer(50 * time.Millisecond) {
			n++
		}
	}
	return n
}

// await polls until at least n of the server's connections match, or
// fails after 5 s.
func (e *connEnv) await(t *testing.T, match func(*limitedConn) bool, n int, what string) {
	t.Helper()
	lim := e.srv.conns.Load()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lim.mu.Lock()
		got := 0
		for c := range lim.conns {
			if match(c) {
				got++
			}
		}
		lim.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d after 5s, want %d", what, got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// busy waits until the server is serving a request on n connections.
func (e *connEnv) busy(n int) {
	e.t.Helper()
	e.await(e.t, func(c *limitedConn) bool { return c.state == http.StateActive }, n, "connections busy")
}

func TestConnectionLimits(t *testing.T) {
	for _, c := range []struct {
		name   string
		limits config.Connections
		tls    bool
		run    func(t *testing.T, e *connEnv)
	}{
		{"one client cannot hold every slot", config.Connections{Max: 8, PerClient: 3, IdleTimeout: time.Minute}, false, func(t *testing.T, e *connEnv) {
			var hog []*connClient
			for range 12 {
				c := e.dial("127.0.0.1")
				c.mustGet(t, "/healthz") // each newcomer is served...
				hog = append(hog, c)
			}
			// ...by closing that client's oldest idle connection.
			if n := open(hog); n != 3 {
				t.Errorf("the client holds %d connections, want its limit, 3", n)
			}
			if open(hog[9:]) != 3 {
				t.Error("the client's newest connections were closed instead of its oldest")
			}
			e.dial("127.0.0.2").mustGet(t, "/healthz")
		}},
		{"a full listener makes room for a newcomer", config.Connections{Max: 6, PerClient: 3, IdleTimeout: time.Minute}, false, func(t *testing.T, e *connEnv) {
			var hog, others []*connClient
			for range 3 {
				c := e.dial("127.0.0.1")
				c.mustGet(t, "/healthz")
				hog = append(hog, c)
			}
			for _, from := range []string{"127.0.0.3", "127.0.0.3", "127.0.0.4"} {
				c := e.dial(from)
				c.mustGet(t, "/healthz")
				others = append(others, c)
			}
			start := time.Now()
			e.dial("127.0.0.9").mustGet(t, "/healthz")
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("the newcomer waited %s", took)
			}
			// The client holding the most gave up its oldest idle one.
			if !hog[0].closedByServer(time.Second) || open(hog[1:]) != 2 || open(others) != 3 {
				t.Errorf("after the newcomer: the big client's connections open %d of 3 (oldest closed: %v), the others' %d of 3",
					open(hog), hog[0].closedByServer(0), open(others))
			}
		}},
		{"every slot busy: the newcomer is refused at once", config.Connections{Max: 4, PerClient: 4, IdleTimeout: time.Minute}, false, func(t *testing.T, e *connEnv) {
			var held []*connClient
			for range 4 {
				c := e.dial("127.0.0.1")
				// A request whose body has not come yet: the server
				// answers, then waits for the body before the next one.
				fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: bridge\r\nContent-Length: 10\r\n\r\n")
				held = append(held, c)
			}
			e.busy(4)
			start := time.Now()
			nc := e.dial("127.0.0.2")
			_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
			resp, body, err := nc.read()
			if err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5" || !strings.Contains(body, "no free connection") {
				t.Fatalf("newcomer while every slot is busy: %v %v %q, want 503 with Retry-After: 5", err, resp, body)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("the refusal took %s", took)
			}
			// The busy connections are untouched: their requests finish.
			for _, c := range held {
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				fmt.Fprintf(c, "0123456789")
				if resp, _, err := c.read(); err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("a busy connection's request: %v %v", err, resp)
				}
			}
			// Now idle, they make room; the status page counts both.
			resp, body, err = e.dial("127.0.0.2").get("/status.json")
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("/status.json: %v %v", err, resp)
			}
			var rep status.Report
			if err := json.Unmarshal([]byte(body), &rep); err != nil || rep.Connections == nil {
				t.Fatalf("/status.json: %v %s", err, body)
			}
			if got := *rep.Connections; got.RefusedTotal != 1 || got.ClosedForRoomTotal != 1 || got.Max != 4 || got.Open != 4 {
				t.Errorf("/status.json connections %+v; want 1 refused, 1 closed for room, 4 of 4 open", got)
			}
		}},
		{"idle connections are closed after idle_timeout", config.Connections{Max: 8, PerClient: 8, IdleTimeout: 300 * time.Millisecond}, false, func(t *testing.T, e *connEnv) {
			c := e.dial("127.0.0.1")
			c.mustGet(t, "/healthz")
			start := time.Now()
			if !c.closedByServer(5 * time.Second) {
				t.Fatal("an idle connection was still open 5s after a 300ms idle_timeout")
			}
			// The timer starts when the answer is written, a little before
			// the client has read it.
			if took := time.Since(start); took < 250*time.Millisecond {
				t.Errorf("an idle connection was closed after %s, before its idle_timeout", took)
			}
			// A connection in use is not idle.
			c = e.dial("127.0.0.1")
			for range 4 {
				c.mustGet(t, "/healthz")
				time.Sleep(100 * time.Millisecond) // less than the idle timeout between requests
			}
		}},
		{"over TLS: one client's idle connections make room, and a refusal is a readable 503", config.Connections{Max: 2, PerClient: 1, IdleTimeout: time.Minute}, true, func(t *testing.T, e *connEnv) {
			first := e.dial("127.0.0.1")
			first.mustGet(t, "/healthz")
			e.dial("127.0.0.1").mustGet(t, "/healthz")
			if !first.closedByServer(time.Second) {
				t.Error("the client's idle connection was not closed for its newcomer")
			}
			busy := e.dial("127.0.0.2")
			fmt.Fprintf(busy, "GET /healthz HTTP/1.1\r\nHost: bridge\r\nContent-Length: 10\r\n\r\n")
			e.busy(1)
			// The listener is full, but 127.0.0.1's idle connection makes
			// room for this one...
			held := e.dial("127.0.0.3")
			fmt.Fprintf(held, "GET /healthz HTTP/1.1\r\nHost: bridge\r\nContent-Length: 10\r\n\r\n")
			e.busy(2)
			// ...and with both busy, the next is refused.
			nc := e.dial("127.0.0.4")
			_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
			resp, _, err := nc.read()
			if err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5" {
				t.Fatalf("TLS newcomer while every slot is busy: %v %v, want 503 with Retry-After: 5", err, resp)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, serveWithLimits(t, c.limits, c.tls))
		})
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 and returns their
// files.
func selfSigned(t *testing.T) (string, string) {
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
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for f, b := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: kb}} {
		if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

func TestConnectionLimitDefaults(t *testing.T) {
	for _, c := range []struct {
		name   string
		nofile uint64
		want   int
	}{
		{"unknown", 0, 1024},
		{"a generous limit", 1 << 20, 1024},
		{"a container's 1024", 1024, 512},
		{"a small limit", 100, 50},
		{"a tiny limit", 6, 8},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := maxConnsFor(c.nofile); got != c.want {
				t.Errorf("maxConnsFor(%d) = %d, want %d", c.nofile, got, c.want)
			}
		})
	}
	for _, c := range []struct {
		name string
		in   config.Connections
		want connLimits
	}{
		{"per client a quarter of max", config.Connections{Max: 100, IdleTimeout: time.Second}, connLimits{max: 100, perClient: 25, idle: time.Second}},
		{"per client at least one", config.Connections{Max: 2, IdleTimeout: time.Second}, connLimits{max: 2, perClient: 1, idle: time.Second}},
		{"as set", config.Connections{Max: 10, PerClient: 10, IdleTimeout: time.Second}, connLimits{max: 10, perClient: 10, idle: time.Second}},
		{"the idle timeout's default", config.Connections{Max: 10, PerClient: 5}, connLimits{max: 10, perClient: 5, idle: 30 * time.Second}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := resolveConnLimits(c.in); got != c.want {
				t.Errorf("resolveConnLimits(%+v) = %+v, want %+v", c.in, got, c.want)
			}
		})
	}
	// With max unset, the limit follows this process's open-file limit.
	nofile := openFileLimit()
	if got, want := resolveConnLimits(config.Default().Connections), maxConnsFor(nofile); got.max != want || got.perClient != want/4 {
		t.Errorf("defaults with an open-file limit of %d: %+v, want max %d and a quarter of it per client", nofile, got, want)
	}
}

func TestClientKey(t *testing.T) {
	for _, c := range []struct {
		name, addr, want string
	}{
		{"IPv4", "192.0.2.7:5000", "192.0.2.7"},
		{"IPv6 is grouped by /64", "[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::/64"},
		{"the same /64, another address", "[2001:db8:1:2:ffff::9]:80", "2001:db8:1:2::/64"},
		{"another /64", "[2001:db8:1:3::1]:80", "2001:db8:1:3::/64"},
		{"IPv4-mapped IPv6 is the IPv4 address", "[::ffff:192.0.2.7]:5000", "192.0.2.7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, err := net.ResolveTCPAddr("tcp", c.addr)
			if err != nil {
				t.Fatal(err)
			}
			if got := clientKey(a); got != c.want {
				t.Errorf("clientKey(%s) = %q, want %q", c.addr, got, c.want)
			}
		})
	}
}
