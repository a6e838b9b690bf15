package mapping

import (
	"strings"

	"github.com/fsbridge/fsbridge/freshservice"
)

// LanguageToFreshservice translates a SCIM locale or preferredLanguage into
// the code Freshservice stores in language. It accepts BCP 47 tags ("en-US",
// "zh-Hant-TW", "es-419") and POSIX-style locales ("en_US", "pt_BR.UTF-8"),
// in any letter case and with surrounding spaces. It tries, in order:
//
//  1. the exact Freshservice code, ignoring case and "_" vs "-" ("ja_jp" is
//     "ja-JP", "es-la" is "es-LA");
//  2. Chinese by script: Hant is "zh-TW", Hans is "zh-CN";
//  3. language plus region ("ja-JP", "pt-BR", "nb-NO");
//  4. regional fallbacks: Spanish of Latin America (es-419, es-MX, es-AR, ...,
//     and es-US) is "es-LA"; Chinese of Hong Kong and Macau is "zh-TW";
//  5. the language alone ("en-GB" is "en", "fr-CA" is "fr", "pt-AO" is "pt");
//  6. the language's only code ("ja" is "ja-JP", "sv-FI" is "sv-SE"), or for
//     Chinese "zh-CN".
//
// Obsolete and macro language subtags are read as Freshservice means them:
// "iw" is Hebrew, "in" is Indonesian, and "no" and Nynorsk "nn" are
// Norwegian, whose only Freshservice code is "nb-NO". Variants and extensions
// ("-u-ca-gregory", "@euro") are ignored.
//
// A language Freshservice does not offer ("ro-RO", "hr"), a malformed tag and
// an empty string give ("", false). The caller reports that as a SCIM 400
// invalidValue on the attribute it came from.
func LanguageToFreshservice(locale string) (string, bool) {
	s := strings.TrimSpace(locale)
	if s == "" || len(s) > maxLocaleLen {
		return "", false
	}
	// POSIX locales carry a codeset and a modifier that say nothing about
	// the language: "en_US.UTF-8", "de_DE@euro".
	if i := strings.IndexAny(s, ".@"); i >= 0 {
		s = s[:i]
	}
	s = strings.ReplaceAll(s, "_", "-")
	if code, ok := langIdx.byLower[strings.ToLower(s)]; ok {
		return code, true
	}
	tag, ok := parseLocale(s)
	if !ok {
		return "", false
	}
	if tag.lang == "zh" {
		switch tag.script {
		case "Hant":
			return "zh-TW", true
		case "Hans":
			return "zh-CN", true
		}
	}
	if tag.region != "" {
		if code, ok := langIdx.byLower[strings.ToLower(tag.lang+"-"+tag.region)]; ok {
			return code, true
		}
		switch {
		case tag.lang == "es" && latinAmerica[tag.region]:
			return "es-LA", true
		case tag.lang == "zh" && (tag.region == "HK" || tag.region == "MO"):
			return "zh-TW", true
		}
	}
	if code, ok := langIdx.byLower[tag.lang]; ok {
		return code, true
	}
	if codes := langIdx.byLang[tag.lang]; len(codes) == 1 {
		return codes[0], true
	}
	if tag.lang == "zh" {
		return "zh-CN", true
	}
	return "", false
}

// LanguageFromFreshservice returns the BCP 47 tag for a Freshservice language
// code, for SCIM's preferredLanguage and locale. Most codes already are BCP 47
// ("en", "ja-JP", "pt-BR"); "es-LA", whose "LA" is Laos in BCP 47, becomes
// "es-419". A code not in freshservice.Languages, which a newer Freshservice
// may send, is passed through with BCP 47 letter case so the value is not
// lost; an empty code gives "".
func LanguageFromFreshservice(code string) string {
	s := strings.ReplaceAll(strings.TrimSpace(code), "_", "-")
	if s == "" {
		return ""
	}
	if canonical, ok := langIdx.byLower[strings.ToLower(s)]; ok {
		s = canonical
	}
	if s == "es-LA" {
		return "es-419"
	}
	return bcp47Case(s)
}

// maxLocaleLen bounds the input; real locales are well under 35 bytes.
const maxLocaleLen = 64

// langIndex is freshservice.Languages indexed for lookups.
type langIndex struct {
	byLower map[string]string   // lower-case code -> code
	byLang  map[string][]string // primary language subtag -> codes, in table order
}

var langIdx = buildLangIndex(freshservice.Languages)

func buildLangIndex(langs []freshservice.Language) langIndex {
	idx := langIndex{
		byLower: make(map[string]string, len(langs)),
		byLang:  make(map[string][]string),
	}
	for _, l := range langs {
		idx.byLower[strings.ToLower(l.Code)] = l.Code
		primary, _, _ := strings.Cut(strings.ToLower(l.Code), "-")
		idx.byLang[primary] = append(idx.byLang[primary], l.Code)
	}
	return idx
}

// latinAmerica holds the regions whose Spanish Freshservice calls "es-LA":
// UN M.49 Latin America and its parts, the Spanish-speaking countries of the
// Americas, and the United States, whose Spanish speakers mostly use the
// Latin American standard (as Apple and Microsoft treat es-US).
var latinAmerica = map[string]bool{
	"419": true, "005": true, "013": true, "029": true,
	"AR": true, "BO": true, "CL": true, "CO": true, "CR": true, "CU": true,
	"DO": true, "EC": true, "GT": true, "HN": true, "MX": true, "NI": true,
	"PA": true, "PE": true, "PR": true, "PY": true, "SV": true, "US": true,
	"UY": true, "VE": true,
}

// langAliases maps language subtags to the one Freshservice uses.
var langAliases = map[string]string{
	"iw": "he", // deprecated ISO 639 code for Hebrew
	"in": "id", // deprecated ISO 639 code for Indonesian
	"no": "nb", // Norwegian macrolanguage; Freshservice offers only Bokmål
	"nn": "nb", // Nynorsk readers read Bokmål; nothing closer exists
}

// localeTag is the part of a language tag the mapping looks at.
type localeTag struct {
	lang   string // lower case, aliases applied
	script string // title case, or ""
	region string // upper case letters or three digits, or ""
}

// parseLocale reads language, script and region from a "-"-separated tag
// and ignores what follows them. It refuses a tag whose language is not two
// or three letters (private use "x-...", grandfathered "i-...", words such as
// "english") or that has a subtag of the wrong shape.
func parseLocale(s string) (localeTag, bool) {
	parts := strings.Split(s, "-")
	for _, p := range parts {
		if p == "" || len(p) > 8 || !isAlnum(p) {
			return localeTag{}, false
		}
	}
	lang := strings.ToLower(parts[0])
	if len(lang) < 2 || len(lang) > 3 || !isAlpha(lang) {
		return localeTag{}, false
	}
	if alias, ok := langAliases[lang]; ok {
		lang = alias
	}
	tag := localeTag{lang: lang}
	rest := parts[1:]
	if len(rest) > 0 && len(rest[0]) == 4 && isAlpha(rest[0]) {
		tag.script = strings.ToUpper(rest[0][:1]) + strings.ToLower(rest[0][1:])
		rest = rest[1:]
	}
	if len(rest) > 0 {
		switch r := rest[0]; {
		case len(r) == 2 && isAlpha(r):
			tag.region = strings.ToUpper(r)
		case len(r) == 3 && isDigits(r):
			tag.region = r
		}
	}
	return tag, true
}

// bcp47Case gives a tag BCP 47's conventional letter case: language lower,
// script title, region upper ("ZH-hant-tw" is "zh-Hant-TW").
func bcp47Case(s string) string {
	parts := strings.Split(s, "-")
	for i, p := range parts {
		switch {
		case i == 0:
			parts[i] = strings.ToLower(p)
		case len(p) == 4 && isAlpha(p):
			parts[i] = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
		case len(p) == 2 && isAlpha(p):
			parts[i] = strings.ToUpper(p)
		default:
			parts[i] = strings.ToLower(p)
		}
	}
	return strings.Join(parts, "-")
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9') && !isAlpha(s[i:i+1]) {
			return false
		}
	}
	return true
}
