package translate

import (
	"fmt"
	"regexp"
)

// Options configure a translation. The zero value is valid: node "nodeless", amd64, no family
// prefix, the family named after the Pod's controller.
type Options struct {
	// NodeName is the virtual node's name (DefaultNodeName when empty); only Pods bound to it
	// translate.
	NodeName string
	// Arch is the CPU architecture tasks run on, in the Kubernetes spelling: "amd64" (default) or
	// "arm64". It is the node's kubernetes.io/arch label and the task definition's
	// runtimePlatform.cpuArchitecture (X86_64, ARM64).
	Arch string
	// FamilyPrefix is put in front of every family name, for clusters that share an AWS account
	// and region (families are per account and region): up to 32 of [A-Za-z0-9_-].
	FamilyPrefix string
	// Owner, when set, names the family instead of the Pod's controller: the controller knows,
	// for example, the CronJob that owns a Pod's Job, and all its runs then share one revision.
	Owner *Owner
	// EnableExecuteCommand is RunTask's enableExecuteCommand: on AWS, `kubectl exec`, exec probes
	// and exec hooks go through ECS Exec, which the task must have enabled (and its task role
	// allow).
	EnableExecuteCommand bool
	// NoStdin refuses containers with stdin or tty (ECS interactive, pseudoTerminal) with
	// ReasonFieldNotSupported, naming the field: for a data plane that keeps no standard input
	// open for a container, where RunTask would refuse the task definition (and the Pod would
	// wait for a spec change that never comes) rather than fail the Pod at once.
	NoStdin bool
	// ClusterDomain is the domain of Service names in the search list of ClusterFirst Pods
	// (default DefaultClusterDomain, "cluster.local").
	ClusterDomain string
}

// Owner is a workload object that names a task definition family.
type Owner struct {
	// Kind is the object's kind (Deployment, ReplicaSet, Job, CronJob, StatefulSet, Pod, ...).
	Kind string
	Name string
}

var familyPrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{0,32}$`)

func (o Options) withDefaults() Options {
	if o.NodeName == "" {
		o.NodeName = DefaultNodeName
	}
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	if o.ClusterDomain == "" {
		o.ClusterDomain = DefaultClusterDomain
	}
	return o
}

func (o Options) validate() error {
	if !familyPrefixPattern.MatchString(o.FamilyPrefix) {
		return fmt.Errorf("family prefix %q: use up to 32 letters, digits, '_' and '-'", o.FamilyPrefix)
	}
	if _, ok := cpuArchitectures[o.Arch]; !ok {
		return fmt.Errorf("arch %q: use amd64 or arm64", o.Arch)
	}
	if o.Owner != nil && (o.Owner.Kind == "" || o.Owner.Name == "") {
		return fmt.Errorf("owner %+v: give both kind and name", *o.Owner)
	}
	return nil
}

// cpuArchitectures maps the Kubernetes spelling of an architecture to ECS's.
var cpuArchitectures = map[string]string{"amd64": "X86_64", "arm64": "ARM64"}
