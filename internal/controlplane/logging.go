package controlplane

import (
	"flag"
	"fmt"
	"io"
	"os"

	"k8s.io/klog/v2"
)

// redirectKlog sends klog (the API server's and controller-manager's logs) to the file at path
// and away from the terminal, where `nodeless up` prints its own progress. klog is process-wide:
// this affects every package that logs through it. verbosity is klog's -v.
func redirectKlog(path string, verbosity int) (io.Closer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening log file: %w", err)
	}
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	settings := map[string]string{
		"logtostderr":     "false",
		"alsologtostderr": "false",
		"one_output":      "true",
		// Without this, errors would still be copied to stderr.
		"stderrthreshold": "FATAL",
		"v":               fmt.Sprint(verbosity),
	}
	for k, v := range settings {
		if err := fs.Set(k, v); err != nil {
			_ = f.Close() // already failing
			return nil, fmt.Errorf("configuring klog %s: %w", k, err)
		}
	}
	klog.SetOutput(f)
	return f, nil
}
