package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fsbridge/fsbridge/internal/store"
)

// intentColumns are the columns scanIntent reads, in its order.
const intentColumns = `key, doc, created, attempts, next_attempt, last_error, failed`

// PutIntent stores or replaces the intent with in.Key, every field
// included. A zero Created is set to now.
func (s *Store) PutIntent(ctx context.Context, in store.Intent) error {
	if in.Created.IsZero() {
		in.Created = now()
	}
	args, err := intentArgs(in)
	if err != nil {
		return fmt.Errorf("store/postgres: PutIntent: %w", err)
	}
	_, err = s.db.Exec(ctx, `INSERT INTO intents (`+intentColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (key) DO UPDATE SET doc = excluded.doc, created = excluded.created, attempts = excluded.attempts,
		next_attempt = excluded.next_attempt, last_error = excluded.last_error, failed = excluded.failed`, args...)
	if err != nil {
		return fmt.Errorf("store/postgres: PutIntent: %w", err)
	}
	return nil
}

// intentArgs are in's values for intentColumns.
func intentArgs(in store.Intent) ([]any, error) {
	var times [3]any
	for i, f := range []struct {
		name string
		t    time.Time
	}{{"Created", in.Created}, {"NextAttempt", in.NextAttempt}, {"Failed", in.Failed}} {
		v, err := timeArg(f.t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		times[i] = v
	}
	return []any{in.Key, jsonArg(in.Doc), times[0], in.Attempts, times[1], in.LastError, times[2]}, nil
}

// UpdateIntent runs fn on the stored intent in one transaction, the row
// locked against other replicas (see store.Store).
func (s *Store) UpdateIntent(ctx context.Context, key string, fn func(*store.Intent) error) (store.Intent, error) {
	op := fmt.Sprintf("store/postgres: UpdateIntent %q", key)
	var out store.Intent
	err := s.inTx(ctx, op, func(tx pgx.Tx) error {
		old, err := scanIntent(tx.QueryRow(ctx, `SELECT `+intentColumns+` FROM intents WHERE key = $1 FOR UPDATE`, key))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s: %w", op, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		in := old
		in.Doc = bytes.Clone(old.Doc)
		if err := fn(&in); err != nil {
			return err // as is
		}
		in = in.Normalized()
		in.Key = old.Key
		args, err := intentArgs(in)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE intents SET doc = $2, created = $3, attempts = $4, next_attempt = $5,
			last_error = $6, failed = $7 WHERE key = $1`, args...); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		out = in
		return nil
	})
	if err != nil {
		return store.Intent{}, err
	}
	return out, nil
}

func scanIntent(row pgx.Row) (store.Intent, error) {
	var (
		in                    store.Intent
		doc                   []byte
		created, next, failed *int64
	)
	if err := row.Scan(&in.Key, &doc, &created, &in.Attempts, &next, &in.LastError, &failed); err != nil {
		return store.Intent{}, err
	}
	in.Doc, in.Created, in.NextAttempt, in.Failed = jsonOf(doc), timeOf(created), timeOf(next), timeOf(failed)
	return in, nil
}

// GetIntent returns the intent with that key, or store.ErrNotFound.
func (s *Store) GetIntent(ctx context.Context, key string) (store.Intent, error) {
	in, err := scanIntent(s.db.QueryRow(ctx, `SELECT `+intentColumns+` FROM intents WHERE key = $1`, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Intent{}, fmt.Errorf("store/postgres: GetIntent: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Intent{}, fmt.Errorf("store/postgres: GetIntent: %w", err)
	}
	return in, nil
}

// DeleteIntent removes the intent; absent is not an error.
func (s *Store) DeleteIntent(ctx context.Context, key string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM intents WHERE key = $1`, key); err != nil {
		return fmt.Errorf("store/postgres: DeleteIntent: %w", err)
	}
	return nil
}

// ListIntents returns every intent, oldest Created first, ties by key.
func (s *Store) ListIntents(ctx context.Context) ([]store.Intent, error) {
	rows, err := s.db.Query(ctx, `SELECT `+intentColumns+` FROM intents ORDER BY created NULLS FIRST, key`)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: ListIntents: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Intent, error) { return scanIntent(row) })
	if err != nil {
		return nil, fmt.Errorf("store/postgres: ListIntents: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// PutMirror stores or replaces entries in one statement (so one
// transaction): the entries travel as two arrays and are upserted from
// unnest, one round trip for a whole batch (as fast as COPY into a temporary
// table, measured, without its catalog churn). When an id repeats, the last
// entry wins, as if they were stored one by one. An entry equal to the
// stored one is not rewritten: most of a directory walk is unchanged, and
// skipping those rows saves their new row versions, index entries and WAL.
func (s *Store) PutMirror(ctx context.Context, entries []store.MirrorEntry) error {
	if len(entries) == 0 {
		return ctx.Err()
	}
	// An upsert may not touch one row twice, so drop all but the last entry
	// of each id.
	last := make(map[int64]int, len(entries))
	for i, e := range entries {
		last[e.ID] = i
	}
	ids := make([]int64, 0, len(last))
	data := make([][]byte, 0, len(last))
	for i, e := range entries {
		if last[e.ID] == i {
			ids = append(ids, e.ID)
			data = append(data, jsonArg(e.Data))
		}
	}
	_, err := s.db.Exec(ctx, `INSERT INTO mirror (id, data)
		SELECT * FROM unnest($1::int8[], $2::bytea[])
		ON CONFLICT (id) DO UPDATE SET data = excluded.data
		WHERE mirror.data IS DISTINCT FROM excluded.data`, ids, data)
	if err != nil {
		return fmt.Errorf("store/postgres: PutMirror: %w", err)
	}
	return nil
}

// DeleteMirror removes the entries with those ids in one statement; absent
// ids are ignored.
func (s *Store) DeleteMirror(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return ctx.Err()
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM mirror WHERE id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("store/postgres: DeleteMirror: %w", err)
	}
	return nil
}

// GetMirror returns the mirror entry with that id, or store.ErrNotFound.
func (s *Store) GetMirror(ctx context.Context, id int64) (store.MirrorEntry, error) {
	var data []byte
	err := s.db.QueryRow(ctx, `SELECT data FROM mirror WHERE id = $1`, id).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.MirrorEntry{}, fmt.Errorf("store/postgres: GetMirror %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.MirrorEntry{}, fmt.Errorf("store/postgres: GetMirror %d: %w", id, err)
	}
	return store.MirrorEntry{ID: id, Data: jsonOf(data)}, nil
}

// ForEachMirror streams every entry in id order to fn, row by row from one
// snapshot, stopping at fn's first error, which it returns as is. Each
// entry's Data is fn's own to keep.
func (s *Store) ForEachMirror(ctx context.Context, fn func(store.MirrorEntry) error) error {
	return forEach(ctx, s, "store/postgres: ForEachMirror", `SELECT id, data FROM mirror ORDER BY id`,
		func(row pgx.Row) (store.MirrorEntry, error) {
			var e store.MirrorEntry
			var data []byte // pgx copies into a fresh slice
			if err := row.Scan(&e.ID, &data); err != nil {
				return store.MirrorEntry{}, err
			}
			e.Data = jsonOf(data)
			return e, nil
		}, fn)
}

// AppendAudit stores e and returns it with its ID, and a zero Time set to
// now. IDs come from an identity column: increasing, never reused.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEvent) (store.AuditEvent, error) {
	if e.Time.IsZero() {
		e.Time = now()
	}
	e = e.Normalized()
	t, err := timeArg(e.Time)
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("store/postgres: AppendAudit: Time: %w", err)
	}
	fields, err := store.MarshalAuditFields(e.Fields)
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("store/postgres: AppendAudit: Fields: %w", err)
	}
	err = s.db.QueryRow(ctx, `INSERT INTO audit
		(time, request_id, client, operation, scim_id, fs_id, outcome, detail,
		 fs_call, kind, fs_status, code, field, field_errors)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		t, e.RequestID, e.Client, e.Operation, e.SCIMID, e.FSID, e.Outcome, e.Detail,
		e.Call, e.Kind, int32(e.Status), e.Code, e.Field, jsonArg(fields)).Scan(&e.ID)
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("store/postgres: AppendAudit: %w", err)
	}
	return e, nil
}

// defaultAuditLimit is AuditQuery.Limit when it is zero (or negative).
const defaultAuditLimit = 100

// ListAudit returns the events matching q, newest Time first, ties newest ID
// first. Since is inclusive and Until exclusive. An Operation ending in "."
// is a prefix; any other is matched exactly.
func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, a ...any) {
		for _, v := range a {
			args = append(args, v)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		where = append(where, cond)
	}
	if !q.Since.IsZero() {
		add("time >= ?", boundArg(q.Since))
	}
	if !q.Until.IsZero() {
		add("time < ?", boundArg(q.Until))
	}
	if q.Outcome != "" {
		add("outcome = ?", q.Outcome)
	}
	if q.Client != "" {
		add("client = ?", q.Client)
	}
	if op := q.Operation; strings.HasSuffix(op, ".") {
		// Strings starting with "user." sort from "user." up to, not
		// including, "user/" ('/' follows '.') in the column's "C"
		// collation. Not LIKE: '_' and '%' in op would be wildcards.
		add("operation >= ? AND operation < ?", op, op[:len(op)-1]+"/")
	} else if op != "" {
		add("operation = ?", op)
	}
	if q.SCIMID != "" {
		add("scim_id = ?", q.SCIMID)
	}
	if q.FSID != 0 {
		add("fs_id = ?", q.FSID)
	}
	if q.RequestID != "" {
		add("request_id = ?", q.RequestID)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	query := `SELECT id, time, request_id, client, operation, scim_id, fs_id, outcome, detail,
		fs_call, kind, fs_status, code, field, field_errors FROM audit`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	query += " ORDER BY time DESC, id DESC LIMIT $" + strconv.Itoa(len(args))
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: ListAudit: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.AuditEvent, error) {
		var e store.AuditEvent
		var t int64
		var status int32
		var fields []byte
		if err := row.Scan(&e.ID, &t, &e.RequestID, &e.Client, &e.Operation, &e.SCIMID, &e.FSID, &e.Outcome, &e.Detail,
			&e.Call, &e.Kind, &status, &e.Code, &e.Field, &fields); err != nil {
			return e, err
		}
		e.Time, e.Status = timeOf(&t), int(status)
		var err error
		if e.Fields, err = store.UnmarshalAuditFields(fields); err != nil {
			return e, fmt.Errorf("event %d: %w", e.ID, err)
		}
		return e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store/postgres: ListAudit: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// GetMeta returns the value named key, or store.ErrNotFound.
func (s *Store) GetMeta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRow(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("store/postgres: GetMeta %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store/postgres: GetMeta %q: %w", key, err)
	}
	return v, nil
}

// SetMeta stores value under key, replacing any earlier value.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("store/postgres: SetMeta %q: %w", key, err)
	}
	return nil
}
