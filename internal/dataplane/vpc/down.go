package vpc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/dataplane/procwatch"
)

// StopUplink stops the slirp4netns that a data plane of stateDir left running (its pid file names
// it and it runs for this VPC's namespace; after kill -9 of nodeless it keeps running), for
// `nodeless down`: SIGTERM, SIGKILL after 5 s. It returns the pid it stopped, 0 when none ran, and
// removes the pid file either way.
func StopUplink(stateDir string) (int, error) {
	dir, err := filepath.Abs(stateDir)
	if err != nil {
		return 0, fmt.Errorf("resolving %s: %w", stateDir, err)
	}
	pidPath := filepath.Join(dir, "vpc", uplinkPidFile)
	raw, err := os.ReadFile(pidPath)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", pidPath, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 0 || !isUplinkProcess(pid, NamespacePath(dir)) {
		_ = os.Remove(pidPath)
		return 0, nil
	}
	_ = unix.Kill(pid, unix.SIGTERM)
	exited := make(chan struct{})
	go procwatch.Watch(pid, exited)
	select {
	case <-exited:
	case <-time.After(uplinkStopTimeout):
		_ = unix.Kill(pid, unix.SIGKILL)
		<-exited
	}
	_ = os.Remove(pidPath)
	return pid, nil
}
