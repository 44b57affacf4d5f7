package ssmsession

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// AgentVersion is the version the agent side reports in its handshake request.
const AgentVersion = "3.0.0.0"

// Timeouts of the agent side.
const (
	openTimeout      = 10 * time.Second // for the opening request
	handshakeTimeout = 30 * time.Second // for the handshake response
	drainTimeout     = 5 * time.Second  // Close waits this long for the last output's acknowledgement
)

// Agent is the agent's side of a data channel, for an ECS-compatible data plane that runs the
// session's command itself (the local data plane's ExecuteCommand). Read returns the client's
// input, Sizes its terminal sizes, Write sends output; Done is closed when the client asked to
// terminate the session or went away; Close ends the session.
type Agent struct {
	*endpoint
	sessionID string

	input      inputBuffer
	sizes      chan TermSize // the latest size not yet taken
	handshaken chan handshakeResponse
	terminated chan struct{}
	termOnce   sync.Once
}

// Accept runs the agent's side of opening a data channel on conn, a WebSocket the caller has
// upgraded: it reads the opening request, checks its token with check (an error refuses the
// session: channel_closed with the error, then conn is closed), and runs the handshake for an
// InteractiveCommands session. It fails when the client does not open or answer in time or
// refuses the session type.
func Accept(ctx context.Context, conn *websocket.Conn, sessionID string, check func(token string) error) (*Agent, error) {
	a := &Agent{
		endpoint:  newEndpoint(conn, logr.FromContextOrDiscard(ctx), TypeOutputStreamData),
		sessionID: sessionID, sizes: make(chan TermSize, 1),
		handshaken: make(chan handshakeResponse, 1), terminated: make(chan struct{}),
	}
	a.input.cond = sync.NewCond(&a.input.mu)
	conn.SetReadLimit(maxMessage)
	if err := a.readOpen(check); err != nil {
		a.refuse(err.Error())
		return nil, err
	}
	go a.keepAlive(pingInterval)
	go a.read()
	if err := a.handshake(ctx); err != nil {
		a.refuse(err.Error())
		return nil, err
	}
	return a, nil
}

func (a *Agent) readOpen(check func(string) error) error {
	_ = a.conn.SetReadDeadline(time.Now().Add(openTimeout))
	kind, data, err := a.conn.ReadMessage()
	if err != nil {
		return fmt.Errorf("reading the opening request of session %s: %w", a.sessionID, err)
	}
	_ = a.conn.SetReadDeadline(time.Time{})
	var req openDataChannel
	if kind != websocket.TextMessage || json.Unmarshal(data, &req) != nil {
		return fmt.Errorf("session %s: the first message is not an opening request", a.sessionID)
	}
	return check(req.TokenValue)
}

func (a *Agent) handshake(ctx context.Context) error {
	req, _ := json.Marshal(handshakeRequest{AgentVersion: AgentVersion, RequestedClientActions: []requestedAction{{
		ActionType: actionSessionType, ActionParameters: json.RawMessage(`{"SessionType":"InteractiveCommands","Properties":{}}`),
	}}})
	if err := a.send(PayloadHandshakeRequest, req); err != nil {
		return fmt.Errorf("session %s: sending the handshake request: %w", a.sessionID, err)
	}
	timer := time.NewTimer(handshakeTimeout)
	defer timer.Stop()
	select {
	case resp := <-a.handshaken:
		for _, p := range resp.ProcessedClientActions {
			if p.ActionStatus != actionSuccess {
				return fmt.Errorf("session %s: the client refused %s: %s", a.sessionID, p.ActionType, p.Error)
			}
		}
	case <-a.terminated:
		return fmt.Errorf("session %s: the client went away during the handshake", a.sessionID)
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("session %s: no handshake response within %v", a.sessionID, handshakeTimeout)
	}
	done, _ := json.Marshal(handshakeComplete{HandshakeTimeToComplete: time.Second})
	return a.send(PayloadHandshakeComplete, done)
}

// read handles the client's messages until the channel closes.
func (a *Agent) read() {
	defer a.terminate()
	for {
		kind, data, err := a.conn.ReadMessage()
		if err != nil {
			return
		}
		var m Message
		if kind != websocket.BinaryMessage || m.UnmarshalBinary(data) != nil {
			continue // as a lost message
		}
		switch m.Type {
		case TypeInputStreamData:
			deliver, ack := a.rcv.accept(&m)
			if ack {
				_ = a.acknowledge(&m)
			}
			for _, d := range deliver {
				a.process(d)
			}
		case TypeAcknowledge:
			var c acknowledgeContent
			if json.Unmarshal(m.Payload, &c) == nil {
				a.mu.Lock()
				a.snd.ack(c.SequenceNumber, time.Now())
				a.mu.Unlock()
			}
		}
	}
}

func (a *Agent) process(m *Message) {
	switch m.PayloadType {
	case PayloadHandshakeResponse:
		var r handshakeResponse
		_ = json.Unmarshal(m.Payload, &r)
		select {
		case a.handshaken <- r:
		default:
		}
	case PayloadOutput:
		a.input.write(m.Payload)
	case PayloadSize:
		var s termSize
		if json.Unmarshal(m.Payload, &s) == nil {
			a.putSize(TermSize{Cols: uint16(min(s.Cols, 0xffff)), Rows: uint16(min(s.Rows, 0xffff))})
		}
	case PayloadFlag:
		if len(m.Payload) == 4 && m.Payload[3] == byte(FlagTerminateSession) && m.Payload[0]|m.Payload[1]|m.Payload[2] == 0 {
			a.terminate()
		}
	}
}

// putSize keeps the latest size for Sizes' reader.
func (a *Agent) putSize(s TermSize) {
	for {
		select {
		case a.sizes <- s:
			return
		default:
			select {
			case <-a.sizes:
			default:
			}
		}
	}
}

func (a *Agent) terminate() {
	a.termOnce.Do(func() {
		close(a.terminated)
		a.input.close()
	})
}

// Read reads the client's input (the bytes typed, in order); io.EOF once the session is over.
func (a *Agent) Read(p []byte) (int, error) { return a.input.read(p) }

// Sizes delivers the client's terminal sizes (the latest, when several came in between).
func (a *Agent) Sizes() <-chan TermSize { return a.sizes }

// Done is closed when the client asked to terminate the session or the channel closed.
func (a *Agent) Done() <-chan struct{} { return a.terminated }

// Write sends p as output, in messages of at most 1024 bytes.
func (a *Agent) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += inputChunk {
		chunk := p[off:min(off+inputChunk, len(p))]
		if err := a.send(PayloadOutput, append([]byte(nil), chunk...)); err != nil {
			return off, fmt.Errorf("session %s: sending output: %w", a.sessionID, err)
		}
	}
	return len(p), nil
}

// Close ends the session: it waits (a few seconds at most) until the client acknowledged all
// output, sends channel_closed with reason ("" for a normal end) and closes the channel.
func (a *Agent) Close(reason string) error {
	deadline := time.Now().Add(drainTimeout)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		n := a.snd.pendingCount()
		a.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-a.terminated:
			deadline = time.Now()
		case <-time.After(10 * time.Millisecond):
		}
	}
	a.refuse(reason)
	return nil
}

// refuse sends channel_closed with reason and closes the channel.
func (a *Agent) refuse(reason string) {
	body, _ := json.Marshal(channelClosed{
		MessageID: uuid.NewString(), CreatedDate: time.Now().UTC().Format(time.RFC3339), SessionID: a.sessionID,
		MessageType: TypeChannelClosed, SchemaVersion: schemaVersion, Output: reason,
	})
	frame, err := (&Message{Type: TypeChannelClosed, SchemaVersion: schemaVersion, CreatedDate: nowMillis(), MessageID: uuid.New(), Payload: body}).MarshalBinary()
	if err == nil {
		_ = a.write(websocket.BinaryMessage, frame)
	}
	a.stop()
}

// inputBuffer holds the client's input until the command reads it (the reader never waits for
// the command, so acknowledgements keep flowing).
type inputBuffer struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	closed bool
}

func (b *inputBuffer) write(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.buf = append(b.buf, p...)
		b.cond.Broadcast()
	}
}

func (b *inputBuffer) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.cond.Broadcast()
}

func (b *inputBuffer) read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.buf) == 0 && !b.closed {
		b.cond.Wait()
	}
	if len(b.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

var _ io.ReadWriter = (*Agent)(nil)
