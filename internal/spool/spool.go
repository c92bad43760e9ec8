// Package spool is a bounded, durable, append-only queue of records on disk: the
// prediction log's fallback while the database is unreachable.
//
// One process owns a spool directory: Open takes an exclusive lock (flock) on
// <dir>/LOCK, which holds the owner's pid, and a second Open of the same directory,
// in this process or another, fails with ErrLocked naming the directory and the pid.
//
// Records live in segment files (<dir>/<20-digit sequence>.seg). A segment of format
// 2 (every segment this version writes) starts with the 8 bytes "MMSPOOL\x02", then
// frames
//
//	sync marker 9e 5a 7c d3 | uint32 LE payload length | uint32 LE CRC32C(length bytes, payload) | payload
//
// Segments without the header are format 1 (frames without marker: length | CRC32C(payload)
// | payload); they are still read, but a bad frame there ends the segment.
//
// Append writes the records of one call with a single write and returns once they are
// fsync'd; concurrent Appends share one fsync (group commit). Segments after the
// first of a run are preallocated: a file of SegmentBytes zeros, written and synced
// in the background ahead of need (<dir>/next.spare), becomes the next segment, so
// that an append's fdatasync flushes its pages only, with no file-size or extent
// change to journal (on ext4 here: ~30% less wall time and ~40% less CPU per fsync,
// bench/README.md). The zeros after a segment's last frame are not records: Seal
// cuts them off, and Open drops them without counting them as a torn tail. The
// spool's files may thus take up to two segments more than MaxBytes on disk.
//
// A failed fsync is never reported durable: every Append written to the file since
// the last good fsync gets the error, and the file is retired (the next Append starts
// a new segment), since a later fsync of the same file may report success for pages
// the kernel already dropped.
//
// Open replays the segments in order. A frame that does not check (bad marker,
// length or checksum) is skipped up to the next frame that does: only the corrupt
// bytes are lost, and they are counted (Stats.CorruptBytes, Stats.CorruptFrames) and
// logged. A torn tail (a frame cut short, with no valid frame after it: a crash in
// the middle of an Append) is truncated and counted in Stats.TruncatedBytes. Drain
// hands the records to a sender in order, oldest segment first, and deletes a segment
// only once every one of its records was accepted; a failed Drain leaves the segment,
// and the next Drain goes on from the first record not accepted (from the start of
// the segment after a restart), so the sender must be idempotent.
package spool

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Errors of Open and Append.
var (
	// ErrFull: the spool holds MaxBytes already; nothing was written.
	ErrFull = errors.New("spool: full")
	// ErrClosed: Append after Close.
	ErrClosed = errors.New("spool: closed")
	// ErrLocked: another Spool (in this process or another) holds the directory.
	ErrLocked = errors.New("spool: directory in use")
)

// Defaults of Options.
const (
	DefaultMaxBytes     = 1 << 30 // 1 GiB
	DefaultSegmentBytes = 8 << 20 // 8 MiB
	// MaxRecordBytes is the largest payload; a frame claiming more is corruption.
	MaxRecordBytes = 16 << 20
	// LockFile is the name of the lock file in the spool directory.
	LockFile = "LOCK"

	headerLenV1 = 8
	headerLen   = 12
	segExt      = ".seg"
	// spareName is the preallocated file that becomes the next segment.
	spareName = "next.spare"
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	// fileMagic starts every segment of format 2.
	fileMagic = []byte("MMSPOOL\x02")
	// frameMagic starts every frame of format 2: the sync marker a reader looks for
	// after a corrupt frame.
	frameMagic = []byte{0x9e, 0x5a, 0x7c, 0xd3}
)

// File is what the spool needs of an open segment; *os.File is one. Options.OpenFile
// lets a test inject failures (a failing Sync) on real files.
type File interface {
	io.WriterAt
	Sync() error
	Truncate(size int64) error
	Close() error
}

// Options configure Open. Zero values take the defaults.
type Options struct {
	Dir          string // created if missing; required
	MaxBytes     int64  // bound on the bytes of all segments (default 1 GiB)
	SegmentBytes int64  // a segment is sealed once it reaches this size (default 8 MiB)
	Logger       *slog.Logger
	// OpenFile opens a new segment (and the spare that becomes one) for writing; nil
	// is os.OpenFile.
	OpenFile func(name string, flag int, perm os.FileMode) (File, error)
}

// Stats describe the backlog and the work so far.
type Stats struct {
	Records  int64 `json:"records"`  // records spooled and not yet drained
	Bytes    int64 `json:"bytes"`    // bytes of the segment files
	Segments int   `json:"segments"` // segment files
	Appended int64 `json:"appended"` // records appended since Open
	Drained  int64 `json:"drained"`  // records drained (segments deleted) since Open
	Syncs    int64 `json:"syncs"`    // fsyncs of appended data since Open
	Full     int64 `json:"full"`     // Appends refused with ErrFull

	SyncErrors     int64 `json:"sync_errors"`     // failed fsyncs (their Appends got the error)
	CorruptBytes   int64 `json:"corrupt_bytes"`   // bytes skipped inside segments (bad frames)
	CorruptFrames  int64 `json:"corrupt_frames"`  // frames skipped (estimated by their sync markers; at least 1 per gap)
	TruncatedBytes int64 `json:"truncated_bytes"` // bytes of torn tails cut off at Open
}

type segment struct {
	seq     uint64
	path    string
	records int64
	bytes   int64
	// alloc is the size of the preallocated file when it is larger than bytes
	// (zeros after the last frame), else 0.
	alloc int64
	// lostBytes and lostFrames are the corrupt bytes already counted for this
	// segment (at Open or at an earlier Drain).
	lostBytes, lostFrames int64
	// sent is the number of its records an earlier Drain had sent when it failed:
	// the next Drain goes on from there (in this process; after a restart the
	// segment is sent again from its start).
	sent int
}

// syncFailure: the appends numbered from..to were not made durable; pending of them
// have not yet collected the error.
type syncFailure struct {
	from, to uint64
	pending  uint64
	err      error
}

// Spool is safe for concurrent use.
type Spool struct {
	opts Options
	log  *slog.Logger
	lock *os.File // holds the flock on <dir>/LOCK; nil where flock is not available

	syncMu   sync.Mutex    // held while syncing or sealing; taken before mu
	synced   uint64        // appends (by number) whose fsync outcome is known; guarded by syncMu
	failures []syncFailure // outcomes that are errors; guarded by syncMu

	mu      sync.Mutex
	segs    []*segment // oldest first; the last one is active when active != nil
	active  File
	written uint64 // appends written so far
	nextSeq uint64
	closed  bool
	stats   Stats
	drainMu sync.Mutex // one Drain at a time

	spare     File           // a preallocated, synced file at <dir>/next.spare, or nil; guarded by mu
	preparing bool           // prepareSpare runs; guarded by mu
	prepWG    sync.WaitGroup // prepareSpare
}

// Open opens (or creates) the spool in opts.Dir, locks it, and checks every segment,
// skipping corrupt frames and truncating a torn tail.
func Open(opts Options) (_ *Spool, err error) {
	if opts.Dir == "" {
		return nil, errors.New("spool: Dir is required")
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.OpenFile == nil {
		opts.OpenFile = func(name string, flag int, perm os.FileMode) (File, error) { return os.OpenFile(name, flag, perm) }
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{opts: opts, log: opts.Logger, nextSeq: 1}
	if s.lock, err = lockDir(opts.Dir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.unlock()
		}
	}()
	ents, err := os.ReadDir(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if name == spareName {
			// Made by a run that stopped before using it: nothing in it.
			if err := os.Remove(filepath.Join(opts.Dir, name)); err != nil {
				return nil, fmt.Errorf("spool: remove spare segment: %w", err)
			}
			continue
		}
		if e.IsDir() || !strings.HasSuffix(name, segExt) {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, segExt), 10, 64)
		if err != nil {
			continue
		}
		seg := &segment{seq: seq, path: filepath.Join(opts.Dir, name)}
		if err := s.check(seg); err != nil {
			return nil, err
		}
		if seq >= s.nextSeq {
			s.nextSeq = seq + 1
		}
		if seg.records == 0 {
			if err := os.Remove(seg.path); err != nil {
				return nil, fmt.Errorf("spool: remove empty segment: %w", err)
			}
			continue
		}
		s.segs = append(s.segs, seg)
		s.stats.Records += seg.records
		s.stats.Bytes += seg.bytes
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i].seq < s.segs[j].seq })
	if len(s.segs) > 0 {
		s.log.Info("spool: replaying records from a previous run", "dir", opts.Dir,
			"records", s.stats.Records, "bytes", s.stats.Bytes, "segments", len(s.segs))
	}
	return s, nil
}

// check reads seg's records, counts them and the corrupt bytes, and truncates a torn
// tail.
func (s *Spool) check(seg *segment) error {
	f, err := os.OpenFile(seg.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("spool: open segment: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("spool: read segment %s: %w", seg.path, err)
	}
	p := parse(data)
	seg.records, seg.bytes = int64(len(p.recs)), int64(p.good)
	seg.lostBytes, seg.lostFrames = int64(p.lostBytes), int64(p.lostFrames)
	if p.lostBytes > 0 {
		s.stats.CorruptBytes += seg.lostBytes
		s.stats.CorruptFrames += seg.lostFrames
		s.log.Error("spool: corrupt frames skipped; the records after them are kept", "segment", seg.path,
			"lost_bytes", p.lostBytes, "lost_frames", p.lostFrames, "kept_records", len(p.recs), "reason", p.lostWhy)
	}
	if p.good < len(data) {
		// The zeros of a preallocated segment after its last frame are free
		// space, not a torn tail.
		if torn := tailEnd(data, p.good) - p.good; torn > 0 {
			s.stats.TruncatedBytes += int64(torn)
			s.log.Warn("spool: torn or corrupt tail truncated", "segment", seg.path,
				"kept_records", len(p.recs), "kept_bytes", p.good, "dropped_bytes", torn, "reason", p.tailWhy)
		}
		if err := f.Truncate(int64(p.good)); err != nil {
			return fmt.Errorf("spool: truncate segment %s: %w", seg.path, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("spool: sync segment %s: %w", seg.path, err)
		}
	}
	return nil
}

// tailEnd is the end of data without the zeros after good (a preallocated
// segment's free space); never before good.
func tailEnd(data []byte, good int) int {
	return max(good, len(bytes.TrimRight(data, "\x00")))
}

// parsed is what parse found in a segment's bytes.
type parsed struct {
	recs [][]byte
	// good is the end of the last valid frame (the header for a segment of format 2
	// without one); the bytes after it are a torn tail, tailWhy says why.
	good    int
	tailWhy string
	// lostBytes in lostFrames corrupt frames were skipped before good; lostWhy is
	// the reason of the first.
	lostBytes, lostFrames int
	lostWhy               string
}

// parse reads a segment of either format.
func parse(data []byte) parsed {
	if bytes.HasPrefix(data, fileMagic) {
		return parseV2(data)
	}
	if len(data) < len(fileMagic) && bytes.HasPrefix(fileMagic, data) && len(data) > 0 {
		// A header cut short: a segment created by a crash before its first record.
		return parsed{good: 0, tailWhy: "short segment header"}
	}
	return parseV1(data)
}

// frameAt checks the format-2 frame at off and returns its payload and length, or
// why it is not a frame.
func frameAt(data []byte, off int) (payload []byte, n int, why string) {
	if len(data)-off < headerLen {
		return nil, 0, "short frame header"
	}
	if !bytes.Equal(data[off:off+4], frameMagic) {
		return nil, 0, "no sync marker"
	}
	size := binary.LittleEndian.Uint32(data[off+4:])
	if size == 0 || size > MaxRecordBytes {
		return nil, 0, fmt.Sprintf("bad record length %d", size)
	}
	if uint64(len(data)-off-headerLen) < uint64(size) {
		return nil, 0, "short record"
	}
	p := data[off+headerLen : off+headerLen+int(size)]
	if frameSum(data[off+4:off+8], p) != binary.LittleEndian.Uint32(data[off+8:]) {
		return nil, 0, "checksum mismatch"
	}
	return p, headerLen + int(size), ""
}

func frameSum(length, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(length, castagnoli), castagnoli, payload)
}

func parseV2(data []byte) parsed {
	res := parsed{good: len(fileMagic)}
	off := len(fileMagic)
	for off < len(data) {
		p, n, why := frameAt(data, off)
		if why == "" {
			res.recs = append(res.recs, p)
			off += n
			res.good = off
			continue
		}
		// Look for the next frame that checks; none: a torn tail.
		next := -1
		for q := off + 1; q < len(data); {
			i := bytes.Index(data[q:], frameMagic)
			if i < 0 {
				break
			}
			q += i
			if _, _, w := frameAt(data, q); w == "" {
				next = q
				break
			}
			q++
		}
		if next < 0 {
			res.tailWhy = why
			return res
		}
		frames := bytes.Count(data[off:next], frameMagic)
		res.lostBytes += next - off
		res.lostFrames += max(frames, 1)
		if res.lostWhy == "" {
			res.lostWhy = why
		}
		off = next
	}
	return res
}

// parseV1 reads a segment of format 1: a bad frame ends it.
func parseV1(data []byte) parsed {
	var res parsed
	off := 0
	for off < len(data) {
		if len(data)-off < headerLenV1 {
			res.tailWhy = "short frame header"
			break
		}
		n := binary.LittleEndian.Uint32(data[off:])
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n == 0 || n > MaxRecordBytes {
			res.tailWhy = fmt.Sprintf("bad record length %d", n)
			break
		}
		if uint64(len(data)-off-headerLenV1) < uint64(n) {
			res.tailWhy = "short record"
			break
		}
		p := data[off+headerLenV1 : off+headerLenV1+int(n)]
		if crc32.Checksum(p, castagnoli) != sum {
			res.tailWhy = "checksum mismatch"
			break
		}
		res.recs = append(res.recs, p)
		off += headerLenV1 + int(n)
	}
	res.good = off
	return res
}

// appendFrame appends the format-2 frame of rec to buf.
func appendFrame(buf, rec []byte) []byte {
	buf = append(buf, frameMagic...)
	start := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(rec)))
	buf = binary.LittleEndian.AppendUint32(buf, frameSum(buf[start:start+4], rec))
	return append(buf, rec...)
}

// Append writes recs (each non-empty, at most MaxRecordBytes) and returns once they
// are durable. It fails with ErrFull, without writing, when they do not fit under
// MaxBytes. Any other error means the records may or may not be in the spool (they
// were written, but their fsync failed): they may still be drained.
func (s *Spool) Append(recs [][]byte) error {
	if len(recs) == 0 {
		return nil
	}
	size := 0
	for _, r := range recs {
		if len(r) == 0 || len(r) > MaxRecordBytes {
			return fmt.Errorf("spool: append: record of %d bytes: want 1..%d", len(r), MaxRecordBytes)
		}
		size += headerLen + len(r)
	}
	bufp := frameBufs.Get().(*[]byte)
	buf := slices.Grow((*bufp)[:0], size)
	for _, r := range recs {
		buf = appendFrame(buf, r)
	}
	seq, err := s.write(buf, len(recs))
	if cap(buf) <= maxPooledFrameBuf {
		*bufp = buf
		frameBufs.Put(bufp)
	}
	if err != nil {
		return err
	}
	return s.syncTo(seq)
}

// frameBufs hold the frames of an Append until they are written; buffers over
// maxPooledFrameBuf (appends of more than ~1,000 /predict records) are not kept.
var frameBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledFrameBuf = 1 << 20

// write writes the frames of n records to the active segment and returns the number
// of this append, for syncTo.
func (s *Spool) write(buf []byte, n int) (uint64, error) {
	size := int64(len(buf))
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return 0, ErrClosed
		}
		if s.stats.Bytes+size > s.opts.MaxBytes {
			s.stats.Full++
			s.mu.Unlock()
			return 0, ErrFull
		}
		if s.active != nil && s.segs[len(s.segs)-1].bytes >= s.opts.SegmentBytes {
			s.mu.Unlock()
			if err := s.Seal(); err != nil {
				return 0, err
			}
			continue
		}
		if s.active == nil {
			if err := s.openActiveLocked(); err != nil {
				s.mu.Unlock()
				return 0, err
			}
		}
		seg := s.segs[len(s.segs)-1]
		if _, err := s.active.WriteAt(buf, seg.bytes); err != nil {
			// A partial write leaves a torn frame: cut it off so that no later
			// append is followed by garbage.
			_ = s.active.Truncate(seg.bytes)
			seg.alloc = 0
			s.mu.Unlock()
			return 0, fmt.Errorf("spool: append: %w", err)
		}
		seg.records += int64(n)
		seg.bytes += size
		s.stats.Records += int64(n)
		s.stats.Bytes += size
		s.stats.Appended += int64(n)
		s.written++
		seq := s.written
		s.mu.Unlock()
		return seq, nil
	}
}

// openActiveLocked makes the next segment, from the spare when one is ready (else a
// new file that grows as it is written), with its header, durable in the
// directory; then it has the next spare prepared.
func (s *Spool) openActiveLocked() error {
	seq := s.nextSeq
	path := filepath.Join(s.opts.Dir, fmt.Sprintf("%020d%s", seq, segExt))
	s.nextSeq++ // even on failure below: the name may exist now
	if f := s.spare; f != nil {
		s.spare = nil
		err := s.adoptSpare(f, path, seq)
		if err == nil {
			s.prepareSpareLocked()
			return nil
		}
		s.log.Warn("spool: preallocated segment not usable; a new one grows as it is written", "err", err)
	}
	f, err := s.opts.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("spool: new segment: %w", err)
	}
	if err := s.startSegment(f, path, seq, 0); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return err
	}
	s.prepareSpareLocked()
	return nil
}

// adoptSpare renames the spare f to path and starts the segment seq in it.
func (s *Spool) adoptSpare(f File, path string, seq uint64) error {
	spare := filepath.Join(s.opts.Dir, spareName)
	if err := os.Rename(spare, path); err != nil {
		_ = f.Close()
		_ = os.Remove(spare)
		return fmt.Errorf("spool: new segment from the spare: %w", err)
	}
	if err := s.startSegment(f, path, seq, s.opts.SegmentBytes); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return err
	}
	return nil
}

// startSegment writes the header of the new segment seq into f and makes its name
// durable; alloc is the preallocated size (0: none).
func (s *Spool) startSegment(f File, path string, seq uint64, alloc int64) error {
	if _, err := f.WriteAt(fileMagic, 0); err != nil {
		return fmt.Errorf("spool: new segment: %w", err)
	}
	if err := syncDir(s.opts.Dir); err != nil {
		return err
	}
	s.active = f
	seg := &segment{seq: seq, path: path, bytes: int64(len(fileMagic))}
	if alloc > seg.bytes {
		seg.alloc = alloc
	}
	s.segs = append(s.segs, seg)
	s.stats.Bytes += int64(len(fileMagic))
	return nil
}

// prepareSpareLocked has the next segment's file made in the background unless it
// is ready or being made.
func (s *Spool) prepareSpareLocked() {
	if s.spare != nil || s.preparing || s.closed {
		return
	}
	s.preparing = true
	s.prepWG.Add(1)
	go s.prepareSpare()
}

// prepareSpare writes SegmentBytes of zeros into <dir>/next.spare and syncs it.
func (s *Spool) prepareSpare() {
	defer s.prepWG.Done()
	path := filepath.Join(s.opts.Dir, spareName)
	f, err := s.makeSpare(path)
	s.mu.Lock()
	s.preparing = false
	if err == nil && !s.closed {
		s.spare = f
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if f != nil {
		_ = f.Close()
	}
	_ = os.Remove(path)
	if err != nil {
		s.log.Warn("spool: preallocating the next segment failed; it grows as it is written", "err", err)
	}
}

// zeroChunk is 1 MiB of zeros, shared (read only) by every spare's writes.
var zeroChunk = sync.OnceValue(func() []byte { return make([]byte, 1<<20) })

func (s *Spool) makeSpare(path string) (File, error) {
	_ = os.Remove(path) // a spare that failed half-way
	f, err := s.opts.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("spool: spare segment: %w", err)
	}
	zeros := zeroChunk()
	for off := int64(0); off < s.opts.SegmentBytes; off += int64(len(zeros)) {
		n := min(int64(len(zeros)), s.opts.SegmentBytes-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return f, fmt.Errorf("spool: spare segment: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return f, fmt.Errorf("spool: spare segment: %w", err)
	}
	return f, nil
}

// syncTo makes the append numbered seq durable and returns its outcome: one fsync
// covers every append written before it (group commit), and a failed fsync is the
// outcome of every append it covered.
func (s *Spool) syncTo(seq uint64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if seq <= s.synced {
		return s.outcomeLocked(seq)
	}
	s.mu.Lock()
	target, f := s.written, s.active
	s.mu.Unlock()
	if f == nil {
		// Seal and a failed sync decide every append written before them, and an
		// append written after them opened a new active segment.
		return fmt.Errorf("spool: fsync: append %d neither synced nor sealed", seq)
	}
	if err := f.Sync(); err != nil {
		// Retire the file: a later fsync of it could report success for pages the
		// kernel dropped after this failure. Appends written into it after target
		// are in the same state, so the failure covers them too.
		s.mu.Lock()
		if s.active == f {
			_ = f.Close()
			s.active = nil
		}
		target = s.written
		s.stats.SyncErrors++
		s.mu.Unlock()
		s.failLocked(target, fmt.Errorf("spool: fsync: %w", err))
		return s.outcomeLocked(seq)
	}
	s.mu.Lock()
	s.stats.Syncs++
	s.mu.Unlock()
	s.synced = target
	return nil
}

// failLocked records that the appends after s.synced up to target failed.
func (s *Spool) failLocked(target uint64, err error) {
	if target <= s.synced {
		return
	}
	s.failures = append(s.failures, syncFailure{from: s.synced + 1, to: target, pending: target - s.synced, err: err})
	s.synced = target
	s.log.Error("spool: fsync failed; the appends it covered are reported as failed and the segment is retired",
		"appends", target-s.failures[len(s.failures)-1].from+1, "err", err)
}

// outcomeLocked returns the outcome of the decided append seq; each append collects
// its outcome once.
func (s *Spool) outcomeLocked(seq uint64) error {
	for i := range s.failures {
		f := &s.failures[i]
		if seq >= f.from && seq <= f.to {
			err := f.err
			if f.pending--; f.pending == 0 {
				s.failures = append(s.failures[:i], s.failures[i+1:]...)
			}
			return err
		}
	}
	return nil
}

// Seal syncs and closes the active segment, so that Drain can take it; the next
// Append starts a new segment. When the fsync fails, the appends it covered get the
// error.
func (s *Spool) Seal() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	if s.active == nil {
		s.mu.Unlock()
		return nil
	}
	f := s.active
	if seg := s.segs[len(s.segs)-1]; seg.alloc > seg.bytes {
		// Cut the preallocated zeros off (the fsync below makes the size
		// durable); if that fails, Drain and Open skip them anyway.
		if err := f.Truncate(seg.bytes); err == nil {
			seg.alloc = 0
		}
	}
	serr := f.Sync()
	cerr := f.Close()
	s.active = nil
	target := s.written
	if serr != nil {
		s.stats.SyncErrors++
	} else {
		s.stats.Syncs++
	}
	s.mu.Unlock()
	if serr != nil {
		err := fmt.Errorf("spool: seal segment: fsync: %w", serr)
		s.failLocked(target, err)
		return err
	}
	s.synced = target
	if cerr != nil {
		// The data is durable (the fsync succeeded); only the descriptor leaked.
		return fmt.Errorf("spool: seal segment: close: %w", cerr)
	}
	return nil
}

// Stats returns the backlog and counters.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Segments = len(s.segs)
	return st
}

// Len is the number of records not yet drained.
func (s *Spool) Len() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.Records
}

// Dir is the spool's directory.
func (s *Spool) Dir() string { return s.opts.Dir }

// Scan calls fn with every record not yet drained, oldest first (the records of the
// active segment included). fn must not keep rec. It is meant for a reader that
// rebuilds an index of the backlog at start; Appends and Drains may run meanwhile,
// and Scan then sees some state in between.
func (s *Spool) Scan(fn func(rec []byte) error) error {
	s.mu.Lock()
	segs := append([]*segment(nil), s.segs...)
	s.mu.Unlock()
	for _, seg := range segs {
		data, err := os.ReadFile(seg.path)
		if errors.Is(err, os.ErrNotExist) {
			continue // drained meanwhile
		}
		if err != nil {
			return fmt.Errorf("spool: scan: %w", err)
		}
		for _, r := range parse(data).recs {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// Drain sends the spooled records in order, at most batch (default 512) at a time,
// and deletes each segment once every one of its records was sent. It returns the
// number of records drained (in deleted segments) and the first error of send or of
// the file system; the records of a segment that was not fully sent stay, and the
// next Drain sends them from the first batch that was not accepted (after a restart:
// from the start of the segment). Appends may go on meanwhile: Drain seals the active
// segment when it reaches it, and stops when the spool is empty.
func (s *Spool) Drain(ctx context.Context, batch int, send func(ctx context.Context, recs [][]byte) error) (int64, error) {
	if batch <= 0 {
		batch = 512
	}
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	var drained int64
	for {
		if err := ctx.Err(); err != nil {
			return drained, fmt.Errorf("spool: drain: %w", err)
		}
		s.mu.Lock()
		if len(s.segs) == 0 || s.closed {
			s.mu.Unlock()
			return drained, nil
		}
		seg := s.segs[0]
		isActive := s.active != nil && len(s.segs) == 1
		s.mu.Unlock()
		if isActive {
			if err := s.Seal(); err != nil {
				return drained, err
			}
		}
		data, err := os.ReadFile(seg.path)
		if err != nil {
			return drained, fmt.Errorf("spool: drain: %w", err)
		}
		p := parse(data)
		if lb, lf := int64(p.lostBytes+tailEnd(data, p.good)-p.good), int64(p.lostFrames); lb > seg.lostBytes {
			// Written and synced by us, and checked at Open: corruption on disk since.
			s.log.Error("spool: corrupt frames found while draining; sending the valid ones", "segment", seg.path,
				"records", len(p.recs), "lost_bytes", lb-seg.lostBytes, "reason", p.lostWhy+p.tailWhy)
			s.mu.Lock()
			s.stats.CorruptBytes += lb - seg.lostBytes
			s.stats.CorruptFrames += max(lf-seg.lostFrames, 1)
			s.mu.Unlock()
			seg.lostBytes, seg.lostFrames = lb, max(lf, seg.lostFrames+1)
			seg.sent = 0 // the records moved: send them all again (the sender is idempotent)
		}
		for i := min(seg.sent, len(p.recs)); i < len(p.recs); i += batch {
			j := min(i+batch, len(p.recs))
			if err := send(ctx, p.recs[i:j]); err != nil {
				return drained, fmt.Errorf("spool: drain segment %d: %w", seg.seq, err)
			}
			seg.sent = j
		}
		if err := os.Remove(seg.path); err != nil {
			return drained, fmt.Errorf("spool: drain: remove segment: %w", err)
		}
		s.mu.Lock()
		s.segs = s.segs[1:]
		s.stats.Records -= seg.records
		s.stats.Bytes -= seg.bytes
		s.stats.Drained += seg.records
		s.mu.Unlock()
		drained += seg.records
	}
}

// Close syncs and closes the active segment and releases the directory; the records
// stay for the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	wasClosed := s.closed
	s.closed = true // no Append from now on
	s.mu.Unlock()
	err := s.Seal()
	s.prepWG.Wait()
	s.mu.Lock()
	if f := s.spare; f != nil {
		s.spare = nil
		_ = f.Close()
		_ = os.Remove(filepath.Join(s.opts.Dir, spareName))
	}
	s.mu.Unlock()
	if !wasClosed {
		s.drainMu.Lock() // a Drain in progress ends before the lock is released
		s.unlock()
		s.drainMu.Unlock()
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: sync dir: %w", err)
	}
	return nil
}

// MaxBytes is the bound on the spool's size.
func (s *Spool) MaxBytes() int64 { return s.opts.MaxBytes }
