package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/internal/store/sqlite"
)

// TestBackupCommand: `fsbridge backup` copies the store named by the
// configuration while it is open, and refuses to overwrite a file.
func TestBackupCommand(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "fsbridge.db")
	st, err := sqlite.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close() // open, as a running bridge holds it
	if _, err := st.CreateUser(t.Context(), store.User{ID: 42, UserName: "kept@example.com", Doc: json.RawMessage(`{"userName":"kept@example.com"}`)}); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, dir, "c.yaml", "store: {path: "+dbPath+"}\n")
	dst := filepath.Join(dir, "backup.db")

	var stdout, stderr strings.Builder
	if code := realMain([]string{"backup", "--config", cfg, "--to", dst}, &stdout, &stderr); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "backed up "+dbPath+" to "+dst) {
		t.Errorf("stdout %q", stdout.String())
	}
	b, err := sqlite.Open(t.Context(), dst)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if u, err := b.GetUserByUserName(t.Context(), "kept@example.com"); err != nil || u.ID != 42 {
		t.Errorf("the backup's user: %+v %v", u, err)
	}

	stderr.Reset()
	if code := realMain([]string{"backup", "--config", cfg, "--to", dst}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "already exists") {
		t.Errorf("backup over an existing file: exit %d, %q; want 1 and 'already exists'", code, stderr.String())
	}
	if code := realMain([]string{"backup", "--config", cfg}, &stdout, &stderr); code != 2 {
		t.Errorf("backup without --to: exit %d, want 2", code)
	}
	pg := writeFile(t, dir, "pg.yaml", "store: {driver: postgres, dsn: \"postgres://u@127.0.0.1:1/db\"}\n")
	stderr.Reset()
	if code := realMain([]string{"backup", "--config", pg, "--to", filepath.Join(dir, "x.db")}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "pg_dump") {
		t.Errorf("backup of a PostgreSQL store: exit %d, %q; want 1 and a pointer to pg_dump", code, stderr.String())
	}
}
