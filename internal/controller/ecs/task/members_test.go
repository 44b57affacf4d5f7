package task

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/inplace"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/spectest"
)

const runTask = "RunTask"

var createOnly = spectest.Member{Path: spectest.CreateOnly, Call: runTask, Why: "ECS cannot change a started task: CRD rule"}

// members classifies every member of TaskSpec: ECS changes nothing of a started task but its tags.
var members = map[string]spectest.Member{
	"cluster":                createOnly,
	"clusterRef.name":        {Path: spectest.CreateOnly, Call: runTask, Why: "resolved to the Cluster's ECS cluster; ECS cannot move a task: CRD rule"},
	"taskDefinition":         createOnly,
	"taskDefinitionRef.name": {Path: spectest.CreateOnly, Call: runTask, Why: "resolved to the TaskDefinition's newest revision when the task starts: CRD rule"},
	"launchType":             createOnly,
	"platformVersion":        createOnly,
	"group":                  createOnly,
	"startedBy":              createOnly,
	"networkConfiguration.awsvpcConfiguration.subnets":        createOnly,
	"networkConfiguration.awsvpcConfiguration.securityGroups": createOnly,
	"networkConfiguration.awsvpcConfiguration.assignPublicIp": createOnly,
	"overrides.cpu":                                           createOnly,
	"overrides.memory":                                        createOnly,
	"overrides.containerOverrides[].name":                     createOnly,
	"overrides.containerOverrides[].command":                  createOnly,
	"overrides.containerOverrides[].environment[].name":       createOnly,
	"overrides.containerOverrides[].environment[].value":      createOnly,
	"overrides.executionRoleArn":                              createOnly,
	"overrides.taskRoleArn":                                   createOnly,
	"overrides.ephemeralStorage.sizeInGiB":                    createOnly,
	"overrides.containerOverrides[].cpu":                      createOnly,
	"overrides.containerOverrides[].memory":                   createOnly,
	"overrides.containerOverrides[].memoryReservation":        createOnly,
	"overrides.containerOverrides[].environmentFiles[].value": createOnly,
	"overrides.containerOverrides[].environmentFiles[].type":  createOnly,
	"capacityProviderStrategy[].capacityProvider":             createOnly,
	"capacityProviderStrategy[].weight":                       createOnly,
	"capacityProviderStrategy[].base":                         createOnly,
	"placementConstraints[].type":                             createOnly,
	"placementConstraints[].expression":                       createOnly,
	"placementStrategy[].type":                                createOnly,
	"placementStrategy[].field":                               createOnly,
	"enableExecuteCommand":                                    createOnly,
	"enableECSManagedTags":                                    createOnly,
	"propagateTags":                                           createOnly,
	"tags[].key":                                              {Path: spectest.InPlace, Call: "TagResource / UntagResource", Why: "also sent by RunTask; not once the task is stopping (StopTask deletes a task's tags)"},
	"tags[].value":                                            {Path: spectest.InPlace, Call: "TagResource / UntagResource", Why: "also sent by RunTask; not once the task is stopping (StopTask deletes a task's tags)"},
}

func resolve(tk *ecsv1alpha1.Task) (cluster, td string) {
	cluster, td = tk.Spec.Cluster, tk.Spec.TaskDefinition
	if r := tk.Spec.ClusterRef; r != nil {
		cluster = r.Name
	}
	if r := tk.Spec.TaskDefinitionRef; r != nil {
		td = r.Name
	}
	return cluster, td
}

// TestSpecMembers: every member of TaskSpec is classified, and for a Task with every member set:
// every member reaches RunTask; a tag change makes a TagResource / UntagResource change on the
// running task; every other member is refused by the CRD.
func TestSpecMembers(t *testing.T) {
	spectest.Classified(reflect.TypeFor[ecsv1alpha1.TaskSpec](), members, t.Errorf)
	for path, m := range members {
		t.Run(path, func(t *testing.T) {
			base := &ecsv1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: "default", UID: "uid-job"}}
			spectest.Fill(t, &base.Spec)
			switch path {
			case "cluster":
				base.Spec.ClusterRef = nil
			case "taskDefinition":
				base.Spec.TaskDefinitionRef = nil
			}
			cluster, td := resolve(base)
			run := RunInput(base, cluster, td)
			observed := &ecstypes.Task{TaskArn: aws.String("arn:aws:ecs:us-east-1:000000000000:task/c/1"), Tags: run.Tags,
				LastStatus: aws.String("RUNNING"), DesiredStatus: aws.String("RUNNING")}
			base.Status.AppliedTags = inplace.Applied(base.Spec.Tags)
			if !TagChange(base, observed).Empty() {
				t.Fatal("a Task with every member set and nothing changed makes a tag change")
			}

			tk := base.DeepCopy()
			spectest.Change(t, &tk.Spec, path)
			cluster, td = resolve(tk)
			if cmp.Equal(run, RunInput(tk, cluster, td), cmp.Exporter(func(reflect.Type) bool { return true })) {
				t.Errorf("a change of %s does not reach RunTask", path)
			}
			tags := TagChange(tk, observed)
			switch m.Path {
			case spectest.InPlace:
				if tags.Empty() {
					t.Errorf("a change of %s makes no TagResource / UntagResource change", path)
				}
				stopped := *observed
				stopped.DesiredStatus = aws.String("STOPPED")
				if !stopping(&stopped) {
					t.Error("a task asked to stop is not left alone")
				}
			case spectest.CreateOnly:
				if !tags.Empty() {
					t.Errorf("a change of %s makes a tag change", path)
				}
				if !spectest.RefusedByCRD(t, "Task", spectest.Top(path)) {
					t.Errorf("the CRD has no rule refusing a change of %s", path)
				}
			default:
				t.Errorf("%s: no check for path %s", path, m.Path)
			}
		})
	}
	t.Logf("Task spec members:\n%s", spectest.Table(members))
}
