package server

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/internal/config"
)

// The listener's connection limits. A client that opens connections and
// leaves them idle must not take every slot the IdP needs, nor every file
// descriptor the process has. So the listener holds at most max
// connections, and at most perClient from one client address.
//
// When a newcomer would go over a limit, the oldest idle connection makes
// room for it: of the same client when that client is at its limit, else
// of the client holding the most. An idle keep-alive connection costs its
// client nothing to lose (HTTP clients reopen and resend), while a
// newcomer kept waiting costs the IdP a request. Blocking Accept instead,
// as netutil.LimitListener does, would leave the IdP's connection in the
// kernel's backlog behind idle ones until its own timeout. Only when no
// connection in the way is idle is the newcomer refused, at once, with
// 503 and Retry-After.

// connLimits are the limits in force, defaults resolved.
type connLimits struct {
	max, perClient int
	idle           time.Duration
}

// resolveConnLimits fills the zero settings: max from the open-file limit
// (see maxConnsFor), perClient a quarter of max.
func resolveConnLimits(c config.Connections) connLimits {
	l := connLimits{max: c.Max, perClient: c.PerClient, idle: c.IdleTimeout}
	if l.max <= 0 {
		l.max = maxConnsFor(openFileLimit())
	}
	if l.perClient <= 0 {
		l.perClient = max(l.max/4, 1)
	}
	l.perClient = min(l.perClient, l.max)
	if l.idle <= 0 {
		l.idle = config.Default().Connections.IdleTimeout
	}
	return l
}

// maxConnsFor is the default connection limit for an open-file limit of
// nofile (0: unknown): half of it, so the store, the calls to Freshservice
// and the process's own files keep the other half, and at most 1024,
// which no IdP comes near.
func maxConnsFor(nofile uint64) int {
	if nofile == 0 {
		return 1024
	}
	return int(max(min(nofile/2, 1024), 8))
}

// newGrace is how long a connection may stay new (accepted, no request
// yet: a TLS handshake, a slow first line) before it counts as idle. The
// read-header timeout closes it soon after anyway.
const newGrace = 5 * time.Second

// refusalTimeout bounds the answer to a refused connection; at most
// maxRefusing such answers are under way, more are closed unanswered.
const (
	refusalTimeout = 2 * time.Second
	maxRefusing    = 32
)

// connLimiter enforces connLimits on one listener.
type connLimiter struct {
	limits connLimits
	log    zerolog.Logger
	// tls, when set, is the listener's TLS configuration: a refusal is
	// answered after the handshake.
	tls *tls.Config

	mu       sync.Mutex
	conns    map[*limitedConn]struct{}
	perIP    map[string]int
	lastWarn time.Time

	evicted, refused atomic.Int64
	refusing         chan struct{}
}

func newConnLimiter(l connLimits, log zerolog.Logger) *connLimiter {
	return &connLimiter{
		limits: l, log: log, conns: map[*limitedConn]struct{}{}, perIP: map[string]int{},
		refusing: make(chan struct{}, maxRefusing),
	}
}

// limitedConn is one admitted connection.
type limitedConn struct {
	net.Conn
	lim    *connLimiter
	client string
	// Guarded by lim.mu: the HTTP state, since when, and whether the slot
	// was given back.
	state http.ConnState
	since time.Time
	gone  bool
}

// Close gives the slot back and closes the connection.
func (c *limitedConn) Close() error {
	c.lim.release(c)
	return c.Conn.Close()
}

// limitListener admits connections through a connLimiter.
type limitListener struct {
	net.Listener
	lim *connLimiter
}

// Accept returns the next admitted connection; refused ones are answered
// and closed without returning.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc := l.lim.admit(c); lc != nil {
			return lc, nil
		}
	}
}

func (lim *connLimiter) listener(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, lim: lim}
}

// admit takes c into a slot, closing an idle connection to make room if it
// must, or refuses it (nil).
func (lim *connLimiter) admit(c net.Conn) *limitedConn {
	client := clientKey(c.RemoteAddr())
	now := time.Now()
	lim.mu.Lock()
	var victim *limitedConn
	full := false
	switch {
	case lim.perIP[client] >= lim.limits.perClient:
		victim, full = lim.idlest(client, now), true
	case len(lim.conns) >= lim.limits.max:
		victim, full = lim.idlest("", now), true
	}
	if full && victim == nil {
		open, fromClient := len(lim.conns), lim.perIP[client]
		warn := now.Sub(lim.lastWarn) >= 10*time.Second
		if warn {
			lim.lastWarn = now
		}
		lim.mu.Unlock()
		n := lim.refused.Add(1)
		if warn {
			lim.log.Warn().Str("client", client).Int("open", open).Int("from_client", fromClient).
				Int("max", lim.limits.max).Int("per_client", lim.limits.perClient).Int64("refused_total", n).
				Msg("connection refused: every slot is busy; see connections in the configuration")
		}
		lim.refuse(c)
		return nil
	}
	if victim != nil {
		lim.removeLocked(victim)
	}
	lc := &limitedConn{Conn: c, lim: lim, client: client, state: http.StateNew, since: now}
	lim.conns[lc] = struct{}{}
	lim.perIP[client]++
	lim.mu.Unlock()
	if victim != nil {
		lim.evicted.Add(1)
		_ = victim.Conn.Close() // the server sees the read fail and drops it
	}
	return lc
}

// idlest picks the connection to close for a newcomer: an idle one (or
// one new for longer than newGrace) of client, or when client is empty of
// the client holding the most connections; the oldest of those. It
// returns nil when none is idle.
func (lim *connLimiter) idlest(client string, now time.Time) *limitedConn {
	var best *limitedConn
	for c := range lim.conns {
		if client != "" && c.client != client {
			continue
		}
		if c.state != http.StateIdle && (c.state != http.StateNew || now.Sub(c.since) < newGrace) {
			continue
		}
		if best == nil {
			best = c
			continue
		}
		if client == "" && lim.perIP[c.client] != lim.perIP[best.client] {
			if lim.perIP[c.client] > lim.perIP[best.client] {
				best = c
			}
			continue
		}
		if c.since.Before(best.since) {
			best = c
		}
	}
	return best
}

func (lim *connLimiter) removeLocked(c *limitedConn) {
	if c.gone {
		return
	}
	c.gone = true
	delete(lim.conns, c)
	if lim.perIP[c.client]--; lim.perIP[c.client] <= 0 {
		delete(lim.perIP, c.client)
	}
}

func (lim *connLimiter) release(c *limitedConn) {
	lim.mu.Lock()
	defer lim.mu.Unlock()
	lim.removeLocked(c)
}

// track is the server's ConnState hook: it keeps each connection's state,
// so that only idle ones are closed to make room.
func (lim *connLimiter) track(c net.Conn, st http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	lim.mu.Lock()
	defer lim.mu.Unlock()
	if !lc.gone {
		lc.state, lc.since = st, time.Now()
	}
}

// refusalBody is what a refused client reads.
const refusalBody = `{"detail":"the bridge has no free connection: every one is busy; retry shortly","status":"503"}` + "\n"

// refuse answers c 503 with Retry-After and closes it, without holding a
// slot. The answer is written whatever the client sent (HTTP clients read
// an early answer); then the bridge stops writing and reads what is left
// for a moment, so the client gets the answer rather than a reset.
func (lim *connLimiter) refuse(c net.Conn) {
	select {
	case lim.refusing <- struct{}{}:
	default:
		_ = c.Close() // a flood: no answer is cheaper than answering each
		return
	}
	go func() {
		defer func() { <-lim.refusing }()
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(refusalTimeout))
		var w io.ReadWriter = c
		closeWrite := func() {
			if tc, ok := c.(interface{ CloseWrite() error }); ok {
				_ = tc.CloseWrite()
			}
		}
		if lim.tls != nil {
			tc := tls.Server(c, lim.tls)
			if tc.Handshake() != nil {
				return
			}
			w, closeWrite = tc, func() { _ = tc.CloseWrite() }
		}
		if _, err := fmt.Fprintf(w, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\n"+
			"Connection: close\r\nContent-Length: %d\r\n\r\n%s", len(refusalBody), refusalBody); err != nil {
			return
		}
		closeWrite()
		_, _ = io.Copy(io.Discard, io.LimitReader(w, 64<<10))
	}()
}

// connStats is a snapshot for the status page.
type connStats struct {
	Open, Max, PerClient int
	Idle                 time.Duration
	Evicted, Refused     int64
}

func (lim *connLimiter) stats() connStats {
	lim.mu.Lock()
	open := len(lim.conns)
	lim.mu.Unlock()
	return connStats{
		Open: open, Max: lim.limits.max, PerClient: lim.limits.perClient, Idle: lim.limits.idle,
		Evicted: lim.evicted.Load(), Refused: lim.refused.Load(),
	}
}

// clientKey is the address a per-client limit counts against: the IP, or
// for IPv6 its /64, which one host or one customer of a provider can fill
// with addresses.
func clientKey(a net.Addr) string {
	var ip net.IP
	switch v := a.(type) {
	case *net.TCPAddr:
		ip = v.IP
	default:
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			return a.String()
		}
		ip = net.ParseIP(host)
		if ip == nil {
			return host
		}
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}
