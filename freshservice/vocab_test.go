package freshservice

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Rails' IANA zones must load on hosts without zoneinfo.
)

// Rails' MAPPING has 151 entries; a different count means an entry was lost
// or invented while copying.
const railsZoneCount = 151

func TestTimeZonesTable(t *testing.T) {
	if got := len(TimeZones); got != railsZoneCount {
		t.Errorf("len(TimeZones) = %d, want %d", got, railsZoneCount)
	}
	seen := make(map[string]bool, len(TimeZones))
	for _, z := range TimeZones {
		if seen[z.Name] {
			t.Errorf("duplicate Rails name %q", z.Name)
		}
		seen[z.Name] = true
		if z.Name != strings.TrimSpace(z.Name) || z.IANA == "" {
			t.Errorf("malformed entry %+v", z)
		}
		if _, err := time.LoadLocation(z.IANA); err != nil {
			t.Errorf("%q: IANA zone %q does not load: %v", z.Name, z.IANA, err)
		}
	}
	// Rails' order is part of the copy: it starts west of UTC-12 and ends at
	// Samoa, with UTC in the middle.
	if first, last := TimeZones[0], TimeZones[len(TimeZones)-1]; first.Name != "International Date Line West" || last.Name != "Samoa" {
		t.Errorf("table runs %q .. %q, want International Date Line West .. Samoa", first.Name, last.Name)
	}
}

func TestTimeZoneIANA(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantIANA string
		wantOK   bool
	}{
		{"date line west is a fixed offset", "International Date Line West", "Etc/GMT+12", true},
		{"US eastern", "Eastern Time (US & Canada)", "America/New_York", true},
		{"UTC", "UTC", "Etc/UTC", true},
		{"India shares one zone", "Chennai", "Asia/Kolkata", true},
		{"Rails keeps the old Kyiv link", "Kyiv", "Europe/Kiev", true},
		{"Rails keeps the old Nuuk link", "Greenland", "America/Godthab", true},
		{"Bern is Zurich's zone", "Bern", "Europe/Zurich", true},
		{"Quito is Lima's zone", "Quito", "America/Lima", true},
		{"Samoa is Apia, not Pago Pago", "Samoa", "Pacific/Apia", true},
		{"apostrophe kept", "Nuku'alofa", "Pacific/Tongatapu", true},
		{"trailing dot kept", "Cape Verde Is.", "Atlantic/Cape_Verde", true},
		{"IANA id is not a name", "America/New_York", "", false},
		{"case matters", "london", "", false},
		{"spaces matter", " London", "", false},
		{"empty", "", "", false},
		{"old Rails spelling", "Ulaan Bataar", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := TimeZoneIANA(tt.in)
			if got != tt.wantIANA || ok != tt.wantOK {
				t.Errorf("TimeZoneIANA(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.wantIANA, tt.wantOK)
			}
			if valid := ValidTimeZone(tt.in); valid != tt.wantOK {
				t.Errorf("ValidTimeZone(%q) = %v, want %v", tt.in, valid, tt.wantOK)
			}
		})
	}
}

func TestValidTimeZoneEveryName(t *testing.T) {
	for _, z := range TimeZones {
		if !ValidTimeZone(z.Name) {
			t.Errorf("ValidTimeZone(%q) = false", z.Name)
		}
	}
}

func TestLanguagesTable(t *testing.T) {
	seen := make(map[string]bool, len(Languages))
	for _, l := range Languages {
		if seen[l.Code] {
			t.Errorf("duplicate code %q", l.Code)
		}
		seen[l.Code] = true
		if l.Name == "" || l.Code != strings.TrimSpace(l.Code) || strings.Contains(l.Code, "_") {
			t.Errorf("malformed entry %+v", l)
		}
		if !ValidLanguage(l.Code) {
			t.Errorf("ValidLanguage(%q) = false", l.Code)
		}
	}
}

func TestValidLanguage(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"default", "en", true},
		{"region code", "ja-JP", true},
		{"Freshworks Latin American Spanish", "es-LA", true},
		{"Norwegian Bokmål", "nb-NO", true},
		{"Latvian", "lv-LV", true},
		{"Chinese simplified", "zh-CN", true},
		{"Welsh", "cy-GB", true},
		{"case matters", "ja-jp", false},
		{"underscore is not accepted", "pt_BR", false},
		{"BCP 47 is not accepted", "es-419", false},
		{"bare Japanese is not a code", "ja", false},
		{"English with region", "en-US", false},
		{"Freshdesk-only language", "ro", false},
		{"empty", "", false},
		{"spaces", " en", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidLanguage(tt.in); got != tt.want {
				t.Errorf("ValidLanguage(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
