// Package cloudmap is the local data plane's AWS Cloud Map: namespaces, services and their
// instances, kept in the data plane's store (bucket "cloudmap"), served on the data plane's
// endpoint beside ECS (X-Amz-Target Route53AutoNaming_v20170314.<Operation>, SigV4 service
// servicediscovery; package api routes the requests here) and answered as DNS names by the local
// VPC's DNS server (Registry.LookupName; docs/adr/0016-cloud-map-locally.md).
//
// Operations served, as the AWS Cloud Map API reference (2017-03-14) defines them:
// CreatePrivateDnsNamespace, CreateHttpNamespace, GetNamespace, ListNamespaces, DeleteNamespace,
// CreateService, GetService, ListServices, DeleteService, RegisterInstance, DeregisterInstance,
// GetInstance, ListInstances, DiscoverInstances, UpdateInstanceCustomHealthStatus, GetOperation,
// ListOperations.
// Cloud Map's asynchronous operations (namespace create/delete, instance register/deregister)
// complete before the call returns: GetOperation reports them SUCCESS at once; the newest
// MaxOperations (1000) are kept, older ones pruned as new ones are recorded. Every member a
// request may carry is either honoured or refused by name (InvalidInput): Route 53 health checks
// (HealthCheckConfig), WEIGHTED routing, AAAA and CNAME records and public namespaces are refused.
//
// ECS services with serviceRegistries register their tasks here (SyncTask, called by the
// scheduler in the transaction that changes the task): instance ID = task ID,
// AWS_INSTANCE_IPV4 = the task's private address, AWS_INSTANCE_PORT = the registry's port, and
// the attributes ECS adds (ECS_CLUSTER_NAME, ECS_SERVICE_NAME, ECS_TASK_DEFINITION_FAMILY, ...).
// A task is registered once RUNNING, HEALTHY when it has no container health check or once its
// health checks pass, and deregistered when it leaves RUNNING — in the transaction that moves it
// to DEACTIVATING, before its containers are signalled.
//
// Service Connect (connect.go, aliases.go): an ECS service's Service Connect services are Cloud
// Map services its tasks are registered in the same way; each client alias name gets a virtual
// address of the alias range (DefaultAliasCIDR unless configured), stored with the alias, which
// the DNS server answers and the data plane's Service Connect proxy (package connectproxy) listens
// on, forwarding each port to the healthy instances at their AWS_INSTANCE_PORT. Several ECS
// services may give one name, each with ports of its own (a name and port is one service's).
//
// Every write is one store transaction: a restart (even kill -9) loses and duplicates nothing,
// and creates carrying a CreatorRequestId are idempotent by it, as Cloud Map's are.
package cloudmap
