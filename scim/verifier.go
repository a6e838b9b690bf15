package scim

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Verifier checks credentials: bearer tokens, kept as SHA-256 hashes, and one optional HTTP Basic
// user and password. Every comparison takes the same time whichever credential matches, or none.
// The SCIM endpoint, the status page and the webhook each hold one, over the credentials they
// accept.
type Verifier struct {
	tokens   []Credential
	basic    bool
	basicTag string
	user     [sha256.Size]byte
	pass     [sha256.Size]byte
}

// NewVerifier accepts the tokens and, when basic is not nil, that Basic credential.
func NewVerifier(tokens []Credential, basic *BasicCredential) *Verifier {
	v := &Verifier{tokens: tokens}
	if basic != nil && basic.Username != "" {
		v.basic = true
		v.basicTag = basic.Name
		if v.basicTag == "" {
			v.basicTag = "basic"
		}
		v.user, v.pass = sha256.Sum256([]byte(basic.Username)), sha256.Sum256([]byte(basic.Password))
	}
	return v
}

// Token returns the name of the token tok is.
func (v *Verifier) Token(tok string) (string, bool) {
	if v == nil || tok == "" {
		return "", false
	}
	sum := sha256.Sum256([]byte(tok))
	match := -1
	for i, t := range v.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.Hash[:]) == 1 && match < 0 {
			match = i
		}
	}
	if match < 0 {
		return "", false
	}
	return v.tokens[match].Name, true
}

// Basic returns the name of the Basic credential user and pass are.
func (v *Verifier) Basic(user, pass string) (string, bool) {
	if v == nil || !v.basic {
		return "", false
	}
	uh, ph := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	if subtle.ConstantTimeCompare(uh[:], v.user[:])&subtle.ConstantTimeCompare(ph[:], v.pass[:]) == 1 {
		return v.basicTag, true
	}
	return "", false
}

// Authorization checks a request's Authorization header: a bearer token, or the Basic credential.
// With tokenAsPassword, Basic with any user name and a token as the password is accepted too (what
// a browser's login prompt can send).
func (v *Verifier) Authorization(r *http.Request, tokenAsPassword bool) (string, bool) {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		return v.Token(strings.TrimSpace(cred))
	case strings.EqualFold(scheme, "Basic"):
		user, pass, ok := r.BasicAuth()
		if !ok {
			return "", false
		}
		if tokenAsPassword {
			if name, ok := v.Token(pass); ok {
				return name, true
			}
		}
		return v.Basic(user, pass)
	}
	return "", false
}
