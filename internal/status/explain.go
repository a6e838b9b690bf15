package status

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fsbridge/fsbridge/internal/fault"
	"github.com/fsbridge/fsbridge/internal/store"
)

// explainFailure says in plain words why an event failed, from the fields
// the bridge recorded with it (DESIGN D11): the kind of failure, the
// call, Freshservice's status, and the fields and codes it named. An event
// recorded without them (before schema 3, or a failure known only by its
// words, such as a create the bridge gave up on) shows its detail as it
// is: nothing is read back out of the words.
func explainFailure(ev store.AuditEvent) FailureReport {
	f := FailureReport{Kind: ev.Kind, Call: ev.Call, Status: ev.Status, Field: ev.Field, Code: ev.Code}
	if ev.Kind == "" {
		f.Reason = sentence(orWord(ev.Detail, "no reason was recorded"))
		return f
	}
	f.Reason = sentence(failureReason(ev))
	return f
}

// failureReason is the sentence for a failure recorded with its fields.
func failureReason(ev store.AuditEvent) string {
	switch fault.Kind(ev.Kind) {
	case fault.NoSeat:
		if ev.Status == 0 {
			return "no full-time agent seat is left under the bridge's cap " + orWord(ev.Field, "rules.max_agents") +
				", so nothing was changed; raise the cap or free a seat"
		}
		return "Freshservice has no agent seat left (or the API key's agent may not manage agents), so the user was not made an agent"
	case fault.RequiresFeature:
		return "the account's Freshservice plan lacks a feature this needs (the detail names it and the plans that have it); upgrade the plan or change the rule: it is not retried"
	case fault.Protected:
		return "the user is protected (the API key's owner, or listed in protected_users) and the change would have locked the bridge out of Freshservice, so nothing was changed"
	case fault.RateLimited:
		if ev.Status == 0 {
			return "the bridge's share of the Freshservice API budget was used up; the change is kept and tried again later"
		}
	case fault.Transient:
		if ev.Status == 0 {
			return "Freshservice did not answer, or its answer could not be read (the connection failed, dropped or timed out); the change is kept and retried"
		}
	case fault.Canceled:
		return "the request ended before Freshservice answered (the IdP hung up, or its time ran out); what Freshservice did is recorded, and the rest of the change is kept and finished in the background"
	case fault.Internal:
		return "the bridge failed on its side (its store, or a bug); its log has the details under the request id"
	}
	if ev.Status == 0 {
		// The bridge's own refusal (a value it cannot send, a userName
		// taken): its detail was written to be read as it is.
		return orWord(ev.Detail, "no reason was recorded")
	}
	codes := ev.Fields
	if len(codes) == 0 && ev.Code != "" {
		codes = []store.AuditField{{Field: ev.Field, Code: ev.Code}}
	}
	var parts []string
	top := ""
	for _, c := range codes {
		if c.Field == "" {
			top = c.Code
			continue
		}
		parts = append(parts, codeWords(c.Code, c.Field))
	}
	switch {
	case len(parts) > 0:
		return strings.Join(parts, "; ")
	case top != "":
		return codeWords(top, "")
	}
	return statusWords(ev.Status)
}

// codeWords says what a Freshservice error code means, naming the field.
func codeWords(code, field string) string {
	the := "a field" // "the field time_zone"
	if field != "" {
		the = "the field " + field
	}
	switch code {
	case "duplicate_value":
		return fmt.Sprintf("another Freshservice user already has this %s (emails are unique across agents and requesters, active or deactivated)", orWord(field, "value"))
	case "invalid_value":
		return fmt.Sprintf("Freshservice does not accept the value of %s (not one of its allowed values, or badly formed)", orWord(field, "a field"))
	case "missing_field":
		return fmt.Sprintf("Freshservice requires %s, and it was missing or empty", orWord(field, "a field"))
	case "datatype_mismatch":
		return fmt.Sprintf("%s has the wrong type for Freshservice (for example text where a number or a list is expected)", the)
	case "invalid_field":
		return fmt.Sprintf("Freshservice does not know or does not take %s (a custom field renamed or removed?)", the)
	case "readonly_field":
		return fmt.Sprintf("%s cannot be changed through Freshservice's API", the)
	case "unexpected_field", "extra_field":
		return fmt.Sprintf("Freshservice does not expect %s in this request", the)
	case "access_denied":
		if field != "" {
			return fmt.Sprintf("the API key's agent may not change %s, or no agent seat is left", the)
		}
		return "Freshservice denied access: the API key's agent lacks a permission, or no agent seat is left"
	case "invalid_credentials":
		return "Freshservice refused the bridge's API key; fix freshservice.api_key"
	case "require_feature":
		return "the Freshservice plan lacks a feature this needs" + inField(field)
	case "inconsistent_state":
		return "the object is not in a state that allows this in Freshservice (for example already an agent)" + inField(field)
	case "invalid_size", "too_long":
		return fmt.Sprintf("the value of %s is too long or too large for Freshservice", orWord(field, "a field"))
	case "not_found":
		return "Freshservice no longer has this object" + inField(field)
	}
	if field != "" {
		return fmt.Sprintf("Freshservice rejected %s (code %s)", the, code)
	}
	return fmt.Sprintf("Freshservice rejected the request (code %s)", code)
}

func orWord(s, w string) string {
	if s == "" {
		return w
	}
	return s
}

func inField(field string) string {
	if field == "" {
		return ""
	}
	return " (field " + field + ")"
}

// statusWords says what an HTTP status from Freshservice means.
func statusWords(st int) string {
	switch {
	case st == 400 || st == 422:
		return fmt.Sprintf("Freshservice rejected the request as invalid (%d)", st)
	case st == 401:
		return "Freshservice refused the bridge's API key (401); fix freshservice.api_key"
	case st == 403:
		return "Freshservice forbade it (403): the API key's agent lacks a permission, the plan lacks a feature, or no agent seat is left"
	case st == 404:
		return "Freshservice no longer has this object (404): it was deleted or merged there"
	case st == 409:
		return "it conflicts with what Freshservice holds (409): a duplicate value, or the user is already in that state"
	case st == 429:
		return "Freshservice's rate limit was hit (429), perhaps by other integrations; the change is kept and retried"
	case st >= 500:
		return fmt.Sprintf("Freshservice failed on its side (%d); the change is kept and retried", st)
	}
	return fmt.Sprintf("Freshservice answered %d %s", st, http.StatusText(st))
}

func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// splitDetail separates the call an event recorded from its body
// ("POST /api/v2/requesters {...}"), and cuts other long details.
func splitDetail(ev store.AuditEvent) (string, string) {
	d := ev.Detail
	if ev.Call != "" {
		if rest, ok := strings.CutPrefix(d, ev.Call); ok {
			if rest = strings.TrimSpace(rest); strings.HasPrefix(rest, "{") {
				return ev.Call, rest
			}
		}
	}
	if len(d) > detailShown {
		return shortDetail(d), d
	}
	return d, ""
}

// detailShown is how much of an audit detail the table shows; the rest is
// behind a "full" disclosure.
const detailShown = 140

func shortDetail(s string) string {
	if len(s) <= detailShown {
		return s
	}
	cut := detailShown - 20
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
