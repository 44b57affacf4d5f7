package store

import (
	"errors"
	"strconv"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// The local ELBv2 API's records (package elbv2 owns their meaning), in a bucket of their own keyed
// "lb/ARN", "tg/ARN", "ls/ARN", "tgt/TARGETGROUPARN|IP:PORT" and "tag/ARN" (the tags of a load
// balancer, target group or listener, deleted with it). The bucket is created by the first
// write, so a state dir from before the ELBv2 API opens unchanged and the store's bucket list is
// left alone.
var bucketELBv2 = []byte("elbv2")

const (
	elbLoadBalancerPrefix = "lb/"
	elbTargetGroupPrefix  = "tg/"
	elbListenerPrefix     = "ls/"
	elbTargetPrefix       = "tgt/"
	elbTagPrefix          = "tag/"
)

// LoadBalancerRecord is a local network load balancer.
type LoadBalancerRecord struct {
	ARN     string `json:"arn"`
	Name    string `json:"name"`
	DNSName string `json:"dnsName"`
	// Type is "network" (the only type served locally); Scheme "internet-facing" or "internal".
	Type          string     `json:"type"`
	Scheme        string     `json:"scheme"`
	IPAddressType string     `json:"ipAddressType"`
	VpcID         string     `json:"vpcId"`
	Subnets       []string   `json:"subnets,omitempty"`
	CreatedTime   model.Time `json:"createdTime"`
	// DeletionProtection is the attribute deletion_protection.enabled: DeleteLoadBalancer is
	// refused while it is true.
	DeletionProtection bool `json:"deletionProtection,omitempty"`
	// CrossZone is the attribute load_balancing.cross_zone.enabled (recorded; one zone locally).
	CrossZone bool `json:"crossZone,omitempty"`
	// RequestHash is the hash of the CreateLoadBalancer request that made it: the same request
	// again returns it, another one with its name is DuplicateLoadBalancerName.
	RequestHash string `json:"requestHash"`
}

// TargetGroupRecord is a target group of IP targets with its health check and attributes.
type TargetGroupRecord struct {
	ARN           string `json:"arn"`
	Name          string `json:"name"`
	Protocol      string `json:"protocol"`
	Port          int32  `json:"port"`
	TargetType    string `json:"targetType"`
	IPAddressType string `json:"ipAddressType"`
	VpcID         string `json:"vpcId"`
	// Health check settings (ELBv2's names without the HealthCheck prefix). Port is "traffic-port"
	// or a port number; Path and Matcher are for HTTP checks only.
	HealthCheckProtocol string `json:"healthCheckProtocol"`
	HealthCheckPort     string `json:"healthCheckPort"`
	HealthCheckPath     string `json:"healthCheckPath,omitempty"`
	HealthCheckInterval int32  `json:"healthCheckIntervalSeconds"`
	HealthCheckTimeout  int32  `json:"healthCheckTimeoutSeconds"`
	HealthyThreshold    int32  `json:"healthyThresholdCount"`
	UnhealthyThreshold  int32  `json:"unhealthyThresholdCount"`
	Matcher             string `json:"matcher,omitempty"`
	// DeregistrationDelaySeconds is the attribute deregistration_delay.timeout_seconds.
	DeregistrationDelaySeconds int32 `json:"deregistrationDelaySeconds"`
	// ProxyProtocolV2 is the attribute proxy_protocol_v2.enabled: each connection to a target
	// starts with a PROXY protocol v2 header carrying the client's address.
	ProxyProtocolV2 bool   `json:"proxyProtocolV2,omitempty"`
	RequestHash     string `json:"requestHash"`
}

// ListenerRecord is a listener of a load balancer: 127.0.0.1:Port forwards to TargetGroupARN.
type ListenerRecord struct {
	ARN             string `json:"arn"`
	LoadBalancerARN string `json:"loadBalancerArn"`
	Protocol        string `json:"protocol"`
	Port            int32  `json:"port"`
	TargetGroupARN  string `json:"targetGroupArn"`
	RequestHash     string `json:"requestHash"`
}

// TargetRecord is one registered target (IP and port) of a target group.
type TargetRecord struct {
	TargetGroupARN string `json:"targetGroupArn"`
	IP             string `json:"ip"`
	Port           int32  `json:"port"`
	// State is initial, healthy, unhealthy or draining (ELBv2's TargetHealthStateEnum); Reason is
	// ELBv2's reason code of the state (Elb.InitialHealthChecking, Target.FailedHealthChecks, ...).
	State        string      `json:"state"`
	Reason       string      `json:"reason,omitempty"`
	Description  string      `json:"description,omitempty"`
	RegisteredAt model.Time  `json:"registeredAt"`
	DrainingAt   *model.Time `json:"drainingAt,omitempty"`
	// Cluster and TaskID name the ECS task the service scheduler registered it for ("" when a
	// user registered it).
	Cluster string `json:"cluster,omitempty"`
	TaskID  string `json:"taskId,omitempty"`
}

// Key is the target's key within its group, "IP:PORT".
func (r *TargetRecord) Key() string { return r.IP + ":" + strconv.Itoa(int(r.Port)) }

// elbReady reports whether the bucket exists (reads of a store without one find nothing).
func (tx *Tx) elbReady() bool { return tx.btx.Bucket(bucketELBv2) != nil }

// elbEnsure creates the bucket before a write.
func (tx *Tx) elbEnsure() error {
	_, err := tx.btx.CreateBucketIfNotExists(bucketELBv2)
	return err
}

func elbGet[T any](tx *Tx, key string) (*T, error) {
	if !tx.elbReady() {
		return nil, ErrNotFound
	}
	return get[T](tx, bucketELBv2, key)
}

func elbPut(tx *Tx, key string, v any) error {
	if err := tx.elbEnsure(); err != nil {
		return err
	}
	return put(tx, bucketELBv2, key, v)
}

func elbDel(tx *Tx, key string) error {
	if !tx.elbReady() {
		return nil
	}
	return del(tx, bucketELBv2, key)
}

func elbList[T any](tx *Tx, prefix string) ([]*T, error) {
	var out []*T
	if !tx.elbReady() {
		return out, nil
	}
	err := each(tx, bucketELBv2, prefix, func(_ string, r *T) bool { out = append(out, r); return true })
	return out, err
}

// elbDelTagged removes the record prefix+arn and the resource's tags.
func elbDelTagged(tx *Tx, prefix, arn string) error {
	if err := elbDel(tx, elbTagPrefix+arn); err != nil {
		return err
	}
	return elbDel(tx, prefix+arn)
}

// ELBTag is a tag of a load balancer, target group or listener (ELBv2's Tag: Key, Value).
type ELBTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ELBTags returns the tags of the resource arn in the order they were first added (none when it
// has none).
func (tx *Tx) ELBTags(arn string) ([]ELBTag, error) {
	tags, err := elbGet[[]ELBTag](tx, elbTagPrefix+arn)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return *tags, nil
}

// PutELBTags replaces the tags of the resource arn (an empty list removes them).
func (tx *Tx) PutELBTags(arn string, tags []ELBTag) error {
	if len(tags) == 0 {
		return elbDel(tx, elbTagPrefix+arn)
	}
	return elbPut(tx, elbTagPrefix+arn, tags)
}

// GetLoadBalancer returns the load balancer arn, or ErrNotFound.
func (tx *Tx) GetLoadBalancer(arn string) (*LoadBalancerRecord, error) {
	return elbGet[LoadBalancerRecord](tx, elbLoadBalancerPrefix+arn)
}

// PutLoadBalancer creates or replaces a load balancer.
func (tx *Tx) PutLoadBalancer(r *LoadBalancerRecord) error {
	return elbPut(tx, elbLoadBalancerPrefix+r.ARN, r)
}

// DeleteLoadBalancer removes a load balancer and its tags (not its listeners).
func (tx *Tx) DeleteLoadBalancer(arn string) error {
	return elbDelTagged(tx, elbLoadBalancerPrefix, arn)
}

// LoadBalancers returns every load balancer, ordered by ARN.
func (tx *Tx) LoadBalancers() ([]*LoadBalancerRecord, error) {
	return elbList[LoadBalancerRecord](tx, elbLoadBalancerPrefix)
}

// GetTargetGroup returns the target group arn, or ErrNotFound.
func (tx *Tx) GetTargetGroup(arn string) (*TargetGroupRecord, error) {
	return elbGet[TargetGroupRecord](tx, elbTargetGroupPrefix+arn)
}

// PutTargetGroup creates or replaces a target group.
func (tx *Tx) PutTargetGroup(r *TargetGroupRecord) error {
	return elbPut(tx, elbTargetGroupPrefix+r.ARN, r)
}

// DeleteTargetGroup removes a target group, its targets and its tags.
func (tx *Tx) DeleteTargetGroup(arn string) error {
	targets, err := tx.Targets(arn)
	if err != nil {
		return err
	}
	for _, t := range targets {
		if err := tx.DeleteTarget(t); err != nil {
			return err
		}
	}
	return elbDelTagged(tx, elbTargetGroupPrefix, arn)
}

// TargetGroups returns every target group, ordered by ARN.
func (tx *Tx) TargetGroups() ([]*TargetGroupRecord, error) {
	return elbList[TargetGroupRecord](tx, elbTargetGroupPrefix)
}

// GetListener returns the listener arn, or ErrNotFound.
func (tx *Tx) GetListener(arn string) (*ListenerRecord, error) {
	return elbGet[ListenerRecord](tx, elbListenerPrefix+arn)
}

// PutListener creates or replaces a listener.
func (tx *Tx) PutListener(r *ListenerRecord) error { return elbPut(tx, elbListenerPrefix+r.ARN, r) }

// DeleteListener removes a listener and its tags.
func (tx *Tx) DeleteListener(arn string) error { return elbDelTagged(tx, elbListenerPrefix, arn) }

// Listeners returns every listener, ordered by ARN.
func (tx *Tx) Listeners() ([]*ListenerRecord, error) {
	return elbList[ListenerRecord](tx, elbListenerPrefix)
}

// ListenerOf returns a listener that forwards to the target group tgARN, nil when none does.
func (tx *Tx) ListenerOf(tgARN string) (*ListenerRecord, error) {
	ls, err := tx.Listeners()
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		if l.TargetGroupARN == tgARN {
			return l, nil
		}
	}
	return nil, nil
}

func targetKey(tgARN, key string) string { return elbTargetPrefix + tgARN + "|" + key }

// GetTarget returns the target "IP:PORT" of a target group, or ErrNotFound.
func (tx *Tx) GetTarget(tgARN, key string) (*TargetRecord, error) {
	return elbGet[TargetRecord](tx, targetKey(tgARN, key))
}

// PutTarget creates or replaces a target.
func (tx *Tx) PutTarget(r *TargetRecord) error {
	return elbPut(tx, targetKey(r.TargetGroupARN, r.Key()), r)
}

// DeleteTarget removes a target.
func (tx *Tx) DeleteTarget(r *TargetRecord) error {
	return elbDel(tx, targetKey(r.TargetGroupARN, r.Key()))
}

// Targets returns the targets of a target group ("" for every group's), ordered by key.
func (tx *Tx) Targets(tgARN string) ([]*TargetRecord, error) {
	prefix := elbTargetPrefix
	if tgARN != "" {
		prefix = elbTargetPrefix + tgARN + "|"
	}
	return elbList[TargetRecord](tx, prefix)
}

// TaskTargets returns every target the service scheduler registered for task ID id.
func (tx *Tx) TaskTargets(id string) ([]*TargetRecord, error) {
	all, err := tx.Targets("")
	if err != nil {
		return nil, err
	}
	var out []*TargetRecord
	for _, t := range all {
		if t.TaskID == id {
			out = append(out, t)
		}
	}
	return out, nil
}
