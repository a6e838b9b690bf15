package bridge

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/fsbridge/fsbridge/internal/fault"
	"github.com/fsbridge/fsbridge/mapping"
	"github.com/fsbridge/fsbridge/scim"
)

// createKeys are the names a create serialises on: its userName and every
// email it would give the Freshservice user, lower-cased, sorted and
// without repeats. Two creates that share any of them run one after the
// other, so the second sees the first's user and answers 409 instead of
// making a second Freshservice user that nobody manages.
func createKeys(doc mapping.Doc, email string) []string {
	keys := []string{strings.ToLower(email)}
	if un := userNameOf(doc); un != "" {
		keys = append(keys, strings.ToLower(un))
	}
	for _, e := range mapping.SecondaryEmails(doc, email) {
		keys = append(keys, strings.ToLower(e))
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// lockCreate takes the create locks of doc ("create:<key>" for each of
// createKeys), in sorted order so that two creates never wait on each other
// in a circle. The returned function releases them all.
func (b *Bridge) lockCreate(ctx context.Context, doc mapping.Doc, email string) (func(), error) {
	var unlocks []func()
	release := func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
	}
	for _, k := range createKeys(doc, email) {
		unlock, err := b.lock(ctx, "create:"+k)
		if err != nil {
			release()
			return nil, err
		}
		unlocks = append(unlocks, unlock)
	}
	return release, nil
}

// pendingUserName refuses a create of userName with email when an earlier
// create of the same userName with another email has not finished (its
// Freshservice answer was lost, and the background pass will finish it):
// the two would be two Freshservice users for one SCIM userName.
func (b *Bridge) pendingUserName(ctx context.Context, userName, email string) *scim.Error {
	if userName == "" {
		return nil
	}
	intents, err := b.store.ListIntents(ctx)
	if err != nil {
		return scim.AsError(err)
	}
	for _, in := range intents {
		if strings.EqualFold(in.Key, email) || !in.Failed.IsZero() {
			// A create the background gave up on is not pending: the
			// IdP's new attempt with another email may go ahead.
			continue
		}
		if doc := decodeDoc(in.Doc); doc != nil && strings.EqualFold(userNameOf(doc), userName) {
			return scimError(&fault.Error{Op: "user.create", Kind: fault.Conflict, Field: "userName",
				Detail: fmt.Sprintf("a user with userName %q is already being created with another email; retry once it has finished", userName)})
		}
	}
	return nil
}
