package awshost_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/taskhost/awshost"
)

// TestUnsupported: what the AWS Host cannot serve is an UnsupportedError whose remedy says what
// to use instead.
func TestUnsupported(t *testing.T) {
	h := awshost.New()
	ctx := context.Background()
	task := taskhost.Task{Cluster: "prod", TaskArn: "arn:aws:ecs:eu-west-1:123456789012:task/prod/0abc", ID: "0abc"}
	tests := []struct {
		name       string
		call       func() error
		wantOp     string
		wantRemedy string
	}{
		{"logs", func() error { _, err := h.Logs(ctx, task, "app", taskhost.LogOptions{}); return err }, "kubectl logs", "aws logs tail"},
		{"exec", func() error { return h.Exec(ctx, task, "app", []string{"ls", "-l"}, taskhost.Streams{}) }, "kubectl exec",
			`aws ecs execute-command --cluster prod --task arn:aws:ecs:eu-west-1:123456789012:task/prod/0abc --container app --interactive --command "ls -l"`},
		{"attach", func() error { return h.Attach(ctx, task, "app", taskhost.Streams{}) }, "kubectl attach", "aws ecs execute-command"},
		{"signal", func() error { return h.Signal(ctx, task, "app", syscall.SIGKILL) }, "signalling a container", "StopTask"},
		{"volume", func() error { _, err := h.VolumeDir(task, "config"); return err }, "keeping a task's files current", "not reachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var u *taskhost.UnsupportedError
			if !errors.As(err, &u) || !taskhost.IsUnsupported(err) {
				t.Fatalf("error %v, want an UnsupportedError", err)
			}
			if u.Op != tt.wantOp || !strings.Contains(u.Remedy, tt.wantRemedy) {
				t.Errorf("%s: %q, want op %q and a remedy containing %q", tt.name, err, tt.wantOp, tt.wantRemedy)
			}
		})
	}
}
