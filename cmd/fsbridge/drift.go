package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/rs/zerolog"

	"github.com/fsbridge/fsbridge/internal/bridge"
	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/server"
)

func init() {
	register("drift", "list users and groups whose Freshservice state differs from what the IdP asked for", runDrift)
}

func runDrift(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("drift", stderr)
	path := fs.String("config", "", "YAML configuration `file` (settings also come from FSBRIDGE_* variables)")
	heal := fs.Bool("heal", false, "re-run the plans that bring Freshservice back to what the IdP asked for")
	noWalk := fs.Bool("no-walk", false, "compare with the mirror as the store holds it, without reading Freshservice users first")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path, os.Environ())
	if err != nil {
		return err
	}
	if *heal {
		cfg.DryRun = false
	}
	srv, err := server.New(ctx, cfg, server.Options{Log: zerolog.Nop()})
	if err != nil {
		return err
	}
	defer srv.Close()
	if !*noWalk {
		if err := srv.Bridge.Walk(ctx); err != nil {
			return fmt.Errorf("reading Freshservice users: %w", err)
		}
	}
	items, err := srv.Bridge.FindDrift(ctx, true)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"drift": items})
	}
	printDrift(stdout, items)
	if !*heal || len(items) == 0 {
		return nil
	}
	if err := srv.Bridge.Heal(ctx, items); err != nil {
		fmt.Fprintf(stdout, "\nhealing stopped: %v\n", err)
	}
	left, err := srv.Bridge.FindDrift(ctx, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nhealed %d of %d\n", len(items)-len(left), len(items))
	if len(left) > 0 {
		printDrift(stdout, left)
		return fmt.Errorf("%d still drifted", len(left))
	}
	return nil
}

func printDrift(w io.Writer, items []bridge.Drift) {
	if len(items) == 0 {
		fmt.Fprintln(w, "no drift: Freshservice holds what the IdP asked for")
		return
	}
	fmt.Fprintf(w, "%d drifted:\n", len(items))
	for _, d := range items {
		fmt.Fprintf(w, "  %s %s (%s)\n", d.Kind, d.ID, d.Name)
		for _, diff := range d.Differences {
			fmt.Fprintf(w, "    - %s\n", diff)
		}
	}
}
