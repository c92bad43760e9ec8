package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinarySecondProcessOnSameSpoolDir runs two real binaries on one spool
// directory: the second refuses to start, naming the directory and the first one's
// pid, and the first goes on serving.
func TestBinarySecondProcessOnSameSpoolDir(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildOnline(t)
	spoolDir := t.TempDir()
	// No database is needed to start: /readyz says it is down.
	uri := "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=300"
	p := startOnline(t, bin, uri, spoolDir)
	defer func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		<-p.exit
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	model, _ := filepath.Abs(modelPath)
	second := exec.CommandContext(ctx, bin, "--online-addr", freeAddr(t), "--model-path", model, "--mongodb-address", uri,
		"--spool-dir", spoolDir, "--monitor-config", "")
	out, err := second.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("second process: %v, want exit status 1\n%s", err, out)
	}
	for _, want := range []string{"locked by another process", spoolDir, fmt.Sprintf("pid %d", p.cmd.Process.Pid)} {
		if !strings.Contains(string(out), want) {
			t.Errorf("second process output does not say %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "locked") {
			t.Logf("second process: %s", line)
		}
	}
	res, err := http.Get(p.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("first process /healthz after the refusal: %d", res.StatusCode)
	}
}
