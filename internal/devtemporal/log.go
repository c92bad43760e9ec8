package devtemporal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// quietOnStop is the server's minimum log level; once stopping is set it
// rises to Error, hiding the warnings (failed polls, refused dials) that
// services log while they shut each other down.
type quietOnStop struct {
	base     slog.Leveler
	stopping atomic.Bool
}

func (q *quietOnStop) Level() slog.Level {
	if q.stopping.Load() {
		return max(q.base.Level(), slog.LevelError)
	}
	return q.base.Level()
}

// levelHandler drops records below min before they reach the wrapped handler.
type levelHandler struct {
	min   slog.Leveler
	inner slog.Handler
}

var _ slog.Handler = levelHandler{}

func (h levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min.Level() && h.inner.Enabled(ctx, l)
}

func (h levelHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.inner.Handle(ctx, r)
}

func (h levelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelHandler{min: h.min, inner: h.inner.WithAttrs(attrs)}
}

func (h levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{min: h.min, inner: h.inner.WithGroup(name)}
}

// serverLogger adapts a *slog.Logger to the Temporal server's log.Logger.
type serverLogger struct {
	l *slog.Logger
	q *quietOnStop // optional
}

var (
	_ log.Logger      = serverLogger{}
	_ log.WithLogger  = serverLogger{}
	_ log.SLogWrapper = serverLogger{}
)

func (s serverLogger) Debug(msg string, tags ...tag.Tag) { s.log(slog.LevelDebug, msg, tags) }
func (s serverLogger) Info(msg string, tags ...tag.Tag)  { s.log(slog.LevelInfo, msg, tags) }
func (s serverLogger) Warn(msg string, tags ...tag.Tag)  { s.log(slog.LevelWarn, msg, tags) }
func (s serverLogger) Error(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }

// DPanic, Panic and Fatal are logged as errors: an embedded dev server must
// not take the whole process down.
func (s serverLogger) DPanic(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }
func (s serverLogger) Panic(msg string, tags ...tag.Tag)  { s.log(slog.LevelError, msg, tags) }
func (s serverLogger) Fatal(msg string, tags ...tag.Tag)  { s.log(slog.LevelError, msg, tags) }

func (s serverLogger) With(tags ...tag.Tag) log.Logger {
	return serverLogger{l: slog.New(s.l.Handler().WithAttrs(tagsToAttrs(tags))), q: s.q}
}

// SLog lets server components that want a *slog.Logger use ours (already level-filtered).
func (s serverLogger) SLog() *slog.Logger { return s.l }

func (s serverLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if !s.l.Enabled(ctx, level) {
		return
	}
	if s.q != nil && s.q.stopping.Load() && mentionsCanceled(tags) {
		// Requests cut short by the shutdown itself.
		return
	}
	s.l.LogAttrs(ctx, level, msg, tagsToAttrs(tags)...)
}

func tagsToAttrs(tags []tag.Tag) []slog.Attr {
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		if t == nil {
			continue
		}
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	return attrs
}

func mentionsCanceled(tags []tag.Tag) bool {
	for _, t := range tags {
		if t == nil {
			continue
		}
		switch v := t.Value().(type) {
		case error:
			if errors.Is(v, context.Canceled) || strings.Contains(v.Error(), context.Canceled.Error()) {
				return true
			}
		case string:
			if strings.Contains(v, context.Canceled.Error()) {
				return true
			}
		case fmt.Stringer:
			if strings.Contains(v.String(), context.Canceled.Error()) {
				return true
			}
		}
	}
	return false
}
