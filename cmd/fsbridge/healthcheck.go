package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/fsbridge/fsbridge/internal/config"
	"time"
)

func init() {
	register("healthcheck", "exit 0 if the bridge on this host answers /healthz (for container HEALTHCHECK)", runHealthcheck)
}

// runHealthcheck lets a minimal container image, which has no curl, probe
// the bridge it runs.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck", stderr)
	def := os.Getenv(config.EnvHealthcheckURL)
	if def == "" {
		def = "http://127.0.0.1:8080/healthz"
	}
	url := fs.String("url", def, "`URL` to probe (also FSBRIDGE_HEALTHCHECK_URL); /readyz checks readiness too")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not healthy: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not healthy: %s answered %d: %s", *url, resp.StatusCode, body)
	}
	fmt.Fprintf(stdout, "healthy: %s\n", body)
	return nil
}
