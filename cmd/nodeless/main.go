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
	"github.com/spf13/pflag"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	go exitOnSecondSignal(cancel)
	// A Kubernetes package registers a --version flag on the process-wide flag set, which cobra
	// shows on every command; nodeless has `nodeless version` instead.
	_ = pflag.CommandLine.MarkHidden("version")
	err := newRootCmd().ExecuteContext(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "nodeless:", err)
		os.Exit(1)
	}
}

// exitOnSecondSignal cancels the commands' context on the first SIGINT/SIGTERM, so they stop in
// order, and exits at once on the second, for a user who does not want to wait.
func exitOnSecondSignal(cancel context.CancelFunc) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	<-sigs
	cancel()
	<-sigs
	fmt.Fprintln(os.Stderr, "nodeless: second signal, exiting without waiting for a clean stop")
	os.Exit(130)
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
		newDownCmd(),
		newStatusCmd(),
	)
	return root
}
