package scim

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/elimity-com/scim/schema"
	"github.com/go-chi/chi/v5"
)

// The discovery endpoints (RFC 7644 §4): what the bridge supports, its resource types, and their
// schemas. The schema documents are the SCIM library's definitions (schema.Schema), encoded once.

const (
	urnServiceProviderConfig = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	urnResourceType          = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
)

type discovery struct {
	spc []byte
	// types and schemas are the encoded documents, in the order they are listed.
	types, schemaDocs  []json.RawMessage
	typeIDs, schemaIDs []string
}

func newDiscovery(e *edge) *discovery {
	d := &discovery{}
	var schemes []map[string]any
	if len(e.cfg.Tokens) > 0 {
		schemes = append(schemes, map[string]any{
			"type": "oauthbearertoken", "name": "Bearer token", "primary": true,
			"description": "A bearer token configured in fsbridge, sent as Authorization: Bearer <token>.",
		})
	}
	if e.cfg.Basic != nil {
		schemes = append(schemes, map[string]any{
			"type": "httpbasic", "name": "HTTP Basic", "primary": len(schemes) == 0,
			"description": "The user name and password configured in fsbridge.",
		})
	}
	d.spc = mustJSON(map[string]any{
		"schemas":          []string{urnServiceProviderConfig},
		"documentationUri": "https://github.com/fsbridge/fsbridge/tree/main/docs",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": e.cfg.MaxBodyBytes},
		"filter":           map[string]any{"supported": true, "maxResults": maxResults},
		"changePassword":   map[string]any{"supported": false},
		// sortBy and sortOrder order list answers (sort.go); ETags are meta.version, checked by
		// If-Match and If-None-Match (etag.go).
		"sort":                  map[string]any{"supported": true},
		"etag":                  map[string]any{"supported": true},
		"authenticationSchemes": schemes,
		"meta":                  map[string]any{"resourceType": "ServiceProviderConfig"},
	})
	seen := map[string]bool{}
	for _, rt := range []*resourceType{e.users, e.groups} {
		exts := []map[string]any{}
		for _, x := range rt.rs.Extensions {
			exts = append(exts, map[string]any{"schema": x.ID, "required": false})
		}
		d.typeIDs = append(d.typeIDs, rt.name)
		d.types = append(d.types, mustJSON(map[string]any{
			"schemas": []string{urnResourceType}, "id": rt.name, "name": rt.name, "description": rt.description,
			"endpoint": rt.endpoint, "schema": rt.rs.Core.ID, "schemaExtensions": exts,
			"meta": map[string]any{"resourceType": "ResourceType"},
		}))
		for _, s := range append([]schema.Schema{rt.rs.Core}, rt.rs.Extensions...) {
			if seen[s.ID] {
				continue
			}
			seen[s.ID] = true
			d.schemaIDs = append(d.schemaIDs, s.ID)
			d.schemaDocs = append(d.schemaDocs, mustJSON(s))
		}
	}
	return d
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

// noFilter refuses a filter on a discovery endpoint: RFC 7644 §4 says these endpoints do not
// filter, and that a filter SHOULD be answered 403, so that no client takes the whole list for the
// matches. A filter past the edge's bounds is refused as such first, as everywhere.
func noFilter(r *http.Request) *Error {
	q := r.URL.Query()
	fs, ok := q["filter"]
	if !ok {
		return nil
	}
	for _, f := range fs {
		if err := checkFilterBounds(f); err != nil {
			return err
		}
	}
	return Errorf(http.StatusForbidden, "", "the discovery endpoints do not filter (RFC 7644 §4); list them without a filter")
}

func (d *discovery) serviceProviderConfig(w http.ResponseWriter, r *http.Request) error {
	if err := noFilter(r); err != nil {
		return err
	}
	writeRaw(w, d.spc)
	return nil
}

func (d *discovery) resourceTypes(w http.ResponseWriter, r *http.Request) error {
	if err := noFilter(r); err != nil {
		return err
	}
	writeRaw(w, listOf(d.types))
	return nil
}

func (d *discovery) resourceType(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	for i, t := range d.typeIDs {
		if strings.EqualFold(t, id) {
			writeRaw(w, d.types[i])
			return nil
		}
	}
	return NotFound("ResourceType", id)
}

func (d *discovery) schemas(w http.ResponseWriter, r *http.Request) error {
	if err := noFilter(r); err != nil {
		return err
	}
	writeRaw(w, listOf(d.schemaDocs))
	return nil
}

func (d *discovery) schema(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	for i, s := range d.schemaIDs {
		if strings.EqualFold(s, id) {
			writeRaw(w, d.schemaDocs[i])
			return nil
		}
	}
	return NotFound("Schema", id)
}

// listOf wraps documents in a ListResponse of all of them.
func listOf(docs []json.RawMessage) []byte {
	return mustJSON(map[string]any{
		"schemas": []string{URNListResponse}, "totalResults": len(docs), "itemsPerPage": len(docs), "startIndex": 1,
		"Resources": docs,
	})
}

func writeRaw(w http.ResponseWriter, data []byte) {
	enc := getEncoder("")
	defer enc.release()
	enc.buf = append(enc.buf, data...)
	enc.send(w, http.StatusOK)
}
