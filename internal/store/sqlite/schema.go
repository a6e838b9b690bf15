package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[i] takes the schema from version i to version i+1. The schema
// version is kept in PRAGMA user_version (0 in a new file). Append to this
// list; never edit an entry that has shipped.
var migrations = []string{
	// 1: the first schema.
	`
CREATE TABLE scim_users (
	id            INTEGER PRIMARY KEY,  -- the Freshservice user id
	user_name     TEXT    NOT NULL,
	user_name_key TEXT    NOT NULL,     -- strings.ToLower(user_name)
	external_id   TEXT    NOT NULL,
	doc           TEXT,                 -- opaque JSON, NULL when empty
	deleted       INTEGER NOT NULL,
	version       INTEGER NOT NULL,
	created       INTEGER,              -- Unix nanoseconds UTC, NULL for the zero time
	modified      INTEGER,
	applied       TEXT,
	dirty         INTEGER NOT NULL,
	attempts      INTEGER NOT NULL,
	last_error    TEXT    NOT NULL,
	next_attempt  INTEGER
);
-- userName is unique among users that are not Deleted.
CREATE UNIQUE INDEX scim_users_user_name ON scim_users (user_name_key) WHERE deleted = 0;
CREATE INDEX scim_users_dirty ON scim_users (next_attempt, id) WHERE dirty = 1;

CREATE TABLE scim_groups (
	id               TEXT    PRIMARY KEY,
	display_name     TEXT    NOT NULL,
	display_name_key TEXT    NOT NULL UNIQUE, -- strings.ToLower(display_name)
	external_id      TEXT    NOT NULL,
	doc              TEXT,
	fs_id            INTEGER NOT NULL,
	version          INTEGER NOT NULL,
	created          INTEGER,
	modified         INTEGER,
	applied          TEXT,
	dirty            INTEGER NOT NULL,
	attempts         INTEGER NOT NULL,
	last_error       TEXT    NOT NULL,
	next_attempt     INTEGER
);
CREATE INDEX scim_groups_dirty ON scim_groups (next_attempt, id) WHERE dirty = 1;

-- user_id is a Freshservice user id, not necessarily a row of scim_users.
CREATE TABLE group_members (
	group_id TEXT    NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
	user_id  INTEGER NOT NULL,
	PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (user_id, group_id);

CREATE TABLE intents (
	key      TEXT    PRIMARY KEY,
	doc      TEXT,
	created  INTEGER,
	attempts INTEGER NOT NULL
);
CREATE INDEX intents_created ON intents (created, key);

CREATE TABLE mirror (
	id   INTEGER PRIMARY KEY,
	data TEXT
);

CREATE TABLE audit (
	id         INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused, even after pruning
	time       INTEGER NOT NULL,
	request_id TEXT    NOT NULL,
	client     TEXT    NOT NULL,
	operation  TEXT    NOT NULL,
	scim_id    TEXT    NOT NULL,
	fs_id      INTEGER NOT NULL,
	outcome    TEXT    NOT NULL,
	detail     TEXT    NOT NULL
);
CREATE INDEX audit_time ON audit (time);
CREATE INDEX audit_scim_id ON audit (scim_id, time);
CREATE INDEX audit_fs_id ON audit (fs_id, time);

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
`,
	// 2: retry bookkeeping of creates in flight, so the background pass
	// backs off between tries and gives up in the end.
	`
ALTER TABLE intents ADD COLUMN next_attempt INTEGER;             -- NULL: at once
ALTER TABLE intents ADD COLUMN last_error   TEXT NOT NULL DEFAULT '';
ALTER TABLE intents ADD COLUMN failed       INTEGER;             -- NULL: still tried
`,
	// 3: a failure as data (DESIGN D11): the audit trail keeps the call,
	// the kind, Freshservice's status and the field and code it named as
	// columns, so the status page reads them instead of the detail's
	// words. Events written before keep their detail only.
	`
ALTER TABLE audit ADD COLUMN fs_call      TEXT    NOT NULL DEFAULT ''; -- "PUT /api/v2/requesters/42"
ALTER TABLE audit ADD COLUMN kind         TEXT    NOT NULL DEFAULT ''; -- internal/fault's Kind
ALTER TABLE audit ADD COLUMN fs_status    INTEGER NOT NULL DEFAULT 0;  -- 0: no answer, or the bridge's own refusal
ALTER TABLE audit ADD COLUMN code         TEXT    NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN field        TEXT    NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN field_errors TEXT;                        -- JSON [{"field","code"}], NULL when at most one
`,
}

// SchemaVersion is the schema version this package writes: the number of
// migrations (a test keeps the two in step).
const SchemaVersion = 3

// migrate brings the database to SchemaVersion in one transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil) // IMMEDIATE: two processes opening a new file do not both migrate
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("migrate: schema version %d is newer than this fsbridge knows (%d)", v, len(migrations))
	}
	if v == len(migrations) {
		return nil
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate: to schema version %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("migrate: set schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}
