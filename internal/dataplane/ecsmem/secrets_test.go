package ecsmem_test

import (
	"context"
	"path"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// TestSecretsReachTasks: a secret created through the Secrets Manager API on the in-memory ECS's
// endpoint reaches a task's container through secrets[].valueFrom; a missing one fails the task as
// ECS fails it.
func TestSecretsReachTasks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := ecsmem.Start(t, ecsmem.Options{})
	sm := secretsmanager.New(secretsmanager.Options{
		Region: e.Region, BaseEndpoint: aws.String(e.Endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return e.Credentials, nil }),
	})
	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("nodeless/c1/default/secret/db"), SecretString: aws.String(`{"password":"s3cret"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.ARN}); err != nil {
		t.Fatal(err)
	}
	if calls, writes := e.Wire().Calls(), e.Wire().Writes(); calls["secretsmanager.CreateSecret"] != 1 || calls["secretsmanager.GetSecretValue"] != 1 || writes != 1 {
		t.Errorf("wire counts %v, %d writes; want one CreateSecret (a write) and one GetSecretValue (a read)", calls, writes)
	}
	if _, err := e.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	register := func(family, valueFrom string) {
		t.Helper()
		_, err := e.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String(family), Cpu: aws.String("256"), Memory: aws.String("512"), NetworkMode: ecstypes.NetworkModeAwsvpc,
			RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
			ContainerDefinitions: []ecstypes.ContainerDefinition{{
				Name: aws.String("app"), Image: aws.String("example.com/app:1"),
				Secrets: []ecstypes.Secret{{Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String(valueFrom)}},
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	run := func(family string) string {
		t.Helper()
		out, err := e.Client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String(family)})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("RunTask: %v %+v", err, out)
		}
		return aws.ToString(out.Tasks[0].TaskArn)
	}

	register("ok", aws.ToString(created.ARN)+":password::")
	arn := run("ok")
	eventually(t, "the task runs", func() (bool, string) {
		task := describeTask(t, e, arn)
		return aws.ToString(task.LastStatus) == "RUNNING", aws.ToString(task.LastStatus)
	})
	ft, ok := e.Runtime.Task(path.Base(arn))
	if !ok {
		t.Fatalf("the runtime has no task %s", arn)
	}
	want := map[string][]model.KeyValuePair{"app": {{Name: aws.String("DB_PASSWORD"), Value: aws.String("s3cret")}}}
	if diff := cmp.Diff(want, ft.Spec.Secrets); diff != "" {
		t.Errorf("the container's secrets (-want +got):\n%s", diff)
	}
	if strings.Contains(describeTaskJSON(t, e, arn), "s3cret") {
		t.Errorf("DescribeTasks shows the secret's value")
	}

	register("missing", "arn:aws:secretsmanager:us-east-1:000000000000:secret:nodeless/c1/default/secret/nope-abcdef")
	arn = run("missing")
	eventually(t, "the task stops", func() (bool, string) {
		task := describeTask(t, e, arn)
		return aws.ToString(task.LastStatus) == "STOPPED", aws.ToString(task.LastStatus)
	})
	task := describeTask(t, e, arn)
	const wantReason = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: " +
		"unable to retrieve secret from asm: failed to fetch secret arn:aws:secretsmanager:us-east-1:000000000000:secret:nodeless/c1/default/secret/nope-abcdef " +
		"from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret."
	if task.StopCode != ecstypes.TaskStopCodeTaskFailedToStart || aws.ToString(task.StoppedReason) != wantReason {
		t.Errorf("stopCode %s, stoppedReason %q; want TaskFailedToStart, %q", task.StopCode, aws.ToString(task.StoppedReason), wantReason)
	}
}

func describeTaskJSON(t *testing.T, e *ecsmem.ECS, arn string) string {
	t.Helper()
	task := describeTask(t, e, arn)
	var b strings.Builder
	for _, c := range task.Containers {
		b.WriteString(aws.ToString(c.Reason))
	}
	for _, o := range task.Overrides.ContainerOverrides {
		for _, kv := range o.Environment {
			b.WriteString(aws.ToString(kv.Value))
		}
	}
	return b.String() + aws.ToString(task.StoppedReason)
}
