// Package cluster reconciles Cluster objects onto ECS clusters, as the Steps of the reconcile
// skeleton (internal/controller/reconciler): CreateCluster (idempotent by name), settings kept in
// sync when the spec sets them (UpdateCluster), tags in place (TagResource / UntagResource), a
// rename refused, counts mirrored into status (read again every StablePollInterval: nothing else
// reports them), and DeleteCluster on deletion once the cluster holds no services or tasks.
package cluster
