package devtemporal

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	defaultIP        = "127.0.0.1"
	defaultNamespace = "default"
	defaultRetention = 7 * 24 * time.Hour
	clusterName      = "active"
	stopTimeout      = 30 * time.Second
)

// ErrPortUnavailable is wrapped by Start's error when a requested port is already taken.
var ErrPortUnavailable = errors.New("port unavailable")

// Options configures Start. The zero value is a usable ephemeral server on
// 127.0.0.1 with free ports, the Web UI, and the "default" namespace.
type Options struct {
	// DBFile is the SQLite database file. The schema is created if the file
	// does not exist yet and reused otherwise. Empty means an in-memory,
	// ephemeral database.
	DBFile string
	// IP the frontend and the UI listen on. Default 127.0.0.1.
	IP string
	// FrontendPort is the gRPC port of the frontend. 0 picks a free port.
	FrontendPort int
	// UIPort is the Web UI's HTTP port. 0 picks a free port, -1 disables the UI.
	UIPort int
	// Namespace is registered (if missing) before the server starts. Default "default".
	Namespace string
	// Retention of closed workflows in a newly registered Namespace. Default 7 days.
	Retention time.Duration
	// SearchAttributes are custom search attributes to register in Namespace
	// (added if missing, also on an existing database).
	SearchAttributes map[string]enumspb.IndexedValueType
	// DynamicConfig overrides the server's dynamic config (key -> value),
	// on top of this package's dev defaults.
	DynamicConfig map[string]any
	// Logger receives the server's logs. Default slog.Default().
	Logger *slog.Logger
	// LogLevel is the minimum level of the server's logs. Default slog.LevelWarn.
	LogLevel slog.Leveler
}

// Server is a running embedded Temporal server (and its Web UI).
type Server struct {
	level        *quietOnStop
	temporal     temporal.Server
	ui           *webUI
	frontend     string
	uiURL        string
	namespace    string
	dbKey        string
	logger       *slog.Logger
	stopOnce     sync.Once
	stopErr      error
	startElapsed time.Duration
}

// dbInUse guards against two servers of this process sharing one database.
// dbOpened remembers which file each path was when this process first opened
// it: the sqlite plugin keeps its connections for the life of the process, so
// a file removed or replaced since then cannot be used again in this process.
var (
	dbInUseMu sync.Mutex
	dbInUse   = map[string]bool{}
	dbOpened  = map[string]os.FileInfo{}
)

// Start starts an embedded Temporal server and, unless opts.UIPort is -1, the
// Temporal Web UI. It returns once the frontend answers and opts.Namespace is
// usable. Taken ports are reported at once with an error wrapping
// ErrPortUnavailable. ctx bounds the start; it does not bound the server's
// life, which ends with Stop.
func Start(ctx context.Context, opts Options) (_ *Server, retErr error) {
	began := time.Now()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("devtemporal: start: %w", err)
	}
	if opts.IP == "" {
		opts.IP = defaultIP
	}
	if opts.Namespace == "" {
		opts.Namespace = defaultNamespace
	}
	if opts.Retention <= 0 {
		opts.Retention = defaultRetention
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.LogLevel == nil {
		opts.LogLevel = slog.LevelWarn
	}
	if opts.FrontendPort < 0 || opts.FrontendPort > 65535 {
		return nil, fmt.Errorf("devtemporal: invalid frontend port %d", opts.FrontendPort)
	}
	if opts.UIPort < -1 || opts.UIPort > 65535 {
		return nil, fmt.Errorf("devtemporal: invalid UI port %d (0 = free port, -1 = no UI)", opts.UIPort)
	}
	ip := net.ParseIP(opts.IP)
	if ip == nil {
		return nil, fmt.Errorf("devtemporal: invalid IP %q", opts.IP)
	}
	// Address that clients in this process use to reach what listens on opts.IP.
	dialIP := opts.IP
	if ip.IsUnspecified() {
		dialIP = defaultIP
	}
	level := &quietOnStop{base: opts.LogLevel}
	logger := slog.New(levelHandler{min: level, inner: opts.Logger.Handler()}).With("component", "temporal")

	// Claim the database for this process.
	dbKey := ""
	if opts.DBFile != "" {
		abs, err := filepath.Abs(opts.DBFile)
		if err != nil {
			return nil, fmt.Errorf("devtemporal: database path %q: %w", opts.DBFile, err)
		}
		if strings.ContainsAny(abs, "?#") {
			return nil, fmt.Errorf("devtemporal: database path %q must not contain '?' or '#'", abs)
		}
		opts.DBFile = abs
		dbKey = abs
		dbInUseMu.Lock()
		if dbInUse[dbKey] {
			dbInUseMu.Unlock()
			return nil, fmt.Errorf("devtemporal: database %s is already used by a running server in this process", abs)
		}
		dbInUse[dbKey] = true
		dbInUseMu.Unlock()
		defer func() {
			if retErr != nil {
				releaseDB(dbKey)
			}
		}()
	}

	// Ports: probe the requested ones so that a taken port fails now instead
	// of inside the server (where it may hang or exit the process).
	frontendPort := opts.FrontendPort
	if frontendPort == 0 {
		p, err := freePort(opts.IP)
		if err != nil {
			return nil, fmt.Errorf("devtemporal: frontend port: %w", err)
		}
		frontendPort = p
	} else if err := probePort(opts.IP, frontendPort); err != nil {
		return nil, fmt.Errorf("devtemporal: frontend: %w", err)
	}
	var uiLn net.Listener
	if opts.UIPort >= 0 {
		ln, err := net.Listen("tcp", net.JoinHostPort(opts.IP, strconv.Itoa(opts.UIPort)))
		if err != nil {
			return nil, fmt.Errorf("devtemporal: web UI: %w: %s: %w", ErrPortUnavailable, net.JoinHostPort(opts.IP, strconv.Itoa(opts.UIPort)), err)
		}
		uiLn = ln
		defer func() {
			if retErr != nil && uiLn != nil {
				_ = uiLn.Close()
			}
		}()
	}
	// The frontend's HTTP API (also serves Nexus) listens on opts.IP too.
	httpPort, err := freePort(opts.IP)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: frontend HTTP port: %w", err)
	}
	internalPorts := make([]int, 3) // history, matching, worker
	for i := range internalPorts {
		p, err := freePort(defaultIP)
		if err != nil {
			return nil, fmt.Errorf("devtemporal: internal port: %w", err)
		}
		internalPorts[i] = p
	}

	// Persistence.
	sqlCfg, err := sqlConfig(opts.DBFile)
	if err != nil {
		return nil, err
	}
	if opts.DBFile != "" {
		if err := checkSameFile(opts.DBFile); err != nil {
			return nil, err
		}
		if err := ensureSchema(opts.DBFile, sqlCfg, logger); err != nil {
			return nil, err
		}
		if err := rememberFile(opts.DBFile); err != nil {
			return nil, err
		}
	}
	nsCfg, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: namespace %q config: %w", opts.Namespace, err)
	}
	nsCfg.Detail.Config.Retention = durationpb.New(opts.Retention)
	if err := sqliteschema.CreateNamespaces(sqlCfg, nsCfg); err != nil {
		return nil, fmt.Errorf("devtemporal: register namespace %q: %w", opts.Namespace, err)
	}

	// Server.
	frontendAddr := net.JoinHostPort(dialIP, strconv.Itoa(frontendPort))
	httpAddr := net.JoinHostPort(dialIP, strconv.Itoa(httpPort))
	conf := serverConfig(opts.IP, frontendPort, httpPort, frontendAddr, httpAddr, internalPorts, sqlCfg)
	srvLogger := serverLogger{l: logger, q: level}
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, srvLogger)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: claim mapper: %w", err)
	}
	hostPort := func(port int) string { return net.JoinHostPort(defaultIP, strconv.Itoa(port)) }
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: static.SingleLocalHost(frontendAddr),
			primitives.HistoryService:  static.SingleLocalHost(hostPort(internalPorts[0])),
			primitives.MatchingService: static.SingleLocalHost(hostPort(internalPorts[1])),
			primitives.WorkerService:   static.SingleLocalHost(hostPort(internalPorts[2])),
		}),
		temporal.WithLogger(srvLogger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicConfig(opts.DynamicConfig)),
	)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: create server: %w", err)
	}

	started := make(chan error, 1)
	go func() { started <- srv.Start() }()
	select {
	case err := <-started:
		if err != nil {
			level.stopping.Store(true)
			_ = srv.Stop()
			return nil, fmt.Errorf("devtemporal: start server: %w", err)
		}
	case <-ctx.Done():
		// Start cannot be interrupted; stop the server once it has started.
		go func(dbKey string) {
			if err := <-started; err == nil {
				level.stopping.Store(true)
				_ = srv.Stop()
			}
			releaseDB(dbKey)
		}(dbKey)
		dbKey = "" // released by the goroutine above, not by the deferred release
		return nil, fmt.Errorf("devtemporal: start server: %w", ctx.Err())
	}
	s := &Server{
		level:     level,
		temporal:  srv,
		frontend:  frontendAddr,
		namespace: opts.Namespace,
		dbKey:     dbKey,
		logger:    logger,
	}
	dbKey = "" // owned by s from here on
	defer func() {
		if retErr != nil {
			_ = s.stopServer()
		}
	}()

	if err := s.waitReady(ctx, opts.SearchAttributes); err != nil {
		return nil, err
	}

	if uiLn != nil {
		ui, err := startUI(uiLn, frontendAddr, opts.Namespace, logger)
		if err != nil {
			return nil, fmt.Errorf("devtemporal: web UI: %w", err)
		}
		uiLn = nil // owned by the UI server now
		s.ui = ui
		_, port, _ := net.SplitHostPort(ui.addr())
		s.uiURL = "http://" + net.JoinHostPort(dialIP, port)
	}
	s.startElapsed = time.Since(began)
	logger.Info("temporal dev server started",
		"frontend", s.frontend, "ui", s.uiURL, "namespace", s.namespace,
		"db", cmp.Or(opts.DBFile, "(in-memory)"), "elapsed", s.startElapsed)
	return s, nil
}

// FrontendHostPort is the host:port of the frontend's gRPC API (client.Options.HostPort).
func (s *Server) FrontendHostPort() string { return s.frontend }

// UIURL is the base URL of the Web UI, e.g. http://127.0.0.1:8233, or "" without UI.
func (s *Server) UIURL() string { return s.uiURL }

// Namespace is the namespace registered by Start.
func (s *Server) Namespace() string { return s.namespace }

// StartDuration is how long Start took.
func (s *Server) StartDuration() time.Duration { return s.startElapsed }

// Stop stops the Web UI and the server. It is safe to call more than once;
// afterwards Start may be called again on the same DBFile.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.level.stopping.Store(true)
		var errs []error
		if s.ui != nil {
			ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
			errs = append(errs, s.ui.stop(ctx))
			cancel()
		}
		errs = append(errs, s.stopServer())
		s.stopErr = errors.Join(errs...)
		s.logger.Info("temporal dev server stopped", "frontend", s.frontend)
	})
	return s.stopErr
}

func (s *Server) stopServer() error {
	defer releaseDB(s.dbKey)
	s.level.stopping.Store(true)
	if err := s.temporal.Stop(); err != nil {
		return fmt.Errorf("devtemporal: stop server: %w", err)
	}
	return nil
}

// waitReady waits until the frontend answers for the namespace and registers
// missing search attributes.
func (s *Server) waitReady(ctx context.Context, searchAttributes map[string]enumspb.IndexedValueType) error {
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  s.frontend,
		Namespace: s.namespace,
		Logger:    sdklog.NewStructuredLogger(s.logger),
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("devtemporal: connect to frontend %s: %w (%w)", s.frontend, ctx.Err(), err)
		}
		return fmt.Errorf("devtemporal: connect to frontend %s: %w", s.frontend, err)
	}
	defer c.Close()
	for {
		_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.namespace})
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devtemporal: wait for namespace %q: %w (last error: %w)", s.namespace, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if len(searchAttributes) == 0 {
		return nil
	}
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.namespace})
	if err != nil {
		return fmt.Errorf("devtemporal: list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range searchAttributes {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        s.namespace,
		SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("devtemporal: add search attributes: %w", err)
	}
	return nil
}

func releaseDB(key string) {
	if key == "" {
		return
	}
	dbInUseMu.Lock()
	delete(dbInUse, key)
	dbInUseMu.Unlock()
}

// checkSameFile fails if dbFile was opened earlier in this process and has
// since been removed or replaced.
func checkSameFile(dbFile string) error {
	dbInUseMu.Lock()
	prev, ok := dbOpened[dbFile]
	dbInUseMu.Unlock()
	if !ok {
		return nil
	}
	cur, err := os.Stat(dbFile)
	if err == nil && os.SameFile(prev, cur) {
		return nil
	}
	return fmt.Errorf("devtemporal: database %s was removed or replaced after this process opened it; "+
		"the SQLite connection stays open until the process exits, so restart the process or use another path", dbFile)
}

func rememberFile(dbFile string) error {
	fi, err := os.Stat(dbFile)
	if err != nil {
		return fmt.Errorf("devtemporal: database file: %w", err)
	}
	dbInUseMu.Lock()
	if _, ok := dbOpened[dbFile]; !ok {
		dbOpened[dbFile] = fi
	}
	dbInUseMu.Unlock()
	return nil
}

func sqlConfig(dbFile string) (*config.SQL, error) {
	if dbFile == "" {
		// The sqlite plugin creates the schema for in-memory databases itself.
		// Each Start gets its own database name.
		return &config.SQL{
			PluginName:        sqliteplugin.PluginName,
			DatabaseName:      fmt.Sprintf("devtemporal-%d", rand.Int64()),
			ConnectAttributes: map[string]string{"mode": "memory", "cache": "shared"},
		}, nil
	}
	if _, err := os.Stat(filepath.Dir(dbFile)); err != nil {
		return nil, fmt.Errorf("devtemporal: database directory: %w", err)
	}
	return &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: dbFile,
		ConnectAttributes: map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			"synchronous":  "normal",
			"busy_timeout": "10000",
		},
	}, nil
}

// ensureSchema creates the Temporal schema in dbFile unless it is already there.
func ensureSchema(dbFile string, cfg *config.SQL, logger *slog.Logger) error {
	n, err := countTemporalTables(dbFile)
	if err != nil {
		return err
	}
	switch {
	case n == len(schemaMarkerTables):
		return nil
	case n > 0:
		return fmt.Errorf("devtemporal: database %s has an incomplete Temporal schema; remove it to start afresh", dbFile)
	}
	logger.Info("creating temporal schema", "db", dbFile)
	if err := sqliteschema.SetupSchema(cfg); err != nil {
		return fmt.Errorf("devtemporal: create schema in %s (remove the file to retry): %w", dbFile, err)
	}
	return nil
}

// schemaMarkerTables are the first table of the main schema and the table of
// the visibility schema (applied last).
var schemaMarkerTables = []string{"namespaces", "executions_visibility"}

// countTemporalTables reports how many of schemaMarkerTables exist in dbFile
// (0 if the file does not exist). It uses its own short-lived connection: the
// sqlite plugin keeps its connections for the life of the process.
func countTemporalTables(dbFile string) (int, error) {
	if _, err := os.Stat(dbFile); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("devtemporal: database file: %w", err)
	}
	q := url.Values{}
	q.Set("mode", "rw")
	q.Add("_pragma", "busy_timeout=10000")
	db, err := sql.Open("sqlite", "file:"+dbFile+"?"+q.Encode())
	if err != nil {
		return 0, fmt.Errorf("devtemporal: open %s: %w", dbFile, err)
	}
	defer func() { _ = db.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var n int
	err = db.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)`,
		schemaMarkerTables[0], schemaMarkerTables[1]).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("devtemporal: inspect %s (not a SQLite database?): %w", dbFile, err)
	}
	return n, nil
}

func serverConfig(ip string, frontendPort, httpPort int, frontendAddr, httpAddr string, internalPorts []int, sqlCfg *config.SQL) *config.Config {
	const store = "sqlite-default"
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = defaultIP
	conf.Persistence.DefaultStore = store
	conf.Persistence.VisibilityStore = store
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{store: {SQL: sqlCfg}}
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontendAddr,
				HTTPAddress:            httpAddr,
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	internal := func(port int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: defaultIP}}
	}
	conf.Services = map[string]config.Service{
		"frontend": {RPC: config.RPC{GRPCPort: frontendPort, HTTPPort: httpPort, BindOnIP: ip}},
		"history":  internal(internalPorts[0]),
		"matching": internal(internalPorts[1]),
		"worker":   internal(internalPorts[2]),
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontendAddr
	return &conf
}

// dynamicConfig returns dev-friendly dynamic config plus the caller's overrides.
func dynamicConfig(overrides map[string]any) dynamicconfig.StaticClient {
	dc := dynamicconfig.StaticClient{
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// Newly added search attributes are usable at once.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		dynamicconfig.FrontendEnableSchedules.Key():                 true,
	}
	for k, v := range overrides {
		dc[dynamicconfig.MakeKey(k)] = v
	}
	return dc
}

func freePort(ip string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", ip, err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func probePort(ip string, port int) error {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrPortUnavailable, addr, err)
	}
	if err := ln.Close(); err != nil {
		return fmt.Errorf("close probe listener on %s: %w", addr, err)
	}
	return nil
}
