package runtime

import (
	"fmt"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// validateDependencies rejects dependsOn entries naming unknown containers or conditions, HEALTHY on
// a container without a health check, and cycles.
func validateDependencies(cs []containerSpec) error {
	byName := map[string]containerSpec{}
	for _, c := range cs {
		byName[c.Name] = c
	}
	for _, c := range cs {
		for _, d := range c.DependsOn {
			dep, ok := byName[d.ContainerName]
			switch {
			case !ok:
				return fmt.Errorf("container %s depends on unknown container %q", c.Name, d.ContainerName)
			case d.ContainerName == c.Name:
				return fmt.Errorf("container %s depends on itself", c.Name)
			case d.Condition == model.DependsOnHealthy && dep.Health == nil:
				return fmt.Errorf("container %s waits for %s to be HEALTHY, but %s has no healthCheck", c.Name, dep.Name, dep.Name)
			case !knownCondition(d.Condition):
				return fmt.Errorf("container %s: unknown dependsOn condition %q", c.Name, d.Condition)
			}
		}
	}
	return findCycle(cs)
}

func knownCondition(c string) bool {
	switch c {
	case model.DependsOnStart, model.DependsOnComplete, model.DependsOnSuccess, model.DependsOnHealthy:
		return true
	}
	return false
}

func findCycle(cs []containerSpec) error {
	deps := map[string][]string{}
	for _, c := range cs {
		for _, d := range c.DependsOn {
			deps[c.Name] = append(deps[c.Name], d.ContainerName)
		}
	}
	const (
		visiting = 1
		visited  = 2
	)
	mark := map[string]int{}
	var visit func(string) error
	visit = func(n string) error {
		switch mark[n] {
		case visiting:
			return fmt.Errorf("dependency cycle through container %s", n)
		case visited:
			return nil
		}
		mark[n] = visiting
		for _, d := range deps[n] {
			if err := visit(d); err != nil {
				return err
			}
		}
		mark[n] = visited
		return nil
	}
	for _, c := range cs {
		if err := visit(c.Name); err != nil {
			return err
		}
	}
	return nil
}

// depStatus evaluates one dependency: met, or impossible (with the reason), or neither yet.
func depStatus(d model.ContainerDependency, dep *ctr) (met bool, impossible string) {
	exited := dep.done && dep.state.ExitCode != nil
	switch {
	case dep.done && !dep.started:
		return false, fmt.Sprintf("dependency %s stopped before it started (%s)", dep.spec.Name, dep.state.Reason)
	case d.Condition == model.DependsOnStart:
		return dep.started, ""
	case d.Condition == model.DependsOnComplete:
		return dep.done, ""
	case d.Condition == model.DependsOnSuccess && exited && *dep.state.ExitCode != 0:
		return false, fmt.Sprintf("dependency %s exited with code %d, SUCCESS required", dep.spec.Name, *dep.state.ExitCode)
	case d.Condition == model.DependsOnSuccess:
		return exited, ""
	case d.Condition == model.DependsOnHealthy && dep.state.Health == model.HealthHealthy:
		return true, ""
	case d.Condition == model.DependsOnHealthy && dep.done:
		return false, fmt.Sprintf("dependency %s exited before it became HEALTHY", dep.spec.Name)
	}
	return false, ""
}

// waitDependencies blocks until every dependsOn condition of c holds; it returns why they never
// will, or why waiting stopped.
func (t *task) waitDependencies(c *ctr) string {
	var timeout <-chan time.Time
	if c.spec.StartTimeout > 0 && len(c.spec.DependsOn) > 0 {
		timer := time.NewTimer(c.spec.StartTimeout)
		defer timer.Stop()
		timeout = timer.C
	}
	for {
		t.mu.Lock()
		if t.stopping || c.done {
			t.mu.Unlock()
			return "Task stopped before the container started"
		}
		all := true
		for _, d := range c.spec.DependsOn {
			met, impossible := depStatus(d, t.byName[d.ContainerName])
			if impossible != "" {
				t.mu.Unlock()
				return "DependencyConditionNotMet: " + impossible
			}
			all = all && met
		}
		changed := t.changed
		if all {
			c.starting = true // decided under the lock: a failure of the task now leaves c to us
			t.mu.Unlock()
			return ""
		}
		t.mu.Unlock()
		select {
		case <-changed:
		case <-timeout:
			return fmt.Sprintf("DependencyConditionNotMet: dependsOn of %s not met within its startTimeout of %s", c.spec.Name, c.spec.StartTimeout)
		case <-t.ctx.Done():
			return "runtime shutting down"
		}
	}
}

// waitDependents blocks, once the task stops, until every container that depends on c has stopped:
// ECS stops containers in the reverse order of dependsOn. It returns false when c exited meanwhile
// or supervision ended.
func (t *task) waitDependents(c *ctr) bool {
	for {
		t.mu.Lock()
		pending := false
		for _, other := range t.ctrs {
			for _, d := range other.spec.DependsOn {
				if d.ContainerName == c.spec.Name && !other.done {
					pending = true
				}
			}
		}
		changed := t.changed
		t.mu.Unlock()
		if !pending {
			return true
		}
		select {
		case <-changed:
		case <-c.exited:
			return false
		case <-t.ctx.Done():
			return false
		}
	}
}
