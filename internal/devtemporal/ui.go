package devtemporal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"time"
	"unsafe"

	"github.com/labstack/echo/v4"
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// webUI serves the Temporal Web UI (ui-server assets compiled into the binary).
type webUI struct {
	ln   net.Listener
	ui   *uiserver.Server
	http *http.Server // nil when we fell back to ui.Start
	done chan struct{}
}

// startUI serves the UI on ln, which the caller has already bound (so a taken
// port is reported by Start, not by ui-server, whose Start calls os.Exit on a
// listen error).
func startUI(ln net.Listener, frontendHostPort, namespace string, logger *slog.Logger) (*webUI, error) {
	host, portStr, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		return nil, fmt.Errorf("ui listener address: %w", err)
	}
	port, err := net.LookupPort("tcp", portStr)
	if err != nil {
		return nil, fmt.Errorf("ui listener port: %w", err)
	}
	cfg := &uiconfig.Config{
		Host:                host,
		Port:                port,
		TemporalGRPCAddress: frontendHostPort,
		EnableUI:            true,
		DefaultNamespace:    namespace,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true,
		NotifyOnNewVersion:  false,
	}

	var ui *uiserver.Server
	// uiserver.NewServer panics on invalid config; turn that into an error.
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("temporal ui: %v", r)
			}
		}()
		ui = uiserver.NewServer(uioptions.WithConfigProvider(cfg))
	}()
	if err != nil {
		return nil, err
	}

	w := &webUI{ln: ln, ui: ui, done: make(chan struct{})}
	if h := echoHandler(ui); h != nil {
		w.http = &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		}
		go func() {
			defer close(w.done)
			if err := w.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("temporal ui server stopped", "error", err)
			}
		}()
		return w, nil
	}

	// Fallback (ui-server internals changed): let ui-server bind the port itself.
	// There is a short window between closing our probe listener and its bind.
	logger.Warn("temporal ui: cannot reuse the probed listener, falling back to ui-server's own listener")
	if err := ln.Close(); err != nil {
		return nil, fmt.Errorf("close ui probe listener: %w", err)
	}
	go func() {
		defer close(w.done)
		if err := ui.Start(); err != nil {
			logger.Error("temporal ui server stopped", "error", err)
		}
	}()
	return w, nil
}

// echoHandler extracts ui-server's *echo.Echo (an unexported field) so that we
// can serve it on our own listener and shut it down gracefully. It returns nil
// if the field is not there, in which case the caller falls back to ui.Start.
func echoHandler(ui *uiserver.Server) http.Handler {
	v := reflect.ValueOf(ui)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil
	}
	f := v.Elem().FieldByName("httpServer")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*echo.Echo]() {
		return nil
	}
	e := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(*echo.Echo)
	if e == nil {
		return nil
	}
	return e
}

func (w *webUI) stop(ctx context.Context) error {
	if w.http == nil {
		w.ui.Stop()
	} else if err := w.http.Shutdown(ctx); err != nil {
		_ = w.http.Close()
		return fmt.Errorf("shut down temporal ui: %w", err)
	}
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for temporal ui to stop: %w", ctx.Err())
	}
}

// addr is the UI's listen address (host:port).
func (w *webUI) addr() string { return w.ln.Addr().String() }
