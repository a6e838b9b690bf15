package freshservice

// This file holds the two closed vocabularies Freshservice validates on
// requesters and agents: time_zone and language (API reference §3.1, §13
// item 13). A value outside them is rejected with 400 invalid_value, so the
// bridge checks before it calls, and the simulator checks the same lists.

// TimeZone is one entry of Rails' ActiveSupport::TimeZone::MAPPING, which is
// the vocabulary Freshservice accepts in time_zone.
type TimeZone struct {
	// Name is the Rails name Freshservice stores, e.g. "Eastern Time (US & Canada)".
	Name string
	// IANA is the tz database zone Rails maps Name to, e.g. "America/New_York".
	// Several names share one zone ("Edinburgh" and "London" are both
	// "Europe/London"), and some are old link names ("Europe/Kiev") because
	// Rails keeps them.
	IANA string
}

// TimeZones is ActiveSupport::TimeZone::MAPPING (Rails 7.x and later) in
// Rails' own order, which runs roughly west to east. Names and IANA zones are
// copied exactly, including Rails' spellings ("Kyiv" → "Europe/Kiev",
// "Greenland" → "America/Godthab"), because Freshservice compares names
// byte for byte. Treat it as read-only.
var TimeZones = []TimeZone{
	{"International Date Line West", "Etc/GMT+12"},
	{"Midway Island", "Pacific/Midway"},
	{"American Samoa", "Pacific/Pago_Pago"},
	{"Hawaii", "Pacific/Honolulu"},
	{"Alaska", "America/Juneau"},
	{"Pacific Time (US & Canada)", "America/Los_Angeles"},
	{"Tijuana", "America/Tijuana"},
	{"Mountain Time (US & Canada)", "America/Denver"},
	{"Arizona", "America/Phoenix"},
	{"Chihuahua", "America/Chihuahua"},
	{"Mazatlan", "America/Mazatlan"},
	{"Central Time (US & Canada)", "America/Chicago"},
	{"Saskatchewan", "America/Regina"},
	{"Guadalajara", "America/Mexico_City"},
	{"Mexico City", "America/Mexico_City"},
	{"Monterrey", "America/Monterrey"},
	{"Central America", "America/Guatemala"},
	{"Eastern Time (US & Canada)", "America/New_York"},
	{"Indiana (East)", "America/Indiana/Indianapolis"},
	{"Bogota", "America/Bogota"},
	{"Lima", "America/Lima"},
	{"Quito", "America/Lima"},
	{"Atlantic Time (Canada)", "America/Halifax"},
	{"Caracas", "America/Caracas"},
	{"La Paz", "America/La_Paz"},
	{"Santiago", "America/Santiago"},
	{"Newfoundland", "America/St_Johns"},
	{"Brasilia", "America/Sao_Paulo"},
	{"Buenos Aires", "America/Argentina/Buenos_Aires"},
	{"Montevideo", "America/Montevideo"},
	{"Georgetown", "America/Guyana"},
	{"Puerto Rico", "America/Puerto_Rico"},
	{"Greenland", "America/Godthab"},
	{"Mid-Atlantic", "Atlantic/South_Georgia"},
	{"Azores", "Atlantic/Azores"},
	{"Cape Verde Is.", "Atlantic/Cape_Verde"},
	{"Dublin", "Europe/Dublin"},
	{"Edinburgh", "Europe/London"},
	{"Lisbon", "Europe/Lisbon"},
	{"London", "Europe/London"},
	{"Casablanca", "Africa/Casablanca"},
	{"Monrovia", "Africa/Monrovia"},
	{"UTC", "Etc/UTC"},
	{"Belgrade", "Europe/Belgrade"},
	{"Bratislava", "Europe/Bratislava"},
	{"Budapest", "Europe/Budapest"},
	{"Ljubljana", "Europe/Ljubljana"},
	{"Prague", "Europe/Prague"},
	{"Sarajevo", "Europe/Sarajevo"},
	{"Skopje", "Europe/Skopje"},
	{"Warsaw", "Europe/Warsaw"},
	{"Zagreb", "Europe/Zagreb"},
	{"Brussels", "Europe/Brussels"},
	{"Copenhagen", "Europe/Copenhagen"},
	{"Madrid", "Europe/Madrid"},
	{"Paris", "Europe/Paris"},
	{"Amsterdam", "Europe/Amsterdam"},
	{"Berlin", "Europe/Berlin"},
	{"Bern", "Europe/Zurich"},
	{"Zurich", "Europe/Zurich"},
	{"Rome", "Europe/Rome"},
	{"Stockholm", "Europe/Stockholm"},
	{"Vienna", "Europe/Vienna"},
	{"West Central Africa", "Africa/Algiers"},
	{"Bucharest", "Europe/Bucharest"},
	{"Cairo", "Africa/Cairo"},
	{"Helsinki", "Europe/Helsinki"},
	{"Kyiv", "Europe/Kiev"},
	{"Riga", "Europe/Riga"},
	{"Sofia", "Europe/Sofia"},
	{"Tallinn", "Europe/Tallinn"},
	{"Vilnius", "Europe/Vilnius"},
	{"Athens", "Europe/Athens"},
	{"Istanbul", "Europe/Istanbul"},
	{"Minsk", "Europe/Minsk"},
	{"Jerusalem", "Asia/Jerusalem"},
	{"Harare", "Africa/Harare"},
	{"Pretoria", "Africa/Johannesburg"},
	{"Kaliningrad", "Europe/Kaliningrad"},
	{"Moscow", "Europe/Moscow"},
	{"St. Petersburg", "Europe/Moscow"},
	{"Volgograd", "Europe/Volgograd"},
	{"Samara", "Europe/Samara"},
	{"Kuwait", "Asia/Kuwait"},
	{"Riyadh", "Asia/Riyadh"},
	{"Nairobi", "Africa/Nairobi"},
	{"Baghdad", "Asia/Baghdad"},
	{"Tehran", "Asia/Tehran"},
	{"Abu Dhabi", "Asia/Muscat"},
	{"Muscat", "Asia/Muscat"},
	{"Baku", "Asia/Baku"},
	{"Tbilisi", "Asia/Tbilisi"},
	{"Yerevan", "Asia/Yerevan"},
	{"Kabul", "Asia/Kabul"},
	{"Ekaterinburg", "Asia/Yekaterinburg"},
	{"Islamabad", "Asia/Karachi"},
	{"Karachi", "Asia/Karachi"},
	{"Tashkent", "Asia/Tashkent"},
	{"Chennai", "Asia/Kolkata"},
	{"Kolkata", "Asia/Kolkata"},
	{"Mumbai", "Asia/Kolkata"},
	{"New Delhi", "Asia/Kolkata"},
	{"Kathmandu", "Asia/Kathmandu"},
	{"Astana", "Asia/Dhaka"},
	{"Dhaka", "Asia/Dhaka"},
	{"Sri Jayawardenepura", "Asia/Colombo"},
	{"Almaty", "Asia/Almaty"},
	{"Novosibirsk", "Asia/Novosibirsk"},
	{"Rangoon", "Asia/Rangoon"},
	{"Bangkok", "Asia/Bangkok"},
	{"Hanoi", "Asia/Bangkok"},
	{"Jakarta", "Asia/Jakarta"},
	{"Krasnoyarsk", "Asia/Krasnoyarsk"},
	{"Beijing", "Asia/Shanghai"},
	{"Chongqing", "Asia/Chongqing"},
	{"Hong Kong", "Asia/Hong_Kong"},
	{"Urumqi", "Asia/Urumqi"},
	{"Kuala Lumpur", "Asia/Kuala_Lumpur"},
	{"Singapore", "Asia/Singapore"},
	{"Taipei", "Asia/Taipei"},
	{"Perth", "Australia/Perth"},
	{"Irkutsk", "Asia/Irkutsk"},
	{"Ulaanbaatar", "Asia/Ulaanbaatar"},
	{"Seoul", "Asia/Seoul"},
	{"Osaka", "Asia/Tokyo"},
	{"Sapporo", "Asia/Tokyo"},
	{"Tokyo", "Asia/Tokyo"},
	{"Yakutsk", "Asia/Yakutsk"},
	{"Darwin", "Australia/Darwin"},
	{"Adelaide", "Australia/Adelaide"},
	{"Canberra", "Australia/Melbourne"},
	{"Melbourne", "Australia/Melbourne"},
	{"Sydney", "Australia/Sydney"},
	{"Brisbane", "Australia/Brisbane"},
	{"Hobart", "Australia/Hobart"},
	{"Vladivostok", "Asia/Vladivostok"},
	{"Guam", "Pacific/Guam"},
	{"Port Moresby", "Pacific/Port_Moresby"},
	{"Magadan", "Asia/Magadan"},
	{"Srednekolymsk", "Asia/Srednekolymsk"},
	{"Solomon Is.", "Pacific/Guadalcanal"},
	{"New Caledonia", "Pacific/Noumea"},
	{"Fiji", "Pacific/Fiji"},
	{"Kamchatka", "Asia/Kamchatka"},
	{"Marshall Is.", "Pacific/Majuro"},
	{"Auckland", "Pacific/Auckland"},
	{"Wellington", "Pacific/Auckland"},
	{"Nuku'alofa", "Pacific/Tongatapu"},
	{"Tokelau Is.", "Pacific/Fakaofo"},
	{"Chatham Is.", "Pacific/Chatham"},
	{"Samoa", "Pacific/Apia"},
}

// Language is one language Freshservice accepts in a requester's or agent's
// language field.
type Language struct {
	// Code is the value Freshservice stores, e.g. "en", "ja-JP", "es-LA".
	Code string
	// Name is the English display name, for messages and docs.
	Name string
}

// Languages is every language code Freshservice accepts, in the order of
// Freshservice's "List of languages supported in Freshservice" (support
// article 232303), which its API docs cite for the language field. The codes
// are Freshworks' own, not BCP 47, in places: "es-LA" is Latin American
// Spanish, "nb-NO" is the only Norwegian, and both "sk" and "sk-SK" are
// listed for Slovak. Freshservice matches them exactly, case included. The
// Freshdesk-only languages (Bulgarian, Croatian, Romanian, ...) are absent on
// purpose: Freshservice does not list them. Treat it as read-only.
var Languages = []Language{
	{"en", "English"},
	{"ar", "Arabic"},
	{"ca", "Catalan"},
	{"cs", "Czech"},
	{"cy-GB", "Welsh"},
	{"da", "Danish"},
	{"de", "German"},
	{"es", "Spanish"},
	{"es-LA", "Spanish (Latin America)"},
	{"et", "Estonian"},
	{"fi", "Finnish"},
	{"fr", "French"},
	{"he", "Hebrew"},
	{"hu", "Hungarian"},
	{"id", "Indonesian"},
	{"it", "Italian"},
	{"ja-JP", "Japanese"},
	{"ko", "Korean"},
	{"lv-LV", "Latvian"},
	{"nb-NO", "Norwegian"},
	{"nl", "Dutch"},
	{"pl", "Polish"},
	{"pt", "Portuguese"},
	{"pt-BR", "Portuguese (Brazil)"},
	{"pt-PT", "Portuguese (Portugal)"},
	{"ru-RU", "Russian"},
	{"sk", "Slovak"},
	{"sk-SK", "Slovak"},
	{"sl", "Slovenian"},
	{"sv-SE", "Swedish"},
	{"th", "Thai"},
	{"tr", "Turkish"},
	{"uk", "Ukrainian"},
	{"vi", "Vietnamese"},
	{"zh-CN", "Chinese (Simplified)"},
	{"zh-TW", "Chinese (Traditional)"},
}

// Lookup maps built once; the slices above stay the single source of truth.
var (
	timeZoneIANA = func() map[string]string {
		m := make(map[string]string, len(TimeZones))
		for _, z := range TimeZones {
			m[z.Name] = z.IANA
		}
		return m
	}()
	languageCodes = func() map[string]bool {
		m := make(map[string]bool, len(Languages))
		for _, l := range Languages {
			m[l.Code] = true
		}
		return m
	}()
)

// ValidTimeZone reports whether name is a time_zone value Freshservice
// accepts. Like Freshservice it matches exactly: "london" and " London" are
// invalid; callers that want leniency normalise first (see package mapping).
func ValidTimeZone(name string) bool {
	_, ok := timeZoneIANA[name]
	return ok
}

// TimeZoneIANA returns the IANA zone Rails maps the time_zone name to, and
// false if name is not exactly one of TimeZones.
func TimeZoneIANA(name string) (string, bool) {
	iana, ok := timeZoneIANA[name]
	return iana, ok
}

// ValidLanguage reports whether code is a language value Freshservice
// accepts. The match is exact, case included: "ja-jp" and "ja" are invalid.
func ValidLanguage(code string) bool {
	return languageCodes[code]
}
