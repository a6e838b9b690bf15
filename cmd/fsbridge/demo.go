package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/fsbridge/fsbridge/freshservice/simulator"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/server"
)

func init() {
	register("demo", "run the Freshservice simulator and the bridge together, to try fsbridge", runDemo)
}

// demoRules are the rules of the demo: promotion by SCIM group.
func demoRules() config.Rules {
	return config.Rules{
		RoleGroups: []config.RoleGroup{
			{
				Match:    config.Match{DisplayName: "FS Agents"},
				Roles:    []config.RoleGrant{{Role: "SD Agent", Scope: "member_groups"}},
				MemberOf: []string{"Service Desk"},
			},
			{
				Match: config.Match{DisplayName: "FS Admins", Role: "Admin"},
				Roles: []config.RoleGrant{{Role: "Account Admin", Scope: "entire_helpdesk"}},
			},
		},
		AgentGroups: []config.AgentGroupMap{{Match: config.Match{DisplayName: "Network Team"}, AgentGroup: "Network Team"}},
	}
}

// demoConfig is the command line of "fsbridge demo".
type demoConfig struct {
	listen, simListen, token, apiKey, data, plan, logLevel string
	// timeScale is the simulator's simulated seconds per real second; the
	// bridge's budget window follows it, so a large import that Freshservice
	// would pace over hours runs in minutes.
	timeScale float64
}

func demoFlags(fs *flag.FlagSet) *demoConfig {
	d := &demoConfig{}
	fs.StringVar(&d.listen, "listen", "127.0.0.1:8080", "`address` the bridge serves SCIM on")
	fs.StringVar(&d.simListen, "simulator-listen", "127.0.0.1:8081", "`address` the Freshservice simulator listens on")
	fs.StringVar(&d.token, "token", "demo-token-change-me", "bearer `token` the IdP (or curl) sends")
	fs.StringVar(&d.apiKey, "api-key", "demo-api-key", "API `key` of the simulated Freshservice account")
	fs.StringVar(&d.data, "data", "", "`directory` for the bridge's database (default: a new temporary directory)")
	fs.StringVar(&d.plan, "plan", "enterprise", "simulated Freshservice `plan`, which sets the API rate limits: starter, growth, pro or enterprise")
	fs.Float64Var(&d.timeScale, "time-scale", 1, "simulated seconds per real `second`: 60 lets a minute of API budget pass in one second, so a 10,000-user import takes minutes, not hours")
	fs.StringVar(&d.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	return d
}

// simulator returns the demo's simulated account.
func (d *demoConfig) simulator() (*simulator.Server, error) {
	return simulator.New(simulator.Options{APIKey: d.apiKey, Plan: d.plan, TimeScale: d.timeScale})
}

// bridgeConfig is the bridge's configuration for the simulator sim at
// simURL, with its database under dir.
func (d *demoConfig) bridgeConfig(sim *simulator.Server, simURL, dir string) (config.Config, error) {
	cfg := config.Default()
	cfg.Listen = d.listen
	cfg.Freshservice.URL = simURL
	cfg.Freshservice.APIKey = config.Secret(d.apiKey)
	cfg.Freshservice.Plan = d.plan
	// The budget counts in the simulator's minutes: at time scale 60 the
	// bridge may spend a plan's minute of calls every real second, and no
	// more.
	cfg.Freshservice.Window = sim.Window()
	cfg.SCIM.Tokens = []config.Token{{Name: "demo", Token: config.Secret(d.token)}}
	cfg.Store.Path = filepath.Join(dir, "fsbridge.db")
	cfg.Mirror.RefreshInterval = time.Minute
	cfg.Reconcile.Interval = 5 * time.Second
	cfg.Log.Level = d.logLevel
	cfg.Rules = demoRules()
	if err := cfg.Validate(); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	d := demoFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(d.token) < 16 {
		return errors.New("--token must be at least 16 characters")
	}
	sim, err := d.simulator()
	if err != nil {
		return err
	}
	dir := d.data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "fsbridge-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}

	simLn, err := net.Listen("tcp", d.simListen)
	if err != nil {
		return fmt.Errorf("simulator listen: %w", err)
	}
	simCtx, stopSim := context.WithCancel(context.WithoutCancel(ctx))
	simDone := make(chan error, 1)
	go func() { simDone <- serveSimulator(simCtx, simLn, sim) }()
	defer func() {
		stopSim()
		<-simDone
	}()
	simURL := "http://" + simLn.Addr().String()

	cfg, err := d.bridgeConfig(sim, simURL, dir)
	if err != nil {
		return err
	}
	log := server.NewLogger(cfg.Log, os.Stderr)
	srv, err := server.New(ctx, cfg, server.Options{Log: log})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	printDemo(stdout, "http://"+ln.Addr().String(), d.token, simURL, d.apiKey)
	if d.timeScale > 1 {
		fmt.Fprintf(stdout, "\nTime runs %gx faster in the simulated account (plan %s): a minute of API budget passes every %s.\n",
			d.timeScale, d.plan, sim.Window().Round(time.Millisecond))
	}
	return srv.Serve(ctx, ln)
}

func printDemo(w io.Writer, base, token, simURL, key string) {
	fmt.Fprintf(w, `fsbridge demo: the bridge and a simulated Freshservice account are running.

  SCIM base URL      %[1]s/scim/v2
  Bearer token       %[2]s
  Freshservice (sim) %[3]s/api/v2   (API key %[4]s)
  Status page        %[1]s/status?token=%[2]s   (open it in a browser)

Try it in another terminal (bash). Every command works as printed.

  SCIM=%[1]s/scim/v2 AUTH='Authorization: Bearer %[2]s' JSON='Content-Type: application/scim+json'
  SIM=%[3]s/api/v2 KEY=%[4]s:X

  # 1. Create a user, as an IdP does; Freshservice gets a requester.
  ID=$(curl -s -H "$AUTH" -H "$JSON" -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com","name":{"givenName":"Ada","familyName":"Lovelace"},"emails":[{"value":"ada@example.com","type":"work","primary":true}],"title":"Analyst","active":true}' $SCIM/Users | grep -o '"id":"[0-9]*"' | cut -d'"' -f4); echo "created user $ID"
  curl -s -u $KEY "$SIM/requesters/$ID"; echo

  # 2. Find her the way IdPs do (no Freshservice call: the bridge answers from its mirror).
  curl -s -H "$AUTH" "$SCIM/Users?filter=userName%%20eq%%20%%22ada@example.com%%22"; echo

  # 3. Deactivate her (Okta's form), see it in Freshservice, then reactivate her.
  curl -s -X PATCH -H "$AUTH" -H "$JSON" -d '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}' $SCIM/Users/$ID; echo
  curl -s -u $KEY "$SIM/requesters/$ID" | grep -o '"active":[a-z]*'
  curl -s -X PATCH -H "$AUTH" -H "$JSON" -d '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":true}]}' $SCIM/Users/$ID; echo

  # 4. Promote her: put her in the SCIM group "FS Agents" (the demo's rules make its members full-time
  #    agents with role SD Agent in the agent group Service Desk).
  GID=$(curl -s -H "$AUTH" -H "$JSON" -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"FS Agents","members":[{"value":"'$ID'"}]}' $SCIM/Groups | grep -o '"id":"[0-9a-f-]*"' | head -1 | cut -d'"' -f4); echo "group $GID"
  curl -s -u $KEY "$SIM/agents/$ID"; echo

  # 5. Demote her: take her out of the group; she is a requester again.
  curl -s -X PATCH -H "$AUTH" -H "$JSON" -d '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"'$ID'\"]"}]}' $SCIM/Groups/$GID
  curl -s -u $KEY "$SIM/requesters/$ID" | grep -o '"is_agent":[a-z]*'

  # 6. See what the bridge did (health, API budget, calls per minute, the audit trail): open
  #    %[1]s/status?token=%[2]s in a browser, or read the same as JSON:
  curl -s -H "$AUTH" %[1]s/status.json | grep -E '"(state|operation)"'

Press Ctrl-C to stop.
`, base, token, simURL, key)
}
