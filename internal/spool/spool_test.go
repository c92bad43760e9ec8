package spool

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	if segs, _ := filepath.Glob(filepath.Join(dir, "*"+segExt)); len(segs) != 0 {
		t.Fatalf("segments left: %v", segs)
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
	path := onlySegment(t, dir)
	data, _ := os.ReadFile(path)
	frame := (len(data) - len(fileMagic)) / 10
	for _, tc := range []struct {
		name string
		data []byte
		keep int
		torn int // bytes counted as torn; -1: some
	}{
		{"short header", append(bytes.Clone(data), 1, 2, 3), 10, 3},
		{"short marker", append(bytes.Clone(data), frameMagic[:3]...), 10, 3},
		{"short record", data[:len(data)-3], 9, -1},
		{"bad checksum", func() []byte { d := bytes.Clone(data); d[len(d)-1] ^= 0xff; return d }(), 9, -1},
		{"bad length in the last frame", func() []byte {
			d := bytes.Clone(data)
			binary.LittleEndian.PutUint32(d[len(fileMagic)+9*frame+4:], 0xff000000)
			return d
		}(), 9, -1},
		// A preallocated segment's free space, after a crash: not a torn tail.
		{"zeros", append(bytes.Clone(data), make([]byte, 64)...), 10, 0},
		{"short marker, then zeros", append(append(bytes.Clone(data), frameMagic[:3]...), make([]byte, 4096)...), 10, 3},
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
			if logged := strings.Contains(logs.String(), "torn or corrupt tail truncated"); logged != (tc.torn != 0) {
				t.Errorf("torn tail logged %v, want %v: %s", logged, tc.torn != 0, logs.String())
			}
			st := s.Stats()
			if st.CorruptBytes != 0 || (tc.torn < 0 && st.TruncatedBytes <= 0) || (tc.torn >= 0 && st.TruncatedBytes != int64(tc.torn)) {
				t.Errorf("stats %+v: want %d truncated bytes (-1: some) and no corrupt ones", st, tc.torn)
			}
			if fi, err := os.Stat(filepath.Join(dir, filepath.Base(path))); err != nil || fi.Size() != st.Bytes {
				t.Errorf("segment file of %v bytes (%v), want %d: the tail cut off", fi.Size(), err, st.Bytes)
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

func onlySegment(t *testing.T, dir string) string {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+segExt))
	if len(segs) != 1 {
		t.Fatalf("want one segment, got %v", segs)
	}
	return segs[0]
}

// TestCorruptFrameInTheMiddle damages frames inside a segment: only they are lost,
// the records after them are kept in order, and the loss is counted and logged.
func TestCorruptFrameInTheMiddle(t *testing.T) {
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
	path := onlySegment(t, dir)
	data, _ := os.ReadFile(path)
	frame := (len(data) - len(fileMagic)) / 10
	at := func(i int) int { return len(fileMagic) + i*frame }
	for _, tc := range []struct {
		name   string
		damage func(d []byte)
		lost   []int // records lost
		frames int64 // frames counted as lost
	}{
		{"payload byte", func(d []byte) { d[at(4)+headerLen+2] ^= 0x01 }, []int{4}, 1},
		{"checksum", func(d []byte) { d[at(4)+9] ^= 0x80 }, []int{4}, 1},
		{"length claims more than the segment", func(d []byte) { binary.LittleEndian.PutUint32(d[at(4)+4:], 1<<20) }, []int{4}, 1},
		{"length claims the next frame", func(d []byte) { binary.LittleEndian.PutUint32(d[at(4)+4:], uint32(2*frame-headerLen)) }, []int{4}, 1},
		{"marker", func(d []byte) { d[at(4)] = 0 }, []int{4}, 1},
		{"first frame", func(d []byte) { d[at(0)+headerLen] ^= 0xff }, []int{0}, 1},
		{"two frames zeroed", func(d []byte) { clear(d[at(6)+3 : at(8)-1]) }, []int{6, 7}, 1},
		{"two frames, markers kept", func(d []byte) { d[at(2)+headerLen] ^= 1; d[at(3)+headerLen] ^= 1 }, []int{2, 3}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := bytes.Clone(data)
			tc.damage(d)
			p := filepath.Join(dir, filepath.Base(path))
			if err := os.WriteFile(p, d, 0o644); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			s, err := Open(Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			st := s.Stats()
			lostBytes := int64(len(tc.lost) * frame)
			if st.Records != int64(10-len(tc.lost)) || st.CorruptBytes != lostBytes || st.CorruptFrames != tc.frames || st.TruncatedBytes != 0 {
				t.Errorf("stats %+v: want %d records, %d corrupt bytes in %d frames", st, 10-len(tc.lost), lostBytes, tc.frames)
			}
			if !strings.Contains(logs.String(), "corrupt frames skipped") || !strings.Contains(logs.String(), fmt.Sprintf("lost_bytes=%d", lostBytes)) {
				t.Errorf("log: %s", logs.String())
			}
			var want [][]byte
			for i := 0; i < 10; i++ {
				if !slices.Contains(tc.lost, i) {
					want = append(want, rec(i))
				}
			}
			if got := drainAll(t, s); !slices.EqualFunc(got, want, bytes.Equal) {
				t.Errorf("drained %q, want %q", got, want)
			}
			// Open counted the loss; the drain did not count it again.
			if st2 := s.Stats(); st2.CorruptBytes != lostBytes {
				t.Errorf("after drain: corrupt bytes %d, want %d", st2.CorruptBytes, lostBytes)
			}
		})
	}
}

// TestFormat1SegmentStillRead: a segment written by the previous version (frames
// without marker, no segment header) is replayed, and new appends go to format 2.
func TestFormat1SegmentStillRead(t *testing.T) {
	dir := t.TempDir()
	var old []byte
	for i := 0; i < 3; i++ {
		r := rec(i)
		old = binary.LittleEndian.AppendUint32(old, uint32(len(r)))
		old = binary.LittleEndian.AppendUint32(old, crc32.Checksum(r, castagnoli))
		old = append(old, r...)
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%020d%s", 7, segExt)), old, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Append([][]byte{rec(3)}); err != nil {
		t.Fatal(err)
	}
	got := drainAll(t, s)
	want := [][]byte{rec(0), rec(1), rec(2), rec(3)}
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("drained %q, want %q", got, want)
	}
}

// failingFile is a real segment file whose Sync fails while fail is set.
type failingFile struct {
	*os.File
	fail *atomic.Bool
}

func (f failingFile) Sync() error {
	if f.fail.Load() {
		return errors.New("injected EIO")
	}
	return f.File.Sync()
}

func failingOpen(fail *atomic.Bool) func(string, int, os.FileMode) (File, error) {
	return func(name string, flag int, perm os.FileMode) (File, error) {
		f, err := os.OpenFile(name, flag, perm)
		if err != nil {
			return nil, err
		}
		return failingFile{f, fail}, nil
	}
}

// TestFsyncFailureNotAcknowledged: an append whose fsync fails gets the error, whether
// its own group commit or a Seal ran the fsync, and the spool goes on in a new segment.
func TestFsyncFailureNotAcknowledged(t *testing.T) {
	var fail atomic.Bool
	s, err := Open(Options{Dir: t.TempDir(), OpenFile: failingOpen(&fail), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Append([][]byte{rec(0)}); err != nil {
		t.Fatal(err)
	}
	// 1. The append's own fsync fails.
	fail.Store(true)
	if err := s.Append([][]byte{rec(1)}); err == nil {
		t.Fatal("append acknowledged although its fsync failed")
	}
	fail.Store(false)
	if err := s.Append([][]byte{rec(2)}); err != nil {
		t.Fatalf("append after the failure: %v", err)
	}
	if st := s.Stats(); st.SyncErrors != 1 || st.Segments != 2 {
		t.Errorf("stats %+v: want 1 sync error and the failed segment retired", st)
	}
	// 2. A Seal runs the fsync of an append written before it (the append has not
	// reached its own fsync yet).
	seq, err := s.write(appendFrame(nil, rec(3)), 1)
	if err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	if err := s.Seal(); err == nil {
		t.Error("Seal succeeded with a failing fsync")
	}
	fail.Store(false)
	if err := s.syncTo(seq); err == nil {
		t.Error("append reported durable although the Seal's fsync failed")
	}
	if len(s.failures) != 0 {
		t.Errorf("failure records left: %+v", s.failures)
	}
	// 3. Many concurrent appends over a failing fsync: none is acknowledged.
	fail.Store(true)
	var wg sync.WaitGroup
	var acked atomic.Int64
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.Append([][]byte{rec(100 + g)}) == nil {
				acked.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := acked.Load(); n != 0 {
		t.Errorf("%d appends acknowledged with a failing fsync", n)
	}
	fail.Store(false)
	// Records whose fsync failed may still be in the files (and be drained): the
	// error says "may or may not". Record 0 and 2, acknowledged, must be there.
	got := drainAll(t, s)
	for _, want := range [][]byte{rec(0), rec(2)} {
		if !slices.ContainsFunc(got, func(r []byte) bool { return bytes.Equal(r, want) }) {
			t.Errorf("acknowledged %q not drained (got %q)", want, got)
		}
	}
}

// TestLockInProcess: a second Open of a locked directory fails with ErrLocked, names
// the directory and this pid; after Close the directory opens again.
func TestLockInProcess(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(Options{Dir: dir})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s.Close()
}

// TestHelperHoldSpool is the child of TestLockAcrossProcesses: it opens the spool
// directory named by SPOOL_TEST_HOLD, says so, and holds it until stdin closes.
func TestHelperHoldSpool(t *testing.T) {
	dir := os.Getenv("SPOOL_TEST_HOLD")
	if dir == "" {
		t.Skip("helper process")
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	if err := s.Append([][]byte{rec(1)}); err != nil {
		fmt.Println("append:", err)
		os.Exit(3)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	s.Close()
	os.Exit(0)
}

// TestLockAcrossProcesses: while another process holds the directory, Open fails
// naming it and that process's pid; a second process fails at start the same way;
// once the holder is killed (SIGKILL: no Close), the directory opens again.
func TestLockAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestHelperHoldSpool$")
	child.Env = append(os.Environ(), "SPOOL_TEST_HOLD="+dir)
	stdin, _ := child.StdinPipe()
	out, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	_, err = Open(Options{Dir: dir})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", child.Process.Pid)) {
		t.Fatalf("Open while another process holds the directory: %v", err)
	}
	t.Logf("refused: %v", err)
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open after the holder was killed: %v", err)
	}
	defer s.Close()
	if n := s.Len(); n != 1 {
		t.Errorf("the killed holder's record: %d records, want 1", n)
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

// TestPreallocatedSegments: the segments after the first are made from a spare file
// of SegmentBytes zeros prepared in the background; their zeros are never records:
// Seal cuts them off, and a spool copied while running (a crash) reopens with every
// record, in order, nothing counted as torn or corrupt, and no spare left.
func TestPreallocatedSegments(t *testing.T) {
	dir := t.TempDir()
	const segBytes = 4096
	s, err := Open(Options{Dir: dir, SegmentBytes: segBytes, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	big := func(i int) []byte { return append(rec(i), bytes.Repeat([]byte{'x'}, 200)...) }
	const n = 100 // ~21 KiB: ~5 segments
	preallocated := 0
	for i := range n {
		if err := s.Append([][]byte{big(i)}); err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		seg := s.segs[len(s.segs)-1]
		fi, err := os.Stat(seg.path)
		if err != nil {
			t.Fatal(err)
		}
		if seg.alloc > 0 {
			preallocated++
			if fi.Size() < segBytes || fi.Size() < seg.bytes {
				t.Errorf("preallocated segment %d: file of %d bytes, %d written", seg.seq, fi.Size(), seg.bytes)
			}
		} else if fi.Size() != seg.bytes {
			t.Errorf("segment %d: file of %d bytes, %d written", seg.seq, fi.Size(), seg.bytes)
		}
		s.mu.Unlock()
		if i%10 == 0 {
			s.prepWG.Wait() // let the spare be ready for the next segment
		}
	}
	if preallocated == 0 {
		t.Fatal("no append went to a preallocated segment")
	}

	// A crash: the files as they are now, the active segment with its zeros.
	crash := t.TempDir()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() == LockFile {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crash, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := make([][]byte, n)
	for i := range want {
		want[i] = big(i)
	}
	for _, d := range []string{crash, dir} {
		if d == dir {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			segs, _ := filepath.Glob(filepath.Join(dir, "*"+segExt))
			total := int64(0)
			for _, p := range segs {
				fi, _ := os.Stat(p)
				total += fi.Size()
			}
			if st := s.Stats(); total != st.Bytes {
				t.Errorf("after Close: segment files of %d bytes, %d written: zeros left", total, st.Bytes)
			}
		}
		if _, err := os.Stat(filepath.Join(d, spareName)); d == dir && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("spare left after Close: %v", err)
		}
		r, err := Open(Options{Dir: d, SegmentBytes: segBytes, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(d, spareName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: spare not removed at Open: %v", d, err)
		}
		if st := r.Stats(); st.TruncatedBytes != 0 || st.CorruptBytes != 0 || st.Records != n {
			t.Errorf("%s: reopened with %+v, want %d records, nothing torn or corrupt", d, st, n)
		}
		if got := drainAll(t, r); !slices.EqualFunc(got, want, bytes.Equal) {
			t.Errorf("%s: drained %d records, not the %d appended in order", d, len(got), n)
		}
		r.Close()
	}
}
