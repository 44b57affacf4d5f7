package runtime

import "path/filepath"

// LogPath is the file holding the stdout and stderr of one container of a task. The containerd shim
// writes it (cio.LogFile), so it keeps filling while nodeless is down and survives restarts; Remove
// keeps it.
func LogPath(stateDir, taskID, container string) string {
	return filepath.Join(stateDir, "logs", taskID, container+".log")
}
