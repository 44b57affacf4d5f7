package ssmsession

import (
	"encoding/json"
	"time"
)

// openDataChannel is the client's first message (a WebSocket text message): the session's token.
type openDataChannel struct {
	MessageSchemaVersion string `json:"MessageSchemaVersion"` // "1.0"
	RequestID            string `json:"RequestId"`            // a UUID
	TokenValue           string `json:"TokenValue"`           // ECS ExecuteCommand's session.tokenValue
	ClientID             string `json:"ClientId"`             // a UUID per client
	ClientVersion        string `json:"ClientVersion"`
}

// acknowledgeContent is the payload of an acknowledge: which message was received.
type acknowledgeContent struct {
	MessageType         string `json:"AcknowledgedMessageType"`
	MessageID           string `json:"AcknowledgedMessageId"` // the UUID in its text form
	SequenceNumber      int64  `json:"AcknowledgedMessageSequenceNumber"`
	IsSequentialMessage bool   `json:"IsSequentialMessage"`
}

// channelClosed is the payload of channel_closed; Output says why, when it is not a normal end.
type channelClosed struct {
	MessageID     string `json:"MessageId"`
	CreatedDate   string `json:"CreatedDate"`
	DestinationID string `json:"DestinationId"`
	SessionID     string `json:"SessionId"`
	MessageType   string `json:"MessageType"`
	SchemaVersion int    `json:"SchemaVersion"`
	Output        string `json:"Output"`
}

// Handshake action types the agent may request.
const (
	actionKMSEncryption = "KMSEncryption"
	actionSessionType   = "SessionType"
)

// Status of a processed handshake action.
const (
	actionSuccess     = 1
	actionFailed      = 2
	actionUnsupported = 3
)

// Session types the client serves: a terminal (shell or command) session. ECS Exec opens
// InteractiveCommands.
var terminalSessionTypes = map[string]bool{"Standard_Stream": true, "InteractiveCommands": true, "NonInteractiveCommands": true}

type handshakeRequest struct {
	AgentVersion           string            `json:"AgentVersion"`
	RequestedClientActions []requestedAction `json:"RequestedClientActions"`
}

type requestedAction struct {
	ActionType       string          `json:"ActionType"`
	ActionParameters json.RawMessage `json:"ActionParameters"`
}

type sessionTypeRequest struct {
	SessionType string `json:"SessionType"`
}

type kmsEncryptionRequest struct {
	KMSKeyID string `json:"KMSKeyId"`
}

type handshakeResponse struct {
	ClientVersion          string            `json:"ClientVersion"`
	ProcessedClientActions []processedAction `json:"ProcessedClientActions"`
	Errors                 []string          `json:"Errors"`
}

type processedAction struct {
	ActionType   string `json:"ActionType"`
	ActionStatus int    `json:"ActionStatus"`
	ActionResult any    `json:"ActionResult"`
	Error        string `json:"Error"`
}

type handshakeComplete struct {
	HandshakeTimeToComplete time.Duration `json:"HandshakeTimeToComplete"`
	CustomerMessage         string        `json:"CustomerMessage"`
}

// termSize is the payload of PayloadSize.
type termSize struct {
	Cols uint32 `json:"cols"`
	Rows uint32 `json:"rows"`
}
