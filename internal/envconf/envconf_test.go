package envconf

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTableIsConsistent(t *testing.T) {
	envs, flags := map[string]bool{}, map[string]bool{}
	for _, v := range All {
		if want := strings.ToLower(strings.ReplaceAll(v.Env, "_", "-")); v.Flag != want {
			t.Errorf("%s: flag --%s, want --%s (the variable in lower case with dashes)", v.Env, v.Flag, want)
		}
		if envs[v.Env] || flags[v.Flag] {
			t.Errorf("%s / --%s listed twice", v.Env, v.Flag)
		}
		envs[v.Env], flags[v.Flag] = true, true
		if v.Usage == "" || len(v.Commands) == 0 {
			t.Errorf("%s: no usage or no command", v.Env)
		}
		if Lookup(v.Env) != v {
			t.Errorf("Lookup(%s) does not find it", v.Env)
		}
	}
}

func TestBinderPrecedence(t *testing.T) {
	env := map[string]string{"ONLINE_ADDR": "0.0.0.0:1", "LOG_WRITERS": "3", "REQUEST_TIMEOUT": " ", "SPOOL_MAX_BYTES": "2097152"}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	b := NewBinder(fs, func(k string) string { return env[k] })
	var addr, token string
	var writers int
	var timeout time.Duration
	var spool int64
	b.String(&addr, OnlineAddr)
	b.String(&token, IngestToken)
	b.Int(&writers, LogWriters)
	b.Duration(&timeout, RequestTimeout)
	b.Int64(&spool, SpoolMaxBytes)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--log-writers", "7"}); err != nil {
		t.Fatal(err)
	}
	if addr != "0.0.0.0:1" || writers != 7 || timeout != 5*time.Second || spool != 2<<20 || token != "" {
		t.Fatalf("addr %q writers %d timeout %v spool %d token %q", addr, writers, timeout, spool, token)
	}
	if got := len(b.Bound()); got != 5 {
		t.Fatalf("bound %d vars, want 5", got)
	}
	var help bytes.Buffer
	b.PrintEnv(&help)
	for _, want := range []string{"ONLINE_ADDR", "--online-addr", "LOG_WRITERS", `default "1"`} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, help.String())
		}
	}
}

func TestBinderBadVariableNamesIt(t *testing.T) {
	env := map[string]string{"LOG_WRITERS": "many", "IDLE_TIMEOUT": "soon", "SPOOL_MAX_BYTES": "1e9"}
	b := NewBinder(flag.NewFlagSet("x", flag.ContinueOnError), func(k string) string { return env[k] })
	var n int
	var d time.Duration
	var s int64
	b.Int(&n, LogWriters)
	b.Duration(&d, IdleTimeout)
	b.Int64(&s, SpoolMaxBytes)
	err := b.Err()
	if err == nil {
		t.Fatal("no error for unparsable variables")
	}
	for _, want := range []string{`LOG_WRITERS="many": not an integer`, `IDLE_TIMEOUT="soon": not a duration`, `SPOOL_MAX_BYTES="1e9"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if n != 1 || d != 2*time.Minute {
		t.Errorf("after a bad variable the default applies: got %d, %v", n, d)
	}
}

var update = flag.Bool("update", false, "rewrite the README's configuration table")

// TestREADMETable checks that the README's configuration table is the one this
// package generates (go test ./internal/envconf -run README -update rewrites it).
func TestREADMETable(t *testing.T) {
	path := filepath.Join("..", "..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- envconf:begin -->\n", "<!-- envconf:end -->"
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q ... %q section", strings.TrimSpace(begin), end)
	}
	if *update {
		s = s[:i+len(begin)] + MarkdownTable() + s[j:]
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got, want := s[i+len(begin):j], MarkdownTable(); got != want {
		t.Errorf("README's configuration table is stale; replace it with:\n%s", want)
	}
}
