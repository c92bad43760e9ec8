package mongotest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Server is a running embedded FerretDB with the SQLite backend.
type Server struct {
	URI    string // mongodb://127.0.0.1:PORT/
	Addr   string // 127.0.0.1:PORT
	cancel context.CancelFunc
	done   chan struct{}
}

// Options configure Start.
type Options struct {
	// Dir holds the SQLite files; it is created if missing.
	Dir string
	// Addr is the TCP listen address; "127.0.0.1:0" picks a free port.
	Addr string
	// Logger receives FerretDB's logs; nil discards them. FerretDB formats every
	// SQL statement it runs into its logger's attributes, even below the level:
	// a real handler costs a large part of the insert rate.
	Logger *slog.Logger
	// Pragmas are extra SQLite pragmas for every database file, such as
	// "synchronous(normal)". FerretDB already sets busy_timeout(10000),
	// journal_mode(wal) and auto_vacuum(none); SQLite's synchronous default is
	// FULL (an fsync of the WAL at every commit).
	Pragmas []string
}

// Start launches FerretDB and waits until it accepts connections.
// A taken address is reported as an error instead of a hang.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("mongotest: Dir is required")
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("ferretdb dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ferretdb dir: %w", err)
	}
	// Resolve port 0 ourselves so that the URI is known before Run and a taken
	// port is reported at once.
	addr := opts.Addr
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ferretdb listen %s: %w", addr, err)
	}
	addr = ln.Addr().String()
	if err := ln.Close(); err != nil {
		return nil, fmt.Errorf("ferretdb listen %s: %w", addr, err)
	}
	pinAllocatorPages()
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sqliteURL := "file:" + dir + "/"
	if len(opts.Pragmas) > 0 {
		q := url.Values{}
		for _, p := range opts.Pragmas {
			q.Add("_pragma", p)
		}
		sqliteURL += "?" + q.Encode()
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
		Logger:    logger,
	})
	if err != nil {
		return nil, fmt.Errorf("ferretdb: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &Server{URI: "mongodb://" + addr + "/", Addr: addr, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := f.Run(runCtx); err != nil {
			logger.Error("ferretdb stopped", "err", err)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := (&net.Dialer{Timeout: 200 * time.Millisecond}).DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = c.Close()
			return s, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.Stop()
			return nil, fmt.Errorf("ferretdb on %s not reachable: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop shuts FerretDB down and waits for it to release its files.
func (s *Server) Stop() {
	s.cancel()
	<-s.done
}
