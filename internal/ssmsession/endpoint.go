package ssmsession

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// endpoint is what both ends of a data channel do alike: send numbered stream data (of type
// streamType) and keep it until acknowledged, resend it in time, acknowledge what they receive.
type endpoint struct {
	conn       *websocket.Conn
	log        logr.Logger
	streamType string // of the stream data this end sends

	wmu sync.Mutex // one writer at a time on conn

	mu   sync.Mutex // the sender and the order of stream data
	snd  *sender
	fail error // the first failure of a goroutine other than the reader

	rcv *receiver // the reader's only

	done     chan struct{} // closed by stop
	stopOnce sync.Once
}

func newEndpoint(conn *websocket.Conn, log logr.Logger, streamType string) *endpoint {
	return &endpoint{conn: conn, log: log, streamType: streamType, snd: newSender(), rcv: newReceiver(), done: make(chan struct{})}
}

func (e *endpoint) stop() {
	e.stopOnce.Do(func() {
		close(e.done)
		_ = e.conn.Close()
	})
}

// setFailure records the first failure of a background goroutine and closes the channel, which
// ends the reader.
func (e *endpoint) setFailure(err error) {
	e.mu.Lock()
	if e.fail == nil {
		e.fail = err
	}
	e.mu.Unlock()
	_ = e.conn.Close()
}

func (e *endpoint) failure() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fail
}

func (e *endpoint) write(kind int, data []byte) error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	_ = e.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return e.conn.WriteMessage(kind, data)
}

// keepAlive resends what the agent has not acknowledged in time and pings the WebSocket.
func (e *endpoint) keepAlive(interval time.Duration) {
	tick := time.NewTicker(resendTick)
	defer tick.Stop()
	lastPing := time.Now()
	for {
		select {
		case <-e.done:
			return
		case now := <-tick.C:
			if err := e.resend(now); err != nil {
				e.setFailure(err)
				return
			}
			if now.Sub(lastPing) >= interval {
				lastPing = now
				if err := e.write(websocket.PingMessage, []byte("keepalive")); err != nil {
					e.setFailure(fmt.Errorf("pinging the data channel: %w", err))
					return
				}
			}
		}
	}
}

func (e *endpoint) resend(now time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	frames, err := e.snd.due(now)
	if err != nil {
		return err
	}
	for _, f := range frames {
		if err := e.write(websocket.BinaryMessage, f); err != nil {
			return fmt.Errorf("resending %s: %w", e.streamType, err)
		}
	}
	return nil
}

// send sends one stream data message (streamType) with the next sequence number and keeps it until
// the other end acknowledges it.
func (e *endpoint) send(pt PayloadType, payload []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	frame, err := e.snd.add(&Message{
		Type: e.streamType, SchemaVersion: schemaVersion, CreatedDate: nowMillis(),
		MessageID: uuid.New(), PayloadType: pt, Payload: payload,
	}, time.Now())
	if err != nil {
		return err
	}
	return e.write(websocket.BinaryMessage, frame)
}

func (e *endpoint) acknowledge(m *Message) error {
	payload, err := json.Marshal(acknowledgeContent{
		MessageType: m.Type, MessageID: m.MessageID.String(), SequenceNumber: m.SequenceNumber, IsSequentialMessage: true,
	})
	if err != nil {
		return err
	}
	frame, err := (&Message{
		Type: TypeAcknowledge, SchemaVersion: schemaVersion, CreatedDate: nowMillis(), Flags: flagAcknowledge,
		MessageID: uuid.New(), PayloadType: payloadAcknowledge, Payload: payload,
	}).MarshalBinary()
	if err != nil {
		return err
	}
	if err := e.write(websocket.BinaryMessage, frame); err != nil {
		return fmt.Errorf("acknowledging %s %d: %w", m.Type, m.SequenceNumber, err)
	}
	return nil
}

func nowMillis() uint64 { return uint64(time.Now().UnixMilli()) }
