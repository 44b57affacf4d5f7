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

	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
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

func printLog(ctx context.Context, out io.Writer, path string, follow bool) error {
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
