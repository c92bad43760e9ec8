package envconf

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Var is one setting: its environment variable, its flag (the same name in every
// command), its default and its help.
type Var struct {
	Env     string // e.g. MONGODB_ADDRESS
	Flag    string // e.g. mongodb-address (no dashes in front)
	Default string // as the variable would spell it
	Usage   string
	// Commands lists the commands that read it, for the README table.
	Commands []string
}

// Binder defines flags for Vars on one FlagSet, with defaults read from getenv. A
// variable that does not parse is remembered and returned by Err, naming the
// variable, so a bad environment is an error before anything starts.
type Binder struct {
	fs     *flag.FlagSet
	getenv func(string) string
	bound  []*Var
	errs   []error
}

// NewBinder binds onto fs; getenv is os.Getenv in a main and a map in tests.
func NewBinder(fs *flag.FlagSet, getenv func(string) string) *Binder {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return &Binder{fs: fs, getenv: getenv}
}

// raw is the variable's value when set and not blank, else the default.
func (b *Binder) raw(v *Var) string {
	b.bound = append(b.bound, v)
	if s := strings.TrimSpace(b.getenv(v.Env)); s != "" {
		return s
	}
	return v.Default
}

func (b *Binder) usage(v *Var) string { return v.Usage + " (env " + v.Env + ")" }

func (b *Binder) fail(v *Var, s, want string) {
	b.errs = append(b.errs, fmt.Errorf("%s=%q: %s", v.Env, s, want))
}

// String binds a string setting.
func (b *Binder) String(p *string, v *Var) {
	b.fs.StringVar(p, v.Flag, b.raw(v), b.usage(v))
}

// Int binds an integer setting.
func (b *Binder) Int(p *int, v *Var) {
	s := b.raw(v)
	n, err := strconv.Atoi(s)
	if err != nil {
		b.fail(v, s, "not an integer")
		n, _ = strconv.Atoi(v.Default)
	}
	b.fs.IntVar(p, v.Flag, n, b.usage(v))
}

// Int64 binds a 64-bit integer setting.
func (b *Binder) Int64(p *int64, v *Var) {
	s := b.raw(v)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		b.fail(v, s, "not an integer")
		n, _ = strconv.ParseInt(v.Default, 10, 64)
	}
	b.fs.Int64Var(p, v.Flag, n, b.usage(v))
}

// Duration binds a duration setting ("2ms", "1m30s").
func (b *Binder) Duration(p *time.Duration, v *Var) {
	s := b.raw(v)
	d, err := time.ParseDuration(s)
	if err != nil {
		b.fail(v, s, "not a duration such as 2ms")
		d, _ = time.ParseDuration(v.Default)
	}
	b.fs.DurationVar(p, v.Flag, d, b.usage(v))
}

// Err returns the variables that did not parse, or nil.
func (b *Binder) Err() error { return errors.Join(b.errs...) }

// Bound is the Vars bound so far, in order.
func (b *Binder) Bound() []*Var { return slices.Clone(b.bound) }

// PrintEnv writes the bound settings for --help: variable, flag, default, usage.
func (b *Binder) PrintEnv(w io.Writer) {
	fmt.Fprintln(w, "Environment (each also a flag; a flag wins over its variable):")
	for _, v := range b.bound {
		fmt.Fprintf(w, "  %-20s --%-20s default %q\n      %s\n", v.Env, v.Flag, v.Default, v.Usage)
	}
}

// Lookup returns the Var of an environment variable, or nil.
func Lookup(env string) *Var {
	for _, v := range All {
		if v.Env == env {
			return v
		}
	}
	return nil
}

// MarkdownTable renders All as the README's configuration table.
func MarkdownTable() string {
	var sb strings.Builder
	sb.WriteString("| variable | flag | used by | default | what |\n|---|---|---|---|---|\n")
	for _, v := range All {
		def := "`" + v.Default + "`"
		if v.Default == "" {
			def = "(empty)"
		}
		fmt.Fprintf(&sb, "| `%s` | `--%s` | %s | %s | %s |\n", v.Env, v.Flag, strings.Join(v.Commands, ", "), def, strings.ReplaceAll(v.Usage, "|", `\|`))
	}
	return sb.String()
}
