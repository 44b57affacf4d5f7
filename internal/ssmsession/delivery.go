package ssmsession

import (
	"fmt"
	"time"
)

// Retransmission, as the session-manager-plugin does it (its config package): a message is
// resent when unacknowledged for the retransmission timeout, which follows the measured round
// trip (RFC 6298's smoothing: RTT' = 7/8 RTT + 1/8 sample, RTTVAR' = 3/4 RTTVAR + 1/4 |RTT -
// sample|, timeout = RTT + max(10 ms, 4 RTTVAR), at most 1 s); the session fails when a message
// stays unacknowledged for ResendLimit.
const (
	initialRTT       = 100 * time.Millisecond
	initialRTO       = 200 * time.Millisecond
	clockGranularity = 10 * time.Millisecond
	maxRTO           = time.Second
	// ResendLimit is how long a message may stay unacknowledged before the session fails.
	ResendLimit = 5 * time.Minute
	// bufferCapacity bounds the messages kept for retransmission and for reordering.
	bufferCapacity = 10000
)

// sender numbers the client's stream data and keeps each message until it is acknowledged.
// Not safe for concurrent use; the session serialises calls.
type sender struct {
	next    int64
	unacked []*pending // in sequence order
	rtt     time.Duration
	rttvar  time.Duration
	rto     time.Duration
}

// pending is one sent, not yet acknowledged message.
type pending struct {
	seq   int64
	frame []byte
	first time.Time // first sent
	last  time.Time // last (re)sent
}

func newSender() *sender { return &sender{rtt: initialRTT, rto: initialRTO} }

// add numbers m, encodes it and keeps it for retransmission; the frame is to be sent now. A full
// buffer (bufferCapacity unacknowledged messages) is an error: the agent no longer acknowledges.
func (s *sender) add(m *Message, now time.Time) ([]byte, error) {
	if len(s.unacked) >= bufferCapacity {
		return nil, fmt.Errorf("%d input messages are unacknowledged by the agent", len(s.unacked))
	}
	m.SequenceNumber = s.next
	frame, err := m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	s.next++
	s.unacked = append(s.unacked, &pending{seq: m.SequenceNumber, frame: frame, first: now, last: now})
	return frame, nil
}

// ack removes the message seq; the round trip of a message sent once updates the timeout. An
// acknowledgement of a message not kept (already acknowledged, never sent) changes nothing.
func (s *sender) ack(seq int64, now time.Time) {
	for i, p := range s.unacked {
		if p.seq != seq {
			continue
		}
		if p.first.Equal(p.last) {
			s.sample(now.Sub(p.last))
		}
		s.unacked = append(s.unacked[:i], s.unacked[i+1:]...)
		return
	}
}

func (s *sender) sample(rtt time.Duration) {
	diff := s.rtt - rtt
	if diff < 0 {
		diff = -diff
	}
	s.rttvar = (3*s.rttvar + diff) / 4
	s.rtt = (7*s.rtt + rtt) / 8
	s.rto = min(s.rtt+max(clockGranularity, 4*s.rttvar), maxRTO)
}

// due returns the frames to resend now (unacknowledged for the timeout since last sent) and
// marks them sent; an error when one has been unacknowledged for ResendLimit.
func (s *sender) due(now time.Time) ([][]byte, error) {
	var out [][]byte
	for _, p := range s.unacked {
		if now.Sub(p.first) >= ResendLimit {
			return nil, fmt.Errorf("input message %d unacknowledged by the agent for %v", p.seq, ResendLimit)
		}
		if now.Sub(p.last) >= s.rto {
			p.last = now
			out = append(out, p.frame)
		}
	}
	return out, nil
}

// pendingCount is the number of unacknowledged messages.
func (s *sender) pendingCount() int { return len(s.unacked) }

// receiver puts the agent's stream data in order. Not safe for concurrent use.
type receiver struct {
	expected int64
	early    map[int64]*Message
}

func newReceiver() *receiver { return &receiver{early: map[int64]*Message{}} }

// accept takes one stream data message and returns the messages now deliverable, in order, and
// whether to acknowledge m. The next expected message is delivered with the early ones that
// follow it; a later one is kept (and acknowledged) while there is room, else dropped
// unacknowledged so that the agent sends it again; an earlier one (a retransmission of a message
// whose acknowledgement was lost) is acknowledged again and not delivered twice.
func (r *receiver) accept(m *Message) (deliver []*Message, ack bool) {
	switch {
	case m.SequenceNumber < r.expected:
		return nil, true
	case m.SequenceNumber > r.expected:
		if _, ok := r.early[m.SequenceNumber]; !ok && len(r.early) >= bufferCapacity {
			return nil, false
		}
		r.early[m.SequenceNumber] = m
		return nil, true
	}
	deliver = append(deliver, m)
	r.expected++
	for {
		next, ok := r.early[r.expected]
		if !ok {
			return deliver, true
		}
		delete(r.early, r.expected)
		deliver = append(deliver, next)
		r.expected++
	}
}
