package batch

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Target is one observed target value of a logged prediction.
type Target struct {
	ID    string
	Value float64
}

// ErrBadTargets is wrapped by the errors of a malformed target file.
var ErrBadTargets = errors.New("malformed target file")

// ReadTargetsCSV reads "id,value" lines, as the seed's send_data.py writes
// target.csv: no header (a first line whose value is not a number is taken as one),
// blank lines skipped, surrounding spaces ignored. A repeated id keeps its first value.
// Non-finite values are dropped.
func ReadTargetsCSV(r io.Reader) ([]Target, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	seen := map[string]struct{}{}
	var out []Target
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadTargets, err)
		}
		line, _ = cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != 2 {
			return nil, fmt.Errorf("%w: line %d has %d fields, want 2 (id,value)", ErrBadTargets, line, len(rec))
		}
		id, vs := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		v, err := strconv.ParseFloat(vs, 64)
		if err != nil {
			if len(out) == 0 && len(seen) == 0 {
				continue // header, e.g. "id,duration"
			}
			// The value is not quoted: a file's content stays out of errors.
			return nil, fmt.Errorf("%w: line %d: the value (second field) is not a number", ErrBadTargets, line)
		}
		if id == "" {
			return nil, fmt.Errorf("%w: line %d: empty id", ErrBadTargets, line)
		}
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		out = append(out, Target{ID: strings.Clone(id), Value: v})
	}
	return out, nil
}

// ReadTargetsFile reads a target CSV file (see ReadTargetsCSV).
func ReadTargetsFile(path string) ([]Target, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open targets: %w", err)
	}
	defer f.Close()
	t, err := ReadTargetsCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// UploadStats counts what UploadTargets did.
type UploadStats struct {
	Inserted   int
	Duplicates int
}

// UploadTargets inserts targets into coll as {_id: id, field: value} with unordered
// InsertMany batches; ids already there are left as they are (duplicate keys are
// counted, not errors), so an upload can be repeated. progress, if not nil, is called
// after every batch.
func UploadTargets(ctx context.Context, coll *mongo.Collection, field string, targets []Target, batchSize int, progress func(UploadStats)) (UploadStats, error) {
	if batchSize <= 0 {
		batchSize = 1000
	}
	var st UploadStats
	docs := make([]any, 0, batchSize)
	for i := 0; i < len(targets); i += batchSize {
		docs = docs[:0]
		for _, t := range targets[i:min(i+batchSize, len(targets))] {
			docs = append(docs, bson.D{{Key: "_id", Value: t.ID}, {Key: field, Value: t.Value}})
		}
		_, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		if err != nil {
			// InsertedIDs lists every id sent, not those written: count from the errors.
			var bwe mongo.BulkWriteException
			if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
				return st, fmt.Errorf("insert targets: %w", err)
			}
			for _, we := range bwe.WriteErrors {
				if we.Code != 11000 {
					return st, fmt.Errorf("insert targets: %w", err)
				}
			}
			st.Duplicates += len(bwe.WriteErrors)
			st.Inserted += len(docs) - len(bwe.WriteErrors)
		} else {
			st.Inserted += len(docs)
		}
		if progress != nil {
			progress(st)
		}
	}
	return st, nil
}
