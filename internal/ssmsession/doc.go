// Package ssmsession is a client of the AWS Systems Manager Session Manager data channel: the
// protocol that carries an ECS Exec session (ECS ExecuteCommand returns a Session whose
// streamUrl and tokenValue open it) between the caller and the SSM agent in the container.
//
// AWS documents the protocol only as the code of its session-manager-plugin
// (github.com/aws/session-manager-plugin, a program, not an importable Go module) and of the
// agent (github.com/aws/amazon-ssm-agent). This package was written from reading them:
//
//   - a WebSocket to streamUrl; the client's first message is a text message, the JSON
//     OpenDataChannel request carrying tokenValue;
//   - every later message is binary, one agent message each (Message: a 116-byte header of
//     big-endian fields, the payload's length and the payload; see MarshalBinary);
//   - stream data (input_stream_data from the client, output_stream_data from the agent) is
//     numbered per direction from 0; the receiver acknowledges every message (acknowledge,
//     naming its type, id and sequence number), delivers them in order (buffering ones that
//     arrive early), and the sender retransmits what stays unacknowledged (sender, receiver);
//   - the agent opens with a handshake request (the session type, and KMS encryption when the
//     ECS cluster asks for it), the client answers with a handshake response, the agent ends it
//     with handshake complete; then input (keystrokes, terminal sizes) and output flow;
//   - channel_closed ends the session.
//
// Run is the client (kubectl exec on AWS, package awshost). Accept is the agent's side, for an
// ECS-compatible data plane that serves ExecuteCommand itself (the local data plane): the same
// protocol, so that the client's code path runs end to end without AWS.
//
// Not supported: KMS-encrypted sessions (the ECS cluster's executeCommandConfiguration.kmsKeyId;
// Run fails with an *EncryptionRequiredError before any input is sent), resuming a session after
// the WebSocket drops (SSM ResumeSession; Run returns the error), and port-forwarding sessions.
package ssmsession
