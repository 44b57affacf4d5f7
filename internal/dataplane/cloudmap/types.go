package cloudmap

import "github.com/nodeless-dev/nodeless/internal/dataplane/model"

// Namespace types, record types, routing policies, health statuses and operation kinds as Cloud
// Map spells them.
const (
	TypeDNSPrivate = "DNS_PRIVATE"
	TypeHTTP       = "HTTP"

	ServiceTypeDNSHTTP = "DNS_HTTP"
	ServiceTypeHTTP    = "HTTP"

	RecordA   = "A"
	RecordSRV = "SRV"

	RoutingMultivalue = "MULTIVALUE"

	HealthHealthy   = "HEALTHY"
	HealthUnhealthy = "UNHEALTHY"

	opCreateNamespace    = "CREATE_NAMESPACE"
	opDeleteNamespace    = "DELETE_NAMESPACE"
	opRegisterInstance   = "REGISTER_INSTANCE"
	opDeregisterInstance = "DEREGISTER_INSTANCE"
	opSuccess            = "SUCCESS"
)

// Instance attributes Cloud Map and ECS give a meaning to.
const (
	AttrIPv4             = "AWS_INSTANCE_IPV4"
	AttrPort             = "AWS_INSTANCE_PORT"
	AttrInitHealth       = "AWS_INIT_HEALTH_STATUS"
	attrIPv6             = "AWS_INSTANCE_IPV6"
	attrCNAME            = "AWS_INSTANCE_CNAME"
	attrAlias            = "AWS_ALIAS_DNS_NAME"
	attrECSCluster       = "ECS_CLUSTER_NAME"
	attrECSService       = "ECS_SERVICE_NAME"
	attrECSFamily        = "ECS_TASK_DEFINITION_FAMILY"
	attrAvailabilityZone = "AVAILABILITY_ZONE"
	attrRegion           = "REGION"
	defaultSOATTL        = 15
)

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// SOA is a private DNS namespace's SOA record settings: TTL in seconds.
type SOA struct {
	TTL *int64 `json:"TTL"`
}

// DNSProperties of a DNS namespace.
type DNSProperties struct {
	HostedZoneID string `json:"HostedZoneId,omitempty"`
	SOA          *SOA   `json:"SOA,omitempty"`
}

// HTTPProperties of a namespace.
type HTTPProperties struct {
	HTTPName string `json:"HttpName,omitempty"`
}

// NamespaceProperties is what a namespace's type gives it.
type NamespaceProperties struct {
	DNSProperties  *DNSProperties  `json:"DnsProperties,omitempty"`
	HTTPProperties *HTTPProperties `json:"HttpProperties,omitempty"`
}

// Namespace is a namespace as GetNamespace returns it; it is also the stored record.
type Namespace struct {
	ID               string               `json:"Id"`
	Arn              string               `json:"Arn"`
	Name             string               `json:"Name"`
	Type             string               `json:"Type"`
	Description      string               `json:"Description,omitempty"`
	ServiceCount     int32                `json:"ServiceCount"`
	Properties       *NamespaceProperties `json:"Properties,omitempty"`
	CreateDate       *model.Time          `json:"CreateDate,omitempty"`
	CreatorRequestID string               `json:"CreatorRequestId,omitempty"`
	// Vpc and Tags are kept for the record; Cloud Map does not return them here.
	Vpc  string `json:"Vpc,omitempty"`
	Tags []Tag  `json:"Tags,omitempty"`
}

// DNSRecord is one record type a service's instances get, with its TTL in seconds.
type DNSRecord struct {
	Type string `json:"Type"`
	TTL  *int64 `json:"TTL"`
}

// DNSConfig is the records of a service of a DNS namespace.
type DNSConfig struct {
	NamespaceID   string      `json:"NamespaceId,omitempty"`
	RoutingPolicy string      `json:"RoutingPolicy,omitempty"`
	DNSRecords    []DNSRecord `json:"DnsRecords"`
}

// HealthCheckCustomConfig makes the instances' health whatever UpdateInstanceCustomHealthStatus
// (or ECS, for its tasks) says. FailureThreshold is deprecated in Cloud Map (always 1).
type HealthCheckCustomConfig struct {
	FailureThreshold *int32 `json:"FailureThreshold,omitempty"`
}

// Service is a Cloud Map service as GetService returns it; it is also the stored record.
type Service struct {
	ID                      string                   `json:"Id"`
	Arn                     string                   `json:"Arn"`
	Name                    string                   `json:"Name"`
	NamespaceID             string                   `json:"NamespaceId"`
	Description             string                   `json:"Description,omitempty"`
	InstanceCount           int32                    `json:"InstanceCount"`
	DNSConfig               *DNSConfig               `json:"DnsConfig,omitempty"`
	Type                    string                   `json:"Type,omitempty"`
	HealthCheckCustomConfig *HealthCheckCustomConfig `json:"HealthCheckCustomConfig,omitempty"`
	CreateDate              *model.Time              `json:"CreateDate,omitempty"`
	CreatorRequestID        string                   `json:"CreatorRequestId,omitempty"`
	Tags                    []Tag                    `json:"Tags,omitempty"`
}

// instance is a stored instance of a service.
type instance struct {
	ID               string            `json:"id"`
	ServiceID        string            `json:"serviceId"`
	Attributes       map[string]string `json:"attributes"`
	CreatorRequestID string            `json:"creatorRequestId,omitempty"`
	// Health is HEALTHY or UNHEALTHY: what DNS and DiscoverInstances filter on.
	Health string `json:"health"`
	// TaskArn is set on the instances ECS registered for a task of a service.
	TaskArn string `json:"taskArn,omitempty"`
}

// Operation is one asynchronous operation, as GetOperation returns it.
type Operation struct {
	ID         string            `json:"Id"`
	Type       string            `json:"Type"`
	Status     string            `json:"Status"`
	CreateDate *model.Time       `json:"CreateDate,omitempty"`
	UpdateDate *model.Time       `json:"UpdateDate,omitempty"`
	Targets    map[string]string `json:"Targets,omitempty"`
}

// Store keys.
func nsKey(id string) string          { return "ns/" + id }
func svcKey(id string) string         { return "svc/" + id }
func instPrefix(svcID string) string  { return "inst/" + svcID + "/" }
func instKey(svcID, id string) string { return instPrefix(svcID) + id }
func opKey(id string) string          { return "op/" + id }
func taskKey(taskArn string) string   { return "task/" + taskArn }

const (
	nsPrefix  = "ns/"
	svcPrefix = "svc/"
)
