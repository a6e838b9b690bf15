package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fsbridge/fsbridge/internal/store"
)

const userColumns = `id, user_name, external_id, doc, deleted, version, created, modified,
	applied, dirty, attempts, last_error, next_attempt`

func scanUser(row pgx.Row) (store.User, error) {
	var (
		u                       store.User
		doc, applied            []byte
		created, modified, next *int64
	)
	err := row.Scan(&u.ID, &u.UserName, &u.ExternalID, &doc, &u.Deleted, &u.Version, &created, &modified,
		&applied, &u.Dirty, &u.Attempts, &u.LastError, &next)
	if err != nil {
		return store.User{}, err
	}
	u.Doc, u.Applied = jsonOf(doc), jsonOf(applied)
	u.Created, u.Modified, u.NextAttempt = timeOf(created), timeOf(modified), timeOf(next)
	return u, nil
}

// userArgs are the values of u's columns $2 to $14 of the INSERT and UPDATE
// below ($1 is the id).
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
	return []any{u.ID, u.UserName, foldKey(u.UserName), u.ExternalID, jsonArg(u.Doc), u.Deleted, u.Version,
		created, modified, jsonArg(u.Applied), u.Dirty, u.Attempts, u.LastError, next}, nil
}

// The unique indexes of scim_users, as unique violations name them.
const (
	usersPKey     = "scim_users_pkey"
	usersUserName = "scim_users_user_name"
)

// userNameHolder returns the id of the user other than id that is not
// Deleted and has userName, or 0.
func userNameHolder(ctx context.Context, q querier, userName string, id int64) (int64, error) {
	var other int64
	err := q.QueryRow(ctx, `SELECT id FROM scim_users WHERE user_name_key = $1 AND NOT deleted AND id <> $2`,
		foldKey(userName), id).Scan(&other)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return other, err
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// CreateUser inserts u (see store.Store) in one statement; the unique
// indexes refuse a taken id or userName, also when another replica inserts
// at the same moment. A user created Deleted does not claim its userName.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	op := fmt.Sprintf("store/postgres: CreateUser %d", u.ID)
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
	_, err = s.db.Exec(ctx, `INSERT INTO scim_users (id, user_name, user_name_key, external_id,
		doc, deleted, version, created, modified, applied, dirty, attempts, last_error, next_attempt)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, args...)
	switch uniqueViolation(err) {
	case "":
	case usersPKey:
		return store.User{}, fmt.Errorf("%s: id exists: %w", op, store.ErrAlreadyExists)
	case usersUserName:
		return store.User{}, s.userNameTaken(ctx, op, u)
	default:
		return store.User{}, fmt.Errorf("%s: %w", op, store.ErrAlreadyExists)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("%s: %w", op, err)
	}
	return u, nil
}

// userNameTaken is the error for u's userName held by another user, naming
// that user when it can be found (it may be gone by now).
func (s *Store) userNameTaken(ctx context.Context, op string, u store.User) error {
	if other, err := userNameHolder(ctx, s.db, u.UserName, u.ID); err == nil && other != 0 {
		return fmt.Errorf("%s: userName is taken by user %d: %w", op, other, store.ErrAlreadyExists)
	}
	return fmt.Errorf("%s: userName is taken: %w", op, store.ErrAlreadyExists)
}

// GetUser returns the user with that id (see store.Store).
func (s *Store) GetUser(ctx context.Context, id int64) (store.User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM scim_users WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, fmt.Errorf("store/postgres: GetUser %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("store/postgres: GetUser %d: %w", id, err)
	}
	return u, nil
}

// GetUserByUserName returns the user not Deleted with that userName,
// compared case-insensitively (see store.Store).
func (s *Store) GetUserByUserName(ctx context.Context, userName string) (store.User, error) {
	u, err := scanUser(s.db.QueryRow(ctx,
		`SELECT `+userColumns+` FROM scim_users WHERE user_name_key = $1 AND NOT deleted`, foldKey(userName)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, fmt.Errorf("store/postgres: GetUserByUserName: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("store/postgres: GetUserByUserName: %w", err)
	}
	return u, nil
}

// UpdateUser runs fn on the current record in a transaction that holds the
// row locked (SELECT ... FOR UPDATE), so concurrent updates of one user from
// any replica run one after the other (see store.Store). fn gets a copy it
// may change freely. ID, Version, Created and Modified belong to the store:
// fn's changes to them are ignored. fn may call the store, but not update
// this same user: that waits for the row lock fn's own transaction holds,
// until ctx ends. While fn runs its transaction holds a data connection, and
// a call from fn takes a second one, so more than pool_max_conns updates at
// once whose fn all call the store wait for each other until ctx ends.
func (s *Store) UpdateUser(ctx context.Context, id int64, fn func(*store.User) error) (store.User, error) {
	op := fmt.Sprintf("store/postgres: UpdateUser %d", id)
	var out store.User
	err := s.inTx(ctx, op, func(tx pgx.Tx) error {
		old, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM scim_users WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
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
			// Checked first only to name the holder; the unique index
			// decides, also against a concurrent insert.
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
		_, err = tx.Exec(ctx, `UPDATE scim_users SET user_name = $2, user_name_key = $3, external_id = $4,
			doc = $5, deleted = $6, version = $7, created = $8, modified = $9, applied = $10, dirty = $11,
			attempts = $12, last_error = $13, next_attempt = $14 WHERE id = $1`, args...)
		if uniqueViolation(err) != "" {
			return fmt.Errorf("%s: userName is taken: %w", op, store.ErrAlreadyExists)
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
	tag, err := s.db.Exec(ctx, `DELETE FROM scim_users WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("store/postgres: DeleteUser %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store/postgres: DeleteUser %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// ForEachUser streams every user in id order to fn (see store.Store), from
// one snapshot, holding one data connection; fn may call any method of the
// store.
func (s *Store) ForEachUser(ctx context.Context, fn func(store.User) error) error {
	return forEach(ctx, s, "store/postgres: ForEachUser",
		`SELECT `+userColumns+` FROM scim_users ORDER BY id`, scanUser, fn)
}

// forEach streams the rows of query, one statement and so one snapshot, to
// fn through scan, stopping at fn's first error, which it returns as is, or
// when ctx ends.
func forEach[T any](ctx context.Context, s *Store, op, query string, scan func(pgx.Row) (T, error), fn func(T) error) error {
	rows, err := s.db.Query(ctx, query)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if err := fn(v); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil { // deterministic, unlike the driver noticing
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// CountDirtyUsers returns how many users are Dirty, due or not.
func (s *Store) CountDirtyUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM scim_users WHERE dirty`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store/postgres: CountDirtyUsers: %w", err)
	}
	return n, nil
}

// DirtyUsers returns the ids of Dirty users due at now, oldest NextAttempt
// first (a zero NextAttempt is the oldest), ties by id; none when limit < 1.
func (s *Store) DirtyUsers(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	if limit < 1 {
		return nil, nil
	}
	ids, err := dirty[int64](ctx, s, "scim_users", now, limit)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: DirtyUsers: %w", err)
	}
	return ids, nil
}

// dirty returns the ids of the dirty rows of table due at now, in the order
// DirtyUsers documents.
func dirty[ID any](ctx context.Context, s *Store, table string, now time.Time, limit int) ([]ID, error) {
	var bound *int64 // a zero now: only a zero NextAttempt is due
	if !now.IsZero() {
		b := boundArg(now)
		bound = &b
	}
	rows, err := s.db.Query(ctx, `SELECT id FROM `+table+`
		WHERE dirty AND (next_attempt IS NULL OR next_attempt <= $1)
		ORDER BY next_attempt NULLS FIRST, id LIMIT $2`, bound, limit)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[ID])
	if len(ids) == 0 {
		ids = nil
	}
	return ids, err
}
