package scim

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// The handlers of /Users and /Groups. Each reads and checks what the request asks, calls the
// backend, and writes the answer; an error it returns is written by writeError (see handle).

// list serves GET /Users and GET /Groups.
func (e *edge) list(w http.ResponseWriter, r *http.Request, rt *resourceType) error {
	p, err := queryParams(r.URL.Query())
	if err != nil {
		return err
	}
	return e.runList(w, r, rt, p)
}

// search serves POST /Users/.search and POST /Groups/.search (RFC 7644 §3.4.3): the same list as a
// GET, its parameters in the body.
func (e *edge) search(w http.ResponseWriter, r *http.Request, rt *resourceType) error {
	body, err := e.readBody(w, r)
	if err != nil {
		return err
	}
	p, err := searchParams(body)
	if err != nil {
		return err
	}
	return e.runList(w, r, rt, p)
}

func (e *edge) runList(w http.ResponseWriter, r *http.Request, rt *resourceType, p listParams) error {
	if st := stateOf(r); st != nil {
		st.projection = p.projection
	}
	q, serr := listQuery(p, rt.rs)
	if serr != nil {
		return serr
	}
	page, err := rt.backend.List(r.Context(), q)
	if err != nil {
		return err
	}
	enc := getEncoder(e.baseURL(r))
	defer enc.release()
	enc.list(rt, page, q.StartIndex, p.projection)
	enc.send(w, http.StatusOK)
	return nil
}

// get serves GET /Users/{id}; If-None-Match naming the current version is answered 304.
func (e *edge) get(w http.ResponseWriter, r *http.Request, rt *resourceType) error {
	id := chi.URLParam(r, "id")
	e.noteProjection(r)
	res, err := rt.backend.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if inm := r.Header.Values("If-None-Match"); len(inm) > 0 && res.Version != "" && etagMatches(inm, res.Version, false) {
		w.Header()["Etag"] = []string{res.Version}
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	e.writeResource(w, r, rt, res, http.StatusOK)
	return nil
}

// create serves POST /Users and POST /Groups.
func (e *edge) create(w http.ResponseWriter, r *http.Request, rt *resourceType) error {
	e.noteProjection(r)
	body, serr := e.readBody(w, r)
	if serr != nil {
		return serr
	}
	attrs, serr := prepareResource(body, rt)
	if serr != nil {
		return serr
	}
	res, err := rt.backend.Create(r.Context(), attrs)
	if err != nil {
		return err
	}
	w.Header()["Location"] = []string{e.baseURL(r) + rt.endpoint + "/" + res.ID}
	e.writeResource(w, r, rt, res, http.StatusCreated)
	return nil
}

// replace serves PUT /Users/{id} and PUT /Groups/{id}.
func (e *edge) replace(w http.ResponseWriter, r *http.Request, rt *resourceType) error {
	id := chi.URLParam(r, "id")
	e.noteProjection(r)
	body, serr := e.readBody(w, r)
	if serr != nil {
		return serr
	}
	attrs, serr := prepareResource(body, rt)
	if serr != nil {
		return serr
	}
	unlock, err := e.preconditions(r.Context(), r, rt, id)
	if err != nil {
		return err
	}
	defer unlock()
	res, err := rt.backend.Replace(r.Context(), id, attrs)
	if err != nil {
		return err
	}
	e.writeResource(w, r, rt, res, http.StatusOK)
	return nil
}

// patch serves PATCH /Users/{id} and PATCH /Groups/{id}.
func (e *edge) patch(w http.ResponseWriter, r *http.Request, rt *resourceType) error {
	id := chi.URLParam(r, "id")
	e.noteProjection(r)
	body, serr := e.readBody(w, r)
	if serr != nil {
		return serr
	}
	ops, serr := preparePatch(body, rt)
	if serr != nil {
		return serr
	}
	unlock, err := e.preconditions(r.Context(), r, rt, id)
	if err != nil {
		return err
	}
	defer unlock()
	res, err := rt.backend.Patch(r.Context(), id, ops)
	if err != nil {
		return err
	}
	if res.ID == "" {
		if res.Version != "" {
			w.Header()["Etag"] = []string{res.Version}
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	e.writeResource(w, r, rt, res, http.StatusOK)
	return nil
}

// delete serves DELETE /Users/{id} and DELETE /Groups/{id}.
func (e *edge) delete(w http.ResponseWriter, r *http.Request, rt *resourceType) error {
	id := chi.URLParam(r, "id")
	unlock, err := e.preconditions(r.Context(), r, rt, id)
	if err != nil {
		return err
	}
	defer unlock()
	if err := rt.backend.Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// noteProjection keeps what the query asks to get back, for Omitted and writeResource.
func (e *edge) noteProjection(r *http.Request) {
	if st := stateOf(r); st != nil && r.URL.RawQuery != "" {
		st.projection = projectionOf(r.URL.Query())
	}
}

// writeResource answers with one resource, projected as the query asks, with its ETag.
func (e *edge) writeResource(w http.ResponseWriter, r *http.Request, rt *resourceType, res Resource, status int) {
	var p projection
	if st := stateOf(r); st != nil {
		p = st.projection
	}
	if res.Version != "" {
		w.Header()["Etag"] = []string{res.Version}
	}
	enc := getEncoder(e.baseURL(r))
	defer enc.release()
	enc.resource(rt, res, p)
	enc.send(w, status)
}

// prepareResource turns a POST or PUT body into the attributes the backend gets: schemas checked,
// the IdP's dialect normalised, required values and control characters checked, then validated
// against the schema by the SCIM library (types, required attributes; read-only and unknown
// attributes dropped; names canonical), and multi-valued attributes normalised (multivalued.go).
func prepareResource(body map[string]any, rt *resourceType) (map[string]any, *Error) {
	if err := checkResourceSchemas(body, rt.rs); err != nil {
		return nil, err
	}
	body = NormalizeResource(body, rt.rs.Core.ID == URNUser)
	if err := checkRequiredValues(body, rt.rs); err != nil {
		return nil, err
	}
	// The rewrites unpack values (an Entra app role is JSON inside a string), which may bring out
	// what decodeBody refused.
	if err := checkControlChars(body, ""); err != nil {
		return nil, err
	}
	attrs, serr := rt.validator.Validate(body)
	if serr != nil {
		return nil, &Error{Status: serr.Status, ScimType: string(serr.ScimType), Detail: serr.Detail}
	}
	for _, x := range rt.rs.Extensions {
		v, ok := body[x.ID]
		if !ok || v == nil {
			continue
		}
		ext, serr := x.ValidateExtension(v)
		if serr != nil {
			return nil, &Error{Status: serr.Status, ScimType: string(serr.ScimType), Detail: serr.Detail}
		}
		attrs[x.ID] = ext
	}
	rt.rs.normalizeMultiValued(attrs)
	return attrs, nil
}

// preparePatch turns a PATCH body into the operations the backend gets: schemas checked, the IdP's
// dialect normalised, the operations bounded, control characters checked, each operation's op
// known, its path parsed (parsePatchPath) and resolved against the schema, and its value present
// where it must be. What a value must hold is left to ApplyPatch, which checks it against the
// attribute it lands in.
func preparePatch(body map[string]any, rt *resourceType) ([]PatchOperation, *Error) {
	if err := checkPatchSchemas(body); err != nil {
		return nil, err
	}
	body = NormalizePatch(body, rt.rs.Core.ID == URNUser)
	if err := checkPatchOperations(body); err != nil {
		return nil, err
	}
	if err := checkControlChars(body, ""); err != nil {
		return nil, err
	}
	raw, _ := body["Operations"].([]any)
	if len(raw) == 0 {
		return nil, Errorf(http.StatusBadRequest, TypeInvalidValue, "the PATCH body must hold Operations, an array of one or more operations (RFC 7644 §3.5.2)")
	}
	ops := make([]PatchOperation, 0, len(raw))
	for i, o := range raw {
		op, ok := o.(map[string]any)
		if !ok {
			return nil, Errorf(http.StatusBadRequest, TypeInvalidValue, "operation %d is not an object", i+1)
		}
		kind, _ := op["op"].(string)
		switch kind {
		case PatchAdd, PatchReplace, PatchRemove:
		default:
			return nil, Errorf(http.StatusBadRequest, TypeInvalidValue, "operation %d: op must be add, replace or remove, got %q", i+1, truncate(kind, 20))
		}
		out := PatchOperation{Op: kind}
		var target *patchTarget
		if p, present := op["path"]; present {
			s, ok := p.(string)
			if !ok {
				return nil, Errorf(http.StatusBadRequest, TypeInvalidPath, "operation %d: path must be a string", i+1)
			}
			if strings.TrimSpace(s) != "" {
				path, err := parsePatchPath(strings.TrimSpace(s))
				if err != nil {
					return nil, opBoundsError(err, i)
				}
				t, terr := rt.rs.patchTarget(*path)
				if terr != nil {
					return nil, opBoundsError(AsError(terr), i)
				}
				out.Path = path
				target = &t
			}
		}
		v, hasValue := op["value"]
		// A simple attribute's value in its type: Entra's "False" is false by the time the backend
		// sees it. A value that does not convert is left for ApplyPatch to refuse.
		if target != nil && target.extension == nil && target.filter == nil && v != nil && target.ref.Target().AttributeType() != "complex" {
			if c, ok := coerceAttribute(target.ref.Target(), v); ok {
				v = c
			}
		}
		switch {
		case out.Path == nil && kind == PatchRemove:
			return nil, Errorf(http.StatusBadRequest, TypeNoTarget, "operation %d: remove needs a path", i+1)
		case out.Path == nil:
			if _, ok := v.(map[string]any); !ok {
				return nil, Errorf(http.StatusBadRequest, TypeInvalidValue, "operation %d: an operation without a path needs an object value", i+1)
			}
		case kind != PatchRemove && (!hasValue || v == nil):
			return nil, Errorf(http.StatusBadRequest, TypeInvalidValue, "operation %d: %s needs a value", i+1, kind)
		}
		if hasValue {
			out.Value = v
		}
		ops = append(ops, out)
	}
	return ops, nil
}

// searchParams reads a POST .search body (RFC 7644 §3.4.3) into list parameters, holding it to the
// rules of a query: its schemas must name the SearchRequest message, and its filter, paging,
// attributes and sort are read as a query's are (prepareSearch).
func searchParams(body map[string]any) (listParams, *Error) {
	if err := prepareSearch(body); err != nil {
		return listParams{}, err
	}
	p := listParams{}
	if f, ok := body["filter"].(string); ok {
		p.filter = f
	}
	for _, k := range []string{"startIndex", "count"} {
		if v, ok := body[k]; ok {
			s := v.(string)
			if k == "startIndex" {
				p.startIndex = s
			} else {
				p.count = s
			}
		}
	}
	for _, k := range []string{"sortBy", "sortOrder"} {
		v, ok := body[k]
		if !ok || v == nil {
			continue
		}
		s, isString := v.(string)
		if !isString {
			return listParams{}, Errorf(http.StatusBadRequest, TypeInvalidValue, "%s must be a string", k)
		}
		if k == "sortBy" {
			p.sortBy = s
		} else {
			p.sortOrder = s
		}
	}
	list := func(k string) []string {
		l, _ := schemaList(body[k])
		return splitAttributeList(l)
	}
	p.projection = projection{attributes: list("attributes"), excluded: list("excludedAttributes")}
	return p, nil
}
