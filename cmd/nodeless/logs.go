package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-client/pkg/logs"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/crilog"
)

func newLogsCmd() *cobra.Command {
	var (
		stateDir string
		follow   bool
		awsFlags awsLogsFlags
	)
	cmd := &cobra.Command{
		Use:   "logs TASK_ID_OR_ARN [CONTAINER]",
		Short: "Print the output of a container of a local data plane task, or with --aws of a task on AWS",
		Long: `Print what a container of a task wrote to stdout and stderr. The container may be omitted when
the task has only one. Logs are kept on disk after the task stopped.

With --aws, the task runs on ECS (AWS, or the ECS-compatible --ecs-endpoint) and its log is read
from CloudWatch Logs: the stream its task definition's awslogs options name, through the same
reader as kubectl logs on the virtual node. Credentials come from the standard AWS chain.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			container := ""
			if len(args) == 2 {
				container = args[1]
			}
			if awsFlags.enabled {
				return awsFlags.run(cmd.Context(), cmd.OutOrStdout(), args[0], container, follow)
			}
			if err := awsFlags.checkLocal(cmd.Flags()); err != nil {
				return err
			}
			path, err := logFile(stateDir, taskIDOf(args[0]), container)
			if err != nil {
				return err
			}
			return printLog(cmd.Context(), cmd.OutOrStdout(), path, follow)
		},
	}
	cmd.Flags().StringVar(&stateDir, "state-dir", controlplane.DefaultStateDir(), "state dir of the data plane ($NODELESS_STATE_DIR)")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing what the container writes")
	awsFlags.add(cmd.Flags())
	return cmd
}

// taskIDOf accepts a task ID or a task ARN (arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID).
func taskIDOf(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 && strings.HasPrefix(s, "arn:") {
		return s[i+1:]
	}
	return s
}

func logFile(stateDir, taskID, container string) (string, error) {
	if container != "" {
		return runtime.LogPath(stateDir, taskID, container), nil
	}
	dir := filepath.Dir(runtime.LogPath(stateDir, taskID, "x"))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("no logs for task %s in %s: %w", taskID, stateDir, err)
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".log"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	switch len(names) {
	case 0:
		return "", fmt.Errorf("no logs for task %s yet", taskID)
	case 1:
		return runtime.LogPath(stateDir, taskID, names[0]), nil
	default:
		return "", fmt.Errorf("task %s has several containers (%s): name one", taskID, strings.Join(names, ", "))
	}
}

// printLog copies the log at path to out: what the container wrote, without the times, streams
// and tags of the CRI format the nodeless-agent writes (read with the kubelet's reader, as
// kubectl logs reads it); a log written without the agent is copied as it is. With follow it
// keeps printing until ctx ends (^C), which is no error.
func printLog(ctx context.Context, out io.Writer, path string, follow bool) error {
	cri, err := crilog.IsLog(path)
	if err != nil {
		return fmt.Errorf("opening log: %w", err)
	}
	if cri {
		err := logs.ReadLogs(ctx, path, "", &logs.LogOptions{Follow: follow}, stillRunning{}, out, out)
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("reading log: %w", err)
		}
		return nil
	}
	return printRawLog(ctx, out, path, follow)
}

// stillRunning answers the one question the kubelet's log reader asks while it follows (is the
// container still running?) with yes: `nodeless logs -f` follows until ^C, also after the task
// stopped, and needs no running data plane.
type stillRunning struct{ internalapi.RuntimeService }

func (stillRunning) ContainerStatus(_ context.Context, id string, _ bool) (*runtimeapi.ContainerStatusResponse, error) {
	return &runtimeapi.ContainerStatusResponse{Status: &runtimeapi.ContainerStatus{Id: id, State: runtimeapi.ContainerState_CONTAINER_RUNNING}}, nil
}

// printRawLog copies a log written without the agent (no times) as it is.
func printRawLog(ctx context.Context, out io.Writer, path string, follow bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening log: %w", err)
	}
	defer func() { _ = f.Close() }()
	for {
		if _, err := io.Copy(out, f); err != nil {
			return fmt.Errorf("reading log: %w", err)
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil
			}
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
