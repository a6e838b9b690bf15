// Package store is fsbridge's durable state behind one interface (DESIGN
// D3): what the IdP asked for (desired state of users and groups, including
// attributes Freshservice cannot hold), what the bridge last applied, the
// creates in flight, the snapshot of the Freshservice directory mirror, the
// audit trail, and the locks that serialise writes to one user or group.
//
// SQLite (pure Go, no cgo) is the default backend; PostgreSQL serves
// several replicas, with its locks in the database. Both pass the same
// conformance suite (package storetest).
//
// The store knows nothing of SCIM or Freshservice beyond ids: documents are
// opaque JSON.
package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Sentinel errors; match with errors.Is.
var (
	// ErrNotFound: no record with that key.
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyExists: a record with that key, or a unique value such as a
	// user's userName or a group's displayName, already exists.
	ErrAlreadyExists = errors.New("store: already exists")
)

// User is the desired state of one user, keyed by its Freshservice id
// (which is also its SCIM id, DESIGN D1).
type User struct {
	ID int64
	// UserName is the SCIM userName as the IdP sent it. It is unique among
	// users that are not Deleted, compared case-insensitively.
	UserName   string
	ExternalID string
	// Doc is the SCIM resource the IdP last had accepted, without id, meta,
	// groups and password.
	Doc json.RawMessage
	// Deleted is set by a SCIM DELETE: the user reads as 404 until a POST
	// with its userName brings it back.
	Deleted bool
	// Version increases on every change to Doc or Deleted (the ETag).
	Version  int64
	Created  time.Time
	Modified time.Time
	// Applied is what the bridge last applied to Freshservice for this user
	// (opaque to the store).
	Applied json.RawMessage
	// Dirty means the desired state is not known to be fully applied; the
	// background pass re-runs the plan of dirty users.
	Dirty     bool
	Attempts  int
	LastError string
	// NextAttempt is when the background pass may try again.
	NextAttempt time.Time
}

// Group is the desired state of one SCIM group.
type Group struct {
	// ID is the SCIM id, assigned by the bridge.
	ID string
	// DisplayName is unique among groups, compared case-insensitively.
	DisplayName string
	ExternalID  string
	// Doc holds the group's other SCIM attributes.
	Doc json.RawMessage
	// FSID is the Freshservice requester group or agent group behind this
	// group; 0 for role groups and for groups whose object is not created yet.
	FSID int64
	// Members are Freshservice user ids, without duplicates, ascending.
	Members     []int64
	Version     int64
	Created     time.Time
	Modified    time.Time
	Applied     json.RawMessage
	Dirty       bool
	Attempts    int
	LastError   string
	NextAttempt time.Time
}

// Intent records a user create in flight, before Freshservice has given the
// user an id. If the bridge dies between the create and saving the user, the
// intent says the user Freshservice now holds under that email is ours.
type Intent struct {
	// Key is the lower-cased email the create used.
	Key     string
	Doc     json.RawMessage
	Created time.Time
	// Attempts counts the background pass's tries to settle the create;
	// NextAttempt is when it may try again (zero: at once), and LastError
	// says why the last try failed.
	Attempts    int
	NextAttempt time.Time
	LastError   string
	// Failed is when the background pass gave up on the create; zero while
	// it still tries. A failed intent is kept for a while, so the status
	// page can show it and a later POST of the email still knows it as the
	// bridge's own.
	Failed time.Time
}

// MirrorEntry is one Freshservice user as the directory mirror last saw it,
// as opaque JSON.
type MirrorEntry struct {
	ID   int64
	Data json.RawMessage
}

// AuditEvent records one change the bridge made (or planned, in dry-run)
// in Freshservice.
type AuditEvent struct {
	ID        int64 // assigned by the store, increasing
	Time      time.Time
	RequestID string
	Client    string // the IdP client (token name)
	Operation string // e.g. "user.create", "user.promote", "group.add_members"
	SCIMID    string // SCIM id of the user or group, if any
	FSID      int64  // Freshservice user or group id, if any
	Outcome   string // "ok", "error", "planned"
	Detail    string // what was done, or why it failed

	// Call is the Freshservice call the event made or tried, with its
	// real path ("PUT /api/v2/requesters/42"), when it was one call.
	Call string `json:",omitempty"`
	// A failure as data (DESIGN D11), so that nothing reads it back out
	// of Detail: its kind (as internal/fault spells it: "invalid",
	// "no_seat", "transient"...), Freshservice's HTTP status (0 when it
	// did not answer, or the refusal was the bridge's own), and the first
	// field and code named (Freshservice's, or the bridge's own, such as
	// the field rules.max_agents). Fields lists every field error when
	// Freshservice named more than one. All zero on a success, and on
	// events written before schema 3, which have their Detail only.
	Kind   string       `json:",omitempty"`
	Status int          `json:",omitempty"`
	Code   string       `json:",omitempty"`
	Field  string       `json:",omitempty"`
	Fields []AuditField `json:",omitempty"`
}

// AuditField is one field error of a failure: the field (empty for a code
// that names none) and its code. Freshservice's message is never kept.
type AuditField struct {
	Field string `json:"field,omitempty"`
	Code  string `json:"code"`
}

// AuditQuery filters ListAudit. Zero fields match everything.
type AuditQuery struct {
	Since, Until time.Time
	Outcome      string
	Client       string
	Operation    string // exact, or a prefix ending in "." such as "user."
	SCIMID       string
	FSID         int64
	RequestID    string
	// Limit caps the result (0 = 100); events are returned newest first.
	Limit int
}

// Store is fsbridge's durable state. Every method is safe for concurrent use
// and honours ctx.
type Store interface {
	// CreateUser inserts u. It fails with ErrAlreadyExists if the id exists
	// or if another user that is not Deleted has the same userName
	// (case-insensitive). Version is set to 1, Created and Modified to now
	// when zero. It returns the stored user.
	CreateUser(ctx context.Context, u User) (User, error)
	// GetUser returns the user with that id, Deleted or not, or ErrNotFound.
	GetUser(ctx context.Context, id int64) (User, error)
	// GetUserByUserName returns the user that is not Deleted with that
	// userName (case-insensitive), or ErrNotFound.
	GetUserByUserName(ctx context.Context, userName string) (User, error)
	// UpdateUser runs fn on the current record in a transaction and stores
	// what fn leaves. If fn returns an error nothing is stored and the
	// error is returned as is. Version increases (and Modified is set) when
	// Doc, UserName, ExternalID or Deleted changed. It fails with
	// ErrNotFound if there is no such user, and with ErrAlreadyExists if the
	// new userName clashes as in CreateUser.
	UpdateUser(ctx context.Context, id int64, fn func(*User) error) (User, error)
	// DeleteUser removes the record for good (ErrNotFound if absent).
	DeleteUser(ctx context.Context, id int64) error
	// ForEachUser calls fn for every user, in id order, stopping at the
	// first error, which it returns.
	ForEachUser(ctx context.Context, fn func(User) error) error
	// DirtyUsers returns the ids of Dirty users whose NextAttempt is not
	// after now, oldest NextAttempt first, at most limit.
	DirtyUsers(ctx context.Context, now time.Time, limit int) ([]int64, error)
	// CountDirtyUsers returns how many users are Dirty, due or not.
	CountDirtyUsers(ctx context.Context) (int, error)

	// CreateGroup inserts g; ErrAlreadyExists if the id exists or another
	// group has the same displayName (case-insensitive). Members are stored
	// sorted and de-duplicated.
	CreateGroup(ctx context.Context, g Group) (Group, error)
	// GetGroup returns the group or ErrNotFound.
	GetGroup(ctx context.Context, id string) (Group, error)
	// GetGroupByDisplayName returns the group with that displayName
	// (case-insensitive) or ErrNotFound.
	GetGroupByDisplayName(ctx context.Context, name string) (Group, error)
	// UpdateGroup is UpdateUser for groups; Version increases when Doc,
	// DisplayName, ExternalID or Members changed.
	UpdateGroup(ctx context.Context, id string, fn func(*Group) error) (Group, error)
	// DeleteGroup removes the group and its memberships (ErrNotFound if absent).
	DeleteGroup(ctx context.Context, id string) error
	// ForEachGroup calls fn for every group, in id order.
	ForEachGroup(ctx context.Context, fn func(Group) error) error
	// GroupsOf returns the ids of the groups that have userID as a member,
	// ascending.
	GroupsOf(ctx context.Context, userID int64) ([]string, error)
	// DirtyGroups is DirtyUsers for groups.
	DirtyGroups(ctx context.Context, now time.Time, limit int) ([]string, error)

	// PutIntent stores or replaces the intent with that key, every field
	// included (a create the IdP sends again starts its retries afresh).
	PutIntent(ctx context.Context, in Intent) error
	// UpdateIntent runs fn on the stored intent in a transaction and stores
	// what fn leaves; fn's change to Key is ignored. If fn returns an error
	// nothing is stored and the error is returned as is. It fails with
	// ErrNotFound if there is no such intent (it was settled meanwhile),
	// so a retry's bookkeeping never brings a settled intent back.
	UpdateIntent(ctx context.Context, key string, fn func(*Intent) error) (Intent, error)
	// GetIntent returns the intent or ErrNotFound.
	GetIntent(ctx context.Context, key string) (Intent, error)
	// DeleteIntent removes the intent; absent is not an error.
	DeleteIntent(ctx context.Context, key string) error
	// ListIntents returns every intent, oldest first.
	ListIntents(ctx context.Context) ([]Intent, error)

	// PutMirror stores or replaces the given mirror entries in one
	// transaction.
	PutMirror(ctx context.Context, entries []MirrorEntry) error
	// DeleteMirror removes entries; absent ids are ignored.
	DeleteMirror(ctx context.Context, ids []int64) error
	// ForEachMirror calls fn for every entry, in id order.
	ForEachMirror(ctx context.Context, fn func(MirrorEntry) error) error
	// GetMirror returns one entry, or ErrNotFound. Replicas read what
	// another one wrote through, under the user's lock, before planning.
	GetMirror(ctx context.Context, id int64) (MirrorEntry, error)

	// AppendAudit stores the event and returns it with its ID set (and Time
	// set to now when zero), Normalized.
	AppendAudit(ctx context.Context, e AuditEvent) (AuditEvent, error)
	// ListAudit returns matching events, newest first.
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, error)

	// GetMeta returns a small named value, or ErrNotFound.
	GetMeta(ctx context.Context, key string) (string, error)
	// SetMeta stores a small named value.
	SetMeta(ctx context.Context, key, value string) error

	// Lock takes the exclusive lock named key, waiting until it is free or
	// ctx ends (then it returns ctx's error). The returned function releases
	// it and must be called exactly once. With several replicas on one
	// database the lock holds across all of them.
	Lock(ctx context.Context, key string) (unlock func(), err error)

	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// Normalized is u as a store hands it back: empty documents nil, times in
// UTC (zero stays zero). Drivers return it from writes, so a caller sees
// the same record whether it wrote or read it.
func (u User) Normalized() User {
	u.Doc, u.Applied = nilIfEmpty(u.Doc), nilIfEmpty(u.Applied)
	u.Created, u.Modified, u.NextAttempt = utc(u.Created), utc(u.Modified), utc(u.NextAttempt)
	return u
}

// Normalized is g as a store hands it back: as User.Normalized, with the
// members sorted and without repeats (nil when none).
func (g Group) Normalized() Group {
	g.Doc, g.Applied = nilIfEmpty(g.Doc), nilIfEmpty(g.Applied)
	g.Created, g.Modified, g.NextAttempt = utc(g.Created), utc(g.Modified), utc(g.NextAttempt)
	if len(g.Members) == 0 {
		g.Members = nil
	} else {
		g.Members = slices.Compact(slices.Sorted(slices.Values(g.Members)))
	}
	return g
}

// Normalized is in as a store hands it back: an empty document nil, times
// in UTC (zero stays zero).
func (in Intent) Normalized() Intent {
	in.Doc = nilIfEmpty(in.Doc)
	in.Created, in.NextAttempt, in.Failed = utc(in.Created), utc(in.NextAttempt), utc(in.Failed)
	return in
}

// Normalized is e as a store hands it back: Time in UTC, Fields nil when
// empty.
func (e AuditEvent) Normalized() AuditEvent {
	e.Time = utc(e.Time)
	if len(e.Fields) == 0 {
		e.Fields = nil
	}
	return e
}

// MarshalAuditFields is how a driver keeps AuditEvent.Fields in one
// column: JSON, or nil (NULL) when there are none.
func MarshalAuditFields(fs []AuditField) ([]byte, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	return json.Marshal(fs)
}

// UnmarshalAuditFields reads back what MarshalAuditFields wrote; NULL or
// empty is nil.
func UnmarshalAuditFields(b []byte) ([]AuditField, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var fs []AuditField
	if err := json.Unmarshal(b, &fs); err != nil {
		return nil, fmt.Errorf("audit fields: %w", err)
	}
	if len(fs) == 0 {
		return nil, nil
	}
	return fs, nil
}

// UserVersionChanged reports a change to the fields that make a user's
// ETag (its Version). Documents compare byte for byte: stores keep them
// verbatim.
func UserVersionChanged(a, b User) bool {
	return !bytes.Equal(a.Doc, b.Doc) || a.UserName != b.UserName || a.ExternalID != b.ExternalID ||
		a.Deleted != b.Deleted
}

// GroupVersionChanged reports a change to the fields that make a group's
// ETag (its Version); members compare as Normalized leaves them.
func GroupVersionChanged(a, b Group) bool {
	return !bytes.Equal(a.Doc, b.Doc) || a.DisplayName != b.DisplayName || a.ExternalID != b.ExternalID ||
		!slices.Equal(a.Members, b.Members)
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
