package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/fault"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/mapping"
	"github.com/fsbridge/fsbridge/scim"
)

// A person is never refused because one attribute has no Freshservice
// home (DESIGN D10). mapping.ProfileFromSCIM turns such a value into a Gap;
// the user is provisioned with everything else, the value is kept as sent
// and shown back, the gap is recorded (audit outcome "partial", the
// "needs attention" list on /status, a metric), and applied when the
// account gains what it names. scim.strict_attributes restores the 400;
// scim.create_departments and create_locations fill those gaps by creating
// the department or location in Freshservice.

// UserGaps is one user's attribute values Freshservice cannot hold yet.
type UserGaps struct {
	ID       int64
	UserName string
	Gaps     []mapping.Gap
}

// userGaps is the current set, by user id.
type userGaps struct {
	mu sync.Mutex
	m  map[int64]UserGaps
}

func (g *userGaps) set(id int64, userName string, gaps []mapping.Gap) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[int64]UserGaps{}
	}
	if len(gaps) == 0 {
		delete(g.m, id)
		return
	}
	g.m[id] = UserGaps{ID: id, UserName: userName, Gaps: slices.Clone(gaps)}
}

func (g *userGaps) list() []UserGaps {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]UserGaps, 0, len(g.m))
	for _, u := range g.m {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Gaps lists the users with values Freshservice cannot hold yet, by id.
func (b *Bridge) Gaps() []UserGaps { return b.gaps.list() }

// strictGaps is the 400 of strict mode for a profile with gaps (a
// fault.Invalid naming the SCIM attribute as its field), or nil.
func (b *Bridge) strictGaps(p *mapping.Profile) *scim.Error {
	if !b.opts.StrictAttributes {
		return nil
	}
	var ae *mapping.AttrError
	if err := p.Strict(); errors.As(err, &ae) {
		return scimError(&fault.Error{Kind: fault.Invalid, Field: ae.Attr, Detail: ae.Error() + " (scim.strict_attributes is on)"})
	}
	return nil
}

// createMissing creates in Freshservice the departments and locations the
// gaps name, where the configuration allows it, and records them in the
// catalog. It reports whether it created any (so the target is computed
// again). A failure leaves the gap, and is logged and audited.
func (b *Bridge) createMissing(ctx context.Context, gaps []mapping.Gap) bool {
	created := false
	for _, g := range gaps {
		switch {
		case g.Field == mapping.FieldDepartment && b.opts.CreateDepartments:
			d, _, err := b.fs.Departments.Create(ctx, &freshservice.DepartmentFields{Name: freshservice.Ptr(g.Value)})
			if err != nil {
				b.auditFailure(ctx, "department.create", "", 0, "POST /api/v2/departments",
					fmt.Sprintf("POST /api/v2/departments %q failed: %s", g.Value, plainError(err)), err)
				continue
			}
			b.updateCatalog(func(c *Catalog) { c.Departments[d.ID] = d.Name })
			b.auditEvent(ctx, "department.create", "", d.ID, "ok", fmt.Sprintf("POST /api/v2/departments %q (scim.create_departments)", g.Value))
			created = true
		case g.Field == mapping.FieldLocation && b.opts.CreateLocations:
			l, _, err := b.fs.Locations.Create(ctx, &freshservice.LocationFields{Name: freshservice.Ptr(g.Value)})
			if err != nil {
				b.auditFailure(ctx, "location.create", "", 0, "POST /api/v2/locations",
					fmt.Sprintf("POST /api/v2/locations %q failed: %s", g.Value, plainError(err)), err)
				continue
			}
			b.updateCatalog(func(c *Catalog) { c.Locations[l.ID] = l.Name })
			b.auditEvent(ctx, "location.create", "", l.ID, "ok", fmt.Sprintf("POST /api/v2/locations %q (scim.create_locations)", g.Value))
			created = true
		}
	}
	return created
}

// recordGaps notes the gaps a user was provisioned with. A change of them
// is one audit event (outcome "partial" while some remain), not one per
// reconcile.
func (b *Bridge) recordGaps(ctx context.Context, id int64, userName string, before, now []mapping.Gap) {
	b.gaps.set(id, userName, now)
	if sameGaps(before, now) {
		return
	}
	if len(now) == 0 {
		b.auditEvent(ctx, "user.gaps", strconv.FormatInt(id, 10), id, "ok", "every attribute the IdP sent is now in Freshservice")
		return
	}
	parts := make([]string, len(now))
	for i, g := range now {
		parts[i] = g.String()
	}
	b.auditEvent(ctx, "user.gaps", strconv.FormatInt(id, 10), id, "partial",
		fmt.Sprintf("provisioned %s without: %s; the values are kept as sent and applied once Freshservice can hold them", userName, strings.Join(parts, "; ")))
}

func sameGaps(a, b []mapping.Gap) bool {
	return slices.EqualFunc(a, b, func(x, y mapping.Gap) bool { return x == y })
}

// recheckGaps marks for the background pass the users whose gaps the
// catalog (or the directory) can now fill: a department or location the
// account gained, a manager that became a user. It makes no call.
func (b *Bridge) recheckGaps(ctx context.Context) {
	cat := b.catalog.Load()
	for _, ug := range b.gaps.list() {
		e, ok := b.dir.Get(ug.ID)
		if !ok || e.Desired == nil {
			continue
		}
		p, err := b.profile(decodeDoc(e.Desired.Doc), &cat.Catalog)
		if err != nil || len(p.Gaps) >= len(ug.Gaps) {
			continue
		}
		_, _ = b.store.UpdateUser(ctx, ug.ID, func(s *store.User) error {
			s.Dirty = true
			return nil
		})
	}
}
