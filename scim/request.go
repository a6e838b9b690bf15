package scim

import (
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// This file reads what a request asks: its body (once, bounded, checked) and its list parameters,
// from a query or a .search body alike.

// readBody reads the request body within the size limit, checks its content type, and decodes it
// (decodeBody): the one decoding of a body, whose result the edge checks, normalises and hands to
// the backend.
func (e *edge) readBody(w http.ResponseWriter, r *http.Request) (map[string]any, *Error) {
	if !jsonContentType(r.Header.Get("Content-Type")) {
		return nil, Errorf(http.StatusUnsupportedMediaType, "", "send the body as application/scim+json or application/json")
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, e.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, Errorf(http.StatusRequestEntityTooLarge, "", "the request body is larger than %d bytes", e.cfg.MaxBodyBytes)
		}
		return nil, Errorf(http.StatusBadRequest, TypeInvalidSyntax, "the request body could not be read")
	}
	return decodeBody(data)
}

func jsonContentType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || mt == "application/scim+json" || strings.HasSuffix(mt, "+json") || mt == "text/json"
}

// listParams are the parameters of a list request, as text, whether from a query or a .search
// body.
type listParams struct {
	filter     string
	startIndex string
	count      string
	sortBy     string
	sortOrder  string
	projection projection
}

// queryParams reads the list parameters of a GET. Every filter parameter is bounded, not only the
// first: a second one must not be a way around the bounds.
func queryParams(q url.Values) (listParams, *Error) {
	for _, k := range []string{"startIndex", "count"} {
		if v := q.Get(k); v != "" {
			if _, err := pagingValue(k, v); err != nil {
				return listParams{}, err
			}
		}
	}
	for _, f := range q["filter"] {
		if err := checkFilterBounds(f); err != nil {
			return listParams{}, err
		}
	}
	return listParams{
		filter: q.Get("filter"), startIndex: q.Get("startIndex"), count: q.Get("count"),
		sortBy: q.Get("sortBy"), sortOrder: q.Get("sortOrder"),
		projection: projectionOf(q),
	}, nil
}

// projectionOf reads attributes and excludedAttributes from a query: comma-separated, possibly
// repeated.
func projectionOf(q url.Values) projection {
	return projection{attributes: splitAttributeList(q["attributes"]), excluded: splitAttributeList(q["excludedAttributes"])}
}

// listQuery turns list parameters into the backend's query: the filter compiled, paging clamped as
// RFC 7644 §3.4.2.4 says (startIndex below 1 is 1; count below 0 is 0 and above maxResults is
// maxResults), the sort attribute resolved.
func listQuery(p listParams, rs ResourceSchema) (ListQuery, *Error) {
	q := ListQuery{StartIndex: 1, Count: maxResults}
	if f := strings.TrimSpace(p.filter); f != "" {
		cf, err := compileFilter(f, rs)
		if err != nil {
			return ListQuery{}, err
		}
		q.Filter, q.Lookup = cf.expr, cf.lookup
	}
	if p.startIndex != "" {
		n, err := pagingValue("startIndex", p.startIndex)
		if err != nil {
			return ListQuery{}, err
		}
		q.StartIndex = int(max(n, 1))
	}
	if p.count != "" {
		n, err := pagingValue("count", p.count)
		if err != nil {
			return ListQuery{}, err
		}
		q.Count = int(min(max(n, 0), maxResults))
	}
	by, desc, err := sortOf(p.sortBy, p.sortOrder, rs)
	if err != nil {
		return ListQuery{}, err
	}
	q.SortBy, q.SortDescending = by, desc
	q.ExcludeMembers = includes(p.projection.excluded, "members")
	return q, nil
}

// pagingValue reads startIndex or count as an integer within int32. Values below 1 (startIndex) or
// 0 (count) are not errors: they are clamped, as RFC 7644 §3.4.2.4 asks.
func pagingValue(k, v string) (int64, *Error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, Errorf(http.StatusBadRequest, TypeInvalidValue, "%s must be an integer, got %q", k, truncate(v, 32))
	}
	if n > math.MaxInt32 || n < math.MinInt32 {
		return 0, Errorf(http.StatusBadRequest, TypeInvalidValue, "%s is out of range", k)
	}
	return n, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
