package mongotest_test

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/modelmon/modelmon/internal/mongotest"
)

func TestStartStopRestartKeepsData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	s, err := mongotest.Start(ctx, mongotest.Options{Dir: dir, Pragmas: []string{"synchronous(normal)"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI).SetServerSelectionTimeout(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	coll := c.Database("mt").Collection("c")
	if _, err := coll.InsertMany(ctx, []any{bson.D{{Key: "_id", Value: "a"}}, bson.D{{Key: "_id", Value: "b"}}}); err != nil {
		t.Fatal(err)
	}

	// The address is taken while it runs.
	if _, err := mongotest.Start(ctx, mongotest.Options{Dir: t.TempDir(), Addr: s.Addr}); err == nil {
		t.Error("a second server on a taken address started")
	}

	s.Stop()
	if err := c.Ping(ctx, nil); err == nil {
		t.Error("ping succeeded after Stop")
	}

	s, err = mongotest.Start(ctx, mongotest.Options{Dir: dir, Addr: s.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	var got []bson.M
	cur, err := coll.Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Errorf("after restart: %v, want the 2 documents", got)
	}
}

func TestStartNeedsDir(t *testing.T) {
	if _, err := mongotest.Start(context.Background(), mongotest.Options{}); err == nil {
		t.Error("Start without Dir succeeded")
	}
}
