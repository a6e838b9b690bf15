package test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// everything gathers every log line, response (errors included), metrics
// page and configuration dump the end-to-end suite produces; TestMain
// fails the suite if any secret appears in it.
var everything = &syncWriter{w: &bytes.Buffer{}}

// secrets are every credential the suite configures.
var secrets = []string{testAPIKey, testToken, "webhook-secret-0123456789"}

func collectMetrics(base string) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	fmt.Fprintf(everything, "metrics:\n%s\n", data)
}

func TestMain(m *testing.M) {
	code := m.Run()
	out := everything.String()
	if f := flag.Lookup("test.run"); code == 0 && f != nil && f.Value.String() == "" && len(out) < 100_000 {
		fmt.Fprintf(os.Stderr, "the secrets check gathered only %d bytes; it checks nothing\n", len(out))
		code = 1
	}
	for _, s := range secrets {
		if i := strings.Index(out, s); i >= 0 {
			from := max(i-200, 0)
			fmt.Fprintf(os.Stderr, "a secret appears in the suite's output (logs, responses, metrics or config dumps):\n...%s...\n", out[from:min(i+len(s)+200, len(out))])
			code = 1
		}
	}
	os.Exit(code)
}
