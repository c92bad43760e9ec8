package deploy

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// TestAlertRules checks deploy/alerts.yml with promtool: the rules parse, and the
// unit tests of deploy/alerts_test.yml (e.g. ModelmonWindowNotComputed stays silent
// when traffic stops after a burst) pass.
func TestAlertRules(t *testing.T) {
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian: apt-get install prometheus)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "check", "rules", "alerts.yml").CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if out, err := exec.CommandContext(ctx, bin, "test", "rules", "alerts_test.yml").CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}
