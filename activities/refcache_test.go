package activities

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/batch/batchtest"
	"github.com/modelmon/modelmon/internal/mongodb"
)

// TestScoreReferenceCache: the first run scores the reference and stores it in the
// reference cache, a second run (another run key) reuses it and gets the same report;
// the run's staging cleanup leaves the cache alone; a copy of the file with the same
// content hits, another file or another model version misses; a corrupt chunk or a
// manifest of another format is a miss that is recomputed, never used.
func TestScoreReferenceCache(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 500, 10_000)
	cur := f.fetch(t)
	score := func(a *Activities, run, reference string) (*batchapi.ScoreReferenceResult, time.Duration) {
		t.Helper()
		env := f.newEnv()
		if a != f.a {
			env.RegisterActivity(a)
		}
		t0 := time.Now()
		r := mustRun[batchapi.ScoreReferenceResult](t, env, a.ScoreReference, batchapi.ScoreReferenceInput{Run: run, Dataset: "taxi", Reference: reference})
		return r, time.Since(t0)
	}
	compute := func(ref batch.StageRef) batch.Summary {
		t.Helper()
		cm := mustRun[batchapi.ComputeResult](t, f.newEnv(), f.a.ComputeMetrics, batchapi.ComputeInput{Run: runKey, Dataset: "taxi", Reference: ref, Current: cur.Current})
		return cm.Summary
	}
	cache := f.a.DB.Collection(mongodb.CollectionReferenceCache)
	count := func(filter bson.D) int {
		t.Helper()
		n, err := batchtest.Count(ctx, cache, filter)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	first, d1 := score(f.a, "wf/r1", "")
	if first.CacheHit || !strings.Contains(first.CacheMiss, "no entry") || first.Reference.Cache == "" || first.Reference.Rows < 50_000 {
		t.Fatalf("first run: %+v", first)
	}
	want := compute(first.Reference)
	// The first run's staging cleanup (InsertResults) leaves the cache alone.
	if _, err := f.a.staging().DeleteRun(ctx, "wf/r1"); err != nil {
		t.Fatal(err)
	}
	second, d2 := score(f.a, "wf/r2", "")
	t.Logf("ScoreReference: first run (scored) %s, second run (cache hit) %s", d1.Round(time.Millisecond), d2.Round(time.Millisecond))
	if !second.CacheHit || second.CacheMiss != "" || second.Reference != first.Reference || second.ModelVersion != testModel.Version {
		t.Fatalf("second run: %+v, first %+v", second, first)
	}
	if got := compute(second.Reference); !reflect.DeepEqual(got, want) {
		t.Errorf("report from the cached reference %+v, want %+v", got, want)
	}
	if n := count(bson.D{{Key: "kind", Value: "manifest"}}); n != 1 {
		t.Errorf("%d manifests, want 1", n)
	}

	// Same content under another name: a hit. Another month: a miss.
	b, err := os.ReadFile(filepath.Join(f.a.DataDir, "data", "green_tripdata_2021-01.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.a.DataDir, "copy.parquet"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if r, _ := score(f.a, "wf/r3", "copy.parquet"); !r.CacheHit || r.Reference != first.Reference {
		t.Errorf("same content, other path: %+v", r)
	}
	other, _ := score(f.a, "wf/r4", "data/green_tripdata_2021-02.parquet")
	if other.CacheHit || other.Reference.Cache == first.Reference.Cache || other.Reference.Rows == first.Reference.Rows {
		t.Errorf("another reference file: %+v", other)
	}
	if got := compute(other.Reference); got.ReferenceRows != other.Reference.Rows || reflect.DeepEqual(got, want) {
		t.Errorf("report against another reference %+v", got)
	}
	// Another model version: a miss (the same coefficients under another version here,
	// so the rows are the same but the entry is not).
	m2 := *testModel
	m2.Version = "sha256:0123456789abcdef"
	a2 := *f.a
	a2.Model = &m2
	mv, _ := score(&a2, "wf/r5", "")
	if mv.CacheHit || mv.Reference.Cache == first.Reference.Cache || mv.ModelVersion != m2.Version || mv.Reference.Rows != first.Reference.Rows {
		t.Errorf("another model version: %+v", mv)
	}
	if r, _ := score(&a2, "wf/r6", ""); !r.CacheHit || r.Reference != mv.Reference {
		t.Errorf("another model version, second run: %+v", r)
	}

	// A chunk changed in the database: a miss that says why, recomputed; the report is
	// still the right one, and the next run hits the new entry.
	if _, err := cache.UpdateOne(ctx, bson.D{{Key: "entry", Value: first.Reference.Cache}, {Key: "seq", Value: 1}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "data", Value: []byte("MMD1 garbage")}}}}); err != nil {
		t.Fatal(err)
	}
	// A run that had the entry before the change cannot read a wrong number.
	if _, err := run[batchapi.ComputeResult](t, f.newEnv(), f.a.ComputeMetrics, batchapi.ComputeInput{Run: runKey, Dataset: "taxi", Reference: first.Reference, Current: cur.Current}); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("compute from a corrupt cache entry: %v", err)
	}
	fixed, _ := score(f.a, "wf/r7", "")
	if fixed.CacheHit || !strings.Contains(fixed.CacheMiss, "checksum") || fixed.Reference.Run != "wf/r7" {
		t.Fatalf("after corruption: %+v", fixed)
	}
	if got := compute(fixed.Reference); !reflect.DeepEqual(got, want) {
		t.Errorf("report after recomputing %+v, want %+v", got, want)
	}
	if n := count(bson.D{{Key: "entry", Value: first.Reference.Cache}, {Key: "run", Value: "wf/r1"}}); n != 0 {
		t.Errorf("%d chunks of the replaced entry left", n)
	}
	if r, _ := score(f.a, "wf/r8", ""); !r.CacheHit || r.Reference != fixed.Reference {
		t.Errorf("after recomputing: %+v", r)
	}

	// A manifest of another format version: a miss, replaced.
	if _, err := cache.UpdateOne(ctx, bson.D{{Key: "_id", Value: first.Reference.Cache}}, bson.D{{Key: "$set", Value: bson.D{{Key: "format_version", Value: 0}}}}); err != nil {
		t.Fatal(err)
	}
	old, _ := score(f.a, "wf/r9", "")
	if old.CacheHit || !strings.Contains(old.CacheMiss, "version 0") {
		t.Errorf("older format: %+v", old)
	}
	// A manifest that does not decode: a miss, replaced.
	if _, err := cache.UpdateOne(ctx, bson.D{{Key: "_id", Value: first.Reference.Cache}}, bson.D{{Key: "$set", Value: bson.D{{Key: "chunks", Value: "eight"}}}}); err != nil {
		t.Fatal(err)
	}
	bad, _ := score(f.a, "wf/r10", "")
	if bad.CacheHit || !strings.Contains(bad.CacheMiss, "unreadable") {
		t.Errorf("undecodable manifest: %+v", bad)
	}
	if r, _ := score(f.a, "wf/r11", ""); !r.CacheHit || r.Reference != bad.Reference {
		t.Errorf("after replacing: %+v", r)
	}
	if got := compute(bad.Reference); !reflect.DeepEqual(got, want) {
		t.Errorf("report after replacing %+v, want %+v", got, want)
	}
	raw, _ := json.Marshal(bad)
	t.Logf("ScoreReference result: %s", raw)
}

// TestScoreReferenceCacheConcurrent: runs that miss at once all succeed, agree on
// one entry (the first manifest inserted) and the losers' chunks are deleted.
func TestScoreReferenceCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 10_000)
	const n = 3
	out := make([]*batchapi.ScoreReferenceResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = run[batchapi.ScoreReferenceResult](t, f.newEnv(), f.a.ScoreReference,
				batchapi.ScoreReferenceInput{Run: "wf/c" + string(rune('0'+i)), Dataset: "taxi"})
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		if out[i].Reference != out[0].Reference {
			t.Errorf("run %d uses %+v, run 0 %+v", i, out[i].Reference, out[0].Reference)
		}
	}
	cache := f.a.DB.Collection(mongodb.CollectionReferenceCache)
	if m, _ := batchtest.Count(ctx, cache, bson.D{{Key: "kind", Value: "manifest"}}); m != 1 {
		t.Errorf("%d manifests", m)
	}
	c, _ := batchtest.Count(ctx, cache, bson.D{{Key: "kind", Value: "chunk"}})
	if c != out[0].Reference.Chunks {
		t.Errorf("%d chunks stored, the entry has %d (losers' chunks not deleted)", c, out[0].Reference.Chunks)
	}
	for i := range n {
		t.Logf("run %d: hit %v, miss %q", i, out[i].CacheHit, out[i].CacheMiss)
	}
}
