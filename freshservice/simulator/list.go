package simulator

import (
	"fmt"
	"net/http"
	"strconv"
)

// Pagination (reference §11): page is 1-based, per_page defaults to 30 and
// may not exceed 100, and a Link header with rel="next" points at the next
// page only when there is one. List envelopes carry no totals.

const (
	defaultPerPage = 30
	maxPerPage     = 100
	// Filtered (query=) lists have a fixed page size and at most 40 pages
	// (reference §3.3).
	queryPerPage  = 30
	queryMaxPages = 40
)

type paging struct {
	page, perPage int
}

// paging reads page and per_page, appending an error for each bad value.
func (c *call) paging(errs *[]fieldError) paging {
	p := paging{page: 1, perPage: defaultPerPage}
	if v := c.q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			*errs = append(*errs, fieldError{Field: "page", Message: "It should be a/an Positive Integer", Code: codeInvalidValue})
		} else {
			p.page = n
		}
	}
	if v := c.q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPerPage {
			*errs = append(*errs, fieldError{Field: "per_page", Message: fmt.Sprintf("It should be a/an Positive Integer less than or equal to %d", maxPerPage), Code: codeInvalidValue})
		} else {
			p.perPage = n
		}
	}
	return p
}

// queryPaging reads page for a query= list; per_page is ignored there.
func (c *call) queryPaging(errs *[]fieldError) paging {
	p := paging{page: 1, perPage: queryPerPage}
	if v := c.q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > queryMaxPages {
			*errs = append(*errs, fieldError{Field: "page", Message: fmt.Sprintf("It should be a/an Positive Integer less than or equal to %d", queryMaxPages), Code: codeInvalidValue})
		} else {
			p.page = n
		}
	}
	return p
}

// pageOf returns the items of page p and whether a later page has items.
func pageOf[T any](items []T, p paging) ([]T, bool) {
	start := (p.page - 1) * p.perPage
	if start >= len(items) {
		return nil, false
	}
	end := min(start+p.perPage, len(items))
	return items[start:end], end < len(items)
}

// listReply renders one page of items under envelope, with a Link header
// when more exists and link is true.
func (c *call) listReply(envelope string, items []any, p paging, more, link bool) reply {
	rep := reply{status: http.StatusOK, body: map[string]any{envelope: list(items)}}
	if more && link {
		q := c.r.URL.Query()
		q.Set("page", strconv.Itoa(p.page+1))
		rep = rep.with("Link", fmt.Sprintf("<%s%s?%s>; rel=\"next\"", c.base, c.r.URL.Path, q.Encode()))
	}
	return rep
}

// listPage paginates items (already filtered and ordered) and renders them.
func listPage[T any](c *call, envelope string, items []T, p paging, link bool, render func(T) any) reply {
	page, more := pageOf(items, p)
	out := make([]any, len(page))
	for i, it := range page {
		out[i] = render(it)
	}
	return c.listReply(envelope, out, p, more, link)
}
