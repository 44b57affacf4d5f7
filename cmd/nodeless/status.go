package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane"
)

func newStatusCmd() *cobra.Command {
	var stateDir string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what runs for a state dir: Kubernetes API, data plane, containerd and tasks, with addresses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := dataplane.ReadStatus(cmd.Context(), stateDir)
			if st != nil {
				printStatus(cmd.OutOrStdout(), st, kubeAPI(stateDir))
			}
			return err
		},
	}
	cmd.Flags().StringVar(&stateDir, "state-dir", controlplane.DefaultStateDir(), "state dir of nodeless up or nodeless dataplane ($NODELESS_STATE_DIR)")
	return cmd
}

// kubeAPI describes the Kubernetes API of the state dir's kubeconfig: its address and whether it
// accepts connections, or "" without a kubeconfig.
func kubeAPI(stateDir string) string {
	cfg, err := clientcmd.LoadFromFile(controlplane.KubeconfigPath(stateDir))
	if err != nil {
		return ""
	}
	for _, c := range cfg.Clusters {
		host := c.Server
		if u, err := url.Parse(host); err == nil {
			if conn, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
				_ = conn.Close()
				return host + " (running)"
			}
		}
		return host + " (not running)"
	}
	return ""
}

func printStatus(out io.Writer, st *dataplane.Status, kube string) {
	fmt.Fprintf(out, "state dir:      %s\n", st.StateDir)
	if kube == "" {
		kube = "none (no kubeconfig: not a state dir of nodeless up)"
	}
	fmt.Fprintf(out, "Kubernetes API: %s\n", kube)
	if st.DataPlane != nil {
		fmt.Fprintf(out, "data plane:     %s (pid %d, region %s)\n", st.DataPlane.Endpoint, st.DataPlane.PID, st.DataPlane.Region)
	} else {
		fmt.Fprintln(out, "data plane:     not running")
	}
	if st.Containerd != nil {
		fmt.Fprintf(out, "containerd:     %s (pid %d)\n", st.Containerd.Socket, st.Containerd.PID)
	} else {
		fmt.Fprintln(out, "containerd:     not running")
	}
	if st.TasksFrom == "" {
		fmt.Fprintln(out, "tasks:          none (no store)")
		return
	}
	fmt.Fprintf(out, "tasks:          %d not STOPPED (from the %s)\n", len(st.Tasks), st.TasksFrom)
	if len(st.Tasks) == 0 {
		return
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CLUSTER\tTASK\tGROUP\tLAST\tDESIRED\tADDRESS")
	for _, t := range st.Tasks {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Cluster, t.ID, t.Group, t.LastStatus, t.DesiredStatus, t.Address)
	}
	_ = w.Flush()
}
