package scim

import (
	"crypto/sha256"
	"net/http/httptest"
	"testing"
)

func TestVerifier(t *testing.T) {
	v := NewVerifier(
		[]Credential{{Name: "okta", Hash: sha256.Sum256([]byte("okta-token"))}, {Name: "entra", Hash: sha256.Sum256([]byte("entra-token"))}},
		&BasicCredential{Name: "onelogin", Username: "ol", Password: "ol-secret"},
	)
	cases := []struct {
		name            string
		auth            string
		tokenAsPassword bool
		want            string
		ok              bool
	}{
		{"a bearer token names its client", "Bearer entra-token", false, "entra", true},
		{"the scheme is case-insensitive", "bearer okta-token", false, "okta", true},
		{"a wrong token", "Bearer okta-token2", false, "", false},
		{"an empty token", "Bearer ", false, "", false},
		{"the Basic credential", "Basic b2w6b2wtc2VjcmV0", false, "onelogin", true},                      // ol:ol-secret
		{"Basic with a wrong password", "Basic b2w6d3Jvbmc=", false, "", false},                          // ol:wrong
		{"a token as a Basic password, where allowed", "Basic YW55Om9rdGEtdG9rZW4=", true, "okta", true}, // any:okta-token
		{"a token as a Basic password, where not", "Basic YW55Om9rdGEtdG9rZW4=", false, "", false},
		{"no header", "", false, "", false},
		{"another scheme", "Digest okta-token", false, "", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		got, ok := v.Authorization(r, c.tokenAsPassword)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: Authorization = %q, %v; want %q, %v", c.name, got, ok, c.want, c.ok)
		}
	}
	if _, ok := NewVerifier(nil, nil).Basic("", ""); ok {
		t.Error("a verifier without a Basic credential accepted an empty one")
	}
}
