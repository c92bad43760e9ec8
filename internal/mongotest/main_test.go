package mongotest_test

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/modelmon/modelmon/internal/mongotest"
)

type runFunc func() int

func (f runFunc) Run() int { return f() }

func TestMainRunsTestsAgainstAServer(t *testing.T) {
	var (
		srv      *mongotest.Server
		client   *mongo.Client
		events   []string
		inserted int64
	)
	code := mongotest.Main(runFunc(func() int {
		events = append(events, "run")
		ctx := context.Background()
		if _, err := client.Database("mt").Collection("c").InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}}); err != nil {
			t.Error(err)
		}
		inserted, _ = client.Database("mt").Collection("c").CountDocuments(ctx, bson.D{})
		return 7
	}), func(ctx context.Context, s *mongotest.Server) (func(), error) {
		events = append(events, "setup")
		srv = s
		var err error
		if client, err = mongo.Connect(options.Client().ApplyURI(s.URI)); err != nil {
			return nil, err
		}
		if err := client.Ping(ctx, nil); err != nil {
			return nil, err
		}
		return func() {
			events = append(events, "cleanup")
			// The server still runs during the cleanup.
			if err := client.Ping(context.Background(), nil); err != nil {
				t.Errorf("server stopped before the cleanup: %v", err)
			}
			_ = client.Disconnect(context.Background())
		}, nil
	})
	if code != 7 {
		t.Errorf("exit code %d, want the tests' 7", code)
	}
	if want := []string{"setup", "run", "cleanup"}; len(events) != 3 || events[0] != want[0] || events[1] != want[1] || events[2] != want[2] {
		t.Errorf("events %v, want %v", events, want)
	}
	if inserted != 1 {
		t.Errorf("%d documents seen by the tests, want 1", inserted)
	}
	if c, err := (&net.Dialer{Timeout: time.Second}).Dial("tcp", srv.Addr); err == nil {
		c.Close()
		t.Errorf("server %s still accepts connections after Main", srv.Addr)
	}
}

func TestMainSetupFailure(t *testing.T) {
	ran := false
	var addr string
	// Main writes the error to stderr: keep the test output clean.
	stderr := os.Stderr
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	os.Stderr = devnull
	code := mongotest.Main(runFunc(func() int { ran = true; return 0 }), func(ctx context.Context, s *mongotest.Server) (func(), error) {
		addr = s.Addr
		return nil, errors.New("no fixture")
	})
	os.Stderr = stderr
	devnull.Close()
	if code != 1 || ran {
		t.Errorf("setup failure: exit %d, tests ran %t; want 1 and not run", code, ran)
	}
	if c, err := (&net.Dialer{Timeout: time.Second}).Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("server %s still runs after a failed setup", addr)
	}
}
