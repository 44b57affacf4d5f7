// Package task reconciles Task objects, as the Steps of the reconcile skeleton
// (internal/controller/reconciler): RunTask once (its clientToken is the object's UID, so a
// retry after a crash starts nothing new), the task's lifecycle mirrored into status through the
// batched poller (up to 100 tasks per DescribeTasks) until it is STOPPED, and StopTask when the object is deleted (deletion policy
// delete).
package task
