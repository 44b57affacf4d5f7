// Package task reconciles Task objects: one RunTask per object (its clientToken derived from the
// object's UID, so a retry after a crash never starts a second task), the task's lifecycle
// mirrored into status through a poller that describes up to 100 tasks per call, and StopTask
// when the object is deleted.
package task
