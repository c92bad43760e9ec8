package store_test

import (
	"context"
	"os"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/mongotest"
)

// One embedded FerretDB for the whole test binary.
var (
	ferret *mongotest.Server
	client *mongo.Client
)

func TestMain(m *testing.M) {
	os.Exit(mongotest.Main(m, func(ctx context.Context, s *mongotest.Server) (func(), error) {
		ferret = s
		var err error
		if client, err = mongodb.Connect(ctx, s.URI); err != nil {
			return nil, err
		}
		disconnect := func() { _ = client.Disconnect(context.Background()) }
		if err := mongodb.Ping(ctx, client); err != nil {
			disconnect()
			return nil, err
		}
		return disconnect, nil
	}))
}
