package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/store"
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
	gl, err := b.groupAttribute(ctx, id, true)
	if err != nil {
		return scim.Resource{}, err
	}
	if len(gl) > 0 {
		doc["groups"] = gl
	}
	res := scim.Resource{ID: strconv.FormatInt(id, 10), Attributes: doc}
	if e.Managed() {
		res.ExternalID = e.Desired.ExternalID
	}
	res.Created, res.Modified = times(e)
	res.Version = version(doc, res.ExternalID)
	return res, nil
}

// membershipMaxAge is how old the directory's group index may get before it is read from the store
// again in the background. Every group write this bridge makes reaches the index at once; the
// reread is for what other replicas sharing the store wrote.
const membershipMaxAge = time.Minute

// groupAttribute lists the SCIM groups user id is in, from the directory's index (read from the store
// once, then kept current by every group write): the groups attribute of its resource (RFC 7643
// §4.1.2), with display names and, when full is set, type and a reference, which the edge makes
// absolute.
func (b *Bridge) groupAttribute(ctx context.Context, id int64, full bool) ([]any, error) {
	if err := b.memberships(ctx); err != nil {
		return nil, err
	}
	refs := b.dir.GroupsOf(id)
	if len(refs) == 0 {
		return nil, nil
	}
	gl := make([]any, 0, len(refs))
	for _, g := range refs {
		m := map[string]any{"value": g.ID, "display": g.DisplayName}
		if full {
			m["type"], m["$ref"] = "direct", "Groups/"+g.ID
		}
		gl = append(gl, m)
	}
	return gl, nil
}

// memberships makes sure the directory's group index has been read from the store (see
// directory.EnsureGroups).
func (b *Bridge) memberships(ctx context.Context) error {
	return b.dir.EnsureGroups(func() ([]directory.GroupMembers, error) { return b.readMemberships(ctx) }, membershipMaxAge)
}

// readMemberships reads every group's membership from the store, for the directory's index. The
// first read runs on the caller's request; later ones run in the background, so they get a context
// of their own.
func (b *Bridge) readMemberships(ctx context.Context) ([]directory.GroupMembers, error) {
	if b.dir.GroupsLoaded() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
		defer cancel()
	}
	var out []directory.GroupMembers
	err := b.store.ForEachGroup(ctx, func(g store.Group) error {
		out = append(out, directory.GroupMembers{ID: g.ID, DisplayName: g.DisplayName, Version: g.Version, Members: g.Members})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading group memberships: %w", err)
	}
	return out, nil
}

// memberDisplay is the display of a user in its groups' member lists: its displayName as its own
// resource shows it, else its userName.
func (b *Bridge) memberDisplay(id int64) string {
	return b.dir.DisplayName(id, func(e directory.Entry) string {
		if e.User != nil {
			if s, ok := b.userDoc(e)["displayName"].(string); ok && strings.TrimSpace(s) != "" {
				return s
			}
		}
		return e.UserName()
	})
}

// version is a weak ETag over the rendered resource: it changes whenever anything the IdP can see
// changes. It hashes the document's canonical JSON (scim.AppendJSON) in a pooled buffer: encoding it
// with encoding/json cost as much as the rest of a lookup's answer.
func version(doc map[string]any, extra ...string) string {
	bp := versionBuffers.Get().(*[]byte)
	b := scim.AppendJSON((*bp)[:0], doc)
	for _, x := range extra {
		b = append(b, 0)
		b = append(b, x...)
	}
	sum := sha256.Sum256(b)
	*bp = b
	if cap(b) <= 64<<10 {
		versionBuffers.Put(bp)
	}
	var out [4 + 16]byte
	copy(out[:], `W/"`)
	hex.Encode(out[3:19], sum[:8])
	out[19] = '"'
	return string(out[:])
}

var versionBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

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
		if gl, err := b.groupAttribute(ctx, e.User.ID, false); err == nil {
			doc["groups"] = gl
		}
	}
	return doc
}
