package awshost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-cmp/cmp"
	"github.com/google/shlex"
	"github.com/gorilla/websocket"

	"github.com/nodeless-dev/nodeless/internal/ssmsession"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/taskhost/awshost"
)

var task = taskhost.Task{Cluster: "prod", TaskArn: "arn:aws:ecs:eu-west-1:123456789012:task/prod/0abc", ID: "0abc"}

// TestUnsupported: what the AWS Host cannot serve is an UnsupportedError whose remedy says what
// to use instead.
func TestUnsupported(t *testing.T) {
	h := awshost.New(awshost.Options{})
	ctx := context.Background()
	tests := []struct {
		name       string
		call       func() error
		wantOp     string
		wantRemedy string
	}{
		{"logs", func() error { _, err := h.Logs(ctx, task, "app", taskhost.LogOptions{}); return err }, "kubectl logs", "aws logs tail"},
		{"exec without an ECS client", func() error { return h.Exec(ctx, task, "app", []string{"ls", "-l"}, taskhost.Streams{}) }, "kubectl exec",
			`aws ecs execute-command --cluster prod --task arn:aws:ecs:eu-west-1:123456789012:task/prod/0abc --container app --interactive --command "ls -l"`},
		{"attach", func() error { return h.Attach(ctx, task, "app", taskhost.Streams{}) }, "kubectl attach", "kubectl exec -it"},
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

// fakeECS answers ExecuteCommand and plays the task's side of the session on 127.0.0.1, for
// these tests only: the agent side is ssmsession's, the "container" this machine's /bin/sh run
// without a terminal (a ^D in the input closes the command's stdin, as a terminal's end of
// input would).
type fakeECS struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	requests []map[string]any
	errCode  string // answer ExecuteCommand with this error
	errMsg   string
	noRun    bool              // end the session without running the command
	commands map[string]string // by session id
}

func newFakeECS(t *testing.T) *fakeECS {
	f := &fakeECS{t: t, commands: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/", f.executeCommand)
	mux.HandleFunc("/session/", f.session)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeECS) client() *ecs.Client {
	return ecs.New(ecs.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(f.srv.URL), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
		}),
	})
}

func (f *fakeECS) executeCommand(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "AmazonEC2ContainerServiceV20141113.ExecuteCommand" {
		http.Error(w, "unexpected call", http.StatusBadRequest)
		return
	}
	var in map[string]any
	_ = json.NewDecoder(r.Body).Decode(&in)
	f.mu.Lock()
	f.requests = append(f.requests, in)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if f.errCode != "" {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": f.errCode, "message": f.errMsg})
		return
	}
	cmd, _ := in["command"].(string)
	id := fmt.Sprintf("s-%d", len(f.requests))
	f.mu.Lock()
	f.requests[len(f.requests)-1]["sessionId"] = id
	f.commands[id] = cmd
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"session": map[string]string{
		"sessionId": id, "streamUrl": "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/session/" + id, "tokenValue": "tok-" + id,
	}})
}

func (f *fakeECS) session(w http.ResponseWriter, r *http.Request) {
	conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/session/")
	a, err := ssmsession.Accept(r.Context(), conn, id, func(token string) error {
		if token != "tok-"+id {
			return errors.New("wrong token")
		}
		return nil
	})
	if err != nil {
		f.t.Errorf("Accept: %v", err)
		return
	}
	if f.noRun {
		_ = a.Close("")
		return
	}
	f.mu.Lock()
	command := f.commands[id]
	f.mu.Unlock()
	words, err := shlex.Split(command)
	if err != nil || len(words) == 0 {
		_ = a.Close(fmt.Sprintf("bad command: %v", err))
		return
	}
	cmd := exec.Command(words[0], words[1:]...) // #nosec G204 -- the test's fake container
	cmd.Stdout, cmd.Stderr = a, a
	stdin, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		_ = a.Close(err.Error())
		return
	}
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := a.Read(buf)
			if i := bytes.IndexByte(buf[:n], 0x04); i >= 0 {
				_, _ = stdin.Write(buf[:i])
				_ = stdin.Close()
				return
			}
			_, _ = stdin.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	_ = cmd.Wait()
	_ = a.Close("")
}

// TestExec: commands run through ExecuteCommand and the session; output, input and the exit
// status come back as kubectl exec shows them.
func TestExec(t *testing.T) {
	f := newFakeECS(t)
	h := awshost.New(awshost.Options{ECS: f.client()})
	tests := []struct {
		name     string
		cmd      []string
		stdin    string
		wantOut  string
		wantCode int
	}{
		{"exit status", []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, "", "out\nerr\n", 3},
		{"success", []string{"printf", "%s|", "it's", "a b"}, "", "it's|a b|", 0},
		{"stdin", []string{"tr", "a-z", "A-Z"}, "hello\nworld", "HELLO\nWORLD", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			s := taskhost.Streams{Stdout: &out}
			if tt.stdin != "" {
				s.Stdin = strings.NewReader(tt.stdin)
			}
			err := h.Exec(context.Background(), task, "app", tt.cmd, s)
			var exit *taskhost.ExitError
			switch {
			case tt.wantCode == 0 && err != nil:
				t.Fatalf("Exec: %v", err)
			case tt.wantCode != 0 && (!errors.As(err, &exit) || exit.Code != tt.wantCode):
				t.Fatalf("Exec: %v, want exit code %d", err, tt.wantCode)
			}
			if out.String() != tt.wantOut {
				t.Errorf("output %q, want %q", out.String(), tt.wantOut)
			}
		})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	got := f.requests[0]
	delete(got, "command")
	delete(got, "sessionId")
	want := map[string]any{"cluster": "prod", "task": task.TaskArn, "container": "app", "interactive": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ExecuteCommand input (-want +got):\n%s", diff)
	}
}

// TestExecErrors: a task without ECS Exec is an UnsupportedError naming the flag; a session
// that ends without the wrapper's status is an error saying the status is unknown.
func TestExecErrors(t *testing.T) {
	f := newFakeECS(t)
	h := awshost.New(awshost.Options{ECS: f.client()})
	f.errCode, f.errMsg = "InvalidParameterException", "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn't running. Wait and try the request again."
	err := h.Exec(context.Background(), task, "app", []string{"ls"}, taskhost.Streams{})
	var u *taskhost.UnsupportedError
	if !errors.As(err, &u) || !strings.Contains(u.Remedy, "--pod-enable-execute-command") {
		t.Errorf("not enabled: %v, want an UnsupportedError naming --pod-enable-execute-command", err)
	}
	f.errCode, f.errMsg = "TargetNotConnectedException", "The execute command failed due to an internal error."
	if err := h.Exec(context.Background(), task, "app", []string{"ls"}, taskhost.Streams{}); err == nil || !strings.Contains(err.Error(), "cannot reach the task's SSM agent") {
		t.Errorf("not connected: %v", err)
	}
	f.errCode, f.noRun = "", true
	if err := h.Exec(context.Background(), task, "app", []string{"ls"}, taskhost.Streams{Stdout: io.Discard}); err == nil || !strings.Contains(err.Error(), "exit status is unknown") {
		t.Errorf("no status: %v, want an error saying the exit status is unknown", err)
	}
}
