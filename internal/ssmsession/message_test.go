package ssmsession

import (
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

// TestMarshalLayout checks the encoding byte by byte against the layout the plugin and the agent
// read (src/message/clientmessage.go of the session-manager-plugin), written out here
// independently of MarshalBinary.
func TestMarshalLayout(t *testing.T) {
	id := uuid.MustParse("00112233-4455-6677-8899-aabbccddeeff")
	m := &Message{
		Type: TypeInputStreamData, SchemaVersion: 1, CreatedDate: 1700000000123, SequenceNumber: 7,
		Flags: 3, MessageID: id, PayloadType: PayloadSize, Payload: []byte(`{"cols":80,"rows":24}`),
	}
	got, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 120+len(m.Payload))
	binary.BigEndian.PutUint32(want[0:], 116)
	copy(want[4:36], "input_stream_data               ")
	binary.BigEndian.PutUint32(want[36:], 1)
	binary.BigEndian.PutUint64(want[40:], 1700000000123)
	binary.BigEndian.PutUint64(want[48:], 7)
	binary.BigEndian.PutUint64(want[56:], 3)
	copy(want[64:], []byte{0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77})
	digest := sha256.Sum256(m.Payload)
	copy(want[80:112], digest[:])
	binary.BigEndian.PutUint32(want[112:], 3)
	binary.BigEndian.PutUint32(want[116:], uint32(len(m.Payload)))
	copy(want[120:], m.Payload)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("encoding (-want +got):\n%s", diff)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []Message{
		{Type: TypeOutputStreamData, SchemaVersion: 1, CreatedDate: 1, SequenceNumber: 0, MessageID: uuid.New(), PayloadType: PayloadOutput, Payload: []byte("hello\r\n")},
		{Type: TypeAcknowledge, SchemaVersion: 1, CreatedDate: 2, Flags: 3, MessageID: uuid.New(), Payload: []byte(`{"AcknowledgedMessageSequenceNumber":4}`)},
		{Type: TypeChannelClosed, SchemaVersion: 1, CreatedDate: 3, MessageID: uuid.New(), Payload: []byte{}},
		{Type: TypeInputStreamData, SchemaVersion: 1, CreatedDate: 4, SequenceNumber: 1 << 40, MessageID: uuid.New(), PayloadType: PayloadFlag, Payload: []byte{0, 0, 0, 2}},
		{Type: strings.Repeat("x", 32), MessageID: uuid.New(), Payload: []byte{}},
	}
	for _, want := range tests {
		b, err := want.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Message
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("%s: %v", want.Type, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s round trip (-want +got):\n%s", want.Type, diff)
		}
	}
}

func TestUnmarshalRefuses(t *testing.T) {
	good, err := (&Message{Type: TypeOutputStreamData, CreatedDate: 1, MessageID: uuid.New(), PayloadType: PayloadOutput, Payload: []byte("abc")}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"short", good[:100], "shorter than its 120-byte header"},
		{"header length too small", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b, 100); return b }), "header length 100"},
		{"header length beyond the message", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b, 1000); return b }), "header length 1000"},
		{"payload length", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[116:], 4); return b }), "payload length 4, but 3 bytes follow"},
		{"digest", mutate(func(b []byte) []byte { b[120] = 'x'; return b }), "SHA-256 is not its digest"},
		{"long type", nil, "longer than 32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.b == nil {
				_, err = (&Message{Type: strings.Repeat("y", 33)}).MarshalBinary()
			} else {
				err = new(Message).UnmarshalBinary(tt.b)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	// Start and pause publication carry nothing the client reads: their digest is not checked.
	pause, _ := (&Message{Type: TypePausePublication, Payload: []byte("x")}).MarshalBinary()
	pause[120] = 'y'
	if err := new(Message).UnmarshalBinary(pause); err != nil {
		t.Errorf("pause_publication with another digest: %v", err)
	}
}
