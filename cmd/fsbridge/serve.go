package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/fsbridge/fsbridge/internal/config"
	"github.com/fsbridge/fsbridge/internal/server"
)

func init() {
	register("serve", "serve SCIM for an IdP (production)", runServe)
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	path := fs.String("config", "", "YAML configuration `file` (settings also come from FSBRIDGE_* variables)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path, os.Environ())
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
	log.Info().Str("listen", ln.Addr().String()).Str("freshservice", cfg.Freshservice.URL).Bool("dry_run", cfg.DryRun).Msg("fsbridge serving")
	return srv.Serve(ctx, ln)
}
