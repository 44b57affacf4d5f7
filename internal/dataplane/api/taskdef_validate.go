package api

import (
	"fmt"
	"regexp"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/tasksize"
)

// taskDefChecker validates a RegisterTaskDefinition request and normalises it the way ECS does.
// What Fargate and awsvpc refuse (ipcMode, privileged, hostname, cpu/memory sizes, ...) is package
// fargate's, applied to the raw request first (Server.precheck); these are the rest of ECS's rules
// and what only the local data plane refuses.
type taskDefChecker struct {
	in       *registerTaskDefinitionInput
	cpu, mem int // task-level, 0 when not given
	names    map[string]*model.ContainerDefinition
	volumes  map[string]bool
}

func validateTaskDefinition(in *registerTaskDefinitionInput) error {
	c := &taskDefChecker{in: in, names: map[string]*model.ContainerDefinition{}, volumes: map[string]bool{}}
	for _, step := range []func() error{
		c.family, c.network, c.resources, c.platform, c.volumeNames, c.containers, c.dependencies, c.sums,
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return checkTags("tags", in.Tags)
}

func (c *taskDefChecker) family() error { return checkName("family", c.in.Family) }

func (c *taskDefChecker) network() error {
	for i, rc := range c.in.RequiresCompatibilities {
		if rc != model.LaunchTypeFargate {
			return invalidParameter("requiresCompatibilities[%d]: %s is not available on the nodeless local data plane; use FARGATE", i, rc)
		}
	}
	if nm := c.in.NetworkMode; nm != nil && *nm != model.NetworkModeAwsvpc {
		return invalidParameter("networkMode: %s is not available on the nodeless local data plane (every task gets its own network namespace); use awsvpc", *nm)
	}
	return nil
}

func (c *taskDefChecker) resources() error {
	// ECS converts cpu and memory to integers (CPU units, MiB) when it registers the revision.
	if c.in.Cpu != nil {
		n, err := tasksize.ParseCPU(*c.in.Cpu)
		if err != nil {
			return invalidParameter("%v", err)
		}
		c.cpu = n
		s := strconv.Itoa(n)
		c.in.Cpu = &s
	}
	if c.in.Memory != nil {
		n, err := tasksize.ParseMemory(*c.in.Memory)
		if err != nil {
			return invalidParameter("%v", err)
		}
		c.mem = n
		s := strconv.Itoa(n)
		c.in.Memory = &s
	}
	return nil
}

func (c *taskDefChecker) platform() error {
	if es := c.in.EphemeralStorage; es != nil && (es.SizeInGiB < 21 || es.SizeInGiB > 200) {
		return invalidParameter("ephemeralStorage.sizeInGiB: %d is out of range; use 21 to 200", es.SizeInGiB)
	}
	rp := c.in.RuntimePlatform
	if rp == nil {
		return nil
	}
	if rp.OperatingSystemFamily != nil && *rp.OperatingSystemFamily != "LINUX" {
		return invalidParameter("runtimePlatform.operatingSystemFamily: %s is not available locally; use LINUX", *rp.OperatingSystemFamily)
	}
	host := map[string]string{"amd64": "X86_64", "arm64": "ARM64"}[goruntime.GOARCH]
	if rp.CpuArchitecture != nil && *rp.CpuArchitecture != host {
		return invalidParameter("runtimePlatform.cpuArchitecture: %s cannot run on this %s machine; use %s or remove it", *rp.CpuArchitecture, goruntime.GOARCH, host)
	}
	return nil
}

func (c *taskDefChecker) volumeNames() error {
	for i, v := range c.in.Volumes {
		p := fmt.Sprintf("volumes[%d].name", i)
		if v.Name == nil {
			return invalidParameter("%s: required; name every volume", p)
		}
		if err := checkName(p, *v.Name); err != nil {
			return err
		}
		if c.volumes[*v.Name] {
			return invalidParameter("%s: %q is used twice; give each volume its own name", p, *v.Name)
		}
		c.volumes[*v.Name] = true
	}
	return nil
}

func (c *taskDefChecker) containers() error {
	defs := c.in.ContainerDefinitions
	if len(defs) == 0 {
		return invalidParameter("containerDefinitions: at least one container definition is required")
	}
	if len(defs) > 10 {
		return invalidParameter("containerDefinitions: %d containers; a task definition holds at most 10", len(defs))
	}
	essential := false
	ports := map[string]string{}
	for i := range defs {
		d := &defs[i]
		p := fmt.Sprintf("containerDefinitions[%d]", i)
		if err := c.container(p, d); err != nil {
			return err
		}
		if err := checkPorts(p, d, ports); err != nil {
			return err
		}
		essential = essential || *d.Essential
	}
	if !essential {
		return clientError("containerDefinitions: at least one container must be essential; set essential true on the main container")
	}
	return nil
}

func (c *taskDefChecker) container(p string, d *model.ContainerDefinition) error {
	if d.Name == nil || *d.Name == "" {
		// ECS's (and moto's) answer: ClientException "Container.name should not be null or empty."
		return clientError("%s.name: Container.name should not be null or empty. Name every container", p)
	}
	if err := checkName(p+".name", *d.Name); err != nil {
		return err
	}
	if c.names[*d.Name] != nil {
		return invalidParameter("%s.name: %q is used by another container; container names must be unique within a task definition", p, *d.Name)
	}
	c.names[*d.Name] = d
	if err := checkImage(p+".image", d.Image); err != nil {
		return err
	}
	if d.Essential == nil {
		t := true
		d.Essential = &t
	}
	for _, check := range []func(string, *model.ContainerDefinition) error{
		checkContainerResources, checkHealthCheck, checkTimeouts, checkRestartPolicy, checkEnvironment, c.checkMounts,
		checkContainerMembers,
	} {
		if err := check(p, d); err != nil {
			return err
		}
	}
	normaliseContainer(d)
	return nil
}

var (
	imageNamePattern = regexp.MustCompile(`^[A-Za-z0-9_:./#-]{1,255}$`)
	digestPattern    = regexp.MustCompile(`^sha256:[A-Fa-f0-9]{64}$`)
)

// checkImage checks an image reference as ECS does: up to 255 letters, numbers, hyphens,
// underscores, colons, periods, slashes and number signs, then optionally @sha256:<64 hex digits>.
func checkImage(member string, image *string) error {
	if image == nil || *image == "" {
		// ECS's (and moto's) answer: ClientException "Container.image should not be null or empty."
		return clientError("%s: Container.image should not be null or empty. Name the container image (for example public.ecr.aws/docker/library/nginx:latest)", member)
	}
	name, digest, hasDigest := strings.Cut(*image, "@")
	if !imageNamePattern.MatchString(name) || (hasDigest && !digestPattern.MatchString(digest)) {
		return invalidParameter("%s: %q is not an image reference: use repository-url/image:tag or repository-url/image@sha256:<64 hex digits>, up to 255 characters", member, *image)
	}
	return nil
}

func checkContainerResources(p string, d *model.ContainerDefinition) error {
	if d.Cpu < 0 {
		return invalidParameter("%s.cpu: %d is negative; give CPU units (1024 = one vCPU) or 0", p, d.Cpu)
	}
	if d.Memory != nil && *d.Memory < 6 {
		return invalidParameter("%s.memory: %d MiB; a container needs at least 6 MiB", p, *d.Memory)
	}
	if r := d.MemoryReservation; r != nil {
		if *r < 6 {
			return invalidParameter("%s.memoryReservation: %d MiB; a container needs at least 6 MiB", p, *r)
		}
		if d.Memory != nil && *r > *d.Memory {
			return invalidParameter("%s.memoryReservation: %d MiB is above memory %d MiB; lower it or raise memory", p, *r, *d.Memory)
		}
	}
	return nil
}

func checkHealthCheck(p string, d *model.ContainerDefinition) error {
	hc := d.HealthCheck
	if hc == nil {
		return nil
	}
	p += ".healthCheck"
	if len(hc.Command) < 2 || (hc.Command[0] != "CMD" && hc.Command[0] != "CMD-SHELL") {
		return invalidParameter(`%s.command: must start with "CMD" (then the executable and its arguments) or "CMD-SHELL" (then one shell command), e.g. ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]`, p)
	}
	for _, b := range []struct {
		name     string
		v        *int32
		min, max int32
	}{{"interval", hc.Interval, 5, 300}, {"timeout", hc.Timeout, 2, 120}, {"retries", hc.Retries, 1, 10}, {"startPeriod", hc.StartPeriod, 0, 300}} {
		if b.v != nil && (*b.v < b.min || *b.v > b.max) {
			return invalidParameter("%s.%s: %d is out of range; use %d to %d", p, b.name, *b.v, b.min, b.max)
		}
	}
	return nil
}

func checkTimeouts(p string, d *model.ContainerDefinition) error {
	if d.StopTimeout != nil && (*d.StopTimeout < 2 || *d.StopTimeout > 120) {
		return invalidParameter("%s.stopTimeout: %d seconds is out of range; Fargate allows 2 to 120", p, *d.StopTimeout)
	}
	if d.StartTimeout != nil && *d.StartTimeout < 0 {
		return invalidParameter("%s.startTimeout: %d seconds is negative", p, *d.StartTimeout)
	}
	return nil
}

// checkRestartPolicy checks restartPolicy as the ECS API reference bounds it: enabled is
// required, at most 50 ignoredExitCodes, restartAttemptPeriod 60 to 1800 seconds.
func checkRestartPolicy(p string, d *model.ContainerDefinition) error {
	rp := d.RestartPolicy
	if rp == nil {
		return nil
	}
	p += ".restartPolicy"
	if rp.Enabled == nil {
		return invalidParameter("%s.enabled: required; set it to true or false", p)
	}
	if len(rp.IgnoredExitCodes) > 50 {
		return invalidParameter("%s.ignoredExitCodes: %d codes; ECS takes at most 50", p, len(rp.IgnoredExitCodes))
	}
	if v := rp.RestartAttemptPeriod; v != nil && (*v < 60 || *v > 1800) {
		return invalidParameter("%s.restartAttemptPeriod: %d seconds is out of range; use 60 to 1800", p, *v)
	}
	return nil
}

func checkEnvironment(p string, d *model.ContainerDefinition) error {
	for i, kv := range d.Environment {
		if kv.Name == nil || *kv.Name == "" {
			return invalidParameter("%s.environment[%d].name: required; every environment variable needs a name", p, i)
		}
	}
	for i, s := range d.Secrets {
		if s.Name == "" {
			return invalidParameter("%s.secrets[%d].name: required", p, i)
		}
	}
	return nil
}

func (c *taskDefChecker) checkMounts(p string, d *model.ContainerDefinition) error {
	for i, m := range d.MountPoints {
		mp := fmt.Sprintf("%s.mountPoints[%d]", p, i)
		if m.SourceVolume == nil || !c.volumes[*m.SourceVolume] {
			return invalidParameter("%s.sourceVolume: must name a volume of the task definition's volumes", mp)
		}
		if m.ContainerPath == nil || !strings.HasPrefix(*m.ContainerPath, "/") {
			return invalidParameter("%s.containerPath: required, an absolute path inside the container", mp)
		}
	}
	if len(d.VolumesFrom) > 0 {
		return invalidParameter("%s.volumesFrom: not supported by the nodeless local data plane; share a task volume through mountPoints instead", p)
	}
	return nil
}

// checkPorts fills hostPort and protocol as ECS does in awsvpc mode and refuses ports used twice
// (a hostPort other than containerPort is package fargate's awsvpc rule, applied before decoding).
func checkPorts(p string, d *model.ContainerDefinition, used map[string]string) error {
	for i := range d.PortMappings {
		pm := &d.PortMappings[i]
		mp := fmt.Sprintf("%s.portMappings[%d]", p, i)
		if pm.ContainerPort == nil || *pm.ContainerPort < 1 || *pm.ContainerPort > 65535 {
			return invalidParameter("%s.containerPort: required, 1 to 65535", mp)
		}
		pm.HostPort = pm.ContainerPort
		if pm.Protocol == nil {
			tcp := "tcp"
			pm.Protocol = &tcp
		}
		key := fmt.Sprintf("%d/%s", *pm.ContainerPort, *pm.Protocol)
		if other, dup := used[key]; dup {
			return invalidParameter("%s.containerPort: %s is already mapped by %s; the containers of a task share one network namespace", mp, key, other)
		}
		used[key] = mp
	}
	return nil
}

func normaliseContainer(d *model.ContainerDefinition) {
	d.Environment = nonNil(d.Environment)
	d.MountPoints = nonNil(d.MountPoints)
	d.VolumesFrom = nonNil(d.VolumesFrom)
	d.PortMappings = nonNil(d.PortMappings)
}

// dependencies checks dependsOn: it names another container of the task, and HEALTHY needs a
// health check on that container.
func (c *taskDefChecker) dependencies() error {
	for i, d := range c.in.ContainerDefinitions {
		for j, dep := range d.DependsOn {
			p := fmt.Sprintf("containerDefinitions[%d].dependsOn[%d]", i, j)
			target := c.names[dep.ContainerName]
			if target == nil {
				return invalidParameter("%s.containerName: %q is not a container of this task definition; name one of its containers", p, dep.ContainerName)
			}
			if dep.ContainerName == *d.Name {
				return invalidParameter("%s.containerName: a container cannot depend on itself", p)
			}
			if dep.Condition == model.DependsOnHealthy && target.HealthCheck == nil {
				return invalidParameter("%s.condition: HEALTHY needs a healthCheck on container %q; add one or use START", p, dep.ContainerName)
			}
		}
	}
	return c.acyclic()
}

// acyclic refuses dependsOn cycles, which would never start.
func (c *taskDefChecker) acyclic() error {
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case 1:
			return invalidParameter("containerDefinitions: dependsOn has a cycle through container %q; remove one of its dependencies", name)
		case 2:
			return nil
		}
		state[name] = 1
		for _, dep := range c.names[name].DependsOn {
			if err := visit(dep.ContainerName); err != nil {
				return err
			}
		}
		state[name] = 2
		return nil
	}
	for _, d := range c.in.ContainerDefinitions {
		if err := visit(*d.Name); err != nil {
			return err
		}
	}
	return nil
}

// sums checks that the containers fit in the task's cpu and memory.
func (c *taskDefChecker) sums() error {
	var cpu, mem int
	for _, d := range c.in.ContainerDefinitions {
		cpu += int(d.Cpu)
		switch {
		case d.Memory != nil:
			mem += int(*d.Memory)
		case d.MemoryReservation != nil:
			mem += int(*d.MemoryReservation)
		}
	}
	if c.cpu > 0 && cpu > c.cpu {
		return clientError("containerDefinitions: the containers' cpu adds up to %d, above the task's cpu %d; lower it or raise the task's cpu", cpu, c.cpu)
	}
	if c.mem > 0 && mem > c.mem {
		return clientError("containerDefinitions: the containers' memory adds up to %d MiB, above the task's memory %d MiB; lower it or raise the task's memory", mem, c.mem)
	}
	return nil
}
