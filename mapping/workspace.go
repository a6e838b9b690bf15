package mapping

import (
	"fmt"
	"sort"
	"strings"
)

// Workspace is one workspace of the account, as the key's owner sees it.
type Workspace struct {
	ID      int64
	Name    string
	Primary bool
}

// Placed is a catalog object that lives in a workspace (an agent group or
// a role). WorkspaceID 0 means the account shows none: the primary one.
type Placed struct {
	ID          int64
	Name        string
	WorkspaceID int64
}

// NameErrorKind says why a name did not resolve.
type NameErrorKind string

// The reasons a name does not resolve.
const (
	NameUnknown      NameErrorKind = "unknown"       // no object has it (in the workspace asked)
	NameAmbiguous    NameErrorKind = "ambiguous"     // several workspaces have it, none of them the primary one
	WorkspaceUnknown NameErrorKind = "workspace"     // the workspace named is not one the key's owner sees
	WorkspacePartial NameErrorKind = "partial_scope" // unknown, and the key's owner sees only some workspaces
)

// NameError is a name that did not resolve, with what the account offers.
type NameError struct {
	Kind      NameErrorKind
	Name      string
	Workspace string
	// Candidates are "name (workspace)" of every object of that name,
	// for an ambiguous name.
	Candidates []string
	// Visible are the workspaces the key's owner sees, for a workspace
	// not among them or a key that sees only some.
	Visible []string
}

func (e *NameError) Error() string {
	switch e.Kind {
	case NameAmbiguous:
		return fmt.Sprintf("%q is ambiguous: it is %s; give the rule a workspace (workspace: %s)",
			e.Name, strings.Join(e.Candidates, " and "), firstWorkspace(e.Candidates))
	case WorkspaceUnknown:
		return fmt.Sprintf("workspace %q is not one the API key's owner sees (it sees: %s)", e.Workspace, strings.Join(e.Visible, ", "))
	case WorkspacePartial:
		return fmt.Sprintf("%q is not in the workspaces the API key's owner sees (%s): objects of other workspaces are invisible to the key",
			e.Name, strings.Join(e.Visible, ", "))
	}
	if e.Workspace != "" {
		return fmt.Sprintf("%q is not in workspace %q", e.Name, e.Workspace)
	}
	return fmt.Sprintf("%q is unknown", e.Name)
}

// firstWorkspace pulls the workspace out of the first "name (workspace
// W, id N)" candidate, for the hint.
func firstWorkspace(c []string) string {
	if len(c) == 0 {
		return "NAME"
	}
	s := c[0]
	i := strings.LastIndex(s, "(workspace ")
	if i < 0 {
		return "NAME"
	}
	s = s[i+len("(workspace "):]
	if j := strings.Index(s, ", id"); j >= 0 {
		s = s[:j]
	}
	return s
}

// ResolvePlaced finds the object called name (case and surrounding space
// ignored). With workspace given, only that workspace's objects count.
// Without one, a name the primary workspace has resolves there; a name
// only one other workspace has resolves there; a name several
// non-primary workspaces have is ambiguous. Among objects of one name in
// one workspace the lowest id wins. spaces are the workspaces the key's
// owner sees; none means an account without workspaces (or one that does
// not list them), where every object is in the one workspace.
func ResolvePlaced(objs []Placed, spaces []Workspace, name, workspace string) (int64, error) {
	name = strings.TrimSpace(name)
	primary := int64(0)
	for _, w := range spaces {
		if w.Primary {
			primary = w.ID
		}
	}
	inPrimary := func(ws int64) bool { return ws == 0 || ws == primary }
	spaceName := func(ws int64) string {
		for _, w := range spaces {
			if w.ID == ws || (ws == 0 && w.Primary) {
				return w.Name
			}
		}
		return fmt.Sprint(ws)
	}
	visible := make([]string, 0, len(spaces))
	for _, w := range spaces {
		visible = append(visible, w.Name)
	}
	var matches []Placed
	for _, o := range objs {
		if strings.EqualFold(strings.TrimSpace(o.Name), name) {
			matches = append(matches, o)
		}
	}
	sort.Slice(matches, func(i, j int) bool { return matches[i].ID < matches[j].ID })
	if ws := strings.TrimSpace(workspace); ws != "" {
		var want *Workspace
		for i, w := range spaces {
			if strings.EqualFold(w.Name, ws) {
				want = &spaces[i]
			}
		}
		if want == nil {
			return 0, &NameError{Kind: WorkspaceUnknown, Name: name, Workspace: ws, Visible: visible}
		}
		for _, o := range matches {
			if o.WorkspaceID == want.ID || (o.WorkspaceID == 0 && want.Primary) {
				return o.ID, nil
			}
		}
		return 0, &NameError{Kind: NameUnknown, Name: name, Workspace: want.Name}
	}
	if len(matches) == 0 {
		if len(spaces) > 0 && primary == 0 {
			return 0, &NameError{Kind: WorkspacePartial, Name: name, Visible: visible}
		}
		return 0, &NameError{Kind: NameUnknown, Name: name}
	}
	if len(spaces) == 0 {
		// Workspaces unknown: one namespace, as before workspaces.
		return matches[0].ID, nil
	}
	for _, o := range matches {
		if inPrimary(o.WorkspaceID) {
			return o.ID, nil
		}
	}
	others := map[int64]bool{}
	for _, o := range matches {
		others[o.WorkspaceID] = true
	}
	if len(others) == 1 {
		return matches[0].ID, nil
	}
	var cands []string
	seen := map[int64]bool{}
	for _, o := range matches {
		if seen[o.WorkspaceID] {
			continue
		}
		seen[o.WorkspaceID] = true
		cands = append(cands, fmt.Sprintf("%q (workspace %s, id %d)", o.Name, spaceName(o.WorkspaceID), o.ID))
	}
	return 0, &NameError{Kind: NameAmbiguous, Name: name, Candidates: cands}
}
