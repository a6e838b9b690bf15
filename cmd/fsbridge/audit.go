package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/server"
	"github.com/fsbridge/fsbridge/internal/store"
)

func init() {
	register("audit", "list the changes fsbridge made in Freshservice (the audit trail)", runAudit)
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit", stderr)
	path := fs.String("config", "", "YAML configuration `file` (only the store settings are used)")
	since := fs.Duration("since", 0, "only events of the last `duration` (e.g. 24h)")
	outcome := fs.String("outcome", "", "only events with this `outcome`: ok, error or planned")
	client := fs.String("client", "", "only events of this IdP `client` (token name)")
	op := fs.String("op", "", "only this `operation`, or a prefix ending in '.' (user., group.)")
	user := fs.String("id", "", "only events about this SCIM `id` (user or group)")
	fsid := fs.Int64("fs-id", 0, "only events about this Freshservice `id`")
	reqID := fs.String("request-id", "", "only events of this SCIM request (the `id` in the bridge's logs and X-Request-Id)")
	limit := fs.Int("limit", 100, "at most `n` events, newest first")
	asJSON := fs.Bool("json", false, "print JSON lines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadStoreConfig(*path)
	if err != nil {
		return err
	}
	st, err := server.OpenStore(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	q := store.AuditQuery{Outcome: *outcome, Client: *client, Operation: *op, SCIMID: *user, FSID: *fsid, RequestID: *reqID, Limit: *limit}
	if *since > 0 {
		q.Since = time.Now().Add(-*since)
	}
	events, err := st.ListAudit(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, e := range events {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	if len(events) == 0 {
		fmt.Fprintln(stdout, "no events")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	// KIND is the kind of a failure as the bridge recorded it (invalid,
	// no_seat, transient...), so failures can be told apart at a glance;
	// --json carries its call, status, field and code too.
	fmt.Fprintln(tw, "TIME\tREQUEST\tCLIENT\tOPERATION\tSCIM ID\tFRESHSERVICE ID\tOUTCOME\tKIND\tDETAIL")
	for _, e := range events {
		id := ""
		if e.FSID != 0 {
			id = strconv.FormatInt(e.FSID, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), orDash(e.RequestID), orDash(e.Client), e.Operation,
			orDash(e.SCIMID), orDash(id), e.Outcome, orDash(e.Kind), oneLine(e.Detail))
	}
	return tw.Flush()
}

// loadStoreConfig loads a configuration for commands that only need the
// store: the Freshservice and SCIM settings need not be complete.
func loadStoreConfig(path string) (config.Config, error) {
	cfg := config.Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, err
		}
		if err := config.Parse(data, &cfg); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := config.ApplyEnv(&cfg, os.Environ()); err != nil {
		return cfg, err
	}
	if err := cfg.Resolve(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
