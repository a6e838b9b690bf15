package freshservice

import (
	"context"
	"iter"
)

// pages walks a list endpoint page by page, following Link rel="next"
// (§11), and yields every item. Freshservice lists have no totals and pages
// can shift while records change; callers that need uniqueness
// de-duplicate by id.
func pages[T any](ctx context.Context, fetch func(ctx context.Context, page int) ([]T, *Response, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		page := 1
		for {
			items, resp, err := fetch(ctx, page)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if resp == nil || resp.NextPage <= page || len(items) == 0 {
				return
			}
			page = resp.NextPage
		}
	}
}
