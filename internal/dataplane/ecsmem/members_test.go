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

// TestRepositoryCredentialsAndLogSecretOptions: a container's repositoryCredentials are read from
// the data plane's Secrets Manager when its task starts and given to the runtime to pull the image
// with (the runtime's own test pulls from a registry that wants them); a log configuration's
// secretOptions are resolved then too, without becoming variables; a credentials secret that is
// missing fails the task as ECS fails it, naming it.
func TestRepositoryCredentialsAndLogSecretOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := ecsmem.Start(t, ecsmem.Options{})
	sm := secretsmanager.New(secretsmanager.Options{
		Region: e.Region, BaseEndpoint: aws.String(e.Endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return e.Credentials, nil }),
	})
	creds, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("registry"), SecretString: aws.String(`{"username":"u","password":"p4ss"}`)})
	if err != nil {
		t.Fatal(err)
	}
	token, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("splunk"), SecretString: aws.String("t0ken")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	register := func(family, credentials string) {
		t.Helper()
		_, err := e.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String(family), Cpu: aws.String("256"), Memory: aws.String("512"), NetworkMode: ecstypes.NetworkModeAwsvpc,
			RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
			ContainerDefinitions: []ecstypes.ContainerDefinition{{
				Name: aws.String("app"), Image: aws.String("registry.example.com/private/app:1"),
				RepositoryCredentials: &ecstypes.RepositoryCredentials{CredentialsParameter: aws.String(credentials)},
				LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverSplunk,
					SecretOptions: []ecstypes.Secret{{Name: aws.String("splunk-token"), ValueFrom: token.ARN}}},
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

	register("private", aws.ToString(creds.ARN))
	arn := run("private")
	eventually(t, "the task runs", func() (bool, string) {
		task := describeTask(t, e, arn)
		return aws.ToString(task.LastStatus) == "RUNNING", aws.ToString(task.LastStatus)
	})
	ft, ok := e.Runtime.Task(path.Base(arn))
	if !ok {
		t.Fatalf("the runtime has no task %s", arn)
	}
	if diff := cmp.Diff(map[string]model.RegistryAuth{"app": {Username: "u", Password: "p4ss"}}, ft.Spec.RegistryAuth); diff != "" {
		t.Errorf("the registry credentials given to the runtime (-want +got):\n%s", diff)
	}
	if len(ft.Spec.Secrets) != 0 {
		t.Errorf("secretOptions became variables: %v", ft.Spec.Secrets)
	}
	if s := describeTaskJSON(t, e, arn); strings.Contains(s, "p4ss") || strings.Contains(s, "t0ken") {
		t.Errorf("DescribeTasks shows a secret's value")
	}

	register("missing", "no-such-secret")
	arn = run("missing")
	eventually(t, "the task stops", func() (bool, string) {
		task := describeTask(t, e, arn)
		return aws.ToString(task.LastStatus) == "STOPPED", aws.ToString(task.LastStatus)
	})
	task := describeTask(t, e, arn)
	if reason := aws.ToString(task.StoppedReason); task.StopCode != ecstypes.TaskStopCodeTaskFailedToStart ||
		!strings.HasPrefix(reason, "ResourceInitializationError: unable to pull secrets or registry auth") || !strings.Contains(reason, "repositoryCredentials of app") {
		t.Errorf("stopCode %s, stoppedReason %q; want TaskFailedToStart naming repositoryCredentials of app", task.StopCode, reason)
	}
}
