package simulator

import (
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// This file implements /roles (read-only, reference §7), /departments and
// /locations (reference §8).

func (c *call) listRoles() reply {
	var errs []fieldError
	p := c.paging(&errs)
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	var visible []*Role
	for _, r := range sortedByID(c.st.roles) {
		if c.workspaceVisible(r.WorkspaceID) {
			visible = append(visible, r)
		}
	}
	return listPage(c, "roles", visible, p, true, func(r *Role) any { return c.roleView(r) })
}

func (c *call) getRole() reply {
	r, ok := c.st.roles[c.ids[0]]
	if !ok || !c.workspaceVisible(r.WorkspaceID) {
		return c.notFound()
	}
	return okReply("role", c.roleView(r))
}

// nameSchema is the query= schema of departments and locations: name only.
var nameSchema = &qschema{fields: map[string]qkind{"name": qkString}}

// searchByName serves ?query="name:'x'" on departments and locations, with
// the same quoting, length and paging rules as user searches but no index
// lag and id order.
func searchByName[T any](c *call, envelope string, items []*T, name func(*T) string, render func(*T) any) reply {
	var errs []fieldError
	p := c.queryPaging(&errs)
	expr, err := parseQuery(c.q.Get("query"), nameSchema)
	if err != nil {
		errs = append(errs, fieldError{Field: "query", Message: queryMessage(err), Code: codeInvalidValue})
	}
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	var hits []*T
	for _, it := range items {
		if expr.match(func(string) any { return name(it) }) {
			hits = append(hits, it)
		}
	}
	return listPage(c, envelope, hits, p, c.sw.QueryLink && p.page < queryMaxPages, render)
}

// Departments.

type departmentInput struct {
	name, description       *string
	headUserID, primeUserID *int64
	domains                 *[]string
	customFields            map[string]any
}

func readDepartmentInput(f *form) *departmentInput {
	return &departmentInput{
		name: f.str("name"), description: f.str("description"),
		headUserID: f.id("head_user_id"), primeUserID: f.id("prime_user_id"),
		domains: f.strs("domains"), customFields: f.customFields("custom_fields"),
	}
}

func (c *call) checkDepartment(in *departmentInput) []fieldError {
	var errs []fieldError
	if in.name != nil && strings.TrimSpace(*in.name) == "" {
		errs = append(errs, fieldError{Field: "name", Message: "It should not be blank", Code: codeInvalidValue})
	}
	for key, id := range map[string]*int64{"head_user_id": in.headUserID, "prime_user_id": in.primeUserID} {
		if id != nil && *id != 0 {
			if _, ok := c.st.users[*id]; !ok {
				errs = append(errs, fieldError{Field: key, Message: fmt.Sprintf("There is no user with the id %d", *id), Code: codeInvalidValue})
			}
		}
	}
	slices.SortFunc(errs, func(a, b fieldError) int { return strings.Compare(a.Field, b.Field) })
	return errs
}

func applyDepartmentInput(d *Department, in *departmentInput) {
	if in.name != nil {
		d.Name = *in.name
	}
	if in.description != nil {
		d.Description = *in.description
	}
	if in.headUserID != nil {
		d.HeadUserID = *in.headUserID
	}
	if in.primeUserID != nil {
		d.PrimeUserID = *in.primeUserID
	}
	if in.domains != nil {
		d.Domains = slices.Clone(*in.domains)
	}
	if in.customFields != nil {
		if d.CustomFields == nil {
			d.CustomFields = map[string]any{}
		}
		for k, v := range in.customFields {
			d.CustomFields[k] = v
		}
	}
}

func (c *call) departmentNameTaken(name string, except int64) bool {
	return nameTaken(c.st.departments, name, except, func(d *Department) (int64, string) { return d.ID, d.Name })
}

func (c *call) listDepartments() reply {
	render := func(d *Department) any { return c.st.departmentView(d) }
	items := sortedByID(c.st.departments)
	if c.q.Has("query") {
		return searchByName(c, "departments", items, func(d *Department) string { return d.Name }, render)
	}
	var errs []fieldError
	p := c.paging(&errs)
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	return listPage(c, "departments", items, p, true, render)
}

func (c *call) getDepartment() reply {
	d, ok := c.st.departments[c.ids[0]]
	if !ok {
		return c.notFound()
	}
	return okReply("department", c.st.departmentView(d))
}

func (c *call) createDepartment() reply {
	in := readDepartmentInput(c.f)
	errs := c.f.finish()
	if !c.f.has("name") {
		errs = append(errs, fieldError{Field: "name", Message: "It should be a/an String", Code: codeMissingField})
	}
	errs = append(errs, c.checkDepartment(in)...)
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	if c.departmentNameTaken(*in.name, 0) {
		return duplicateName()
	}
	d := &Department{CustomFields: map[string]any{}, CreatedAt: c.now, UpdatedAt: c.now}
	d.ID = allocate(&c.st.nextDepartment, 0)
	applyDepartmentInput(d, in)
	c.st.departments[d.ID] = d
	// A real tenant answers 200 here, not 201 (reference §19).
	return createdWith(http.StatusOK, c.base, "department", "/api/v2/departments", d.ID, c.st.departmentView(d))
}

func (c *call) updateDepartment() reply {
	d, ok := c.st.departments[c.ids[0]]
	if !ok {
		return c.notFound()
	}
	in := readDepartmentInput(c.f)
	errs := append(c.f.finish(), c.checkDepartment(in)...)
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	if in.name != nil && c.departmentNameTaken(*in.name, d.ID) {
		return duplicateName()
	}
	before := *d
	before.Domains = slices.Clone(d.Domains)
	before.CustomFields = maps.Clone(d.CustomFields)
	applyDepartmentInput(d, in)
	if !reflect.DeepEqual(before, *d) {
		d.UpdatedAt = c.now
	}
	return okReply("department", c.st.departmentView(d))
}

// deleteDepartment removes the department from every user that had it.
func (c *call) deleteDepartment() reply {
	d, ok := c.st.departments[c.ids[0]]
	if !ok {
		return c.notFound()
	}
	delete(c.st.departments, d.ID)
	for _, u := range c.st.users {
		if slices.Contains(u.DepartmentIDs, d.ID) {
			u.DepartmentIDs = slices.DeleteFunc(u.DepartmentIDs, func(x int64) bool { return x == d.ID })
			normalizeUser(u)
			c.indexUser(u)
		}
	}
	return noContent()
}

// Locations.

type locationInput struct {
	name, email, phone                      *string
	parentID, primaryContactID              *int64
	line1, line2, city, state, country, zip *string
}

// readLocationInput reads a location body; the address is a nested object
// unless the flat switch is on (reference §8, UNCERTAIN).
func readLocationInput(f *form, flat bool) *locationInput {
	in := &locationInput{
		name: f.str("name"), email: f.str("email"), phone: f.str("phone"),
		parentID: f.id("parent_location_id"), primaryContactID: f.id("primary_contact_id"),
	}
	if flat {
		in.line1, in.line2 = f.str("address_line1"), f.str("address_line2")
		in.city, in.state, in.country, in.zip = f.str("city"), f.str("state"), f.str("country"), f.str("zipcode")
		return in
	}
	raw, ok := f.raw("address")
	if !ok || isNull(raw) {
		if ok {
			empty := ""
			in.line1, in.line2, in.city, in.state, in.country, in.zip = &empty, &empty, &empty, &empty, &empty, &empty
		}
		return in
	}
	sub, ferr := parseForm(raw)
	if ferr != nil {
		f.mismatch("address", "key/value pair")
		return in
	}
	in.line1, in.line2 = sub.str("line1"), sub.str("line2")
	in.city, in.state, in.country, in.zip = sub.str("city"), sub.str("state"), sub.str("country"), sub.str("zipcode")
	for _, e := range sub.finish() {
		e.Field = "address." + e.Field
		f.errs = append(f.errs, e)
	}
	return in
}

func (c *call) checkLocation(in *locationInput, self int64) []fieldError {
	var errs []fieldError
	if in.name != nil && strings.TrimSpace(*in.name) == "" {
		errs = append(errs, fieldError{Field: "name", Message: "It should not be blank", Code: codeInvalidValue})
	}
	if in.parentID != nil && *in.parentID != 0 {
		if _, ok := c.st.locations[*in.parentID]; !ok || *in.parentID == self || c.locationDescendsFrom(*in.parentID, self) {
			errs = append(errs, fieldError{Field: "parent_location_id", Message: fmt.Sprintf("There is no other location with the id %d that can be the parent", *in.parentID), Code: codeInvalidValue})
		}
	}
	if in.primaryContactID != nil && *in.primaryContactID != 0 {
		if _, ok := c.st.users[*in.primaryContactID]; !ok {
			errs = append(errs, fieldError{Field: "primary_contact_id", Message: fmt.Sprintf("There is no user with the id %d", *in.primaryContactID), Code: codeInvalidValue})
		}
	}
	if in.email != nil && *in.email != "" && !validEmail(*in.email) {
		errs = append(errs, fieldError{Field: "email", Message: "It should be in the 'valid email address' format", Code: codeInvalidValue})
	}
	return errs
}

// locationDescendsFrom reports whether id has ancestor as a parent,
// grandparent, and so on; it keeps the location tree free of cycles.
func (c *call) locationDescendsFrom(id, ancestor int64) bool {
	if ancestor == 0 {
		return false
	}
	for seen := 0; id != 0 && seen <= len(c.st.locations); seen++ {
		l, ok := c.st.locations[id]
		if !ok {
			return false
		}
		if l.ParentLocationID == ancestor {
			return true
		}
		id = l.ParentLocationID
	}
	return false
}

func applyLocationInput(l *Location, in *locationInput) {
	for _, f := range []struct {
		dst *string
		src *string
	}{
		{&l.Name, in.name}, {&l.Email, in.email}, {&l.Phone, in.phone},
		{&l.Address.Line1, in.line1}, {&l.Address.Line2, in.line2}, {&l.Address.City, in.city},
		{&l.Address.State, in.state}, {&l.Address.Country, in.country}, {&l.Address.Zipcode, in.zip},
	} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if in.parentID != nil {
		l.ParentLocationID = *in.parentID
	}
	if in.primaryContactID != nil {
		l.PrimaryContactID = *in.primaryContactID
	}
}

func (c *call) locationNameTaken(name string, except int64) bool {
	return nameTaken(c.st.locations, name, except, func(l *Location) (int64, string) { return l.ID, l.Name })
}

func (c *call) listLocations() reply {
	render := func(l *Location) any { return c.st.locationView(l, c.sw.LocationAddressFlat) }
	items := sortedByID(c.st.locations)
	if c.q.Has("query") {
		return searchByName(c, "locations", items, func(l *Location) string { return l.Name }, render)
	}
	var errs []fieldError
	p := c.paging(&errs)
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	return listPage(c, "locations", items, p, true, render)
}

func (c *call) getLocation() reply {
	l, ok := c.st.locations[c.ids[0]]
	if !ok {
		return c.notFound()
	}
	return okReply("location", c.st.locationView(l, c.sw.LocationAddressFlat))
}

func (c *call) createLocation() reply {
	in := readLocationInput(c.f, c.sw.LocationAddressFlat)
	errs := c.f.finish()
	if !c.f.has("name") {
		errs = append(errs, fieldError{Field: "name", Message: "It should be a/an String", Code: codeMissingField})
	}
	errs = append(errs, c.checkLocation(in, 0)...)
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	if c.locationNameTaken(*in.name, 0) {
		return duplicateName()
	}
	l := &Location{CreatedAt: c.now, UpdatedAt: c.now}
	l.ID = allocate(&c.st.nextLocation, 0)
	applyLocationInput(l, in)
	c.st.locations[l.ID] = l
	return c.created("location", "/api/v2/locations", l.ID, c.st.locationView(l, c.sw.LocationAddressFlat))
}

func (c *call) updateLocation() reply {
	l, ok := c.st.locations[c.ids[0]]
	if !ok {
		return c.notFound()
	}
	in := readLocationInput(c.f, c.sw.LocationAddressFlat)
	errs := append(c.f.finish(), c.checkLocation(in, l.ID)...)
	if len(errs) > 0 {
		return validationError(http.StatusBadRequest, errs)
	}
	if in.name != nil && c.locationNameTaken(*in.name, l.ID) {
		return duplicateName()
	}
	before := *l
	applyLocationInput(l, in)
	if before != *l {
		l.UpdatedAt = c.now
	}
	return okReply("location", c.st.locationView(l, c.sw.LocationAddressFlat))
}

// deleteLocation removes the location from users and child locations.
func (c *call) deleteLocation() reply {
	l, ok := c.st.locations[c.ids[0]]
	if !ok {
		return c.notFound()
	}
	delete(c.st.locations, l.ID)
	for _, u := range c.st.users {
		if u.LocationID == l.ID {
			u.LocationID = 0
			c.indexUser(u)
		}
	}
	for _, child := range c.st.locations {
		if child.ParentLocationID == l.ID {
			child.ParentLocationID = 0
		}
	}
	return noContent()
}
