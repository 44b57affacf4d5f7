package translate

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The Kubernetes defaults of a probe (the API server sets them; a Pod built by hand may not).
const (
	defaultProbeTimeout   = 1
	defaultProbePeriod    = 10
	defaultProbeSuccess   = 1
	defaultProbeFailure   = 3
	defaultTerminationLog = "/dev/termination-log"
)

// containerNode describes what the node does for a container: probes, hooks, a non-root check,
// the termination message.
func (t *translator) containerNode(path string, c *corev1.Container, kind containerKind) {
	n := ContainerNode{
		Name:                     c.Name,
		Init:                     kind != regularContainer,
		Sidecar:                  kind == sidecarContainer,
		Readiness:                t.probe(path+".readinessProbe", c, c.ReadinessProbe),
		Liveness:                 t.probe(path+".livenessProbe", c, c.LivenessProbe),
		Startup:                  t.probe(path+".startupProbe", c, c.StartupProbe),
		TerminationMessagePath:   c.TerminationMessagePath,
		TerminationMessagePolicy: c.TerminationMessagePolicy,
		StdinOnce:                c.StdinOnce,
	}
	if n.TerminationMessagePath == "" {
		n.TerminationMessagePath = defaultTerminationLog
	}
	if n.TerminationMessagePolicy == "" {
		n.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	if lc := c.Lifecycle; lc != nil {
		p := path + ".lifecycle"
		if lc.PostStart != nil {
			n.PostStart = t.handler(p+".postStart", c, lc.PostStart.Exec, lc.PostStart.HTTPGet, nil, nil, lc.PostStart.Sleep)
		}
		if lc.PreStop != nil {
			n.PreStop = t.handler(p+".preStop", c, lc.PreStop.Exec, lc.PreStop.HTTPGet, nil, nil, lc.PreStop.Sleep)
		}
		if lc.StopSignal != nil && *lc.StopSignal != corev1.SIGTERM {
			t.ps.refuse(p+".stopSignal", ReasonValueNotSupported, "%s: ECS stops containers with SIGTERM; remove it, or make the image's STOPSIGNAL say it", *lc.StopSignal)
		}
	}
	n.RequireNonRoot = requiresNonRootCheck(t.pod, c)
	t.node.Containers = append(t.node.Containers, n)
}

// requiresNonRootCheck: runAsNonRoot without any runAsUser; the kubelet then checks the image's
// user, and so must the node.
func requiresNonRootCheck(pod *corev1.Pod, c *corev1.Container) bool {
	var nonRoot *bool
	var uid *int64
	if psc := pod.Spec.SecurityContext; psc != nil {
		nonRoot, uid = psc.RunAsNonRoot, psc.RunAsUser
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
	}
	return isTrue(nonRoot) && uid == nil
}

func (t *translator) probe(path string, c *corev1.Container, p *corev1.Probe) *Probe {
	if p == nil {
		return nil
	}
	h := t.handler(path, c, p.Exec, p.HTTPGet, p.TCPSocket, p.GRPC, nil)
	out := &Probe{
		InitialDelaySeconds:           p.InitialDelaySeconds,
		TimeoutSeconds:                orDefault(p.TimeoutSeconds, defaultProbeTimeout),
		PeriodSeconds:                 orDefault(p.PeriodSeconds, defaultProbePeriod),
		SuccessThreshold:              orDefault(p.SuccessThreshold, defaultProbeSuccess),
		FailureThreshold:              orDefault(p.FailureThreshold, defaultProbeFailure),
		TerminationGracePeriodSeconds: p.TerminationGracePeriodSeconds,
	}
	if h != nil {
		out.Handler = *h
	}
	return out
}

func orDefault(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}

// handler translates a probe's or hook's action, resolving named ports against the container's.
func (t *translator) handler(path string, c *corev1.Container, exec *corev1.ExecAction, get *corev1.HTTPGetAction,
	tcp *corev1.TCPSocketAction, grpc *corev1.GRPCAction, sleep *corev1.SleepAction) *Handler {
	h := &Handler{}
	switch {
	case exec != nil:
		h.Exec = slices.Clone(exec.Command)
	case get != nil:
		port, ok := t.port(path+".httpGet.port", c, get.Port)
		if !ok {
			return nil
		}
		scheme := get.Scheme
		if scheme == "" {
			scheme = corev1.URISchemeHTTP
		}
		h.HTTPGet = &HTTPGet{Scheme: scheme, Host: get.Host, Port: port, Path: get.Path, Headers: slices.Clone(get.HTTPHeaders)}
	case tcp != nil:
		port, ok := t.port(path+".tcpSocket.port", c, tcp.Port)
		if !ok {
			return nil
		}
		h.TCPSocket = &TCPSocket{Host: tcp.Host, Port: port}
	case grpc != nil:
		h.GRPC = &GRPC{Port: grpc.Port}
		if grpc.Service != nil {
			h.GRPC.Service = *grpc.Service
		}
	case sleep != nil:
		s := sleep.Seconds
		h.SleepSeconds = &s
	default:
		return nil
	}
	return h
}

// port resolves a probe's port: a number, or the name of one of the container's ports.
func (t *translator) port(path string, c *corev1.Container, p intstr.IntOrString) (int32, bool) {
	if p.Type == intstr.Int {
		return p.IntVal, true
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort, true
		}
	}
	t.ps.refuse(path, ReasonNamedPort, "%q is not the name of one of the container's ports; name one, or give the number", p.StrVal)
	return 0, false
}
