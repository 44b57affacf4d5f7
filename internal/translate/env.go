package translate

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/fieldpath"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"
)

// Delivery says how a value reaches the task.
type Delivery int

// The deliveries, from the most to the least shared. A value derived from several takes the last
// of them (a template value that expands $(POD_NAME) is per-pod).
const (
	// InTaskDefinition: known from the Pod template alone, the same for every Pod of a ReplicaSet
	// or Job; it is part of the content-addressed task definition.
	InTaskDefinition Delivery = iota
	// InOverrides: known from this Pod (name, namespace, UID, labels, annotations, node name, ...);
	// it goes into RunTask's containerOverrides.
	InOverrides
	// AtStart: known only when the task starts (a ConfigMap or Secret value, status.podIP, a
	// Service link variable); the component that starts the task resolves it.
	AtStart
)

func (d Delivery) String() string {
	switch d {
	case InTaskDefinition:
		return "TaskDefinition"
	case InOverrides:
		return "Overrides"
	}
	return "Start"
}

// StartValues are what the kubelet looks up when a container starts, as the component that
// starts a task has them. A ConfigMap or Secret missing from the maps does not exist.
type StartValues struct {
	PodIPs  []string
	HostIPs []string
	// ConfigMaps maps a ConfigMap's name (in the Pod's namespace) to its data.
	ConfigMaps map[string]map[string]string
	// Secrets maps a Secret's name (in the Pod's namespace) to its data.
	Secrets map[string]map[string][]byte
	// ServiceEnv is the Service link environment the kubelet would give the Pod
	// (k8s.io/kubernetes/pkg/kubelet/envvars.FromServices of the Services it sees).
	ServiceEnv map[string]string
}

// EnvVar is one variable of a container's final environment.
type EnvVar struct {
	Name  string
	Value string
	// Delivery says how it reaches the task: a value InTaskDefinition is in the task definition's
	// environment, InOverrides in RunTask's containerOverrides, AtStart resolved at start.
	Delivery Delivery
	// Secret is set when the value is, or expands, a Secret's data: it must never be written
	// into a task definition or RunTask overrides in clear. Before start it is also set when the
	// value may be one (it expands a name a Secret's envFrom might define); at start it is exact.
	Secret bool
	// PerPod is set when the value is, or expands, a value of this Pod's own (fieldRef to its
	// name, namespace, UID, labels, annotations, node name, service account, and what expands
	// them), whatever its Delivery: a Secret-derived value with PerPod set differs between the
	// Pods of one template.
	PerPod bool
}

// ResolvedContainer is a container's environment, command and args with every source resolved
// and every $(VAR) expanded as the kubelet does it (k8s.io/kubernetes/pkg/kubelet
// makeEnvironmentVariables and kubecontainer.ExpandContainerCommandAndArgs).
type ResolvedContainer struct {
	// Env is sorted by name (the kubelet's order is a map's; a process sees a set).
	Env []EnvVar
	// Command and Args, expanded; nil when the container sets none.
	Command, Args []string
	// CommandDelivery and ArgsDelivery are the Delivery of the most specific variable each expands.
	CommandDelivery, ArgsDelivery Delivery
	// CommandSecret and ArgsSecret are set when they certainly expand a Secret's data (at start,
	// exactly when they do): Translate refuses such a Pod, and the component that starts a task
	// must refuse a command override that has it.
	CommandSecret, ArgsSecret bool
	// Elements gives, per element of Command, its Delivery (nil when Command is nil).
	Elements []Delivery
}

// ResolveContainer computes the named container's environment, command and args as the kubelet
// does when it starts it, from values. A missing ConfigMap or Secret, or a missing key of one, is
// an error unless the reference is optional (then the variable is not set, as the kubelet does).
// Variables nobody defines stay literal ("$(UNSET)"), "$$" is a literal "$".
//
// The Delivery of each value depends only on the Pod spec, never on values, so the component
// that starts the task delivers exactly the AtStart variables that Translate left out.
func ResolveContainer(pod *corev1.Pod, container string, opts Options, values StartValues) (*ResolvedContainer, error) {
	c := findContainer(pod, container)
	if c == nil {
		return nil, fmt.Errorf("pod %s/%s has no container %q", pod.Namespace, pod.Name, container)
	}
	o := opts.withDefaults()
	size, err := taskSize(pod)
	if err != nil {
		return nil, err
	}
	return resolveEnv(pod, c, &o, size, &values)
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// envValue is a variable while the environment is built.
type envValue struct {
	value    string
	delivery Delivery
	secret   bool
	// perPod: the value is, or expands, one of the Pod's own fields.
	perPod bool
	// maybeSecret: the value may come from a Secret's envFrom (translation mode only, where the
	// keys envFrom adds are not known).
	maybeSecret bool
	known       bool // false: the value is only known at start (translation mode)
}

// envBuilder follows the kubelet's makeEnvironmentVariables. With values nil it runs in
// translation mode: AtStart values are unknown and expansions of them are left literal.
type envBuilder struct {
	pod    *corev1.Pod
	c      *corev1.Container
	size   resourceSize
	values *StartValues
	opts   *Options
	env    map[string]envValue
	// envFrom is set when the container has envFrom; envFromSecret when one of them is a Secret.
	envFrom, envFromSecret bool
	serviceLinks           bool
}

func resolveEnv(pod *corev1.Pod, c *corev1.Container, opts *Options, size resourceSize, values *StartValues) (*ResolvedContainer, error) {
	b := &envBuilder{
		pod: pod, c: c, size: size, values: values, opts: opts, env: map[string]envValue{},
		serviceLinks: pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks,
	}
	if err := b.fromEnvFrom(); err != nil {
		return nil, err
	}
	for i := range c.Env {
		v, set, err := b.variable(&c.Env[i])
		if err != nil {
			return nil, err
		}
		name := c.Env[i].Name
		switch prev, had := b.env[name]; {
		case set:
			b.env[name] = v
		case had:
			// An optional source that is missing leaves the earlier value (as the kubelet
			// does), which now depends on what is found at start.
			prev.delivery = AtStart
			b.env[name] = prev
		}
	}
	return b.result(), nil
}

func (b *envBuilder) fromEnvFrom() error {
	for _, ef := range b.c.EnvFrom {
		b.envFrom = true
		b.envFromSecret = b.envFromSecret || ef.SecretRef != nil
		if b.values == nil {
			continue
		}
		switch {
		case ef.ConfigMapRef != nil:
			data, ok := b.values.ConfigMaps[ef.ConfigMapRef.Name]
			if !ok && !isTrue(ef.ConfigMapRef.Optional) {
				return fmt.Errorf("configmap %q not found", ef.ConfigMapRef.Name)
			}
			for k, v := range data {
				b.env[ef.Prefix+k] = envValue{value: v, delivery: AtStart, known: true}
			}
		case ef.SecretRef != nil:
			data, ok := b.values.Secrets[ef.SecretRef.Name]
			if !ok && !isTrue(ef.SecretRef.Optional) {
				return fmt.Errorf("secret %q not found", ef.SecretRef.Name)
			}
			for k, v := range data {
				b.env[ef.Prefix+k] = envValue{value: string(v), delivery: AtStart, secret: true, known: true}
			}
		}
	}
	return nil
}

// variable computes one env entry; set is false when an optional source is missing.
func (b *envBuilder) variable(e *corev1.EnvVar) (envValue, bool, error) {
	switch {
	case e.Value != "":
		return b.expand(e.Value), true, nil
	case e.ValueFrom == nil:
		return envValue{known: true}, true, nil
	case e.ValueFrom.FieldRef != nil:
		v, err := b.fieldRef(e.ValueFrom.FieldRef)
		return v, true, err
	case e.ValueFrom.ResourceFieldRef != nil:
		s, err := resourceFieldValue(b.pod, b.c, e.ValueFrom.ResourceFieldRef, b.size)
		return envValue{value: s, known: true}, true, err
	case e.ValueFrom.ConfigMapKeyRef != nil:
		return b.configMapKey(e.ValueFrom.ConfigMapKeyRef)
	case e.ValueFrom.SecretKeyRef != nil:
		return b.secretKey(e.ValueFrom.SecretKeyRef)
	}
	// fileKeyRef is refused by Translate; a start-time caller gets it unset.
	return envValue{}, false, nil
}

func (b *envBuilder) fieldRef(fs *corev1.ObjectFieldSelector) (envValue, error) {
	if !strings.HasPrefix(fs.FieldPath, "status.") {
		// The Pod's own fields (name, namespace, uid, labels, annotations, node name, service
		// account) are known from the Pod: per pod.
		v, err := podFieldValue(b.pod, fs.FieldPath)
		return envValue{value: v, delivery: InOverrides, perPod: true, known: true}, err
	}
	// status.podIP(s) and status.hostIP(s) only once the task has its address.
	if b.values == nil {
		return envValue{delivery: AtStart}, nil
	}
	v, ok := b.statusField(fs.FieldPath)
	if !ok {
		return envValue{}, fmt.Errorf("fieldRef %s: not a downward API field", fs.FieldPath)
	}
	return envValue{value: v, delivery: AtStart, known: true}, nil
}

// statusField answers status.podIP(s) and status.hostIP(s) from values.
func (b *envBuilder) statusField(path string) (string, bool) {
	if b.values == nil {
		return "", false
	}
	first := func(ips []string) string {
		if len(ips) == 0 {
			return ""
		}
		return ips[0]
	}
	switch path {
	case "status.podIP":
		return first(b.values.PodIPs), true
	case "status.podIPs":
		return strings.Join(b.values.PodIPs, ","), true
	case "status.hostIP":
		return first(b.values.HostIPs), true
	case "status.hostIPs":
		return strings.Join(b.values.HostIPs, ","), true
	}
	return "", false
}

// podFieldValue is the kubelet's podFieldSelectorRuntimeValue for the fields a Pod holds itself.
func podFieldValue(pod *corev1.Pod, path string) (string, error) {
	switch path {
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	}
	v, err := fieldpath.ExtractFieldPathAsString(pod, path)
	if err != nil {
		return "", fmt.Errorf("fieldRef %s: %w", path, err)
	}
	return v, nil
}

func (b *envBuilder) configMapKey(ref *corev1.ConfigMapKeySelector) (envValue, bool, error) {
	if b.values == nil {
		return envValue{delivery: AtStart}, true, nil
	}
	data, ok := b.values.ConfigMaps[ref.Name]
	v, found := data[ref.Key]
	switch {
	case found:
		return envValue{value: v, delivery: AtStart, known: true}, true, nil
	case isTrue(ref.Optional):
		return envValue{}, false, nil
	case !ok:
		return envValue{}, false, fmt.Errorf("configmap %q not found", ref.Name)
	}
	return envValue{}, false, fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, b.pod.Namespace, ref.Name)
}

func (b *envBuilder) secretKey(ref *corev1.SecretKeySelector) (envValue, bool, error) {
	if b.values == nil {
		return envValue{delivery: AtStart, secret: true}, true, nil
	}
	data, ok := b.values.Secrets[ref.Name]
	v, found := data[ref.Key]
	switch {
	case found:
		return envValue{value: string(v), delivery: AtStart, secret: true, known: true}, true, nil
	case isTrue(ref.Optional):
		return envValue{}, false, nil
	case !ok:
		return envValue{}, false, fmt.Errorf("secret %q not found", ref.Name)
	}
	return envValue{}, false, fmt.Errorf("couldn't find key %s in Secret %s/%s", ref.Key, b.pod.Namespace, ref.Name)
}

// lookup answers $(name) during expansion; ok is false when nothing can define name (it then
// stays literal). Which delivery a name has never depends on values.
func (b *envBuilder) lookup(name string) (envValue, bool) {
	if v, ok := b.env[name]; ok {
		return v, true
	}
	envFromCandidate := b.envFrom
	serviceCandidate := strings.HasPrefix(name, "KUBERNETES_") ||
		(b.serviceLinks && (strings.Contains(name, "_SERVICE_") || strings.Contains(name, "_PORT")))
	if !envFromCandidate && !serviceCandidate {
		return envValue{}, false
	}
	unknown := envValue{delivery: AtStart}
	if b.values == nil {
		unknown.maybeSecret = envFromCandidate && b.envFromSecret
		return unknown, true
	}
	// At start the keys envFrom added are in b.env: what is left can only be a Service link.
	if v, ok := b.values.ServiceEnv[name]; ok && serviceCandidate {
		unknown.value, unknown.known = v, true
		return unknown, true
	}
	unknown.value, unknown.known = "$("+name+")", true // defined by nobody: literal
	return unknown, true
}

// expand expands $(VAR) references in s with Kubernetes semantics, and reports the Delivery of
// the result: the latest Delivery among the variables it references.
func (b *envBuilder) expand(s string) envValue {
	out := envValue{known: true}
	v := expansion.Expand(s, func(name string) string {
		ref, ok := b.lookup(name)
		if !ok {
			return "$(" + name + ")"
		}
		out.delivery = max(out.delivery, ref.delivery)
		out.secret = out.secret || ref.secret
		out.perPod = out.perPod || ref.perPod
		out.maybeSecret = out.maybeSecret || ref.maybeSecret
		if !ref.known {
			out.known = false
			return "$(" + name + ")"
		}
		return ref.value
	})
	out.value = v
	return out
}

func (b *envBuilder) result() *ResolvedContainer {
	r := &ResolvedContainer{}
	for name, v := range b.env {
		r.Env = append(r.Env, EnvVar{Name: name, Value: v.value, Delivery: v.delivery, Secret: v.secret || v.maybeSecret, PerPod: v.perPod})
	}
	slices.SortFunc(r.Env, func(a, b EnvVar) int { return strings.Compare(a.Name, b.Name) })
	if b.c.Command != nil {
		r.Command = make([]string, len(b.c.Command))
		r.Elements = make([]Delivery, len(b.c.Command))
		for i, s := range b.c.Command {
			v := b.expand(s)
			r.Command[i], r.Elements[i] = v.value, v.delivery
			r.CommandDelivery = max(r.CommandDelivery, v.delivery)
			r.CommandSecret = r.CommandSecret || v.secret
		}
	}
	if b.c.Args != nil {
		r.Args = make([]string, len(b.c.Args))
		for i, s := range b.c.Args {
			v := b.expand(s)
			r.Args[i] = v.value
			r.ArgsDelivery = max(r.ArgsDelivery, v.delivery)
			r.ArgsSecret = r.ArgsSecret || v.secret
		}
	}
	return r
}

func isTrue(b *bool) bool { return b != nil && *b }
