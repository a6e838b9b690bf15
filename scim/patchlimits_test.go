package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elimity-com/scim/schema"
	"github.com/google/go-cmp/cmp"
	filter "github.com/scim2/filter-parser/v2"
)

// A PATCH may never leave a required attribute (User userName, Group displayName) removed or
// empty: RFC 7644 §3.5.2.2 answers a removed required attribute with mutability.
func TestApplyPatchKeepsRequiredAttributes(t *testing.T) {
	user := `{"id":"u1","userName":"jane@example.com","active":true}`
	group := `{"id":"g1","displayName":"Staff","members":[{"value":"u1"}]}`
	runPatchCases(t, []patchCase{
		{name: "remove userName", rs: rsUser(), doc: user,
			ops: []PatchOperation{patchOp(t, "remove", "userName", "")}, wantErr: TypeMutability},
		{name: "replace userName with null", rs: rsUser(), doc: user,
			ops: []PatchOperation{patchOp(t, "replace", "userName", "null")}, wantErr: TypeMutability},
		{name: "replace userName with the empty string", rs: rsUser(), doc: user,
			operations: `[{"op":"replace","path":"userName","value":""}]`, wantErr: TypeInvalidValue},
		{name: "replace userName with blanks", rs: rsUser(), doc: user,
			operations: `[{"op":"replace","path":"userName","value":"   "}]`, wantErr: TypeInvalidValue},
		{name: "path-less replace with an empty userName", rs: rsUser(), doc: user,
			operations: `[{"op":"replace","value":{"userName":"","active":false}}]`, wantErr: TypeInvalidValue},
		{name: "upper-case path", rs: rsUser(), doc: user,
			ops: []PatchOperation{patchOp(t, "Remove", "USERNAME", "")}, wantErr: TypeMutability},
		{name: "removed then set again in the same PATCH", rs: rsUser(), doc: user,
			ops:  []PatchOperation{patchOp(t, "remove", "userName", ""), patchOp(t, "add", "userName", `"new@example.com"`)},
			want: `{"id":"u1","userName":"new@example.com","active":true}`},
		{name: "a document that never had a userName can still be deactivated", rs: rsUser(), doc: `{"id":"u1","active":true}`,
			operations: `[{"op":"replace","path":"active","value":false}]`, want: `{"id":"u1","active":false}`},
		{name: "remove group displayName", rs: rsGroup(), doc: group,
			ops: []PatchOperation{patchOp(t, "remove", "displayName", "")}, wantErr: TypeMutability},
		{name: "replace group displayName with the empty string", rs: rsGroup(), doc: group,
			operations: `[{"op":"replace","value":{"id":"g1","displayName":""}}]`, wantErr: TypeInvalidValue},
		{name: "rename a group", rs: rsGroup(), doc: group,
			operations: `[{"op":"replace","path":"displayName","value":"Everyone"}]`,
			want:       `{"id":"g1","displayName":"Everyone","members":[{"value":"u1"}]}`},
	})
}

func TestApplyPatchOperationLimit(t *testing.T) {
	ops := func(n int) []PatchOperation {
		out := make([]PatchOperation, n)
		for i := range out {
			out[i] = patchOp(t, "add", "emails", fmt.Sprintf(`[{"value":"a%d@example.com","type":"other"}]`, i))
		}
		return out
	}
	doc := decodeDoc(t, `{"userName":"jane@example.com"}`)
	got, err := ApplyPatch(doc, ops(maxPatchOperations), rsUser())
	if err != nil {
		t.Fatalf("%d operations: %v", maxPatchOperations, err)
	}
	if n := len(got["emails"].([]any)); n != maxPatchOperations {
		t.Errorf("%d emails after %d adds", n, maxPatchOperations)
	}
	_, err = ApplyPatch(doc, ops(maxPatchOperations+1), rsUser())
	var se *Error
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.ScimType != TypeInvalidValue ||
		!strings.Contains(se.Detail, fmt.Sprint(maxPatchOperations)) {
		t.Errorf("%d operations: %v, want 400 invalidValue naming the limit", maxPatchOperations+1, err)
	}
}

// ApplyPatch bounds what it parses and what its errors echo, whoever calls it.
func TestApplyPatchBoundsItsInput(t *testing.T) {
	deepKey := "emails[" + strings.Repeat("not(", 100) + `type eq "work"` + strings.Repeat(")", 100) + "].value"
	tests := []struct {
		name     string
		op       PatchOperation
		scimType string
	}{
		{"a path-less key nested too deep", PatchOperation{Op: "add", Value: map[string]any{deepKey: "x"}}, TypeInvalidPath},
		{"a path-less key inside an extension", PatchOperation{Op: "add", Value: map[string]any{enterpriseURN: map[string]any{deepKey: "x"}}}, TypeInvalidPath},
		{"a path-less key too long", PatchOperation{Op: "add", Value: map[string]any{strings.Repeat("a", 5000): "x"}}, TypeInvalidPath},
		{"a huge op", PatchOperation{Op: strings.Repeat("x", 100000), Path: mustPath(t, "title"), Value: "x"}, TypeInvalidValue},
		{"a long value filter", patchOp(t, "add", `emails[value eq "`+strings.Repeat("a", 3000)+`"].display`, `5`), TypeInvalidValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ApplyPatch(decodeDoc(t, `{"userName":"a@x.com"}`), []PatchOperation{tc.op}, rsUser())
			var se *Error
			if !errors.As(err, &se) || se.ScimType != tc.scimType {
				t.Fatalf("%v, want %s", err, tc.scimType)
			}
			if len(se.Detail) > 410 {
				t.Errorf("the detail is %d bytes long", len(se.Detail))
			}
		})
	}
}

// Applying a PATCH costs time linear in its size. Each case applies thousands of element changes
// to a group of thousands of members, and must cost no more than a small multiple of copying that
// group once (which every PATCH does; the linear code takes 3 to 9 times that): a scan or a copy
// of the member list per element or per operation, as before, cost 350 to 1,400 copies.
func TestApplyPatchIsLinear(t *testing.T) {
	const n = 4000
	members := func(prefix string, n int) string {
		var b strings.Builder
		b.WriteString("[")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"value":"%s%d"}`, prefix, i)
		}
		b.WriteString("]")
		return b.String()
	}
	empty := decodeDoc(t, `{"displayName":"Staff"}`)
	big, err := ApplyPatch(empty, []PatchOperation{patchOp(t, "add", "members", members("m", n))}, rsGroup())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		doc  map[string]any
		ops  []PatchOperation
	}{
		{"one add of n members", empty, []PatchOperation{patchOp(t, "add", "members", members("m", n))}},
		{"n/4 adds of four members each", big, func() []PatchOperation {
			ops := make([]PatchOperation, 0, n/4)
			for i := 0; i < n/4; i++ {
				ops = append(ops, patchOp(t, "add", "members", members(fmt.Sprintf("new%d-", i), 4)))
			}
			return ops
		}()},
		{"n/4 removes by filter and by value", big, func() []PatchOperation {
			ops := make([]PatchOperation, 0, n/4)
			for i := 0; i < n/4; i++ {
				if i%2 == 0 {
					ops = append(ops, patchOp(t, "remove", fmt.Sprintf(`members[value eq "m%d"]`, i), ""))
				} else {
					ops = append(ops, patchOp(t, "remove", "members", fmt.Sprintf(`[{"value":"m%d"}]`, i)))
				}
			}
			return ops
		}()},
	}
	cost := func(doc map[string]any, ops []PatchOperation) time.Duration {
		best := time.Duration(1<<63 - 1)
		for range 5 {
			start := time.Now()
			if _, err := ApplyPatch(doc, ops, rsGroup()); err != nil {
				t.Fatal(err)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	copyCost := cost(big, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := cost(tc.doc, tc.ops); got > 40*copyCost {
				t.Errorf("took %v, %.0f times the %v of copying the group", got, float64(got)/float64(copyCost), copyCost)
			}
		})
	}
}

// The indexed list operations give exactly what a scan of the list gives: random runs of adds and
// removes on emails (case variants, shared addresses of different types, primary flags, elements
// without a value) and on members, against a reference that scans for every element. Both end
// with the list normalised as every list is (one primary, each value once).
func TestApplyPatchListOperationsMatchAScan(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	addresses := []string{"a@x.com", "A@X.com", "b@x.com", "\u212Aate@x.com", "kate@x.com", "c@x.com"}
	types := []string{"", "work", "home", "Work"}
	email := func() map[string]any {
		e := map[string]any{}
		if rng.Intn(8) > 0 {
			e["value"] = addresses[rng.Intn(len(addresses))]
		} else {
			e["display"] = "no address"
		}
		if ty := types[rng.Intn(len(types))]; ty != "" {
			e["type"] = ty
		}
		if rng.Intn(4) == 0 {
			e["primary"] = true
		}
		return e
	}
	rs := rsUser()
	emails, _ := rs.Lookup("emails")
	for run := range 300 {
		doc := map[string]any{"userName": "u@x.com"}
		var start []any
		for range rng.Intn(6) {
			start = append(start, email())
		}
		if len(start) > 0 {
			doc["emails"] = start
		}
		want := elementsOf(jsonClone(doc["emails"]))
		var ops []PatchOperation
		for range 1 + rng.Intn(12) {
			switch rng.Intn(3) {
			case 0:
				var items []any
				for range 1 + rng.Intn(3) {
					items = append(items, email())
				}
				ops = append(ops, PatchOperation{Op: "add", Path: mustPath(t, "emails"), Value: jsonClone(items)})
				// One operation's list is normalised on its own first (multivalued.go).
				for _, it := range normalizeElements(emails.Attr, jsonClone(items).([]any)) {
					want = scanAdd(emails.Attr, want, it)
				}
			case 1:
				item := map[string]any{"value": addresses[rng.Intn(len(addresses))]}
				ops = append(ops, PatchOperation{Op: "remove", Path: mustPath(t, "emails"), Value: []any{jsonClone(item)}})
				keep := want[:0:0]
				for _, e := range want {
					if !listedForRemoval(emails.Attr, e, []any{item}) {
						keep = append(keep, e)
					}
				}
				want = keep
			case 2:
				v := addresses[rng.Intn(len(addresses))]
				p := mustPath(t, fmt.Sprintf(`emails[value eq %q]`, v))
				ops = append(ops, PatchOperation{Op: "remove", Path: p})
				keep := want[:0:0]
				for _, e := range want {
					if !matchElement(p.ValueExpression, e, emails.Attr) {
						keep = append(keep, e)
					}
				}
				want = keep
			}
		}
		got, err := ApplyPatch(doc, ops, rs)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		// The result holds each value once and at most one primary (multivalued.go).
		want = normalizeElements(emails.Attr, want)
		wantDoc := map[string]any{"userName": "u@x.com"}
		if len(want) > 0 {
			wantDoc["emails"] = want
		}
		if diff := cmp.Diff(jsonNormal(t, wantDoc), jsonNormal(t, got)); diff != "" {
			opsJSON, _ := json.Marshal(ops)
			t.Fatalf("run %d: start %v, ops %s (-scan +got):\n%s", run, start, opsJSON, diff)
		}
	}
}

// scanAdd is the reference for an add: the first element sameElement takes for item absorbs it,
// or item is appended; an element that becomes primary clears primary on all others.
func scanAdd(a schema.CoreAttribute, list []any, item any) []any {
	at := -1
	for i, e := range list {
		if sameElement(a, e, item) {
			at = i
			break
		}
	}
	if at < 0 {
		list = append(list, item)
		at = len(list) - 1
	} else if im, ok := item.(map[string]any); ok {
		em, _ := list[at].(map[string]any)
		list[at] = mergeElement(a, em, im)
	}
	if m, ok := list[at].(map[string]any); ok && m["primary"] == true {
		clearPrimary(list, at)
	}
	return list
}

func mustPath(t *testing.T, s string) *filter.Path {
	t.Helper()
	p, err := filter.ParsePath([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return &p
}
