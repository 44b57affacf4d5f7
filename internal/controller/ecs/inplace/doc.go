// Package inplace holds what the ECS controllers share to change an ECS resource in place instead
// of through a new task definition revision or a new service deployment: the diff between a spec's
// tags and a resource's (applied with TagResource / UntagResource), and the refusal, by name, of a
// change ECS cannot make to an existing resource.
//
// Tags follow "last applied" semantics, as kubectl apply does: nodeless sets every tag of the spec
// and removes only the keys it applied before (recorded in the object's status.appliedTags), so tags
// that others put on a resource stay, and so do the tags nodeless manages itself (nodeless.dev/...)
// and those AWS reserves (aws:...).
package inplace
