package translate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
)

// containerKind is the role a container plays in the task.
type containerKind int

const (
	regularContainer containerKind = iota
	initContainer
	sidecarContainer
)

// translateContainers makes the container definitions: init containers (and sidecars) first, in
// order, each depending on the one before it (SUCCESS on an init container, START on a sidecar),
// then the Pod's containers, depending on the last of them.
func (t *translator) translateContainers() {
	spec := &t.pod.Spec
	t.countPortNames()
	var prev *ecstypes.ContainerDependency
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		path := fmt.Sprintf("spec.initContainers[%d]", i)
		kind := initContainer
		if c.RestartPolicy != nil {
			if *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
				t.ps.refuse(path+".restartPolicy", ReasonValueNotSupported, "%s: only Always (a sidecar) is meaningful for an init container; remove it", *c.RestartPolicy)
			}
			kind = sidecarContainer
		}
		def := t.container(path, c, kind, prev)
		t.td.ContainerDefinitions = append(t.td.ContainerDefinitions, def)
		cond := ecstypes.ContainerConditionSuccess
		if kind == sidecarContainer {
			cond = ecstypes.ContainerConditionStart
		}
		prev = &ecstypes.ContainerDependency{ContainerName: aws.String(c.Name), Condition: cond}
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		path := fmt.Sprintf("spec.containers[%d]", i)
		if c.RestartPolicy != nil {
			t.ps.refuse(path+".restartPolicy", ReasonFieldNotSupported,
				"a container's own restart policy (alpha) is not supported; remove it and use the Pod's restartPolicy")
		}
		t.td.ContainerDefinitions = append(t.td.ContainerDefinitions, t.container(path, c, regularContainer, prev))
	}
}

// container translates one container.
func (t *translator) container(path string, c *corev1.Container, kind containerKind, dep *ecstypes.ContainerDependency) ecstypes.ContainerDefinition {
	def := ecstypes.ContainerDefinition{
		Name:        aws.String(c.Name),
		Image:       aws.String(c.Image),
		Essential:   aws.Bool(kind == regularContainer),
		StopTimeout: aws.Int32(t.stopTimeout),
	}
	if c.Image == "" {
		t.ps.refuse(path+".image", ReasonInvalid, "required; name the container's image")
	}
	if dep != nil {
		def.DependsOn = []ecstypes.ContainerDependency{*dep}
	}
	if c.WorkingDir != "" {
		def.WorkingDirectory = aws.String(c.WorkingDir)
	}
	t.stdin(path, c, &def)
	checkResourceNames(path+".resources", &c.Resources, t.ps)
	if kind != initContainer {
		def.Cpu, def.Memory, def.MemoryReservation = containerResources(path+".resources", &c.Resources, t.ps)
	}
	def.RestartPolicy = t.restartPolicy(kind)
	def.SystemControls = t.sysctls
	t.environment(path, c, &def)
	t.portMappings(path, c, &def)
	t.mountPoints(path, c, &def)
	t.securityContext(path, c, &def)
	t.containerNode(path, c, kind)
	return def
}

// restartPolicy is ECS's container restart policy for the Pod's restartPolicy: Always restarts on
// any exit, OnFailure on a non-zero one; sidecars always restart; init containers never (a
// failed init container stops the task, and the node re-runs it as its Pod's policy says).
func (t *translator) restartPolicy(kind containerKind) *ecstypes.ContainerRestartPolicy {
	rp := &ecstypes.ContainerRestartPolicy{Enabled: aws.Bool(true), RestartAttemptPeriod: aws.Int32(restartAttemptPeriod)}
	switch kind {
	case initContainer:
		return nil
	case sidecarContainer:
		return rp
	}
	switch t.node.RestartPolicy {
	case corev1.RestartPolicyAlways:
		return rp
	case corev1.RestartPolicyOnFailure:
		rp.IgnoredExitCodes = []int32{0}
		return rp
	}
	return nil
}

// environment splits the container's environment and command by delivery: what the template
// fixes goes into the task definition, what this Pod fixes into RunTask's overrides, the rest is
// resolved at start.
func (t *translator) environment(path string, c *corev1.Container, def *ecstypes.ContainerDefinition) {
	r, err := resolveEnv(t.pod, c, t.opts, t.size, nil)
	if err != nil {
		t.ps.refuse(path+".env", ReasonInvalid, "%v", err)
		return
	}
	t.refsOf(c)
	cs := ContainerStart{Name: c.Name, EnvFrom: len(c.EnvFrom) > 0}
	ov := ecstypes.ContainerOverride{Name: aws.String(c.Name)}
	hasHostname := false
	for _, v := range r.Env {
		hasHostname = hasHostname || v.Name == "HOSTNAME"
		switch v.Delivery {
		case InTaskDefinition:
			def.Environment = append(def.Environment, keyValue(v.Name, v.Value))
		case InOverrides:
			ov.Environment = append(ov.Environment, keyValue(v.Name, v.Value))
		default:
			cs.Env = append(cs.Env, v.Name)
			if v.Secret {
				cs.SecretEnv = append(cs.SecretEnv, v.Name)
			}
		}
	}
	if !hasHostname {
		// The kubelet's runtime sets HOSTNAME to the Pod's hostname; ECS cannot set the hostname
		// in awsvpc mode, so the variable at least says what Kubernetes would.
		ov.Environment = append(ov.Environment, keyValue("HOSTNAME", t.node.Hostname))
		slices.SortFunc(ov.Environment, func(a, b ecstypes.KeyValuePair) int { return strings.Compare(*a.Name, *b.Name) })
	}
	cs.Command = t.command(path, r, def, &ov)
	if len(cs.Env) > 0 || cs.EnvFrom || cs.Command {
		t.start.Containers = append(t.start.Containers, cs)
	}
	if len(ov.Environment) > 0 || ov.Command != nil {
		t.overrides = append(t.overrides, ov)
	}
}

// command sets entryPoint and command (Kubernetes command and args, expanded). When they expand
// per-pod or start-time variables, the task definition keeps the command's leading elements that
// do not (as entryPoint) and RunTask's command override carries the rest followed by the args:
// ECS runs entryPoint + command, as Kubernetes runs command + args. It reports whether the
// override is only known at start.
func (t *translator) command(path string, r *ResolvedContainer, def *ecstypes.ContainerDefinition, ov *ecstypes.ContainerOverride) bool {
	if r.CommandSecret || r.ArgsSecret {
		field := "args"
		if r.CommandSecret {
			field = "command"
		}
		t.ps.refuse(path+"."+field, ReasonCommandVariable,
			"expands a variable that holds a Secret's data; ECS could only pass it in RunTask overrides, which anyone allowed ecs:DescribeTasks reads. "+
				`Let a shell expand it instead: command: ["sh", "-c", "exec app --password \"$PASSWORD\""]`)
		return false
	}
	if len(r.Command) == 0 && len(r.Args) == 0 {
		return false
	}
	if r.CommandDelivery == InTaskDefinition && r.ArgsDelivery == InTaskDefinition {
		def.EntryPoint, def.Command = nonEmpty(r.Command), nonEmpty(r.Args)
		return false
	}
	rest := r.Args
	if r.CommandDelivery != InTaskDefinition {
		k := slices.IndexFunc(r.Elements, func(d Delivery) bool { return d != InTaskDefinition })
		if k == 0 {
			t.ps.refuse(path+".command[0]", ReasonCommandVariable,
				"the executable's own name expands a variable of the Pod; ECS cannot override an entry point per task: name the executable literally")
			return false
		}
		def.EntryPoint = r.Command[:k]
		rest = append(slices.Clone(r.Command[k:]), r.Args...)
	} else {
		def.EntryPoint = nonEmpty(r.Command)
	}
	if max(r.CommandDelivery, r.ArgsDelivery) == AtStart {
		return true
	}
	ov.Command = rest
	return false
}

func nonEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func keyValue(name, value string) ecstypes.KeyValuePair {
	return ecstypes.KeyValuePair{Name: aws.String(name), Value: aws.String(value)}
}

// refsOf records the ConfigMaps and Secrets a container's env and envFrom read.
func (t *translator) refsOf(c *corev1.Container) {
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			t.objects.add("ConfigMap", ef.ConfigMapRef.Name, "", isTrue(ef.ConfigMapRef.Optional))
		case ef.SecretRef != nil:
			t.objects.add("Secret", ef.SecretRef.Name, "", isTrue(ef.SecretRef.Optional))
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			continue
		}
		switch {
		case e.ValueFrom.ConfigMapKeyRef != nil:
			r := e.ValueFrom.ConfigMapKeyRef
			t.objects.add("ConfigMap", r.Name, r.Key, isTrue(r.Optional))
		case e.ValueFrom.SecretKeyRef != nil:
			r := e.ValueFrom.SecretKeyRef
			t.objects.add("Secret", r.Name, r.Key, isTrue(r.Optional))
		}
	}
}

// maxPortName is the longest port mapping name ECS accepts.
const maxPortName = 64

// countPortNames counts, per port name, the containers declaring it: ECS wants port mapping names
// unique in the task, Kubernetes only in a container.
func (t *translator) countPortNames() {
	t.portNames = map[string]int{}
	for _, list := range [][]corev1.Container{t.pod.Spec.InitContainers, t.pod.Spec.Containers} {
		for _, c := range list {
			seen := map[string]bool{}
			for _, p := range c.Ports {
				if p.Name != "" && !seen[p.Name] {
					seen[p.Name] = true
					t.portNames[p.Name]++
				}
			}
		}
	}
}

// portMappings maps declared ports: in awsvpc mode hostPort equals containerPort. A port two
// containers declare is mapped once (the declaration is informational in Kubernetes, and every
// port of a task is reachable on its address anyway).
func (t *translator) portMappings(path string, c *corev1.Container, def *ecstypes.ContainerDefinition) {
	for j, p := range c.Ports {
		pp := fmt.Sprintf("%s.ports[%d]", path, j)
		proto := ecstypes.TransportProtocolTcp
		switch p.Protocol {
		case "", corev1.ProtocolTCP:
		case corev1.ProtocolUDP:
			proto = ecstypes.TransportProtocolUdp
		default:
			t.ps.refuse(pp+".protocol", ReasonValueNotSupported, "%s: ECS maps tcp and udp ports; use TCP or UDP", p.Protocol)
			continue
		}
		if p.HostPort != 0 && p.HostPort != p.ContainerPort {
			t.ps.refuse(pp+".hostPort", ReasonHostPort,
				"%d: a task's ports are on its own address (awsvpc: hostPort = containerPort %d); remove hostPort and reach the Pod on its IP or through a Service", p.HostPort, p.ContainerPort)
			continue
		}
		key := fmt.Sprintf("%d/%s", p.ContainerPort, proto)
		if t.ports[key] {
			continue
		}
		t.ports[key] = true
		pm := ecstypes.PortMapping{ContainerPort: aws.Int32(p.ContainerPort), HostPort: aws.Int32(p.ContainerPort), Protocol: proto}
		if p.Name != "" {
			name := p.Name
			if t.portNames[p.Name] > 1 {
				name = c.Name[:min(len(c.Name), maxPortName-1-len(p.Name))] + "-" + p.Name
			}
			pm.Name = aws.String(name)
		}
		def.PortMappings = append(def.PortMappings, pm)
	}
}

// stdin translates stdin and tty into interactive and pseudoTerminal, or refuses them when the
// data plane keeps no standard input open (Options.NoStdin).
func (t *translator) stdin(path string, c *corev1.Container, def *ecstypes.ContainerDefinition) {
	const remedy = "the data plane nodeless runs tasks on keeps no standard input open for a container; " +
		"remove it (kubectl run without -i and -t), and use kubectl exec -it into a running container for a shell"
	if c.Stdin {
		if t.opts.NoStdin {
			t.ps.refuse(path+".stdin", ReasonFieldNotSupported, "%s", remedy)
		} else {
			def.Interactive = aws.Bool(true)
		}
	}
	if c.TTY {
		if t.opts.NoStdin {
			t.ps.refuse(path+".tty", ReasonFieldNotSupported, "%s", remedy)
		} else {
			def.PseudoTerminal = aws.Bool(true)
		}
	}
}
