package scim

import (
	"context"
	"net/http"
	"strings"
)

// ETags (RFC 7644 §3.14): every resource answer carries its version as the ETag header and as
// meta.version. A GET with If-None-Match naming the current version is answered 304 Not Modified;
// a PUT, PATCH or DELETE with If-Match naming another version is answered 412 Precondition Failed
// and changes nothing. The versions are weak (W/"…": the bridge vouches for the meaning, not the
// bytes), and both headers compare them weakly, as RFC 7232 §3.2 does for If-None-Match; If-Match
// does too, because SCIM's versions are weak by design and a strong comparison could never match.

// preconditions holds a write to one resource: it takes the edge's lock of the resource, so that
// writes through this process are serialised, and, when the request has If-Match, compares it with
// the resource's current version under that lock. It returns the unlock, or the error to answer
// (404 if the resource is not there, 412 if its version is another). With several replicas behind
// one load balancer the lock is per replica: two conditional writes reaching two replicas at once
// may both pass their check.
func (e *edge) preconditions(ctx context.Context, r *http.Request, rt *resourceType, id string) (func(), error) {
	unlock := e.writes.lock(rt.name + "\x00" + id)
	im := r.Header.Values("If-Match")
	if len(im) == 0 {
		return unlock, nil
	}
	cur, err := rt.backend.Get(ctx, id)
	if err != nil {
		unlock()
		return nil, err
	}
	if !etagMatches(im, cur.Version, true) {
		unlock()
		return nil, Errorf(http.StatusPreconditionFailed, "", "the %s has changed since the version in If-Match; read it again (its version is now %s)", strings.ToLower(rt.name), cur.Version)
	}
	return unlock, nil
}

// etagMatches reports whether any entity tag in the header values names version, compared weakly.
// "*" matches any existing resource when star is set (If-Match); If-None-Match: * is for creates,
// which the edge does not make conditional.
func etagMatches(values []string, version string, star bool) bool {
	want := opaqueTag(version)
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			switch {
			case t == "":
			case t == "*":
				if star {
					return true
				}
			case want != "" && opaqueTag(t) == want:
				return true
			}
		}
	}
	return false
}

// opaqueTag is an entity tag without its weak marker: W/"3" and "3" are the same tag to a weak
// comparison. A tag sent without quotes (some clients drop them) is taken as if quoted.
func opaqueTag(t string) string {
	t = strings.TrimSpace(t)
	if len(t) >= 2 && (t[:2] == "W/" || t[:2] == "w/") {
		t = t[2:]
	}
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		t = t[1 : len(t)-1]
	}
	return t
}
