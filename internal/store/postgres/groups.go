package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fsbridge/fsbridge/internal/store"
)

// groupColumns reads a group with its members in one statement (so one
// snapshot): the members come as an array.
const groupColumns = `id, display_name, external_id, doc, fs_id, version, created, modified,
	applied, dirty, attempts, last_error, next_attempt,
	ARRAY(SELECT user_id FROM group_members m WHERE m.group_id = g.id ORDER BY user_id)`

func scanGroup(row pgx.Row) (store.Group, error) {
	var (
		g                       store.Group
		doc, applied            []byte
		created, modified, next *int64
	)
	err := row.Scan(&g.ID, &g.DisplayName, &g.ExternalID, &doc, &g.FSID, &g.Version, &created, &modified,
		&applied, &g.Dirty, &g.Attempts, &g.LastError, &next, &g.Members)
	if err != nil {
		return store.Group{}, err
	}
	g.Doc, g.Applied = jsonOf(doc), jsonOf(applied)
	g.Created, g.Modified, g.NextAttempt = timeOf(created), timeOf(modified), timeOf(next)
	if len(g.Members) == 0 {
		g.Members = nil
	}
	return g, nil
}

// groupArgs are the values of g's columns $1 to $14 of the INSERT and UPDATE
// below.
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
	return []any{g.ID, g.DisplayName, foldKey(g.DisplayName), g.ExternalID, jsonArg(g.Doc), g.FSID, g.Version,
		created, modified, jsonArg(g.Applied), g.Dirty, g.Attempts, g.LastError, next}, nil
}

// The unique indexes of scim_groups, as unique violations name them.
const (
	groupsPKey        = "scim_groups_pkey"
	groupsDisplayName = "scim_groups_display_name"
)

// displayNameHolder returns the id of the group other than id with
// displayName, or "" when there is none.
func displayNameHolder(ctx context.Context, q querier, displayName, id string) (string, error) {
	var other string
	err := q.QueryRow(ctx, `SELECT id FROM scim_groups WHERE display_name_key = $1 AND id <> $2`,
		foldKey(displayName), id).Scan(&other)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return other, err
}

// displayNameTaken is the error for g's displayName held by another group,
// naming that group when it can be found.
func (s *Store) displayNameTaken(ctx context.Context, op string, g store.Group) error {
	if other, err := displayNameHolder(ctx, s.db, g.DisplayName, g.ID); err == nil && other != "" {
		return fmt.Errorf("%s: displayName is taken by group %q: %w", op, other, store.ErrAlreadyExists)
	}
	return fmt.Errorf("%s: displayName is taken: %w", op, store.ErrAlreadyExists)
}

// CreateGroup inserts g and its members in one transaction (see
// store.Store); the unique indexes refuse a taken id or displayName.
func (s *Store) CreateGroup(ctx context.Context, g store.Group) (store.Group, error) {
	op := fmt.Sprintf("store/postgres: CreateGroup %q", g.ID)
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
	var clash string
	err = s.inTx(ctx, op, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO scim_groups (id, display_name, display_name_key, external_id,
			doc, fs_id, version, created, modified, applied, dirty, attempts, last_error, next_attempt)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, args...)
		if clash = uniqueViolation(err); clash != "" {
			return store.ErrAlreadyExists // the transaction is aborted: described below
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if err := changeMembers(ctx, tx, g.ID, nil, g.Members); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	})
	switch {
	case clash == groupsPKey:
		return store.Group{}, fmt.Errorf("%s: id exists: %w", op, store.ErrAlreadyExists)
	case clash == groupsDisplayName:
		return store.Group{}, s.displayNameTaken(ctx, op, g)
	case clash != "":
		return store.Group{}, fmt.Errorf("%s: %w", op, store.ErrAlreadyExists)
	case err != nil:
		return store.Group{}, err
	}
	return g, nil
}

// changeMembers turns the member rows of group id from old into new, both
// sorted and without duplicates, touching only the rows that differ, with
// at most two statements whatever the sizes.
func changeMembers(ctx context.Context, tx pgx.Tx, id string, old, new []int64) error {
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
	if len(del) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM group_members WHERE group_id = $1 AND user_id = ANY($2)`,
			id, del); err != nil {
			return fmt.Errorf("remove members: %w", err)
		}
	}
	if len(add) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO group_members (group_id, user_id)
			SELECT $1, unnest($2::int8[])`, id, add); err != nil {
			return fmt.Errorf("add members: %w", err)
		}
	}
	return nil
}

// GetGroup returns the group with that id (see store.Store).
func (s *Store) GetGroup(ctx context.Context, id string) (store.Group, error) {
	g, err := scanGroup(s.db.QueryRow(ctx, `SELECT `+groupColumns+` FROM scim_groups g WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Group{}, fmt.Errorf("store/postgres: GetGroup %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Group{}, fmt.Errorf("store/postgres: GetGroup %q: %w", id, err)
	}
	return g, nil
}

// GetGroupByDisplayName returns the group with that displayName, compared
// case-insensitively (see store.Store).
func (s *Store) GetGroupByDisplayName(ctx context.Context, name string) (store.Group, error) {
	g, err := scanGroup(s.db.QueryRow(ctx,
		`SELECT `+groupColumns+` FROM scim_groups g WHERE display_name_key = $1`, foldKey(name)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Group{}, fmt.Errorf("store/postgres: GetGroupByDisplayName: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Group{}, fmt.Errorf("store/postgres: GetGroupByDisplayName: %w", err)
	}
	return g, nil
}

// UpdateGroup runs fn on the current record in a transaction that holds the
// group's row locked (see store.Store and UpdateUser). Members are compared
// after sorting and de-duplication, so reordering them is no change.
func (s *Store) UpdateGroup(ctx context.Context, id string, fn func(*store.Group) error) (store.Group, error) {
	op := fmt.Sprintf("store/postgres: UpdateGroup %q", id)
	var out store.Group
	err := s.inTx(ctx, op, func(tx pgx.Tx) error {
		// Lock first, then read, in two statements: at READ COMMITTED a
		// statement that waited for the row lock sees the locked row as the
		// holder left it, but the member rows only as they were when the
		// statement began, before the holder's commit. The second statement
		// starts after the wait and sees them all.
		var locked int
		err := tx.QueryRow(ctx, `SELECT 1 FROM scim_groups WHERE id = $1 FOR UPDATE`, id).Scan(&locked)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s: %w", op, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		old, err := scanGroup(tx.QueryRow(ctx, `SELECT `+groupColumns+` FROM scim_groups g WHERE id = $1`, id))
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
			// Checked first only to name the holder; the unique index decides.
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
		_, err = tx.Exec(ctx, `UPDATE scim_groups SET display_name = $2, display_name_key = $3,
			external_id = $4, doc = $5, fs_id = $6, version = $7, created = $8, modified = $9, applied = $10,
			dirty = $11, attempts = $12, last_error = $13, next_attempt = $14 WHERE id = $1`, args...)
		if uniqueViolation(err) != "" {
			return fmt.Errorf("%s: displayName is taken: %w", op, store.ErrAlreadyExists)
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
	tag, err := s.db.Exec(ctx, `DELETE FROM scim_groups WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("store/postgres: DeleteGroup %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store/postgres: DeleteGroup %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// ForEachGroup streams every group, with its members, in id order to fn (see
// store.Store), from one snapshot; fn may call any method of the store.
func (s *Store) ForEachGroup(ctx context.Context, fn func(store.Group) error) error {
	return forEach(ctx, s, "store/postgres: ForEachGroup",
		`SELECT `+groupColumns+` FROM scim_groups g ORDER BY id`, scanGroup, fn)
}

// GroupsOf returns the ids of the groups userID is a member of, ascending.
func (s *Store) GroupsOf(ctx context.Context, userID int64) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT group_id FROM group_members WHERE user_id = $1 ORDER BY group_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: GroupsOf %d: %w", userID, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store/postgres: GroupsOf %d: %w", userID, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return ids, nil
}

// DirtyGroups is DirtyUsers for groups.
func (s *Store) DirtyGroups(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if limit < 1 {
		return nil, nil
	}
	ids, err := dirty[string](ctx, s, "scim_groups", now, limit)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: DirtyGroups: %w", err)
	}
	return ids, nil
}
