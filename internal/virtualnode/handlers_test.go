package virtualnode

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"

	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/taskhost/awshost"
)

type onePod struct{ task taskhost.Task }

func (p onePod) Task(_ context.Context, namespace, pod string, previous bool) (taskhost.Task, error) {
	switch {
	case pod != "web":
		return taskhost.Task{}, &PodNotFoundError{Namespace: namespace, Pod: pod}
	case previous:
		return taskhost.Task{}, &NoTaskError{Namespace: namespace, Pod: pod, Previous: true, Reason: "the Pod was never re-run"}
	}
	return p.task, nil
}

// TestRoutesAnswers: the kubelet routes answer as the kubelet does: 404 for a Pod not on the
// node, 400 with the reason for a missing task and for what the Host cannot do (with its remedy).
func TestRoutesAnswers(t *testing.T) {
	s := &Server{opts: ServerOptions{NodeName: "nodeless", Host: awshost.New(awshost.Options{}),
		Pods: onePod{task: taskhost.Task{Cluster: "prod", TaskArn: "arn:aws:ecs:eu-west-1:1:task/prod/0abc", ID: "0abc"}}}}
	srv := httptest.NewServer(s.routes())
	defer srv.Close()
	tests := []struct {
		path     string
		wantCode int
		wantBody string
	}{
		{"/containerLogs/ns/web/app", http.StatusBadRequest, "kubectl logs is not available here: this node was started without a CloudWatch Logs reader"},
		// The kubelet's text for a container without an earlier run, naming the container asked for.
		{"/containerLogs/ns/web/app?previous=true", http.StatusBadRequest, `previous terminated container "app" in pod "web" not found: the Pod was never re-run`},
		{"/containerLogs/ns/web/sidecar?previous=true", http.StatusBadRequest, `previous terminated container "sidecar" in pod "web" not found`},
		{"/containerLogs/ns/other/app?previous=true", http.StatusNotFound, "pod ns/other is not on this node"},
		{"/containerLogs/ns/other/app", http.StatusNotFound, "pod ns/other is not on this node"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantCode || !strings.Contains(string(b), tt.wantBody) {
				t.Errorf("GET %s: %d %q, want %d containing %q", tt.path, resp.StatusCode, b, tt.wantCode, tt.wantBody)
			}
		})
	}
}

// TestExecExitCode: the Host's ExitError reaches the remotecommand server unwrapped, as the
// exit code kubectl exec returns; an unsupported exec stays an error with its remedy.
func TestExecExitCode(t *testing.T) {
	h := &handlers{pods: onePod{task: taskhost.Task{Cluster: "prod", ID: "0abc"}}, host: awshost.New(awshost.Options{})}
	err := h.exec(context.Background(), "ns", "web", "app", []string{"ls"}, nopIO{})
	if !errdefs.IsInvalidInput(err) || !strings.Contains(err.Error(), "aws ecs execute-command --cluster prod --task 0abc --container app") {
		t.Errorf("exec on AWS: %v, want the ECS Exec remedy", err)
	}
	code := exitErr(&taskhost.ExitError{Code: 7})
	var ce interface{ ExitStatus() int }
	if !errors.As(code, &ce) || ce.ExitStatus() != 7 {
		t.Errorf("exitErr: %#v, want exit status 7", code)
	}
}

type nopIO struct{}

func (nopIO) TTY() bool                   { return false }
func (nopIO) Stdin() io.Reader            { return nil }
func (nopIO) Stdout() io.WriteCloser      { return nil }
func (nopIO) Stderr() io.WriteCloser      { return nil }
func (nopIO) Resize() <-chan api.TermSize { return nil }
