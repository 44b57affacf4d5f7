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
			if resp.StatusCode != tt.wantCode || !strings.HasPrefix(string(b), tt.wantBody) {
				t.Errorf("GET %s: %d %q, want %d starting %q", tt.path, resp.StatusCode, b, tt.wantCode, tt.wantBody)
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

// TestLogsErrorWriter: the first write of an error answer loses virtual-kubelet's prefix; a log
// that succeeds, or fails after it started, is written as it is, and flushes pass through.
func TestLogsErrorWriter(t *testing.T) {
	tests := []struct {
		name   string
		code   int
		writes []string
		want   string
	}{
		{"error", http.StatusBadRequest, []string{vkLogsErrorPrefix + "previous terminated container \"app\" in pod \"web\" not found"},
			"previous terminated container \"app\" in pod \"web\" not found"},
		{"error without the prefix", http.StatusNotFound, []string{"pod ns/web is not on this node"}, "pod ns/web is not on this node"},
		{"a log that says it", http.StatusOK, []string{vkLogsErrorPrefix + "is a line of the log\n"}, vkLogsErrorPrefix + "is a line of the log\n"},
		{"a log that fails later", http.StatusOK, []string{"line 1\n", vkLogsErrorPrefix + "broken pipe"}, "line 1\n" + vkLogsErrorPrefix + "broken pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			w := &logsErrorWriter{ResponseWriter: rec}
			w.WriteHeader(tt.code)
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write(%q): %d, %v", s, n, err)
				}
			}
			w.Flush()
			if rec.Code != tt.code || rec.Body.String() != tt.want || !rec.Flushed {
				t.Errorf("answer %d %q (flushed %v), want %d %q, flushed", rec.Code, rec.Body.String(), rec.Flushed, tt.code, tt.want)
			}
		})
	}
}
