package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/fsbridge/fsbridge/internal/store"
)

const userColumns = `id, user_name, external_id, doc, deleted, version, created, modified,
	applied, dirty, attempts, last_error, next_attempt`

func scanUser(sc scanner) (store.User, error) {
	var (
		u                       store.User
		doc, applied            []byte
		created, modified, next sql.NullInt64
	)
	err := sc.Scan(&u.ID, &u.UserName, &u.ExternalID, &doc, &u.Deleted, &u.Version, &created, &modified,
		&applied, &u.Dirty, &u.Attempts, &u.LastError, &next)
	if err != nil {
		return store.User{}, err
	}
	u.Doc, u.Applied = jsonOf(doc), jsonOf(applied)
	u.Created, u.Modified, u.NextAttempt = timeOf(created), timeOf(modified), timeOf(next)
	return u, nil
}

// userArgs are the values of u's columns after id, as the INSERT and
// UPDATE below list them.
func userArgs(u store.User) ([]any, error) {
	created, err := timeArg(u.Created)
	if err != nil {
		return nil, fmt.Errorf("created time: %w", err)
	}
	modified, err := timeArg(u.Modified)
	if err != nil {
		return nil, fmt.Errorf("modified time: %w", err)
	}
	next, err := timeArg(u.NextAttempt)
	if err != nil {
		return nil, fmt.Errorf("next attempt time: %w", err)
	}
	return []any{u.UserName, foldKey(u.UserName), u.ExternalID, jsonArg(u.Doc), boolArg(u.Deleted), u.Version,
		created, modified, jsonArg(u.Applied), boolArg(u.Dirty), u.Attempts, u.LastError, next}, nil
}

// userNameHolder returns the id of the user other than id that is not
// Deleted and has userName, or 0.
func userNameHolder(ctx context.Context, tx *sql.Tx, userName string, id int64) (int64, error) {
	var other int64
	err := tx.QueryRowContext(ctx,
		`SELECT id FROM scim_users WHERE user_name_key = ? AND deleted = 0 AND id <> ?`,
		foldKey(userName), id).Scan(&other)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return other, err
}

// CreateUser inserts u (see store.Store). A user created Deleted does not
// claim its userName, as the uniqueness rule is among users not Deleted.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	op := fmt.Sprintf("store/sqlite: CreateUser %d", u.ID)
	u = u.Normalized()
	u.Version = 1
	t := now()
	if u.Created.IsZero() {
		u.Created = t
	}
	if u.Modified.IsZero() {
		u.Modified = t
	}
	args, err := userArgs(u)
	if err != nil {
		return store.User{}, fmt.Errorf("%s: %w", op, err)
	}
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM scim_users WHERE id = ?`, u.ID).Scan(&n); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if n > 0 {
			return fmt.Errorf("%s: id exists: %w", op, store.ErrAlreadyExists)
		}
		if !u.Deleted {
			other, err := userNameHolder(ctx, tx, u.UserName, u.ID)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			if other != 0 {
				return fmt.Errorf("%s: userName is taken by user %d: %w", op, other, store.ErrAlreadyExists)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO scim_users (id, user_name, user_name_key, external_id,
			doc, deleted, version, created, modified, applied, dirty, attempts, last_error, next_attempt)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append([]any{u.ID}, args...)...)
		if isUniqueViolation(err) {
			return fmt.Errorf("%s: %w", op, store.ErrAlreadyExists)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	})
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// GetUser returns the user with that id (see store.Store).
func (s *Store) GetUser(ctx context.Context, id int64) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM scim_users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, fmt.Errorf("store/sqlite: GetUser %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("store/sqlite: GetUser %d: %w", id, err)
	}
	return u, nil
}

// GetUserByUserName returns the user not Deleted with that userName,
// compared case-insensitively (see store.Store).
func (s *Store) GetUserByUserName(ctx context.Context, userName string) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM scim_users WHERE user_name_key = ? AND deleted = 0`, foldKey(userName)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, fmt.Errorf("store/sqlite: GetUserByUserName: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("store/sqlite: GetUserByUserName: %w", err)
	}
	return u, nil
}

func getUserTx(ctx context.Context, tx *sql.Tx, id int64) (store.User, error) {
	return scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM scim_users WHERE id = ?`, id))
}

// UpdateUser runs fn on the current record in a write transaction (see
// store.Store). fn gets a copy it may change freely. ID, Version, Created and
// Modified belong to the store: fn's changes to them are ignored. fn may
// read the store but must not write to it: the transaction holds the one
// writer connection, so a write from fn waits for it until ctx ends.
func (s *Store) UpdateUser(ctx context.Context, id int64, fn func(*store.User) error) (store.User, error) {
	op := fmt.Sprintf("store/sqlite: UpdateUser %d", id)
	var out store.User
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		old, err := getUserTx(ctx, tx, id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: %w", op, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		u := old
		u.Doc, u.Applied = bytes.Clone(old.Doc), bytes.Clone(old.Applied)
		if err := fn(&u); err != nil {
			return err // as is
		}
		u = u.Normalized()
		u.ID, u.Version, u.Created, u.Modified = old.ID, old.Version, old.Created, old.Modified
		if store.UserVersionChanged(old, u) {
			u.Version++
			u.Modified = now()
		}
		if !u.Deleted && (old.Deleted || foldKey(old.UserName) != foldKey(u.UserName)) {
			other, err := userNameHolder(ctx, tx, u.UserName, u.ID)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			if other != 0 {
				return fmt.Errorf("%s: userName is taken by user %d: %w", op, other, store.ErrAlreadyExists)
			}
		}
		args, err := userArgs(u)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE scim_users SET user_name = ?, user_name_key = ?, external_id = ?,
			doc = ?, deleted = ?, version = ?, created = ?, modified = ?, applied = ?, dirty = ?,
			attempts = ?, last_error = ?, next_attempt = ? WHERE id = ?`, append(args, u.ID)...)
		if isUniqueViolation(err) {
			return fmt.Errorf("%s: %w", op, store.ErrAlreadyExists)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		out = u
		return nil
	})
	if err != nil {
		return store.User{}, err
	}
	return out, nil
}

// DeleteUser removes the record for good (see store.Store).
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM scim_users WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store/sqlite: DeleteUser %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store/sqlite: DeleteUser %d: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("store/sqlite: DeleteUser %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// ForEachUser streams every user in id order to fn (see store.Store). It
// reads one consistent snapshot; fn may call any method of the store.
func (s *Store) ForEachUser(ctx context.Context, fn func(store.User) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM scim_users ORDER BY id`)
	if err != nil {
		return fmt.Errorf("store/sqlite: ForEachUser: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return fmt.Errorf("store/sqlite: ForEachUser: %w", err)
		}
		if err := fn(u); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store/sqlite: ForEachUser: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store/sqlite: ForEachUser: %w", err)
	}
	return nil
}

// CountDirtyUsers returns how many users are Dirty, due or not.
func (s *Store) CountDirtyUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM scim_users WHERE dirty = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store/sqlite: CountDirtyUsers: %w", err)
	}
	return n, nil
}

// DirtyUsers returns the ids of Dirty users due at now, oldest NextAttempt
// first (a zero NextAttempt is the oldest), ties by id; none when limit < 1.
func (s *Store) DirtyUsers(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	if limit < 1 {
		return nil, nil
	}
	var bound any
	if !now.IsZero() {
		bound = boundArg(now)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM scim_users
		WHERE dirty = 1 AND (next_attempt IS NULL OR next_attempt <= ?)
		ORDER BY next_attempt, id LIMIT ?`, bound, limit)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: DirtyUsers: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store/sqlite: DirtyUsers: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store/sqlite: DirtyUsers: %w", err)
	}
	return ids, nil
}
