package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/tasksize"
)

// ECS defaults for health checks and stopping.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 5 * time.Second
	defaultHealthRetries  = 3
	defaultStopTimeout    = 30 * time.Second
)

// containerSpec is one container definition with the task's overrides applied: everything the
// runtime needs to create and supervise it.
type containerSpec struct {
	Name        string
	Image       string
	Essential   bool
	EntryPoint  []string
	Command     []string
	Env         []model.KeyValuePair
	WorkingDir  string
	User        string
	Hostname    string
	CPU         int32 // container cpu units (0: unset)
	MemoryMiB   int64 // hard limit (0: none)
	Ports       []model.PortMapping
	DependsOn   []model.ContainerDependency
	Health      *healthSpec
	StopTimeout time.Duration
	Mounts      []model.MountPoint
	ReadonlyFS  bool
	Ulimits     []model.Ulimit
	// Auth pulls the image from a private registry (repositoryCredentials); nil for none.
	Auth *model.RegistryAuth
	// Capabilities added and dropped (linuxParameters.capabilities); nil for none.
	Capabilities *model.KernelCapabilities
	Labels       map[string]string
	// MemoryReservationMiB is the soft limit (0: none).
	MemoryReservationMiB int64
	// StartTimeout bounds the wait for dependsOn conditions (0: no bound).
	StartTimeout time.Duration
	// Interactive and Terminal are ECS interactive and pseudoTerminal (see stdio.go).
	Interactive, Terminal bool
}

type healthSpec struct {
	Argv        []string
	Interval    time.Duration
	Timeout     time.Duration
	Retries     int
	StartPeriod time.Duration
}

// containerSpecs applies overrides and resolved secrets to the task definition's containers, in
// definition order. With requireSecrets, a container secret that spec.Secrets does not resolve is
// a *secretsError.
func containerSpecs(spec TaskSpec, requireSecrets bool) ([]containerSpec, error) {
	taskMem, err := parseMemory(deref(spec.Definition.Memory))
	if err != nil {
		return nil, err
	}
	if spec.Overrides != nil && spec.Overrides.Memory != nil {
		if taskMem, err = parseMemory(*spec.Overrides.Memory); err != nil {
			return nil, err
		}
	}
	volumes, err := volumeNames(spec.Definition.Volumes)
	if err != nil {
		return nil, err
	}
	var out []containerSpec
	seen := map[string]bool{}
	for _, def := range spec.Definition.ContainerDefinitions {
		cs := fromDefinition(def, taskMem)
		if cs.Name == "" || seen[cs.Name] {
			return nil, fmt.Errorf("container name %q is empty or repeated", cs.Name)
		}
		if cs.Image == "" {
			return nil, fmt.Errorf("container %s has no image", cs.Name)
		}
		if err := checkMounts(cs, volumes); err != nil {
			return nil, err
		}
		seen[cs.Name] = true
		applyOverride(&cs, spec.Overrides)
		if err := applySecrets(&cs, def.Secrets, spec.Secrets[cs.Name], requireSecrets); err != nil {
			return nil, err
		}
		if err := applyRegistryAuth(&cs, def.RepositoryCredentials, spec.RegistryAuth, requireSecrets); err != nil {
			return nil, err
		}
		out = append(out, cs)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("task definition has no containers")
	}
	return out, nil
}

func fromDefinition(def model.ContainerDefinition, taskMemMiB int64) containerSpec {
	cs := containerSpec{
		Name:         deref(def.Name),
		Image:        deref(def.Image),
		Essential:    def.Essential == nil || *def.Essential,
		EntryPoint:   def.EntryPoint,
		Command:      def.Command,
		Env:          def.Environment,
		WorkingDir:   deref(def.WorkingDirectory),
		User:         deref(def.User),
		Hostname:     deref(def.Hostname),
		CPU:          def.Cpu,
		MemoryMiB:    taskMemMiB,
		Ports:        def.PortMappings,
		DependsOn:    def.DependsOn,
		StopTimeout:  defaultStopTimeout,
		Mounts:       def.MountPoints,
		ReadonlyFS:   deref(def.ReadonlyRootFilesystem),
		Ulimits:      def.Ulimits,
		Capabilities: capabilitiesOf(&def),
		Labels:       def.DockerLabels,
		Interactive:  deref(def.Interactive),
		Terminal:     deref(def.PseudoTerminal),
	}
	if def.Memory != nil && *def.Memory > 0 {
		cs.MemoryMiB = int64(*def.Memory)
	}
	if def.MemoryReservation != nil && *def.MemoryReservation > 0 {
		cs.MemoryReservationMiB = int64(*def.MemoryReservation)
	}
	if def.StartTimeout != nil && *def.StartTimeout > 0 {
		cs.StartTimeout = time.Duration(*def.StartTimeout) * time.Second
	}
	if def.StopTimeout != nil && *def.StopTimeout > 0 {
		cs.StopTimeout = time.Duration(*def.StopTimeout) * time.Second
	}
	if def.HealthCheck != nil {
		cs.Health = healthFrom(def.HealthCheck)
	}
	return cs
}

func applyOverride(cs *containerSpec, o *model.TaskOverride) {
	if o == nil {
		return
	}
	for _, co := range o.ContainerOverrides {
		if deref(co.Name) != cs.Name {
			continue
		}
		if co.Command != nil {
			cs.Command = co.Command
		}
		cs.Env = append(append([]model.KeyValuePair(nil), cs.Env...), co.Environment...)
		if co.Cpu != nil {
			cs.CPU = *co.Cpu
		}
		if co.Memory != nil && *co.Memory > 0 {
			cs.MemoryMiB = int64(*co.Memory)
		}
	}
}

// healthFrom translates an ECS health check: CMD → argv, CMD-SHELL → /bin/sh -c, ECS defaults.
func healthFrom(hc *model.HealthCheck) *healthSpec {
	h := &healthSpec{
		Interval: secondsOr(hc.Interval, defaultHealthInterval),
		Timeout:  secondsOr(hc.Timeout, defaultHealthTimeout),
		Retries:  defaultHealthRetries,
	}
	if hc.Retries != nil && *hc.Retries > 0 {
		h.Retries = int(*hc.Retries)
	}
	if hc.StartPeriod != nil {
		h.StartPeriod = time.Duration(*hc.StartPeriod) * time.Second
	}
	h.Argv = healthArgv(hc.Command)
	return h
}

func healthArgv(cmd []string) []string {
	if len(cmd) == 0 {
		return nil
	}
	switch cmd[0] {
	case "CMD":
		return cmd[1:]
	case "CMD-SHELL":
		return []string{"/bin/sh", "-c", strings.Join(cmd[1:], " ")}
	default:
		return cmd
	}
}

func secondsOr(v *int32, def time.Duration) time.Duration {
	if v == nil || *v <= 0 {
		return def
	}
	return time.Duration(*v) * time.Second
}

// processArgs follows ECS (docker) semantics: entryPoint replaces the image's ENTRYPOINT and, when
// given, also drops the image's CMD; command replaces CMD.
func processArgs(imageEntrypoint, imageCmd, entryPoint, command []string) []string {
	ep, cmd := imageEntrypoint, imageCmd
	if entryPoint != nil {
		ep, cmd = entryPoint, nil
	}
	if command != nil {
		cmd = command
	}
	return append(append([]string(nil), ep...), cmd...)
}

// mergeEnv overlays ECS environment pairs (later wins) on the image's KEY=VALUE list, keeping order.
func mergeEnv(imageEnv []string, pairs []model.KeyValuePair) []string {
	out := append([]string(nil), imageEnv...)
	index := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		index[k] = i
	}
	for _, p := range pairs {
		k := deref(p.Name)
		if k == "" {
			continue
		}
		kv := k + "=" + deref(p.Value)
		if i, ok := index[k]; ok {
			out[i] = kv
			continue
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	return out
}

// parseMemory reads a task-level memory value (tasksize's grammar) in MiB; empty is 0 (none).
func parseMemory(s string) (int64, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	n, err := tasksize.ParseMemory(s)
	return int64(n), err
}

// parseCPU reads a task-level cpu value (tasksize's grammar) in CPU units; empty is 0 (none).
func parseCPU(s string) (int64, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	n, err := tasksize.ParseCPU(s)
	return int64(n), err
}

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// containerID derives the containerd ID of a task's container: stable, so Start is idempotent.
func containerID(taskID, name string) string {
	id := taskID + "-" + strings.Trim(idUnsafe.ReplaceAllString(name, "-"), "-._")
	if len(id) > 76 || strings.HasSuffix(id, "-") {
		sum := sha256.Sum256([]byte(name))
		id = taskID + "-" + hex.EncodeToString(sum[:8])
	}
	return id
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

var volumeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$`)

// volumeNames checks the task's volumes: every one is an ephemeral directory of the task.
func volumeNames(vols []model.Volume) (map[string]bool, error) {
	out := map[string]bool{}
	for _, v := range vols {
		n := deref(v.Name)
		if !volumeName.MatchString(n) || out[n] {
			return nil, fmt.Errorf("volume name %q is invalid or repeated", n)
		}
		out[n] = true
	}
	return out, nil
}

func checkMounts(cs containerSpec, volumes map[string]bool) error {
	for _, m := range cs.Mounts {
		src, dst := deref(m.SourceVolume), deref(m.ContainerPath)
		if !volumes[src] {
			return fmt.Errorf("container %s mounts unknown volume %q", cs.Name, src)
		}
		if !strings.HasPrefix(dst, "/") {
			return fmt.Errorf("container %s mounts %s at %q, which is not an absolute path", cs.Name, src, dst)
		}
	}
	return nil
}

// applySecrets adds the resolved secret variables to the container's environment (after the
// overrides: a secret wins over a variable of the same name). A secret of the definition without
// a resolved value is an error when required: starting the container without the variable would
// hide the problem.
func applySecrets(cs *containerSpec, defined []model.Secret, resolved []model.KeyValuePair, required bool) error {
	if required {
		for _, s := range defined {
			if !slices.ContainsFunc(resolved, func(kv model.KeyValuePair) bool { return deref(kv.Name) == s.Name }) {
				return &secretsError{container: cs.Name, secret: s}
			}
		}
	}
	if len(resolved) > 0 {
		cs.Env = append(slices.Clip(cs.Env), resolved...)
	}
	return nil
}

// secretsError is a container secret nobody resolved before Start.
type secretsError struct {
	container string
	secret    model.Secret
}

func (e *secretsError) Error() string {
	return fmt.Sprintf("ResourceInitializationError: unable to pull secrets or registry auth: container %s: secret %s (valueFrom %s) was not resolved before the task started",
		e.container, e.secret.Name, e.secret.ValueFrom)
}
