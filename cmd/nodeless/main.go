// Command nodeless runs the Kubernetes API as a control plane and ECS (or its local stand-in) as the
// data plane. Each subcommand lives in its own file; main only assembles them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "nodeless:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "nodeless",
		Short:         "The Kubernetes API as the control plane, a serverless container service as the data plane",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newVersionCmd(),
		newDataplaneCmd(),
		newImageCmd(),
		newLogsCmd(),
		newUpCmd(),
		newKubeconfigCmd(),
		newKubectlCmd(),
		newControllerCmd(),
	)
	return root
}
