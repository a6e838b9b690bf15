package postgres

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations[i] takes the schema from version i to version i+1 (version 0
// is an empty schema). Append to this list; never edit an entry that has
// shipped.
var migrations = []string{
	// 1: the first schema, the SQLite backend's in PostgreSQL types.
	`
CREATE TABLE scim_users (
	id            int8    PRIMARY KEY,   -- the Freshservice user id
	user_name     text    NOT NULL,
	user_name_key text    NOT NULL,      -- strings.ToLower(user_name)
	external_id   text    NOT NULL,
	doc           bytea,                 -- opaque JSON, NULL when empty
	deleted       boolean NOT NULL,
	version       int8    NOT NULL,
	created       int8,                  -- Unix nanoseconds UTC, NULL for the zero time
	modified      int8,
	applied       bytea,
	dirty         boolean NOT NULL,
	attempts      int8    NOT NULL,
	last_error    text    NOT NULL,
	next_attempt  int8
);
-- userName is unique among users that are not Deleted.
CREATE UNIQUE INDEX scim_users_user_name ON scim_users (user_name_key) WHERE NOT deleted;
CREATE INDEX scim_users_dirty ON scim_users (next_attempt NULLS FIRST, id) WHERE dirty;

CREATE TABLE scim_groups (
	id               text COLLATE "C" PRIMARY KEY,
	display_name     text    NOT NULL,
	display_name_key text    NOT NULL,   -- strings.ToLower(display_name)
	external_id      text    NOT NULL,
	doc              bytea,
	fs_id            int8    NOT NULL,
	version          int8    NOT NULL,
	created          int8,
	modified         int8,
	applied          bytea,
	dirty            boolean NOT NULL,
	attempts         int8    NOT NULL,
	last_error       text    NOT NULL,
	next_attempt     int8
);
CREATE UNIQUE INDEX scim_groups_display_name ON scim_groups (display_name_key);
CREATE INDEX scim_groups_dirty ON scim_groups (next_attempt NULLS FIRST, id) WHERE dirty;

-- user_id is a Freshservice user id, not necessarily a row of scim_users.
CREATE TABLE group_members (
	group_id text COLLATE "C" NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
	user_id  int8 NOT NULL,
	PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id, group_id);

CREATE TABLE intents (
	key      text COLLATE "C" PRIMARY KEY,
	doc      bytea,
	created  int8,
	attempts int8 NOT NULL
);
CREATE INDEX intents_created ON intents (created NULLS FIRST, key);

CREATE TABLE mirror (
	id   int8 PRIMARY KEY,
	data bytea
);

CREATE TABLE audit (
	id         int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- never reused
	time       int8 NOT NULL,
	request_id text NOT NULL,
	client     text NOT NULL,
	operation  text COLLATE "C" NOT NULL, -- "C": prefix queries are byte ranges
	scim_id    text NOT NULL,
	fs_id      int8 NOT NULL,
	outcome    text NOT NULL,
	detail     text NOT NULL
);
CREATE INDEX audit_time ON audit (time, id);
CREATE INDEX audit_scim_id ON audit (scim_id, time);
CREATE INDEX audit_fs_id ON audit (fs_id, time);

CREATE TABLE meta (
	key   text COLLATE "C" PRIMARY KEY,
	value text NOT NULL
);
`,
	// 2: retry bookkeeping of creates in flight, so the background pass
	// backs off between tries and gives up in the end.
	`
ALTER TABLE intents
	ADD COLUMN next_attempt int8,                     -- NULL: at once
	ADD COLUMN last_error   text NOT NULL DEFAULT '',
	ADD COLUMN failed       int8;                     -- NULL: still tried
`,
	// 3: a failure as data (DESIGN D11): the audit trail keeps the call,
	// the kind, Freshservice's status and the field and code it named as
	// columns, so the status page reads them instead of the detail's
	// words. Events written before keep their detail only.
	`
ALTER TABLE audit
	ADD COLUMN fs_call      text NOT NULL DEFAULT '', -- "PUT /api/v2/requesters/42"
	ADD COLUMN kind         text NOT NULL DEFAULT '', -- internal/fault's Kind
	ADD COLUMN fs_status    int4 NOT NULL DEFAULT 0,  -- 0: no answer, or the bridge's own refusal
	ADD COLUMN code         text NOT NULL DEFAULT '',
	ADD COLUMN field        text NOT NULL DEFAULT '',
	ADD COLUMN field_errors bytea;                    -- JSON [{"field","code"}], NULL when at most one
`,
}

// SchemaVersion is the schema version this package writes: the number of
// migrations (a test keeps the two in step).
const SchemaVersion = 3

// migrationLockClass is the first key of the two-key advisory lock that
// serialises migrations; the second is a hash of the schema's name. The
// two-key space does not overlap the one-key space of Store.Lock.
const migrationLockClass = 0x66736272 // "fsbr"

// versionTable records the migrations applied, one row each.
const versionTable = `fsbridge_schema_version`

// migrate brings the current schema of the search_path to SchemaVersion in
// one transaction and returns the schema's name.
func migrate(ctx context.Context, db *pgxpool.Pool) (string, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // after a commit, a no-op

	var schema *string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	if schema == nil {
		return "", fmt.Errorf("migrate: no schema of the search_path exists (create it, or fix search_path in the DSN)")
	}
	// Replicas starting together wait here for the first to finish; the
	// lock ends with the transaction, however it ends.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`,
		int32(migrationLockClass), hash32(*schema)); err != nil {
		return "", fmt.Errorf("migrate: lock: %w", err)
	}
	var exists bool
	// to_regclass, not CREATE TABLE IF NOT EXISTS: a role without the CREATE
	// privilege can still open a schema that is up to date.
	if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, versionTable).Scan(&exists); err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	if !exists {
		if _, err := tx.Exec(ctx, `CREATE TABLE `+versionTable+` (
			version int4 PRIMARY KEY,
			applied int8 NOT NULL -- Unix nanoseconds UTC
		)`); err != nil {
			return "", fmt.Errorf("migrate: create %s: %w", versionTable, err)
		}
	}
	var v int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+versionTable).Scan(&v); err != nil {
		return "", fmt.Errorf("migrate: read schema version: %w", err)
	}
	if v > len(migrations) {
		return "", fmt.Errorf("migrate: schema %q is at version %d, newer than this fsbridge knows (%d)",
			*schema, v, len(migrations))
	}
	if v == len(migrations) {
		return *schema, nil // the deferred rollback ends the read-only transaction
	}
	for i := v; i < len(migrations); i++ {
		if err := apply(ctx, tx, i+1, migrations[i]); err != nil {
			return "", err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return "", fmt.Errorf("migrate: commit: %w", err)
	}
	return *schema, nil
}

// apply runs one migration's statements and records its version.
func apply(ctx context.Context, tx pgx.Tx, version int, sql string) error {
	// Without arguments, pgx sends the text with the simple protocol, which
	// runs several statements.
	if _, err := tx.Exec(ctx, sql); err != nil {
		return fmt.Errorf("migrate: to schema version %d: %w", version, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+versionTable+` (version, applied) VALUES ($1, $2)`,
		version, now().UnixNano()); err != nil {
		return fmt.Errorf("migrate: record schema version %d: %w", version, err)
	}
	return nil
}

// hash32 is a 32-bit FNV-1a hash of s, as an advisory lock key.
func hash32(s string) int32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int32(h.Sum32())
}
