package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

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
		return logFatal(server.NewLogger(config.Default().Log, stderr), "the configuration is invalid", err)
	}
	log := server.NewLogger(cfg.Log, stderr)
	srv, err := server.New(ctx, cfg, server.Options{Log: log})
	if err != nil {
		return logFatal(log, "fsbridge cannot start", err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return logFatal(log, "fsbridge cannot start", fmt.Errorf("listen: %w", err))
	}
	log.Info().Str("listen", ln.Addr().String()).Str("freshservice", cfg.Freshservice.URL).Bool("dry_run", cfg.DryRun).Msg("fsbridge serving")
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reload(ctx, srv, *path)
			}
		}
	}()
	if err := srv.Serve(ctx, ln); err != nil {
		return logFatal(log, "fsbridge stopped on an error", err)
	}
	srv.Close()
	log.Info().Msg("fsbridge stopped: requests finished, background work stopped, store closed")
	return nil
}

// reload re-reads the configuration on SIGHUP and applies the rules
// (re-resolving names against a fresh catalog) and the retry policy of
// creates whose answer was lost; requests keep being served throughout.
// Other settings need a restart.
func reload(ctx context.Context, srv *server.Server, path string) {
	cfg, err := config.Load(path, os.Environ())
	if err != nil {
		srv.Log.Error().Err(err).Msg("reload: the configuration is invalid; keeping the current one")
		return
	}
	if err := srv.Bridge.Reload(ctx, cfg.Rules); err != nil {
		srv.Log.Error().Err(err).Msg("reload: the rules do not resolve; keeping the current ones")
		return
	}
	srv.Bridge.SetCreateRetry(server.CreateRetry(cfg.Reconcile))
	srv.Log.Info().Int("role_groups", len(cfg.Rules.RoleGroups)).Int("agent_groups", len(cfg.Rules.AgentGroups)).
		Msg("reload: rules and the create retry policy applied (other settings take effect at restart)")
}

// errLogged is an error serve has already written to its JSON log; main
// exits with 1 without printing it again, so every line serve writes is
// JSON.
type errLogged struct{ error }

func (e errLogged) Unwrap() error { return e.error }

// logFatal logs err at level fatal (without exiting) and returns it marked
// as logged.
func logFatal(log zerolog.Logger, msg string, err error) error {
	log.WithLevel(zerolog.FatalLevel).Err(err).Msg(msg)
	return errLogged{err}
}
