package runtime

import (
	"path/filepath"

	"github.com/containerd/containerd/cio"
)

// LogPath is the file holding the stdout and stderr of one container of a task. The containerd shim
// writes it (through ContainerdOptions.LogBinary in the CRI log format, else raw with
// cio.LogFile), so it keeps filling while nodeless is down and survives restarts; Remove keeps it.
// A container restarted in its task appends to the same file.
func LogPath(stateDir, taskID, container string) string {
	return filepath.Join(stateDir, "logs", taskID, container+".log")
}

// logCommand is the logging binary's command before the log's path (`nodeless-agent log PATH`).
const logCommand = "log"

// logCreator is how the shim writes a container process's output to path.
func (c *Containerd) logCreator(path string) cio.Creator {
	if c.opts.LogBinary == "" {
		return cio.LogFile(path)
	}
	return cio.BinaryIO(c.opts.LogBinary, map[string]string{logCommand: path})
}

// ContainerID is the containerd ID of a task's container (in containerd namespace Namespace):
// the virtual node execs, attaches and signals through it.
func ContainerID(taskID, container string) string { return containerID(taskID, container) }
