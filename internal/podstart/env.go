package podstart

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/nodeless-dev/nodeless/internal/podfiles"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// planEnv resolves every container's environment and command with translate.ResolveContainer
// (the kubelet's semantics) and decides how each start-time value travels. A missing object or
// key is a *Waiting, before anything is written.
func (r *resolver) planEnv() error {
	values := r.startValues()
	starts := map[string]translate.ContainerStart{}
	for _, cs := range r.tr.Start.Containers {
		starts[cs.Name] = cs
	}
	for _, list := range [][]corev1.Container{r.pod.Spec.InitContainers, r.pod.Spec.Containers} {
		for i := range list {
			c := &list[i]
			rc, err := translate.ResolveContainer(r.pod, c.Name, r.deps.Options, values)
			if err != nil {
				return &Waiting{Container: c.Name, Reason: ReasonCreateContainerConfigError, Message: err.Error(),
					EventReason: EventFailed, EventMessage: "Error: " + err.Error()}
			}
			r.serviceLinks(c.Name, rc)
			cs, ok := starts[c.Name]
			if !ok {
				continue
			}
			if err := r.containerEnv(c, rc, values); err != nil {
				return err
			}
			r.containerCommand(c, rc, cs)
		}
	}
	return nil
}

// serviceLinks gives the container the Service link variables it does not define itself.
func (r *resolver) serviceLinks(container string, rc *translate.ResolvedContainer) {
	for _, e := range r.serviceVar {
		if slices.ContainsFunc(rc.Env, func(v translate.EnvVar) bool { return v.Name == e.Name }) {
			continue
		}
		a := r.additionsOf(container)
		a.serviceEnv = append(a.serviceEnv, ecstypes.KeyValuePair{Name: aws.String(e.Name), Value: aws.String(e.Value)})
	}
}

// containerEnv sorts the container's start-time variables: in clear into RunTask overrides, or,
// derived from a Secret, into ECS secrets.
func (r *resolver) containerEnv(c *corev1.Container, rc *translate.ResolvedContainer, values translate.StartValues) error {
	origins := envOrigins(c, values)
	a := r.additionsOf(c.Name)
	for _, v := range rc.Env {
		if v.Delivery != translate.AtStart {
			continue // in the task definition or the overrides already
		}
		if statusField(c, v.Name) && len(r.deps.PodIPs) == 0 {
			r.warn(r.containerPath(c.Name)+".env", WarningPodIPUnknown,
				"%s reads the Pod's or host's IP, which is not known before the task starts on this data plane; it is empty", v.Name)
		}
		if !v.Secret {
			a.env[v.Name] = v.Value
			continue
		}
		if !utf8.ValidString(v.Value) {
			msg := "environment variable " + v.Name + " would hold a Secret's data that is not UTF-8 text, which an environment cannot carry"
			return &Waiting{Container: c.Name, Reason: ReasonCreateContainerConfigError, Message: msg, EventReason: EventFailed, EventMessage: "Error: " + msg}
		}
		if o, ok := origins[v.Name]; ok && string(values.Secrets[o.secret][o.key]) == v.Value && r.wholeInEntry(o.secret, o.key) {
			a.secretVars[v.Name] = secretSource{secret: o.secret, key: o.key}
			continue
		}
		if !fitsOnePart(v.Value) {
			r.refuse(r.containerPath(c.Name)+".env", ReasonValueTooLarge,
				"%s would hold %d bytes derived from a Secret; ECS gives a container a secret of at most %d bytes; put the value in a file (a secret volume) instead",
				v.Name, len(v.Value), podfiles.MaxPartBytes)
			continue
		}
		// A value of its own (a Secret expanded into a larger value): in an Env entry of the
		// template, or of the Pod when it also expands the Pod's own fields.
		kind := derivedTemplate
		if v.PerPod {
			kind = derivedPod
		}
		key := derivedKey(c.Name, v.Name)
		if r.derived[kind] == nil {
			r.derived[kind] = map[string][]byte{}
		}
		r.derived[kind][key] = []byte(v.Value)
		a.secretVars[v.Name] = secretSource{derived: kind, dkey: key}
	}
	return nil
}

// wholeInEntry reports whether a Secret's key will be readable by ECS's json-key in its entry
// (UTF-8, whole in one part: podfiles.Pack decides, as the mirror does).
func (r *resolver) wholeInEntry(secret, key string) bool {
	if r.packed == nil {
		r.packed = map[string]podfiles.Packed{}
	}
	p, ok := r.packed[secret]
	if !ok {
		o := r.objects.byKey[objKey(kindSecret, secret)]
		if o == nil {
			return false
		}
		p = podfiles.Pack(o.fileData)
		r.packed[secret] = p
	}
	_, ok = p.KeyPart[key]
	return ok
}

// fitsOnePart reports whether a value alone fits in a Secrets Manager secret as a JSON member.
func fitsOnePart(v string) bool {
	_, ok := podfiles.Pack(map[string][]byte{"k": []byte(v)}).KeyPart["k"]
	return ok
}

// derivedKey is the key of a container's variable in an Env entry: the container's name and a
// hash of the variable's (which may hold any printable character but '=').
func derivedKey(container, variable string) string {
	sum := sha256.Sum256([]byte(variable))
	return container + "." + hex.EncodeToString(sum[:8])
}

// origin is where a variable's value comes from when it is exactly one key of one Secret.
type origin struct {
	secret, key string
}

// envOrigins follows the kubelet's order (envFrom, then env; later entries win; a missing
// optional source leaves an earlier value) to tell which variables hold exactly one Secret key.
func envOrigins(c *corev1.Container, values translate.StartValues) map[string]origin {
	out := map[string]origin{}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			for k := range values.ConfigMaps[ef.ConfigMapRef.Name] {
				delete(out, ef.Prefix+k)
			}
		case ef.SecretRef != nil:
			for k := range values.Secrets[ef.SecretRef.Name] {
				out[ef.Prefix+k] = origin{secret: ef.SecretRef.Name, key: k}
			}
		}
	}
	for _, e := range c.Env {
		ref := secretKeyRef(e)
		switch {
		case ref == nil:
			delete(out, e.Name)
		case hasKey(values.Secrets, ref.Name, ref.Key):
			out[e.Name] = origin{secret: ref.Name, key: ref.Key}
		case ref.Optional == nil || !*ref.Optional:
			delete(out, e.Name) // ResolveContainer fails first
		}
	}
	return out
}

func secretKeyRef(e corev1.EnvVar) *corev1.SecretKeySelector {
	if e.ValueFrom == nil {
		return nil
	}
	return e.ValueFrom.SecretKeyRef
}

func hasKey(m map[string]map[string][]byte, name, key string) bool {
	_, ok := m[name][key]
	return ok
}

// statusField reports whether the container's variable name reads status.podIP(s) or hostIP(s)
// directly.
func statusField(c *corev1.Container, name string) bool {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			switch e.ValueFrom.FieldRef.FieldPath {
			case "status.podIP", "status.podIPs", "status.hostIP", "status.hostIPs":
				return true
			}
		}
	}
	return false
}

// containerCommand computes the command override that is only known at start: RunTask can
// override command, not entryPoint, so (as Translate does for per-pod values) the task definition
// keeps the command's leading elements known from the template as entryPoint, and the override
// carries the rest and the args. A command that expands a Secret is refused: overrides are
// readable by anyone allowed ecs:DescribeTasks.
func (r *resolver) containerCommand(c *corev1.Container, rc *translate.ResolvedContainer, cs translate.ContainerStart) {
	if rc.CommandSecret || rc.ArgsSecret {
		field := "args"
		if rc.CommandSecret {
			field = "command"
		}
		r.refuse(r.containerPath(c.Name)+"."+field, translate.ReasonCommandVariable,
			"expands a variable that holds a Secret's data (from envFrom); ECS could only pass it in RunTask overrides, which anyone allowed ecs:DescribeTasks reads. "+
				`Let a shell expand it instead: command: ["sh", "-c", "exec app --password \"$PASSWORD\""]`)
		return
	}
	if !cs.Command {
		return
	}
	rest := rc.Args
	if rc.CommandDelivery != translate.InTaskDefinition {
		k := slices.IndexFunc(rc.Elements, func(d translate.Delivery) bool { return d != translate.InTaskDefinition })
		rest = append(slices.Clone(rc.Command[k:]), rc.Args...)
	}
	r.additionsOf(c.Name).command = append([]string{}, rest...)
}
