package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

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
		return fmt.Errorf("store/sqlite: PutIntent: %w", err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO intents (`+intentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET doc = excluded.doc, created = excluded.created, attempts = excluded.attempts,
		next_attempt = excluded.next_attempt, last_error = excluded.last_error, failed = excluded.failed`, args...)
	if err != nil {
		return fmt.Errorf("store/sqlite: PutIntent: %w", err)
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

// UpdateIntent runs fn on the stored intent in one transaction (see
// store.Store).
func (s *Store) UpdateIntent(ctx context.Context, key string, fn func(*store.Intent) error) (store.Intent, error) {
	op := fmt.Sprintf("store/sqlite: UpdateIntent %q", key)
	var out store.Intent
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		old, err := scanIntent(tx.QueryRowContext(ctx, `SELECT `+intentColumns+` FROM intents WHERE key = ?`, key))
		if errors.Is(err, sql.ErrNoRows) {
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
		if _, err := tx.ExecContext(ctx, `UPDATE intents SET doc = ?, created = ?, attempts = ?, next_attempt = ?,
			last_error = ?, failed = ? WHERE key = ?`, append(args[1:], in.Key)...); err != nil {
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

func scanIntent(sc scanner) (store.Intent, error) {
	var (
		in                    store.Intent
		doc                   []byte
		created, next, failed sql.NullInt64
	)
	if err := sc.Scan(&in.Key, &doc, &created, &in.Attempts, &next, &in.LastError, &failed); err != nil {
		return store.Intent{}, err
	}
	in.Doc, in.Created, in.NextAttempt, in.Failed = jsonOf(doc), timeOf(created), timeOf(next), timeOf(failed)
	return in, nil
}

// GetIntent returns the intent with that key, or store.ErrNotFound.
func (s *Store) GetIntent(ctx context.Context, key string) (store.Intent, error) {
	in, err := scanIntent(s.r.QueryRowContext(ctx, `SELECT `+intentColumns+` FROM intents WHERE key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Intent{}, fmt.Errorf("store/sqlite: GetIntent: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Intent{}, fmt.Errorf("store/sqlite: GetIntent: %w", err)
	}
	return in, nil
}

// DeleteIntent removes the intent; absent is not an error.
func (s *Store) DeleteIntent(ctx context.Context, key string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM intents WHERE key = ?`, key); err != nil {
		return fmt.Errorf("store/sqlite: DeleteIntent: %w", err)
	}
	return nil
}

// ListIntents returns every intent, oldest Created first, ties by key.
func (s *Store) ListIntents(ctx context.Context) ([]store.Intent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+intentColumns+` FROM intents ORDER BY created, key`)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: ListIntents: %w", err)
	}
	defer rows.Close()
	var out []store.Intent
	for rows.Next() {
		in, err := scanIntent(rows)
		if err != nil {
			return nil, fmt.Errorf("store/sqlite: ListIntents: %w", err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store/sqlite: ListIntents: %w", err)
	}
	return out, nil
}

// PutMirror stores or replaces entries in one transaction, through one
// prepared statement.
func (s *Store) PutMirror(ctx context.Context, entries []store.MirrorEntry) error {
	if len(entries) == 0 {
		return ctx.Err()
	}
	const op = "store/sqlite: PutMirror"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO mirror (id, data) VALUES (?, ?)
			ON CONFLICT (id) DO UPDATE SET data = excluded.data`)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		defer stmt.Close()
		for _, e := range entries {
			if _, err := stmt.ExecContext(ctx, e.ID, jsonArg(e.Data)); err != nil {
				return fmt.Errorf("%s: entry %d: %w", op, e.ID, err)
			}
		}
		return nil
	})
}

// DeleteMirror removes the entries with those ids; absent ids are ignored.
func (s *Store) DeleteMirror(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return ctx.Err()
	}
	const op = "store/sqlite: DeleteMirror"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `DELETE FROM mirror WHERE id = ?`)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		defer stmt.Close()
		for _, id := range ids {
			if _, err := stmt.ExecContext(ctx, id); err != nil {
				return fmt.Errorf("%s: entry %d: %w", op, id, err)
			}
		}
		return nil
	})
}

// ForEachMirror streams every entry in id order to fn, row by row from one
// snapshot, stopping at fn's first error, which it returns as is. Each
// entry's Data is fn's own to keep.
func (s *Store) ForEachMirror(ctx context.Context, fn func(store.MirrorEntry) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT id, data FROM mirror ORDER BY id`)
	if err != nil {
		return fmt.Errorf("store/sqlite: ForEachMirror: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e store.MirrorEntry
		var data []byte // Scan copies into a fresh slice
		if err := rows.Scan(&e.ID, &data); err != nil {
			return fmt.Errorf("store/sqlite: ForEachMirror: %w", err)
		}
		e.Data = jsonOf(data)
		if err := fn(e); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil { // deterministic, unlike the driver noticing
			return fmt.Errorf("store/sqlite: ForEachMirror: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store/sqlite: ForEachMirror: %w", err)
	}
	return nil
}

// GetMirror returns the mirror entry with that id, or store.ErrNotFound.
func (s *Store) GetMirror(ctx context.Context, id int64) (store.MirrorEntry, error) {
	var data []byte
	err := s.r.QueryRowContext(ctx, `SELECT data FROM mirror WHERE id = ?`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return store.MirrorEntry{}, fmt.Errorf("store/sqlite: GetMirror %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.MirrorEntry{}, fmt.Errorf("store/sqlite: GetMirror %d: %w", id, err)
	}
	return store.MirrorEntry{ID: id, Data: jsonOf(data)}, nil
}

// AppendAudit stores e and returns it with its ID, and a zero Time set to
// now.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEvent) (store.AuditEvent, error) {
	if e.Time.IsZero() {
		e.Time = now()
	}
	e = e.Normalized()
	t, err := timeArg(e.Time)
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("store/sqlite: AppendAudit: Time: %w", err)
	}
	fields, err := store.MarshalAuditFields(e.Fields)
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("store/sqlite: AppendAudit: Fields: %w", err)
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO audit
		(time, request_id, client, operation, scim_id, fs_id, outcome, detail,
		 fs_call, kind, fs_status, code, field, field_errors)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t, e.RequestID, e.Client, e.Operation, e.SCIMID, e.FSID, e.Outcome, e.Detail,
		e.Call, e.Kind, e.Status, e.Code, e.Field, jsonArg(fields))
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("store/sqlite: AppendAudit: %w", err)
	}
	if e.ID, err = res.LastInsertId(); err != nil {
		return store.AuditEvent{}, fmt.Errorf("store/sqlite: AppendAudit: %w", err)
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
		where = append(where, cond)
		args = append(args, a...)
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
		// including, "user/" ('/' follows '.'). Not LIKE: it ignores ASCII
		// case and treats '_' as a wildcard.
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
	query += " ORDER BY time DESC, id DESC LIMIT ?"
	rows, err := s.r.QueryContext(ctx, query, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: ListAudit: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEvent
	for rows.Next() {
		var e store.AuditEvent
		var t sql.NullInt64
		var fields []byte
		if err := rows.Scan(&e.ID, &t, &e.RequestID, &e.Client, &e.Operation, &e.SCIMID, &e.FSID,
			&e.Outcome, &e.Detail, &e.Call, &e.Kind, &e.Status, &e.Code, &e.Field, &fields); err != nil {
			return nil, fmt.Errorf("store/sqlite: ListAudit: %w", err)
		}
		e.Time = timeOf(t)
		if e.Fields, err = store.UnmarshalAuditFields(fields); err != nil {
			return nil, fmt.Errorf("store/sqlite: ListAudit: event %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store/sqlite: ListAudit: %w", err)
	}
	return out, nil
}

// GetMeta returns the value named key, or store.ErrNotFound.
func (s *Store) GetMeta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store/sqlite: GetMeta %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store/sqlite: GetMeta %q: %w", key, err)
	}
	return v, nil
}

// SetMeta stores value under key, replacing any earlier value.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("store/sqlite: SetMeta %q: %w", key, err)
	}
	return nil
}
