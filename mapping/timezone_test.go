package mapping

import (
	"strings"
	"testing"
	"time"

	"github.com/fsbridge/fsbridge/freshservice"
)

// Every Rails name survives Freshservice -> SCIM -> Freshservice: it may come
// back as its zone's preferred name, but never as a different zone.
func TestTimeZoneRoundTripEveryRailsZone(t *testing.T) {
	for _, z := range freshservice.TimeZones {
		t.Run(z.Name, func(t *testing.T) {
			iana, ok := TimeZoneFromFreshservice(z.Name)
			if !ok || iana != z.IANA {
				t.Fatalf("TimeZoneFromFreshservice(%q) = %q, %v; want %q, true", z.Name, iana, ok, z.IANA)
			}
			back, ok := TimeZoneToFreshservice(iana)
			if !ok {
				t.Fatalf("TimeZoneToFreshservice(%q) failed", iana)
			}
			if backIANA, _ := freshservice.TimeZoneIANA(back); backIANA != z.IANA {
				t.Errorf("%q -> %q -> %q, which is zone %q", z.Name, iana, back, backIANA)
			}
			// A Rails name given as input is kept as given, not swapped for
			// the preferred name of its zone.
			if same, ok := TimeZoneToFreshservice(z.Name); !ok || same != z.Name {
				t.Errorf("TimeZoneToFreshservice(%q) = %q, %v; want it unchanged", z.Name, same, ok)
			}
			// The offset fallback, run on Rails' own zone, finds that zone.
			if fb, ok := zoneByOffsets(z.IANA); !ok {
				t.Errorf("zoneByOffsets(%q) failed", z.IANA)
			} else if fbIANA, _ := freshservice.TimeZoneIANA(fb); fbIANA != z.IANA {
				t.Errorf("zoneByOffsets(%q) = %q, which is zone %q", z.IANA, fb, fbIANA)
			}
		})
	}
}

// The Rails names that share an IANA zone, and which one the bridge writes.
// A new shared zone in Rails' table fails this test, so that the preference is
// chosen on purpose.
func TestTimeZonePreferredNames(t *testing.T) {
	want := map[string]string{
		"America/Mexico_City": "Mexico City", // also Guadalajara
		"America/Lima":        "Lima",        // also Quito
		"Europe/London":       "London",      // also Edinburgh
		"Europe/Zurich":       "Zurich",      // also Bern
		"Europe/Moscow":       "Moscow",      // also St. Petersburg
		"Asia/Muscat":         "Muscat",      // also Abu Dhabi
		"Asia/Karachi":        "Karachi",     // also Islamabad
		"Asia/Kolkata":        "Kolkata",     // also Chennai, Mumbai, New Delhi
		"Asia/Dhaka":          "Dhaka",       // also Astana
		"Asia/Bangkok":        "Bangkok",     // also Hanoi
		"Asia/Tokyo":          "Tokyo",       // also Osaka, Sapporo
		"Australia/Melbourne": "Melbourne",   // also Canberra
		"Pacific/Auckland":    "Auckland",    // also Wellington
	}
	names := make(map[string]int)
	for _, z := range freshservice.TimeZones {
		names[z.IANA]++
	}
	for iana, n := range names {
		if _, ok := want[iana]; n > 1 && !ok {
			t.Errorf("%q is shared by %d Rails names but has no chosen preference here", iana, n)
		}
	}
	for iana, wantName := range want {
		t.Run(iana, func(t *testing.T) {
			if names[iana] < 2 {
				t.Errorf("%q is no longer shared; drop it from this table", iana)
			}
			if got, ok := TimeZoneToFreshservice(iana); !ok || got != wantName {
				t.Errorf("TimeZoneToFreshservice(%q) = %q, %v; want %q", iana, got, ok, wantName)
			}
		})
	}
}

func TestTimeZoneToFreshservice(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string
		wantOK bool
	}{
		// Rails' own zones.
		{"canonical US eastern", "America/New_York", "Eastern Time (US & Canada)", true},
		{"UTC zone", "Etc/UTC", "UTC", true},
		{"bare UTC", "UTC", "UTC", true},
		{"India", "Asia/Kolkata", "Kolkata", true},
		{"date line west", "Etc/GMT+12", "International Date Line West", true},
		{"Rails' old link name", "Europe/Kiev", "Kyiv", true},

		// Input that is already a Rails name.
		{"Rails name", "London", "London", true},
		{"Rails name in another case", "  eastern time (us & canada) ", "Eastern Time (US & Canada)", true},
		{"Rails name that is not preferred is kept", "CHENNAI", "Chennai", true},
		{"Rails display form", "(GMT+05:30) Chennai", "Chennai", true},
		{"Rails display form with UTC", "(UTC-05:00) Eastern Time (US & Canada)", "Eastern Time (US & Canada)", true},
		{"display form of an unknown name", "(GMT+05:30) Atlantis", "", false},

		// Aliases.
		{"US legacy name", "US/Eastern", "Eastern Time (US & Canada)", true},
		{"Detroit", "America/Detroit", "Eastern Time (US & Canada)", true},
		{"Toronto", "America/Toronto", "Eastern Time (US & Canada)", true},
		{"old Indianapolis link", "America/Indianapolis", "Indiana (East)", true},
		{"Anchorage, not Rails' Juneau", "America/Anchorage", "Alaska", true},
		{"old India link", "Asia/Calcutta", "Kolkata", true},
		{"modern Kyiv spelling", "Europe/Kyiv", "Kyiv", true},
		{"modern Nuuk spelling", "America/Nuuk", "Greenland", true},
		{"modern Yangon spelling", "Asia/Yangon", "Rangoon", true},
		{"Dubai is Abu Dhabi, not Muscat", "Asia/Dubai", "Abu Dhabi", true},
		{"Ho Chi Minh is Hanoi, not Bangkok", "Asia/Ho_Chi_Minh", "Hanoi", true},
		{"Pacific/Samoa is American Samoa", "Pacific/Samoa", "American Samoa", true},
		{"Canberra keeps its Rails name", "Australia/Canberra", "Canberra", true},
		{"Ecuador", "America/Guayaquil", "Quito", true},
		{"Lagos is West Central Africa, not Casablanca", "Africa/Lagos", "West Central Africa", true},
		{"GMT", "GMT", "UTC", true},
		{"Zulu in lower case", "zulu", "UTC", true},
		{"alias with spaces and case", "  us/pacific ", "Pacific Time (US & Canada)", true},

		// The offset fallback.
		{"same area and offsets", "Africa/Abidjan", "Monrovia", true},
		{"sub-area wins", "America/Argentina/Cordoba", "Buenos Aires", true},
		{"Indiana sub-area", "America/Indiana/Vincennes", "Indiana (East)", true},
		{"Indiana county on Central time", "America/Indiana/Knox", "Central Time (US & Canada)", true},
		{"North Dakota", "America/North_Dakota/Center", "Central Time (US & Canada)", true},
		{"UTC wins among zero-offset zones", "Atlantic/Reykjavik", "UTC", true},
		{"preferred name wins", "Asia/Bishkek", "Dhaka", true},
		{"first in Rails order wins", "Europe/Tirane", "Belgrade", true},
		{"EET zone", "Europe/Chisinau", "Bucharest", true},
		{"East Africa", "Africa/Dar_es_Salaam", "Nairobi", true},
		{"southern hemisphere DST", "Antarctica/McMurdo", "Auckland", true},
		{"fixed offset", "Etc/GMT+5", "Bogota", true},
		{"lower case", "america/port-au-prince", "Eastern Time (US & Canada)", true},
		{"lower case small words", "africa/dar_es_salaam", "Nairobi", true},
		{"lower case Etc", "etc/gmt+5", "Bogota", true},

		// Rejected.
		{"empty", "", "", false},
		{"blank", "   ", "", false},
		{"UTC+14 has no Rails zone", "Pacific/Kiritimati", "", false},
		{"half-hour DST has no Rails zone", "Australia/Lord_Howe", "", false},
		{"Aleutian offsets have no Rails zone", "America/Adak", "", false},
		{"unknown zone", "Mars/Olympus_Mons", "", false},
		{"host zone", "Local", "", false},
		{"placeholder zone", "Factory", "", false},
		{"path traversal", "../../etc/passwd", "", false},
		{"absolute path", "/usr/share/zoneinfo/UTC", "", false},
		{"offset string", "UTC+05:30", "", false},
		{"NUL byte", "America/New_York\x00", "", false},
		{"too long", strings.Repeat("A", 100), "", false},
		{"Windows zone id", "Eastern Standard Time", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // also races the lazy load of Rails' offsets
			got, ok := TimeZoneToFreshservice(tt.in)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("TimeZoneToFreshservice(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
			if ok && !freshservice.ValidTimeZone(got) {
				t.Errorf("TimeZoneToFreshservice(%q) = %q, which Freshservice rejects", tt.in, got)
			}
		})
	}
}

// Every alias points at a real Rails name that keeps the same clock, and
// none shadows a zone Rails already lists.
func TestTimeZoneAliases(t *testing.T) {
	for alias, name := range zoneAliases {
		t.Run(alias, func(t *testing.T) {
			iana, ok := freshservice.TimeZoneIANA(name)
			if !ok {
				t.Fatalf("alias %q -> %q, which is not a Rails name", alias, name)
			}
			if _, ok := zoneIdx.byIANA[alias]; ok {
				t.Errorf("alias %q shadows a zone in Rails' table", alias)
			}
			if alias != strings.ToLower(alias) {
				t.Errorf("alias key %q is not lower case", alias)
			}
			loc, ok := loadZone(alias)
			if !ok {
				return // not a tz database name, such as "Z"
			}
			want, _ := time.LoadLocation(iana)
			if got, want := offsetsIn(loc), offsetsIn(want); got != want {
				t.Errorf("alias %q has offsets %v, but %q (%s) has %v", alias, got, name, iana, want)
			}
		})
	}
}

func TestTimeZoneFromFreshservice(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string
		wantOK bool
	}{
		{"US eastern", "Eastern Time (US & Canada)", "America/New_York", true},
		{"one of four India names", "Mumbai", "Asia/Kolkata", true},
		{"UTC", "UTC", "Etc/UTC", true},
		{"case and spaces", " london ", "Europe/London", true},
		{"IANA id is not a Rails name", "Europe/London", "", false},
		{"unknown", "Atlantis", "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := TimeZoneFromFreshservice(tt.in)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("TimeZoneFromFreshservice(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestCanonicalZoneCase(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"two words", "america/new_york", "America/New_York"},
		{"three levels", "AMERICA/ARGENTINA/BUENOS_AIRES", "America/Argentina/Buenos_Aires"},
		{"hyphenated small word", "america/port-au-prince", "America/Port-au-Prince"},
		{"underscored small words", "africa/dar_es_salaam", "Africa/Dar_es_Salaam"},
		{"of", "america/port_of_spain", "America/Port_of_Spain"},
		{"Etc offset", "etc/gmt-14", "Etc/GMT-14"},
		{"abbreviation", "cet", "CET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := canonicalZoneCase(tt.in); got != tt.want {
				t.Errorf("canonicalZoneCase(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// Whatever the input, a success is a name Freshservice accepts.
func FuzzTimeZoneToFreshservice(f *testing.F) {
	for _, s := range []string{"America/New_York", "US/Eastern", "Europe/Oslo", "London", "(GMT+01:00) Paris", "etc/gmt+3", "", "../x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := TimeZoneToFreshservice(in)
		if ok != freshservice.ValidTimeZone(got) {
			t.Errorf("TimeZoneToFreshservice(%q) = %q, %v", in, got, ok)
		}
	})
}
