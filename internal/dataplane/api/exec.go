package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/shlex"
	"github.com/gorilla/websocket"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/ssmsession"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
)

// ECS Exec on the local data plane: ExecuteCommand answers a Session whose streamUrl is this
// server's own WebSocket endpoint (dataChannelPath + sessionId, on the host the request came to)
// and whose tokenValue opens it once; the endpoint speaks the agent's side of the Session
// Manager data channel (package ssmsession) and runs the command as ECS's managed SSM agent does
// in a container: split as a shell splits words (github.com/google/shlex, the agent's splitter),
// run directly, on a terminal, in the task's container (the Executor: containerd exec). As with
// ECS, the command's exit status is not reported; the session ends when the command does.

// Executor runs a command in a container of a running task with the given streams (the data
// plane's containerd exec; package taskhost/localhost implements it).
type Executor interface {
	Exec(ctx context.Context, t taskhost.Task, container string, cmd []string, s taskhost.Streams) error
}

// dataChannelPath is where the sessions' WebSockets are served.
const dataChannelPath = "/ssm/data-channel/"

// sessionOpenWithin is how long a session's token stays valid before its WebSocket is opened.
const sessionOpenWithin = time.Minute

// execNotEnabled is ECS's message for a task run without enableExecuteCommand.
const execNotEnabled = "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn't running. Wait and try the request again."

type executeCommandInput struct {
	Cluster     *string `json:"cluster"`
	Container   *string `json:"container"`
	Command     *string `json:"command"`
	Interactive *bool   `json:"interactive"`
	Task        *string `json:"task"`
}

type executeCommandOutput struct {
	ClusterArn    string      `json:"clusterArn"`
	ContainerArn  string      `json:"containerArn"`
	ContainerName string      `json:"containerName"`
	Interactive   bool        `json:"interactive"`
	Session       execSession `json:"session"`
	TaskArn       string      `json:"taskArn"`
}

type execSession struct {
	SessionID  string `json:"sessionId"`
	StreamURL  string `json:"streamUrl"`
	TokenValue string `json:"tokenValue"`
}

// pendingSession is a session ExecuteCommand opened whose WebSocket has not been opened yet.
type pendingSession struct {
	token     string
	task      taskhost.Task
	container string
	argv      []string
	expires   time.Time
}

// execState is the executor and the pending sessions.
type execState struct {
	mu       sync.Mutex
	executor Executor
	pending  map[string]*pendingSession
}

func newExecState(e Executor) *execState {
	return &execState{executor: e, pending: map[string]*pendingSession{}}
}

// SetExecutor sets the Executor that runs ExecuteCommand's commands (the data plane sets it once
// its runtime is up; until then ECS Exec is refused).
func (s *Server) SetExecutor(e Executor) {
	s.exec.mu.Lock()
	defer s.exec.mu.Unlock()
	s.exec.executor = e
}

func (s *Server) executor() Executor {
	s.exec.mu.Lock()
	defer s.exec.mu.Unlock()
	return s.exec.executor
}

// checkExecEnabled refuses enableExecuteCommand where nothing could run the commands.
func (s *Server) checkExecEnabled(v *bool) error {
	if v != nil && *v && s.executor() == nil {
		return invalidParameter("enableExecuteCommand: this data plane runs no commands in containers (it was started without an executor); remove it")
	}
	return nil
}

func (s *Server) executeCommand(ctx context.Context, in *executeCommandInput) (*executeCommandOutput, error) {
	if in.Interactive == nil || !*in.Interactive {
		return nil, invalidParameter("interactive: ECS Exec only runs interactive sessions; set it to true")
	}
	argv, err := shlex.Split(deref(in.Command, ""))
	if err != nil || len(argv) == 0 {
		return nil, invalidParameter("command: give the command to run, as words a shell would split (%v)", err)
	}
	cluster, id, err := s.taskRef(in.Cluster, "task", deref(in.Task, ""))
	if err != nil {
		return nil, err
	}
	var task model.Task
	err = s.store.View(func(tx *store.Tx) error {
		if _, err := activeCluster(tx, cluster); err != nil {
			return err
		}
		rec, err := tx.GetTask(cluster, id)
		if errors.Is(err, store.ErrNotFound) {
			return invalidParameter("task: the referenced task %s was not found in cluster %s", deref(in.Task, ""), cluster)
		}
		task = rec.Task
		return err
	})
	if err != nil {
		return nil, err
	}
	cont, err := execTarget(task, deref(in.Container, ""))
	if err != nil {
		return nil, err
	}
	if !task.EnableExecuteCommand || s.executor() == nil {
		return nil, invalidParameter("%s", execNotEnabled)
	}
	sess, err := s.openSession(ctx, cluster, task, cont.Name, argv)
	if err != nil {
		return nil, err
	}
	return &executeCommandOutput{
		ClusterArn: task.ClusterArn, ContainerArn: cont.ContainerArn, ContainerName: cont.Name, Interactive: true,
		Session: sess, TaskArn: task.TaskArn,
	}, nil
}

// execTarget is the container the command runs in: the one named, or the task's only one; the
// task must be RUNNING.
func execTarget(task model.Task, name string) (model.Container, error) {
	if task.LastStatus != model.TaskStatusRunning {
		return model.Container{}, invalidParameter("task: the execute command failed because task %s is %s, not RUNNING", lastPart(task.TaskArn), task.LastStatus)
	}
	if name == "" {
		if len(task.Containers) != 1 {
			return model.Container{}, invalidParameter("container: task %s has %d containers; name the one to run the command in", lastPart(task.TaskArn), len(task.Containers))
		}
		return task.Containers[0], nil
	}
	for _, c := range task.Containers {
		if c.Name == name {
			return c, nil
		}
	}
	return model.Container{}, invalidParameter("container: task %s has no container named %q", lastPart(task.TaskArn), name)
}

// openSession records a pending session for the task's container and returns its Session.
func (s *Server) openSession(ctx context.Context, cluster string, task model.Task, container string, argv []string) (execSession, error) {
	host := requestHost(ctx)
	if host == "" {
		return execSession{}, errors.New("the request named no host to reach the session at")
	}
	token, err := randomHex(32)
	if err != nil {
		return execSession{}, err
	}
	suffix, err := randomHex(8)
	if err != nil {
		return execSession{}, err
	}
	id := "ecs-execute-command-" + suffix
	now := s.clock.Now()
	s.exec.mu.Lock()
	defer s.exec.mu.Unlock()
	for k, p := range s.exec.pending {
		if now.After(p.expires) {
			delete(s.exec.pending, k)
		}
	}
	s.exec.pending[id] = &pendingSession{
		token: token, container: container, argv: argv, expires: now.Add(sessionOpenWithin),
		task: taskhost.Task{Cluster: cluster, TaskArn: task.TaskArn, ID: lastPart(task.TaskArn)},
	}
	return execSession{SessionID: id, StreamURL: "ws://" + host + dataChannelPath + id, TokenValue: token}, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making a session token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// claim takes the pending session id if token is its token and it has not expired: a session
// opens once.
func (s *Server) claim(id, token string) (*pendingSession, error) {
	s.exec.mu.Lock()
	defer s.exec.mu.Unlock()
	p, ok := s.exec.pending[id]
	if !ok || s.clock.Now().After(p.expires) {
		return nil, fmt.Errorf("session %s is unknown, already open or expired: run ExecuteCommand again", id)
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(p.token)) != 1 {
		return nil, fmt.Errorf("the token is not session %s's", id)
	}
	delete(s.exec.pending, id)
	return p, nil
}

// serveDataChannel is a session's WebSocket: the agent's side of the data channel, then the
// command on a terminal until it ends or the client terminates the session.
func (s *Server) serveDataChannel(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, dataChannelPath)
	conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered the client
	}
	log := s.log.WithValues("session", id)
	ctx := r.Context()
	var p *pendingSession
	agent, err := ssmsession.Accept(ctx, conn, id, func(token string) error {
		var err error
		p, err = s.claim(id, token)
		return err
	})
	if err != nil {
		log.Info("ECS Exec session refused", "error", err.Error())
		return
	}
	exec := s.executor()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-agent.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	sizes := make(chan taskhost.TermSize)
	go forwardSizes(ctx, agent.Sizes(), sizes)
	log.V(1).Info("ECS Exec session started", "task", p.task.ID, "container", p.container)
	err = exec.Exec(ctx, p.task, p.container, p.argv, taskhost.Streams{Stdin: agent, Stdout: agent, TTY: true, Resize: sizes})
	var exit *taskhost.ExitError
	reason := ""
	if err != nil && !errors.As(err, &exit) && ctx.Err() == nil {
		reason = err.Error()
	}
	_ = agent.Close(reason)
	log.V(1).Info("ECS Exec session ended", "reason", reason)
}

func forwardSizes(ctx context.Context, in <-chan ssmsession.TermSize, out chan<- taskhost.TermSize) {
	for {
		select {
		case <-ctx.Done():
			return
		case size := <-in:
			select {
			case out <- taskhost.TermSize{Width: size.Cols, Height: size.Rows}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// requestHostKey carries the Host a request came to, for the streamUrl of the sessions it opens.
type requestHostKey struct{}

func withRequestHost(ctx context.Context, host string) context.Context {
	return context.WithValue(ctx, requestHostKey{}, host)
}

func requestHost(ctx context.Context) string {
	h, _ := ctx.Value(requestHostKey{}).(string)
	return h
}
