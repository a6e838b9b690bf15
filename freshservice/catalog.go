package freshservice

import (
	"context"
	"iter"
	"net/http"
	"strconv"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// RolesService reads agent roles (§7). Roles cannot be created or changed
// through the API.
type RolesService service

// Role is an agent role.
type Role struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Default     bool   `json:"default"`
	// WorkspaceID is the role's workspace in accounts with several; 0
	// where the account has none to show (§19).
	WorkspaceID int64 `json:"workspace_id"`
}

// List returns one page of roles.
func (s *RolesService) List(ctx context.Context, opts *ListOptions) ([]*Role, *Response, error) {
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	var out struct {
		Roles []*Role `json:"roles"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: "roles", route: "/api/v2/roles", query: o.values(nil), idempotent: true,
	}, &out)
	return out.Roles, resp, err
}

// All walks every page of roles.
func (s *RolesService) All(ctx context.Context) iter.Seq2[*Role, error] {
	return pages(ctx, func(ctx context.Context, page int) ([]*Role, *Response, error) {
		return s.List(ctx, &ListOptions{Page: page})
	})
}

// Get returns a role.
func (s *RolesService) Get(ctx context.Context, id int64) (*Role, *Response, error) {
	var out struct {
		Role *Role `json:"role"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: idPath("roles", id), route: "/api/v2/roles/{id}", idempotent: true,
	}, &out)
	return out.Role, resp, err
}

// DepartmentsService handles departments (§8).
type DepartmentsService service

// Department is a department ("company" in MSP mode).
type Department struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Domains     []string `json:"domains"`
	HeadUserID  int64    `json:"head_user_id"`
	PrimeUserID int64    `json:"prime_user_id"`
}

// DepartmentFields is the body of a department create or update.
type DepartmentFields struct {
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	Domains     *[]string `json:"domains"`
}

// MarshalJSON omits nil fields.
func (f DepartmentFields) MarshalJSON() ([]byte, error) { return marshalFields(f) }

// List returns one page of departments.
func (s *DepartmentsService) List(ctx context.Context, opts *ListOptions) ([]*Department, *Response, error) {
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	var out struct {
		Departments []*Department `json:"departments"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: "departments", route: "/api/v2/departments", query: o.values(nil), idempotent: true,
	}, &out)
	return out.Departments, resp, err
}

// All walks every page of departments.
func (s *DepartmentsService) All(ctx context.Context) iter.Seq2[*Department, error] {
	return pages(ctx, func(ctx context.Context, page int) ([]*Department, *Response, error) {
		return s.List(ctx, &ListOptions{Page: page})
	})
}

// Get returns a department.
func (s *DepartmentsService) Get(ctx context.Context, id int64) (*Department, *Response, error) {
	var out struct {
		Department *Department `json:"department"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: idPath("departments", id), route: "/api/v2/departments/{id}", idempotent: true,
	}, &out)
	return out.Department, resp, err
}

// Create creates a department (a real tenant answers 200, §19).
func (s *DepartmentsService) Create(ctx context.Context, f *DepartmentFields) (*Department, *Response, error) {
	var out struct {
		Department *Department `json:"department"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPost, path: "departments", route: "/api/v2/departments", body: f,
	}, &out)
	return out.Department, resp, err
}

// Update changes a department.
func (s *DepartmentsService) Update(ctx context.Context, id int64, f *DepartmentFields) (*Department, *Response, error) {
	var out struct {
		Department *Department `json:"department"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPut, path: idPath("departments", id), route: "/api/v2/departments/{id}", body: f, idempotent: true,
	}, &out)
	return out.Department, resp, err
}

// Delete deletes a department.
func (s *DepartmentsService) Delete(ctx context.Context, id int64) (*Response, error) {
	return s.client.do(ctx, request{
		method: http.MethodDelete, path: idPath("departments", id), route: "/api/v2/departments/{id}", idempotent: true,
	}, nil)
}

// LocationsService handles locations (§8).
type LocationsService service

// Location is a location. The address shape is uncertain (§8), so it is
// kept as raw JSON.
type Location struct {
	ID               int64          `json:"id"`
	Name             string         `json:"name"`
	ParentLocationID int64          `json:"parent_location_id"`
	PrimaryContactID int64          `json:"primary_contact_id"`
	Address          map[string]any `json:"address"`
}

// LocationFields is the body of a location create or update.
type LocationFields struct {
	Name             *string        `json:"name"`
	ParentLocationID *int64         `json:"parent_location_id"`
	Address          map[string]any `json:"address"`
}

// MarshalJSON omits nil fields.
func (f LocationFields) MarshalJSON() ([]byte, error) { return marshalFields(f) }

// List returns one page of locations.
func (s *LocationsService) List(ctx context.Context, opts *ListOptions) ([]*Location, *Response, error) {
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	var out struct {
		Locations []*Location `json:"locations"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: "locations", route: "/api/v2/locations", query: o.values(nil), idempotent: true,
	}, &out)
	return out.Locations, resp, err
}

// All walks every page of locations.
func (s *LocationsService) All(ctx context.Context) iter.Seq2[*Location, error] {
	return pages(ctx, func(ctx context.Context, page int) ([]*Location, *Response, error) {
		return s.List(ctx, &ListOptions{Page: page})
	})
}

// Get returns a location.
func (s *LocationsService) Get(ctx context.Context, id int64) (*Location, *Response, error) {
	var out struct {
		Location *Location `json:"location"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodGet, path: idPath("locations", id), route: "/api/v2/locations/{id}", idempotent: true,
	}, &out)
	return out.Location, resp, err
}

// Create creates a location.
func (s *LocationsService) Create(ctx context.Context, f *LocationFields) (*Location, *Response, error) {
	var out struct {
		Location *Location `json:"location"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPost, path: "locations", route: "/api/v2/locations", body: f,
	}, &out)
	return out.Location, resp, err
}

// Update changes a location.
func (s *LocationsService) Update(ctx context.Context, id int64, f *LocationFields) (*Location, *Response, error) {
	var out struct {
		Location *Location `json:"location"`
	}
	resp, err := s.client.do(ctx, request{
		method: http.MethodPut, path: idPath("locations", id), route: "/api/v2/locations/{id}", body: f, idempotent: true,
	}, &out)
	return out.Location, resp, err
}

// Delete deletes a location.
func (s *LocationsService) Delete(ctx context.Context, id int64) (*Response, error) {
	return s.client.do(ctx, request{
		method: http.MethodDelete, path: idPath("locations", id), route: "/api/v2/locations/{id}", idempotent: true,
	}, nil)
}
