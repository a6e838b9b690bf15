package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/mapping"
	"github.com/fsbridge/fsbridge/scim"
)

// userDoc is the SCIM view of a directory entry, without groups.
func (b *Bridge) userDoc(e directory.Entry) mapping.Doc {
	doc := mapping.ToSCIM(e.User, e.Doc(), &b.catalog.Load().Catalog, b.userExists)
	for _, k := range []string{"id", "meta", "schemas", "groups", "password", "externalId"} {
		delete(doc, k)
	}
	return doc
}

func times(e directory.Entry) (created, modified time.Time) {
	if e.User != nil {
		created, modified = e.User.CreatedAt, e.User.UpdatedAt
	}
	if d := e.Desired; d != nil && !d.Deleted {
		if created.IsZero() || (!d.Created.IsZero() && d.Created.Before(created)) {
			created = d.Created
		}
		if d.Modified.After(modified) {
			modified = d.Modified
		}
	}
	return created, modified
}

// renderUser builds the SCIM resource of a visible entry, groups included.
func (b *Bridge) renderUser(ctx context.Context, e directory.Entry) (scim.Resource, error) {
	doc := b.userDoc(e)
	id := e.User.ID
	gids, err := b.store.GroupsOf(ctx, id)
	if err != nil {
		return scim.Resource{}, err
	}
	if len(gids) > 0 {
		var gl []any
		for _, gid := range gids {
			g, err := b.store.GetGroup(ctx, gid)
			if err != nil {
				continue
			}
			gl = append(gl, map[string]any{"value": g.ID, "display": g.DisplayName, "type": "direct", "$ref": "Groups/" + g.ID})
		}
		if len(gl) > 0 {
			doc["groups"] = gl
		}
	}
	res := scim.Resource{ID: strconv.FormatInt(id, 10), Attributes: doc}
	if e.Managed() {
		res.ExternalID = e.Desired.ExternalID
	}
	res.Created, res.Modified = times(e)
	res.Version = version(doc, res.ExternalID)
	return res, nil
}

// version is a weak ETag over the rendered resource: it changes whenever
// anything the IdP can see changes.
func version(doc map[string]any, extra ...string) string {
	data, _ := json.Marshal(doc)
	h := sha256.New()
	h.Write(data)
	for _, x := range extra {
		h.Write([]byte{0})
		h.Write([]byte(x))
	}
	return `W/"` + hex.EncodeToString(h.Sum(nil))[:16] + `"`
}

// matchDoc is what a filter is evaluated against: the SCIM view with id,
// externalId and meta dates, and groups when the filter asks for them.
func (b *Bridge) matchDoc(ctx context.Context, e directory.Entry, withGroups bool) mapping.Doc {
	doc := b.userDoc(e)
	doc["id"] = strconv.FormatInt(e.User.ID, 10)
	if e.Managed() && e.Desired.ExternalID != "" {
		doc["externalId"] = e.Desired.ExternalID
	}
	c, m := times(e)
	meta := map[string]any{"resourceType": "User"}
	if !c.IsZero() {
		meta["created"] = c.UTC().Format(time.RFC3339)
	}
	if !m.IsZero() {
		meta["lastModified"] = m.UTC().Format(time.RFC3339)
	}
	doc["meta"] = meta
	if withGroups {
		if gids, err := b.store.GroupsOf(ctx, e.User.ID); err == nil {
			var gl []any
			for _, gid := range gids {
				if g, err := b.store.GetGroup(ctx, gid); err == nil {
					gl = append(gl, map[string]any{"value": g.ID, "display": g.DisplayName})
				}
			}
			doc["groups"] = gl
		}
	}
	return doc
}
