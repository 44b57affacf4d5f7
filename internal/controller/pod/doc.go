// Package pod is the Pod controller of the virtual node: it does for the Pods bound to the node
// what a kubelet does for its Pods, with one ECS task per Pod (DESIGN.md §4.2, ADR 0005), as the
// Steps of the reconcile skeleton (internal/controller/reconciler).
//
// # What it does
//
//   - Admission: translate.Translate. A Pod that asks for what nodeless cannot honour fails as the
//     kubelet fails a Pod it cannot admit (phase Failed, the first problem's reason, a message
//     listing every problem with its field path and what to do) with a Warning Event per problem;
//     warnings become Warning Events, once.
//   - Start: podstart.Resolve (ConfigMaps, Secrets, files, tokens; a missing one keeps the Pod
//     Pending with the kubelet's reason, CreateContainerConfigError, retried when the object
//     appears and with back-off), then the content-addressed revision (revision.Registry: the Pods
//     of a template share one, registered once; `kubectl rollout undo` reuses the old one), then
//     RunTask with clientToken translate.ClientToken(uid, run) in the Pods' cluster.
//   - The record: the Pod's status is the record of its task (ConditionTask: the task's ARN, the
//     run, the previous task), written in the same status patch as the rest. A restarted controller
//     re-attaches from it and never runs a second task; a crash between RunTask and the status
//     write is covered by RunTask's idempotency (the same clientToken returns the task, and a
//     ConflictException for it names the task, which is adopted).
//   - Status: one batched poller (internal/controller/poller: DescribeTasks of up to 100 tasks per
//     call per cluster; tasks at rest every StablePollInterval; only Pods whose task changed are
//     woken) → translate.PodStatus with the node's state (restart counts, back-off, probe
//     results, deadline) → the skeleton's status patch (none at rest). Events as the kubelet
//     records them (Pulling, Pulled, Created, Started, Killing, Failed, BackOff), derived from the
//     status change, so that a restarted controller does not record them again.
//   - Restarts (ADR 0005, "Restarts"): a stopped task of a Pod that must restart (restartPolicy
//     Always; OnFailure after a failure; an image pull or secrets failure whatever the policy) is
//     run again with the kubelet's back-off (10 s doubling to 5 min, reset after 10 min running),
//     the containers waiting in CrashLoopBackOff or ImagePullBackOff meanwhile, restartCount and
//     lastState kept, clientToken UID-n. Job Pods (Never, OnFailure) end Succeeded or Failed as the
//     kubelet ends them. activeDeadlineSeconds stops the task and fails the Pod (DeadlineExceeded).
//   - Deletion, as a kubelet: no finalizer (reconciler.Config.Release); while the Pod has a
//     deletionTimestamp its address is withdrawn from the Services' answers (Withdrawers, the VPC's
//     DNS; ADR 0010), the preStop hooks run (Hooks), then StopTask naming the Pod (SIGTERM, then
//     SIGKILL after stopTimeout), and once the task is STOPPED the Pod is deleted with grace period 0.
//   - Garbage (the sweeper): tasks of Pods that no longer exist are stopped (at start, every
//     SweepInterval, and at once for a Pod force-deleted while its task ran); revisions of a family
//     no Pod runs are deregistered beyond the newest KeepRevisions; mirror entries of deleted
//     objects are deleted (a safety net: the mirror collector below deletes them at once).
//   - Mirror collection: a controller beside the Pod controller (mirror-gc-<node>) deletes the
//     mirror entry of a ConfigMap or Secret as soon as the cache sees it deleted (and so when its
//     namespace is deleted), from the delete events of the informers the Pod controller already
//     has: no extra watch, and no call for an object never mirrored. A task that had not started
//     fails to start and its Pod shows CreateContainerConfigError (`secret "x" not found` once
//     run again), as a kubelet fails a container whose Secret went before it was created; a
//     running task keeps the values it started with.
//   - Keep-current: a running task's files volumes follow their ConfigMaps and Secrets, and its
//     tokens are renewed at 80% of their life, through taskhost.Host.VolumeDir and podfiles.Write
//     (without a Host, files stay as they were at start).
//
// # Probes
//
// With a taskhost.Host (Options.Host), Register makes a *prober.Manager (internal/prober) on it
// and adds it to the manager (Options.Probes replaces it, for tests). The controller hands it the
// Pod's task on every reconcile (Ensure, with each running container's run start: the task's
// start, or when ECS restarted the container in the task, when the new runtimeId was seen), and
// its Source wakes the Pod whose results changed. Readiness and startup results become
// containerStatuses[].ready/started and ContainersReady/Ready (a container without a readiness
// probe is ready once it runs and started; one adopted after a controller restart keeps what the
// Pod's status said until its probes conclude). A failed liveness or startup probe kills the
// container as the kubelet does: the Killing Event with the kubelet's message, SIGTERM through
// Host.Signal, SIGKILL after the probe's (else the Pod's) grace period; where the Host cannot
// signal, StopTask. Locally the essential container's exit stops the task and the node runs the
// Pod again under its restart policy with back-off (restartCount, lastState). The prober records
// the Unhealthy and ProbeWarning Events itself. A Pod being deleted has its liveness and startup
// probes stopped (Terminating). Without a Host no probe runs and a running container counts as
// ready and started.
//
// # What it leaves to others
//
// Lifecycle hooks run through Hooks. The virtual node's kubelet API finds a Pod's task with
// Controller.Task (PodTasks).
//
// # Scope and cost
//
// Only Pods bound to the node are cached (CacheOptions: a field selector on spec.nodeName). At
// rest the controller writes nothing (neither to ECS nor to the API server) and reads one
// DescribeTasks per 100 tasks per StablePollInterval, plus one ListTasks per 100 tasks per
// SweepInterval.
package pod
