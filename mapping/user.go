package mapping

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fsbridge/fsbridge/freshservice"
)

// Catalog is what the mapping needs to know of the account: department and
// location names (Freshservice stores ids, IdPs send names).
type Catalog struct {
	Departments map[int64]string
	Locations   map[int64]string
}

func findByName(m map[int64]string, name string) (int64, bool) {
	name = strings.TrimSpace(name)
	var best int64
	for id, n := range m {
		if strings.EqualFold(strings.TrimSpace(n), name) && (best == 0 || id < best) {
			best = id
		}
	}
	return best, best != 0
}

// DepartmentID returns the id of the department with that name, ignoring
// case; the lowest id wins if names repeat.
func (c *Catalog) DepartmentID(name string) (int64, bool) {
	if c == nil {
		return 0, false
	}
	return findByName(c.Departments, name)
}

// LocationID returns the id of the location with that name, ignoring case.
func (c *Catalog) LocationID(name string) (int64, bool) {
	if c == nil {
		return 0, false
	}
	return findByName(c.Locations, name)
}

// Field names one Freshservice user field (or a pair that SCIM sets
// together) that a SCIM user can determine.
type Field uint32

// The fields of a Profile.
const (
	FieldEmail Field = 1 << iota
	FieldSecondaryEmails
	FieldName
	FieldJobTitle
	FieldWorkPhone
	FieldMobilePhone
	FieldAddress
	FieldTimeZone
	FieldLanguage
	FieldTimeFormat
	FieldBackground
	FieldDepartment
	FieldManager
	FieldLocation
	FieldCanSeeAllTickets
	FieldActive
	// FieldCustomFields are the configured custom fields (customfields.go);
	// their gaps name it.
	FieldCustomFields
	// FieldExternalID is SCIM externalId sent as Freshservice external_id
	// (mapping.external_id).
	FieldExternalID
)

// FieldSet is a set of Fields.
type FieldSet = Field

// Has reports whether f is in the set.
func (s Field) Has(f Field) bool { return s&f != 0 }

// Profile is the part of a Freshservice user that SCIM user attributes
// determine: the same for requesters and agents. Set says which fields the
// SCIM document spoke of; a field it never mentioned is left as
// Freshservice has it.
type Profile struct {
	Set                FieldSet
	Email              string
	SecondaryEmails    []string
	FirstName          string
	LastName           string
	JobTitle           string
	WorkPhone          string
	MobilePhone        string
	Address            string
	TimeZone           string
	Language           string
	TimeFormat         string
	Background         string
	DepartmentIDs      []int64
	ReportingManagerID int64
	LocationID         int64
	CanSeeAllTickets   bool
	Active             bool
	// CustomFields are the custom field values the configured mappings
	// give (by internal name); fields not in it are left as they are.
	CustomFields map[string]any
	// ExternalID is sent as external_id when FieldExternalID is set.
	ExternalID string
	// Gaps are attributes the IdP sent that Freshservice has no home for
	// (yet): their fields are left out of Set, so the rest of the user is
	// provisioned and Freshservice keeps what it has for them.
	Gaps []Gap
}

// Gap is one attribute value Freshservice cannot hold now: a time zone or
// language it does not have, a department or location the account lacks,
// a manager that is not (yet) a known user. A person is never refused for
// one (DESIGN D10); the value is kept as sent, and applied once the
// account can take it.
type Gap struct {
	Field  Field  `json:"field"`
	Attr   string `json:"attr"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

func (g Gap) String() string {
	return (&AttrError{Attr: g.Attr, Value: g.Value, Reason: g.Reason}).Error()
}

// HasGap reports whether field f has a gap.
func (p *Profile) HasGap(f Field) bool {
	for _, g := range p.Gaps {
		if g.Field == f {
			return true
		}
	}
	return false
}

// Strict is the refusal of a profile with gaps, for accounts that want a
// 400 rather than a partial user (scim.strict_attributes): the first gap
// as an *AttrError, or nil.
func (p *Profile) Strict() error {
	if len(p.Gaps) == 0 {
		return nil
	}
	g := p.Gaps[0]
	return &AttrError{Attr: g.Attr, Value: g.Value, Reason: g.Reason}
}

// gap records a value Freshservice cannot hold and stops managing its
// field for now.
func (p *Profile) gap(f Field, attr, value, reason string) {
	p.Set &^= f
	p.Gaps = append(p.Gaps, Gap{Field: f, Attr: attr, Value: value, Reason: reason})
}

// has reports whether the document carries the attribute (even empty).
func has(doc Doc, keys ...string) bool {
	_, ok := path(doc, keys...)
	return ok
}

// UserKnown reports whether a Freshservice user id exists, for the manager
// reference.
type UserKnown func(id int64) bool

// ProfileFromSCIM maps a SCIM user to the Freshservice fields it determines
// (the field table in docs/mapping.md). A value Freshservice has no home
// for (an unknown department, location or manager, an unmappable time zone
// or language) is a Gap: the profile leaves that field alone. It fails with
// *AttrError only for what no Freshservice user can be: no usable email, a
// time format other than 12h or 24h, a value longer than a field holds.
func ProfileFromSCIM(doc Doc, cat *Catalog, known UserKnown) (Profile, error) {
	var p Profile
	email, err := PrimaryEmail(doc)
	if err != nil {
		return p, err
	}
	p.Email = email
	p.SecondaryEmails = SecondaryEmails(doc, email)
	p.Set = FieldEmail
	// The name is managed only when the IdP sent one. Freshservice needs a
	// first name to create a user, so a create without one falls back on
	// the display name or the email's local part (planCreate always sends
	// it); but an existing user a POST adopts, or an update that carries no
	// name, keeps the name Freshservice has.
	if has(doc, "name") || str(doc, "displayName") != "" {
		p.Set |= FieldName
	}
	if has(doc, "emails") {
		p.Set |= FieldSecondaryEmails
	}

	p.FirstName = str(doc, "name", "givenName")
	p.LastName = str(doc, "name", "familyName")
	if p.FirstName == "" {
		// Freshservice requires first_name; fall back on the display name,
		// then the email's local part.
		dn := str(doc, "displayName")
		if f, l, ok := strings.Cut(dn, " "); ok && dn != "" {
			p.FirstName = f
			if p.LastName == "" {
				p.LastName = strings.TrimSpace(l)
			}
		} else if dn != "" {
			p.FirstName = dn
		} else {
			p.FirstName, _, _ = strings.Cut(email, "@")
		}
	}
	p.JobTitle = str(doc, "title")
	if has(doc, "title") {
		p.Set |= FieldJobTitle
	}
	if has(doc, "phoneNumbers") {
		p.Set |= FieldWorkPhone | FieldMobilePhone
	}
	if has(doc, "addresses") {
		p.Set |= FieldAddress
	}
	for _, ph := range items(doc, "phoneNumbers") {
		switch {
		case typeIs(ph, "work") && p.WorkPhone == "":
			p.WorkPhone = str(ph, "value")
		case typeIs(ph, "mobile") && p.MobilePhone == "":
			p.MobilePhone = str(ph, "value")
		}
	}
	p.Address = workAddress(doc)

	if tz := str(doc, "timezone"); tz != "" {
		if name, ok := TimeZoneToFreshservice(tz); ok {
			p.TimeZone = name
			p.Set |= FieldTimeZone
		} else {
			p.gap(FieldTimeZone, "timezone", tz, "has no Freshservice time zone")
		}
	}
	lang, attr := str(doc, "preferredLanguage"), "preferredLanguage"
	if lang == "" {
		lang, attr = str(doc, "locale"), "locale"
	}
	if lang != "" {
		if code, ok := LanguageToFreshservice(lang); ok {
			p.Language = code
			p.Set |= FieldLanguage
		} else {
			p.gap(FieldLanguage, attr, lang, "is not a language Freshservice supports")
		}
	}

	if has(doc, URNEnterprise, "department") {
		p.Set |= FieldDepartment
	}
	if has(doc, URNEnterprise, "manager") {
		p.Set |= FieldManager
	}
	if has(doc, URNFreshservice, "location") {
		p.Set |= FieldLocation
	}
	if has(doc, URNFreshservice, "backgroundInformation") {
		p.Set |= FieldBackground
	}
	if dept := str(doc, URNEnterprise, "department"); dept != "" {
		if id, ok := cat.DepartmentID(dept); ok {
			p.DepartmentIDs = []int64{id}
		} else {
			p.gap(FieldDepartment, URNEnterprise+":department", dept, "is not a Freshservice department (create it there, or change the IdP mapping)")
		}
	}
	if mgr := ManagerID(doc); mgr != "" {
		if id, err := strconv.ParseInt(mgr, 10, 64); err == nil && id > 0 && (known == nil || known(id)) {
			p.ReportingManagerID = id
		} else {
			p.gap(FieldManager, URNEnterprise+":manager", mgr, "is not the id of a user this bridge knows")
		}
	}
	if loc := str(doc, URNFreshservice, "location"); loc != "" {
		if id, ok := cat.LocationID(loc); ok {
			p.LocationID = id
		} else {
			p.gap(FieldLocation, URNFreshservice+":location", loc, "is not a Freshservice location (create it there, or change the IdP mapping)")
		}
	}
	if tf := str(doc, URNFreshservice, "timeFormat"); tf != "" {
		if tf != "12h" && tf != "24h" {
			return p, &AttrError{Attr: URNFreshservice + ":timeFormat", Value: tf, Reason: "is not 12h or 24h"}
		}
		p.TimeFormat = tf
		p.Set |= FieldTimeFormat
	}
	p.Background = str(doc, URNFreshservice, "backgroundInformation")
	if v, ok := boolAttr(doc, URNFreshservice, "canSeeAllTicketsFromAssociatedDepartments"); ok {
		p.CanSeeAllTickets = v
		p.Set |= FieldCanSeeAllTickets
	}

	// A new user is active unless the IdP says otherwise; an IdP that
	// never sends active does not manage it, so a deactivation made in
	// Freshservice is left alone.
	p.Active = true
	if a, ok := boolAttr(doc, "active"); ok {
		p.Active = a
		p.Set |= FieldActive
	}
	if err := checkLengths(&p); err != nil {
		return p, err
	}
	return p, nil
}

// MaxFieldLength is the longest value, in characters, taken for a one-line
// Freshservice user field (names, job title, phones, emails). The API
// reference does not state it; these are 255-character string columns, and
// the simulator answers 400 invalid_value beyond, as "Has N characters, it
// can have maximum of 255". The address and the background information
// are longer text and have no such limit here.
const MaxFieldLength = 255

// checkLengths refuses, before any call, a value Freshservice would refuse
// for its length, so the request fails whole instead of after a wasted
// write. It names the SCIM attribute the value came from.
func checkLengths(p *Profile) error {
	fields := []struct{ attr, v string }{
		{"userName", p.Email},
		{"name.givenName", p.FirstName},
		{"name.familyName", p.LastName},
		{"title", p.JobTitle},
		{"phoneNumbers[type eq \"work\"].value", p.WorkPhone},
		{"phoneNumbers[type eq \"mobile\"].value", p.MobilePhone},
	}
	for _, e := range p.SecondaryEmails {
		fields = append(fields, struct{ attr, v string }{"emails.value", e})
	}
	for _, f := range fields {
		if n := utf8.RuneCountInString(f.v); n > MaxFieldLength {
			return &AttrError{Attr: f.attr, Reason: fmt.Sprintf("is %d characters long; Freshservice takes at most %d", n, MaxFieldLength)}
		}
	}
	return nil
}

// PrimaryEmail is the Freshservice primary email of a SCIM user: userName
// when it is an email address (the usual mapping in Okta, Entra and
// OneLogin), otherwise the primary email, else the work email, else the
// first one.
func PrimaryEmail(doc Doc) (string, error) {
	if un := str(doc, "userName"); isEmail(un) {
		return un, nil
	}
	emails := items(doc, "emails")
	for _, pick := range []func(map[string]any) bool{isPrimary, func(e map[string]any) bool { return typeIs(e, "work") }, func(map[string]any) bool { return true }} {
		for _, e := range emails {
			if v := str(e, "value"); pick(e) && isEmail(v) {
				return v, nil
			}
		}
	}
	return "", &AttrError{Attr: "userName", Value: str(doc, "userName"), Reason: "is not an email address and the user has no email; Freshservice identifies people by email"}
}

func isEmail(s string) bool {
	if s == "" || strings.ContainsAny(s, " <>") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// SecondaryEmails are the user's other email values, without the primary
// and without repeats, ignoring case.
func SecondaryEmails(doc Doc, primary string) []string {
	seen := map[string]bool{strings.ToLower(primary): true}
	var out []string
	for _, e := range items(doc, "emails") {
		v := str(e, "value")
		if !isEmail(v) || seen[strings.ToLower(v)] {
			continue
		}
		seen[strings.ToLower(v)] = true
		out = append(out, v)
	}
	return out
}

// workAddress renders the work address (or the primary, or the only one) as
// one line, the shape Freshservice's address field holds.
func workAddress(doc Doc) string {
	addrs := items(doc, "addresses")
	var a map[string]any
	for _, x := range addrs {
		if typeIs(x, "work") {
			a = x
			break
		}
	}
	if a == nil {
		for _, x := range addrs {
			if isPrimary(x) {
				a = x
				break
			}
		}
	}
	if a == nil && len(addrs) == 1 {
		a = addrs[0]
	}
	if a == nil {
		return ""
	}
	if f := str(a, "formatted"); f != "" {
		return f
	}
	var parts []string
	for _, k := range []string{"streetAddress", "locality", "region", "postalCode", "country"} {
		if v := str(a, k); v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, ", ")
}

// ManagerID reads the enterprise manager reference, which IdPs send as an
// object with "value", as a plain string, or (OneLogin) with "managerId";
// empty means no manager.
func ManagerID(doc Doc) string {
	v, ok := path(doc, URNEnterprise, "manager")
	if !ok {
		return ""
	}
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case map[string]any:
		if s := str(t, "value"); s != "" {
			return s
		}
		return str(t, "managerId")
	}
	return ""
}

// ProfileOf reads the Profile a Freshservice user currently has.
func ProfileOf(u *freshservice.User) Profile {
	return Profile{
		Set:   ^FieldSet(0),
		Email: u.Email, SecondaryEmails: u.SecondaryEmails,
		FirstName: u.FirstName, LastName: u.LastName, JobTitle: u.JobTitle,
		WorkPhone: u.WorkPhone, MobilePhone: u.MobilePhone, Address: u.Address,
		TimeZone: u.TimeZone, Language: u.Language, TimeFormat: u.TimeFormat, Background: u.BackgroundInformation,
		DepartmentIDs: u.DepartmentIDs, ReportingManagerID: u.ReportingManagerID, LocationID: u.LocationID,
		CanSeeAllTickets: u.CanSeeAllTicketsFromAssociatedDepartments, Active: u.Active,
		CustomFields: u.CustomFields, ExternalID: u.ExternalID,
	}
}

// A binding ties SCIM attributes to one Freshservice field: whether the
// field differs between a desired and a current profile, and how to show
// the current value in SCIM.
type binding struct {
	// same reports whether the desired value w is what Freshservice holds
	// in h. Fields the IdP did not send are "same" when Freshservice holds
	// nothing either.
	same func(w, h *Profile) bool
	// show writes the Freshservice value into the SCIM document, replacing
	// whatever the desired state said there.
	show func(d Doc, u *freshservice.User, cat *Catalog)
	// agentOnly fields are not readable through the requester view.
	requesterOnly bool
	// field is the Profile field shown, for those that can have a Gap:
	// a gap's value is shown as the IdP sent it.
	field Field
}

var bindings = []binding{
	{ // userName and the primary email
		same: func(w, h *Profile) bool { return strings.EqualFold(w.Email, h.Email) },
		show: func(d Doc, u *freshservice.User, _ *Catalog) {
			d["userName"] = u.Email
			showEmails(d, u)
		},
	},
	{
		same:          func(w, h *Profile) bool { return sameEmails(w.SecondaryEmails, h.SecondaryEmails) },
		show:          func(d Doc, u *freshservice.User, _ *Catalog) { showEmails(d, u) },
		requesterOnly: true,
	},
	{
		same: sameName,
		show: func(d Doc, u *freshservice.User, _ *Catalog) {
			name := map[string]any{}
			if n, ok := d["name"].(map[string]any); ok {
				name = n
			}
			setOrDelete(name, "givenName", u.FirstName)
			setOrDelete(name, "familyName", u.LastName)
			delete(name, "formatted")
			if len(name) == 0 {
				delete(d, "name")
			} else {
				d["name"] = name
			}
			if full := u.Name(); full != "" {
				d["displayName"] = full
			} else {
				delete(d, "displayName")
			}
		},
	},
	{
		same: func(w, h *Profile) bool { return w.JobTitle == h.JobTitle },
		show: func(d Doc, u *freshservice.User, _ *Catalog) { setOrDelete(d, "title", u.JobTitle) },
	},
	{
		same: samePhones,
		show: func(d Doc, u *freshservice.User, _ *Catalog) {
			var out []any
			for _, ph := range items(d, "phoneNumbers") {
				if !typeIs(ph, "work") && !typeIs(ph, "mobile") {
					out = append(out, ph)
				}
			}
			if u.WorkPhone != "" {
				out = append(out, map[string]any{"type": "work", "value": u.WorkPhone})
			}
			if u.MobilePhone != "" {
				out = append(out, map[string]any{"type": "mobile", "value": u.MobilePhone})
			}
			setList(d, "phoneNumbers", out)
		},
	},
	{
		same: func(w, h *Profile) bool { return w.Address == h.Address },
		show: func(d Doc, u *freshservice.User, _ *Catalog) {
			var out []any
			for _, a := range items(d, "addresses") {
				if !typeIs(a, "work") {
					out = append(out, a)
				}
			}
			if u.Address != "" {
				out = append(out, map[string]any{"type": "work", "formatted": u.Address})
			}
			setList(d, "addresses", out)
		},
	},
	{
		field: FieldTimeZone,
		same:  func(w, h *Profile) bool { return w.TimeZone == "" || w.TimeZone == h.TimeZone },
		show: func(d Doc, u *freshservice.User, _ *Catalog) {
			if tz, ok := TimeZoneFromFreshservice(u.TimeZone); ok {
				d["timezone"] = tz
			} else {
				delete(d, "timezone")
			}
		},
	},
	{
		field: FieldLanguage,
		same:  func(w, h *Profile) bool { return w.Language == "" || w.Language == h.Language },
		show: func(d Doc, u *freshservice.User, _ *Catalog) {
			if u.Language != "" {
				d["preferredLanguage"] = LanguageFromFreshservice(u.Language)
				if _, ok := d["locale"]; ok {
					d["locale"] = LanguageFromFreshservice(u.Language)
				}
			}
		},
	},
	{
		field: FieldDepartment,
		same:  func(w, h *Profile) bool { return sameIDs(w.DepartmentIDs, h.DepartmentIDs) },
		show: func(d Doc, u *freshservice.User, cat *Catalog) {
			name := ""
			if len(u.DepartmentIDs) > 0 && cat != nil {
				name = cat.Departments[u.DepartmentIDs[0]]
			}
			setExt(d, URNEnterprise, "department", name)
		},
	},
	{
		field: FieldManager,
		same:  func(w, h *Profile) bool { return w.ReportingManagerID == h.ReportingManagerID },
		show: func(d Doc, u *freshservice.User, _ *Catalog) {
			var mgr any
			if u.ReportingManagerID != 0 {
				mgr = map[string]any{"value": strconv.FormatInt(u.ReportingManagerID, 10)}
			}
			setExt(d, URNEnterprise, "manager", mgr)
		},
	},
	{
		field: FieldLocation,
		same:  func(w, h *Profile) bool { return w.LocationID == h.LocationID },
		show: func(d Doc, u *freshservice.User, cat *Catalog) {
			name := ""
			if u.LocationID != 0 && cat != nil {
				name = cat.Locations[u.LocationID]
			}
			setExt(d, URNFreshservice, "location", name)
		},
	},
	{
		same: func(w, h *Profile) bool { return w.TimeFormat == "" || w.TimeFormat == h.TimeFormat },
		show: func(d Doc, u *freshservice.User, _ *Catalog) { setExt(d, URNFreshservice, "timeFormat", u.TimeFormat) },
	},
	{
		same: func(w, h *Profile) bool { return w.Background == h.Background },
		show: func(d Doc, u *freshservice.User, _ *Catalog) {
			setExt(d, URNFreshservice, "backgroundInformation", u.BackgroundInformation)
		},
	},
	{
		same: func(w, h *Profile) bool {
			return !w.Set.Has(FieldCanSeeAllTickets) || w.CanSeeAllTickets == h.CanSeeAllTickets
		},
		show: func(d Doc, u *freshservice.User, _ *Catalog) {
			var v any
			if u.CanSeeAllTicketsFromAssociatedDepartments {
				v = true
			}
			setExt(d, URNFreshservice, "canSeeAllTicketsFromAssociatedDepartments", v)
		},
	},
	{
		same: func(w, h *Profile) bool { return w.Active == h.Active },
		show: func(d Doc, u *freshservice.User, _ *Catalog) { d["active"] = u.Active },
	},
}

func setOrDelete(m map[string]any, key, v string) {
	if v == "" {
		delete(m, key)
	} else {
		m[key] = v
	}
}

func setList(d Doc, key string, l []any) {
	if len(l) == 0 {
		delete(d, key)
	} else {
		d[key] = l
	}
}

func setExt(d Doc, urn, key string, v any) {
	if v == nil || v == "" {
		if ext, ok := d[urn].(map[string]any); ok {
			delete(ext, key)
			if len(ext) == 0 {
				delete(d, urn)
			}
		}
		return
	}
	setPath(d, v, urn, key)
}

// showEmails writes the primary email and, from the requester view, the
// secondary ones, keeping the types and display values the desired state
// gave to the same addresses.
func showEmails(d Doc, u *freshservice.User) {
	old := map[string]map[string]any{}
	for _, e := range items(d, "emails") {
		old[strings.ToLower(str(e, "value"))] = e
	}
	entry := func(v string, primary bool, typ string) map[string]any {
		e := map[string]any{"value": v, "type": typ}
		if o, ok := old[strings.ToLower(v)]; ok {
			for k, x := range o {
				if k != "value" && k != "primary" {
					e[k] = x
				}
			}
		}
		if primary {
			e["primary"] = true
		}
		return e
	}
	out := []any{entry(u.Email, true, "work")}
	secondary := u.SecondaryEmails
	if u.View == freshservice.ViewAgent {
		// The agent view has no secondary emails: keep what was asked.
		secondary = nil
		for _, e := range items(d, "emails") {
			if v := str(e, "value"); v != "" && !strings.EqualFold(v, u.Email) {
				secondary = append(secondary, v)
			}
		}
	}
	for _, s := range secondary {
		out = append(out, entry(s, false, "other"))
	}
	d["emails"] = out
}

// ToSCIM builds the SCIM view of a Freshservice user. desired is the SCIM
// document the IdP last had accepted (nil for users the bridge does not
// manage). Attributes Freshservice cannot hold come from desired as they
// are; for every Freshservice-backed attribute, desired's value is shown when
// it maps to what Freshservice holds (so IdPs read back exactly what they
// wrote), and Freshservice's value otherwise (so changes made in
// Freshservice are visible).
//
// known tells which manager ids are users (nil: any id is), so that an
// unknown manager the IdP sent is shown as sent, like every other gap.
func ToSCIM(u *freshservice.User, desired Doc, cat *Catalog, known UserKnown) Doc {
	d := DeepCopy(desired)
	if d == nil {
		d = Doc{}
	}
	delete(d, "password")
	have := ProfileOf(u)
	want, err := ProfileFromSCIM(desired, cat, known)
	consistent := desired != nil && err == nil
	for _, b := range bindings {
		if b.requesterOnly && u.View == freshservice.ViewAgent {
			continue
		}
		if consistent && b.field != 0 && want.HasGap(b.field) {
			continue // kept as the IdP sent it, until Freshservice can hold it
		}
		if !consistent || !b.same(&want, &have) {
			b.show(d, u, cat)
		}
	}
	if !consistent {
		// Attributes only an IdP sets that Freshservice derives differently.
		if _, ok := d["displayName"]; !ok && u.Name() != "" {
			d["displayName"] = u.Name()
		}
	}
	// Whether the user can sign in is always Freshservice's answer, sent
	// or not.
	d["active"] = u.Active
	showAgentState(d, u)
	return d
}

// showAgentState writes the read-only Freshservice fact of the user into
// the extension: agentType is "fulltime" or "occasional" for agents and
// absent for requesters. It is read-only in the schema, so an IdP that PUTs
// back what it read (Okta) cannot turn it into a request. The writable
// userType, isAgent and roles are shown only as the IdP set them.
func showAgentState(d Doc, u *freshservice.User) {
	ext, _ := d[URNFreshservice].(map[string]any)
	if ext == nil {
		ext = map[string]any{}
	}
	delete(ext, "agentType")
	if u.IsAgent {
		ext["agentType"] = "fulltime"
		if u.Occasional {
			ext["agentType"] = "occasional"
		}
	}
	if len(ext) == 0 {
		delete(d, URNFreshservice)
		return
	}
	d[URNFreshservice] = ext
}
