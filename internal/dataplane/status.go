package dataplane

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/dataplane/credentials"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/containerdproc"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// runInfoFile is where a serving data plane records how to reach it (RunInfo, JSON), under the
// state dir; it is removed when the data plane stops (a kill -9 leaves it, and Status then sees
// that its pid is gone or no longer holds the store).
const runInfoFile = "dataplane.json"

// RunInfo is what a serving data plane records in StateDir/dataplane.json.
type RunInfo struct {
	PID      int    `json:"pid"`
	Endpoint string `json:"endpoint"`
	Region   string `json:"region"`
}

func (d *DataPlane) writeRunInfo() {
	raw, _ := json.Marshal(RunInfo{PID: os.Getpid(), Endpoint: d.Endpoint(), Region: d.opts.Region})
	if err := os.WriteFile(filepath.Join(d.opts.StateDir, runInfoFile), raw, 0o600); err != nil {
		d.log.Error(err, "recording the data plane's endpoint for `nodeless status` failed")
	}
}

func (d *DataPlane) removeRunInfo() { _ = os.Remove(filepath.Join(d.opts.StateDir, runInfoFile)) }

// Status is what runs for a state dir (`nodeless status`).
type Status struct {
	StateDir string
	// DataPlane is the ECS API of a running data plane (nil when none runs).
	DataPlane *RunInfo
	// Containerd is the private containerd's pid and socket when it answers (nil otherwise).
	Containerd *ContainerdStatus
	// Tasks are the tasks that are not STOPPED: from the running data plane's API, or from the
	// store when none runs (the next data plane re-attaches them).
	Tasks []TaskStatus
	// TasksFrom says where Tasks come from: "ECS API", "store" or "" (no store).
	TasksFrom string
}

// ContainerdStatus is a running private containerd.
type ContainerdStatus struct {
	PID    int
	Socket string
}

// TaskStatus is one task, as `nodeless status` lists it.
type TaskStatus struct {
	Cluster, ID, Group, LastStatus, DesiredStatus string
	// Address is the task's privateIPv4Address in the local VPC ("" before it has one).
	Address string
}

// ReadStatus finds out what runs for stateDir. It fails only when stateDir is not a state dir or
// the tasks cannot be read.
func ReadStatus(ctx context.Context, stateDir string) (*Status, error) {
	dir, err := checkStateDir(stateDir)
	if err != nil {
		return nil, err
	}
	st := &Status{StateDir: dir, Containerd: containerdStatus(dir)}
	if InUse(filepath.Join(dir, "state.db")) {
		info, err := readRunInfo(dir)
		if err != nil {
			return st, err
		}
		st.DataPlane, st.TasksFrom = info, "ECS API"
		st.Tasks, err = tasksFromAPI(ctx, dir, info)
		return st, err
	}
	if _, err := os.Stat(filepath.Join(dir, "state.db")); err != nil {
		return st, nil
	}
	st.TasksFrom = "store"
	st.Tasks, err = tasksFromStore(dir)
	return st, err
}

func readRunInfo(dir string) (*RunInfo, error) {
	raw, err := os.ReadFile(filepath.Join(dir, runInfoFile))
	if err != nil {
		return nil, fmt.Errorf("a data plane holds the store of %s but has not recorded its endpoint yet (%w): it may still be starting", dir, err)
	}
	var info RunInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, runInfoFile), err)
	}
	return &info, nil
}

// containerdStatus reports the containerd of dir's pid file when it answers on its socket.
func containerdStatus(dir string) *ContainerdStatus {
	cdir := runtime.ContainerdDir(dir)
	raw, err := os.ReadFile(filepath.Join(cdir, "containerd.pid"))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || unix.Kill(pid, 0) != nil {
		return nil
	}
	sock := containerdproc.SocketPath(cdir)
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return nil
	}
	_ = c.Close()
	return &ContainerdStatus{PID: pid, Socket: sock}
}

func tasksFromStore(dir string) ([]TaskStatus, error) {
	st, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		return nil, err
	}
	defer func() { _ = st.Close() }()
	var out []TaskStatus
	err = st.View(func(tx *store.Tx) error {
		clusters, err := tx.Clusters()
		if err != nil {
			return err
		}
		for _, c := range clusters {
			tasks, err := tx.Tasks(c.Cluster.ClusterName)
			if err != nil {
				return err
			}
			for _, r := range tasks {
				if t := &r.Task; t.LastStatus != model.TaskStatusStopped {
					out = append(out, TaskStatus{
						Cluster: c.Cluster.ClusterName, ID: taskIDOf(t.TaskArn), Group: aws.ToString(t.Group),
						LastStatus: t.LastStatus, DesiredStatus: t.DesiredStatus, Address: t.PrivateIPv4(),
					})
				}
			}
		}
		return nil
	})
	return out, err
}

// tasksFromAPI lists the tasks of every cluster through the running data plane's ECS API, signed
// with the credentials it wrote.
func tasksFromAPI(ctx context.Context, dir string, info *RunInfo) ([]TaskStatus, error) {
	f, err := os.Open(filepath.Join(dir, "credentials"))
	if err != nil {
		return nil, fmt.Errorf("reading the data plane's credentials: %w", err)
	}
	creds, err := credentials.Parse(f, credentials.Profile)
	_ = f.Close()
	if err != nil {
		return nil, err
	}
	if _, err := url.Parse(info.Endpoint); err != nil {
		return nil, fmt.Errorf("data plane endpoint %q: %w", info.Endpoint, err)
	}
	client := ecs.New(ecs.Options{
		Region: info.Region, BaseEndpoint: aws.String(info.Endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		HTTPClient:  &http.Client{Timeout: 10 * time.Second},
	})
	clusters, err := client.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil {
		return nil, fmt.Errorf("asking the data plane at %s: %w", info.Endpoint, err)
	}
	var out []TaskStatus
	for _, c := range clusters.ClusterArns {
		rows, err := clusterTasks(ctx, client, c)
		if err != nil {
			return out, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

func clusterTasks(ctx context.Context, client *ecs.Client, cluster string) ([]TaskStatus, error) {
	var out []TaskStatus
	pages := ecs.NewListTasksPaginator(client, &ecs.ListTasksInput{Cluster: aws.String(cluster)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("listing the tasks of %s: %w", cluster, err)
		}
		if len(page.TaskArns) == 0 {
			continue
		}
		desc, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: page.TaskArns})
		if err != nil {
			return out, fmt.Errorf("describing the tasks of %s: %w", cluster, err)
		}
		for _, t := range desc.Tasks {
			out = append(out, TaskStatus{
				Cluster: cluster[strings.LastIndexByte(cluster, '/')+1:], ID: taskIDOf(aws.ToString(t.TaskArn)),
				Group: aws.ToString(t.Group), LastStatus: aws.ToString(t.LastStatus), DesiredStatus: aws.ToString(t.DesiredStatus),
				Address: taskAddress(t),
			})
		}
	}
	return out, nil
}

func taskAddress(t ecstypes.Task) string {
	for _, c := range t.Containers {
		for _, n := range c.NetworkInterfaces {
			if a := aws.ToString(n.PrivateIpv4Address); a != "" {
				return a
			}
		}
	}
	return ""
}
