package model

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAttachENI(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	task := NewTask(testARNs, NewTaskInput{Cluster: "c1", ID: id, Definition: testDefinition(),
		NetworkConfiguration: &NetworkConfiguration{AwsvpcConfiguration: &AwsVpcConfiguration{Subnets: []string{"subnet-local"}}}})
	attachmentID := task.Attachments[0].ID
	addr := netip.MustParseAddr("10.244.0.5")
	AttachENI(&task, "us-east-1", addr, "0a:58:0a:f4:00:05")
	want := []Attachment{{ID: attachmentID, Type: AttachmentTypeENI, Status: AttachmentAttached, Details: []KeyValuePair{
		{Name: ptr("subnetId"), Value: ptr("subnet-local")},
		{Name: ptr("networkInterfaceId"), Value: ptr("eni-0123456789abcdef0")},
		{Name: ptr("macAddress"), Value: ptr("0a:58:0a:f4:00:05")},
		{Name: ptr("privateDnsName"), Value: ptr("ip-10-244-0-5.ec2.internal")},
		{Name: ptr("privateIPv4Address"), Value: ptr("10.244.0.5")},
	}}}
	if diff := cmp.Diff(want, task.Attachments); diff != "" {
		t.Errorf("attachments (-want +got):\n%s", diff)
	}
	for _, c := range task.Containers {
		if diff := cmp.Diff([]NetworkInterface{{AttachmentID: ptr(attachmentID), PrivateIpv4Address: ptr("10.244.0.5")}}, c.NetworkInterfaces); diff != "" {
			t.Errorf("container %s networkInterfaces (-want +got):\n%s", c.Name, diff)
		}
	}
	if got := task.PrivateIPv4(); got != "10.244.0.5" {
		t.Errorf("PrivateIPv4() = %q", got)
	}
	before := task
	before.Attachments = append([]Attachment(nil), task.Attachments...)
	AttachENI(&task, "us-east-1", addr, "0a:58:0a:f4:00:05")
	if diff := cmp.Diff(before.Attachments, task.Attachments); diff != "" {
		t.Errorf("attaching again changed the attachment (-before +after):\n%s", diff)
	}
	SetENIStatus(&task, AttachmentDeleted)
	if task.Attachments[0].Status != AttachmentDeleted || task.PrivateIPv4() != "10.244.0.5" {
		t.Errorf("a DELETED ENI keeps its details: %+v", task.Attachments[0])
	}
}

func TestAttachENIToATaskWithoutOne(t *testing.T) {
	task := Task{TaskArn: testARNs.Task("c1", "abc"), Containers: []Container{{Name: "app"}}}
	AttachENI(&task, "eu-west-1", netip.MustParseAddr("10.244.0.9"), "0a:58:0a:f4:00:09")
	eni := task.ENI()
	if eni == nil || eni.Status != AttachmentAttached || eni.ID == "" || task.PrivateIPv4() != "10.244.0.9" {
		t.Fatalf("ENI %+v", eni)
	}
	if got := *eni.Details[3].Value; got != "ip-10-244-0-9.eu-west-1.compute.internal" {
		t.Errorf("privateDnsName outside us-east-1 = %q", got)
	}
	if got := *eni.Details[0].Value; got != DefaultSubnetID {
		t.Errorf("subnetId = %q", got)
	}
}
