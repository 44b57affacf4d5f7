package model

import (
	"net/netip"
	"strings"
)

// DefaultSubnetID is the subnetId a task's ENI reports when it was launched without an
// awsvpcConfiguration (the local data plane does not require one): the local VPC has one subnet.
const DefaultSubnetID = "subnet-00000000000000001"

// ENI detail names, as ECS spells them in an ElasticNetworkInterface attachment's details.
const (
	ENISubnetID           = "subnetId"
	ENINetworkInterfaceID = "networkInterfaceId"
	ENIMACAddress         = "macAddress"
	ENIPrivateDNSName     = "privateDnsName"
	ENIPrivateIPv4Address = "privateIPv4Address"
)

// SubnetID is the subnetId of a task launched with nc: its first subnet, else DefaultSubnetID.
func SubnetID(nc *NetworkConfiguration) string {
	if nc != nil && nc.AwsvpcConfiguration != nil && len(nc.AwsvpcConfiguration.Subnets) > 0 {
		return nc.AwsvpcConfiguration.Subnets[0]
	}
	return DefaultSubnetID
}

// newENI is the attachment of a task just launched: PRECREATED, with only its subnetId known, as
// RunTask shows it on ECS.
func newENI(subnetID string) Attachment {
	return Attachment{
		ID: NewUUID(), Type: AttachmentTypeENI, Status: AttachmentPrecreated,
		Details: []KeyValuePair{{Name: ptr(ENISubnetID), Value: ptr(subnetID)}},
	}
}

// ENI returns the task's network interface attachment, or nil.
func (t *Task) ENI() *Attachment {
	for i := range t.Attachments {
		if t.Attachments[i].Type == AttachmentTypeENI {
			return &t.Attachments[i]
		}
	}
	return nil
}

// PrivateIPv4 is the task's address in the VPC ("" before its ENI is attached).
func (t *Task) PrivateIPv4() string {
	if eni := t.ENI(); eni != nil {
		for _, d := range eni.Details {
			if deref(d.Name) == ENIPrivateIPv4Address {
				return deref(d.Value)
			}
		}
	}
	return ""
}

// AttachENI records the task's interface as attached: status ATTACHED and every detail, in the
// order ECS lists them, and the address on each container's networkInterfaces. A task launched
// before tasks had attachments gets one. Applying the same address again changes nothing.
func AttachENI(t *Task, region string, addr netip.Addr, mac string) {
	eni := t.ENI()
	if eni == nil {
		t.Attachments = append(t.Attachments, newENI(DefaultSubnetID))
		eni = &t.Attachments[len(t.Attachments)-1]
	}
	subnet := DefaultSubnetID
	for _, d := range eni.Details {
		if deref(d.Name) == ENISubnetID {
			subnet = deref(d.Value)
		}
	}
	eni.Status = AttachmentAttached
	eni.Details = []KeyValuePair{
		{Name: ptr(ENISubnetID), Value: ptr(subnet)},
		{Name: ptr(ENINetworkInterfaceID), Value: ptr(networkInterfaceID(t.TaskArn))},
		{Name: ptr(ENIMACAddress), Value: ptr(mac)},
		{Name: ptr(ENIPrivateDNSName), Value: ptr(PrivateDNSName(region, addr))},
		{Name: ptr(ENIPrivateIPv4Address), Value: ptr(addr.String())},
	}
	for i := range t.Containers {
		t.Containers[i].NetworkInterfaces = []NetworkInterface{{AttachmentID: ptr(eni.ID), PrivateIpv4Address: ptr(addr.String())}}
	}
}

// SetENIStatus sets the status of the task's network interface attachment, if it has one.
func SetENIStatus(t *Task, status string) {
	if eni := t.ENI(); eni != nil {
		eni.Status = status
	}
}

// networkInterfaceID is the ENI ID of a task: "eni-" and 17 hex digits of its task ID, so that it is
// the same after every restart.
func networkInterfaceID(taskArn string) string {
	id := taskArn[strings.LastIndex(taskArn, "/")+1:]
	return "eni-" + id[:min(len(id), 17)]
}

// PrivateDNSName is the EC2 private DNS name of addr in region: ip-10-244-0-5.ec2.internal in
// us-east-1, ip-10-244-0-5.REGION.compute.internal elsewhere.
func PrivateDNSName(region string, addr netip.Addr) string {
	host := "ip-" + strings.ReplaceAll(addr.String(), ".", "-")
	if region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + region + ".compute.internal"
}
