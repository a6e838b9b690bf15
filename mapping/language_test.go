package mapping

import (
	"strings"
	"testing"

	"github.com/fsbridge/fsbridge/freshservice"
)

// Every Freshservice code survives Freshservice -> SCIM -> Freshservice, and
// is recognised however a client spells it.
func TestLanguageRoundTripEveryCode(t *testing.T) {
	for _, l := range freshservice.Languages {
		t.Run(l.Code, func(t *testing.T) {
			tag := LanguageFromFreshservice(l.Code)
			if got, ok := LanguageToFreshservice(tag); !ok || got != l.Code {
				t.Errorf("%q -> %q -> %q, %v", l.Code, tag, got, ok)
			}
			for _, spelling := range []string{
				l.Code,
				strings.ToLower(l.Code),
				strings.ToUpper(l.Code),
				strings.ReplaceAll(l.Code, "-", "_"),
				" " + l.Code + "\t",
			} {
				if got, ok := LanguageToFreshservice(spelling); !ok || got != l.Code {
					t.Errorf("LanguageToFreshservice(%q) = %q, %v; want %q", spelling, got, ok, l.Code)
				}
			}
		})
	}
}

func TestLanguageToFreshservice(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string
		wantOK bool
	}{
		// Exact codes.
		{"default", "en", "en", true},
		{"Japanese", "ja-JP", "ja-JP", true},
		{"Freshworks Latin American Spanish", "es-LA", "es-LA", true},
		{"both Slovak codes exist", "sk-SK", "sk-SK", true},

		// Case and separators.
		{"POSIX", "en_US", "en", true},
		{"lower case", "en-us", "en", true},
		{"upper case", "EN-US", "en", true},
		{"POSIX with codeset", "pt_BR.UTF-8", "pt-BR", true},
		{"POSIX with modifier", "de_DE@euro", "de", true},
		{"extension ignored", "en-US-u-ca-gregory", "en", true},
		{"private use ignored", "fr-FR-x-corp", "fr", true},

		// Language plus region, then language alone.
		{"English UK", "en-GB", "en", true},
		{"French Canada", "fr-CA", "fr", true},
		{"German Switzerland", "de-CH", "de", true},
		{"Portuguese Brazil", "pt_BR", "pt-BR", true},
		{"Portuguese Portugal", "pt-PT", "pt-PT", true},
		{"bare Portuguese", "pt", "pt", true},
		{"Portuguese Angola", "pt-AO", "pt", true},
		{"Ukrainian Ukraine", "uk-UA", "uk", true},

		// A language's only code.
		{"bare Japanese", "ja", "ja-JP", true},
		{"bare Russian", "ru", "ru-RU", true},
		{"Swedish Finland", "sv-FI", "sv-SE", true},
		{"bare Latvian", "lv", "lv-LV", true},
		{"bare Welsh", "cy", "cy-GB", true},

		// Norwegian.
		{"Bokmål", "nb", "nb-NO", true},
		{"Norwegian macrolanguage", "no", "nb-NO", true},
		{"Norwegian POSIX", "no_NO", "nb-NO", true},
		{"Nynorsk", "nn-NO", "nb-NO", true},

		// Chinese.
		{"traditional by script and region", "zh-Hant-TW", "zh-TW", true},
		{"traditional POSIX", "zh_TW", "zh-TW", true},
		{"traditional by script", "zh-Hant", "zh-TW", true},
		{"Hong Kong", "zh-HK", "zh-TW", true},
		{"Macau", "zh_MO", "zh-TW", true},
		{"script beats region", "zh-Hans-TW", "zh-CN", true},
		{"simplified by script", "zh-Hans", "zh-CN", true},
		{"Singapore", "zh-SG", "zh-CN", true},
		{"bare Chinese", "zh", "zh-CN", true},

		// Spanish.
		{"Latin America", "es-419", "es-LA", true},
		{"Mexico", "es-MX", "es-LA", true},
		{"Argentina POSIX", "es_AR", "es-LA", true},
		{"United States", "es-US", "es-LA", true},
		{"Spain", "es-ES", "es", true},
		{"bare Spanish", "es", "es", true},

		// Deprecated subtags.
		{"old Hebrew", "iw-IL", "he", true},
		{"old Indonesian", "in", "id", true},

		// Rejected.
		{"not offered by Freshservice", "ro-RO", "", false},
		{"Croatian", "hr", "", false},
		{"empty", "", "", false},
		{"blank", "  ", "", false},
		{"English word", "english", "", false},
		{"private use only", "x-klingon", "", false},
		{"grandfathered", "i-klingon", "", false},
		{"POSIX C locale", "C", "", false},
		{"POSIX locale", "POSIX", "", false},
		{"empty subtag", "en--US", "", false},
		{"trailing separator", "en-", "", false},
		{"bad character", "en US", "", false},
		{"digit language", "12-US", "", false},
		{"too long", strings.Repeat("en-", 30), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := LanguageToFreshservice(tt.in)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("LanguageToFreshservice(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestLanguageFromFreshservice(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"default", "en", "en"},
		{"region code kept", "ja-JP", "ja-JP"},
		{"Latin American Spanish", "es-LA", "es-419"},
		{"Chinese", "zh-TW", "zh-TW"},
		{"Norwegian", "nb-NO", "nb-NO"},
		{"odd case from the API", "JA-jp", "ja-JP"},
		{"odd case of es-LA", "es-la", "es-419"},
		{"unknown code passed through", "ro", "ro"},
		{"unknown code recased", "EN_gb", "en-GB"},
		{"empty", "", ""},
		{"blank", "  ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LanguageFromFreshservice(tt.in); got != tt.want {
				t.Errorf("LanguageFromFreshservice(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// Whatever the input, a success is a code Freshservice accepts.
func FuzzLanguageToFreshservice(f *testing.F) {
	for _, s := range []string{"en-US", "zh-Hant-TW", "es_419", "nb", "pt_BR.UTF-8", "x-y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := LanguageToFreshservice(in)
		if ok != freshservice.ValidLanguage(got) {
			t.Errorf("LanguageToFreshservice(%q) = %q, %v", in, got, ok)
		}
	})
}
