package main

import (
	"context"
	"fmt"
	"io"

	"github.com/fsbridge/fsbridge/internal/version"
)

func init() {
	register("version", "print the version and exit", func(_ context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("version", stderr)
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "fsbridge", version.String())
		return nil
	})
}
