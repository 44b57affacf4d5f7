// Package cloudmapapi is nodeless's seam to AWS Cloud Map (the servicediscovery API): the narrow
// interface holding only the calls nodeless makes (satisfied by *servicediscovery.Client from
// aws-sdk-go-v2), the classification of its error codes into the kinds of package ecsapi, and
// client construction from the same endpoint and credential options as the ECS client.
//
// The controller of package controller/awsservice uses it to give a Kubernetes Service a Cloud
// Map service in a private DNS namespace, whose instances are the Service's ready Pod IPs (Route
// 53 A records inside the VPC).
//
// Contract of the calls, as the AWS Cloud Map API reference (API version 2017-03-14) documents
// them:
//   - CreateService is idempotent by CreatorRequestId (the same id returns the same service); a
//     service of the same name in the namespace fails with ServiceAlreadyExists (KindConflict),
//     whose ServiceId names it. Names are DNS labels separated by dots, 1–127 characters.
//   - ListServices filters by NAMESPACE_ID; at most 100 per page with NextToken.
//   - RegisterInstance creates or updates an instance (InstanceId ≤ 64 characters of
//     [0-9a-zA-Z_/:.@-]); DeregisterInstance of a missing instance fails with InstanceNotFound
//     (KindNotFound). Both are asynchronous: they return an OperationId and Route 53 follows
//     within seconds; ListInstances shows the registry's view at once.
//   - DeleteService of a service that still has instances fails with ResourceInUse
//     (KindConflict): deregister them first, and retry while the deregistrations complete.
//   - GetNamespace of a missing namespace fails with NamespaceNotFound; GetService and
//     DeleteService of a missing service with ServiceNotFound (KindNotFound).
//   - No call blocks beyond its HTTP round trip; RequestLimitExceeded and ThrottlingException
//     are KindThrottled, retried by the SDK's retryer.
package cloudmapapi
