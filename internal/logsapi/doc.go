// Package logsapi is nodeless's seam to CloudWatch Logs: the narrow interface holding only the
// calls nodeless makes (satisfied by *cloudwatchlogs.Client from aws-sdk-go-v2), their IAM
// actions, the error kinds callers act on, and client construction from the same endpoint and
// credential options as the ECS client (package ecsapi).
//
// nodeless only reads: the tasks of Pods write their containers' output through ECS's awslogs
// log driver (translate.Options.Logs), with the task execution role's permissions; the virtual
// node's `kubectl logs` and `nodeless logs --aws` read it back (internal/taskhost/awshost).
//
// Contract of the calls, as the CloudWatch Logs API reference documents them:
//   - GetLogEvents reads one stream: with startFromHead true from its oldest event, false (the
//     default) its newest page; at most 10,000 events or 1 MB per call. nextForwardToken and
//     nextBackwardToken page on; a forward token must be used with startFromHead true. At the end
//     of the stream the same forward token comes back (never an empty token), so following a
//     stream is calling again with it. A page may be empty while more events exist.
//   - A missing log group or stream is ResourceNotFoundException (KindNotFound).
//   - GetLogEvents is throttled per account and region (25 transactions per second by default;
//     ThrottlingException, KindThrottled); the SDK's retryer backs off on it.
//   - No call blocks beyond its HTTP round trip.
package logsapi
