package relay

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// slogFactory routes pion's logs to slog. pion's info is our debug: it
// describes every candidate and state change, which is noise for an operator.
type slogFactory struct{ l *slog.Logger }

func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.l.With("pion", scope)}
}

type pionLogger struct{ l *slog.Logger }

func (p pionLogger) log(level slog.Level, msg string) {
	if p.l.Enabled(context.Background(), level) {
		p.l.Log(context.Background(), level, msg)
	}
}

func (p pionLogger) Trace(msg string)                  {}
func (p pionLogger) Tracef(format string, args ...any) {}
func (p pionLogger) Debug(msg string)                  { p.log(slog.LevelDebug-4, msg) }
func (p pionLogger) Debugf(format string, args ...any) {
	if p.l.Enabled(context.Background(), slog.LevelDebug-4) {
		p.log(slog.LevelDebug-4, fmt.Sprintf(format, args...))
	}
}
func (p pionLogger) Info(msg string) { p.log(slog.LevelDebug, msg) }
func (p pionLogger) Infof(format string, args ...any) {
	if p.l.Enabled(context.Background(), slog.LevelDebug) {
		p.log(slog.LevelDebug, fmt.Sprintf(format, args...))
	}
}
func (p pionLogger) Warn(msg string)                  { p.log(slog.LevelDebug, msg) }
func (p pionLogger) Warnf(format string, args ...any) { p.Infof(format, args...) }
func (p pionLogger) Error(msg string)                 { p.log(slog.LevelWarn, msg) }
func (p pionLogger) Errorf(format string, args ...any) {
	p.log(slog.LevelWarn, fmt.Sprintf(format, args...))
}
