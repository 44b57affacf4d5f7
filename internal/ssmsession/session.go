package ssmsession

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// ClientVersion is the version the client reports in the opening request and the handshake.
// The agent compares it with plugin versions (numerically) only to choose port-forwarding
// multiplexing and stdout/stderr separation, neither of which this client asks for; it must
// parse as a version, so it is the plugin's own base version rather than a name.
const ClientVersion = "1.2.0.0"

// Channel is an ECS ExecuteCommand Session: where the data channel is and the token that opens it.
type Channel struct {
	SessionID  string
	StreamURL  string // wss://ssmmessages.REGION.amazonaws.com/v1/data-channel/SESSION?role=publish_subscribe...
	TokenValue string
}

// TermSize is a terminal size in character cells.
type TermSize struct {
	Cols, Rows uint16
}

// Streams are the session's terminal: Stdin's bytes are sent as typed (in chunks of at most
// 1024 bytes, once the handshake is complete; its end sends nothing, a terminal's end of input is
// the caller's to type), the agent's output is written to Stdout (standard error to Stderr, when
// the agent separates it), and every size from Resize is sent. Nil streams send nothing and
// discard output.
type Streams struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Resize <-chan TermSize
}

// Result is how a session ended.
type Result struct {
	// ExitCode is the command's exit code, when the agent reported it (ExitCodeKnown). The agent
	// reports it only for NonInteractiveCommands sessions that separate stderr; ECS Exec's
	// InteractiveCommands sessions never carry it.
	ExitCode      int
	ExitCodeKnown bool
	// Closed is the reason given with channel_closed; "" for a plain end of session.
	Closed string
}

// EncryptionRequiredError is a session that asks for KMS encryption (the ECS cluster's
// executeCommandConfiguration.kmsKeyId), which this client does not support.
type EncryptionRequiredError struct {
	KMSKeyID string
}

func (e *EncryptionRequiredError) Error() string {
	return fmt.Sprintf("the session asks for KMS encryption with key %q, which nodeless does not support", e.KMSKeyID)
}

// Options tune Run; zero values are the defaults.
type Options struct {
	// Dialer opens the WebSocket; nil: websocket.DefaultDialer (proxy from the environment,
	// 45 s handshake timeout).
	Dialer *websocket.Dialer
	// PingInterval between WebSocket pings that keep an idle session open; 0: 5 minutes, as the
	// plugin.
	PingInterval time.Duration
}

// Run opens the data channel of ch and runs the session with streams until the service closes
// the channel (the command ended or the session was terminated) or ctx ends (then it asks the
// agent to terminate the session, closes the channel and returns ctx's error). It fails when the
// WebSocket cannot be opened or drops, on an *EncryptionRequiredError, on a session type other
// than a terminal, when the agent leaves input unacknowledged for ResendLimit, and when writing
// output fails.
func Run(ctx context.Context, ch Channel, streams Streams, opts Options) (Result, error) {
	dialer := opts.Dialer
	if dialer == nil {
		dialer = websocket.DefaultDialer
	}
	conn, resp, err := dialer.DialContext(ctx, ch.StreamURL, nil)
	if err != nil {
		return Result{}, dialError(ch, resp, err)
	}
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	conn.SetReadLimit(maxMessage)
	s := newSession(ctx, conn, streams)
	defer s.stop()
	if err := s.open(ch.TokenValue); err != nil {
		return Result{}, err
	}
	interval := opts.PingInterval
	if interval <= 0 {
		interval = pingInterval
	}
	go s.watch(ctx)
	go s.keepAlive(interval)
	go s.pumpInput()
	go s.pumpResize()
	res, err := s.read()
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if f := s.failure(); f != nil {
		return res, f
	}
	return res, err
}

const (
	pingInterval = 5 * time.Minute
	resendTick   = 100 * time.Millisecond
	writeTimeout = 10 * time.Second
	inputChunk   = 1024
	maxMessage   = 4 << 20
)

func dialError(ch Channel, resp *http.Response, err error) error {
	if resp != nil {
		defer func() { _ = resp.Body.Close() }()
		return fmt.Errorf("opening the data channel of session %s: %s: %w", ch.SessionID, resp.Status, err)
	}
	return fmt.Errorf("opening the data channel of session %s: %w", ch.SessionID, err)
}

// session is one open data channel.
type session struct {
	*endpoint
	streams Streams

	ready     chan struct{} // closed when input may flow (handshake complete)
	readyOnce sync.Once
}

func newSession(ctx context.Context, conn *websocket.Conn, streams Streams) *session {
	if streams.Stdout == nil {
		streams.Stdout = io.Discard
	}
	if streams.Stderr == nil {
		streams.Stderr = io.Discard
	}
	return &session{
		endpoint: newEndpoint(conn, logr.FromContextOrDiscard(ctx), TypeInputStreamData),
		streams:  streams, ready: make(chan struct{}),
	}
}

// open sends the opening request with the token.
func (s *session) open(token string) error {
	req, err := json.Marshal(openDataChannel{
		MessageSchemaVersion: "1.0", RequestID: uuid.NewString(), TokenValue: token,
		ClientID: uuid.NewString(), ClientVersion: ClientVersion,
	})
	if err != nil {
		return err
	}
	if err := s.write(websocket.TextMessage, req); err != nil {
		return fmt.Errorf("opening the data channel: %w", err)
	}
	return nil
}

// watch ends the session when ctx ends: it asks the agent to terminate it (best effort) and
// closes the channel.
func (s *session) watch(ctx context.Context) {
	select {
	case <-s.done:
	case <-ctx.Done():
		flag := binary.BigEndian.AppendUint32(nil, FlagTerminateSession)
		_ = s.send(PayloadFlag, flag)
		s.stop()
	}
}

// pumpInput sends Stdin once the handshake is complete.
func (s *session) pumpInput() {
	if s.streams.Stdin == nil || !s.waitReady() {
		return
	}
	buf := make([]byte, inputChunk)
	for {
		n, err := s.streams.Stdin.Read(buf)
		if n > 0 {
			if serr := s.send(PayloadOutput, append([]byte(nil), buf[:n]...)); serr != nil {
				s.setFailure(fmt.Errorf("sending input: %w", serr))
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// pumpResize sends every terminal size once the handshake is complete.
func (s *session) pumpResize() {
	if s.streams.Resize == nil || !s.waitReady() {
		return
	}
	for {
		select {
		case <-s.done:
			return
		case size, ok := <-s.streams.Resize:
			if !ok {
				return
			}
			payload, _ := json.Marshal(termSize{Cols: uint32(size.Cols), Rows: uint32(size.Rows)})
			if err := s.send(PayloadSize, payload); err != nil {
				s.setFailure(fmt.Errorf("sending the terminal size: %w", err))
				return
			}
		}
	}
}

func (s *session) waitReady() bool {
	select {
	case <-s.ready:
		return true
	case <-s.done:
		return false
	}
}

func (s *session) markReady() { s.readyOnce.Do(func() { close(s.ready) }) }

// read handles the agent's messages until channel_closed or an error.
func (s *session) read() (Result, error) {
	var res Result
	for {
		kind, data, err := s.conn.ReadMessage()
		if err != nil {
			return res, fmt.Errorf("the data channel closed before the session ended: %w", err)
		}
		if kind != websocket.BinaryMessage {
			s.log.V(1).Info("ignoring a text message on the data channel", "message", string(data))
			continue
		}
		var m Message
		if err := m.UnmarshalBinary(data); err != nil {
			// As a lost message: unacknowledged, the agent sends it again.
			s.log.V(1).Info("dropping an agent message", "error", err.Error())
			continue
		}
		closed, err := s.handle(&m, &res)
		if err != nil || closed {
			return res, err
		}
	}
}

// handle handles one agent message; closed at channel_closed.
func (s *session) handle(m *Message, res *Result) (closed bool, err error) {
	switch m.Type {
	case TypeOutputStreamData:
		deliver, ack := s.rcv.accept(m)
		if ack {
			// A failed write means the channel is gone; what was received before is still
			// read (the service's channel_closed may be among it), the next read fails.
			if err := s.acknowledge(m); err != nil {
				s.log.V(1).Info("acknowledging output failed", "error", err.Error())
			}
		}
		for _, d := range deliver {
			if err := s.process(d, res); err != nil {
				return false, err
			}
		}
	case TypeAcknowledge:
		var a acknowledgeContent
		if err := json.Unmarshal(m.Payload, &a); err != nil {
			s.log.V(1).Info("ignoring an acknowledge without its content", "error", err.Error())
			return false, nil
		}
		s.mu.Lock()
		s.snd.ack(a.SequenceNumber, time.Now())
		s.mu.Unlock()
	case TypeChannelClosed:
		var c channelClosed
		if err := json.Unmarshal(m.Payload, &c); err == nil {
			res.Closed = c.Output
		}
		return true, nil
	default: // start_publication, pause_publication (the plugin ignores them too)
		s.log.V(1).Info("ignoring an agent message", "type", m.Type)
	}
	return false, nil
}

// process acts on one stream data message, in sequence order.
func (s *session) process(m *Message, res *Result) error {
	switch m.PayloadType {
	case PayloadHandshakeRequest:
		return s.handshake(m.Payload)
	case PayloadHandshakeComplete:
		var c handshakeComplete
		_ = json.Unmarshal(m.Payload, &c)
		s.log.V(1).Info("session handshake complete", "customerMessage", c.CustomerMessage)
		s.markReady()
	case PayloadOutput:
		s.markReady() // an agent too old for the handshake starts with output
		return writeOutput(s.streams.Stdout, m.Payload)
	case PayloadStdErr, PayloadError:
		return writeOutput(s.streams.Stderr, m.Payload)
	case PayloadExitCode:
		code, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(string(m.Payload), "EXIT_CODE:")))
		if err != nil {
			s.log.V(1).Info("ignoring an exit code the agent sent", "payload", string(m.Payload))
			return nil
		}
		res.ExitCode, res.ExitCodeKnown = code, true
	case PayloadEncChallengeRequest:
		return &EncryptionRequiredError{}
	default:
		s.log.V(1).Info("ignoring agent stream data", "payloadType", m.PayloadType)
	}
	return nil
}

func writeOutput(w io.Writer, p []byte) error {
	if _, err := w.Write(p); err != nil {
		return fmt.Errorf("writing the session's output: %w", err)
	}
	return nil
}

// handshake answers the agent's handshake request: a terminal session type is accepted, KMS
// encryption and every other action refused (the agent then ends the session); a refusal is
// also Run's error.
func (s *session) handshake(payload []byte) error {
	var req handshakeRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return fmt.Errorf("reading the agent's handshake request: %w", err)
	}
	resp := handshakeResponse{ClientVersion: ClientVersion, ProcessedClientActions: []processedAction{}}
	var refusal error
	for _, a := range req.RequestedClientActions {
		p, err := processAction(a)
		resp.ProcessedClientActions = append(resp.ProcessedClientActions, p)
		if err != nil {
			resp.Errors = append(resp.Errors, err.Error())
			refusal = firstErr(refusal, err)
		}
	}
	body, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	if err := s.send(PayloadHandshakeResponse, body); err != nil {
		return fmt.Errorf("answering the agent's handshake: %w", err)
	}
	return refusal
}

// firstErr keeps the first error.
func firstErr(first, next error) error {
	if first != nil {
		return first
	}
	return next
}

func processAction(a requestedAction) (processedAction, error) {
	p := processedAction{ActionType: a.ActionType}
	switch a.ActionType {
	case actionSessionType:
		var st sessionTypeRequest
		if err := json.Unmarshal(a.ActionParameters, &st); err != nil || !terminalSessionTypes[st.SessionType] {
			p.ActionStatus = actionFailed
			p.Error = fmt.Sprintf("session type %q is not a terminal session, the only kind nodeless opens", st.SessionType)
			return p, errors.New(p.Error)
		}
		p.ActionStatus = actionSuccess
		return p, nil
	case actionKMSEncryption:
		var k kmsEncryptionRequest
		_ = json.Unmarshal(a.ActionParameters, &k)
		err := &EncryptionRequiredError{KMSKeyID: k.KMSKeyID}
		p.ActionStatus, p.Error = actionFailed, err.Error()
		return p, err
	}
	p.ActionStatus = actionUnsupported
	p.Error = fmt.Sprintf("unsupported action %s", a.ActionType)
	return p, nil
}
