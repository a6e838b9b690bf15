package test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/server"
)

// pgSchemaDSN gives a DSN on a fresh schema of the test PostgreSQL, or
// skips when there is none.
func pgSchemaDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("FSBRIDGE_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("FSBRIDGE_TEST_POSTGRES_DSN is not set: eval \"$(.ci/postgres.sh)\" starts PostgreSQL and sets it (.ci/run does)")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "fsbridge_replica_" + hex.EncodeToString(b[:])
	exec := func(sql string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	exec("CREATE SCHEMA " + schema)
	t.Cleanup(func() { exec("DROP SCHEMA " + schema + " CASCADE") })
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// TestTwoReplicasOnPostgreSQLLoseNothing runs two bridges on one
// PostgreSQL database and one Freshservice account, and splits concurrent
// group PATCHes and user updates between them: the locks are in the
// database, so nothing is lost.
func TestTwoReplicasOnPostgreSQLLoseNothing(t *testing.T) {
	dsn := pgSchemaDSN(t)
	a := newEnv(t, func(c *config.Config, _ *simulator.Options) {
		c.Store = config.Store{Driver: "postgres", DSN: config.Secret(dsn)}
	})
	// The second replica: same configuration, same simulator.
	srvB, err := server.New(context.Background(), a.cfg, server.Options{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srvB.Close)
	hb := httptest.NewServer(srvB.Handler)
	t.Cleanup(hb.Close)
	b := *a
	b.srv, b.url = srvB, hb.URL+"/scim/v2"
	replicas := []*env{a, &b}

	const n = 24
	var ids []string
	for i := range n {
		ids = append(ids, replicas[i%2].mustCreate(userBody(fmt.Sprintf("rep%d@example.com", i), "R", fmt.Sprint(i), nil)))
	}
	group := a.mustGroup("Replicated")
	target := b.mustCreate(userBody("shared@example.com", "Sha", "Red", nil))
	var wg sync.WaitGroup
	for i, id := range ids {
		e := replicas[i%2]
		wg.Go(func() {
			if status, body := e.addMembers(group, id); status != 204 {
				t.Errorf("add %s through replica %d: %d %v", id, i%2, status, body)
			}
		})
		wg.Go(func() {
			op := map[string]any{"op": "add", "path": "emails", "value": []any{map[string]any{"value": fmt.Sprintf("r%d@alias.example.com", i), "type": "other"}}}
			if status, body := e.do("PATCH", "/Users/"+target, patchBody(op)); status != 200 {
				t.Errorf("update through replica %d: %d %v", i%2, status, body)
			}
		})
	}
	wg.Wait()
	rg, _ := a.sim.RequesterGroupByName("Replicated")
	members := a.sim.RequesterGroupMembers(rg.ID)
	for _, id := range ids {
		if !slices.Contains(members, mustInt(id)) {
			t.Errorf("user %s lost from the requester group", id)
		}
	}
	if got := len(a.simUser(target).SecondaryEmails); got != n {
		t.Errorf("the shared user has %d secondary emails, want %d", got, n)
	}
	for _, e := range replicas {
		_, grp := e.do("GET", "/Groups/"+group, nil)
		if got := len(grp["members"].([]any)); got != n {
			t.Errorf("replica reads %d members, want %d", got, n)
		}
	}
	if got := len(a.sim.Users()); got != n+2 {
		t.Errorf("%d users in Freshservice, want %d: no duplicates", got, n+2)
	}
}

func mustInt(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}
