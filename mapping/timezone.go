package mapping

import (
	"cmp"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // The offset fallback must work in containers that ship no zoneinfo.

	"github.com/fsbridge/fsbridge/freshservice"
)

// TimeZoneToFreshservice translates a SCIM timezone (an IANA zone such as
// "America/New_York") into the Rails name Freshservice stores in time_zone
// (such as "Eastern Time (US & Canada)"). Surrounding spaces and letter case
// are ignored. It tries, in order:
//
//  1. a Rails name already ("London", "eastern time (us & canada)", or
//     Rails' display form "(GMT+00:00) London"): returned in Rails' spelling;
//  2. an IANA zone Rails itself uses: its preferred Rails name (see below);
//  3. a known alias, such as "US/Eastern", "America/Detroit", "Asia/Calcutta",
//     "Europe/Kyiv" or "Asia/Dubai";
//  4. any other zone the tz database knows: the Rails zone with the same UTC
//     offsets on 15 January and 15 July 2025, so that the person's clock and
//     daylight-saving season stay right.
//
// Several Rails names share one IANA zone. The preferred name is the one
// named after the zone's own city ("Kolkata" for Asia/Kolkata, not "Chennai",
// "Mumbai" or "New Delhi"; "London", not "Edinburgh"), so the answer never
// depends on map order. When several Rails zones match in step 4, the tie is
// broken by, in order: most leading path elements shared with the input
// ("America/Argentina/Cordoba" prefers "America/Argentina/Buenos_Aires"),
// then "UTC", then a preferred name, then Rails' table order.
//
// It returns ("", false) for an empty or malformed value, a zone the tz
// database does not know, and a zone whose offsets no Rails zone has (such as
// "Pacific/Kiritimati" at UTC+14 or "Australia/Lord_Howe"). The caller reports
// that as a SCIM 400 invalidValue on the timezone attribute.
func TimeZoneToFreshservice(iana string) (string, bool) {
	s := strings.TrimSpace(iana)
	if s == "" || len(s) > maxZoneLen {
		return "", false
	}
	key := strings.ToLower(s)
	if name, ok := zoneIdx.byName[key]; ok {
		return name, true
	}
	if name, ok := zoneIdx.byIANA[key]; ok {
		return name, true
	}
	if name, ok := zoneAliases[key]; ok {
		return name, true
	}
	if rest, ok := stripDisplayOffset(s); ok {
		if name, ok := zoneIdx.byName[strings.ToLower(rest)]; ok {
			return name, true
		}
		return "", false
	}
	return zoneByOffsets(s)
}

// TimeZoneFromFreshservice returns the IANA zone Rails maps a Freshservice
// time_zone name to, for SCIM's timezone attribute. It is Rails' own
// identifier, so a few are older names the tz database keeps as links
// ("Kyiv" gives "Europe/Kiev"). Surrounding spaces and letter case are
// ignored; an unknown name gives ("", false).
func TimeZoneFromFreshservice(name string) (string, bool) {
	key := strings.ToLower(strings.TrimSpace(name))
	canonical, ok := zoneIdx.byName[key]
	if !ok {
		return "", false
	}
	return freshservice.TimeZoneIANA(canonical)
}

// maxZoneLen bounds what reaches time.LoadLocation; the longest tz database
// name is about 30 bytes and Rails names are shorter.
const maxZoneLen = 64

// zoneIndex is freshservice.TimeZones indexed for lookups. Keys are lower case.
type zoneIndex struct {
	byName    map[string]string // lower-case Rails name -> Rails name
	byIANA    map[string]string // lower-case Rails IANA zone -> preferred Rails name
	preferred map[string]bool   // Rails names that are their zone's preferred name
}

var zoneIdx = buildZoneIndex(freshservice.TimeZones)

func buildZoneIndex(zones []freshservice.TimeZone) zoneIndex {
	idx := zoneIndex{
		byName:    make(map[string]string, len(zones)),
		byIANA:    make(map[string]string, len(zones)),
		preferred: make(map[string]bool, len(zones)),
	}
	for _, z := range zones {
		idx.byName[strings.ToLower(z.Name)] = z.Name
	}
	// First pass: a name that is the zone's own city wins its zone.
	for _, z := range zones {
		if strings.EqualFold(z.Name, zoneCity(z.IANA)) {
			idx.byIANA[strings.ToLower(z.IANA)] = z.Name
		}
	}
	// Second pass: otherwise the first name in Rails' order.
	for _, z := range zones {
		key := strings.ToLower(z.IANA)
		if _, ok := idx.byIANA[key]; !ok {
			idx.byIANA[key] = z.Name
		}
	}
	for _, name := range idx.byIANA {
		idx.preferred[name] = true
	}
	return idx
}

// zoneCity turns "America/Mexico_City" into "Mexico City".
func zoneCity(iana string) string {
	city := iana[strings.LastIndexByte(iana, '/')+1:]
	return strings.ReplaceAll(city, "_", " ")
}

// stripDisplayOffset removes the "(GMT-05:00) " prefix of Rails'
// TimeZone#to_s, the form Rails zone pickers display, in case an admin
// copied a value from one.
func stripDisplayOffset(s string) (string, bool) {
	upper := strings.ToUpper(s)
	if !strings.HasPrefix(upper, "(GMT") && !strings.HasPrefix(upper, "(UTC") {
		return "", false
	}
	i := strings.IndexByte(s, ')')
	if i < 0 {
		return "", false
	}
	return strings.TrimSpace(s[i+1:]), true
}

// zoneAliases maps lower-case IANA names that are not in Rails' table to the
// Rails name a person there would pick. It covers the tz database's backward
// links for Rails zones (including zones Rails still spells the old way,
// such as Europe/Kyiv), the US, Canadian and other legacy country names, and
// zones where the offset fallback would pick a correct but surprising
// neighbour (Asia/Dubai would become "Muscat", Africa/Lagos "Casablanca").
var zoneAliases = lowerKeys(map[string]string{
	// UTC and its spellings.
	"Etc/GMT":       "UTC",
	"GMT":           "UTC",
	"Etc/GMT0":      "UTC",
	"GMT0":          "UTC",
	"Etc/GMT+0":     "UTC",
	"Etc/GMT-0":     "UTC",
	"GMT+0":         "UTC",
	"GMT-0":         "UTC",
	"Etc/UCT":       "UTC",
	"UCT":           "UTC",
	"Etc/Universal": "UTC",
	"Universal":     "UTC",
	"Etc/Zulu":      "UTC",
	"Zulu":          "UTC",
	"Etc/Greenwich": "UTC",
	"Greenwich":     "UTC",
	"Z":             "UTC",

	// North America.
	"US/Eastern":                  "Eastern Time (US & Canada)",
	"EST5EDT":                     "Eastern Time (US & Canada)",
	"America/Detroit":             "Eastern Time (US & Canada)",
	"US/Michigan":                 "Eastern Time (US & Canada)",
	"America/Toronto":             "Eastern Time (US & Canada)",
	"America/Montreal":            "Eastern Time (US & Canada)",
	"America/Nassau":              "Eastern Time (US & Canada)",
	"Canada/Eastern":              "Eastern Time (US & Canada)",
	"America/Kentucky/Louisville": "Eastern Time (US & Canada)",
	"America/Louisville":          "Eastern Time (US & Canada)",
	"America/Indianapolis":        "Indiana (East)",
	"America/Fort_Wayne":          "Indiana (East)",
	"US/East-Indiana":             "Indiana (East)",
	"US/Central":                  "Central Time (US & Canada)",
	"CST6CDT":                     "Central Time (US & Canada)",
	"America/Winnipeg":            "Central Time (US & Canada)",
	"Canada/Central":              "Central Time (US & Canada)",
	"US/Mountain":                 "Mountain Time (US & Canada)",
	"MST7MDT":                     "Mountain Time (US & Canada)",
	"America/Edmonton":            "Mountain Time (US & Canada)",
	"Canada/Mountain":             "Mountain Time (US & Canada)",
	"America/Boise":               "Mountain Time (US & Canada)",
	"Navajo":                      "Mountain Time (US & Canada)",
	"America/Shiprock":            "Mountain Time (US & Canada)",
	"US/Arizona":                  "Arizona",
	"MST":                         "Arizona",
	"US/Pacific":                  "Pacific Time (US & Canada)",
	"PST8PDT":                     "Pacific Time (US & Canada)",
	"America/Vancouver":           "Pacific Time (US & Canada)",
	"Canada/Pacific":              "Pacific Time (US & Canada)",
	"US/Alaska":                   "Alaska",
	"America/Anchorage":           "Alaska",
	"US/Hawaii":                   "Hawaii",
	"HST":                         "Hawaii",
	"US/Samoa":                    "American Samoa",
	"Pacific/Samoa":               "American Samoa",
	"Canada/Atlantic":             "Atlantic Time (Canada)",
	"Canada/Newfoundland":         "Newfoundland",
	"Canada/Saskatchewan":         "Saskatchewan",
	"Mexico/General":              "Mexico City",
	"America/Merida":              "Mexico City",
	"America/Bahia_Banderas":      "Mexico City",
	"Mexico/BajaNorte":            "Tijuana",
	"America/Ensenada":            "Tijuana",
	"America/Santa_Isabel":        "Tijuana",
	"Mexico/BajaSur":              "Mazatlan",
	"America/Hermosillo":          "Mazatlan",
	"America/Belize":              "Central America",
	"America/Costa_Rica":          "Central America",
	"America/El_Salvador":         "Central America",
	"America/Tegucigalpa":         "Central America",
	"America/Managua":             "Central America",

	// South America and the Atlantic.
	"America/Guayaquil":    "Quito",
	"America/Buenos_Aires": "Buenos Aires",
	"Brazil/East":          "Brasilia",
	"Chile/Continental":    "Santiago",
	"America/Nuuk":         "Greenland",

	// Europe.
	"Europe/Belfast":      "London",
	"GB":                  "London",
	"GB-Eire":             "London",
	"Europe/Guernsey":     "London",
	"Europe/Jersey":       "London",
	"Europe/Isle_of_Man":  "London",
	"Eire":                "Dublin",
	"Portugal":            "Lisbon",
	"Poland":              "Warsaw",
	"Europe/Oslo":         "Stockholm",
	"Arctic/Longyearbyen": "Stockholm",
	"Europe/Luxembourg":   "Brussels",
	"Europe/Monaco":       "Paris",
	"Europe/Andorra":      "Madrid",
	"Europe/Gibraltar":    "Madrid",
	"Europe/Malta":        "Rome",
	"Europe/Vatican":      "Rome",
	"Europe/San_Marino":   "Rome",
	"Europe/Vaduz":        "Zurich",
	"Europe/Busingen":     "Zurich",
	"Europe/Podgorica":    "Belgrade",
	"Europe/Mariehamn":    "Helsinki",
	"Europe/Kyiv":         "Kyiv",
	"Europe/Zaporozhye":   "Kyiv",
	"Europe/Uzhgorod":     "Kyiv",
	"Asia/Nicosia":        "Athens",
	"Europe/Nicosia":      "Athens",
	"Asia/Famagusta":      "Athens",
	"Turkey":              "Istanbul",
	"Asia/Istanbul":       "Istanbul",
	"W-SU":                "Moscow",
	"Europe/Kirov":        "Moscow",
	"Europe/Simferopol":   "Moscow",

	// Africa and the Middle East.
	"Egypt":              "Cairo",
	"Israel":             "Jerusalem",
	"Asia/Tel_Aviv":      "Jerusalem",
	"Iran":               "Tehran",
	"Asia/Dubai":         "Abu Dhabi",
	"Africa/Lagos":       "West Central Africa",
	"Africa/Kinshasa":    "West Central Africa",
	"Africa/Luanda":      "West Central Africa",
	"Africa/Douala":      "West Central Africa",
	"Africa/Libreville":  "West Central Africa",
	"Africa/Malabo":      "West Central Africa",
	"Africa/Niamey":      "West Central Africa",
	"Africa/Ndjamena":    "West Central Africa",
	"Africa/Porto-Novo":  "West Central Africa",
	"Africa/Brazzaville": "West Central Africa",
	"Africa/Bangui":      "West Central Africa",
	"Africa/Tunis":       "West Central Africa",

	// Asia.
	"Asia/Calcutta":    "Kolkata",
	"Asia/Katmandu":    "Kathmandu",
	"Asia/Dacca":       "Dhaka",
	"Asia/Yangon":      "Rangoon",
	"Asia/Ulan_Bator":  "Ulaanbaatar",
	"Asia/Ho_Chi_Minh": "Hanoi",
	"Asia/Saigon":      "Hanoi",
	"Asia/Phnom_Penh":  "Bangkok",
	"Asia/Vientiane":   "Bangkok",
	"Asia/Pontianak":   "Jakarta",
	"Asia/Samarkand":   "Tashkent",
	"Asia/Dushanbe":    "Tashkent",
	"Asia/Ashgabat":    "Tashkent",
	"Asia/Qostanay":    "Almaty",
	"Asia/Aqtobe":      "Almaty",
	"Asia/Aqtau":       "Almaty",
	"Asia/Atyrau":      "Almaty",
	"Asia/Oral":        "Almaty",
	"Asia/Qyzylorda":   "Almaty",
	"PRC":              "Beijing",
	"Asia/Chungking":   "Chongqing",
	"Hongkong":         "Hong Kong",
	"Asia/Macau":       "Hong Kong",
	"Asia/Macao":       "Hong Kong",
	"Asia/Kuching":     "Kuala Lumpur",
	"ROC":              "Taipei",
	"ROK":              "Seoul",
	"Japan":            "Tokyo",

	// Oceania.
	"Australia/ACT":        "Canberra",
	"Australia/Canberra":   "Canberra",
	"Australia/NSW":        "Sydney",
	"Australia/Victoria":   "Melbourne",
	"Australia/Queensland": "Brisbane",
	"Australia/South":      "Adelaide",
	"Australia/North":      "Darwin",
	"Australia/West":       "Perth",
	"Australia/Tasmania":   "Hobart",
	"Australia/Currie":     "Hobart",
	"NZ":                   "Auckland",
	"NZ-CHAT":              "Chatham Is.",
	"Pacific/Chuuk":        "Port Moresby",
})

func lowerKeys(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// The two instants the offset fallback compares. Mid-January and mid-July
// fall in opposite daylight-saving seasons in both hemispheres and clear of
// the transition weeks; the year is fixed so answers do not drift with the
// clock (they change only with the tz database).
var zoneProbes = [2]time.Time{
	time.Date(2025, time.January, 15, 12, 0, 0, 0, time.UTC),
	time.Date(2025, time.July, 15, 12, 0, 0, 0, time.UTC),
}

type zoneOffsets [2]int

func offsetsIn(loc *time.Location) zoneOffsets {
	var o zoneOffsets
	for i, t := range zoneProbes {
		_, o[i] = t.In(loc).Zone()
	}
	return o
}

// railsZone is one Rails zone with what the fallback ranks it by.
type railsZone struct {
	name    string
	iana    string
	order   int
	offsets zoneOffsets
}

// railsOffsets loads every Rails zone once. A zone the tz database cannot
// load (none, with time/tzdata embedded) is left out rather than guessed.
var railsOffsets = sync.OnceValue(func() []railsZone {
	zones := make([]railsZone, 0, len(freshservice.TimeZones))
	for i, z := range freshservice.TimeZones {
		loc, err := time.LoadLocation(z.IANA)
		if err != nil {
			continue
		}
		zones = append(zones, railsZone{name: z.Name, iana: z.IANA, order: i, offsets: offsetsIn(loc)})
	}
	return zones
})

// zoneByOffsets is step 4 of TimeZoneToFreshservice.
func zoneByOffsets(s string) (string, bool) {
	loc, ok := loadZone(s)
	if !ok {
		return "", false
	}
	want := offsetsIn(loc)
	name := loc.String() // the spelling that loaded, for the prefix rule
	var best *railsZone
	bestShared := -1
	zones := railsOffsets()
	for i := range zones {
		z := &zones[i]
		if z.offsets != want {
			continue
		}
		shared := sharedPrefix(name, z.iana)
		if best == nil || betterZone(z, shared, best, bestShared) {
			best, bestShared = z, shared
		}
	}
	if best == nil {
		return "", false
	}
	return best.name, true
}

// betterZone reports whether candidate a ranks above b in the documented
// tie-break order.
func betterZone(a *railsZone, aShared int, b *railsZone, bShared int) bool {
	if c := cmp.Compare(aShared, bShared); c != 0 {
		return c > 0
	}
	if aUTC, bUTC := a.name == "UTC", b.name == "UTC"; aUTC != bUTC {
		return aUTC
	}
	if ap, bp := zoneIdx.preferred[a.name], zoneIdx.preferred[b.name]; ap != bp {
		return ap
	}
	return a.order < b.order
}

// sharedPrefix counts the leading path elements two zone names share, so a
// zone shares most with itself, then with its own sub-area and area.
func sharedPrefix(a, b string) int {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	n := 0
	for n < len(as) && n < len(bs) && as[n] == bs[n] {
		n++
	}
	return n
}

// loadZone loads a tz database zone, trying the name as given and then in
// the database's usual capitalisation, since time.LoadLocation is case
// sensitive. It refuses the names in refusedZones and anything not shaped
// like a zone name, which also keeps paths away from the zoneinfo lookup.
func loadZone(s string) (*time.Location, bool) {
	if !zoneNameShape(s) || refusedZones[strings.ToLower(s)] {
		return nil, false
	}
	for _, candidate := range []string{s, canonicalZoneCase(s)} {
		if loc, err := time.LoadLocation(candidate); err == nil {
			return loc, true
		}
	}
	return nil, false
}

// refusedZones load but name no place: "Local" is the host's own zone, and
// "Factory" is the tz database's "zone not yet set" placeholder.
var refusedZones = map[string]bool{"local": true, "factory": true, "localtime": true, "posixrules": true}

func zoneNameShape(s string) bool {
	if s == "" || s[0] == '/' || strings.Contains(s, "..") || strings.Contains(s, "//") {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '/', r == '_', r == '-', r == '+':
		default:
			return false
		}
	}
	return true
}

// canonicalZoneCase guesses the tz database's spelling of a name typed in the
// wrong case: "america/new_york" becomes "America/New_York",
// "etc/gmt+5" becomes "Etc/GMT+5" and "america/port-au-prince" becomes
// "America/Port-au-Prince".
func canonicalZoneCase(s string) string {
	parts := strings.Split(s, "/")
	for i, p := range parts {
		if strings.HasPrefix(strings.ToLower(p), "gmt") || len(p) <= 3 && i == 0 && len(parts) == 1 {
			parts[i] = strings.ToUpper(p)
			continue
		}
		parts[i] = titleWords(p)
	}
	return strings.Join(parts, "/")
}

// Words the tz database leaves in lower case inside a city name.
var zoneSmallWords = map[string]bool{"of": true, "es": true, "au": true}

// titleWords capitalises each "_"- or "-"-separated word of one path element,
// except the small joining words in the middle of a name.
func titleWords(p string) string {
	words := strings.FieldsFunc(strings.ToLower(p), func(r rune) bool { return r == '_' || r == '-' })
	var b strings.Builder
	pos := 0
	lower := strings.ToLower(p)
	for i, w := range words {
		at := strings.Index(lower[pos:], w) + pos
		b.WriteString(p[pos:at]) // the separators, as typed
		if i > 0 && i < len(words)-1 && zoneSmallWords[w] {
			b.WriteString(w)
		} else {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
		pos = at + len(w)
	}
	b.WriteString(p[pos:])
	return b.String()
}
