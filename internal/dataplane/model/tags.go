package model

// Propagation sources of RunTask's and CreateService's propagateTags.
const (
	PropagateTaskDefinition = "TASK_DEFINITION"
	PropagateService        = "SERVICE"
	PropagateNone           = "NONE"
)

// Keys of the ECS managed tags (enableECSManagedTags): the cluster's name on every task, and the
// service's name on a service's tasks.
const (
	ManagedTagClusterName = "aws:ecs:clusterName"
	ManagedTagServiceName = "aws:ecs:serviceName"
)

// TaskTagsInput is what a new task's tags come from.
type TaskTagsInput struct {
	// Own are the tags asked for the task itself (RunTask's tags; none for a service's task).
	Own []Tag
	// Propagate is propagateTags: TASK_DEFINITION copies DefinitionTags, SERVICE copies
	// ServiceTags, NONE or "" copies nothing.
	Propagate                   string
	DefinitionTags, ServiceTags []Tag
	// Managed adds the ECS managed tags: ManagedTagClusterName with Cluster, and
	// ManagedTagServiceName with Service when Service is set.
	Managed          bool
	Cluster, Service string
}

// TaskTags are the tags a task starts with, as the ECS API reference describes propagateTags and
// enableECSManagedTags (RunTask, CreateService): its own tags, then the tags of its task definition
// or service, then the managed tags. When a key appears twice the first wins, so a tag given for
// the task itself is never replaced by a propagated one. Nil when there are none.
func TaskTags(in TaskTagsInput) []Tag {
	var out []Tag
	seen := map[string]bool{}
	add := func(tags ...Tag) {
		for _, t := range tags {
			if t.Key == nil || seen[*t.Key] {
				continue
			}
			seen[*t.Key] = true
			out = append(out, t)
		}
	}
	add(in.Own...)
	switch in.Propagate {
	case PropagateTaskDefinition:
		add(in.DefinitionTags...)
	case PropagateService:
		add(in.ServiceTags...)
	}
	if in.Managed {
		add(Tag{Key: ptr(ManagedTagClusterName), Value: ptr(in.Cluster)})
		if in.Service != "" {
			add(Tag{Key: ptr(ManagedTagServiceName), Value: ptr(in.Service)})
		}
	}
	return out
}

// Tags that set a task's resolv.conf, a nodeless extension of the local data plane (ECS has no
// member for it in awsvpc mode). nodeless sets them on a Pod's task (internal/translate, where
// each is described; ADR 0010); the runtime writes the task's resolv.conf from them as a kubelet
// writes a Pod's, with the VPC's nameserver as the cluster DNS. Values are space-separated.
const (
	// TagDNSPolicy: ClusterFirst, Default or None; without it the task gets the host's
	// resolv.conf with the VPC's nameserver, as an ECS-native task does.
	TagDNSPolicy      = "nodeless.dev/dns-policy"
	TagDNSNameservers = "nodeless.dev/dns-nameservers"
	TagDNSSearches    = "nodeless.dev/dns-searches"
	TagDNSOptions     = "nodeless.dev/dns-options"
)
