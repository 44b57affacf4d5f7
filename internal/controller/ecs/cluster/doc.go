// Package cluster reconciles Cluster objects onto ECS clusters: CreateCluster (idempotent by
// name), settings kept in sync when the spec sets them (UpdateCluster), tags in place (TagResource /
// UntagResource), a rename refused, counts mirrored into status, and
// DeleteCluster on deletion once the cluster holds no services or tasks.
package cluster
