// Package bridge holds the use cases behind /Users and /Groups: it loads
// the desired state, applies the SCIM operation to it, saves it, asks
// mapping for the plan that brings Freshservice there, runs the plan
// through the client, and writes the result through to the directory
// mirror and the store (DESIGN D3). It is the only package that sees both
// the SCIM and the Freshservice side.
package bridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/freshservice"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/directory"
	"github.com/fsbridge/fsbridge/internal/store"
	"github.com/fsbridge/fsbridge/mapping"
	"github.com/fsbridge/fsbridge/scim"
)

// Options configure a Bridge.
type Options struct {
	// UserSchema is the /Users resource schema the SCIM endpoint serves
	// (extensions included); zero: scim.UserSchema().
	UserSchema scim.ResourceSchema
	Client     *freshservice.Client
	Store      store.Store
	Directory  *directory.Directory
	Rules      config.Rules
	// AdoptExisting lets a POST take over an active Freshservice user that
	// the bridge does not manage yet.
	AdoptExisting bool
	// ForgetOnDelete erases users on SCIM DELETE instead of deactivating.
	ForgetOnDelete bool
	// StrictAttributes refuses a user with a value Freshservice has no
	// home for, instead of provisioning the rest (see gaps.go).
	StrictAttributes bool
	// CreateDepartments and CreateLocations create in Freshservice the
	// departments and locations the IdP names that the account lacks.
	CreateDepartments, CreateLocations bool
	// DryRun turns every Freshservice write into a logged, audited plan.
	DryRun bool
	Log    zerolog.Logger
	// RefreshInterval is the time between mirror walks; RefreshShare the
	// part of the budget a walk may use.
	RefreshInterval time.Duration
	RefreshShare    float64
	// ReconcileInterval paces the pass that finishes interrupted plans;
	// MaxBackoff caps the wait between attempts on one failing user.
	ReconcileInterval time.Duration
	MaxBackoff        time.Duration
	// ProtectedUsers are emails or Freshservice ids of users the bridge
	// never deactivates, demotes, converts or strips of roles (DESIGN D12),
	// besides the owner of the API key, which is always protected.
	ProtectedUsers []string
	// Extras are the configured custom field mappings and whether
	// externalId is sent as external_id (config.Mapping).
	Extras mapping.Extras
	// AgentExternalIDReadOnly leaves external_id out of agent bodies from
	// the start, instead of learning it at the first refusal.
	AgentExternalIDReadOnly bool
}

// Bridge serves SCIM users and groups over one Freshservice account.
type Bridge struct {
	opts  Options
	fs    *freshservice.Client
	store store.Store
	dir   *directory.Directory
	log   zerolog.Logger

	catalog atomic.Pointer[Catalog]
	rules   atomic.Pointer[RuleSet]
	ruleCfg atomic.Pointer[config.Rules]
	// keyOwner is the agent who owns the API key (nil: unknown).
	keyOwner atomic.Pointer[KeyOwner]
	// keyAccess is what the API key may do, as last probed (keyaccess.go).
	keyAccess atomic.Pointer[KeyAccess]
	// catMu serialises changes to the catalog (updateCatalog), so two
	// concurrent changes cannot each store a copy without the other's.
	catMu sync.Mutex
	// gaps are the users with values Freshservice cannot hold yet.
	gaps userGaps
	// downgrades are the users Freshservice keeps occasional for want of
	// a full-time seat (seats.go).
	downgrades userDowngrades
	// agentExtIDRefused is set once Freshservice refused external_id on
	// an agent: agent bodies leave it out from then on.
	agentExtIDRefused atomic.Bool

	// ready is closed once the directory is loaded.
	loaded atomic.Bool

	userSchema scim.ResourceSchema

	// background is the walk, the reconcile pass, the drift check and the
	// finishing of creates whose outcome is unknown (background.go).
	background *background
}

// Stats are counters the status page reads.
type Stats struct {
	// WalkErrors counts walks that failed part-way.
	WalkErrors atomic.Int64
}

// New builds the bridge: it loads the account's catalog (roles, agent
// groups, requester groups, departments, locations) and resolves every name
// in the rules, failing with one error that lists every unknown name.
func New(ctx context.Context, opts Options) (*Bridge, error) {
	if opts.Client == nil || opts.Store == nil {
		return nil, errors.New("bridge: client and store are required")
	}
	if opts.Directory == nil {
		opts.Directory = directory.New()
	}
	// Unset options take the configuration's defaults: one home for them.
	def := config.Default()
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = def.Mirror.RefreshInterval
	}
	if opts.RefreshShare <= 0 || opts.RefreshShare > 1 {
		opts.RefreshShare = def.Mirror.Share
	}
	if opts.ReconcileInterval <= 0 {
		opts.ReconcileInterval = def.Reconcile.Interval
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = def.Reconcile.MaxBackoff
	}
	if opts.UserSchema.Core.ID == "" {
		opts.UserSchema = scim.UserSchema()
	}
	b := &Bridge{
		userSchema: opts.UserSchema,
		opts:       opts, fs: opts.Client, store: records{opts.Store, opts.Directory}, dir: opts.Directory, log: opts.Log,
	}
	b.background = newBackground(b.fs, b.store, b.dir, b.log, opts, b)
	// The directory loads from the store while Freshservice answers the
	// start's calls: on a large account each takes about as long as the
	// other, and the first lookup waits for both.
	loadCtx, cancelLoad := context.WithCancel(ctx)
	defer cancelLoad()
	loaded := make(chan error, 1)
	go func() { loaded <- b.load(loadCtx) }()
	if err := b.start(ctx); err != nil {
		cancelLoad()
		<-loaded
		return nil, err
	}
	if err := <-loaded; err != nil {
		return nil, err
	}
	return b, nil
}

// start makes the start's Freshservice calls: the catalog, the rules'
// names, the key's owner and what the key may do.
func (b *Bridge) start(ctx context.Context) error {
	// A start's few reads need not queue behind the budget's spreading:
	// lookups wait for them.
	ctx = freshservice.Unpaced(ctx)
	cat, err := LoadCatalog(ctx, b.fs)
	if err != nil {
		return fmt.Errorf("bridge: reading the Freshservice catalog: %w", err)
	}
	b.catalog.Store(cat)
	if err := b.SetRules(ctx, b.opts.Rules); err != nil {
		return err
	}
	if err := b.loadKeyOwner(ctx); err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	b.ProbeKey(ctx)
	return nil
}

// SetRules resolves rules against the catalog and makes them current; on
// error the current rules stay. It may create agent groups the rules ask
// to create.
func (b *Bridge) SetRules(ctx context.Context, rules config.Rules) error {
	rs, err := b.resolveRules(ctx, rules)
	if err != nil {
		return err
	}
	b.rules.Store(rs)
	r := rules
	b.ruleCfg.Store(&r)
	return nil
}

// Reload re-reads the catalog and applies new rules; on error the current
// catalog and rules stay. Users whose targets the new rules change are
// re-planned by the background pass when they next change, or now with
// `fsbridge drift --heal`.
func (b *Bridge) Reload(ctx context.Context, rules config.Rules) error {
	ctx = freshservice.Unpaced(ctx)
	cat, err := LoadCatalog(ctx, b.fs)
	if err != nil {
		return fmt.Errorf("reading the Freshservice catalog: %w", err)
	}
	old := b.replaceCatalog(cat)
	if err := b.SetRules(ctx, rules); err != nil {
		b.replaceCatalog(old)
		return err
	}
	if err := b.loadKeyOwner(ctx); err != nil {
		b.log.Warn().Err(err).Msg("reload: the API key's owner could not be read again; the one known before stays protected")
	}
	return nil
}

// Rules returns the resolved rules in force.
func (b *Bridge) Rules() *RuleSet { return b.rules.Load() }

// Catalog returns the account's catalog as last read.
func (b *Bridge) Catalog() *Catalog { return b.catalog.Load() }

// Directory returns the mirror.
func (b *Bridge) Directory() *directory.Directory { return b.dir }

// Counters returns the bridge's counters.
func (b *Bridge) Counters() *Stats { return &b.background.stats }

// load fills the directory from the store: the mirror snapshot and the
// desired state. It makes no Freshservice call. If the store holds no
// snapshot (first start) the caller should run a walk before serving reads
// of users it has not created.
//
// Decoding the mirror is most of a restart's time (100,000 users take
// seconds on one core), so entries are decoded on every core while the
// store is read, and the desired state is read meanwhile: the directory
// takes users and desired states in any order.
func (b *Bridge) load(ctx context.Context) error {
	var n atomic.Int64
	entries := make(chan store.MirrorEntry, 1024)
	var decoders sync.WaitGroup
	for range max(runtime.GOMAXPROCS(0), 1) {
		decoders.Add(1)
		go func() {
			defer decoders.Done()
			for e := range entries {
				// UnmarshalJSON validates as it decodes; json.Unmarshal
				// would validate the entry once more before calling it.
				var u freshservice.User
				if err := u.UnmarshalJSON(e.Data); err != nil {
					b.log.Warn().Int64("fs_id", e.ID).Err(err).Msg("skipping unreadable mirror entry")
					continue
				}
				b.dir.PutUser(&u)
				n.Add(1)
			}
		}()
	}
	desired := make(chan error, 1)
	go func() {
		desired <- b.store.ForEachUser(ctx, func(u store.User) error {
			b.dir.PutDesired(u)
			// Most users have neither gaps nor a downgrade: their applied
			// state is decoded only when it may hold one.
			if u.Deleted || !(bytes.Contains(u.Applied, []byte(`"gaps"`)) || bytes.Contains(u.Applied, []byte(`"downgraded"`))) {
				return nil
			}
			a := decodeApplied(u.Applied)
			if len(a.Gaps) > 0 {
				b.gaps.set(u.ID, u.UserName, a.Gaps)
			}
			if a.Downgraded != nil {
				b.downgrades.set(u.ID, u.UserName, a.Downgraded)
			}
			return nil
		})
	}()
	err := b.store.ForEachMirror(ctx, func(e store.MirrorEntry) error {
		select {
		case entries <- e:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(entries)
	decoders.Wait()
	derr := <-desired
	if err != nil {
		return fmt.Errorf("bridge: loading the mirror: %w", err)
	}
	if derr != nil {
		return fmt.Errorf("bridge: loading users: %w", derr)
	}
	if v, err := b.store.GetMeta(ctx, metaWalkedAt); err == nil {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			b.dir.SetWalkedAt(t)
		}
	}
	b.loaded.Store(true)
	b.log.Info().Int64("mirror_users", n.Load()).Msg("directory loaded from the store")
	return nil
}

// Loaded reports whether the directory has been loaded from the store.
func (b *Bridge) Loaded() bool { return b.loaded.Load() }

const metaWalkedAt = "mirror.walked_at"

// Catalog is what the bridge knows of the account besides users.
type Catalog struct {
	mapping.Catalog
	Roles           map[int64]string
	AgentGroups     map[int64]string
	RequesterGroups map[int64]*freshservice.RequesterGroup
	// RoleWorkspace and GroupWorkspace are the workspace of each role and
	// agent group (0: the account shows none); Workspaces those the key's
	// owner sees (none: an account without workspaces).
	RoleWorkspace  map[int64]int64
	GroupWorkspace map[int64]int64
	Workspaces     []mapping.Workspace
	// WorkspacesStatus is the HTTP status of the workspace list (200; 404
	// on accounts without the endpoint, 403 for a key that may not list
	// them; 0 when no answer came).
	WorkspacesStatus int
	LoadedAt         time.Time
}

// LoadCatalog reads roles, agent groups, requester groups, departments and
// locations: a handful of list calls.
func LoadCatalog(ctx context.Context, fs *freshservice.Client) (*Catalog, error) {
	c := &Catalog{
		Catalog:         mapping.Catalog{Departments: map[int64]string{}, Locations: map[int64]string{}},
		Roles:           map[int64]string{},
		AgentGroups:     map[int64]string{},
		RequesterGroups: map[int64]*freshservice.RequesterGroup{},
		RoleWorkspace:   map[int64]int64{},
		GroupWorkspace:  map[int64]int64{},
		LoadedAt:        time.Now(),
	}
	for r, err := range fs.Roles.All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("roles: %w", err)
		}
		c.Roles[r.ID] = r.Name
		c.RoleWorkspace[r.ID] = r.WorkspaceID
	}
	for g, err := range fs.Groups.All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("agent groups: %w", err)
		}
		c.AgentGroups[g.ID] = g.Name
		c.GroupWorkspace[g.ID] = g.WorkspaceID
	}
	// Accounts without workspaces may not answer the list: no workspaces.
	c.WorkspacesStatus = http.StatusOK
	for w, err := range fs.Workspaces.All(ctx) {
		if err != nil {
			c.Workspaces, c.WorkspacesStatus = nil, answerStatus(err)
			break
		}
		c.Workspaces = append(c.Workspaces, mapping.Workspace{ID: w.ID, Name: w.Name, Primary: w.Primary})
	}
	for g, err := range fs.RequesterGroups.All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("requester groups: %w", err)
		}
		c.RequesterGroups[g.ID] = g
	}
	for d, err := range fs.Departments.All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("departments: %w", err)
		}
		c.Departments[d.ID] = d.Name
	}
	for l, err := range fs.Locations.All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("locations: %w", err)
		}
		c.Locations[l.ID] = l.Name
	}
	return c, nil
}

// updateCatalog applies change to a copy of the current catalog and makes
// the copy current. Readers keep the snapshot they loaded; writers are
// serialised, so no entry another writer added is lost.
func (b *Bridge) updateCatalog(change func(c *Catalog)) {
	b.catMu.Lock()
	defer b.catMu.Unlock()
	c := b.catalog.Load().clone()
	change(c)
	b.catalog.Store(c)
}

// replaceCatalog makes a freshly read catalog current.
func (b *Bridge) replaceCatalog(c *Catalog) *Catalog {
	b.catMu.Lock()
	defer b.catMu.Unlock()
	return b.catalog.Swap(c)
}

// clone copies the catalog's maps, so a changed copy can replace it.
func (c *Catalog) clone() *Catalog {
	n := *c
	n.Departments, n.Locations = copyMap(c.Departments), copyMap(c.Locations)
	n.Roles, n.AgentGroups = copyMap(c.Roles), copyMap(c.AgentGroups)
	n.RequesterGroups = copyMap(c.RequesterGroups)
	n.RoleWorkspace, n.GroupWorkspace = copyMap(c.RoleWorkspace), copyMap(c.GroupWorkspace)
	return &n
}

// copyMap is maps.Clone that never returns nil, so the copy can be added to.
func copyMap[K comparable, V any](m map[K]V) map[K]V {
	n := make(map[K]V, len(m))
	maps.Copy(n, m)
	return n
}

// byName finds an id by name, ignoring case; the lowest id wins.
func byName(m map[int64]string, name string) (int64, bool) {
	var ids []int64
	for id, n := range m {
		if strings.EqualFold(strings.TrimSpace(n), strings.TrimSpace(name)) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return 0, false
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids[0], true
}

func names(m map[int64]string) []string {
	out := make([]string, 0, len(m))
	for _, n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Users returns the SCIM backend for /Users.
func (b *Bridge) Users() scim.Backend { return newUserBackend(b) }

// Groups returns the SCIM backend for /Groups.
func (b *Bridge) Groups() scim.Backend { return &groupBackend{bridge: b} }

// lock takes a store lock; names are "create:<userName or email>" (see
// lockCreate), "group:<scim id>", "user:<id>", "seats", "agentgroup:<fs
// id>". The order is always create, then group, then user, then seats,
// then agentgroup, so no two requests wait on each other in a circle.
func (b *Bridge) lock(ctx context.Context, key string) (func(), error) {
	unlock, err := b.store.Lock(ctx, key)
	if err != nil {
		return nil, scim.AsError(fmt.Errorf("waiting for %s: %w", key, err))
	}
	return unlock, nil
}

// logger is the logger for work done for ctx: the lines a SCIM request
// causes carry its request id (the edge puts a logger with it in the
// request's context); the background pass's lines come from the bridge's
// own logger.
func (b *Bridge) logger(ctx context.Context) *zerolog.Logger {
	return ctxLogger(ctx, &b.log)
}

// ctxLogger is the logger ctx carries, or own when it carries none.
func ctxLogger(ctx context.Context, own *zerolog.Logger) *zerolog.Logger {
	if l := zerolog.Ctx(ctx); l.GetLevel() != zerolog.Disabled {
		return l
	}
	return own
}
