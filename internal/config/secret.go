package config

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// Secret is a string that never prints: fmt, logs, JSON and YAML dumps all
// show "<secret>" (or "" when empty). Use Reveal to get the value.
type Secret string

const redacted = "<secret>"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// MarshalJSON never writes the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalYAML never writes the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText never writes the value (zerolog and encoding/* use it).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// readSecretFile reads a secret from a file, trimming one trailing newline
// (files written by echo or editors end in one).
func readSecretFile(path string) (Secret, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading secret file: %w", err)
	}
	return Secret(strings.TrimRight(string(data), "\r\n")), nil
}

// TokenHash is the SHA-256 of a bearer token, so the config need not hold
// the token itself.
type TokenHash [sha256.Size]byte

// HashToken returns the SHA-256 of token.
func HashToken(token string) TokenHash { return sha256.Sum256([]byte(token)) }

// ParseTokenHash reads a hex SHA-256, optionally prefixed "sha256:".
func ParseTokenHash(s string) (TokenHash, error) {
	var h TokenHash
	s = strings.TrimPrefix(strings.TrimSpace(s), "sha256:")
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("not a hex SHA-256 (64 hex digits)")
	}
	copy(h[:], b)
	return h, nil
}

// Equal compares in constant time.
func (h TokenHash) Equal(o TokenHash) bool { return subtle.ConstantTimeCompare(h[:], o[:]) == 1 }
