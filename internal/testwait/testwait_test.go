package testwait

import (
	"strings"
	"testing"
	"time"
)

// fatalRecorder records a Fatalf instead of ending the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = format
	for _, a := range args {
		if s, ok := a.(string); ok {
			r.msg += " " + s
		}
	}
}

func TestForReturnsOnceDone(t *testing.T) {
	calls := 0
	For(t, time.Minute, time.Millisecond, "third call", func() (bool, string) {
		calls++
		return calls == 3, ""
	})
	if calls != 3 {
		t.Errorf("cond called %d times, want 3", calls)
	}
}

func TestForFailsWithLastState(t *testing.T) {
	r := &fatalRecorder{TB: t}
	n := 0
	For(r, 20*time.Millisecond, time.Millisecond, "never", func() (bool, string) {
		n++
		if r.msg != "" {
			return true, "" // Fatalf was called: end the loop as t.Fatalf's Goexit would.
		}
		return false, "still pending"
	})
	if !strings.Contains(r.msg, "never") || !strings.Contains(r.msg, "still pending") {
		t.Errorf("failure message %q names neither what nor the last state", r.msg)
	}
}
