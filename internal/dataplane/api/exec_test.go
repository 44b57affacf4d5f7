package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/api"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/ssmsession"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
)

// fakeExecutor stands in for containerd exec in these tests: it records the call, answers the
// input line it reads with what it was asked to run, and exits.
type fakeExecutor struct {
	mu    sync.Mutex
	calls []execCall
}

type execCall struct {
	Task      string
	Container string
	Cmd       []string
	TTY       bool
	Input     string
}

func (f *fakeExecutor) Exec(_ context.Context, t taskhost.Task, container string, cmd []string, s taskhost.Streams) error {
	line := make([]byte, 0, 64)
	buf := make([]byte, 1)
	for !bytes.HasSuffix(line, []byte("\r")) {
		if _, err := s.Stdin.Read(buf); err != nil {
			break
		}
		line = append(line, buf[0])
	}
	f.mu.Lock()
	f.calls = append(f.calls, execCall{Task: t.ID, Container: container, Cmd: cmd, TTY: s.TTY, Input: string(line)})
	f.mu.Unlock()
	_, _ = fmt.Fprintf(s.Stdout, "ran %q\r\n", cmd)
	return &taskhost.ExitError{Code: 2} // not reported, as ECS does not report it
}

func newExecEnv(t *testing.T, exec api.Executor) *env {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng := &fakeEngine{}
	srv := httptest.NewServer(api.NewServer(api.Options{
		Store: st, Engine: eng, ARNs: testARNs, Credentials: testCreds, Logger: testr.NewWithInterface(t, testr.Options{}), Executor: exec,
	}))
	t.Cleanup(srv.Close)
	e := &env{t: t, url: srv.URL, store: st, engine: eng}
	e.ecs = e.client(testCreds)
	return e
}

// setRunning marks a task RUNNING, as the scheduler would once its containers run.
func setRunning(t *testing.T, e *env, id string) {
	t.Helper()
	err := e.store.Update(func(tx *store.Tx) error {
		rec, err := tx.GetTask("default", id)
		if err != nil {
			return err
		}
		rec.Task.LastStatus = model.TaskStatusRunning
		return tx.PutTask("default", id, rec)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestExecuteCommand: a task run with enableExecuteCommand gets a session on the data plane's
// own WebSocket, which the ssmsession client opens once with its token; the command runs (split
// as the SSM agent splits it) on a terminal in the container named.
func TestExecuteCommand(t *testing.T) {
	exec := &fakeExecutor{}
	e := newExecEnv(t, exec)
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	run := must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), EnableExecuteCommand: true}))
	task := run.Tasks[0]
	if !task.EnableExecuteCommand {
		t.Fatal("RunTask's task does not have enableExecuteCommand")
	}
	in := &ecs.ExecuteCommandInput{Task: task.TaskArn, Container: aws.String("sidecar"), Command: aws.String(`sh -c 'echo "a b"'`), Interactive: true}
	_, err := e.ecs.ExecuteCommand(ctx, in)
	wantAPIError(t, err, "InvalidParameterException", "not RUNNING")
	id := lastPart(aws.ToString(task.TaskArn))
	setRunning(t, e, id)
	out := must[*ecs.ExecuteCommandOutput](t)(e.ecs.ExecuteCommand(ctx, in))
	if aws.ToString(out.ContainerName) != "sidecar" || !out.Interactive || out.Session == nil ||
		!strings.HasPrefix(aws.ToString(out.Session.StreamUrl), "ws://127.0.0.1:") {
		t.Fatalf("ExecuteCommand: %+v", out)
	}
	ch := ssmsession.Channel{SessionID: aws.ToString(out.Session.SessionId), StreamURL: aws.ToString(out.Session.StreamUrl), TokenValue: aws.ToString(out.Session.TokenValue)}
	var stdout bytes.Buffer
	res, err := ssmsession.Run(ctx, ch, ssmsession.Streams{Stdin: strings.NewReader("hi\r"), Stdout: &stdout}, ssmsession.Options{})
	if err != nil || res != (ssmsession.Result{}) {
		t.Fatalf("Run: %+v, %v", res, err)
	}
	if want := "ran [\"sh\" \"-c\" \"echo \\\"a b\\\"\"]\r\n"; stdout.String() != want {
		t.Errorf("output %q, want %q", stdout.String(), want)
	}
	want := []execCall{{Task: id, Container: "sidecar", Cmd: []string{"sh", "-c", `echo "a b"`}, TTY: true, Input: "hi\r"}}
	exec.mu.Lock()
	if diff := cmp.Diff(want, exec.calls); diff != "" {
		t.Errorf("exec calls (-want +got):\n%s", diff)
	}
	exec.mu.Unlock()
	// A session opens once.
	res, err = ssmsession.Run(ctx, ch, ssmsession.Streams{}, ssmsession.Options{})
	if err != nil || !strings.Contains(res.Closed, "already open") {
		t.Errorf("second open: %+v, %v; want the channel closed saying the session is open already", res, err)
	}
	// Another session's token does not open it.
	out = must[*ecs.ExecuteCommandOutput](t)(e.ecs.ExecuteCommand(ctx, in))
	ch = ssmsession.Channel{SessionID: aws.ToString(out.Session.SessionId), StreamURL: aws.ToString(out.Session.StreamUrl), TokenValue: "forged"}
	res, err = ssmsession.Run(ctx, ch, ssmsession.Streams{Stdout: io.Discard}, ssmsession.Options{})
	if err != nil || !strings.Contains(res.Closed, "token is not session") {
		t.Errorf("forged token: %+v, %v", res, err)
	}
}

func TestExecuteCommandErrors(t *testing.T) {
	e := newExecEnv(t, &fakeExecutor{})
	ctx := context.Background()
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	plain := must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web")})).Tasks[0]
	enabled := must[*ecs.RunTaskOutput](t)(e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), EnableExecuteCommand: true})).Tasks[0]
	setRunning(t, e, lastPart(aws.ToString(plain.TaskArn)))
	setRunning(t, e, lastPart(aws.ToString(enabled.TaskArn)))
	tests := []struct {
		name string
		in   *ecs.ExecuteCommandInput
		want []string
	}{
		{"not enabled", &ecs.ExecuteCommandInput{Task: plain.TaskArn, Container: aws.String("app"), Command: aws.String("ls"), Interactive: true},
			[]string{"execute command was not enabled when the task was run"}},
		{"not interactive", &ecs.ExecuteCommandInput{Task: enabled.TaskArn, Container: aws.String("app"), Command: aws.String("ls")}, []string{"interactive"}},
		{"two containers, none named", &ecs.ExecuteCommandInput{Task: enabled.TaskArn, Command: aws.String("ls"), Interactive: true}, []string{"container", "2 containers"}},
		{"no such container", &ecs.ExecuteCommandInput{Task: enabled.TaskArn, Container: aws.String("db"), Command: aws.String("ls"), Interactive: true}, []string{"no container named \"db\""}},
		{"unbalanced quote", &ecs.ExecuteCommandInput{Task: enabled.TaskArn, Container: aws.String("app"), Command: aws.String("sh -c 'ls"), Interactive: true}, []string{"command"}},
		{"unknown task", &ecs.ExecuteCommandInput{Task: aws.String("0123456789abcdef0123456789abcdef"), Container: aws.String("app"), Command: aws.String("ls"), Interactive: true}, []string{"was not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.ecs.ExecuteCommand(ctx, tt.in)
			wantAPIError(t, err, "InvalidParameterException", tt.want...)
		})
	}
}

func lastPart(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }
