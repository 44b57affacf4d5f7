package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane"
)

// downFlags are the flags of `nodeless down`.
type downFlags struct {
	stateDir string
	purge    bool
	grace    time.Duration
}

func newDownCmd() *cobra.Command {
	f := downFlags{}
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop every task and container of a state dir and remove their mounts, network namespaces and containerd state",
		Long: `down gives the machine back after nodeless up or nodeless dataplane stopped: Ctrl-C leaves task
containers running (so the next start re-attaches them); down stops them (SIGTERM, SIGKILL after
--grace), deletes the containers, stops the private containerd, its shims and the local VPC's
uplink, and removes every network namespace (with the VPC's veth pairs), mount and containerd
runtime state under --state-dir. The database stays: the next up keeps every cluster, task
definition and service, and services start their tasks again. --purge removes the whole state dir
as well (store, credentials, images, logs and, under up, etcd data, certificates and kubeconfig).
It refuses while nodeless runs on the state dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := dataplane.Down(cmd.Context(), dataplane.DownOptions{StateDir: f.stateDir, Purge: f.purge, Grace: f.grace})
			if rep != nil {
				printDown(cmd.OutOrStdout(), rep)
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.stateDir, "state-dir", controlplane.DefaultStateDir(), "state dir of nodeless up or nodeless dataplane ($NODELESS_STATE_DIR)")
	fs.BoolVar(&f.purge, "purge", false, "also remove the whole state dir: database, credentials, images, logs, etcd data, certificates")
	fs.DurationVar(&f.grace, "grace", dataplane.DefaultDownGrace, "how long a container may take to exit after SIGTERM before SIGKILL")
	return cmd
}

func printDown(out io.Writer, rep *dataplane.DownReport) {
	fmt.Fprintf(out, "tasks stopped: %d\n", len(rep.StoppedTasks))
	fmt.Fprintf(out, "containers removed: %d\n", len(rep.Containers))
	for _, p := range rep.Processes {
		fmt.Fprintf(out, "process stopped: %s\n", p)
	}
	for _, m := range rep.Unmounted {
		fmt.Fprintf(out, "unmounted: %s\n", m)
	}
	for _, r := range rep.Removed {
		fmt.Fprintf(out, "removed: %s\n", r)
	}
}
