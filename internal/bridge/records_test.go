package bridge

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/internal/store/sqlite"
)

// TestRecordsKeepTheDirectoryInStep: every user record the bridge writes
// or deletes through records is in the directory as the store has it, and
// a write the store refuses leaves the directory as it was.
func TestRecordsKeepTheDirectoryInStep(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	dir := directory.New()
	r := records{st, dir}
	desired := func(id int64) *store.User {
		e, _ := dir.Get(id)
		return e.Desired
	}

	if _, err := r.CreateUser(t.Context(), store.User{ID: 7, UserName: "ada@example.com", ExternalID: "okta-7"}); err != nil {
		t.Fatal(err)
	}
	if d := desired(7); d == nil || d.UserName != "ada@example.com" {
		t.Fatalf("after CreateUser the directory holds %+v, want ada@example.com", d)
	}
	if got := dir.ByExternalID("okta-7"); len(got) != 1 {
		t.Errorf("externalId index after CreateUser: %d entries, want 1", len(got))
	}
	if _, err := r.UpdateUser(t.Context(), 7, func(u *store.User) error { u.UserName = "ada.l@example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	if d := desired(7); d == nil || d.UserName != "ada.l@example.com" {
		t.Errorf("after UpdateUser the directory holds %+v, want ada.l@example.com", d)
	}
	refused := errors.New("refused")
	if _, err := r.UpdateUser(t.Context(), 7, func(u *store.User) error { u.UserName = "other@example.com"; return refused }); !errors.Is(err, refused) {
		t.Fatalf("UpdateUser whose change fails: %v", err)
	}
	if d := desired(7); d == nil || d.UserName != "ada.l@example.com" {
		t.Errorf("after a refused update the directory holds %+v, want it unchanged", d)
	}
	if err := r.DeleteUser(context.Background(), 7); err != nil {
		t.Fatal(err)
	}
	if d := desired(7); d != nil {
		t.Errorf("after DeleteUser the directory still holds %+v", d)
	}
}
