package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/pod"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// TestClusterObjectDefaults: under `nodeless controller`, where a Cluster object names the ECS
// cluster the Pods' tasks run in, a Pod's task takes that object's spec.defaults before the
// controller's flags: its task definition's executionRoleArn and its ENI's subnet are the
// Cluster's, the flags' security group stays where the Cluster names none, and an Event on the
// Pod names the object and the members taken.
func TestClusterObjectDefaults(t *testing.T) {
	const (
		flagRole      = "arn:aws:iam::000000000000:role/flag-exec"
		clusterRole   = "arn:aws:iam::000000000000:role/cluster-exec"
		flagSubnet    = "subnet-0aaaaaaaaaaaaaaa1"
		clusterSubnet = "subnet-0bbbbbbbbbbbbbbb2"
		flagGroup     = "sg-0ccccccccccccccc3"
	)
	e := start(t, func(_ *env, o *pod.Options) {
		o.ExecutionRoleArn, o.Subnets, o.SecurityGroups = flagRole, []string{flagSubnet}, []string{flagGroup}
	})
	cl := &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "pods", Namespace: e.ns}, Spec: ecsv1alpha1.ClusterSpec{
		ClusterName: pod.DefaultCluster,
		Defaults: &ecsv1alpha1.ClusterDefaults{ExecutionRoleArn: clusterRole, NetworkConfiguration: &ecsv1alpha1.NetworkConfiguration{
			AwsvpcConfiguration: &ecsv1alpha1.AwsVpcConfiguration{Subnets: []string{clusterSubnet}}}},
	}}
	if err := e.c.Create(e.ctx, cl); err != nil {
		t.Fatal(err)
	}
	e.eventually(30*time.Second, "the Cluster is ACTIVE", func() (bool, string) {
		if err := e.c.Get(e.ctx, client.ObjectKeyFromObject(cl), cl); err != nil {
			return false, err.Error()
		}
		return cl.Status.Status == "ACTIVE", "status " + cl.Status.Status
	})

	e.create(e.newPod("web"))
	got := e.waitPod("web", time.Minute, "Running", running)
	task := e.task(taskOf(got))
	if role := aws.ToString(e.taskDefinition(aws.ToString(task.TaskDefinitionArn)).ExecutionRoleArn); role != clusterRole {
		t.Errorf("the task definition's executionRoleArn is %q, want the Cluster's %q", role, clusterRole)
	}
	var subnet string
	for _, a := range task.Attachments {
		for _, d := range a.Details {
			if aws.ToString(a.Type) == model.AttachmentTypeENI && aws.ToString(d.Name) == model.ENISubnetID {
				subnet = aws.ToString(d.Value)
			}
		}
	}
	if subnet != clusterSubnet {
		t.Errorf("the task's ENI is in subnet %q, want the Cluster's %s", subnet, clusterSubnet)
	}
	want := "Normal ClusterDefaults: The task takes subnets, executionRoleArn from the spec.defaults of Cluster " + e.ns + "/pods"
	e.eventually(eventTimeout, "event "+want, func() (bool, string) { return e.hasEvent("web", want) })
	for _, ev := range e.events("web") {
		if strings.Contains(ev, "securityGroups") {
			t.Errorf("event %q: the Cluster names no security groups, the flag's stay", ev)
		}
	}
}

// TestPodWaitsForAnExecutionRole: Pods that log with awslogs need a task execution role; without
// --pod-execution-role-arn a Pod waits, Pending, with a Warning Event naming the Cluster object's
// spec.defaults.executionRoleArn and the flag, and runs with the role once a Cluster object gives
// it.
func TestPodWaitsForAnExecutionRole(t *testing.T) {
	const clusterRole = "arn:aws:iam::000000000000:role/cluster-exec"
	e := start(t, func(_ *env, o *pod.Options) {
		o.ExecutionRoleArn = ""
		o.Logs = &translate.AWSLogs{Group: "/nodeless/pods", Region: "us-east-1"}
	})
	e.create(e.newPod("web"))
	e.eventually(30*time.Second, "a NoExecutionRole event", func() (bool, string) {
		for _, ev := range e.events("web") {
			if strings.HasPrefix(ev, "Warning "+pod.ReasonNoExecutionRole+":") && strings.Contains(ev, "spec.defaults.executionRoleArn") {
				return true, ev
			}
		}
		return false, strings.Join(e.events("web"), "; ")
	})
	if n := e.tasksStarted(e.get("web")); n != 0 {
		t.Fatalf("%d tasks started for a Pod without an execution role, want none", n)
	}
	cl := &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "pods", Namespace: e.ns}, Spec: ecsv1alpha1.ClusterSpec{
		ClusterName: pod.DefaultCluster, Defaults: &ecsv1alpha1.ClusterDefaults{ExecutionRoleArn: clusterRole},
	}}
	if err := e.c.Create(e.ctx, cl); err != nil {
		t.Fatal(err)
	}
	got := e.waitPod("web", time.Minute, "Running", running)
	task := e.task(taskOf(got))
	if role := aws.ToString(e.taskDefinition(aws.ToString(task.TaskDefinitionArn)).ExecutionRoleArn); role != clusterRole {
		t.Errorf("the task definition's executionRoleArn is %q, want the Cluster's %q", role, clusterRole)
	}
}
