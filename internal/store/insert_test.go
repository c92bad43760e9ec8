package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/store"
)

// The insert command that the Logger sends gives what InsertMany (ordered=false)
// gives, on the embedded FerretDB: the same stored documents, and for duplicates (of
// a stored document, and twice in one batch) the same BulkWriteException: indexes,
// codes, the other documents stored. Documents without _id go to InsertMany.
func TestInsertManySameAsDriver(t *testing.T) {
	ctx := context.Background()
	batch := func(ids ...string) []any {
		docs := make([]any, len(ids))
		for i, id := range ids {
			p := samplePrediction(id)
			p.Prediction = float64(i) + 0.5
			raw, err := bson.Marshal(&p)
			if err != nil {
				t.Fatal(err)
			}
			docs[i] = bson.Raw(raw)
		}
		return docs
	}
	type outcome struct {
		errIdx  []int
		errCode []int
		stored  []string // the stored documents, in _id order, as extended JSON
	}
	run := func(insert func(c *mongo.Collection, docs []any) error) outcome {
		c := coll(t)
		if err := insert(c, batch("s1", "s2")); err != nil {
			t.Fatalf("first batch: %v", err)
		}
		err := insert(c, batch("n1", "s2", "n2", "n2", "n3"))
		var o outcome
		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
			t.Fatalf("batch with duplicates: %v (%T), want a BulkWriteException with write errors only", err, err)
		}
		for _, we := range bwe.WriteErrors {
			o.errIdx = append(o.errIdx, we.Index)
			o.errCode = append(o.errCode, we.Code)
		}
		cur, err := c.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.Raw
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			o.stored = append(o.stored, d.String())
		}
		return o
	}
	driver := run(func(c *mongo.Collection, docs []any) error {
		_, err := c.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		return err
	})
	var buf []byte
	command := run(func(c *mongo.Collection, docs []any) (err error) {
		buf, err = store.InsertMany(ctx, c, nil, docs, buf)
		return err
	})
	if !slices.Equal(driver.errIdx, []int{1, 3}) || !slices.Equal(driver.errCode, []int{11000, 11000}) {
		t.Errorf("InsertMany's write errors at %v codes %v, want [1 3] [11000 11000]", driver.errIdx, driver.errCode)
	}
	if !slices.Equal(command.errIdx, driver.errIdx) || !slices.Equal(command.errCode, driver.errCode) {
		t.Errorf("write errors at %v codes %v, InsertMany's at %v codes %v", command.errIdx, command.errCode, driver.errIdx, driver.errCode)
	}
	if len(driver.stored) != 5 || !slices.Equal(command.stored, driver.stored) {
		t.Errorf("stored:\n%q\nInsertMany stored:\n%q", command.stored, driver.stored)
	}

	// No _id: InsertMany adds one.
	c := coll(t)
	noID, _ := bson.Marshal(bson.D{{Key: "x", Value: 1}})
	if _, err := store.InsertMany(ctx, c, nil, []any{bson.Raw(noID)}, nil); err != nil {
		t.Fatal(err)
	}
	var got bson.M
	if err := c.FindOne(ctx, bson.D{{Key: "x", Value: 1}}).Decode(&got); err != nil || got["_id"] == nil {
		t.Errorf("document without _id: %v %v, want it stored with an _id", got, err)
	}

	// A write concern goes into the command (w:1 is accepted by every server).
	c = coll(t)
	if _, err := store.InsertMany(ctx, c, writeconcern.W1(), batch("w1"), nil); err != nil {
		t.Errorf("with w:1: %v", err)
	}
	if n, err := c.CountDocuments(ctx, bson.D{}); err != nil || n != 1 {
		t.Errorf("with w:1: %d stored, %v", n, err)
	}
}

// The command carries the write concern of the client's URI, as InsertMany would.
func TestInsertCommandWriteConcern(t *testing.T) {
	doc, _ := bson.Marshal(bson.D{{Key: "_id", Value: "a"}})
	for _, tc := range []struct {
		uri  string
		want string
	}{
		{"mongodb://h/", ""},
		{"mongodb://h/?w=majority", `{"w": "majority"}`},
		{"mongodb://h/?w=2&journal=true", `{"w": {"$numberInt":"2"},"j": true}`},
		{"mongodb://h/?journal=false", `{"j": false}`},
	} {
		wc := mongodb.URIWriteConcern(tc.uri)
		cmd, err := store.InsertCommand(nil, "data", wc, []any{bson.Raw(doc)})
		if err != nil {
			t.Fatalf("%s: %v", tc.uri, err)
		}
		raw := bson.Raw(cmd)
		if err := raw.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.uri, err)
		}
		if s := raw.Lookup("insert").StringValue(); s != "data" {
			t.Errorf("%s: insert %q", tc.uri, s)
		}
		if d := raw.Lookup("documents", "0"); !slices.Equal(d.Document(), bson.Raw(doc)) {
			t.Errorf("%s: documents.0 = %v", tc.uri, d)
		}
		if o, ok := raw.Lookup("ordered").BooleanOK(); !ok || o {
			t.Errorf("%s: ordered %v", tc.uri, raw.Lookup("ordered"))
		}
		got := ""
		if v, err := raw.LookupErr("writeConcern"); err == nil {
			got = v.Document().String()
		}
		if norm(got) != norm(tc.want) {
			t.Errorf("%s: writeConcern %s, want %s", tc.uri, got, tc.want)
		}
	}
}

func norm(s string) string { return strings.ReplaceAll(s, " ", "") }

// BenchmarkInsert32 inserts batches of 32 /predict records into the embedded
// FerretDB with Collection.InsertMany and with the Logger's insert command; one op
// is one record. cpu-ns/op is the process's CPU (client and embedded server).
//
//	go test ./internal/store -run '^$' -bench Insert32 -benchtime 20000x -count 3
func BenchmarkInsert32(b *testing.B) {
	ctx := context.Background()
	for _, path := range []string{"InsertMany", "command"} {
		b.Run(path, func(b *testing.B) {
			c := client.Database(mongodb.Database).Collection(fmt.Sprintf("bench_%s_%d", path, collSeq.Add(1)))
			docs := make([]any, 0, 32)
			var buf []byte
			cpu0 := processCPU(b)
			b.ResetTimer()
			for i := 0; i < b.N; i += 32 {
				docs = docs[:0]
				for j := i; j < min(i+32, b.N); j++ {
					p := samplePrediction(fmt.Sprintf("%s-%d", path, j))
					raw, err := p.AppendBSON(nil)
					if err != nil {
						b.Fatal(err)
					}
					docs = append(docs, bson.Raw(raw))
				}
				var err error
				if path == "InsertMany" {
					_, err = c.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
				} else {
					buf, err = store.InsertMany(ctx, c, nil, docs, buf)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
