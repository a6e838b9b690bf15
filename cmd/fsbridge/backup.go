package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/fsbridge/fsbridge/internal/store/sqlite"
)

func init() {
	register("backup", "copy the SQLite store consistently while the bridge runs", runBackup)
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", stderr)
	path := fs.String("config", "", "YAML configuration `file` (only the store settings are used)")
	to := fs.String("to", "", "the backup `file` to write (it must not exist)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *to == "" {
		fmt.Fprintln(stderr, "fsbridge backup: --to is required")
		return errUsage
	}
	cfg, err := loadStoreConfig(*path)
	if err != nil {
		return err
	}
	if cfg.Store.Driver != "sqlite" {
		return errors.New("the store is PostgreSQL: back it up with pg_dump or your PostgreSQL backups (docs/operations.md)")
	}
	if err := sqlite.Backup(ctx, cfg.Store.Path, *to); err != nil {
		return err
	}
	info, err := os.Stat(*to)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%d bytes)\n", cfg.Store.Path, *to, info.Size())
	return nil
}
