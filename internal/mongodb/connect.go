package mongodb

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
)

// Connection timeouts used by Connect.
const (
	ConnectTimeout         = 5 * time.Second // TCP connect + handshake
	ServerSelectionTimeout = 5 * time.Second // how long an operation waits for a reachable server
)

// Connect creates a client for uri with bounded connect and server-selection
// timeouts. It does not wait for the server: the driver connects in the background
// and every operation is bounded by its context and ServerSelectionTimeout, so a
// service can start while the database is still down (see Ping, and Open for programs
// that cannot). The client's app name, shown in the server's logs, is
// "modelmon-<program name>". An invalid URI is an error; errors never contain the
// credentials of the URI.
func Connect(ctx context.Context, uri string) (*mongo.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mongodb: connect %s: %w", RedactURI(uri), err)
	}
	opts := options.Client().ApplyURI(uri).
		SetConnectTimeout(ConnectTimeout).
		SetServerSelectionTimeout(ServerSelectionTimeout).
		SetAppName("modelmon-" + filepath.Base(os.Args[0]))
	c, err := mongo.Connect(opts)
	if err != nil {
		// The driver's URI parse errors may quote the URI: do not wrap them verbatim.
		return nil, fmt.Errorf("mongodb: connect %s: invalid MongoDB URI or options", RedactURI(uri))
	}
	return c, nil
}

// Open is Connect followed by Ping, for programs that can do nothing without the
// database (the batch worker, the starter's commands): it fails at once when the
// server does not answer within ServerSelectionTimeout, and then leaves no client
// behind.
func Open(ctx context.Context, uri string) (*mongo.Client, error) {
	c, err := Connect(ctx, uri)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, ServerSelectionTimeout)
	defer cancel()
	if err := Ping(pctx, c); err != nil {
		_ = c.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("mongodb %s not reachable: %w", RedactURI(uri), err)
	}
	return c, nil
}

// Ping checks that the primary answers within ctx.
func Ping(ctx context.Context, c *mongo.Client) error {
	if err := c.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("mongodb: ping: %w", err)
	}
	return nil
}

// publicOptions are the URI options (lower case) whose values RedactURI keeps: none
// of them carries a secret. Every other option's value is redacted, the known
// credential-bearing ones (authMechanismProperties, which holds AWS session tokens,
// tlsCertificateKeyFilePassword, sslClientCertificateKeyPassword) as well as any the
// driver may add later.
var publicOptions = map[string]bool{
	"appname": true, "authmechanism": true, "authsource": true, "compressors": true,
	"connect": true, "directconnection": true, "connecttimeoutms": true,
	"heartbeatintervalms": true, "heartbeatfrequencyms": true, "journal": true,
	"loadbalanced": true, "localthresholdms": true, "maxidletimems": true,
	"maxpoolsize": true, "minpoolsize": true, "maxconnecting": true,
	"readconcernlevel": true, "readpreference": true, "readpreferencetags": true,
	"maxstaleness": true, "maxstalenessseconds": true, "replicaset": true,
	"retrywrites": true, "retryreads": true, "servermonitoringmode": true,
	"serverselectiontimeoutms": true, "sockettimeoutms": true, "srvmaxhosts": true,
	"srvservicename": true, "ssl": true, "tls": true, "tlscafile": true,
	"sslcertificateauthorityfile": true, "tlscertificatekeyfile": true,
	"sslclientcertificatekeyfile": true, "tlscertificatefile": true,
	"tlsprivatekeyfile": true, "tlsinsecure": true, "sslinsecure": true,
	"tlsallowinvalidcertificates": true, "tlsallowinvalidhostnames": true,
	"tlsdisablecertificaterevocationcheck": true, "tlsdisableocspendpointcheck": true,
	"timeoutms": true, "w": true, "wtimeoutms": true, "zlibcompressionlevel": true,
	"zstdcompressionlevel": true,
}

// RedactURI returns uri fit for logs and error messages: the user information
// (user:password@) becomes "REDACTED@", and the value of every query option that is
// not known to be public becomes "REDACTED" (option names are compared as the driver
// does: unescaped, case-insensitive; options are separated by '&' or ';'). An
// option without '=' is redacted whole. When the string is ambiguous it hides more,
// never less: everything up to the last '@' counts as user information.
func RedactURI(uri string) string {
	rest := uri
	scheme := ""
	if i := strings.Index(uri, "://"); i >= 0 {
		scheme, rest = uri[:i+3], uri[i+3:]
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		scheme += "REDACTED@"
		rest = rest[at+1:]
	}
	q := strings.IndexByte(rest, '?')
	if q < 0 {
		return scheme + rest
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString(rest[:q+1])
	query := rest[q+1:]
	for query != "" {
		end := strings.IndexAny(query, "&;")
		if end < 0 {
			end = len(query)
		}
		pair := query[:end]
		if k, _, ok := strings.Cut(pair, "="); !ok {
			if pair != "" {
				pair = "REDACTED"
			}
		} else if key, err := url.QueryUnescape(k); err != nil || !publicOptions[strings.ToLower(key)] {
			pair = k + "=REDACTED"
		}
		b.WriteString(pair)
		if end < len(query) {
			b.WriteByte(query[end])
			end++
		}
		query = query[end:]
	}
	return b.String()
}

// DataCollection is the prediction log: Database.CollectionData.
func DataCollection(c *mongo.Client) *mongo.Collection {
	return c.Database(Database).Collection(CollectionData)
}

// TargetCollection holds the observed durations: Database.CollectionTarget.
func TargetCollection(c *mongo.Client) *mongo.Collection {
	return c.Database(Database).Collection(CollectionTarget)
}

// URIWriteConcern is the write concern that uri sets (w=, journal=), which the
// driver applies to a client's writes; nil when it sets none (the server's
// default) or uri does not parse (Connect reports that).
func URIWriteConcern(uri string) *writeconcern.WriteConcern {
	return options.Client().ApplyURI(uri).WriteConcern
}
