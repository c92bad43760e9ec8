// Command cpusplit splits a CPU profile of bench/predictstack into where the time
// goes, per request: the store, the spool, the Go runtime and the service itself.
//
//	go run ./bench/cpusplit -profile cpu.prof -requests 20000
//	go run ./bench/cpusplit -profile cpu.prof -requests 20000 -bin /tmp/predictstack
//
// It reads the stacks with `go tool pprof -traces` and puts each sample in the first
// bucket whose rule matches a frame of its stack, in this order:
//
//	store: FerretDB + SQLite   a frame of github.com/FerretDB/ or modernc.org/ (the
//	                           embedded database server and its SQLite, in the same
//	                           process here, on another machine in production)
//	store: mongo driver        a frame of the driver's client packages
//	                           (go.mongodb.org/mongo-driver/v2/mongo, x/mongo/...:
//	                           InsertMany from the group-commit writer with the
//	                           encoding of its documents, the driver's own
//	                           goroutines); its bson package alone (the service
//	                           reading a record's _id) is the service's
//	spool                      a frame of internal/spool (append and fsync; in
//	                           --store spool-only mode this is the store)
//	runtime: GC                the garbage collector's workers, sweeper, scavenger,
//	                           and mark assists taken by any goroutine
//	runtime: other             stacks of runtime frames only: the scheduler looking
//	                           for work, netpoll, sysmon
//	service                    everything else: net/http (reading requests, writing
//	                           answers), chi, the handler, the group-commit writer
//
// The driver is in the store's part, as issue 14 counts it ("samples outside the
// store"): it is the store's client, and what it costs follows the store's protocol
// and batches, not the service's code. It is printed on its own line because with a
// real MongoDB it still runs in the service's process: "service + driver" is then the
// process's CPU outside the database. The GC is not split between the service's and
// FerretDB's garbage (both are in this process's heap); it is printed on its own.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Buckets, in the order their rules are tried.
const (
	bFerret  = "store: FerretDB + SQLite"
	bDriver  = "store: mongo driver"
	bSpool   = "spool (append + fsync)"
	bGC      = "runtime: GC"
	bRuntime = "runtime: scheduler, netpoll, other"
	bService = "service (HTTP, handler, group commit)"
)

var order = []string{bFerret, bDriver, bSpool, bGC, bRuntime, bService}

func main() {
	profile := flag.String("profile", "", "CPU profile (pprof format), e.g. from /debug/pprof/profile?seconds=10")
	bin := flag.String("bin", "", "the profiled binary, for symbols (optional: profiles from /debug/pprof carry their symbols)")
	requests := flag.Float64("requests", 0, "requests answered during the profile (0: totals only)")
	flag.Parse()
	if *profile == "" {
		fmt.Fprintln(os.Stderr, "cpusplit: -profile is required")
		os.Exit(2)
	}
	args := []string{"tool", "pprof", "-traces"}
	if *bin != "" {
		args = append(args, *bin)
	}
	args = append(args, *profile)
	var stderr bytes.Buffer
	cmd := exec.Command("go", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cpusplit: go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		os.Exit(1)
	}
	sums, total, err := split(bytes.NewReader(out))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpusplit:", err)
		os.Exit(1)
	}
	report(os.Stdout, sums, total, *requests)
}

// split reads `go tool pprof -traces` output and sums the samples of each bucket.
func split(r io.Reader) (map[string]time.Duration, time.Duration, error) {
	sums := map[string]time.Duration{}
	var total time.Duration
	var value time.Duration
	var frames []string
	flush := func() {
		if value > 0 {
			b := classify(frames)
			sums[b] += value
			total += value
		}
		value, frames = 0, frames[:0]
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	started := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----------+") {
			flush()
			started = true
			continue
		}
		if !started || strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Fields(line)
		if !strings.HasPrefix(line, " ") || len(fields) == 0 {
			continue
		}
		// A stack's first line is "<value> <leaf frame>", the next ones "<frame>".
		if d, err := parseValue(fields[0]); err == nil && len(fields) >= 2 && len(frames) == 0 && value == 0 {
			value = d
			frames = append(frames, fields[1])
			continue
		}
		frames = append(frames, fields[0])
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	if total == 0 {
		return nil, 0, fmt.Errorf("no samples in the profile")
	}
	return sums, total, nil
}

// parseValue reads pprof's sample values: "10ms", "1.20s", "500us", "1.5mins".
func parseValue(s string) (time.Duration, error) {
	s = strings.Replace(s, "mins", "m", 1)
	s = strings.Replace(s, "hrs", "h", 1)
	if _, err := strconv.ParseFloat(strings.TrimRight(s, "smunµh"), 64); err != nil {
		return 0, err
	}
	return time.ParseDuration(s)
}

// gcFrames are the runtime functions whose stacks are the garbage collector's work.
var gcFrames = []string{
	"runtime.gcBgMarkWorker", "runtime.gcAssistAlloc", "runtime.bgsweep", "runtime.bgscavenge",
	"runtime.gcStart", "runtime.gcMarkDone", "runtime.gcMarkTermination", "runtime.forEachP",
	"runtime.sweepone", "runtime.deductSweepCredit", "runtime.(*mheap).reclaim",
}

func classify(frames []string) string {
	has := func(pred func(string) bool) bool {
		for _, f := range frames {
			if pred(f) {
				return true
			}
		}
		return false
	}
	switch {
	case has(func(f string) bool {
		return strings.HasPrefix(f, "github.com/FerretDB/") || strings.HasPrefix(f, "modernc.org/")
	}):
		return bFerret
	case has(isDriver):
		return bDriver
	case has(func(f string) bool { return strings.Contains(f, "/internal/spool.") }):
		return bSpool
	case has(func(f string) bool {
		for _, g := range gcFrames {
			if f == g {
				return true
			}
		}
		return false
	}):
		return bGC
	case !has(func(f string) bool {
		return !strings.HasPrefix(f, "runtime.") && !strings.HasPrefix(f, "internal/runtime/") && !strings.HasPrefix(f, "runtime/internal/")
	}):
		return bRuntime
	}
	return bService
}

// isDriver: the driver's client code (operations, connections, wire messages), not
// its bson package alone, which the service uses to read a record's _id.
func isDriver(f string) bool {
	const m = "go.mongodb.org/mongo-driver/v2/"
	return strings.HasPrefix(f, m+"mongo.") || strings.HasPrefix(f, m+"mongo/") || strings.HasPrefix(f, m+"x/mongo/") ||
		strings.HasPrefix(f, m+"internal/")
}

func report(w io.Writer, sums map[string]time.Duration, total time.Duration, requests float64) {
	per := func(d time.Duration) string {
		if requests <= 0 {
			return ""
		}
		return fmt.Sprintf("%8.1f", float64(d.Microseconds())/requests)
	}
	unit := ""
	if requests > 0 {
		unit = "  µs/request"
	}
	fmt.Fprintf(w, "%-40s %9s %6s%s\n", "bucket", "samples", "share", unit)
	for _, b := range order {
		d := sums[b]
		fmt.Fprintf(w, "%-40s %9s %5.1f%% %s\n", b, d.Round(time.Millisecond), 100*float64(d)/float64(total), per(d))
	}
	fmt.Fprintf(w, "%-40s %9s %5.1f%% %s\n", "total", total.Round(time.Millisecond), 100.0, per(total))
	outside := sums[bService] + sums[bSpool]
	fmt.Fprintf(w, "%-40s %9s %5.1f%% %s\n", "outside the store (service + spool)", outside.Round(time.Millisecond), 100*float64(outside)/float64(total), per(outside))
	fmt.Fprintf(w, "%-40s %9s %5.1f%% %s\n", "  the same + mongo driver", (outside + sums[bDriver]).Round(time.Millisecond), 100*float64(outside+sums[bDriver])/float64(total), per(outside+sums[bDriver]))
	fmt.Fprintf(w, "%-40s %9s %5.1f%% %s\n", "  the same + driver + GC + runtime", (outside + sums[bDriver] + sums[bGC] + sums[bRuntime]).Round(time.Millisecond),
		100*float64(outside+sums[bDriver]+sums[bGC]+sums[bRuntime])/float64(total), per(outside+sums[bDriver]+sums[bGC]+sums[bRuntime]))
}
