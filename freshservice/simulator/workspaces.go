package simulator

import (
	"fmt"
	"net/http"
	"slices"
)

// Workspaces (reference §5, §19). Accounts with several workspaces put each
// agent group and role in one, shown as workspace_id (the primary one by
// default), and a key whose owner sees only some workspaces sees only
// their groups and roles. The reference gives no endpoint that lists
// workspaces; GET /api/v2/workspaces returning {"workspaces":[{"id",
// "name","primary"}]} is modelled on public client code that calls it.

// Workspace is a workspace of the account.
type Workspace struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Primary bool   `json:"primary"`
}

// PrimaryWorkspaceID is the id of the primary workspace, the default of
// objects that name none (reference §3.1: "default 2").
const PrimaryWorkspaceID = workspaceID

// Workspaces returns the account's workspaces under Switches.Workspaces;
// an account without the switch has the primary one only.
func Workspaces() []Workspace { return slices.Clone(workspaces) }

var workspaces = []Workspace{
	{ID: PrimaryWorkspaceID, Name: "IT", Primary: true},
	{ID: 3, Name: "HR"},
	{ID: 4, Name: "Facilities"},
}

func knownWorkspace(id int64) bool {
	return slices.ContainsFunc(workspaces, func(w Workspace) bool { return w.ID == id })
}

// workspaceOf returns the workspace of an object: its own, or the primary.
func workspaceOf(id int64) int64 {
	if id == 0 {
		return PrimaryWorkspaceID
	}
	return id
}

// nonPrimary is id, or 0 for the primary workspace: the seed form.
func nonPrimary(id int64) int64 {
	if id == PrimaryWorkspaceID {
		return 0
	}
	return id
}

// workspaceVisible reports whether the key's owner sees workspace id.
func (c *call) workspaceVisible(id int64) bool {
	if !c.sw.Workspaces || c.sw.KeyWorkspaceID == 0 {
		return true
	}
	return workspaceOf(id) == c.sw.KeyWorkspaceID
}

// shownWorkspace is the workspace_id an object renders: present in
// workspace accounts only (reference §5).
func (c *call) shownWorkspace(id int64) *int64 {
	if !c.sw.Workspaces {
		return nil
	}
	w := workspaceOf(id)
	return &w
}

// listWorkspaces is GET /api/v2/workspaces.
func (c *call) listWorkspaces() reply {
	var errs []fieldError
	p := c.paging(&errs)
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	var out []Workspace
	for _, w := range workspaces {
		if (w.Primary || c.sw.Workspaces) && c.workspaceVisible(w.ID) {
			out = append(out, w)
		}
	}
	return listPage(c, "workspaces", out, p, true, func(w Workspace) any { return w })
}

// groupVisible reports whether the key's owner sees agent group g.
func (c *call) groupVisible(g *Group) bool { return c.workspaceVisible(g.WorkspaceID) }

// checkWorkspace validates a workspace_id sent in a group body.
func (c *call) checkWorkspace(id int64) []fieldError {
	if knownWorkspace(id) && c.workspaceVisible(id) {
		return nil
	}
	return []fieldError{{Field: "workspace_id", Message: fmt.Sprintf("There is no workspace with the id %d", id), Code: codeInvalidValue}}
}
