package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/testutil"
)

// buildOnline builds this command into a temporary directory.
func buildOnline(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "online")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type proc struct {
	cmd  *exec.Cmd
	logs *testutil.SyncBuffer
	base string
	exit chan error
}

func startOnline(t *testing.T, bin, mongoURI, spoolDir string) *proc {
	t.Helper()
	addr := freeAddr(t)
	model, _ := filepath.Abs(modelPath)
	p := &proc{logs: &testutil.SyncBuffer{}, base: "http://" + addr, exit: make(chan error, 1)}
	p.cmd = exec.Command(bin, "--online-addr", addr, "--model-path", model, "--mongodb-address", mongoURI,
		"--spool-dir", spoolDir, "--monitor-config", "", "--log-write-timeout", "2s", "--log-format", "json")
	p.cmd.Env = append(os.Environ(), "INGEST_TOKEN=sig-test-token")
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exit <- p.cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if res, err := http.Get(p.base + "/healthz"); err == nil {
			res.Body.Close()
			break
		}
		select {
		case err := <-p.exit:
			t.Fatalf("online exited before serving: %v\n%s", err, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("online did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// load posts rides with unique ids from 8 clients until stop is closed and returns
// the ids answered 200 and the count of other answers.
func load(base, prefix string, stop <-chan struct{}) (ok []string, other int64) {
	var (
		mu  sync.Mutex
		n   atomic.Int64
		bad atomic.Int64
		wg  sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("%s-%d", prefix, n.Add(1))
				body := fmt.Sprintf(`{"id":%q,"PULocationID":130,"DOLocationID":205,"trip_distance":3.66}`, id)
				res, err := client.Post(base+"/predict", "application/json", strings.NewReader(body))
				if err != nil {
					bad.Add(1)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				var out map[string]any
				_ = json.NewDecoder(res.Body).Decode(&out)
				res.Body.Close()
				if res.StatusCode == http.StatusOK && out["id"] == id {
					mu.Lock()
					ok = append(ok, id)
					mu.Unlock()
				} else {
					bad.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	return ok, bad.Load()
}

func missingIDs(t *testing.T, uri string, ids []string) []string {
	t.Helper()
	ctx := context.Background()
	c, err := mongodb.Connect(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	// One scan (FerretDB has no index for a count by _id): every stored id of the
	// test's prefixes, with its multiplicity.
	cur, err := mongodb.DataCollection(c).Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$regex", Value: "^(term|kill)-"}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for cur.Next(ctx) {
		seen[cur.Current.Lookup("_id").StringValue()]++
	}
	if err := cur.Err(); err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, id := range ids {
		if n := seen[id]; n != 1 {
			missing = append(missing, fmt.Sprintf("%s(x%d)", id, n))
		}
	}
	return missing
}

// TestBinarySIGTERMAndSIGKILL runs the real binary: SIGTERM under load exits 0 with
// every 200 stored; then, against a database that goes down, SIGKILL under load and a
// restart on the same spool dir lose nothing that was answered 200.
func TestBinarySIGTERMAndSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildOnline(t)
	ctx := context.Background()
	dbDir := t.TempDir()
	db, err := mongotest.Start(ctx, mongotest.Options{Dir: dbDir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Stop() }()
	spoolDir := t.TempDir()
	run := fmt.Sprint(time.Now().UnixNano())

	// 1. SIGTERM in the middle of a load.
	p := startOnline(t, bin, db.URI, spoolDir)
	stop := make(chan struct{})
	var termOK []string
	var termBad int64
	done := make(chan struct{})
	go func() { termOK, termBad = load(p.base, "term-"+run, stop); close(done) }()
	time.Sleep(1500 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exit:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit 30s after SIGTERM")
	}
	close(stop)
	<-done
	t.Logf("SIGTERM: %d answered 200, %d other answers or refused connections", len(termOK), termBad)
	if len(termOK) == 0 {
		t.Fatal("no request succeeded")
	}
	if m := missingIDs(t, db.URI, termOK); len(m) > 0 {
		t.Errorf("SIGTERM: %d ids answered 200 not stored exactly once: %v", len(m), m[:min(5, len(m))])
	}

	// 2. The database goes down, then SIGKILL in the middle of the load.
	p = startOnline(t, bin, db.URI, spoolDir)
	stop = make(chan struct{})
	var killOK []string
	var killBad int64
	done = make(chan struct{})
	go func() { killOK, killBad = load(p.base, "kill-"+run, stop); close(done) }()
	time.Sleep(700 * time.Millisecond)
	db.Stop()
	time.Sleep(3 * time.Second) // batches fail and go to the spool
	// While the database is down, a repeated id is a 409 as when it is up.
	dupID := "kill-dup-" + run
	for i, want := range []int{http.StatusOK, http.StatusConflict} {
		body := fmt.Sprintf(`{"id":%q,"PULocationID":130,"DOLocationID":205,"trip_distance":3.66}`, dupID)
		res, err := http.Post(p.base+"/predict", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("id %s sent %d times while the database is down: %d, want %d", dupID, i+1, res.StatusCode, want)
		}
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.exit
	close(stop)
	<-done
	t.Logf("SIGKILL: %d answered 200, %d other answers or refused connections", len(killOK), killBad)
	if !strings.Contains(p.logs.String(), "batch spooled") {
		t.Errorf("nothing was spooled during the outage:\n%s", tail(p.logs.String(), 3000))
	}
	db, err = mongotest.Start(ctx, mongotest.Options{Dir: dbDir, Addr: db.Addr})
	if err != nil {
		t.Fatal(err)
	}
	p = startOnline(t, bin, db.URI, spoolDir)
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(p.base + "/readyz")
		if err == nil {
			var st map[string]any
			_ = json.NewDecoder(res.Body).Decode(&st)
			res.Body.Close()
			if res.StatusCode == http.StatusOK && st["status"] == "ready" && st["spool_records"] == 0.0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("spool not drained after the restart:\n%s", tail(p.logs.String(), 3000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if m := missingIDs(t, db.URI, append(killOK, dupID)); len(m) > 0 {
		t.Errorf("SIGKILL: %d ids answered 200 not stored exactly once: %v", len(m), m[:min(5, len(m))])
	}
	// /iterate needs the token from INGEST_TOKEN; /predict does not.
	res, err := http.Post(p.base+"/iterate/taxi", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("/iterate without the token: %d, want 401", res.StatusCode)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.exit; err != nil {
		t.Errorf("exit: %v", err)
	}
	if logs := p.logs.String(); strings.Contains(logs, "sig-test-token") {
		t.Error("the ingest token is in the logs")
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
