// Package spool is a bounded, durable, append-only queue of records on disk: the
// prediction log's fallback while the database is unreachable.
//
// Records live in segment files (<dir>/<20-digit sequence>.seg), each record framed
// as
//
//	uint32 little-endian payload length | uint32 little-endian CRC32C(payload) | payload
//
// Append writes the records of one call with a single write and returns once they are
// fsync'd; concurrent Appends share one fsync (group commit). Open replays the
// segments in order: a torn or corrupt tail (short frame, bad length, bad checksum) is
// truncated with a log line, never a crash. Drain hands the records to a sender in
// order, oldest segment first, and deletes a segment only once every one of its
// records was accepted; a failed Drain leaves the segment, and the next Drain sends
// it again from its start, so the sender must be idempotent.
package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Errors of Append.
var (
	// ErrFull: the spool holds MaxBytes already; nothing was written.
	ErrFull = errors.New("spool: full")
	// ErrClosed: Append after Close.
	ErrClosed = errors.New("spool: closed")
)

// Defaults of Options.
const (
	DefaultMaxBytes     = 1 << 30 // 1 GiB
	DefaultSegmentBytes = 8 << 20 // 8 MiB
	// MaxRecordBytes is the largest payload; a frame claiming more is corruption.
	MaxRecordBytes = 16 << 20
	headerLen      = 8
	segExt         = ".seg"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Options configure Open. Zero values take the defaults.
type Options struct {
	Dir          string // created if missing; required
	MaxBytes     int64  // bound on the bytes of all segments (default 1 GiB)
	SegmentBytes int64  // a segment is sealed once it reaches this size (default 8 MiB)
	Logger       *slog.Logger
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
}

type segment struct {
	seq     uint64
	path    string
	records int64
	bytes   int64
}

// Spool is safe for concurrent use.
type Spool struct {
	opts Options
	log  *slog.Logger

	syncMu sync.Mutex // held while syncing or sealing; taken before mu
	synced uint64     // appends (by sequence) known durable; guarded by syncMu

	mu      sync.Mutex
	segs    []*segment // oldest first; the last one is active when active != nil
	active  *os.File
	written uint64 // appends written so far
	nextSeq uint64
	closed  bool
	stats   Stats
	drainMu sync.Mutex // one Drain at a time
}

// Open opens (or creates) the spool in opts.Dir and checks every segment, truncating
// a torn or corrupt tail.
func Open(opts Options) (*Spool, error) {
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
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{opts: opts, log: opts.Logger, nextSeq: 1}
	ents, err := os.ReadDir(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
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
		if seg.bytes == 0 {
			if err := os.Remove(seg.path); err != nil {
				return nil, fmt.Errorf("spool: remove empty segment: %w", err)
			}
			continue
		}
		s.segs = append(s.segs, seg)
		s.stats.Records += seg.records
		s.stats.Bytes += seg.bytes
		if seq >= s.nextSeq {
			s.nextSeq = seq + 1
		}
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i].seq < s.segs[j].seq })
	if len(s.segs) > 0 {
		s.log.Info("spool: replaying records from a previous run", "dir", opts.Dir,
			"records", s.stats.Records, "bytes", s.stats.Bytes, "segments", len(s.segs))
	}
	return s, nil
}

// check reads seg's records, counts them and truncates a bad tail.
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
	recs, good, why := parse(data)
	seg.records, seg.bytes = int64(len(recs)), int64(good)
	if good < len(data) {
		s.log.Warn("spool: torn or corrupt tail truncated", "segment", seg.path,
			"kept_records", len(recs), "kept_bytes", good, "dropped_bytes", len(data)-good, "reason", why)
		if err := f.Truncate(int64(good)); err != nil {
			return fmt.Errorf("spool: truncate segment %s: %w", seg.path, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("spool: sync segment %s: %w", seg.path, err)
		}
	}
	return nil
}

// parse returns the records of a segment's bytes, the length of the valid prefix and,
// when it is shorter than data, why.
func parse(data []byte) (recs [][]byte, good int, why string) {
	off := 0
	for off < len(data) {
		if len(data)-off < headerLen {
			return recs, off, "short frame header"
		}
		n := binary.LittleEndian.Uint32(data[off:])
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n == 0 || n > MaxRecordBytes {
			return recs, off, fmt.Sprintf("bad record length %d", n)
		}
		if uint64(len(data)-off-headerLen) < uint64(n) {
			return recs, off, "short record"
		}
		p := data[off+headerLen : off+headerLen+int(n)]
		if crc32.Checksum(p, castagnoli) != sum {
			return recs, off, "checksum mismatch"
		}
		recs = append(recs, p)
		off += headerLen + int(n)
	}
	return recs, off, ""
}

// Append writes recs (each non-empty, at most MaxRecordBytes) and returns once they
// are durable. It fails with ErrFull, without writing, when they do not fit under
// MaxBytes.
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
	buf := make([]byte, 0, size)
	for _, r := range recs {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(r)))
		buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(r, castagnoli))
		buf = append(buf, r...)
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		if s.stats.Bytes+int64(size) > s.opts.MaxBytes {
			s.stats.Full++
			s.mu.Unlock()
			return ErrFull
		}
		if s.active != nil && s.segs[len(s.segs)-1].bytes >= s.opts.SegmentBytes {
			s.mu.Unlock()
			if err := s.Seal(); err != nil {
				return err
			}
			continue
		}
		if s.active == nil {
			if err := s.openActiveLocked(); err != nil {
				s.mu.Unlock()
				return err
			}
		}
		seg := s.segs[len(s.segs)-1]
		if _, err := s.active.Write(buf); err != nil {
			// A partial write leaves a torn frame: cut it off so that the next
			// append does not follow garbage.
			_ = s.active.Truncate(seg.bytes)
			_, _ = s.active.Seek(seg.bytes, io.SeekStart)
			s.mu.Unlock()
			return fmt.Errorf("spool: append: %w", err)
		}
		seg.records += int64(len(recs))
		seg.bytes += int64(size)
		s.stats.Records += int64(len(recs))
		s.stats.Bytes += int64(size)
		s.stats.Appended += int64(len(recs))
		s.written++
		mine := s.written
		s.mu.Unlock()
		return s.syncTo(mine)
	}
}

// openActiveLocked creates a new segment file and makes it durable in the directory.
func (s *Spool) openActiveLocked() error {
	seq := s.nextSeq
	path := filepath.Join(s.opts.Dir, fmt.Sprintf("%020d%s", seq, segExt))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("spool: new segment: %w", err)
	}
	if err := syncDir(s.opts.Dir); err != nil {
		f.Close()
		_ = os.Remove(path)
		return err
	}
	s.nextSeq++
	s.active = f
	s.segs = append(s.segs, &segment{seq: seq, path: path})
	return nil
}

// syncTo makes the append numbered seq durable: one fsync covers every append
// written before it (group commit).
func (s *Spool) syncTo(seq uint64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.synced >= seq {
		return nil
	}
	s.mu.Lock()
	target, f := s.written, s.active
	s.mu.Unlock()
	if f == nil { // sealed (and synced) meanwhile
		s.synced = target
		return nil
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("spool: fsync: %w", err)
	}
	s.mu.Lock()
	s.stats.Syncs++
	s.mu.Unlock()
	s.synced = target
	return nil
}

// Seal syncs and closes the active segment, so that Drain can take it; the next
// Append starts a new segment.
func (s *Spool) Seal() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == nil {
		return nil
	}
	f := s.active
	s.active = nil
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool: seal segment: %w", err)
	}
	s.stats.Syncs++
	s.synced = s.written
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

// Drain sends the spooled records in order, at most batch (default 512) at a time,
// and deletes each segment once every one of its records was sent. It returns the
// number of records drained (in deleted segments) and the first error of send or of
// the file system; the records of a segment that was not fully sent stay, and are
// sent again by the next Drain. Appends may go on meanwhile: Drain seals the active
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
		recs, good, why := parse(data)
		if good < len(data) {
			// Written and synced by us: corruption on disk. Send what is valid.
			s.log.Error("spool: corrupt segment while draining; sending its valid prefix", "segment", seg.path,
				"records", len(recs), "dropped_bytes", len(data)-good, "reason", why)
		}
		for i := 0; i < len(recs); i += batch {
			j := min(i+batch, len(recs))
			if err := send(ctx, recs[i:j]); err != nil {
				return drained, fmt.Errorf("spool: drain segment %d: %w", seg.seq, err)
			}
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

// Close syncs and closes the active segment; the records stay for the next Open.
func (s *Spool) Close() error {
	err := s.Seal()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
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
