package awsservice

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/nodeless-dev/nodeless/internal/cloudmapapi"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// attrIPv4 is the Cloud Map instance attribute Route 53's A records are made from.
const attrIPv4 = "AWS_INSTANCE_IPV4"

// syncDiscovery converges svc's Cloud Map service (found by name and owner tag in the
// namespace, else created with multivalue A records) and its instances: one per ready endpoint
// address, InstanceId = the address.
func (r *Reconciler) syncDiscovery(ctx context.Context, svc *corev1.Service, st *svcState) *reconciler.Problem {
	domain, p := r.namespaceName(ctx)
	if p != nil {
		return p
	}
	eps, p := r.endpointSlices(ctx, svc)
	if p != nil {
		return p
	}
	if st.discoveryID == "" {
		id, p := r.findDiscovery(ctx, svc)
		if p != nil {
			return p
		}
		if id == "" {
			if id, p = r.createDiscovery(ctx, svc); p != nil {
				return p
			}
			r.recorder.Eventf(svc, corev1.EventTypeNormal, ReasonRegisteredDiscovery, "Created Cloud Map service %s in namespace %s: %s.%s resolves inside the VPC",
				DiscoveryName(svc), r.opts.NamespaceID, DiscoveryName(svc), domain)
		}
		st.discoveryID, st.instances = id, nil
	}
	return r.syncInstances(ctx, st, ReadyIPs(eps))
}

// namespaceName is the DNS name of the Cloud Map namespace, asked once; a namespace that does not
// exist or is not a private DNS namespace is a Problem naming the flag.
func (r *Reconciler) namespaceName(ctx context.Context) (string, *reconciler.Problem) {
	r.mu.Lock()
	name := r.domain
	r.mu.Unlock()
	if name != "" {
		return name, nil
	}
	out, err := r.aws.CloudMap.GetNamespace(ctx, &sd.GetNamespaceInput{Id: aws.String(r.opts.NamespaceID)})
	if err != nil {
		return "", fromAWS("reading Cloud Map namespace "+r.opts.NamespaceID+" (--service-discovery-namespace-id)", cloudmapapi.KindOf(err), err)
	}
	if t := out.Namespace.Type; t != sdtypes.NamespaceTypeDnsPrivate {
		return "", &reconciler.Problem{Reason: ReasonInvalidSpec, RequeueAfter: ecscall.RetryNotAllowed,
			Message: fmt.Sprintf("Cloud Map namespace %s is of type %s: --service-discovery-namespace-id must name a private DNS namespace (aws servicediscovery create-private-dns-namespace)", r.opts.NamespaceID, t)}
	}
	name = aws.ToString(out.Namespace.Name)
	r.mu.Lock()
	r.domain = name
	r.mu.Unlock()
	return name, nil
}

// findDiscovery returns the id of svc's Cloud Map service ("" when there is none); a service of
// that name without svc's owner tag is a Problem.
func (r *Reconciler) findDiscovery(ctx context.Context, svc *corev1.Service) (string, *reconciler.Problem) {
	name := DiscoveryName(svc)
	in := &sd.ListServicesInput{Filters: []sdtypes.ServiceFilter{{
		Name: sdtypes.ServiceFilterNameNamespaceId, Values: []string{r.opts.NamespaceID}, Condition: sdtypes.FilterConditionEq,
	}}}
	for {
		out, err := r.aws.CloudMap.ListServices(ctx, in)
		if err != nil {
			return "", fromAWS("listing the Cloud Map services of namespace "+r.opts.NamespaceID, cloudmapapi.KindOf(err), err)
		}
		for _, s := range out.Services {
			if aws.ToString(s.Name) != name {
				continue
			}
			return r.ownedDiscovery(ctx, svc, s)
		}
		if aws.ToString(out.NextToken) == "" {
			return "", nil
		}
		in.NextToken = out.NextToken
	}
}

func (r *Reconciler) ownedDiscovery(ctx context.Context, svc *corev1.Service, s sdtypes.ServiceSummary) (string, *reconciler.Problem) {
	tags, err := r.aws.CloudMap.ListTagsForResource(ctx, &sd.ListTagsForResourceInput{ResourceARN: s.Arn})
	if err != nil {
		return "", fromAWS("reading the tags of Cloud Map service "+aws.ToString(s.Name), cloudmapapi.KindOf(err), err)
	}
	for _, t := range tags.Tags {
		if aws.ToString(t.Key) == ecscall.TagOwner && aws.ToString(t.Value) == string(svc.UID) {
			return aws.ToString(s.Id), nil
		}
	}
	return "", &reconciler.Problem{Reason: ReasonNotOwned, RequeueAfter: ecscall.RetryNotAllowed,
		Message: fmt.Sprintf("Cloud Map service %s (%s) exists in namespace %s without this Service's owner tag (%s=%s): delete it, or keep this Service out with the annotation %s: \"false\"",
			aws.ToString(s.Name), aws.ToString(s.Id), r.opts.NamespaceID, ecscall.TagOwner, svc.UID, DiscoveryAnnotation)}
}

// createDiscovery creates svc's Cloud Map service (idempotent by CreatorRequestId, the UID).
func (r *Reconciler) createDiscovery(ctx context.Context, svc *corev1.Service) (string, *reconciler.Problem) {
	out, err := r.aws.CloudMap.CreateService(ctx, &sd.CreateServiceInput{
		Name: aws.String(DiscoveryName(svc)), NamespaceId: aws.String(r.opts.NamespaceID), CreatorRequestId: aws.String(string(svc.UID)),
		Description: aws.String("Kubernetes Service " + svc.Namespace + "/" + svc.Name),
		DnsConfig: &sdtypes.DnsConfig{
			RoutingPolicy: sdtypes.RoutingPolicyMultivalue,
			DnsRecords:    []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: aws.Int64(int64(r.opts.DNSTTL.Seconds()))}},
		},
		Tags: []sdtypes.Tag{
			{Key: aws.String(ecscall.TagOwner), Value: aws.String(string(svc.UID))},
			{Key: aws.String(TagService), Value: aws.String(svc.Namespace + "/" + svc.Name)},
			{Key: aws.String(TagCluster), Value: aws.String(r.opts.Cluster)},
		},
	})
	if err != nil {
		return "", fromAWS("creating Cloud Map service "+DiscoveryName(svc), cloudmapapi.KindOf(err), err)
	}
	return aws.ToString(out.Service.Id), nil
}

// listInstances are the instance ids of the Cloud Map service id.
func (r *Reconciler) listInstances(ctx context.Context, id string) ([]string, *reconciler.Problem) {
	var ids []string
	in := &sd.ListInstancesInput{ServiceId: aws.String(id)}
	for {
		out, err := r.aws.CloudMap.ListInstances(ctx, in)
		if err != nil {
			return nil, fromAWS("listing the instances of Cloud Map service "+id, cloudmapapi.KindOf(err), err)
		}
		for _, i := range out.Instances {
			ids = append(ids, aws.ToString(i.Id))
		}
		if aws.ToString(out.NextToken) == "" {
			slices.Sort(ids)
			return ids, nil
		}
		in.NextToken = out.NextToken
	}
}

// syncInstances registers the addresses of want and deregisters the other instances; nothing is
// called when want is what was last registered.
func (r *Reconciler) syncInstances(ctx context.Context, st *svcState, want []string) *reconciler.Problem {
	if st.instances != nil && slices.Equal(st.instances, want) {
		return nil
	}
	have, p := r.listInstances(ctx, st.discoveryID)
	if p != nil {
		return p
	}
	for _, ip := range want {
		if slices.Contains(have, ip) {
			continue
		}
		_, err := r.aws.CloudMap.RegisterInstance(ctx, &sd.RegisterInstanceInput{
			ServiceId: aws.String(st.discoveryID), InstanceId: aws.String(ip), Attributes: map[string]string{attrIPv4: ip},
		})
		if err != nil {
			return fromAWS("registering "+ip+" in Cloud Map service "+st.discoveryID, cloudmapapi.KindOf(err), err)
		}
	}
	for _, id := range have {
		if slices.Contains(want, id) {
			continue
		}
		_, err := r.aws.CloudMap.DeregisterInstance(ctx, &sd.DeregisterInstanceInput{ServiceId: aws.String(st.discoveryID), InstanceId: aws.String(id)})
		if err != nil && !cloudmapapi.IsNotFound(err) {
			return fromAWS("deregistering "+id+" from Cloud Map service "+st.discoveryID, cloudmapapi.KindOf(err), err)
		}
	}
	st.instances = append([]string{}, want...)
	return nil
}

// removeDiscovery deregisters every instance of svc's Cloud Map service and deletes it (retried
// while Cloud Map still completes the deregistrations).
func (r *Reconciler) removeDiscovery(ctx context.Context, svc *corev1.Service, st *svcState) *reconciler.Problem {
	id := st.discoveryID
	if id == "" {
		var p *reconciler.Problem
		if id, p = r.findDiscovery(ctx, svc); p != nil {
			if p.Reason == ReasonNotOwned {
				return nil // not ours to delete
			}
			return p
		}
		if id == "" {
			return nil
		}
	}
	st.discoveryID, st.instances = id, nil
	if p := r.syncInstances(ctx, st, nil); p != nil {
		return p
	}
	_, err := r.aws.CloudMap.DeleteService(ctx, &sd.DeleteServiceInput{Id: aws.String(id)})
	if err != nil && !cloudmapapi.IsNotFound(err) {
		if cloudmapapi.KindOf(err) != ecsapi.KindConflict {
			return fromAWS("deleting Cloud Map service "+id, cloudmapapi.KindOf(err), err)
		}
		return &reconciler.Problem{Reason: ReasonDependencyNotDeleted, RequeueAfter: retryDeleting,
			Message: fmt.Sprintf("deleting Cloud Map service %s (its instances are still being deregistered): %v", id, err)}
	}
	st.discoveryID, st.instances = "", nil
	r.recorder.Eventf(svc, corev1.EventTypeNormal, ReasonDeletedDiscovery, "Deleted Cloud Map service %s", DiscoveryName(svc))
	return nil
}
