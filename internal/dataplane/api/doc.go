// Package api is the local data plane's ECS-compatible HTTP server: the awsJson1_1 protocol
// (POST /, X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Operation>), SigV4 verification
// against the data plane's own credentials, strict request decoding, validation, and the handlers
// of the ECS operations nodeless serves.
//
// The server only reads and writes the store; it never touches containers. It tells the Engine
// (the service scheduler) what changed, and the Engine does the rest: starting and stopping
// containers, moving tasks through their lifecycle, rolling deployments. The one exception is
// ECS Exec: ExecuteCommand's sessions are served on dataChannelPath of the same address (a
// WebSocket speaking the Session Manager data channel, authenticated by the session's token, not
// SigV4) and run their commands through the Executor (exec.go).
//
// Every client mistake is an HTTP 400 with the ECS error shape {"__type": "...Exception",
// "message": "..."}, and the message names the offending member and says what to change. Requests
// are checked against the ECS model (package ecsmodel): unknown members, wrong types, missing
// required members and unknown enum values are refused, and so are members ECS knows but the local
// data plane cannot honour — nothing a client sends is silently dropped.
//
// Beside ECS, the same address serves the data plane's Secrets Manager (X-Amz-Target
// secretsmanager.<Operation>, secretsmanager.go) and its Cloud Map (X-Amz-Target
// Route53AutoNaming_v20170314.<Operation>, cloudmap.go; package cloudmap), each signed for its own
// SigV4 service name.
package api
