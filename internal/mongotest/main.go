package mongotest

import (
	"context"
	"fmt"
	"os"
	"time"
)

// Runner is what Main runs: a *testing.M (an interface, so that this package, which
// the dev stack also uses, does not import testing).
type Runner interface{ Run() int }

// Setup prepares a test binary once its server runs: connect a client, load
// fixtures. The returned cleanup (may be nil) runs after the tests, before the
// server stops.
type Setup func(ctx context.Context, s *Server) (cleanup func(), err error)

// MainStartTimeout bounds the start of the server plus the Setup of Main.
const MainStartTimeout = 30 * time.Second

// Main is the body of a TestMain whose package shares one embedded FerretDB: it
// starts the server in a temporary directory, calls setup (nil: none), runs the
// tests and returns their exit code after stopping the server and removing the
// directory. A failure before the tests is written to stderr and returns 1.
//
//	var ferret *mongotest.Server
//
//	func TestMain(m *testing.M) {
//		os.Exit(mongotest.Main(m, func(ctx context.Context, s *mongotest.Server) (func(), error) {
//			ferret = s
//			return nil, nil
//		}))
//	}
func Main(m Runner, setup Setup) int {
	code, err := runMain(m, setup)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mongotest:", err)
		return 1
	}
	return code
}

func runMain(m Runner, setup Setup) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), MainStartTimeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "mongotest-")
	if err != nil {
		return 0, fmt.Errorf("ferretdb dir: %w", err)
	}
	defer os.RemoveAll(dir)
	srv, err := Start(ctx, Options{Dir: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		return 0, err
	}
	defer srv.Stop()
	if setup != nil {
		cleanup, err := setup(ctx, srv)
		if err != nil {
			return 0, fmt.Errorf("setup: %w", err)
		}
		if cleanup != nil {
			defer cleanup()
		}
	}
	return m.Run(), nil
}
