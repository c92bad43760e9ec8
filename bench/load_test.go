// Package bench holds the load tools of bench/README.md; this test runs the short
// version of the load script in CI.
package bench

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// TestLoadScriptShort runs `bench/load.sh --duration 10s` at a rate a CI machine
// holds while other test packages run beside it: the script fails on any non-200,
// any transport error or any answered id missing from the database.
func TestLoadScriptShort(t *testing.T) {
	if testing.Short() {
		t.Skip("10 s of load")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", "load.sh", "--duration", "10s", "--rate", "1000", "--conns", "32").CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("load.sh: %v", err)
	}
}
