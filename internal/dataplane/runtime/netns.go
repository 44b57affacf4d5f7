package runtime

import (
	"path/filepath"
)

// netnsPath is where the task's network namespace is bind-mounted (created and removed with package
// vpc's EnsureNamespace and RemoveNamespace).
func netnsPath(stateDir, taskID string) string {
	return filepath.Join(stateDir, "netns", taskID)
}
