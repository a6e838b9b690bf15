package config

import (
	"encoding/json"
	"fmt"
	"os"
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
