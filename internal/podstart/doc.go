// Package podstart completes a Pod's task when it starts: what translate leaves to the start —
// ConfigMap and Secret values, the files of configMap, secret, downwardAPI and projected volumes,
// the service-account token, Service link variables, status.podIP — resolved as the kubelet
// resolves them, and delivered without ever putting a Secret in clear into a task definition or
// RunTask overrides (docs/adr/0007-pod-values-at-start.md).
//
// Resolve is called by the Pod controller before it registers the task definition and runs the
// task. It returns a *Start (the task definition and RunTask request to use), or:
//   - a *Waiting: a ConfigMap, Secret or key the Pod needs does not exist (yet); the Pod stays
//     Pending with the kubelet's reason and message (CreateContainerConfigError: secret "x" not
//     found; ContainerCreating after FailedMount), and Resolve is called again when it appears;
//   - a *translate.RefusedError: what the Pod asks cannot be delivered through ECS (a Secret in a
//     command, a subPath of a single file, overrides beyond 8192 characters); the Pod fails;
//   - any other error: transient (the API server, Secrets Manager); retry with back-off.
//
// How each value travels (three deliveries, ADR 0005):
//   - Secret-derived variables: ECS secrets[].valueFrom naming a Secrets Manager secret nodeless
//     owns (secretsapi.Mirror: one per Secret, read with ECS's json-key suffix; a variable that
//     expands a Secret into a larger value goes into an Env entry of its template, or of its Pod
//     when it also expands the Pod's own fields);
//   - other start-time variables (ConfigMaps, status.podIP, envFrom of ConfigMaps): RunTask
//     containerOverrides.environment;
//   - Service link variables: the task definition's environment (the same for every Pod of the
//     namespace until a Service changes);
//   - files: an init container "nodeless-files" (the agent image, command files, essential false,
//     every container depends on it SUCCESS) writes them into the task volumes with the kubelet's
//     atomic layout; it reads the objects' data through its own secrets[].valueFrom (ConfigMaps
//     used as files are mirrored too: they may be up to 1 MiB, overrides 8 KiB), per-pod values
//     (downwardAPI metadata, the token) through RunTask overrides, and the podfiles.Manifest in its
//     task definition environment.
//
// The additions are the same for every Pod of a template unless a value is per-pod by nature, so
// the re-hashed task definition is still shared by a ReplicaSet's Pods.
package podstart
