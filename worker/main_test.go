package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/modelmon/modelmon/internal/envconf"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestHelpListsTheTable checks that --help is generated from the envconf table: every
// variable whose Commands name the worker is there with its flag.
func TestHelpListsTheTable(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, env(nil), &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	n := 0
	for _, v := range envconf.All {
		for _, c := range v.Commands {
			if c != envconf.Worker {
				continue
			}
			n++
			if !strings.Contains(out.String(), v.Env) || !strings.Contains(out.String(), "--"+v.Flag) {
				t.Errorf("--help lacks %s / --%s:\n%s", v.Env, v.Flag, out.String())
			}
		}
	}
	if n < 8 {
		t.Errorf("only %d variables name the worker", n)
	}
}

func TestBadSettingsFailBeforeConnecting(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"log level":    {[]string{"--log-level", "loud"}, nil, "want debug, info, warn or error"},
		"log format":   {nil, map[string]string{"LOG_FORMAT": "xml"}, "want text or json"},
		"unknown flag": {[]string{"--namespace", "x"}, nil, "flag provided but not defined"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), tc.args, env(tc.env), &out)
		if err == nil || !strings.Contains(err.Error()+out.String(), tc.want) {
			t.Errorf("%s: err %v, output %q; want %q", name, err, out.String(), tc.want)
		}
	}
}
