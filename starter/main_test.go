package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/testutil"
)

// runCLI runs the starter with args and an environment of env only.
func runCLI(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// keyValues parses the key=value lines a command prints.
func keyValues(s string) map[string]string {
	kv := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.Contains(k, " ") {
			kv[k] = v
		}
	}
	return kv
}

func TestUsage(t *testing.T) {
	_, stderr, err := runCLI(t, nil)
	if !errors.Is(err, errUsage) {
		t.Errorf("no command: %v, want errUsage (exit 2)", err)
	}
	for _, name := range []string{"report", "train", "targets", "replay", "run", "schedule"} {
		if !strings.Contains(stderr, "  "+name+" ") {
			t.Errorf("usage does not list %s:\n%s", name, stderr)
		}
	}
	for _, help := range []string{"--help", "-h", "help"} {
		if _, stderr, err := runCLI(t, nil, help); err != nil || !strings.Contains(stderr, "usage: starter COMMAND") {
			t.Errorf("%s: %v\n%s", help, err, stderr)
		}
	}
	if _, _, err := runCLI(t, nil, "repot"); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), `unknown command "repot"`) {
		t.Errorf("unknown command: %v", err)
	}
	// A command's --help prints its flags and succeeds.
	for cmd, flag := range map[string]string{"report": "-current", "train": "-validate", "targets": "-mongodb-address", "run": "-window-start", "replay": "-rate"} {
		_, stderr, err := runCLI(t, nil, cmd, "--help")
		if err != nil || !strings.Contains(stderr, flag) {
			t.Errorf("%s --help: %v, want %s in:\n%s", cmd, err, flag, stderr)
		}
	}
	if _, stderr, err := runCLI(t, nil, "targets", "--help"); err != nil || !strings.Contains(stderr, "MONGODB_ADDRESS") {
		t.Errorf("targets --help does not list the environment: %v\n%s", err, stderr)
	}
}

// Bad command lines fail with a message that names the problem, before any
// connection is attempted (no Temporal or MongoDB runs here).
func TestBadArguments(t *testing.T) {
	root := testutil.RepoRoot(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report"}, "report: --current is required"},
		{[]string{"report", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"report", "--current", filepath.Join(root, "data", "green_tripdata_2021-02.parquet"), "--model-path", "/nonexistent/model.json"}, "/nonexistent/model.json"},
		{[]string{"report", "--reference", "/nonexistent.parquet", "--current", filepath.Join(root, "data", "green_tripdata_2021-02.parquet"), "--model-path", filepath.Join(root, "models", "duration_model.json")}, "/nonexistent.parquet"},
		{[]string{"train", "--train", "/nonexistent.parquet"}, "/nonexistent.parquet"},
		{[]string{"replay", "--concurrency", "0"}, "--concurrency must be >= 1"},
		{[]string{"targets", "--file", "/nonexistent.csv"}, "/nonexistent.csv"},
		{[]string{"run", "--window-start", "yesterday"}, "--window-start"},
		{[]string{"run", "--dataset", "../x"}, "dataset"},
		// Settings are refused before the run dials MongoDB or Temporal (none runs here).
		{[]string{"run", "--partition-block", "-1"}, "partition_block = -1"},
		{[]string{"run", "--partition-fan-out", "1001"}, "partition_fan_out = 1001"},
		{[]string{"run", "--allowed-lateness", "25h"}, "allowed_lateness \"25h0m0s\""},
		{[]string{"schedule"}, "schedule: missing subcommand"},
		{[]string{"schedule", "create", "--every", "1h", "--cron", "0 * * * *"}, "give --every or --cron, not both"},
		{[]string{"schedule", "create", "--partition-block", "-1"}, "partition_block = -1"},
		{[]string{"schedule", "create", "--partition-rows", "-2"}, "partition_rows = -2"},
		{[]string{"schedule", "update", "--partition-fan-out", "1001"}, "partition_fan_out = 1001"},
		{[]string{"schedule", "update", "--allowed-lateness", "-1s"}, "allowed_lateness \"-1s\""},
	} {
		_, _, err := runCLI(t, nil, c.args...)
		if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error with %q", c.args, err, c.want)
		}
	}
}

// report on two real months: the JSON and the HTML are written, and the verdicts are
// those of the issue (2022-01 drifted against 2021-01, 2021-02 not).
func TestReportRealMonths(t *testing.T) {
	root := testutil.RepoRoot(t)
	dir := t.TempDir()
	env := map[string]string{"MODEL_PATH": filepath.Join(root, "models", "duration_model.json")}
	for _, c := range []struct {
		month string
		rows  int
		drift bool
	}{{"2021-02", 61921, false}, {"2022-01", 59603, true}} {
		jsonPath, htmlPath := filepath.Join(dir, c.month+".json"), filepath.Join(dir, c.month+".html")
		stdout, stderr, err := runCLI(t, env, "report",
			"--reference", filepath.Join(root, "data", "green_tripdata_2021-01.parquet"),
			"--current", filepath.Join(root, "data", "green_tripdata_"+c.month+".parquet"),
			"--json", jsonPath, "--html", htmlPath)
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.month, err, stderr)
		}
		b, err := os.ReadFile(jsonPath)
		if err != nil {
			t.Fatal(err)
		}
		var r report.Report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: report JSON: %v", c.month, err)
		}
		if r.ReferenceRows != 73908 || r.CurrentRows != c.rows || r.DataDrift.DatasetDrift != c.drift {
			t.Errorf("%s: rows %d/%d, dataset drift %t; want 73908/%d, %t", c.month, r.ReferenceRows, r.CurrentRows, r.DataDrift.DatasetDrift, c.rows, c.drift)
		}
		if r.Regression.Reference == nil || math.Abs(r.Regression.Reference.RMSE-4.640696266933439) > 1e-9 {
			t.Errorf("%s: reference RMSE %+v, want the training RMSE 4.6407", c.month, r.Regression.Reference)
		}
		// The printed summary says the same.
		kv := keyValues(stdout)
		if kv["dataset_drift"] != strconv.FormatBool(c.drift)+" drifted_columns" && !strings.HasPrefix(kv["dataset_drift"], strconv.FormatBool(c.drift)+" ") {
			t.Errorf("%s: summary dataset_drift=%q:\n%s", c.month, kv["dataset_drift"], stdout)
		}
		if !strings.Contains(stdout, "rmse reference=4.6407 current=") {
			t.Errorf("%s: no RMSE line:\n%s", c.month, stdout)
		}
		html, err := os.ReadFile(htmlPath)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(bytes.TrimSpace(html), []byte("<!DOCTYPE html>")) || !bytes.Contains(html, []byte("green_tripdata_"+c.month+".parquet vs green_tripdata_2021-01.parquet")) || !bytes.Contains(html, []byte("<svg")) {
			t.Errorf("%s: the HTML report lacks its doctype, title or charts (%d bytes)", c.month, len(html))
		}
	}
	// --json - writes the JSON alone on stdout.
	stdout, _, err := runCLI(t, env, "report",
		"--reference", filepath.Join(root, "data", "green_tripdata_2021-01.parquet"),
		"--current", filepath.Join(root, "data", "green_tripdata_2021-02.parquet"), "--json", "-")
	var r report.Report
	if err != nil || json.Unmarshal([]byte(stdout), &r) != nil || r.CurrentRows != 61921 {
		t.Errorf("--json -: %v, %d bytes of stdout", err, len(stdout))
	}
}

// train on the real months reproduces the shipped artifact and prints its RMSEs.
func TestTrainReproducesTheShippedModel(t *testing.T) {
	root := testutil.RepoRoot(t)
	out := filepath.Join(t.TempDir(), "model.json")
	stdout, stderr, err := runCLI(t, nil, "train",
		"--train", filepath.Join(root, "data", "green_tripdata_2021-01.parquet"),
		"--validate", filepath.Join(root, "data", "green_tripdata_2021-02.parquet"), "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	shipped, err := model.Load(filepath.Join(root, "models", "duration_model.json"))
	if err != nil {
		t.Fatal(err)
	}
	kv := keyValues(stdout)
	for key, want := range map[string]float64{
		"rows": float64(shipped.Training.Rows), "validation_rows": float64(shipped.Training.ValidationRows),
		"train_rmse": shipped.Training.RMSE, "validation_rmse": shipped.Training.ValidationRMSE,
	} {
		got, err := strconv.ParseFloat(kv[key], 64)
		if err != nil || math.Abs(got-want) > 1e-6 {
			t.Errorf("%s=%q, want %v (the shipped model's)", key, kv[key], want)
		}
	}
	if kv["model_version"] != shipped.Version || kv["saved"] != out {
		t.Errorf("model_version=%q saved=%q, want %q and %q", kv["model_version"], kv["saved"], shipped.Version, out)
	}
	m, err := model.Load(out)
	if err != nil || m.Version != shipped.Version {
		t.Errorf("saved model: %v", err)
	}
}

// targets uploads a CSV into the target collection of an embedded FerretDB; a second
// upload of the same file adds nothing.
func TestTargetsUpload(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := mongotest.Start(ctx, mongotest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	csv := filepath.Join(t.TempDir(), "target.csv")
	if err := os.WriteFile(csv, []byte("id,duration\nride-1,12.5\nride-2,3\nride-3,7.25\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"MONGODB_ADDRESS": srv.URI}
	for i, want := range []map[string]string{
		{"targets": "3", "inserted": "3", "already_present": "0"},
		{"targets": "3", "inserted": "0", "already_present": "3"},
	} {
		stdout, stderr, err := runCLI(t, env, "targets", "--file", csv)
		if err != nil {
			t.Fatalf("upload %d: %v\n%s", i+1, err, stderr)
		}
		kv := keyValues(stdout)
		for k, v := range want {
			if kv[k] != v {
				t.Errorf("upload %d: %s=%q, want %q\n%s", i+1, k, kv[k], v, stdout)
			}
		}
	}
	c, err := mongo.Connect(options.Client().ApplyURI(srv.URI))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	var doc bson.M
	if err := c.Database(mongodb.Database).Collection(mongodb.CollectionTarget).FindOne(ctx, bson.D{{Key: "_id", Value: "ride-3"}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc[mongodb.FieldTargetDuration] != 7.25 {
		t.Errorf("ride-3: %v, want %s 7.25", doc, mongodb.FieldTargetDuration)
	}
	// The flag overrides the environment: a closed port is a clear error.
	_, _, err = runCLI(t, env, "targets", "--file", csv, "--mongodb-address", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500")
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("unreachable database: %v", err)
	}
}
