package dataplane

import (
	"github.com/nodeless-dev/nodeless/internal/dataplane/api"
)

// SetExecutor sets what runs ECS Exec's commands in the data plane's containers (ExecuteCommand;
// package taskhost/localhost's Host, which needs the data plane itself, hence a setter). Until it
// is set, RunTask refuses enableExecuteCommand and ExecuteCommand answers as ECS does for a task
// without it.
func (d *DataPlane) SetExecutor(e api.Executor) {
	if s, ok := d.server.Handler.(*api.Server); ok {
		s.SetExecutor(e)
	}
}
