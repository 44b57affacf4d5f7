package logsapi

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// API holds the CloudWatch Logs calls nodeless makes. *cloudwatchlogs.Client satisfies it.
type API interface {
	GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

var _ API = (*cloudwatchlogs.Client)(nil)

// Operation names, as the CloudWatch Logs API spells them.
const (
	OpGetLogEvents = "GetLogEvents"
)

// Actions are the IAM actions of the calls in API, for nodeless's own policy (the identity
// `nodeless controller` and `nodeless logs --aws` run as), on the log groups of the Pods' tasks
// (arn:aws:logs:REGION:ACCOUNT:log-group:GROUP:log-stream:*).
func Actions() []string {
	return []string{"logs:GetLogEvents"}
}

// ExecutionRoleActions are the IAM actions the task execution role needs for the awslogs log
// driver to write a task's logs (ECS's AmazonECSTaskExecutionRolePolicy grants the first two);
// logs:CreateLogGroup only with awslogs-create-group. They are not nodeless's own: nodeless
// passes the role to ECS, which needs iam:PassRole on it in nodeless's policy.
func ExecutionRoleActions(createGroup bool) []string {
	a := []string{"logs:CreateLogStream", "logs:PutLogEvents"}
	if createGroup {
		a = append(a, "logs:CreateLogGroup")
	}
	return a
}
