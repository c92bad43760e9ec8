package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func rec(i int) []byte { return []byte(fmt.Sprintf("record-%06d", i)) }

func drainAll(t *testing.T, s *Spool) [][]byte {
	t.Helper()
	var got [][]byte
	if _, err := s.Drain(context.Background(), 7, func(_ context.Context, recs [][]byte) error {
		for _, r := range recs {
			got = append(got, bytes.Clone(r))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestAppendReopenDrainInOrder(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, SegmentBytes: 200})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i += 2 {
		if err := s.Append([][]byte{rec(i), rec(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Records != 100 || st.Segments < 2 {
		t.Fatalf("stats %+v", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir, SegmentBytes: 200})
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Len(); n != 100 {
		t.Fatalf("after reopen: %d records", n)
	}
	// A failing sender keeps everything; the next drain sends again from the start.
	boom := errors.New("db down")
	calls := 0
	if _, err := s.Drain(context.Background(), 5, func(context.Context, [][]byte) error {
		if calls++; calls == 3 {
			return boom
		}
		return nil
	}); !errors.Is(err, boom) {
		t.Fatalf("drain error %v", err)
	}
	got := drainAll(t, s)
	// The first segment may have been deleted before the failure.
	if len(got) == 0 || len(got) > 100 {
		t.Fatalf("drained %d", len(got))
	}
	first := 100 - len(got)
	for i, r := range got {
		if !bytes.Equal(r, rec(first+i)) {
			t.Fatalf("record %d = %q, want %q", i, r, rec(first+i))
		}
	}
	if st := s.Stats(); st.Records != 0 || st.Bytes != 0 || st.Segments != 0 {
		t.Fatalf("after drain %+v", st)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Fatalf("files left: %v", ents)
	}
}

func TestConcurrentAppendsGroupCommit(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if err := s.Append([][]byte{rec(g*1000 + i)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	if st.Records != 800 {
		t.Fatalf("records %d", st.Records)
	}
	t.Logf("800 appends, %d fsyncs", st.Syncs)
	if got := drainAll(t, s); len(got) != 800 {
		t.Fatalf("drained %d", len(got))
	}
}

func TestTornTailTruncated(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := s.Append([][]byte{rec(i)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	ents, _ := os.ReadDir(dir)
	path := filepath.Join(dir, ents[0].Name())
	data, _ := os.ReadFile(path)
	frame := len(data) / 10
	for _, tc := range []struct {
		name string
		data []byte
		keep int
	}{
		{"short header", append(bytes.Clone(data), 1, 2, 3), 10},
		{"short record", data[:len(data)-3], 9},
		{"bad checksum", func() []byte { d := bytes.Clone(data); d[len(d)-1] ^= 0xff; return d }(), 9},
		{"bad length", func() []byte {
			d := bytes.Clone(data)
			d[4*frame] = 0
			d[4*frame+1] = 0
			d[4*frame+2] = 0
			d[4*frame+3] = 0xff
			return d
		}(), 4},
		{"zeros", append(bytes.Clone(data), make([]byte, 64)...), 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(path)), tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			s, err := Open(Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if n := s.Len(); n != int64(tc.keep) {
				t.Errorf("kept %d records, want %d", n, tc.keep)
			}
			if !strings.Contains(logs.String(), "torn or corrupt tail truncated") {
				t.Errorf("no log line: %s", logs.String())
			}
			// Appending after the truncation yields a readable spool.
			if err := s.Append([][]byte{rec(99)}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s, err = Open(Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if n := s.Len(); n != int64(tc.keep)+1 {
				t.Errorf("after append: %d records", n)
			}
			s.Close()
		})
	}
}

func TestFull(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), MaxBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append([][]byte{make([]byte, 80)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append([][]byte{make([]byte, 10)}); !errors.Is(err, ErrFull) {
		t.Fatalf("want ErrFull, got %v", err)
	}
	drainAll(t, s)
	if err := s.Append([][]byte{make([]byte, 10)}); err != nil {
		t.Fatalf("after drain: %v", err)
	}
}
