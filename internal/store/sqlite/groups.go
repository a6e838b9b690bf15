package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fsbridge/fsbridge/internal/store"
)

// groupColumns reads a group with its members in one statement (so one
// snapshot): the members come as a comma-separated list.
const groupColumns = `id, display_name, external_id, doc, fs_id, version, created, modified,
	applied, dirty, attempts, last_error, next_attempt,
	(SELECT group_concat(user_id) FROM group_members m WHERE m.group_id = g.id)`

func scanGroup(sc scanner) (store.Group, error) {
	var (
		g                       store.Group
		doc, applied            []byte
		created, modified, next sql.NullInt64
		members                 sql.NullString
	)
	err := sc.Scan(&g.ID, &g.DisplayName, &g.ExternalID, &doc, &g.FSID, &g.Version, &created, &modified,
		&applied, &g.Dirty, &g.Attempts, &g.LastError, &next, &members)
	if err != nil {
		return store.Group{}, err
	}
	g.Doc, g.Applied = jsonOf(doc), jsonOf(applied)
	g.Created, g.Modified, g.NextAttempt = timeOf(created), timeOf(modified), timeOf(next)
	if members.Valid && members.String != "" {
		for f := range strings.SplitSeq(members.String, ",") {
			id, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return store.Group{}, fmt.Errorf("member %q: %w", f, err)
			}
			g.Members = append(g.Members, id)
		}
		slices.Sort(g.Members)
	}
	return g, nil
}

// groupArgs are the values of g's columns after id, as the INSERT and UPDATE
// below list them.
func groupArgs(g store.Group) ([]any, error) {
	created, err := timeArg(g.Created)
	if err != nil {
		return nil, fmt.Errorf("created time: %w", err)
	}
	modified, err := timeArg(g.Modified)
	if err != nil {
		return nil, fmt.Errorf("modified time: %w", err)
	}
	next, err := timeArg(g.NextAttempt)
	if err != nil {
		return nil, fmt.Errorf("next attempt time: %w", err)
	}
	return []any{g.DisplayName, foldKey(g.DisplayName), g.ExternalID, jsonArg(g.Doc), g.FSID, g.Version,
		created, modified, jsonArg(g.Applied), boolArg(g.Dirty), g.Attempts, g.LastError, next}, nil
}

// displayNameHolder returns the id of the group other than id with
// displayName, or "" when there is none.
func displayNameHolder(ctx context.Context, tx *sql.Tx, displayName, id string) (string, error) {
	var other string
	err := tx.QueryRowContext(ctx, `SELECT id FROM scim_groups WHERE display_name_key = ? AND id <> ?`,
		foldKey(displayName), id).Scan(&other)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return other, err
}

// CreateGroup inserts g (see store.Store).
func (s *Store) CreateGroup(ctx context.Context, g store.Group) (store.Group, error) {
	op := fmt.Sprintf("store/sqlite: CreateGroup %q", g.ID)
	g = g.Normalized()
	g.Version = 1
	t := now()
	if g.Created.IsZero() {
		g.Created = t
	}
	if g.Modified.IsZero() {
		g.Modified = t
	}
	args, err := groupArgs(g)
	if err != nil {
		return store.Group{}, fmt.Errorf("%s: %w", op, err)
	}
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM scim_groups WHERE id = ?`, g.ID).Scan(&n); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if n > 0 {
			return fmt.Errorf("%s: id exists: %w", op, store.ErrAlreadyExists)
		}
		other, err := displayNameHolder(ctx, tx, g.DisplayName, g.ID)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if other != "" {
			return fmt.Errorf("%s: displayName is taken by group %q: %w", op, other, store.ErrAlreadyExists)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO scim_groups (id, display_name, display_name_key, external_id,
			doc, fs_id, version, created, modified, applied, dirty, attempts, last_error, next_attempt)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append([]any{g.ID}, args...)...)
		if isUniqueViolation(err) {
			return fmt.Errorf("%s: %w", op, store.ErrAlreadyExists)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if err := changeMembers(ctx, tx, g.ID, nil, g.Members); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	})
	if err != nil {
		return store.Group{}, err
	}
	return g, nil
}

// changeMembers turns the member rows of group id from old into new, both
// sorted and without duplicates, touching only the rows that differ, so a
// one-member change to a large group is one statement.
func changeMembers(ctx context.Context, tx *sql.Tx, id string, old, new []int64) error {
	var add, del []int64
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		switch {
		case j == len(new) || (i < len(old) && old[i] < new[j]):
			del = append(del, old[i])
			i++
		case i == len(old) || new[j] < old[i]:
			add = append(add, new[j])
			j++
		default:
			i++
			j++
		}
	}
	if err := execEach(ctx, tx, `DELETE FROM group_members WHERE group_id = ? AND user_id = ?`, id, del); err != nil {
		return fmt.Errorf("remove members: %w", err)
	}
	if err := execEach(ctx, tx, `INSERT INTO group_members (group_id, user_id) VALUES (?, ?)`, id, add); err != nil {
		return fmt.Errorf("add members: %w", err)
	}
	return nil
}

// execEach runs the two-parameter statement query once per user id.
func execEach(ctx context.Context, tx *sql.Tx, query, id string, userIDs []int64) error {
	if len(userIDs) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, u := range userIDs {
		if _, err := stmt.ExecContext(ctx, id, u); err != nil {
			return err
		}
	}
	return nil
}

// GetGroup returns the group with that id (see store.Store).
func (s *Store) GetGroup(ctx context.Context, id string) (store.Group, error) {
	g, err := scanGroup(s.r.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM scim_groups g WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Group{}, fmt.Errorf("store/sqlite: GetGroup %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Group{}, fmt.Errorf("store/sqlite: GetGroup %q: %w", id, err)
	}
	return g, nil
}

// GetGroupByDisplayName returns the group with that displayName, compared
// case-insensitively (see store.Store).
func (s *Store) GetGroupByDisplayName(ctx context.Context, name string) (store.Group, error) {
	g, err := scanGroup(s.r.QueryRowContext(ctx,
		`SELECT `+groupColumns+` FROM scim_groups g WHERE display_name_key = ?`, foldKey(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Group{}, fmt.Errorf("store/sqlite: GetGroupByDisplayName: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Group{}, fmt.Errorf("store/sqlite: GetGroupByDisplayName: %w", err)
	}
	return g, nil
}

// UpdateGroup runs fn on the current record in a write transaction (see
// store.Store). As with UpdateUser, fn's changes to ID, Version, Created and
// Modified are ignored, and fn must not write to the store. Members are
// compared after sorting and de-duplication, so reordering them is no
// change.
func (s *Store) UpdateGroup(ctx context.Context, id string, fn func(*store.Group) error) (store.Group, error) {
	op := fmt.Sprintf("store/sqlite: UpdateGroup %q", id)
	var out store.Group
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		old, err := scanGroup(tx.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM scim_groups g WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: %w", op, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		g := old
		g.Doc, g.Applied, g.Members = bytes.Clone(old.Doc), bytes.Clone(old.Applied), slices.Clone(old.Members)
		if err := fn(&g); err != nil {
			return err // as is
		}
		g = g.Normalized()
		g.ID, g.Version, g.Created, g.Modified = old.ID, old.Version, old.Created, old.Modified
		if store.GroupVersionChanged(old, g) {
			g.Version++
			g.Modified = now()
		}
		if foldKey(old.DisplayName) != foldKey(g.DisplayName) {
			other, err := displayNameHolder(ctx, tx, g.DisplayName, g.ID)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			if other != "" {
				return fmt.Errorf("%s: displayName is taken by group %q: %w", op, other, store.ErrAlreadyExists)
			}
		}
		args, err := groupArgs(g)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE scim_groups SET display_name = ?, display_name_key = ?,
			external_id = ?, doc = ?, fs_id = ?, version = ?, created = ?, modified = ?, applied = ?,
			dirty = ?, attempts = ?, last_error = ?, next_attempt = ? WHERE id = ?`, append(args, g.ID)...)
		if isUniqueViolation(err) {
			return fmt.Errorf("%s: %w", op, store.ErrAlreadyExists)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if err := changeMembers(ctx, tx, g.ID, old.Members, g.Members); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		out = g
		return nil
	})
	if err != nil {
		return store.Group{}, err
	}
	return out, nil
}

// DeleteGroup removes the group; its member rows go with it (ON DELETE
// CASCADE).
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM scim_groups WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store/sqlite: DeleteGroup %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store/sqlite: DeleteGroup %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("store/sqlite: DeleteGroup %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// ForEachGroup streams every group, with its members, in id order to fn (see
// store.Store); fn may call any method of the store.
func (s *Store) ForEachGroup(ctx context.Context, fn func(store.Group) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT `+groupColumns+` FROM scim_groups g ORDER BY id`)
	if err != nil {
		return fmt.Errorf("store/sqlite: ForEachGroup: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return fmt.Errorf("store/sqlite: ForEachGroup: %w", err)
		}
		if err := fn(g); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store/sqlite: ForEachGroup: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store/sqlite: ForEachGroup: %w", err)
	}
	return nil
}

// GroupsOf returns the ids of the groups userID is a member of, ascending.
func (s *Store) GroupsOf(ctx context.Context, userID int64) ([]string, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT group_id FROM group_members WHERE user_id = ? ORDER BY group_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: GroupsOf %d: %w", userID, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store/sqlite: GroupsOf %d: %w", userID, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store/sqlite: GroupsOf %d: %w", userID, err)
	}
	return ids, nil
}

// DirtyGroups is DirtyUsers for groups.
func (s *Store) DirtyGroups(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if limit < 1 {
		return nil, nil
	}
	var bound any
	if !now.IsZero() {
		bound = boundArg(now)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM scim_groups
		WHERE dirty = 1 AND (next_attempt IS NULL OR next_attempt <= ?)
		ORDER BY next_attempt, id LIMIT ?`, bound, limit)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: DirtyGroups: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store/sqlite: DirtyGroups: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store/sqlite: DirtyGroups: %w", err)
	}
	return ids, nil
}
