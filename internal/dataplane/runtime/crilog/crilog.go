// Package crilog writes container logs in the CRI log format, the kubelet's and containerd's
// (k8s.io/cri-client/pkg/logs reads it back):
//
//	2016-10-06T00:17:09.669794202Z stdout F a whole line
//	2016-10-06T00:17:09.669794203Z stderr P the first 16 KiB of a longer line
//
// Every line carries the time it was read from the container and its stream, so `kubectl logs
// --timestamps` and `--since` work. The local data plane's containerd shim runs the
// nodeless-agent as the containers' logging binary (`nodeless-agent log PATH`), which writes
// with this package; the file keeps filling while nodeless is down, as with a plain log file.
//
// It uses the standard library only (nodeless-agent is small and static).
package crilog

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// TimeFormat is the timestamp of a line: RFC 3339 with nanoseconds, fixed width (containerd's).
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// MaxLineBytes is the longest content of one log line; longer lines are split into partial (P)
// lines, the last one full (F), as containerd splits them (its max_container_log_line_size).
const MaxLineBytes = 16 * 1024

// Streams.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Writer writes the lines of several streams to one log; each line is one Write.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// New returns a Writer to w, timestamping with the wall clock (UTC).
func New(w io.Writer) *Writer {
	return &Writer{w: w, now: func() time.Time { return time.Now().UTC() }}
}

// Copy reads r until EOF and writes each line as stream ("stdout" or "stderr"). Content that
// ends without a newline is written as a full line at EOF. It returns nil at EOF, or the first
// read or write error.
func (w *Writer) Copy(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, MaxLineBytes)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if werr := w.line(stream, "F", line[:len(line)-1]); werr != nil {
				return werr
			}
		case errors.Is(err, bufio.ErrBufferFull):
			if werr := w.line(stream, "P", line); werr != nil {
				return werr
			}
		case errors.Is(err, io.EOF):
			if len(line) > 0 {
				return w.line(stream, "F", line)
			}
			return nil
		default:
			if len(line) > 0 {
				_ = w.line(stream, "F", line)
			}
			return err
		}
	}
}

// line writes "time stream tag content\n" in one Write.
func (w *Writer) line(stream, tag string, content []byte) error {
	buf := make([]byte, 0, len(TimeFormat)+len(stream)+len(content)+5)
	w.mu.Lock()
	defer w.mu.Unlock()
	buf = w.now().AppendFormat(buf, TimeFormat)
	buf = append(buf, ' ')
	buf = append(buf, stream...)
	buf = append(buf, ' ')
	buf = append(buf, tag...)
	buf = append(buf, ' ')
	buf = append(buf, content...)
	buf = append(buf, '\n')
	_, err := w.w.Write(buf)
	return err
}

// IsLog reports whether the file at path holds a log in this format, from the start of its first
// line: "TIME STREAM TAG " with TIME in RFC 3339, STREAM stdout or stderr and TAG P or F. An
// empty file is (the agent writes nothing before the first line). A log written without the
// agent (plain output) is not. Errors are the file's (fs.ErrNotExist when there is none).
func IsLog(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }()
	head, err := bufio.NewReader(f).Peek(len(TimeFormat) + len(" stdout F "))
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	return len(head) == 0 || isLine(string(head)), nil
}

// isLine reports whether s begins as a line of this format does.
func isLine(s string) bool {
	ts, rest, ok := strings.Cut(s, " ")
	if !ok {
		return false
	}
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		return false
	}
	for _, prefix := range []string{Stdout + " P ", Stdout + " F ", Stderr + " P ", Stderr + " F "} {
		if strings.HasPrefix(rest, prefix) {
			return true
		}
	}
	return false
}
