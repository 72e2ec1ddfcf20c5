package embedded

import (
	"fmt"
	"sync"

	"go.uber.org/zap"
)

// natsLogger routes the server's log through zap. A fatal error is recorded instead of
// exiting the process, so that Start can return it.
type natsLogger struct {
	log *zap.SugaredLogger
	// onError, when set, sees every error message the server logs.
	onError func(msg string)
	// onWarn, when set, sees every warning the server logs.
	onWarn func(msg string)
	// onNotice, when set, sees every notice the server logs.
	onNotice func(msg string)
	mu       sync.Mutex
	fatal    error
}

func (l *natsLogger) Noticef(format string, v ...any) {
	l.log.Infof(format, v...)
	if l.onNotice != nil {
		l.onNotice(fmt.Sprintf(format, v...))
	}
}
func (l *natsLogger) Warnf(format string, v ...any) {
	l.log.Warnf(format, v...)
	if l.onWarn != nil {
		l.onWarn(fmt.Sprintf(format, v...))
	}
}
func (l *natsLogger) Errorf(format string, v ...any) {
	l.log.Errorf(format, v...)
	if l.onError != nil {
		l.onError(fmt.Sprintf(format, v...))
	}
}
func (l *natsLogger) Debugf(format string, v ...any) { l.log.Debugf(format, v...) }
func (l *natsLogger) Tracef(format string, v ...any) { l.log.Debugf(format, v...) }
func (l *natsLogger) Fatalf(format string, v ...any) {
	l.log.Errorf(format, v...)
	l.mu.Lock()
	if l.fatal == nil {
		l.fatal = fmt.Errorf(format, v...)
	}
	l.mu.Unlock()
}

func (l *natsLogger) fatalErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatal
}
