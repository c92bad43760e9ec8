package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// Connection timeouts used by Connect.
const (
	ConnectTimeout         = 5 * time.Second // TCP connect + handshake
	ServerSelectionTimeout = 5 * time.Second // how long an operation waits for a reachable server
)

// Connect creates a client for uri with bounded connect and server-selection
// timeouts. It does not wait for the server: the driver connects in the background
// and every operation is bounded by its context and ServerSelectionTimeout, so a
// service can start while the database is still down (see Ping). An invalid URI is an
// error; errors never contain the credentials of the URI.
func Connect(ctx context.Context, uri string) (*mongo.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: connect %s: %w", RedactURI(uri), err)
	}
	opts := options.Client().ApplyURI(uri).
		SetConnectTimeout(ConnectTimeout).
		SetServerSelectionTimeout(ServerSelectionTimeout).
		SetAppName("modelmon-online")
	c, err := mongo.Connect(opts)
	if err != nil {
		// The driver's URI parse errors may quote the URI: do not wrap them verbatim.
		return nil, fmt.Errorf("store: connect %s: invalid MongoDB URI or options", RedactURI(uri))
	}
	return c, nil
}

// Ping checks that the primary answers within ctx.
func Ping(ctx context.Context, c *mongo.Client) error {
	if err := c.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// RedactURI returns uri with its user information (user:password@) replaced by
// "REDACTED@" and the values of credential-bearing query options replaced by
// "REDACTED", so that it can be logged.
func RedactURI(uri string) string {
	rest := uri
	scheme := ""
	if i := strings.Index(uri, "://"); i >= 0 {
		scheme, rest = uri[:i+3], uri[i+3:]
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		authority = "REDACTED@" + authority[at+1:]
	}
	if q := strings.IndexByte(tail, '?'); q >= 0 {
		path, query := tail[:q+1], tail[q+1:]
		parts := strings.Split(query, "&")
		for i, kv := range parts {
			k, _, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			lk := strings.ToLower(k)
			if strings.Contains(lk, "password") || strings.Contains(lk, "secret") ||
				strings.Contains(lk, "token") || lk == "authmechanismproperties" {
				parts[i] = k + "=REDACTED"
			}
		}
		tail = path + strings.Join(parts, "&")
	}
	return scheme + authority + tail
}

// DataCollection is the prediction log: Database.CollectionData.
func DataCollection(c *mongo.Client) *mongo.Collection {
	return c.Database(Database).Collection(CollectionData)
}

// TargetCollection holds the observed durations: Database.CollectionTarget.
func TargetCollection(c *mongo.Client) *mongo.Collection {
	return c.Database(Database).Collection(CollectionTarget)
}
