package awshost

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// marker is the nonce that marks the wrapper's status lines: the two halves are printed
// together ("AB:ready", "AB:CODE") but appear in the command line only apart, so that a command
// that prints its own command line (ps) cannot forge a status line.
type marker struct {
	a, b string
}

func newMarker() (marker, error) {
	var r [12]byte
	if _, err := rand.Read(r[:]); err != nil {
		return marker{}, fmt.Errorf("making the exec marker: %w", err)
	}
	h := hex.EncodeToString(r[:])
	return marker{a: "nodeless-" + h[:12], b: h[12:]}, nil
}

func (m marker) prefix() []byte { return []byte(m.a + m.b + ":") }

// wrapCommand is the ExecuteCommand command that runs argv under /bin/sh: it prints the ready
// line, runs argv exactly as given ("$@", no word splitting or globbing), then prints argv's exit
// status ($?; 128+N when a signal ended it; the wrapper itself survives ^C and ^\ with a no-op
// trap, which its child does not inherit). Without tty it first turns the terminal's echo and
// newline translation off (stty, where the image has it), and without stdin argv reads
// /dev/null (as the kubelet closes the stdin of `kubectl exec` without -i); with tty the
// terminal stays its stdin (the kubelet's `-t` without `-i` gives it one too).
//
// The result is quoted for the SSM agent, which splits the command as a POSIX shell would
// (github.com/google/shlex) and runs the words directly: every word in single quotes, a single
// quote as '\”.
func wrapCommand(argv []string, m marker, tty, stdin bool) string {
	var script strings.Builder
	script.WriteString("trap : INT QUIT; ")
	if !tty {
		script.WriteString("stty -echo -onlcr 2>/dev/null; ")
	}
	fmt.Fprintf(&script, `printf "%%s%%s:ready\n" %s %s; "$@"`, m.a, m.b)
	if !stdin && !tty {
		script.WriteString(" </dev/null")
	}
	fmt.Fprintf(&script, `; printf "%%s%%s:%%d\n" %s %s "$?"`, m.a, m.b)
	words := append([]string{"/bin/sh", "-c", script.String(), "sh"}, argv...)
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}

// markerWriter passes output on to w without the wrapper's status lines: the ready line (which
// closes ready) and the exit status line (code). It holds back only what may be the start of a
// status line, until the rest shows whether it is one; flush writes what is held.
type markerWriter struct {
	w      io.Writer
	prefix []byte
	ready  chan struct{}

	mu       sync.Mutex
	held     []byte
	status   *int
	isReady  bool
	writeErr error
}

// maxToken bounds what follows the prefix on a status line ("ready" or a status of ≤ 3 digits).
const maxToken = 5

func newMarkerWriter(w io.Writer, m marker) *markerWriter {
	return &markerWriter{w: w, prefix: m.prefix(), ready: make(chan struct{})}
}

func (m *markerWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.writeErr != nil {
		return 0, m.writeErr
	}
	m.held = append(m.held, p...)
	m.scan()
	return len(p), m.writeErr
}

// scan writes out what cannot be part of a status line and consumes the status lines.
func (m *markerWriter) scan() {
	for m.writeErr == nil {
		i := bytes.Index(m.held, m.prefix)
		if i < 0 {
			keep := partialPrefix(m.held, m.prefix)
			m.emit(m.held[:len(m.held)-keep])
			m.held = m.held[len(m.held)-keep:]
			return
		}
		m.emit(m.held[:i])
		m.held = m.held[i:]
		token, n, ok := statusLine(m.held[len(m.prefix):])
		if n == 0 { // incomplete: wait for more
			return
		}
		if !ok { // not a status line after all
			m.emit(m.held[:len(m.prefix)])
			m.held = m.held[len(m.prefix):]
			continue
		}
		m.consume(token)
		m.held = m.held[len(m.prefix)+n:]
	}
}

func (m *markerWriter) consume(token string) {
	if token == "ready" {
		if !m.isReady {
			m.isReady = true
			close(m.ready)
		}
		return
	}
	code, _ := strconv.Atoi(token)
	m.status = &code
}

// statusLine reads "TOKEN\n" or "TOKEN\r\n" (TOKEN "ready" or digits) at the start of b: n is
// its length, 0 when b may still become one (more output needed); ok false when it cannot.
func statusLine(b []byte) (token string, n int, ok bool) {
	end := bytes.IndexByte(b, '\n')
	if end < 0 {
		if len(b) > maxToken+1 || !validToken(bytes.TrimSuffix(b, []byte("\r")), true) {
			return "", 1, false
		}
		return "", 0, false
	}
	tok := bytes.TrimSuffix(b[:end], []byte("\r"))
	if !validToken(tok, false) {
		return "", 1, false
	}
	return string(tok), end + 1, true
}

// validToken: "ready" or 1–3 digits; partial accepts a prefix of either.
func validToken(t []byte, partial bool) bool {
	if len(t) == 0 {
		return partial
	}
	if bytes.HasPrefix([]byte("ready"), t) && (partial || len(t) == len("ready")) {
		return true
	}
	if len(t) > 3 {
		return false
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// partialPrefix is the length of the longest suffix of b that is a proper prefix of prefix.
func partialPrefix(b, prefix []byte) int {
	for n := min(len(b), len(prefix)-1); n > 0; n-- {
		if bytes.HasSuffix(b, prefix[:n]) {
			return n
		}
	}
	return 0
}

func (m *markerWriter) emit(p []byte) {
	if len(p) == 0 || m.writeErr != nil {
		return
	}
	if _, err := m.w.Write(p); err != nil {
		m.writeErr = err
	}
}

// flush writes what is held (the session ended).
func (m *markerWriter) flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.emit(m.held)
	m.held = nil
	return m.writeErr
}

// code is the exit status the wrapper printed; nil if it printed none.
func (m *markerWriter) code() *int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// eot is a terminal's end-of-file character (VEOF, ^D).
const eot = 0x04

// eotReader reads r, then ends the terminal's input: ^D, twice when the last line is unfinished
// (the first ^D only ends the line), as a user ends a terminal's input.
type eotReader struct {
	r    io.Reader
	last byte
	tail []byte
	eof  bool
}

func newEOTReader(r io.Reader) *eotReader { return &eotReader{r: r, last: '\n'} }

func (e *eotReader) Read(p []byte) (int, error) {
	if !e.eof {
		n, err := e.r.Read(p)
		if n > 0 {
			e.last = p[n-1]
		}
		if err == nil || n > 0 {
			return n, nil
		}
		e.eof = true
		e.tail = []byte{eot}
		if e.last != '\n' {
			e.tail = append(e.tail, eot)
		}
		if err != io.EOF {
			e.tail = nil // the client went away: leave the terminal's input open
		}
	}
	if len(e.tail) == 0 {
		return 0, io.EOF
	}
	n := copy(p, e.tail)
	e.tail = e.tail[n:]
	return n, nil
}

// gatedReader reads r only once ready is closed (the wrapper is running and has set up the
// terminal), so that no input reaches the terminal before its echo is off.
type gatedReader struct {
	r     io.Reader
	ready <-chan struct{}
	done  <-chan struct{}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	select {
	case <-g.ready:
		return g.r.Read(p)
	case <-g.done:
		return 0, io.EOF
	}
}
