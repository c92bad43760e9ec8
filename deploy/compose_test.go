// Package deploy holds the files that run modelmon outside this repository's Go
// programs: the compose file, the Dockerfile, Prometheus and Grafana provisioning.
package deploy

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestComposeConfig validates deploy/temporal-compose.yml with Debian's docker-compose,
// which parses and resolves the file without a Docker engine.
func TestComposeConfig(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose not installed (.ci/run installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-f", "temporal-compose.yml", "config").CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	for _, svc := range []string{"temporal:", "temporal-ui:", "mongo:", "prometheus:", "grafana:", "online:", "worker:"} {
		if !strings.Contains(string(out), "\n  "+svc) {
			t.Errorf("service %s missing from the resolved compose file", strings.TrimSuffix(svc, ":"))
		}
	}
}
