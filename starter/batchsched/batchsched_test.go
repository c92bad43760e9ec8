package batchsched

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/server/temporaltest"

	"github.com/modelmon/modelmon/workflows"
)

// TestRunSettings: a schedule passes partition_rows, partition_fan_out,
// partition_block and allowed_lateness to its runs (on embedded Temporal, paused:
// no run starts); an update changes only the settings it names; settings every run
// would fail on are refused and leave the schedule as it was.
func TestRunSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := temporaltest.NewServer(temporaltest.WithT(t)).GetDefaultClient()

	bad := Spec{Dataset: "taxi", PartitionBlock: -1, Paused: true}
	if _, err := Create(ctx, c, bad); err == nil || !strings.Contains(err.Error(), "partition_block = -1") {
		t.Fatalf("create with partition_block -1: %v", err)
	}
	if _, err := Describe(ctx, c, "taxi"); err == nil {
		t.Fatal("a refused schedule was created")
	}

	spec := Spec{Dataset: "taxi", Paused: true, Targets: "target.csv", PartitionRows: 50_000, PartitionFanOut: 16, PartitionBlock: 500, AllowedLateness: "45s"}
	if _, err := Create(ctx, c, spec); err != nil {
		t.Fatal(err)
	}
	want := workflows.Input{Dataset: "taxi", Targets: "target.csv", PartitionRows: 50_000, PartitionFanOut: 16, PartitionBlock: 500, AllowedLateness: "45s"}
	check := func(when string, want workflows.Input) {
		t.Helper()
		v, err := Describe(ctx, c, "taxi")
		if err != nil {
			t.Fatal(err)
		}
		if v.Input != want {
			t.Errorf("%s: input %+v, want %+v", when, v.Input, want)
		}
	}
	check("created", want)

	block, lateness := 2000, "2m"
	if err := Update(ctx, c, "taxi", Change{PartitionBlock: &block, AllowedLateness: &lateness}); err != nil {
		t.Fatal(err)
	}
	want.PartitionBlock, want.AllowedLateness = 2000, "2m"
	check("updated", want)

	fan := workflows.MaxPartitionFanOut + 1
	if err := Update(ctx, c, "taxi", Change{PartitionFanOut: &fan}); err == nil || !strings.Contains(err.Error(), "partition_fan_out = 1001") {
		t.Fatalf("update with partition_fan_out %d: %v", fan, err)
	}
	check("after a refused update", want)
}
