package scim

import (
	"net/http"
	"strings"
	"time"

	escim "github.com/elimity-com/scim"
	serrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
)

// adapter serves one resource type to the library: it calls the Backend,
// projects attributes as the request asks, and reports backend errors
// through the request state (the library would mangle 429 and 503).
type adapter struct {
	b    Backend
	rs   ResourceSchema
	kind string
}

var _ escim.ResourceHandler = (*adapter)(nil)
var _ escim.ResourceSearcher = (*adapter)(nil)

// fail records err for the edge to answer with, and gives the library an
// error of its own (whose rendering the edge discards).
func fail(r *http.Request, err error) error {
	if st := stateOf(r); st != nil && st.err == nil {
		st.err = err
	}
	return serrors.ScimErrorInternal
}

func (a *adapter) resource(r *http.Request, res Resource, attributes, excluded []string) escim.Resource {
	attrs := res.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	if len(attributes) > 0 || len(excluded) > 0 {
		attrs = Project(attrs, attributes, excluded, a.rs)
	} else {
		attrs = Project(attrs, nil, nil, a.rs)
	}
	delete(attrs, "id")
	delete(attrs, "schemas")
	delete(attrs, "meta")
	out := escim.Resource{ID: res.ID, Attributes: attrs, Meta: escim.Meta{Version: res.Version}}
	if res.ExternalID != "" && !excludes(excluded, "externalId") && (len(attributes) == 0 || includes(attributes, "externalId")) {
		out.ExternalID = optional.NewString(res.ExternalID)
	}
	delete(out.Attributes, "externalId")
	if !res.Created.IsZero() {
		c := res.Created.UTC().Truncate(time.Second)
		out.Meta.Created = &c
	}
	if !res.Modified.IsZero() {
		m := res.Modified.UTC().Truncate(time.Second)
		out.Meta.LastModified = &m
	}
	return out
}

func includes(list []string, name string) bool {
	for _, s := range list {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return true
		}
	}
	return false
}

func excludes(list []string, name string) bool { return includes(list, name) }

// projectionOf reads attributes and excludedAttributes from the query.
func projectionOf(r *http.Request) (attributes, excluded []string) {
	q := r.URL.Query()
	split := func(v string) []string {
		var out []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	return split(q.Get("attributes")), split(q.Get("excludedAttributes"))
}

func (a *adapter) Create(r *http.Request, attrs escim.ResourceAttributes) (escim.Resource, error) {
	res, err := a.b.Create(r.Context(), attrs)
	if err != nil {
		return escim.Resource{}, fail(r, err)
	}
	at, ex := projectionOf(r)
	return a.resource(r, res, at, ex), nil
}

func (a *adapter) Get(r *http.Request, id string) (escim.Resource, error) {
	if id == "" {
		return escim.Resource{}, fail(r, NotFound(a.kind, id))
	}
	res, err := a.b.Get(r.Context(), id)
	if err != nil {
		return escim.Resource{}, fail(r, err)
	}
	at, ex := projectionOf(r)
	return a.resource(r, res, at, ex), nil
}

func (a *adapter) GetAll(r *http.Request, params escim.ListRequestParams) (escim.Page, error) {
	at, ex := projectionOf(r)
	q := ListQuery{StartIndex: params.StartIndex, Count: params.Count, ExcludeMembers: includes(ex, "members")}
	if st := stateOf(r); st != nil && st.filter != nil {
		q.Filter = st.filter
	} else if params.FilterValidator != nil {
		q.Filter = params.FilterValidator.GetFilter()
	}
	return a.list(r, q, at, ex)
}

func (a *adapter) Search(r *http.Request, params escim.SearchParams) (escim.Page, error) {
	q := ListQuery{StartIndex: params.StartIndex, Count: params.Count, ExcludeMembers: includes(params.ExcludedAttributes, "members")}
	// The edge compiled the body's filter (compileFilter) and kept it from
	// the library, so a search and a GET accept the same filters.
	if st := stateOf(r); st != nil && st.filter != nil {
		q.Filter = st.filter
	}
	return a.list(r, q, params.Attributes, params.ExcludedAttributes)
}

func (a *adapter) list(r *http.Request, q ListQuery, at, ex []string) (escim.Page, error) {
	page, err := a.b.List(r.Context(), q)
	if err != nil {
		return escim.Page{}, fail(r, err)
	}
	out := escim.Page{TotalResults: page.Total, Resources: make([]escim.Resource, 0, len(page.Resources))}
	for _, res := range page.Resources {
		out.Resources = append(out.Resources, a.resource(r, res, at, ex))
	}
	return out, nil
}

func (a *adapter) Replace(r *http.Request, id string, attrs escim.ResourceAttributes) (escim.Resource, error) {
	res, err := a.b.Replace(r.Context(), id, attrs)
	if err != nil {
		return escim.Resource{}, fail(r, err)
	}
	at, ex := projectionOf(r)
	return a.resource(r, res, at, ex), nil
}

func (a *adapter) Patch(r *http.Request, id string, ops []escim.PatchOperation) (escim.Resource, error) {
	res, err := a.b.Patch(r.Context(), id, ops)
	if err != nil {
		return escim.Resource{}, fail(r, err)
	}
	if res.ID == "" {
		return escim.Resource{}, nil // 204
	}
	at, ex := projectionOf(r)
	out := a.resource(r, res, at, ex)
	if len(out.Attributes) == 0 {
		// The library answers 204 for an empty attribute map; a user PATCH
		// must answer 200 with the resource.
		out.Attributes = escim.ResourceAttributes{"id": res.ID}
	}
	return out, nil
}

func (a *adapter) Delete(r *http.Request, id string) error {
	if err := a.b.Delete(r.Context(), id); err != nil {
		return fail(r, err)
	}
	return nil
}
