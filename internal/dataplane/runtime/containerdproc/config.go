package containerdproc

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Paths inside the supervisor's directory.
const (
	configFile = "config.toml"
	pidFile    = "containerd.pid"
	logFile    = "containerd.log"
	socketFile = "containerd.sock"
)

// configTOML renders containerd's private configuration (config format version 2, which
// containerd 1.6 and 1.7 both read). Every path lives under dir.
func configTOML(dir string) string {
	q := func(p string) string { return strconv.Quote(filepath.Join(dir, p)) }
	return fmt.Sprintf(`version = 2
root = %s
state = %s
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = %s

[ttrpc]
  address = %s

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = %s
`, q("root"), q("state"), q(socketFile), q(socketFile+".ttrpc"), q("opt"))
}

// writeConfig creates dir and writes the configuration file, returning its path.
func writeConfig(dir string) (string, error) {
	for _, sub := range []string{"", "root", "state", "opt"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o711); err != nil {
			return "", fmt.Errorf("creating containerd directory: %w", err)
		}
	}
	path := filepath.Join(dir, configFile)
	if err := os.WriteFile(path, []byte(configTOML(dir)), 0o600); err != nil {
		return "", fmt.Errorf("writing containerd config: %w", err)
	}
	return path, nil
}
