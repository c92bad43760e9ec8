package batch

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/modelmon/modelmon/internal/mongodb"
)

// FindLogged returns a cursor over the logged documents of ds in db with received_at
// in w, projected on the fields ds reads (Dataset.Fields), in no particular order: a
// server-side sort of a large window costs FerretDB memory in proportion to it.
func FindLogged(ctx context.Context, db *mongo.Database, ds *Dataset, w Window) (*mongo.Cursor, error) {
	filter := bson.D{{Key: mongodb.FieldReceivedAt, Value: bson.D{{Key: "$gte", Value: w.Start}, {Key: "$lt", Value: w.End}}}}
	proj := bson.D{}
	for _, f := range ds.Fields() {
		proj = append(proj, bson.E{Key: f, Value: 1})
	}
	cur, err := db.Collection(ds.Collection).Find(ctx, filter, options.Find().SetProjection(proj).SetBatchSize(2000))
	if err != nil {
		return nil, fmt.Errorf("find logged predictions of %s in %s: %w", ds.Name, w, err)
	}
	return cur, nil
}

// StoredFilter selects the documents stored in w: mongodb.FieldStoredAt in w, or, for
// a document written before the writer stamped stored_at, received_at in w. Every
// document has one such time, so windows that do not overlap select disjoint sets.
func StoredFilter(w Window) bson.D {
	in := bson.D{{Key: "$gte", Value: w.Start}, {Key: "$lt", Value: w.End}}
	return bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: mongodb.FieldStoredAt, Value: in}},
		bson.D{{Key: mongodb.FieldStoredAt, Value: bson.D{{Key: "$exists", Value: false}}}, {Key: mongodb.FieldReceivedAt, Value: in}},
	}}}
}

// FindStored is FindLogged over the insertion stamp: a cursor over the documents of
// ds stored in w (StoredFilter), projected on ds.Fields and stored_at. With real
// MongoDB each branch of the $or uses its index (batch_stored_at, batch_received_at);
// FerretDB scans the collection, as for FindLogged.
func FindStored(ctx context.Context, db *mongo.Database, ds *Dataset, w Window) (*mongo.Cursor, error) {
	proj := bson.D{{Key: mongodb.FieldStoredAt, Value: 1}}
	for _, f := range ds.Fields() {
		proj = append(proj, bson.E{Key: f, Value: 1})
	}
	cur, err := db.Collection(ds.Collection).Find(ctx, StoredFilter(w), options.Find().SetProjection(proj).SetBatchSize(2000))
	if err != nil {
		return nil, fmt.Errorf("find predictions of %s stored in %s: %w", ds.Name, w, err)
	}
	return cur, nil
}

// ScanTargets reads the whole target collection of ds in one pass and keeps the
// targets whose id is in want (the only fast way on FerretDB, which uses no index).
func ScanTargets(ctx context.Context, db *mongo.Database, ds *Dataset, want map[string]struct{}) (map[string]float64, error) {
	return readTargets(ctx, db.Collection(ds.TargetCollection), bson.D{}, want)
}

// TargetsOf reads the targets of ids with one _id $in query (better with real MongoDB
// when the target collection is far larger than a window).
func TargetsOf(ctx context.Context, db *mongo.Database, ds *Dataset, ids []string) (map[string]float64, error) {
	return readTargets(ctx, db.Collection(ds.TargetCollection), bson.D{{Key: mongodb.FieldTargetID, Value: bson.D{{Key: "$in", Value: ids}}}}, nil)
}

// readTargets reads {_id, duration} documents of coll matching filter; with want,
// only the ids in it are kept.
func readTargets(ctx context.Context, coll *mongo.Collection, filter bson.D, want map[string]struct{}) (map[string]float64, error) {
	// No projection: target documents are {_id, value}, and FerretDB pays for one.
	cur, err := coll.Find(ctx, filter, options.Find().SetBatchSize(10_000))
	if err != nil {
		return nil, fmt.Errorf("read targets from %s: %w", coll.Name(), err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	m := map[string]float64{}
	for cur.Next(ctx) {
		id, ok := cur.Current.Lookup(mongodb.FieldTargetID).StringValueOK()
		if !ok {
			continue
		}
		if want != nil {
			if _, ok := want[id]; !ok {
				continue
			}
		}
		v, ok := NumValue(cur.Current.Lookup(mongodb.FieldTargetDuration))
		if !ok {
			continue
		}
		m[id] = v
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("read targets from %s: %w", coll.Name(), err)
	}
	return m, nil
}
