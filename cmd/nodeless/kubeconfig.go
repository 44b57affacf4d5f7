package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
)

func newKubeconfigCmd() *cobra.Command {
	var stateDir string
	var pathOnly bool
	cmd := &cobra.Command{
		Use:   "kubeconfig",
		Short: "Print the admin kubeconfig of the control plane that `nodeless up` runs",
		Example: `  nodeless kubeconfig > ~/.kube/nodeless.yaml
  export KUBECONFIG=$(nodeless kubeconfig --path)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := controlplane.KubeconfigPath(stateDir)
			data, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("reading kubeconfig (has `nodeless up --state-dir %s` run once?): %w", stateDir, err)
			}
			if pathOnly {
				_, err = fmt.Fprintln(cmd.OutOrStdout(), path)
				return err
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
	cmd.Flags().StringVar(&stateDir, "state-dir", controlplane.DefaultStateDir(), "state dir of `nodeless up` ($NODELESS_STATE_DIR)")
	cmd.Flags().BoolVar(&pathOnly, "path", false, "print the kubeconfig's path instead of its content")
	return cmd
}
