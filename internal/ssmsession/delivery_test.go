package ssmsession

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReceiverOrders(t *testing.T) {
	r := newReceiver()
	steps := []struct {
		seq         int64
		wantDeliver []int64
		wantAck     bool
	}{
		{0, []int64{0}, true},
		{2, nil, true}, // early: kept, acknowledged
		{3, nil, true}, // early
		{0, nil, true}, // a retransmission whose acknowledgement was lost: acknowledged again
		{1, []int64{1, 2, 3}, true},
		{2, nil, true}, // duplicate of a delivered one
		{4, []int64{4}, true},
	}
	for i, s := range steps {
		deliver, ack := r.accept(&Message{SequenceNumber: s.seq})
		var got []int64
		for _, d := range deliver {
			got = append(got, d.SequenceNumber)
		}
		if diff := cmp.Diff(s.wantDeliver, got); diff != "" || ack != s.wantAck {
			t.Errorf("step %d (seq %d): deliver (-want +got):\n%s ack %v, want %v", i, s.seq, diff, ack, s.wantAck)
		}
	}
}

func TestReceiverFull(t *testing.T) {
	r := newReceiver()
	for seq := int64(1); seq <= bufferCapacity; seq++ {
		if _, ack := r.accept(&Message{SequenceNumber: seq}); !ack {
			t.Fatalf("seq %d not acknowledged with room left", seq)
		}
	}
	if _, ack := r.accept(&Message{SequenceNumber: bufferCapacity + 1}); ack {
		t.Error("an early message beyond the buffer's capacity was acknowledged (it would be lost)")
	}
	if d, _ := r.accept(&Message{SequenceNumber: 0}); len(d) != bufferCapacity+1 {
		t.Errorf("delivered %d, want %d", len(d), bufferCapacity+1)
	}
}

func TestSenderRetransmits(t *testing.T) {
	s := newSender()
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		m := &Message{Type: TypeInputStreamData, Payload: []byte{byte('a' + i)}}
		if _, err := s.add(m, t0); err != nil {
			t.Fatal(err)
		}
		if m.SequenceNumber != int64(i) {
			t.Errorf("message %d numbered %d", i, m.SequenceNumber)
		}
	}
	if got, _ := s.due(t0.Add(initialRTO - time.Millisecond)); len(got) != 0 {
		t.Errorf("%d resent before the timeout", len(got))
	}
	s.ack(1, t0.Add(50*time.Millisecond))
	got, err := s.due(t0.Add(initialRTO))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{0, 2}, seqs(t, got)); diff != "" {
		t.Errorf("resent (-want +got):\n%s", diff)
	}
	// Resent now: not again until a timeout has passed since.
	if got, _ := s.due(t0.Add(initialRTO + 10*time.Millisecond)); len(got) != 0 {
		t.Errorf("%d resent again at once", len(got))
	}
	s.ack(0, t0.Add(time.Second))
	s.ack(0, t0.Add(time.Second)) // twice: no effect
	s.ack(9, t0.Add(time.Second)) // never sent: no effect
	if s.pendingCount() != 1 {
		t.Errorf("%d pending, want 1", s.pendingCount())
	}
	if _, err := s.due(t0.Add(ResendLimit)); err == nil || !strings.Contains(err.Error(), "input message 2 unacknowledged") {
		t.Errorf("after ResendLimit: %v, want an error naming message 2", err)
	}
}

// TestSenderTimeout: the timeout follows the measured round trips (only of messages sent once),
// between the clock granularity above the round trip and maxRTO.
func TestSenderTimeout(t *testing.T) {
	s := newSender()
	t0 := time.Unix(1000, 0)
	for range 50 {
		m := &Message{Type: TypeInputStreamData}
		_, _ = s.add(m, t0)
		s.ack(m.SequenceNumber, t0.Add(20*time.Millisecond))
	}
	if s.rto < 20*time.Millisecond || s.rto > 40*time.Millisecond {
		t.Errorf("timeout %v after steady 20ms round trips, want about 30ms", s.rto)
	}
	for range 50 {
		m := &Message{Type: TypeInputStreamData}
		_, _ = s.add(m, t0)
		s.ack(m.SequenceNumber, t0.Add(5*time.Second))
	}
	if s.rto != maxRTO {
		t.Errorf("timeout %v after 5s round trips, want the maximum %v", s.rto, maxRTO)
	}
	// A retransmitted message's round trip is ambiguous (Karn): not sampled.
	before := s.rto
	m := &Message{Type: TypeInputStreamData}
	_, _ = s.add(m, t0)
	_, _ = s.due(t0.Add(2 * time.Second))
	s.ack(m.SequenceNumber, t0.Add(2*time.Second+time.Millisecond))
	if s.rto != before {
		t.Errorf("timeout changed from %v to %v by a retransmitted message", before, s.rto)
	}
}

func seqs(t *testing.T, frames [][]byte) []int64 {
	t.Helper()
	var out []int64
	for _, f := range frames {
		var m Message
		if err := m.UnmarshalBinary(f); err != nil {
			t.Fatal(err)
		}
		out = append(out, m.SequenceNumber)
	}
	return out
}
