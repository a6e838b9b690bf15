// Package config is fsbridge's configuration: one typed struct with
// defaults, read from YAML and overridden by FSBRIDGE_* environment
// variables, validated all at once (every problem reported together).
// Secrets are typed so they never print, and can come from files.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/fsbridge/fsbridge/freshservice"
)

// Config is the whole configuration. The zero value is not valid; start
// from Default.
type Config struct {
	// Listen is the address the bridge serves on.
	Listen string `yaml:"listen"`
	// BaseURL is the bridge's public URL (https://host), used in SCIM
	// meta.location and Location headers. Empty: derived from each request.
	BaseURL string `yaml:"base_url"`
	// TLS serves HTTPS when both files are given.
	TLS TLS `yaml:"tls"`
	// Connections caps and times out the HTTP connections the bridge
	// serves, so no client can take every one the IdP needs.
	Connections Connections `yaml:"connections"`

	Freshservice Freshservice `yaml:"freshservice"`
	SCIM         SCIM         `yaml:"scim"`
	Store        Store        `yaml:"store"`
	Mirror       Mirror       `yaml:"mirror"`
	Reconcile    Reconcile    `yaml:"reconcile"`
	Log          Log          `yaml:"log"`
	Webhook      Webhook      `yaml:"webhook"`
	Status       Status       `yaml:"status"`
	Rules        Rules        `yaml:"rules"`
	Mapping      Mapping      `yaml:"mapping"`

	// DryRun makes every Freshservice write a logged plan instead; reads
	// are real.
	DryRun bool `yaml:"dry_run"`

	// ProtectedUsers are users the bridge never deactivates, demotes,
	// converts or strips of roles, besides the owner of the API key, which
	// is always protected: each an email or a Freshservice user id.
	ProtectedUsers []string `yaml:"protected_users"`
}

// Connections limits the HTTP connections of the listener.
type Connections struct {
	// Max is the most connections open at once; 0 sizes it from the
	// process's open-file limit: half of it, at most 1024.
	Max int `yaml:"max"`
	// PerClient is the most one client address (an IPv4 address, or an
	// IPv6 /64) may hold at once; 0 is a quarter of Max.
	PerClient int `yaml:"per_client"`
	// IdleTimeout closes a keep-alive connection that has waited this long
	// for its next request.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

// TLS names the certificate and key files for HTTPS (TLS 1.2 or later).
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Freshservice is how to reach the account and how much of its API budget
// the bridge may spend.
type Freshservice struct {
	// URL is https://<account>.freshservice.com (or the simulator's URL).
	URL string `yaml:"url"`
	// Domain is a shorthand for URL: "acme" or "acme.freshservice.com".
	Domain     string `yaml:"domain"`
	APIKey     Secret `yaml:"api_key"`
	APIKeyFile string `yaml:"api_key_file"`
	// Plan is starter, growth, pro or enterprise; it sets the per-minute
	// limits of each rate-limit bucket unless Limits overrides them.
	Plan   string     `yaml:"plan"`
	Limits LimitsYAML `yaml:"limits"`
	// Share is the fraction of the account's budget the bridge may spend;
	// other integrations share the rest.
	Share float64 `yaml:"share"`
	// Window is the rate-limit window: one minute for Freshservice.
	Window time.Duration `yaml:"window"`
	// HourlyLimits says the account still has the legacy per-hour limits
	// (accounts created before September 2020): limits.overall then counts
	// per hour. Without it the bridge finds out from Freshservice's headers,
	// on Pro and Enterprise only at the first 429.
	HourlyLimits bool `yaml:"hourly_limits"`
	// MaxWait is the longest a SCIM request waits for budget before the IdP
	// is answered 429 with Retry-After.
	MaxWait time.Duration `yaml:"max_wait"`
	// Timeout bounds one HTTP call to Freshservice.
	Timeout time.Duration `yaml:"timeout"`
}

// LimitsYAML overrides the plan's per-minute limits.
type LimitsYAML struct {
	Overall        int `yaml:"overall"`
	ListAgents     int `yaml:"list_agents"`
	ListRequesters int `yaml:"list_requesters"`
}

// SCIM is the IdP-facing side.
type SCIM struct {
	// Tokens are the bearer tokens IdPs may use; several allow rotation.
	Tokens []Token `yaml:"tokens"`
	// Basic, when set, also accepts HTTP Basic with these credentials.
	Basic *Basic `yaml:"basic"`
	// MaxBodyBytes caps request bodies; larger ones get 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// AdoptExisting lets a POST take over an active Freshservice user with
	// the same email that the bridge does not manage yet; false answers
	// 409 uniqueness instead.
	AdoptExisting bool `yaml:"adopt_existing"`
	// ForgetOnDelete makes SCIM DELETE erase the user in Freshservice for
	// good (which also deletes their tickets). Off: DELETE deactivates.
	ForgetOnDelete bool `yaml:"forget_on_delete"`
	// StrictAttributes refuses (400) a user with a value Freshservice has
	// no home for (an unknown department, location or manager, a time zone
	// or language it lacks). Off, the default: the user is provisioned
	// with everything else, the value is kept as sent and listed on
	// /status, and applied once the account can take it.
	StrictAttributes bool `yaml:"strict_attributes"`
	// CreateDepartments and CreateLocations let the bridge create, in
	// Freshservice, a department or location an IdP names that the account
	// lacks, instead of leaving it as a gap.
	CreateDepartments bool `yaml:"create_departments"`
	CreateLocations   bool `yaml:"create_locations"`
	// RequestTimeout bounds one SCIM request; IdPs give up after 60 s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// ClientRateLimit caps requests per second per token (0 = no cap).
	ClientRateLimit float64 `yaml:"client_rate_limit"`
}

// Token is one accepted bearer token, given as the token, a file holding
// it, or its SHA-256.
type Token struct {
	// Name identifies the IdP client in logs and the audit trail.
	Name      string `yaml:"name"`
	Token     Secret `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	// SHA256 is the hex SHA-256 of the token.
	SHA256 string `yaml:"sha256"`
}

// Basic is an accepted HTTP Basic credential.
type Basic struct {
	Username     string `yaml:"username"`
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
}

// Store selects the durable store.
type Store struct {
	// Driver is sqlite (default) or postgres.
	Driver string `yaml:"driver"`
	// Path is the SQLite database file.
	Path string `yaml:"path"`
	// DSN is the PostgreSQL connection string.
	DSN     Secret `yaml:"dsn"`
	DSNFile string `yaml:"dsn_file"`
}

// Mirror paces the background walk that refreshes the directory mirror.
type Mirror struct {
	// RefreshInterval is the time between the starts of two walks; changes
	// made directly in Freshservice show within about this long.
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// Share is the fraction of the bridge's budget a walk may use.
	Share float64 `yaml:"share"`
}

// Reconcile paces the background pass that finishes interrupted plans.
type Reconcile struct {
	Interval time.Duration `yaml:"interval"`
	// MaxBackoff caps the wait between attempts on one failing user, and
	// on one create whose answer was lost.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// CreateRetryAttempts and CreateRetryMaxAge are when the background
	// pass gives up on a create whose answer was lost: after this many
	// tries, or this long after the IdP last sent it, whichever is first.
	// The create then shows as failed on /status and in the audit trail.
	CreateRetryAttempts int           `yaml:"create_retry_attempts"`
	CreateRetryMaxAge   time.Duration `yaml:"create_retry_max_age"`
	// CreateRetryShare is the fraction of the bridge's part of the
	// scarcest rate-limit bucket that those tries may spend per window,
	// all of them together.
	CreateRetryShare float64 `yaml:"create_retry_share"`
}

// Webhook enables /webhooks/freshservice, where a Freshservice Workflow
// Automator webhook reports changed users so the mirror refreshes just
// them. Off unless a secret is set.
type Webhook struct {
	Secret     Secret `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
}

// Status configures the /status page. It accepts the SCIM tokens and,
// when set, this read-only token, which opens the page but not SCIM.
type Status struct {
	Token     Secret `yaml:"token"`
	TokenFile string `yaml:"token_file"`
}

// Log configures logging (zerolog JSON).
type Log struct {
	Level string `yaml:"level"`
	// Format is json (default) or console.
	Format string `yaml:"format"`
}

// Default returns the defaults every setting starts from.
func Default() Config {
	return Config{
		Listen: "127.0.0.1:8080",
		Freshservice: Freshservice{
			Plan: string(freshservice.DefaultPlan), Share: 0.8, Window: time.Minute, MaxWait: 10 * time.Second, Timeout: 30 * time.Second,
		},
		SCIM: SCIM{
			MaxBodyBytes: 1 << 20, AdoptExisting: true, RequestTimeout: 50 * time.Second,
		},
		Store:  Store{Driver: "sqlite", Path: "fsbridge.db"},
		Mirror: Mirror{RefreshInterval: 15 * time.Minute, Share: 0.25},
		Reconcile: Reconcile{
			Interval: 30 * time.Second, MaxBackoff: 30 * time.Minute,
			CreateRetryAttempts: 10, CreateRetryMaxAge: 24 * time.Hour, CreateRetryShare: 0.1,
		},
		// Idle keep-alive connections are cheap for an IdP to reopen and
		// expensive to hold for everyone else: 30 s covers the gaps within
		// a provisioning burst.
		Connections: Connections{IdleTimeout: 30 * time.Second},
		Log:         Log{Level: "info", Format: "json"},
		Rules:       Rules{},
	}
}

// Load reads a YAML file (unknown keys are errors), applies FSBRIDGE_*
// environment overrides from environ, reads secret files, and validates.
// path may be empty to configure from the environment alone.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		if err := Parse(data, &cfg); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := ApplyEnv(&cfg, environ); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	if err := cfg.Resolve(); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// Parse decodes YAML over cfg; keys it does not know are errors, so a typo
// does not silently fall back to a default.
func Parse(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// EnvHealthcheckURL is the variable `fsbridge healthcheck` reads its URL
// from; it is not a setting of the bridge.
const EnvHealthcheckURL = "FSBRIDGE_HEALTHCHECK_URL"

// ApplyEnv overrides settings from FSBRIDGE_* variables: the YAML path in
// upper case joined by underscores, e.g. FSBRIDGE_FRESHSERVICE_API_KEY or
// FSBRIDGE_MIRROR_REFRESH_INTERVAL. FSBRIDGE_SCIM_TOKEN adds a bearer
// token named "env". A list of strings is comma-separated
// (FSBRIDGE_PROTECTED_USERS=a@example.com,42); other lists and the rules
// come from YAML only.
func ApplyEnv(cfg *Config, environ []string) error {
	vars := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		// FSBRIDGE_TEST_* configure the test suite and
		// FSBRIDGE_HEALTHCHECK_URL the healthcheck command (the container
		// image sets it), not the bridge.
		if ok && strings.HasPrefix(k, "FSBRIDGE_") && !strings.HasPrefix(k, "FSBRIDGE_TEST_") && k != EnvHealthcheckURL {
			vars[k] = v
		}
	}
	if tok, ok := vars["FSBRIDGE_SCIM_TOKEN"]; ok {
		delete(vars, "FSBRIDGE_SCIM_TOKEN")
		if tok != "" {
			cfg.SCIM.Tokens = append(cfg.SCIM.Tokens, Token{Name: "env", Token: Secret(tok)})
		}
	}
	var problems []string
	setEnv(reflect.ValueOf(cfg).Elem(), "FSBRIDGE", vars, &problems)
	var unknown []string
	for k := range vars {
		unknown = append(unknown, k)
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		problems = append(problems, fmt.Sprintf("%s: no such setting", k))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func setEnv(v reflect.Value, prefix string, vars map[string]string, problems *[]string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			setEnv(fv, name, vars, problems)
			continue
		}
		raw, ok := vars[name]
		if !ok {
			continue
		}
		delete(vars, name)
		if err := setScalar(fv, raw); err != nil {
			*problems = append(*problems, fmt.Sprintf("%s: %v", name, err))
		}
	}
}

func setScalar(v reflect.Value, raw string) error {
	switch v.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return err
		}
		v.SetFloat(f)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("cannot be set from the environment; use the YAML file")
		}
		// The variable replaces the YAML list, as every other variable
		// replaces its setting; blanks around commas are dropped.
		var items []string
		for _, item := range strings.Split(raw, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		v.Set(reflect.ValueOf(items).Convert(v.Type()))
	default:
		return fmt.Errorf("cannot be set from the environment; use the YAML file")
	}
	return nil
}

// Resolve reads the secret files and fills derived values (the URL from a
// domain). It is separate from Validate so tests can build configs in code.
func (c *Config) Resolve() error {
	var problems []string
	read := func(dst *Secret, path, what string) {
		if path == "" {
			return
		}
		s, err := readSecretFile(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", what, err))
			return
		}
		*dst = s
	}
	read(&c.Freshservice.APIKey, c.Freshservice.APIKeyFile, "freshservice.api_key_file")
	read(&c.Store.DSN, c.Store.DSNFile, "store.dsn_file")
	read(&c.Webhook.Secret, c.Webhook.SecretFile, "webhook.secret_file")
	read(&c.Status.Token, c.Status.TokenFile, "status.token_file")
	for i := range c.SCIM.Tokens {
		read(&c.SCIM.Tokens[i].Token, c.SCIM.Tokens[i].TokenFile, fmt.Sprintf("scim.tokens[%d].token_file", i))
	}
	if c.SCIM.Basic != nil {
		read(&c.SCIM.Basic.Password, c.SCIM.Basic.PasswordFile, "scim.basic.password_file")
	}
	if c.Freshservice.URL == "" && c.Freshservice.Domain != "" {
		d := strings.TrimSpace(c.Freshservice.Domain)
		if !strings.Contains(d, ".") {
			d += ".freshservice.com"
		}
		c.Freshservice.URL = "https://" + d
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// ValidationError lists every problem found in a configuration.
type ValidationError struct{ Problems []string }

func (e *ValidationError) Error() string {
	return "invalid configuration:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// Validate checks every setting and reports all problems at once.
func (c *Config) Validate() error {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen: %q is not host:port", c.Listen)
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || u.Scheme == "" || u.Host == "" {
			add("base_url: %q is not an absolute URL", c.BaseURL)
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		add("tls: give both cert_file and key_file, or neither")
	}

	fs := c.Freshservice
	if fs.URL == "" {
		add("freshservice.url (or freshservice.domain): required")
	} else if u, err := url.Parse(fs.URL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		add("freshservice.url: %q is not an http(s) URL", fs.URL)
	} else if u.User != nil {
		add("freshservice.url: must not carry credentials; use freshservice.api_key")
	}
	if fs.APIKey == "" {
		add("freshservice.api_key (or api_key_file, or FSBRIDGE_FRESHSERVICE_API_KEY): required")
	}
	switch fs.Plan {
	case "starter", "growth", "pro", "enterprise":
	default:
		if fs.Limits.Overall == 0 {
			add("freshservice.plan: %q is not starter, growth, pro or enterprise (or set freshservice.limits)", fs.Plan)
		}
	}
	if fs.Limits.Overall < 0 || fs.Limits.ListAgents < 0 || fs.Limits.ListRequesters < 0 {
		add("freshservice.limits: must not be negative")
	}
	if fs.Share <= 0 || fs.Share > 1 {
		add("freshservice.share: %v is not in (0, 1]", fs.Share)
	}
	if fs.Window <= 0 {
		add("freshservice.window: must be positive")
	}
	if fs.MaxWait < 0 || fs.Timeout <= 0 {
		add("freshservice.max_wait and timeout: must be positive")
	}

	if len(c.SCIM.Tokens) == 0 && c.SCIM.Basic == nil {
		add("scim.tokens: at least one bearer token (or FSBRIDGE_SCIM_TOKEN) is required")
	}
	names := map[string]bool{}
	for i, t := range c.SCIM.Tokens {
		set := 0
		for _, v := range []bool{t.Token != "", t.SHA256 != ""} {
			if v {
				set++
			}
		}
		if set != 1 {
			add("scim.tokens[%d]: give exactly one of token, token_file or sha256", i)
		}
		if t.SHA256 != "" {
			if _, err := ParseTokenHash(t.SHA256); err != nil {
				add("scim.tokens[%d].sha256: %v", i, err)
			}
		}
		if t.Token != "" && len(t.Token) < 16 {
			add("scim.tokens[%d]: a token shorter than 16 characters is too easy to guess", i)
		}
		name := t.Name
		if name == "" {
			name = fmt.Sprintf("token%d", i+1)
		}
		if names[name] {
			add("scim.tokens[%d].name: %q used twice", i, name)
		}
		names[name] = true
	}
	if b := c.SCIM.Basic; b != nil && (b.Username == "" || b.Password == "") {
		add("scim.basic: username and password are required")
	}
	if c.SCIM.MaxBodyBytes < 1024 {
		add("scim.max_body_bytes: %d is too small", c.SCIM.MaxBodyBytes)
	}
	if c.SCIM.RequestTimeout <= 0 {
		add("scim.request_timeout: must be positive")
	}
	if c.SCIM.ClientRateLimit < 0 {
		add("scim.client_rate_limit: must not be negative")
	}

	switch c.Store.Driver {
	case "sqlite":
		if c.Store.Path == "" {
			add("store.path: required for sqlite")
		}
	case "postgres":
		if c.Store.DSN == "" {
			add("store.dsn (or dsn_file, or FSBRIDGE_STORE_DSN): required for postgres")
		}
	default:
		add("store.driver: %q is not sqlite or postgres", c.Store.Driver)
	}
	if c.Mirror.RefreshInterval < time.Second {
		add("mirror.refresh_interval: must be at least 1s")
	}
	if c.Mirror.Share <= 0 || c.Mirror.Share > 1 {
		add("mirror.share: %v is not in (0, 1]", c.Mirror.Share)
	}
	if c.Reconcile.Interval <= 0 || c.Reconcile.MaxBackoff <= 0 {
		add("reconcile.interval and max_backoff: must be positive")
	}
	if c.Reconcile.CreateRetryAttempts < 1 {
		add("reconcile.create_retry_attempts: %d is less than 1", c.Reconcile.CreateRetryAttempts)
	}
	if c.Reconcile.CreateRetryMaxAge <= 0 {
		add("reconcile.create_retry_max_age: must be positive")
	}
	if r := c.Reconcile.CreateRetryShare; r <= 0 || r > 1 {
		add("reconcile.create_retry_share: %v is not in (0, 1]", r)
	}
	if n := c.Connections; n.Max < 0 || n.PerClient < 0 {
		add("connections.max and per_client: must not be negative (0 picks the default)")
	} else if n.Max > 0 && n.PerClient > n.Max {
		add("connections.per_client: %d is more than connections.max (%d)", n.PerClient, n.Max)
	}
	if c.Connections.IdleTimeout <= 0 {
		add("connections.idle_timeout: must be positive")
	}
	for i, u := range c.ProtectedUsers {
		if !isEmail(u) && !isUserID(u) {
			add("protected_users[%d]: %q is neither an email address nor a Freshservice user id (a positive whole number)", i, u)
		}
	}
	switch c.Log.Level {
	case "trace", "debug", "info", "warn", "error":
	default:
		add("log.level: %q is not trace, debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		add("log.format: %q is not json or console", c.Log.Format)
	}
	if c.Status.Token != "" && len(c.Status.Token) < 16 {
		add("status.token: shorter than 16 characters is too easy to guess")
	}
	if c.Webhook.Secret != "" && len(c.Webhook.Secret) < 16 {
		add("webhook.secret: shorter than 16 characters is too easy to guess")
	}
	p = append(p, c.Rules.validate()...)
	p = append(p, c.Mapping.validate()...)
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// isEmail reports whether s is one plain address, such as
// ann@example.com: no display name, no angle brackets, no spaces.
func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s && strings.Contains(s, "@")
}

// isUserID reports whether s is a Freshservice user id: a positive
// decimal number that fits int64.
func isUserID(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n > 0 && strconv.FormatInt(n, 10) == s
}

// Dump renders the configuration as YAML with every secret shown as
// <secret>, for `fsbridge check` and support requests.
func (c Config) Dump() string {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	_ = enc.Encode(c)
	return b.String()
}
