package envconf

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// NewLogger makes the slog.Logger that LOG_LEVEL (debug, info, warn, error) and
// LOG_FORMAT (text, json) ask for, writing to w.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("--%s %q: want debug, info, warn or error", LogLevel.Flag, level)
	}
	ho := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return nil, fmt.Errorf("--%s %q: want text or json", LogFormat.Flag, format)
}
