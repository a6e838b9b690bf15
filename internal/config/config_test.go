package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestLoadFullFile(t *testing.T) {
	cfg, err := Load("testdata/full.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Freshservice.URL != "https://acme.freshservice.com" {
		t.Errorf("url from domain = %q", cfg.Freshservice.URL)
	}
	if cfg.Freshservice.APIKey.Reveal() != "fs-api-key-from-file" {
		t.Errorf("api key from file = %q", cfg.Freshservice.APIKey.Reveal())
	}
	if cfg.Freshservice.MaxWait != 10*time.Second || cfg.Mirror.RefreshInterval != 15*time.Minute {
		t.Errorf("defaults not kept: %+v %+v", cfg.Freshservice, cfg.Mirror)
	}
	if len(cfg.Rules.RoleGroups) != 2 || cfg.Rules.RoleGroups[0].RuleName() != "FS Agents" || cfg.Rules.RoleGroups[1].OnLeave != OnLeaveKeep {
		t.Errorf("rules %+v", cfg.Rules)
	}
}

func TestEnvOverrides(t *testing.T) {
	env := []string{
		"FSBRIDGE_FRESHSERVICE_URL=http://127.0.0.1:8081",
		"FSBRIDGE_FRESHSERVICE_API_KEY=from-env-key",
		"FSBRIDGE_FRESHSERVICE_MAX_WAIT=3s",
		"FSBRIDGE_SCIM_TOKEN=an-env-token-0123456789",
		"FSBRIDGE_SCIM_ADOPT_EXISTING=false",
		"FSBRIDGE_MIRROR_SHARE=0.1",
		"FSBRIDGE_STORE_PATH=/tmp/x.db",
		"PATH=/usr/bin",
	}
	cfg, err := Load("", env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Freshservice.URL != "http://127.0.0.1:8081" || cfg.Freshservice.APIKey.Reveal() != "from-env-key" ||
		cfg.Freshservice.MaxWait != 3*time.Second || cfg.SCIM.AdoptExisting || cfg.Mirror.Share != 0.1 || cfg.Store.Path != "/tmp/x.db" {
		t.Errorf("env not applied: %+v", cfg)
	}
	if len(cfg.SCIM.Tokens) != 1 || cfg.SCIM.Tokens[0].Name != "env" {
		t.Errorf("tokens %+v", cfg.SCIM.Tokens)
	}
	_, err = Load("", append(env, "FSBRIDGE_FRESHSERVICE_APIKEY=typo", "FSBRIDGE_MIRROR_SHARE=lots"))
	if err == nil || !strings.Contains(err.Error(), "FSBRIDGE_FRESHSERVICE_APIKEY: no such setting") || !strings.Contains(err.Error(), "FSBRIDGE_MIRROR_SHARE") {
		t.Errorf("bad env error = %v", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := Default()
	cfg.Listen = "nope"
	cfg.Freshservice.Plan = "platinum"
	cfg.Freshservice.Share = 2
	cfg.Store.Driver = "mysql"
	cfg.Rules.RoleGroups = []RoleGroup{{Roles: []RoleGrant{{Role: "SD Agent", Scope: "specified_groups"}}, OnLeave: "vanish"}}
	err := cfg.Validate()
	ve, ok := err.(*ValidationError)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"listen", "freshservice.url", "freshservice.api_key", "freshservice.plan", "freshservice.share",
		"scim.tokens", "store.driver", "role_groups[0].match", "roles[0].groups", "on_leave"} {
		found := false
		for _, p := range ve.Problems {
			if strings.Contains(p, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem mentions %q; got:\n%s", want, err)
		}
	}
}

func TestUnknownYAMLKeyIsAnError(t *testing.T) {
	cfg := Default()
	err := Parse([]byte("freshservice:\n  api_kee: x\n"), &cfg)
	if err == nil || !strings.Contains(err.Error(), "api_kee") {
		t.Errorf("err = %v", err)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	cfg, err := Load("testdata/full.yaml", []string{"FSBRIDGE_STORE_DSN=postgres://u:dsn-pass-123@db/x"})
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"fs-api-key-from-file", "okta-token-0123456789abcdef", "dsn-pass-123"}
	var b strings.Builder
	fmt.Fprintf(&b, "%v %+v %#v %s", cfg, cfg, cfg, cfg.Dump())
	js, _ := json.Marshal(cfg)
	b.Write(js)
	log := zerolog.New(&b)
	log.Info().Interface("cfg", cfg).Stringer("key", cfg.Freshservice.APIKey).Msg("x")
	for _, s := range secrets {
		if strings.Contains(b.String(), s) {
			t.Errorf("secret %q printed", s)
		}
	}
	if !strings.Contains(cfg.Dump(), "<secret>") {
		t.Error("dump does not show that a secret is set")
	}
}

func TestTokenHash(t *testing.T) {
	h, err := ParseTokenHash("sha256:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8")
	if err != nil {
		t.Fatal(err)
	}
	if !h.Equal(HashToken("password")) || h.Equal(HashToken("Password")) {
		t.Error("hash comparison wrong")
	}
	if _, err := ParseTokenHash("abc"); err == nil {
		t.Error("short hash accepted")
	}
}

// The container image sets FSBRIDGE_* variables (Dockerfile ENV); the bridge
// must start with every one of them set, or the image never runs.
func TestDockerfileEnvIsAccepted(t *testing.T) {
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	inEnv := false
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "ENV "); ok {
			inEnv, line = true, rest
		} else if !inEnv {
			continue
		}
		cont := strings.HasSuffix(line, "\\")
		env = append(env, strings.Fields(strings.TrimSuffix(line, "\\"))...)
		inEnv = cont
	}
	if len(env) == 0 {
		t.Fatal("no ENV in the Dockerfile")
	}
	env = append(env, "FSBRIDGE_FRESHSERVICE_URL=http://127.0.0.1:8081", "FSBRIDGE_FRESHSERVICE_API_KEY=from-env-key",
		"FSBRIDGE_SCIM_TOKEN=an-env-token-0123456789")
	cfg, err := Load("", env)
	if err != nil {
		t.Fatalf("the image's environment %v: %v", env, err)
	}
	if cfg.Listen != "0.0.0.0:8080" || cfg.Store.Path != "/data/fsbridge.db" {
		t.Errorf("the image's environment was not applied: listen %q, store %q", cfg.Listen, cfg.Store.Path)
	}
}

func TestProtectedUsers(t *testing.T) {
	base := []string{
		"FSBRIDGE_FRESHSERVICE_URL=http://127.0.0.1:8081", "FSBRIDGE_FRESHSERVICE_API_KEY=from-env-key",
		"FSBRIDGE_SCIM_TOKEN=an-env-token-0123456789",
	}
	for _, c := range []struct {
		name    string
		yaml    string
		env     []string
		want    []string
		invalid []string // each must be named by its own problem
	}{
		{name: "none by default", want: nil},
		{name: "from YAML", yaml: "protected_users: [it-admin@example.com, '21001000002']\n",
			want: []string{"it-admin@example.com", "21001000002"}},
		{name: "from the environment, comma-separated", env: []string{"FSBRIDGE_PROTECTED_USERS= it-admin@example.com , 42,,7 "},
			want: []string{"it-admin@example.com", "42", "7"}},
		{name: "the environment replaces YAML", yaml: "protected_users: [a@example.com]\n", env: []string{"FSBRIDGE_PROTECTED_USERS=b@example.com"},
			want: []string{"b@example.com"}},
		{name: "every bad entry reported", yaml: "protected_users: ['0', '-3', ann, 'Ann <ann@example.com>', 12abc, '007', ok@example.com]\n",
			invalid: []string{`[0]: "0"`, `[1]: "-3"`, `[2]: "ann"`, `[3]: "Ann <ann@example.com>"`, `[4]: "12abc"`, `[5]: "007"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := ""
			if c.yaml != "" {
				path = t.TempDir() + "/fsbridge.yaml"
				if err := os.WriteFile(path, []byte(c.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := Load(path, append(append([]string{}, base...), c.env...))
			if len(c.invalid) > 0 {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("Load = %v, want a validation error", err)
				}
				for _, want := range c.invalid {
					if !strings.Contains(err.Error(), "protected_users"+want) {
						t.Errorf("no problem names protected_users%s; got:\n%s", want, err)
					}
				}
				if strings.Contains(err.Error(), "ok@example.com") {
					t.Errorf("a valid entry was reported:\n%s", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.ProtectedUsers, c.want) {
				t.Errorf("protected_users = %q, want %q", cfg.ProtectedUsers, c.want)
			}
		})
	}
}

func TestConnectionAndRetrySettings(t *testing.T) {
	valid := func() Config {
		cfg := Default()
		cfg.Freshservice.URL, cfg.Freshservice.APIKey = "http://127.0.0.1:8081", "k"
		cfg.SCIM.Tokens = []Token{{Token: "an-env-token-0123456789"}}
		return cfg
	}
	if err := func() error { c := valid(); return c.Validate() }(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*Config)
		want []string // problems, each a substring of its own line
	}{
		{"negative caps", func(c *Config) { c.Connections.Max, c.Connections.PerClient = -1, -1 },
			[]string{"connections.max and per_client: must not be negative"}},
		{"per client above the total", func(c *Config) { c.Connections.Max, c.Connections.PerClient = 10, 11 },
			[]string{"connections.per_client: 11 is more than connections.max (10)"}},
		{"no idle timeout", func(c *Config) { c.Connections.IdleTimeout = 0 },
			[]string{"connections.idle_timeout: must be positive"}},
		{"retries that never start or never end", func(c *Config) {
			c.Reconcile.CreateRetryAttempts, c.Reconcile.CreateRetryMaxAge, c.Reconcile.CreateRetryShare = 0, 0, 1.5
		}, []string{"reconcile.create_retry_attempts: 0 is less than 1", "reconcile.create_retry_max_age: must be positive",
			"reconcile.create_retry_share: 1.5 is not in (0, 1]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := valid()
			c.edit(&cfg)
			var ve *ValidationError
			if err := cfg.Validate(); !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a validation error", err)
			}
			if len(ve.Problems) != len(c.want) {
				t.Errorf("%d problems, want %d:\n%s", len(ve.Problems), len(c.want), ve)
			}
			for _, want := range c.want {
				if !slices.ContainsFunc(ve.Problems, func(p string) bool { return strings.Contains(p, want) }) {
					t.Errorf("no problem says %q; got:\n%s", want, ve)
				}
			}
		})
	}
	env := []string{
		"FSBRIDGE_FRESHSERVICE_URL=http://127.0.0.1:8081", "FSBRIDGE_FRESHSERVICE_API_KEY=k", "FSBRIDGE_SCIM_TOKEN=an-env-token-0123456789",
		"FSBRIDGE_CONNECTIONS_MAX=300", "FSBRIDGE_CONNECTIONS_PER_CLIENT=30", "FSBRIDGE_CONNECTIONS_IDLE_TIMEOUT=15s",
		"FSBRIDGE_RECONCILE_CREATE_RETRY_ATTEMPTS=4", "FSBRIDGE_RECONCILE_CREATE_RETRY_MAX_AGE=2h", "FSBRIDGE_RECONCILE_CREATE_RETRY_SHARE=0.05",
	}
	cfg, err := Load("", env)
	if err != nil {
		t.Fatal(err)
	}
	want := Connections{Max: 300, PerClient: 30, IdleTimeout: 15 * time.Second}
	if cfg.Connections != want || cfg.Reconcile.CreateRetryAttempts != 4 || cfg.Reconcile.CreateRetryMaxAge != 2*time.Hour || cfg.Reconcile.CreateRetryShare != 0.05 {
		t.Errorf("environment not applied: connections %+v, reconcile %+v", cfg.Connections, cfg.Reconcile)
	}
}
