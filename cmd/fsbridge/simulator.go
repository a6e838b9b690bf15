package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
)

func init() {
	register("simulator", "run the Freshservice API simulator", runSimulator)
}

// simulatorConfig is the command line of "fsbridge simulator".
type simulatorConfig struct {
	listen   string
	seedFile string
	opts     simulator.Options
}

// simulatorFlags defines the flags on fs: one per option, switch and fault
// of the simulator. Defaults are the simulator's defaults, spelt out.
func simulatorFlags(fs *flag.FlagSet) *simulatorConfig {
	c := &simulatorConfig{}
	o := &c.opts
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8081", "`address` to listen on")
	fs.StringVar(&o.APIKey, "api-key", "", "API `key` clients send as the Basic auth username (default: a random key, printed at start)")
	fs.StringVar(&o.Plan, "plan", "enterprise", "Freshservice `plan` for the rate limits: starter, growth, pro or enterprise")
	fs.Float64Var(&o.TimeScale, "time-scale", 1, "simulated seconds per real second (60: a rate-limit minute passes in one second)")
	fs.IntVar(&o.FullTimeSeats, "seats", 0, "full-time agent seats, the owner included; 0 means unlimited")
	fs.StringVar(&c.seedFile, "seed", "", "JSON `file` of objects to add at start (see docs/simulator.md)")
	fs.BoolVar(&o.NoDefaults, "no-defaults", false, "start with an empty account: no roles, departments, groups or owner")

	sw := &o.Switches
	fs.IntVar(&sw.DuplicateEmailStatus, "duplicate-email-status", 409, "status of a duplicate email on an agent create or an update: 409 or 400 (a requester create is always 409)")
	fs.StringVar(&sw.DuplicateEmailBody, "duplicate-email-body", simulator.DuplicateBodyValidation, "body of a 409 duplicate email: validation (field and duplicate_value) or conflict (a bare code, no field)")
	fs.BoolVar(&sw.RequesterListActiveOnly, "requester-list-active-only", false, "GET /requesters without active= lists active requesters only")
	fs.BoolVar(&sw.EmailFilterPrimaryOnly, "email-filter-primary-only", false, "the email= filter of /requesters ignores secondary emails")
	fs.IntVar(&sw.AgentDeleteStatus, "agent-delete-status", 200, "status of DELETE /agents/{id}: 200 (with the agent) or 204")
	fs.StringVar(&sw.ConvertToRequesterEnvelope, "convert-to-requester-envelope", simulator.EnvelopeRequester, "envelope key of convert_to_requester: requester or agent")
	fs.IntVar(&sw.ConvertToAgentExistingStatus, "convert-to-agent-existing-status", 409, "convert_to_agent of an agent: 409 or 200 (no-op)")
	fs.IntVar(&sw.RequesterGroupAddStatus, "requester-group-add-status", 200, "status of adding a requester-group member: 200, 201 or 204")
	fs.IntVar(&sw.CreateStatus, "create-status", 201, "status of a successful agent, agent-group or location create: 201 or 200")
	fs.StringVar(&sw.AgentRepeatCalls, "agent-repeat-calls", simulator.RepeatSucceed, "deactivating an inactive agent or reactivating an active one: succeed or fail (404, 400 contact_already_active)")
	fs.BoolVar(&sw.AgentDeactivateClearsGroups, "agent-deactivate-clears-groups", false, "deactivating an agent removes it from its agent groups")
	fs.BoolVar(&sw.AgentRolesOptional, "agent-roles-optional", false, "POST /agents may omit roles")
	fs.StringVar(&sw.NotFoundBody, "not-found-body", simulator.NotFoundEmpty, "body of a 404: empty, json or html")
	fs.BoolVar(&sw.QueryLink, "query-link", false, "query= responses carry a Link header when another page exists")
	fs.DurationVar(&sw.QueryIndexLag, "query-index-lag", 0, "simulated delay before a change is visible to query=")
	fs.StringVar(&sw.RateWindow, "rate-window", simulator.RateWindowFixed, "rate-limit window: fixed or sliding")
	fs.IntVar(&sw.HourlyLimit, "hourly-limit", 0, "legacy per-hour limit of an account created before September 2020 (e.g. 3000); 0 means the plan's per-minute limits")
	fs.BoolVar(&sw.RestrictedGroupApproval, "restricted-group-approval", false, "every agent group is restricted with approval required: new members wait in members_pending_approval")
	fs.IntVar(&sw.SeatLimitStatus, "seat-limit-status", 403, "status when no full-time seat is left (a 4xx)")
	fs.StringVar(&sw.SeatExhaustion, "seat-exhaustion", simulator.SeatsError, "a full-time agent with no seat free: error (--seat-limit-status) or downgrade (made occasional without error, as workspace accounts do)")
	fs.BoolVar(&sw.VIPUserWritable, "vip-user-writable", false, "accept vip_user in requester and agent bodies")
	fs.BoolVar(&sw.AgentExternalIDReadOnly, "agent-external-id-read-only", false, "reject external_id in agent bodies")
	fs.BoolVar(&sw.QueryExtraFields, "query-extra-fields", false, "query= on /requesters accepts secondary_emails")
	fs.BoolVar(&sw.RequesterGroupRejectsAgents, "requester-group-rejects-agents", false, "agents cannot join requester groups")
	fs.BoolVar(&sw.LocationAddressFlat, "location-address-flat", false, "locations use flat address_line1... keys instead of a nested address")
	fs.BoolVar(&sw.EmailChangeReadOnly, "email-change-read-only", false, "changing an existing user's primary email is 400 readonly_field")
	fs.BoolVar(&sw.Workspaces, "workspaces", false, "an account with several workspaces (IT, HR, Facilities): groups and roles carry workspace_id")
	fs.Int64Var(&sw.KeyWorkspaceID, "key-workspace-id", 0, "with --workspaces, the one workspace (2, 3 or 4) the API key's owner sees; 0 means all")
	fs.StringVar(&sw.KeyRole, "key-role", simulator.KeyRoleAdmin, "role of the API key's owner: admin, no_manage_agents (agent calls and include_agents=true are 403) or limited (lists show part of the account)")
	fs.BoolVar(&sw.CustomFieldRequired, "custom-field-required", false, "the user custom field employee_id is mandatory on requester and agent creates")
	fs.StringVar(&sw.RequesterViewOfAgents, "requester-view-of-agents", simulator.RequesterViewShow, "GET /requesters/{id} of an agent: show (200, is_agent:true) or 404")
	fs.BoolVar(&sw.NormalizeOnWrite, "normalize-on-write", false, "store phone numbers without spaces, dashes and parentheses, and names with white space trimmed and collapsed")
	fs.BoolVar(&sw.WriteContentTypeRequired, "write-content-type-required", false, "a POST or PUT without Content-Type: application/json is 415, bodyless ones included")

	f := &o.Faults
	fs.Float64Var(&f.Rate429, "fault-429", 0, "probability of an injected 429 per API request")
	fs.Float64Var(&f.Rate5xx, "fault-5xx", 0, "probability of an injected 500, 502 or 503")
	fs.Float64Var(&f.RateDrop, "fault-drop", 0, "probability of closing the connection without a response")
	fs.Float64Var(&f.RateCommitThenFail, "fault-commit-then-fail", 0, "probability that a write is performed and then fails (drop or 5xx)")
	fs.DurationVar(&f.Latency, "latency", 0, "latency added to every API request")
	fs.DurationVar(&f.Jitter, "jitter", 0, "random extra latency, uniform in [0, jitter]")
	fs.Int64Var(&f.Seed, "fault-seed", 0, "seed of the fault RNG, for reproducible runs")
	return c
}

func runSimulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("simulator", stderr)
	cfg := simulatorFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	generated := cfg.opts.APIKey == ""
	if generated {
		key, err := randomKey()
		if err != nil {
			return err
		}
		cfg.opts.APIKey = key
	}
	sim, err := simulator.New(cfg.opts)
	if err != nil {
		return err
	}
	if cfg.seedFile != "" {
		if err := sim.SeedFile(cfg.seedFile); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := "http://" + ln.Addr().String()
	note := ""
	if generated {
		note = " (generated; pass --api-key to choose one)"
	}
	fmt.Fprintf(stdout, "Freshservice simulator (plan %s) listening\n", cfg.opts.Plan)
	fmt.Fprintf(stdout, "  base URL: %s/api/v2\n", base)
	fmt.Fprintf(stdout, "  API key:  %s%s\n", cfg.opts.APIKey, note)
	fmt.Fprintf(stdout, "  control:  %s/_simulator/stats\n", base)
	fmt.Fprintf(stdout, "  try:      curl -u %s:X %s/api/v2/roles\n", cfg.opts.APIKey, base)
	return serveSimulator(ctx, ln, sim)
}

// serveSimulator serves h on ln until ctx is cancelled, then shuts down
// gracefully. It closes ln.
func serveSimulator(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Generous, because injected latency (settable at run time through
		// /_simulator/faults) delays responses on purpose.
		WriteTimeout: 5 * time.Minute,
		// As the bridge's own listener: idle keep-alive connections are
		// closed after 30 s, and headers are capped, so an idle or hostile
		// client cannot hold the process's file descriptors.
		IdleTimeout:    30 * time.Second,
		MaxHeaderBytes: 64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

func randomKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate an API key: %w", err)
	}
	return hex.EncodeToString(b), nil
}
