package ssmsession_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/nodeless-dev/nodeless/internal/ssmsession"
)

// fakeAgent is the agent's side of the data channel for these tests only: each test scripts it.
type fakeAgent struct {
	t    *testing.T
	conn *websocket.Conn
	seq  int64
	acks []int64 // sequence numbers of our messages the client acknowledged
	open map[string]any
}

// serve starts a WebSocket server on 127.0.0.1 whose connection the script plays; it returns
// the Channel to give Run and a channel closed when the script has returned (read what it
// recorded after that).
func serve(t *testing.T, script func(a *fakeAgent)) (ssmsession.Channel, <-chan struct{}) {
	t.Helper()
	var wg sync.WaitGroup
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer close(done)
		defer func() { _ = conn.Close() }()
		a := &fakeAgent{t: t, conn: conn}
		kind, data, err := conn.ReadMessage()
		if err != nil || kind != websocket.TextMessage {
			t.Errorf("opening request: kind %d, %v", kind, err)
			return
		}
		if err := json.Unmarshal(data, &a.open); err != nil {
			t.Errorf("opening request %s: %v", data, err)
			return
		}
		if a.open["TokenValue"] != "token-1" || a.open["MessageSchemaVersion"] != "1.0" {
			t.Errorf("opening request %s: want TokenValue token-1, MessageSchemaVersion 1.0", data)
			return
		}
		script(a)
	}))
	t.Cleanup(func() { srv.Close(); wg.Wait() })
	return ssmsession.Channel{SessionID: "s-1", StreamURL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/data-channel/s-1", TokenValue: "token-1"}, done
}

// drain reads until the client closes, recording acknowledges.
func (a *fakeAgent) drain() {
	_ = a.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if m := a.next(); m == nil {
			return
		}
	}
}

func (a *fakeAgent) write(m *ssmsession.Message) {
	b, err := m.MarshalBinary()
	if err != nil {
		a.t.Fatal(err)
	}
	if err := a.conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		a.t.Errorf("agent write: %v", err)
	}
}

// output sends stream data with the next sequence number.
func (a *fakeAgent) output(pt ssmsession.PayloadType, payload []byte) {
	a.outputSeq(a.seq, pt, payload)
	a.seq++
}

func (a *fakeAgent) outputSeq(seq int64, pt ssmsession.PayloadType, payload []byte) {
	a.write(&ssmsession.Message{Type: ssmsession.TypeOutputStreamData, SchemaVersion: 1, CreatedDate: uint64(time.Now().UnixMilli()),
		SequenceNumber: seq, MessageID: uuid.New(), PayloadType: pt, Payload: payload})
}

func (a *fakeAgent) jsonOutput(pt ssmsession.PayloadType, v any) {
	b, _ := json.Marshal(v)
	a.output(pt, b)
}

// next reads the client's next input_stream_data, recording the acknowledges before it; nil when
// the connection ends.
func (a *fakeAgent) next() *ssmsession.Message {
	for {
		kind, data, err := a.conn.ReadMessage()
		if err != nil {
			return nil
		}
		if kind != websocket.BinaryMessage {
			a.t.Errorf("client sent a message of kind %d after the opening request", kind)
			continue
		}
		var m ssmsession.Message
		if err := m.UnmarshalBinary(data); err != nil {
			a.t.Errorf("client message: %v", err)
			continue
		}
		switch m.Type {
		case ssmsession.TypeAcknowledge:
			var ack struct {
				Seq  int64  `json:"AcknowledgedMessageSequenceNumber"`
				Type string `json:"AcknowledgedMessageType"`
			}
			_ = json.Unmarshal(m.Payload, &ack)
			if m.Flags != 3 || ack.Type != ssmsession.TypeOutputStreamData {
				a.t.Errorf("acknowledge flags %d type %q", m.Flags, ack.Type)
			}
			a.acks = append(a.acks, ack.Seq)
		case ssmsession.TypeInputStreamData:
			return &m
		default:
			a.t.Errorf("client sent a %s message", m.Type)
		}
	}
}

// ack acknowledges the client's message m.
func (a *fakeAgent) ack(m *ssmsession.Message) {
	b, _ := json.Marshal(map[string]any{"AcknowledgedMessageType": m.Type, "AcknowledgedMessageId": m.MessageID.String(),
		"AcknowledgedMessageSequenceNumber": m.SequenceNumber, "IsSequentialMessage": true})
	a.write(&ssmsession.Message{Type: ssmsession.TypeAcknowledge, SchemaVersion: 1, CreatedDate: 1, Flags: 3, MessageID: uuid.New(), Payload: b})
}

// handshake plays the agent's handshake with the given actions; it returns the client's answer.
func (a *fakeAgent) handshake(actions ...map[string]any) map[string]any {
	a.jsonOutput(ssmsession.PayloadHandshakeRequest, map[string]any{"AgentVersion": "3.3.0.0", "RequestedClientActions": actions})
	m := a.next()
	if m == nil {
		a.t.Error("no handshake response")
		return nil
	}
	if m.PayloadType != ssmsession.PayloadHandshakeResponse || m.SequenceNumber != 0 {
		a.t.Errorf("client's first input: payload type %d seq %d, want a handshake response, 0", m.PayloadType, m.SequenceNumber)
	}
	a.ack(m)
	var resp map[string]any
	_ = json.Unmarshal(m.Payload, &resp)
	return resp
}

func (a *fakeAgent) closeChannel(output string) {
	b, _ := json.Marshal(map[string]any{"MessageType": "channel_closed", "SessionId": "s-1", "Output": output})
	a.write(&ssmsession.Message{Type: ssmsession.TypeChannelClosed, SchemaVersion: 1, CreatedDate: 1, MessageID: uuid.New(), Payload: b})
}

var interactive = map[string]any{"ActionType": "SessionType", "ActionParameters": map[string]any{"SessionType": "InteractiveCommands", "Properties": map[string]any{}}}

// TestRunTerminal: the handshake, a terminal size, input, output in order, an exit code the
// agent reports, the end of the session; every output message acknowledged.
func TestRunTerminal(t *testing.T) {
	var gotResp map[string]any
	var inputs []string
	var size map[string]any
	var acks []int64
	ch, done := serve(t, func(a *fakeAgent) {
		gotResp = a.handshake(interactive)
		a.jsonOutput(ssmsession.PayloadHandshakeComplete, map[string]any{"HandshakeTimeToComplete": 1000, "CustomerMessage": ""})
		for range 2 {
			m := a.next()
			a.ack(m)
			switch m.PayloadType {
			case ssmsession.PayloadSize:
				_ = json.Unmarshal(m.Payload, &size)
			case ssmsession.PayloadOutput:
				inputs = append(inputs, string(m.Payload))
				a.output(ssmsession.PayloadOutput, m.Payload) // the terminal's echo
			}
		}
		a.output(ssmsession.PayloadStdErr, []byte("warning\n"))
		a.output(ssmsession.PayloadExitCode, []byte("EXIT_CODE: 3"))
		a.closeChannel("")
		a.drain()
		acks = a.acks
	})
	resize := make(chan ssmsession.TermSize, 1)
	resize <- ssmsession.TermSize{Cols: 120, Rows: 40}
	var stdout, stderr bytes.Buffer
	res, err := ssmsession.Run(context.Background(), ch, ssmsession.Streams{
		Stdin: strings.NewReader("ls -l\r"), Stdout: &stdout, Stderr: &stderr, Resize: resize,
	}, ssmsession.Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	<-done
	if diff := cmp.Diff(ssmsession.Result{ExitCode: 3, ExitCodeKnown: true}, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if stdout.String() != "ls -l\r" || stderr.String() != "warning\n" {
		t.Errorf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
	if diff := cmp.Diff([]string{"ls -l\r"}, inputs); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"cols": 120.0, "rows": 40.0}, size); diff != "" {
		t.Errorf("size (-want +got):\n%s", diff)
	}
	wantResp := map[string]any{"ClientVersion": ssmsession.ClientVersion, "Errors": nil, "ProcessedClientActions": []any{
		map[string]any{"ActionType": "SessionType", "ActionStatus": 1.0, "ActionResult": nil, "Error": ""}}}
	if diff := cmp.Diff(wantResp, gotResp); diff != "" {
		t.Errorf("handshake response (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{0, 1, 2, 3, 4}, acks); diff != "" {
		t.Errorf("acknowledged (-want +got):\n%s", diff)
	}
}

// TestRunRetransmitsAndReorders: input the agent does not acknowledge is sent again (same
// message, same number); output that arrives out of order or twice is written once, in order.
func TestRunRetransmitsAndReorders(t *testing.T) {
	var first, again *ssmsession.Message
	ch, done := serve(t, func(a *fakeAgent) {
		a.handshake(interactive)
		a.jsonOutput(ssmsession.PayloadHandshakeComplete, map[string]any{})
		first = a.next() // not acknowledged
		again = a.next()
		a.ack(again)
		a.outputSeq(3, ssmsession.PayloadOutput, []byte("c"))
		a.outputSeq(2, ssmsession.PayloadOutput, []byte("b"))
		a.outputSeq(2, ssmsession.PayloadOutput, []byte("b"))
		a.outputSeq(4, ssmsession.PayloadOutput, []byte("d"))
		a.closeChannel("")
		a.drain()
	})
	var stdout bytes.Buffer
	if _, err := ssmsession.Run(context.Background(), ch, ssmsession.Streams{Stdin: strings.NewReader("x"), Stdout: &stdout}, ssmsession.Options{}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	<-done
	if first == nil || again == nil || first.SequenceNumber != 1 || again.SequenceNumber != 1 || first.MessageID != again.MessageID || string(again.Payload) != "x" {
		t.Errorf("first %+v, then %+v: want input 1 sent again unchanged", first, again)
	}
	if stdout.String() != "bcd" {
		t.Errorf("stdout %q, want %q", stdout.String(), "bcd")
	}
}

// TestRunRefusesKMS: a session that asks for KMS encryption is refused in the handshake and is
// Run's *EncryptionRequiredError.
func TestRunRefusesKMS(t *testing.T) {
	var resp map[string]any
	ch, done := serve(t, func(a *fakeAgent) {
		resp = a.handshake(interactive, map[string]any{"ActionType": "KMSEncryption", "ActionParameters": map[string]any{"KMSKeyId": "arn:aws:kms:eu-west-1:1:key/k"}})
		a.drain()
	})
	_, err := ssmsession.Run(context.Background(), ch, ssmsession.Streams{}, ssmsession.Options{})
	var kms *ssmsession.EncryptionRequiredError
	if !errors.As(err, &kms) || kms.KMSKeyID != "arn:aws:kms:eu-west-1:1:key/k" {
		t.Fatalf("Run: %v, want an EncryptionRequiredError naming the key", err)
	}
	<-done
	actions, _ := resp["ProcessedClientActions"].([]any)
	if len(actions) != 2 || actions[1].(map[string]any)["ActionStatus"] != 2.0 {
		t.Errorf("handshake response %v: want KMSEncryption failed (2)", resp)
	}
}

// TestRunCancel: when ctx ends the client asks the agent to terminate the session.
func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var flag *ssmsession.Message
	ch, done := serve(t, func(a *fakeAgent) {
		a.handshake(interactive)
		a.jsonOutput(ssmsession.PayloadHandshakeComplete, map[string]any{})
		a.output(ssmsession.PayloadOutput, []byte("$ "))
		flag = a.next()
	})
	out := &notifyWriter{wrote: make(chan struct{}, 1)}
	go func() { <-out.wrote; cancel() }()
	_, err := ssmsession.Run(ctx, ch, ssmsession.Streams{Stdout: out}, ssmsession.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v, want context.Canceled", err)
	}
	<-done
	if flag == nil || flag.PayloadType != ssmsession.PayloadFlag || binary.BigEndian.Uint32(flag.Payload) != ssmsession.FlagTerminateSession {
		t.Errorf("after cancel the agent got %+v, want the TerminateSession flag", flag)
	}
}

// TestRunDropped: a data channel that closes before channel_closed is an error.
func TestRunDropped(t *testing.T) {
	ch, _ := serve(t, func(a *fakeAgent) {
		a.handshake(interactive)
	})
	_, err := ssmsession.Run(context.Background(), ch, ssmsession.Streams{}, ssmsession.Options{})
	if err == nil || !strings.Contains(err.Error(), "closed before the session ended") {
		t.Errorf("Run: %v, want an error saying the channel closed early", err)
	}
}

// TestRunDialError: a stream URL that does not answer names the session.
func TestRunDialError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := ssmsession.Run(context.Background(), ssmsession.Channel{SessionID: "s-9", StreamURL: "ws" + strings.TrimPrefix(srv.URL, "http")},
		ssmsession.Streams{}, ssmsession.Options{})
	if err == nil || !strings.Contains(err.Error(), "session s-9: 404") {
		t.Errorf("Run: %v, want an error naming the session and the status", err)
	}
}

type notifyWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return w.buf.Write(p)
}
