package ssmsession

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// Message types, as the agent spells them in a Message's 32-byte type field.
const (
	TypeInputStreamData  = "input_stream_data"
	TypeOutputStreamData = "output_stream_data"
	TypeAcknowledge      = "acknowledge"
	TypeChannelClosed    = "channel_closed"
	TypeStartPublication = "start_publication"
	TypePausePublication = "pause_publication"
)

// PayloadType says what a stream data message's payload holds.
type PayloadType uint32

// Payload types of stream data messages.
const (
	PayloadOutput               PayloadType = 1  // terminal bytes (input or output)
	PayloadError                PayloadType = 2  // an error text from the agent
	PayloadSize                 PayloadType = 3  // JSON {"cols":N,"rows":N}
	PayloadParameter            PayloadType = 4  // unused here
	PayloadHandshakeRequest     PayloadType = 5  // JSON HandshakeRequest
	PayloadHandshakeResponse    PayloadType = 6  // JSON HandshakeResponse
	PayloadHandshakeComplete    PayloadType = 7  // JSON HandshakeComplete
	PayloadEncChallengeRequest  PayloadType = 8  // KMS encryption only
	PayloadEncChallengeResponse PayloadType = 9  // KMS encryption only
	PayloadFlag                 PayloadType = 10 // a big-endian uint32 flag (Flag*)
	PayloadStdErr               PayloadType = 11 // standard error, when the agent separates it
	PayloadExitCode             PayloadType = 12 // "EXIT_CODE: N", when the agent reports it
	payloadAcknowledge          PayloadType = 0  // acknowledge and channel_closed carry JSON with type 0
	flagAcknowledge                         = 3  // the Flags of an acknowledge (SYN|FIN)
	schemaVersion                           = 1  // of every message the client sends
	headerLength                            = 116
	payloadOffset                           = headerLength + 4
	typeLength                              = 32
)

// Flags carried in a PayloadFlag payload.
const (
	// FlagTerminateSession asks the agent to end the session (agent 2.3.722.0 or later).
	FlagTerminateSession uint32 = 2
)

// Message is one agent message, the unit of the data channel after the opening request.
type Message struct {
	// Type is one of the Type* constants (at most 32 bytes).
	Type          string
	SchemaVersion uint32
	// CreatedDate is milliseconds since the Unix epoch (UTC).
	CreatedDate uint64
	// SequenceNumber numbers stream data per direction from 0; 0 for other messages.
	SequenceNumber int64
	// Flags: bit 0 SYN (the first message of a stream), bit 1 FIN (the last).
	Flags       uint64
	MessageID   uuid.UUID
	PayloadType PayloadType
	Payload     []byte
}

// Offsets of the header fields (big-endian): header length (uint32, the offset of the payload
// length: 116), type (32 bytes, space-padded), schema version (uint32), created date (uint64),
// sequence number (int64), flags (uint64), message id (16 bytes: the UUID's low 8 bytes, then
// its high 8), payload digest (32 bytes, SHA-256 of the payload), payload type (uint32), payload
// length (uint32); the payload follows.
const (
	offType        = 4
	offSchema      = offType + typeLength
	offCreated     = offSchema + 4
	offSequence    = offCreated + 8
	offFlags       = offSequence + 8
	offMessageID   = offFlags + 8
	offDigest      = offMessageID + 16
	offPayloadType = offDigest + sha256.Size
)

// MarshalBinary encodes m as the agent reads it; the digest is computed from the payload.
func (m *Message) MarshalBinary() ([]byte, error) {
	if len(m.Type) > typeLength {
		return nil, fmt.Errorf("message type %q is longer than %d bytes", m.Type, typeLength)
	}
	b := make([]byte, payloadOffset+len(m.Payload))
	be := binary.BigEndian
	be.PutUint32(b, headerLength)
	copy(b[offType:offSchema], bytes.Repeat([]byte{' '}, typeLength))
	copy(b[offType:], m.Type)
	be.PutUint32(b[offSchema:], m.SchemaVersion)
	be.PutUint64(b[offCreated:], m.CreatedDate)
	be.PutUint64(b[offSequence:], uint64(m.SequenceNumber))
	be.PutUint64(b[offFlags:], m.Flags)
	copy(b[offMessageID:], m.MessageID[8:])
	copy(b[offMessageID+8:], m.MessageID[:8])
	digest := sha256.Sum256(m.Payload)
	copy(b[offDigest:], digest[:])
	be.PutUint32(b[offPayloadType:], uint32(m.PayloadType))
	be.PutUint32(b[headerLength:], uint32(len(m.Payload)))
	copy(b[payloadOffset:], m.Payload)
	return b, nil
}

// UnmarshalBinary decodes b into m. It fails on a message shorter than its header, a header
// length below 116, a payload length that disagrees with the bytes that follow, and a payload
// whose SHA-256 is not its digest (start and pause publication, which carry no payload the
// client reads, are not checked, as the plugin does not check them).
func (m *Message) UnmarshalBinary(b []byte) error {
	if len(b) < payloadOffset {
		return fmt.Errorf("agent message of %d bytes is shorter than its %d-byte header", len(b), payloadOffset)
	}
	be := binary.BigEndian
	hl := be.Uint32(b)
	if hl < headerLength || uint64(hl)+4 > uint64(len(b)) {
		return fmt.Errorf("agent message header length %d: want at least %d and within the message's %d bytes", hl, headerLength, len(b))
	}
	m.Type = strings.TrimSpace(string(bytes.Trim(b[offType:offSchema], "\x00")))
	m.SchemaVersion = be.Uint32(b[offSchema:])
	m.CreatedDate = be.Uint64(b[offCreated:])
	m.SequenceNumber = int64(be.Uint64(b[offSequence:]))
	m.Flags = be.Uint64(b[offFlags:])
	copy(m.MessageID[8:], b[offMessageID:offMessageID+8])
	copy(m.MessageID[:8], b[offMessageID+8:offDigest])
	m.PayloadType = PayloadType(be.Uint32(b[offPayloadType:]))
	n := be.Uint32(b[hl:])
	payload := b[hl+4:]
	if uint64(n) != uint64(len(payload)) {
		return fmt.Errorf("agent message %s: payload length %d, but %d bytes follow the header", m.Type, n, len(payload))
	}
	m.Payload = bytes.Clone(payload)
	if m.Type == TypeStartPublication || m.Type == TypePausePublication || n == 0 {
		return nil
	}
	if digest := sha256.Sum256(m.Payload); !bytes.Equal(digest[:], b[offDigest:offPayloadType]) {
		return fmt.Errorf("agent message %s %d: the payload's SHA-256 is not its digest", m.Type, m.SequenceNumber)
	}
	return nil
}
