package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/internal/store/sqlite"
)

func TestAuditListsAndFilters(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "fsbridge.db")
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, e := range []store.AuditEvent{
		{Time: now.Add(-48 * time.Hour), Client: "okta", Operation: "user.create", SCIMID: "1", FSID: 1, Outcome: "ok", Detail: "POST /api/v2/requesters"},
		{Time: now.Add(-time.Hour), RequestID: "req-7f3a", Client: "entra", Operation: "user.promote", SCIMID: "2", FSID: 2, Outcome: "error", Detail: "PUT /api/v2/requesters/2/convert_to_agent failed: Freshservice answered 403 Forbidden (access_denied)",
			Call: "PUT /api/v2/requesters/2/convert_to_agent", Kind: "no_seat", Status: 403, Code: "access_denied"},
		{Time: now, Client: "okta", Operation: "group.add_member", SCIMID: "g1", FSID: 3, Outcome: "ok", Detail: "user 3: POST /api/v2/requester_groups/9/members/3"},
	} {
		if _, err := st.AppendAudit(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	cfg := writeFile(t, dir, "c.yaml", "store:\n  path: "+db+"\n")
	run := func(args ...string) string {
		var out, errb bytes.Buffer
		if code := realMain(append([]string{"audit", "--config", cfg}, args...), &out, &errb); code != 0 {
			t.Fatalf("audit %v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	all := run()
	if strings.Count(all, "\n") != 4 || !strings.Contains(all, "access_denied") || strings.Index(all, "group.add_member") > strings.Index(all, "user.create") {
		t.Errorf("all events, newest first:\n%s", all)
	}
	if got := run("--outcome", "error"); !strings.Contains(got, "user.promote") || !strings.Contains(got, "no_seat") || strings.Contains(got, "user.create") {
		t.Errorf("--outcome error, with the failure's kind:\n%s", got)
	}
	if got := run("--since", "24h", "--client", "okta"); !strings.Contains(got, "group.add_member") || strings.Contains(got, "user.create") {
		t.Errorf("--since 24h --client okta:\n%s", got)
	}
	if got := run("--request-id", "req-7f3a"); strings.Count(got, "\n") != 2 || !strings.Contains(got, "req-7f3a") || !strings.Contains(got, "user.promote") {
		t.Errorf("--request-id req-7f3a:\n%s", got)
	}
	if got := run("--op", "user.", "--json"); strings.Count(got, "\n") != 2 || !strings.Contains(got, `"Operation":"user.promote"`) ||
		!strings.Contains(got, `"Call":"PUT /api/v2/requesters/2/convert_to_agent","Kind":"no_seat","Status":403,"Code":"access_denied"`) ||
		strings.Contains(got, `"Kind":""`) {
		t.Errorf("--op user. --json, with the failure's fields and none on a success:\n%s", got)
	}
}
