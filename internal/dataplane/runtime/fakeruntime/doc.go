// Package fakeruntime is an in-memory runtime.Runtime for unit tests of the scheduler and the API.
//
// It keeps a "world" of tasks that outlives a simulated restart (Restart returns a new Runtime over
// the same world, as containerd keeps running when nodeless is killed), records every call, and
// reports task states to the Observer synchronously from the call that caused them. What a started
// task's containers do is decided by OnStart (default: every container RUNNING, HEALTHY when it has a
// health check); tests then move tasks along with Report, RunAll, Exit and SetHealth.
package fakeruntime
