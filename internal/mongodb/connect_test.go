package mongodb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/modelmon/modelmon/internal/mongodb"
)

func TestRedactURI(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"mongodb://127.0.0.1:27017", "mongodb://127.0.0.1:27017"},
		{"mongodb://127.0.0.1:27017/?w=majority&appName=x", "mongodb://127.0.0.1:27017/?w=majority&appName=x"},
		// Credentials in the user information.
		{"mongodb://user:s3cr%40t@db:27017/?authSource=admin", "mongodb://REDACTED@db:27017/?authSource=admin"},
		{"mongodb+srv://u:p@cluster0.example.net/x", "mongodb+srv://REDACTED@cluster0.example.net/x"},
		{"mongodb://u:p@h1:1,h2:2", "mongodb://REDACTED@h1:1,h2:2"},
		{"mongodb://onlyuser@h/", "mongodb://REDACTED@h/"},
		// Unescaped '@', '/' or '?' in the password: the driver rejects them, the
		// message must not show them.
		{"mongodb://u:p@ss@h/", "mongodb://REDACTED@h/"},
		{"mongodb://u:pa/ss@h/db", "mongodb://REDACTED@h/db"},
		{"mongodb://u:pa?ss@h/db", "mongodb://REDACTED@h/db"},
		// Credentials in query options, whatever their case or separator.
		{"mongodb://u:p@h/?tlsCertificateKeyFilePassword=pw&w=1", "mongodb://REDACTED@h/?tlsCertificateKeyFilePassword=REDACTED&w=1"},
		{"mongodb://h/?authMechanismProperties=AWS_SESSION_TOKEN:abc", "mongodb://h/?authMechanismProperties=REDACTED"},
		{"mongodb://h/?authmechanism=MONGODB-AWS&AUTHMECHANISMPROPERTIES=AWS_SESSION_TOKEN:abc", "mongodb://h/?authmechanism=MONGODB-AWS&AUTHMECHANISMPROPERTIES=REDACTED"},
		{"mongodb://h/?sslClientCertificateKeyPassword=pw;tls=true", "mongodb://h/?sslClientCertificateKeyPassword=REDACTED;tls=true"},
		{"mongodb://h/db?tls=true;proxyPassword=pw&proxyUsername=bob", "mongodb://h/db?tls=true;proxyPassword=REDACTED&proxyUsername=REDACTED"},
		// The driver unescapes option names: an escaped name is still recognised
		// (and an unknown one is redacted anyway).
		{"mongodb://h/?tlsCertificateKeyFile%50assword=pw", "mongodb://h/?tlsCertificateKeyFile%50assword=REDACTED"},
		{"mongodb://h/?%61ppName=x", "mongodb://h/?%61ppName=x"},
		// An '&' inside a value splits it: the part without '=' is hidden too.
		{"mongodb://h/?authMechanismProperties=AWS_SESSION_TOKEN:ab&cd", "mongodb://h/?authMechanismProperties=REDACTED&REDACTED"},
		{"mongodb://h/?", "mongodb://h/?"},
		{"mongodb://h/?w=1&", "mongodb://h/?w=1&"},
		{"not a uri", "not a uri"},
	} {
		if got := mongodb.RedactURI(c.in); got != c.want {
			t.Errorf("RedactURI(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestConnectErrorHidesCredentials(t *testing.T) {
	for _, uri := range []string{
		"mongodb://alice:hunter2@h:27017/?connectTimeoutMS=notanumber",
		"mongodb://h:27017/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:hunter2&connectTimeoutMS=x",
		"mongodb://h:27017/?tlsCertificateKeyFilePassword=hunter2&tls=maybe",
	} {
		_, err := mongodb.Connect(context.Background(), uri)
		if err == nil {
			t.Fatalf("invalid URI %q accepted", uri)
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "alice") {
			t.Errorf("error leaks credentials: %v", err)
		}
	}
}

func TestOpenFailsFastWithoutServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := mongodb.Open(ctx, "mongodb://alice:hunter2@127.0.0.1:1/")
	if err == nil {
		t.Fatal("Open succeeded without a server")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error leaks credentials: %v", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("Open took %v", d)
	}
}
