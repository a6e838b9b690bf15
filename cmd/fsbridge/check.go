package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/server"
)

func init() {
	register("check", "validate a configuration against Freshservice and show the plan a SCIM change would make", runCheck)
}

// checkRequest is a SCIM request to plan: --request FILE holds one.
type checkRequest struct {
	Method string          `json:"method"`
	Path   string          `json:"path"` // under /scim/v2, e.g. /Users or /Groups/{id}
	Body   json.RawMessage `json:"body"`
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", stderr)
	path := fs.String("config", "", "YAML configuration `file` (settings also come from FSBRIDGE_* variables)")
	reqFile := fs.String("request", "", "JSON `file` with a SCIM request {\"method\",\"path\",\"body\"} whose Freshservice calls to print")
	walk := fs.Bool("walk", false, "read every Freshservice user first (costs list calls), so plans know who exists")
	showConfig := fs.Bool("show-config", false, "print the effective configuration, secrets hidden")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path, os.Environ())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "configuration: valid")
	if *showConfig {
		fmt.Fprintln(stdout, indent(cfg.Dump()))
	}
	// Nothing a check does may change Freshservice.
	cfg.DryRun = true
	checkToken := randomToken()
	cfg.SCIM.Tokens = append(cfg.SCIM.Tokens, config.Token{Name: "check", Token: config.Secret(checkToken)})

	srv, rulesErr, err := newCheckServer(ctx, cfg, server.Options{Log: zerolog.Nop()})
	if err != nil {
		return fmt.Errorf("reaching Freshservice and resolving the rules: %w", err)
	}
	defer srv.Close()
	cat := srv.Bridge.Catalog()
	fmt.Fprintf(stdout, "freshservice: reached %s: %d roles, %d agent groups, %d requester groups, %d departments, %d locations\n",
		cfg.Freshservice.URL, len(cat.Roles), len(cat.AgentGroups), len(cat.RequesterGroups), len(cat.Departments), len(cat.Locations))
	if o := srv.Bridge.KeyOwner(); o != nil {
		fmt.Fprintf(stdout, "api key: owned by agent %d, %s (%s); the bridge never deactivates, demotes or strips it\n", o.ID, o.Name, o.Email)
	} else {
		fmt.Fprintln(stdout, "api key: Freshservice did not name its owner (GET /api/v2/agents/me); list that agent in protected_users")
	}
	if p := srv.Bridge.ProtectedUsers(); len(p) > 0 {
		fmt.Fprintf(stdout, "protected users: %s\n", strings.Join(p, ", "))
	}
	if rulesErr == nil {
		printRules(stdout, srv)
		printPlanGatedRules(ctx, stdout, srv)
	}
	stats, _ := srv.Client.Budget().Stats()
	fmt.Fprintf(stdout, "budget (plan %s, share %.2f, per %s):", cfg.Freshservice.Plan, cfg.Freshservice.Share, cfg.Freshservice.Window)
	for _, s := range stats {
		fmt.Fprintf(stdout, " %s %d of %d;", s.Bucket, s.Limit, s.Total)
	}
	fmt.Fprintln(stdout)

	if *walk {
		if err := srv.Bridge.Walk(ctx); err != nil {
			return fmt.Errorf("walking Freshservice users: %w", err)
		}
	}
	d := srv.Bridge.Directory()
	if t := d.WalkedAt(); t.IsZero() {
		fmt.Fprintf(stdout, "mirror: %d users from the store, never walked (plans treat users the store does not know as new; use --walk)\n", d.Len())
	} else {
		fmt.Fprintf(stdout, "mirror: %d users, last walked %s\n", d.Len(), t.Format(time.RFC3339))
	}
	if *reqFile != "" {
		if err := planRequest(ctx, stdout, srv, *reqFile, checkToken); err != nil {
			return err
		}
	}
	var problems checkProblems
	printAccountReport(ctx, stdout, srv, rulesErr, &problems)
	return printVerdict(stdout, problems)
}

// planRequest prints the Freshservice calls the SCIM request in file
// would make, or the bridge's answer to it.
func planRequest(ctx context.Context, stdout io.Writer, srv *server.Server, file, checkToken string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var cr checkRequest
	if err := json.Unmarshal(data, &cr); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if cr.Method == "" || !strings.HasPrefix(cr.Path, "/") {
		return errors.New("the request needs a method and a path such as /Users or /Groups/{id}")
	}
	req := httptest.NewRequestWithContext(ctx, strings.ToUpper(cr.Method), "/scim/v2"+cr.Path, bytes.NewReader(cr.Body))
	req.Header.Set("Authorization", "Bearer "+checkToken)
	if len(cr.Body) > 0 {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	rec := httptest.NewRecorder()
	srv.Handler.ServeHTTP(rec, req)
	fmt.Fprintf(stdout, "\n%s %s -> %d\n", req.Method, cr.Path, rec.Code)
	var body struct {
		Detail string   `json:"detail"`
		Plan   []string `json:"plan"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	switch {
	case rec.Code == http.StatusAccepted:
		if len(body.Plan) == 0 {
			fmt.Fprintln(stdout, "plan: no Freshservice call is needed")
			return nil
		}
		fmt.Fprintf(stdout, "plan: %d Freshservice call(s) would be made:\n", len(body.Plan))
		for _, c := range body.Plan {
			fmt.Fprintf(stdout, "  %s\n", c)
		}
	case rec.Code >= 400:
		fmt.Fprintf(stdout, "the bridge would refuse it: %s\n", body.Detail)
	default:
		fmt.Fprintln(stdout, "no Freshservice write is needed; the bridge would answer:")
		fmt.Fprintln(stdout, indent(rec.Body.String()))
	}
	return nil
}

func printRules(w io.Writer, srv *server.Server) {
	rs := srv.Bridge.Rules()
	cat := srv.Bridge.Catalog()
	if len(rs.RoleRules) == 0 && len(rs.AgentMaps) == 0 {
		fmt.Fprintln(w, "rules: none (every SCIM group is a requester group; nobody is promoted)")
		return
	}
	fmt.Fprintln(w, "rules: every name resolved")
	for _, r := range rs.RoleRules {
		var roles, groups []string
		for _, ra := range r.Roles {
			roles = append(roles, fmt.Sprintf("%s (%d, %s)", cat.Roles[ra.RoleID], ra.RoleID, ra.AssignmentScope))
		}
		for _, g := range r.MemberOf {
			groups = append(groups, fmt.Sprintf("%s (%d)", cat.AgentGroups[g], g))
		}
		kind := "full-time"
		if r.Occasional {
			kind = "occasional"
		}
		fmt.Fprintf(w, "  role group %q (%s): %s agents, roles %s, member of %s, on leave %s\n",
			r.Name, r.Match, kind, strings.Join(roles, ", "), orNone(groups), r.OnLeave)
	}
	for _, m := range rs.AgentMaps {
		fmt.Fprintf(w, "  agent group mapping %s -> %q (%d)\n", m.Match, m.Name, m.GroupID)
	}
	if rs.MaxAgents > 0 {
		fmt.Fprintf(w, "  at most %d full-time agents\n", rs.MaxAgents)
	}
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "no groups"
	}
	sort.Strings(l)
	return strings.Join(l, ", ")
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
