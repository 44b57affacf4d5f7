package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/containerd/containerd/runtime/v2/logging"

	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime/crilog"
)

// logCommand is the argument the runtime gives the logging binary before the log's path
// (runtime.LogArgs).
const logCommand = "log"

// runLogger is `nodeless-agent log PATH`, run by the containerd shim with the container's stdout
// and stderr as file descriptors 3 and 4 (containerd's logging-binary protocol). It copies both
// into PATH until the container closes them; it never exits on its own before that, so no output
// is lost.
func runLogger(path string) {
	logging.Run(func(_ context.Context, cfg *logging.Config, ready func() error) error {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return fmt.Errorf("nodeless-agent log: %w", err)
		}
		defer func() { _ = f.Close() }()
		if err := ready(); err != nil {
			return fmt.Errorf("nodeless-agent log: signalling ready: %w", err)
		}
		w := crilog.New(f)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []struct {
			name string
			r    io.Reader
		}{{crilog.Stdout, cfg.Stdout}, {crilog.Stderr, cfg.Stderr}} {
			wg.Go(func() { errs[i] = w.Copy(s.name, s.r) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("nodeless-agent log: %w", err)
			}
		}
		return nil
	})
}
