package main

import (
	"context"
	"errors"
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

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "`address` the bridge serves SCIM on")
	simListen := fs.String("simulator-listen", "127.0.0.1:8081", "`address` the Freshservice simulator listens on")
	token := fs.String("token", "demo-token-change-me", "bearer `token` the IdP (or curl) sends")
	apiKey := fs.String("api-key", "demo-api-key", "API `key` of the simulated Freshservice account")
	data := fs.String("data", "", "`directory` for the bridge's database (default: a new temporary directory)")
	plan := fs.String("plan", "enterprise", "simulated Freshservice `plan`: starter, growth, pro or enterprise")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(*token) < 16 {
		return errors.New("--token must be at least 16 characters")
	}
	dir := *data
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

	sim, err := simulator.New(simulator.Options{APIKey: *apiKey, Plan: *plan})
	if err != nil {
		return err
	}
	simLn, err := net.Listen("tcp", *simListen)
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

	cfg := config.Default()
	cfg.Listen = *listen
	cfg.Freshservice.URL = simURL
	cfg.Freshservice.APIKey = config.Secret(*apiKey)
	cfg.Freshservice.Plan = *plan
	cfg.SCIM.Tokens = []config.Token{{Name: "demo", Token: config.Secret(*token)}}
	cfg.Store.Path = filepath.Join(dir, "fsbridge.db")
	cfg.Mirror.RefreshInterval = time.Minute
	cfg.Reconcile.Interval = 5 * time.Second
	cfg.Log.Level = *logLevel
	cfg.Rules = demoRules()
	if err := cfg.Validate(); err != nil {
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
	printDemo(stdout, "http://"+ln.Addr().String(), *token, simURL, *apiKey)
	return srv.Serve(ctx, ln)
}

func printDemo(w io.Writer, base, token, simURL, key string) {
	scimURL := base + "/scim/v2"
	fmt.Fprintf(w, `fsbridge demo: the bridge and a simulated Freshservice account are running.

  SCIM base URL      %s
  Bearer token       %s
  Freshservice (sim) %s/api/v2   (API key %s)

Try it (in another terminal):

  # 1. create a user; Freshservice gets a requester
  curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/scim+json' \
    -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com","name":{"givenName":"Ada","familyName":"Lovelace"},"emails":[{"value":"ada@example.com","type":"work","primary":true}],"active":true}' \
    %s/Users

  # 2. find her as an IdP does, then see the requester in the simulator
  curl -s -H 'Authorization: Bearer %s' '%s/Users?filter=userName%%20eq%%20%%22ada@example.com%%22'
  curl -s -u %s:X '%s/api/v2/requesters?email=ada@example.com'

  # 3. deactivate her (Okta's form), then reactivate with "active":true
  curl -s -X PATCH -H 'Authorization: Bearer %s' -H 'Content-Type: application/scim+json' \
    -d '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}' \
    %s/Users/<id from step 1>

Press Ctrl-C to stop.
`, scimURL, token, simURL, key, token, scimURL, token, scimURL, key, simURL, token, scimURL)
}
