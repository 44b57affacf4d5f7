package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/containerd/containerd"
	"github.com/go-logr/logr"
	"github.com/spf13/cobra"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/containerdproc"
)

func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage the images of the local data plane",
	}
	cmd.AddCommand(newImageLoadCmd())
	return cmd
}

func newImageLoadCmd() *cobra.Command {
	var stateDir string
	cmd := &cobra.Command{
		Use:   "load FILE",
		Short: "Import an OCI or docker-save tarball into the local data plane's containerd (FILE - reads stdin)",
		Long: `Import an OCI or docker-save tarball into the containerd of --state-dir, so that tasks can run
its images without a registry. When the data plane is not running, a containerd is started for the
import and stopped afterwards.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := loadImage(cmd.Context(), stateDir, args[0])
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintln(cmd.OutOrStdout(), "loaded", n)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&stateDir, "state-dir", controlplane.DefaultStateDir(), "state dir of the data plane ($NODELESS_STATE_DIR)")
	return cmd
}

func openInput(path string) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(os.Stdin), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening image archive: %w", err)
	}
	return f, nil
}

func loadImage(ctx context.Context, stateDir, path string) ([]string, error) {
	in, err := openInput(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = in.Close() }()
	var names []string
	err = withContainerd(ctx, stateDir, func(client *containerd.Client) error {
		var err error
		names, err = runtime.ImportImages(ctx, client, in)
		return err
	})
	return names, err
}

// withContainerd calls f with a client of the containerd of stateDir, starting one for the call when
// none runs.
func withContainerd(ctx context.Context, stateDir string, f func(*containerd.Client) error) error {
	dir := runtime.ContainerdDir(stateDir)
	sock := containerdproc.SocketPath(dir)
	if conn, err := net.DialTimeout("unix", sock, time.Second); err == nil {
		_ = conn.Close()
		client, err := containerd.New(sock, containerd.WithDefaultNamespace(runtime.Namespace), containerd.WithTimeout(5*time.Second))
		if err != nil {
			return fmt.Errorf("connecting to containerd at %s: %w", sock, err)
		}
		defer func() { _ = client.Close() }()
		return f(client)
	}
	return containerdproc.RunFor(ctx, containerdproc.Options{Dir: dir, Logger: logr.Discard()}, func(address string) error {
		client, err := containerd.New(address, containerd.WithDefaultNamespace(runtime.Namespace))
		if err != nil {
			return fmt.Errorf("connecting to containerd: %w", err)
		}
		defer func() { _ = client.Close() }()
		return f(client)
	})
}
