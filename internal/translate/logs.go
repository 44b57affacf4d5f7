package translate

import (
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The awslogs log driver's options, as ECS documents them (LogConfiguration.options in the ECS
// API reference; "Send Amazon ECS logs to CloudWatch").
const (
	AWSLogsDriver       = "awslogs"
	AWSLogsGroup        = "awslogs-group"
	AWSLogsRegion       = "awslogs-region"
	AWSLogsStreamPrefix = "awslogs-stream-prefix"
	AWSLogsCreateGroup  = "awslogs-create-group"
)

// AWSLogs sends every container's standard output and error to CloudWatch Logs through ECS's
// awslogs log driver. Each container writes the stream "<namespace>/<container>/<task ID>" of
// Group (the awslogs-stream-prefix is the Pod's namespace), which is what the virtual node and
// `nodeless logs --aws` read back (internal/taskhost/awshost).
type AWSLogs struct {
	// Group is the log group (awslogs-group): 1 to 512 of [A-Za-z0-9._/#-].
	Group string
	// Region is the log group's region (awslogs-region), required.
	Region string
	// CreateGroup sets awslogs-create-group "true": the group is created at the first task's
	// start when missing. The execution role then needs logs:CreateLogGroup.
	CreateGroup bool
}

// logGroupPattern is CloudWatch Logs' pattern for a log group name (CreateLogGroup,
// logGroupName: [\.\-_/#A-Za-z0-9]+, 1-512 characters).
var logGroupPattern = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)

func (l *AWSLogs) validate(executionRoleArn string) error {
	if !logGroupPattern.MatchString(l.Group) {
		return fmt.Errorf("log group %q: use 1 to 512 letters, digits and . _ - / #", l.Group)
	}
	if l.Region == "" {
		return fmt.Errorf("log group %s: give its region (awslogs-region)", l.Group)
	}
	if executionRoleArn == "" {
		// RegisterTaskDefinition refuses it on Fargate: "Fargate requires task definition to
		// have execution role ARN to support log driver awslogs".
		return fmt.Errorf("log group %s: the awslogs log driver needs a task execution role (executionRoleArn) allowed logs:CreateLogStream and logs:PutLogEvents on it", l.Group)
	}
	return nil
}

// LogConfiguration is the logConfiguration every container of a task definition for a Pod of
// namespace gets under opts: awslogs as AWSLogs says, or nil without Options.Logs (the local
// data plane writes its own log files). podstart gives nodeless's files container the same.
func LogConfiguration(opts Options, namespace string) *ecstypes.LogConfiguration {
	l := opts.Logs
	if l == nil {
		return nil
	}
	o := map[string]string{AWSLogsGroup: l.Group, AWSLogsRegion: l.Region, AWSLogsStreamPrefix: StreamPrefix(namespace)}
	if l.CreateGroup {
		o[AWSLogsCreateGroup] = "true"
	}
	return &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: o}
}

// StreamPrefix is the awslogs-stream-prefix of a Pod's containers: its namespace ("default" for
// none), so that a namespace's streams list together ("shop/app/0f3c...").
func StreamPrefix(namespace string) string {
	if namespace == "" {
		return "default"
	}
	return namespace
}

// StreamName is the log stream the awslogs driver writes for a container of a task: ECS names it
// "prefix/container/task-id" (awslogs-stream-prefix, in the ECS API reference).
func StreamName(prefix, container, taskID string) string {
	return prefix + "/" + container + "/" + taskID
}

// logsAndRole sets the task definition's executionRoleArn and every container's log
// configuration from the options.
func (t *translator) logsAndRole() {
	if t.opts.ExecutionRoleArn != "" {
		t.td.ExecutionRoleArn = aws.String(t.opts.ExecutionRoleArn)
	}
	for i := range t.td.ContainerDefinitions {
		// One each: no container's options map is shared with another's.
		t.td.ContainerDefinitions[i].LogConfiguration = LogConfiguration(*t.opts, t.pod.Namespace)
	}
}
