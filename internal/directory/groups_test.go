package directory

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func groupNames(refs []GroupRef) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.ID+"="+r.DisplayName)
	}
	return out
}

func TestGroupIndexFollowsWrites(t *testing.T) {
	d := New()
	steps := []struct {
		name  string
		do    func()
		want1 []string // groups of user 1
		want2 []string // groups of user 2
	}{
		{"set", func() { d.SetGroup("a", "Alpha", 1, []int64{1, 2}) }, []string{"a=Alpha"}, []string{"a=Alpha"}},
		{"a second group", func() { d.SetGroup("b", "Beta", 1, []int64{2}) }, []string{"a=Alpha"}, []string{"a=Alpha", "b=Beta"}},
		{"an older version is ignored", func() { d.SetGroup("a", "Alpha", 0, nil) }, []string{"a=Alpha"}, []string{"a=Alpha", "b=Beta"}},
		{"a change from the held version", func() {
			if !d.ChangeGroup("a", "Alpha", 1, 2, []int64{3}, []int64{1}) {
				t.Fatal("ChangeGroup from the held version refused")
			}
		}, nil, []string{"a=Alpha", "b=Beta"}},
		{"a change from another version is refused", func() {
			if d.ChangeGroup("a", "Alpha", 1, 3, []int64{1}, nil) {
				t.Fatal("ChangeGroup from a version not held was applied")
			}
		}, nil, []string{"a=Alpha", "b=Beta"}},
		{"a rename", func() { d.SetGroup("b", "Gamma", 2, []int64{2}) }, nil, []string{"a=Alpha", "b=Gamma"}},
		{"a rename by a change", func() { d.ChangeGroup("a", "Delta", 2, 3, nil, nil) }, nil, []string{"a=Delta", "b=Gamma"}},
		{"removed", func() { d.RemoveGroup("a") }, nil, []string{"b=Gamma"}},
	}
	for _, s := range steps {
		before := d.GroupStamp(2)
		s.do()
		if got := groupNames(d.GroupsOf(1)); !slices.Equal(got, s.want1) {
			t.Errorf("%s: user 1 in %v, want %v", s.name, got, s.want1)
		}
		if got := groupNames(d.GroupsOf(2)); !slices.Equal(got, s.want2) {
			t.Errorf("%s: user 2 in %v, want %v", s.name, got, s.want2)
		}
		if changed := d.GroupStamp(2) != before; changed != (s.name == "set" || s.name == "a second group" || s.name == "a rename" || s.name == "a rename by a change" || s.name == "removed") {
			t.Errorf("%s: user 2's group stamp changed: %v", s.name, changed)
		}
	}
	if got := d.GroupIDsOf(3); !slices.Equal(got, nil) {
		t.Errorf("user 3 is in %v after its group was removed", got)
	}
}

// A whole read of the store that races with writes does not undo them: a group written or removed
// while the read ran keeps what the write made of it.
func TestGroupReloadKeepsNewerWrites(t *testing.T) {
	d := New()
	d.SetGroup("kept", "Kept", 5, []int64{1})
	d.SetGroup("gone", "Gone", 1, []int64{1})
	err := d.EnsureGroups(func() ([]GroupMembers, error) {
		// While the store is read: "kept" changes and "gone" is deleted.
		d.SetGroup("kept", "Kept", 6, []int64{1, 2})
		d.RemoveGroup("gone")
		return []GroupMembers{
			{ID: "kept", DisplayName: "Kept", Version: 5, Members: []int64{1}},
			{ID: "gone", DisplayName: "Gone", Version: 1, Members: []int64{1}},
			{ID: "new", DisplayName: "New", Version: 1, Members: []int64{2}},
		}, nil
	}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := groupNames(d.GroupsOf(2)); !slices.Equal(got, []string{"kept=Kept", "new=New"}) {
		t.Errorf("user 2 in %v", got)
	}
	if got := groupNames(d.GroupsOf(1)); !slices.Equal(got, []string{"kept=Kept"}) {
		t.Errorf("user 1 in %v", got)
	}
	if !d.GroupsLoaded() {
		t.Error("not loaded")
	}
	// Loaded once: a second call does not read again.
	if err := d.EnsureGroups(func() ([]GroupMembers, error) { return nil, errors.New("read again") }, time.Hour); err != nil {
		t.Error(err)
	}
}

func TestGroupLoadFailureIsReturnedAndRetried(t *testing.T) {
	d := New()
	if err := d.EnsureGroups(func() ([]GroupMembers, error) { return nil, errors.New("store down") }, time.Hour); err == nil {
		t.Fatal("no error")
	}
	if d.GroupsLoaded() {
		t.Fatal("loaded after a failed read")
	}
	if err := d.EnsureGroups(func() ([]GroupMembers, error) {
		return []GroupMembers{{ID: "g", DisplayName: "G", Version: 1, Members: []int64{7}}}, nil
	}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := groupNames(d.GroupsOf(7)); !slices.Equal(got, []string{"g=G"}) {
		t.Errorf("user 7 in %v", got)
	}
}
