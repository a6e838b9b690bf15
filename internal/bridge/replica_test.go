package bridge

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/internal/store/sqlite"
)

// TestLoadingItsOwnCopyIsNoNews: reading a user's mirror entry from the
// store before a plan leaves the directory's write-through time alone when
// the entry is the one this replica wrote, so a walk page asked for since
// (which may carry an admin's change) is still taken. Another replica's
// newer entry replaces the directory's view and counts as written through.
func TestLoadingItsOwnCopyIsNoNews(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	b := &Bridge{store: st, dir: directory.New()}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	agent := &freshservice.User{ID: 7, View: freshservice.ViewAgent, Email: "ada@example.com", IsAgent: true, UpdatedAt: at}
	b.writeThrough(t.Context(), agent)

	asked := time.Now()
	b.loadFromStore(t.Context(), 7)
	// An admin made her a requester; the walk's page shows it.
	page := &freshservice.User{ID: 7, View: freshservice.ViewRequester, Email: "ada@example.com", Active: true, UpdatedAt: at.Add(time.Minute)}
	if !b.dir.PutWalked(page, asked) {
		t.Fatal("a walk page asked for after the bridge's own write was set aside because the bridge read its own copy back from the store")
	}
	if e, _ := b.dir.Get(7); e.User.IsAgent || !e.User.Active {
		t.Errorf("the directory holds %+v, want the active requester the walk read", e.User)
	}

	// Another replica wrote a newer view of her: it is taken, and a page
	// asked for before it is older.
	other := &freshservice.User{ID: 7, View: freshservice.ViewRequester, Email: "ada@example.com", JobTitle: "Engineer", Active: true, UpdatedAt: at.Add(2 * time.Minute)}
	if err := st.PutMirror(t.Context(), []store.MirrorEntry{{ID: 7, Data: encode(other)}}); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	b.loadFromStore(t.Context(), 7)
	if e, _ := b.dir.Get(7); e.User.JobTitle != "Engineer" {
		t.Errorf("after another replica's write the directory holds %+v, want its view", e.User)
	}
	if b.dir.PutWalked(&freshservice.User{ID: 7, View: freshservice.ViewRequester, Email: "ada@example.com", Active: true, UpdatedAt: at}, before) {
		t.Error("a walk page asked for before another replica's write replaced that write")
	}
}
