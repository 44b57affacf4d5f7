package api

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/dataplane/api/ecsmodel"
)

// memberRule says what an input member the data plane accepts (its request type has a field for
// it) does. Either effect names what it does and tests the tests that exercise it, or approximated
// says why it is accepted although the local data plane cannot do what ECS does with it.
type memberRule struct {
	effect       string
	tests        []string
	approximated string
}

// eff and approx build memberRules.
func eff(effect string, tests ...string) memberRule {
	return memberRule{effect: effect, tests: tests}
}

func approx(why string) memberRule { return memberRule{approximated: why} }

// memberRules is every input member the data plane accepts, keyed SHAPE.member as the ECS model
// names them ("*.member" for that member of every request shape). A member that is not here fails
// TestEveryInputMemberTakesEffectOrIsRefused: say what it does and which test proves it, or refuse
// it (remove it from the request type) — as internal/translate's PodSpec test does for Kubernetes
// fields.
var memberRules = map[string]memberRule{
	// Every operation.
	"*.cluster":    eff("names the cluster (name or ARN; default: default); a missing or INACTIVE one is ClusterNotFoundException", "TestClusterErrors", "TestPropagateTags"),
	"*.nextToken":  eff("continues a listing where the previous page ended", "TestListServicesPages", "TestClusters"),
	"*.maxResults": eff("bounds a page (1-100), refused out of range", "TestListServicesPages", "TestClusterErrors"),
	"*.include":    eff("TAGS adds the resource's tags to a Describe answer (SETTINGS/CONFIGURATIONS/STATISTICS are always answered)", "TestTagsInPlace", "TestPropagateTags"),

	// Clusters.
	"CreateClusterRequest.clusterName":               eff("names the cluster; an ACTIVE one of that name is returned as is", "TestClusters"),
	"CreateClusterRequest.capacityProviders":         eff("FARGATE and FARGATE_SPOT are stored and shown; any other is refused by name", "TestMemberEffects"),
	"CreateClusterRequest.serviceConnectDefaults":    eff("the namespace of services that enable Service Connect without one; a new name creates an HTTP namespace", "TestServiceConnectDefaults"),
	"ClusterServiceConnectDefaultsRequest.namespace": eff("a local Cloud Map namespace by name or ARN, reported by ARN; \"\" on UpdateCluster removes the defaults", "TestServiceConnectDefaults"),
	"UpdateClusterRequest.serviceConnectDefaults":    eff("replaces or (namespace \"\") removes the cluster's default namespace", "TestServiceConnectDefaults"),
	"CreateClusterRequest.settings":                  eff("containerInsights stored and shown, changed by UpdateCluster(Settings)", "TestUpdateClusterSettings"),
	"CreateClusterRequest.tags":                      eff("the cluster's tags (ListTagsForResource, include TAGS)", "TestTags", "TestTagLimit"),
	"ClusterSetting.name":                            eff("containerInsights; other names refused", "TestUpdateClusterSettings"),
	"ClusterSetting.value":                           eff("enabled, disabled or enhanced; other values refused", "TestUpdateClusterSettings"),
	"DeleteClusterRequest.cluster":                   eff("the cluster to delete (refused while it has services or tasks)", "TestClusters", "TestClusterErrors"),
	"DescribeClustersRequest.clusters":               eff("the clusters to describe; missing ones are failures", "TestClusters"),
	"UpdateClusterRequest.settings":                  eff("replaces the named settings", "TestUpdateClusterSettings"),
	"UpdateClusterSettingsRequest.settings":          eff("replaces the named settings", "TestUpdateClusterSettings"),

	// Capacity providers (capacity.go).
	"CreateClusterRequest.defaultCapacityProviderStrategy":               eff("the strategy of RunTask/CreateService calls that name neither a strategy nor a launch type; its providers must be the cluster's", "TestCapacityProviderStrategy"),
	"PutClusterCapacityProvidersRequest.capacityProviders":               eff("replaces the cluster's providers (FARGATE, FARGATE_SPOT); one a service uses is ResourceInUseException", "TestCapacityProviderStrategy"),
	"PutClusterCapacityProvidersRequest.defaultCapacityProviderStrategy": eff("replaces the cluster's default strategy", "TestCapacityProviderStrategy"),
	"RunTaskRequest.capacityProviderStrategy":                            eff("places the tasks on FARGATE / FARGATE_SPOT by base and weight, reported as capacityProviderName; refused with launchType", "TestCapacityProviderStrategy"),
	"CreateServiceRequest.capacityProviderStrategy":                      eff("the service's and its deployment's strategy; the scheduler places each task by it", "TestCapacityProviderStrategy", "TestCapacityProviderStrategyTasks"),
	"UpdateServiceRequest.capacityProviderStrategy":                      eff("replaces the strategy in place (no new deployment); an empty list returns to launchType FARGATE", "TestCapacityProviderStrategy"),
	"CapacityProviderStrategyItem.capacityProvider":                      eff("FARGATE or FARGATE_SPOT associated with the cluster; others refused by name", "TestCapacityProviderStrategy", "TestPickCapacityProvider"),
	"CapacityProviderStrategyItem.weight":                                eff("the provider's share of tasks beyond base", "TestCapacityProviderStrategy", "TestPickCapacityProvider"),
	"CapacityProviderStrategyItem.base":                                  eff("the tasks at least placed on the provider (one provider per strategy)", "TestCapacityProviderStrategy", "TestPickCapacityProvider"),

	// Task definitions.
	"RegisterTaskDefinitionRequest.family":                  eff("the family of the new revision", "TestTaskDefinitions"),
	"RegisterTaskDefinitionRequest.containerDefinitions":    eff("the containers each task runs", "TestTaskDefinitions", "TestHTTPPortAnswers"),
	"RegisterTaskDefinitionRequest.cpu":                     eff("the task's CPU, a Fargate size checked with memory; limits the task's cgroup", "TestTaskDefinitionValidation", "TestCgroupLimitsAndOOM"),
	"RegisterTaskDefinitionRequest.memory":                  eff("the task's memory, a Fargate size checked with cpu; limits the task's cgroup", "TestTaskDefinitionValidation", "TestCgroupLimitsAndOOM"),
	"RegisterTaskDefinitionRequest.networkMode":             eff("awsvpc (every task gets a VPC address); any other mode makes the revision not runnable, refused at RunTask/CreateService by name", "TestTaskDefinitionValidation", "TestTaskErrors"),
	"RegisterTaskDefinitionRequest.requiresCompatibilities": eff("FARGATE is checked (compatibilities); EC2/EXTERNAL revisions are refused at RunTask/CreateService by name", "TestTaskDefinitionValidation", "TestTaskErrors"),
	"RegisterTaskDefinitionRequest.ephemeralStorage":        eff("sizeInGiB 21-200 checked, stored and shown", "TestOverridesAndPlatform"),
	"EphemeralStorage.sizeInGiB":                            eff("checked (21-200), stored and shown", "TestOverridesAndPlatform"),
	"RegisterTaskDefinitionRequest.ipcMode":                 eff("refused by name (Fargate has no ipcMode)", "TestOverridesAndPlatform"),
	"RegisterTaskDefinitionRequest.pidMode":                 eff("task is accepted (one PID namespace per task), anything else refused by name", "TestOverridesAndPlatform"),
	"RegisterTaskDefinitionRequest.runtimePlatform":         eff("LINUX and this machine's architecture run; others are refused by name", "TestOverridesAndPlatform"),
	"RuntimePlatform.cpuArchitecture":                       eff("checked against this machine's architecture", "TestOverridesAndPlatform"),
	"RuntimePlatform.operatingSystemFamily":                 eff("LINUX; Windows families refused by name", "TestOverridesAndPlatform"),
	"RegisterTaskDefinitionRequest.tags":                    eff("the revision's tags; propagated to tasks with propagateTags TASK_DEFINITION", "TestTags", "TestPropagateTags"),
	"RegisterTaskDefinitionRequest.volumes":                 eff("task volumes (host-less bind volumes, per task) that mountPoints name", "TestVolumesUlimitsAndStopOrder", "TestVolumeValidation"),
	"Volume.name":                                           eff("the name mountPoints refer to", "TestVolumesUlimitsAndStopOrder", "TestVolumeValidation"),
	"RegisterTaskDefinitionRequest.executionRoleArn": approx("no IAM locally: stored and shown; the data plane pulls images and reads secrets " +
		"without a role, so the role neither grants nor denies anything"),
	"RegisterTaskDefinitionRequest.taskRoleArn": approx("no IAM locally: stored and shown; containers get no role credentials " +
		"(Fargate's credentials endpoint is not emulated)"),

	"ContainerDefinition.name":                   eff("the container's name (unique in the task)", "TestTaskDefinitionValidation", "TestContainersShareLocalhost"),
	"ContainerDefinition.image":                  eff("the image the container runs (loaded or pulled)", "TestHTTPPortAnswers", "TestMissingImageStartFailure"),
	"ContainerDefinition.command":                eff("replaces the image's CMD", "TestCommandEnvironmentOverrides", "TestContainerSpecsOverrides"),
	"ContainerDefinition.entryPoint":             eff("replaces the image's ENTRYPOINT", "TestProcessArgs"),
	"ContainerDefinition.environment":            eff("environment variables of the container", "TestCommandEnvironmentOverrides", "TestMergeEnv"),
	"ContainerDefinition.workingDirectory":       eff("the process's working directory", "TestCommandEnvironmentOverrides"),
	"ContainerDefinition.user":                   eff("the user (and group) the process runs as", "TestCommandEnvironmentOverrides"),
	"ContainerDefinition.cpu":                    eff("the container's CPU shares, checked against the task's cpu", "TestTaskDefinitionValidation", "TestCgroupLimitsAndOOM"),
	"ContainerDefinition.memory":                 eff("the container's hard memory limit (OOM kill above it)", "TestCgroupLimitsAndOOM"),
	"ContainerDefinition.memoryReservation":      eff("the container's soft memory limit", "TestCgroupLimitsAndOOM"),
	"ContainerDefinition.essential":              eff("an essential container's exit stops the task", "TestEssentialExitCodeStopsTask", "TestContainerSpecsOverrides"),
	"ContainerDefinition.dependsOn":              eff("start order by START, COMPLETE, SUCCESS, HEALTHY", "TestDependsOnSuccessOrdersStart", "TestDependsOnHealthy", "TestValidateDependencies"),
	"ContainerDependency.containerName":          eff("the container waited for", "TestDependsOnSuccessOrdersStart", "TestValidateDependencies"),
	"ContainerDependency.condition":              eff("what is waited for", "TestDependsOnSuccessOrdersStart", "TestDependsOnNeverMetFailsTask"),
	"ContainerDefinition.dockerLabels":           eff("labels of the container in containerd", "TestContainerSpecsOverrides"),
	"ContainerDefinition.healthCheck":            eff("the container's health check; drives healthStatus and the service's health rules", "TestHealthCheckHealthyThenUnhealthy", "TestJudge"),
	"HealthCheck.command":                        eff("CMD or CMD-SHELL run in the container", "TestHealthCheckHealthyThenUnhealthy", "TestHealthCheckMissingCommandIsUnhealthy"),
	"HealthCheck.interval":                       eff("seconds between checks (default 30)", "TestHealthFromDefaults", "TestHealthCheckHealthyThenUnhealthy"),
	"HealthCheck.timeout":                        eff("seconds before a check fails (default 5)", "TestHealthFromDefaults"),
	"HealthCheck.retries":                        eff("failures before UNHEALTHY (default 3)", "TestHealthFromDefaults", "TestHealthCheckHealthyThenUnhealthy"),
	"HealthCheck.startPeriod":                    eff("seconds in which failures do not count", "TestHealthFromDefaults", "TestDependsOnHealthy"),
	"ContainerDefinition.hostname":               eff("refused by name (awsvpc has no per-container hostname)", "TestOverridesAndPlatform"),
	"ContainerDefinition.privileged":             eff("false accepted, true refused by name (Fargate)", "TestOverridesAndPlatform"),
	"ContainerDefinition.interactive":            eff("keeps the container's stdin open (FIFOs, output copied into the CRI log); an attach writes it and ends it (stdinOnce)", "TestInteractiveContainer"),
	"ContainerDefinition.pseudoTerminal":         eff("gives the container a terminal (OCI process.terminal), its output in the CRI log", "TestInteractiveContainer"),
	"ContainerDefinition.readonlyRootFilesystem": eff("mounts the root filesystem read-only", "TestVolumesUlimitsAndStopOrder"),
	"ContainerDefinition.mountPoints":            eff("mounts task volumes into the container", "TestVolumesUlimitsAndStopOrder", "TestVolumeValidation"),
	"MountPoint.sourceVolume":                    eff("the task volume mounted", "TestVolumesUlimitsAndStopOrder", "TestVolumeValidation"),
	"MountPoint.containerPath":                   eff("where it is mounted", "TestVolumesUlimitsAndStopOrder", "TestVolumeValidation"),
	"MountPoint.readOnly":                        eff("mounts it read-only", "TestVolumesUlimitsAndStopOrder"),
	"ContainerDefinition.volumesFrom":            eff("refused by name when not empty (share a task volume through mountPoints)", "TestMemberEffects"),
	"ContainerDefinition.ulimits":                eff("resource limits of the process", "TestVolumesUlimitsAndStopOrder"),
	"Ulimit.name":                                eff("the limit set", "TestVolumesUlimitsAndStopOrder"),
	"Ulimit.softLimit":                           eff("its soft value", "TestVolumesUlimitsAndStopOrder"),
	"Ulimit.hardLimit":                           eff("its hard value", "TestVolumesUlimitsAndStopOrder"),
	"ContainerDefinition.portMappings":           eff("ports published on 127.0.0.1 and reported as network bindings", "TestHTTPPortAnswers", "TestUDPPortMapping"),
	"PortMapping.containerPort":                  eff("the container's port", "TestHTTPPortAnswers", "TestUDPPortMapping"),
	"PortMapping.hostPort":                       eff("must equal containerPort in awsvpc mode (refused otherwise)", "TestTaskDefinitions", "TestTaskDefinitionValidation"),
	"PortMapping.protocol":                       eff("tcp or udp", "TestUDPPortMapping", "TestTaskDefinitions"),
	"PortMapping.name":                           eff("the port a service's serviceConnectConfiguration.services[].portName publishes", "TestServiceConnectChecked"),
	"PortMapping.appProtocol":                    approx("Service Connect's protocol hint; there is no Service Connect locally: stored and shown"),
	"ContainerDefinition.secrets":                eff("environment variables from Secrets Manager, resolved at start", "TestSecretsReachTasks", "TestContainerSpecsSecrets"),
	"Secret.name":                                eff("the variable's name", "TestContainerSpecsSecrets"),
	"Secret.valueFrom":                           eff("the secret (ARN, name, JSON key) its value comes from", "TestContainerSecrets", "TestSecretsReachTasks"),
	"ContainerDefinition.restartPolicy": approx("validated as ECS bounds it, stored and shown; no in-task restart locally: an essential " +
		"container's exit stops the task and its service (or the virtual node) starts another (ADR 0005, Restarts)"),
	"ContainerRestartPolicy.enabled":              approx("see ContainerDefinition.restartPolicy"),
	"ContainerRestartPolicy.ignoredExitCodes":     approx("see ContainerDefinition.restartPolicy"),
	"ContainerRestartPolicy.restartAttemptPeriod": approx("see ContainerDefinition.restartPolicy (checked: 60-1800 s)"),
	"ContainerDefinition.linuxParameters":         eff("capabilities applied to the process; checked as Fargate checks them", "TestLinuxParametersAndAlarms", "TestLinuxCapabilitiesInContainer"),
	"LinuxParameters.capabilities":                eff("added to and dropped from the process's capability sets", "TestLinuxCapabilitiesInContainer", "TestWithCapabilities"),
	"KernelCapabilities.add":                      eff("added (SYS_PTRACE only, as on Fargate; others ClientException)", "TestLinuxCapabilitiesInContainer", "TestLinuxParametersAndAlarms"),
	"KernelCapabilities.drop":                     eff("dropped (ALL drops every capability)", "TestLinuxCapabilitiesInContainer", "TestWithCapabilities"),
	"LinuxParameters.initProcessEnabled":          eff("false accepted; true refused by name (no init binary locally)", "TestLinuxParametersAndAlarms"),
	"ContainerDefinition.repositoryCredentials":   eff("the image is pulled with the username and password of the secret it names, read when the task starts", "TestRepositoryCredentials", "TestRepositoryCredentialsAndLogSecretOptions"),
	"RepositoryCredentials.credentialsParameter":  eff("the secret (ARN or name); unreadable or not {username, password}: the task fails to start, naming it", "TestRepositoryCredentialsAndLogSecretOptions", "TestRepositoryCredentials"),
	"LogConfiguration.secretOptions": approx("resolved when the task starts (an unreadable one fails it, as on ECS: TestLogSecretOptions); " +
		"the values go nowhere, since container output always goes to the local log files"),
	"DeploymentConfiguration.alarms":   eff("stored and shown turned off; enable or rollback true refused by name (no CloudWatch locally)", "TestLinuxParametersAndAlarms"),
	"DeploymentAlarms.alarmNames":      eff("stored and shown", "TestLinuxParametersAndAlarms"),
	"DeploymentAlarms.enable":          eff("false accepted; true refused by name", "TestLinuxParametersAndAlarms"),
	"DeploymentAlarms.rollback":        eff("false accepted; true refused by name", "TestLinuxParametersAndAlarms"),
	"ContainerDefinition.startTimeout": eff("how long dependencies may take before the task fails", "TestStartTimeoutAndSecrets"),
	"ContainerDefinition.stopTimeout":  eff("seconds between SIGTERM and SIGKILL", "TestStopTimeoutEscalatesToSIGKILL"),
	"ContainerDefinition.logConfiguration": approx("container output always goes to the local log files (nodeless logs, kubectl logs) " +
		"whatever the driver; the configuration is stored and shown"),
	"LogConfiguration.logDriver": approx("see ContainerDefinition.logConfiguration"),
	"LogConfiguration.options":   approx("see ContainerDefinition.logConfiguration"),
	"KeyValuePair.name":          eff("an environment variable's name", "TestMergeEnv", "TestCommandEnvironmentOverrides"),
	"KeyValuePair.value":         eff("its value", "TestMergeEnv", "TestCommandEnvironmentOverrides"),

	"DescribeTaskDefinitionRequest.taskDefinition":       eff("the revision (family, family:revision or ARN)", "TestTaskDefinitions"),
	"DeregisterTaskDefinitionRequest.taskDefinition":     eff("the revision made INACTIVE", "TestTaskDefinitions"),
	"ListTaskDefinitionsRequest.familyPrefix":            eff("lists only that family", "TestTaskDefinitions"),
	"ListTaskDefinitionsRequest.status":                  eff("ACTIVE or INACTIVE revisions", "TestTaskDefinitions"),
	"ListTaskDefinitionsRequest.sort":                    eff("ASC or DESC by family and revision", "TestTaskDefinitions"),
	"ListTaskDefinitionFamiliesRequest.familyPrefix":     eff("families starting with it", "TestTaskDefinitions"),
	"ListTaskDefinitionFamiliesRequest.status":           eff("families with an ACTIVE revision, only INACTIVE ones, or ALL", "TestTaskDefinitions"),
	"RunTaskRequest.taskDefinition":                      eff("the revision run", "TestRunStopDescribeListTasks", "TestTaskErrors"),
	"RunTaskRequest.count":                               eff("1-10 tasks", "TestRunStopDescribeListTasks", "TestTaskErrors"),
	"RunTaskRequest.clientToken":                         eff("idempotency: the same token returns the same tasks", "TestRunTaskIdempotency", "TestKillNineAndRestart"),
	"RunTaskRequest.group":                               eff("the task's group (default family:FAMILY)", "TestRunStopDescribeListTasks", "TestNewTask"),
	"RunTaskRequest.startedBy":                           eff("recorded, and ListTasks filters by it", "TestRunStopDescribeListTasks", "TestNewTask"),
	"RunTaskRequest.launchType":                          eff("FARGATE; others refused by name", "TestTaskErrors"),
	"RunTaskRequest.platformVersion":                     eff("LATEST resolves to the current version, reported on the task", "TestNewTask", "TestResolvePlatformVersion"),
	"RunTaskRequest.networkConfiguration":                eff("the ENI's subnet as reported; the address comes from the local VPC", "TestNewTask", "TestAttachENI"),
	"NetworkConfiguration.awsvpcConfiguration":           eff("see networkConfiguration", "TestNewTask", "TestAttachENI"),
	"AwsVpcConfiguration.subnets":                        eff("the first is the ENI's subnetId", "TestNewTask", "TestAttachENI"),
	"AwsVpcConfiguration.securityGroups":                 eff("stored on the deployment and shown (no firewall between tasks locally)", "TestMemberEffects"),
	"AwsVpcConfiguration.assignPublicIp":                 approx("tasks reach the outside through the local VPC's NAT whatever it says (as a public subnet or a NAT gateway would); stored and shown"),
	"RunTaskRequest.overrides":                           eff("per-task changes of the definition", "TestOverridesAndPlatform", "TestNewTaskCopiesOverrides"),
	"TaskOverride.containerOverrides":                    eff("per-container changes", "TestContainerSpecsOverrides", "TestCommandEnvironmentOverrides"),
	"TaskOverride.cpu":                                   eff("the task's cpu instead of the definition's", "TestOverridesAndPlatform", "TestNewTask"),
	"TaskOverride.memory":                                eff("the task's memory instead of the definition's", "TestOverridesAndPlatform", "TestNewTask"),
	"TaskOverride.executionRoleArn":                      approx("no IAM locally: see RegisterTaskDefinitionRequest.executionRoleArn"),
	"TaskOverride.taskRoleArn":                           approx("no IAM locally: see RegisterTaskDefinitionRequest.taskRoleArn"),
	"ContainerOverride.name":                             eff("the container overridden (must exist)", "TestTaskErrors", "TestContainerSpecsOverrides"),
	"ContainerOverride.command":                          eff("replaces the container's command", "TestCommandEnvironmentOverrides", "TestContainerSpecsOverrides"),
	"ContainerOverride.environment":                      eff("added to (and replacing) the container's environment", "TestCommandEnvironmentOverrides"),
	"ContainerOverride.cpu":                              eff("the container's cpu instead of the definition's", "TestContainerSpecsOverrides"),
	"ContainerOverride.memory":                           eff("the container's memory instead of the definition's", "TestContainerSpecsOverrides"),
	"RunTaskRequest.tags":                                eff("the task's tags; nodeless.dev/dns-* set its resolv.conf (ADR 0010)", "TestPropagateTags", "TestTags", "TestTaskResolvConf"),
	"RunTaskRequest.propagateTags":                       eff("TASK_DEFINITION copies the revision's tags to the task; SERVICE refused by name", "TestPropagateTags"),
	"RunTaskRequest.enableECSManagedTags":                eff("adds aws:ecs:clusterName", "TestPropagateTags"),
	"RunTaskRequest.enableExecuteCommand":                eff("true lets ExecuteCommand open sessions to the task (refused by name where the data plane has no executor)", "TestExecuteCommand", "TestExecuteCommandErrors", "TestTaskErrors"),
	"ExecuteCommandRequest.command":                      eff("split into words as the SSM agent splits it (a shell's rules) and run directly, on a terminal", "TestExecuteCommand", "TestExecuteCommandErrors"),
	"ExecuteCommandRequest.container":                    eff("the container to run it in; may be left out for a task of one container", "TestExecuteCommand", "TestExecuteCommandErrors"),
	"ExecuteCommandRequest.interactive":                  eff("must be true, as ECS requires", "TestExecuteCommandErrors"),
	"ExecuteCommandRequest.task":                         eff("the task to run the command in; it must be RUNNING and run with enableExecuteCommand", "TestExecuteCommand", "TestExecuteCommandErrors"),
	"StopTaskRequest.task":                               eff("the task stopped (ID or ARN)", "TestRunStopDescribeListTasks", "TestTaskErrors"),
	"StopTaskRequest.reason":                             eff("the task's stoppedReason", "TestRunStopDescribeListTasks"),
	"DescribeTasksRequest.tasks":                         eff("the tasks described; missing ones are failures", "TestRunStopDescribeListTasks"),
	"ListTasksRequest.family":                            eff("tasks of that family", "TestRunStopDescribeListTasks"),
	"ListTasksRequest.serviceName":                       eff("tasks of that service", "TestWhatTheSchedulerWrote", "TestPropagateTags"),
	"ListTasksRequest.startedBy":                         eff("tasks started by it", "TestRunStopDescribeListTasks"),
	"ListTasksRequest.desiredStatus":                     eff("RUNNING (default) or STOPPED tasks", "TestRunStopDescribeListTasks"),
	"ListTasksRequest.launchType":                        eff("FARGATE lists every task, others none", "TestRunStopDescribeListTasks"),
	"CreateServiceRequest.serviceName":                   eff("the service's name", "TestServiceLifecycle"),
	"CreateServiceRequest.taskDefinition":                eff("the revision its tasks run", "TestServiceLifecycle", "TestServiceStartsTasksAndReplacesStoppedOnes"),
	"CreateServiceRequest.desiredCount":                  eff("how many tasks the scheduler keeps running", "TestServiceStartsTasksAndReplacesStoppedOnes", "TestServiceLifecycle"),
	"CreateServiceRequest.clientToken":                   eff("idempotency: the same token returns the same service", "TestCreateServiceClientToken"),
	"CreateServiceRequest.launchType":                    eff("FARGATE; others refused by name", "TestServiceErrors"),
	"CreateServiceRequest.platformVersion":               eff("the deployment's platform version", "TestUpdateServiceDeployments", "TestNewDeployment"),
	"CreateServiceRequest.networkConfiguration":          eff("the deployment's network configuration, given to its tasks", "TestUpdateServiceDeployments", "TestNewDeployment"),
	"CreateServiceRequest.deploymentConfiguration":       eff("rollout bounds and circuit breaker", "TestUpdateServiceDeployments", "TestRollingUpdateStaysWithinBounds", "TestCircuitBreakerTripsAndRollsBack"),
	"DeploymentConfiguration.maximumPercent":             eff("upper bound of tasks during a rollout", "TestTasksToStart", "TestRollingUpdateStaysWithinBounds", "TestDataPlaneRollingUpdateBounds"),
	"DeploymentConfiguration.minimumHealthyPercent":      eff("lower bound of healthy tasks during a rollout", "TestUpdateServiceDeployments", "TestHealthyStopBudget", "TestCrashAfterStartRolloutKeepsMinimum"),
	"DeploymentConfiguration.deploymentCircuitBreaker":   eff("fails (and rolls back) a rollout whose tasks keep failing", "TestCircuitBreakerTripsAndRollsBack", "TestCrashAfterStartTripsBreakerKeepsMinimum"),
	"DeploymentCircuitBreaker.enable":                    eff("turns the breaker on", "TestCircuitBreakerTripsAndRollsBack", "TestCircuitBreakerWithoutRollbackStopsLaunching"),
	"DeploymentCircuitBreaker.rollback":                  eff("rolls back to the last stable revision when it trips", "TestCircuitBreakerTripsAndRollsBack", "TestCircuitBreakerWithoutRollbackStopsLaunching"),
	"CreateServiceRequest.deploymentController":          eff("ECS; CODE_DEPLOY and EXTERNAL refused by name", "TestMemberEffects"),
	"DeploymentController.type":                          eff("see deploymentController", "TestMemberEffects"),
	"CreateServiceRequest.schedulingStrategy":            eff("REPLICA; DAEMON refused by name", "TestServiceErrors"),
	"CreateServiceRequest.healthCheckGracePeriodSeconds": eff("how long after start the scheduler ignores UNHEALTHY", "TestHealthCheckGracePeriod", "TestJudge"),
	"CreateServiceRequest.loadBalancers": eff("a target group of the local ELBv2 API (ADR 0015): RUNNING tasks registered at privateIPv4Address:containerPort, "+
		"healthy only once their target is, drained before SIGTERM", "TestServiceLoadBalancers", "TestDataPlaneLoadBalancer", "TestJudge"),
	"LoadBalancer.containerName":                         eff("the container whose port is registered (checked to name a container)", "TestServiceErrors", "TestDataPlaneLoadBalancer"),
	"LoadBalancer.containerPort":                         eff("the registered target's port (checked to be a mapped port)", "TestServiceErrors", "TestDataPlaneLoadBalancer"),
	"LoadBalancer.targetGroupArn":                        eff("the target group tasks are registered in; must exist and have a listener (ECS's errors)", "TestServiceLoadBalancers", "TestDataPlaneLoadBalancer"),
	"LoadBalancer.loadBalancerName":                      eff("refused by name: Classic Load Balancers are not supported with Fargate", "TestServiceLoadBalancers"),
	"CreateServiceRequest.tags":                          eff("the service's tags; propagated to its tasks with propagateTags SERVICE", "TestTags", "TestPropagateTags"),
	"CreateServiceRequest.propagateTags":                 eff("SERVICE or TASK_DEFINITION tags copied to each task at launch", "TestPropagateTags"),
	"CreateServiceRequest.enableECSManagedTags":          eff("adds aws:ecs:clusterName and aws:ecs:serviceName to each task", "TestPropagateTags"),
	"CreateServiceRequest.enableExecuteCommand":          eff("false accepted; true refused by name (no ECS Exec locally)", "TestMemberEffects"),
	"UpdateServiceRequest.service":                       eff("the service updated", "TestUpdateServiceDeployments"),
	"UpdateServiceRequest.taskDefinition":                eff("a new deployment of that revision", "TestUpdateServiceDeployments", "TestRollingUpdateStaysWithinBounds"),
	"UpdateServiceRequest.desiredCount":                  eff("scales the service", "TestUpdateServiceDeployments", "TestServiceLifecycle"),
	"UpdateServiceRequest.forceNewDeployment":            eff("a new deployment of the same revision", "TestUpdateServiceDeployments", "TestPropagateTags"),
	"UpdateServiceRequest.deploymentConfiguration":       eff("new rollout bounds and breaker", "TestUpdateServiceDeployments"),
	"UpdateServiceRequest.networkConfiguration":          eff("a new deployment with it", "TestUpdateServiceDeployments"),
	"UpdateServiceRequest.platformVersion":               eff("a new deployment on it", "TestUpdateServiceDeployments"),
	"UpdateServiceRequest.healthCheckGracePeriodSeconds": eff("the new grace period", "TestUpdateServiceDeployments", "TestHealthCheckGracePeriod"),
	"UpdateServiceRequest.loadBalancers":                 eff("a new deployment whose tasks register in the new target groups", "TestUpdateServiceDeployments", "TestServiceLoadBalancers"),
	"UpdateServiceRequest.propagateTags":                 eff("applies to tasks launched after the update", "TestPropagateTags"),
	"UpdateServiceRequest.enableECSManagedTags":          eff("applies to tasks launched after the update", "TestPropagateTags"),
	"UpdateServiceRequest.enableExecuteCommand":          eff("false accepted; true refused by name", "TestMemberEffects"),
	"VolumeFrom.sourceContainer":                         eff("see ContainerDefinition.volumesFrom (refused when not empty)", "TestMemberEffects"),
	"VolumeFrom.readOnly":                                eff("see ContainerDefinition.volumesFrom (refused when not empty)", "TestMemberEffects"),
	"DeleteServiceRequest.service":                       eff("the service deleted (drained, then INACTIVE)", "TestServiceLifecycle", "TestDeletedServiceDrainsThenInactive"),
	"DeleteServiceRequest.force":                         eff("deletes a service that still has desired tasks", "TestServiceLifecycle"),
	"DescribeServicesRequest.services":                   eff("the services described (at most 10); missing ones are failures", "TestServiceLifecycle"),
	"ListServicesRequest.launchType":                     eff("FARGATE lists every service; EC2 and EXTERNAL refused by name", "TestMemberEffects"),
	"ListServicesRequest.schedulingStrategy":             eff("REPLICA lists every service, DAEMON none", "TestMemberEffects"),

	// serviceRegistries: the local Cloud Map (docs/adr/0016-cloud-map-locally.md).
	"CreateServiceRequest.serviceRegistries": eff("its RUNNING (and healthy) tasks are instances of the local Cloud Map service, answered by the VPC's DNS",
		"TestServiceRegistriesChecked", "TestServiceRegistriesRegisterTasks"),
	"ServiceRegistry.registryArn":            eff("the local Cloud Map service the tasks join (refused when there is none)", "TestServiceRegistriesChecked"),
	"ServiceRegistry.port":                   eff("AWS_INSTANCE_PORT of the tasks' instances (SRV records)", "TestServiceRegistriesChecked", "TestServiceRegistriesRegisterTasks"),
	"ServiceRegistry.containerName":          eff("checked to name a container with containerPort among its portMappings", "TestServiceRegistriesChecked"),
	"ServiceRegistry.containerPort":          eff("AWS_INSTANCE_PORT of the tasks' instances (SRV records)", "TestServiceRegistriesChecked"),
	"UpdateServiceRequest.serviceRegistries": eff("a new deployment registered in the new registry", "TestServiceRegistriesChecked"),
	// Service Connect: each client alias a virtual address of its own, a proxy there forwarding to the
	// healthy tasks (docs/adr/0016-cloud-map-locally.md).
	"CreateServiceRequest.serviceConnectConfiguration": eff("the deployment's Service Connect: Cloud Map services and client aliases the VPC's DNS answers",
		"TestServiceConnectChecked", "TestServiceConnectRegistersTasks"),
	"ServiceConnectConfiguration.enabled":              eff("false: no names; true: the services below", "TestServiceConnectChecked"),
	"ServiceConnectConfiguration.namespace":            eff("the local Cloud Map namespace (name or ARN; reported as its ARN)", "TestServiceConnectChecked"),
	"ServiceConnectConfiguration.services":             eff("one Cloud Map service each, the tasks registered in it", "TestServiceConnectChecked", "TestServiceConnectRegistersTasks"),
	"ServiceConnectService.portName":                   eff("the named TCP port mapping whose containerPort the proxy forwards to", "TestServiceConnectChecked"),
	"ServiceConnectService.discoveryName":              eff("the Cloud Map service's name (default portName)", "TestServiceConnectRegistersTasks"),
	"ServiceConnectService.clientAliases":              eff("DNS names answered with a virtual address where the proxy balances over the healthy tasks", "TestServiceConnectChecked", "TestServiceConnectRegistersTasks"),
	"ServiceConnectClientAlias.port":                   eff("where the proxy listens on the alias's virtual address (1-65535; may differ from the containerPort)", "TestServiceConnectChecked"),
	"ServiceConnectClientAlias.dnsName":                eff("the name answered with the alias's virtual address (default discoveryName.namespace)", "TestServiceConnectChecked"),
	"UpdateServiceRequest.serviceConnectConfiguration": eff("a new deployment with it; aliases given up are freed", "TestServiceConnectChecked"),

	// Tags.
	"TagResourceRequest.resourceArn":         eff("the cluster, revision, service or task tagged", "TestTags", "TestTagRules"),
	"TagResourceRequest.tags":                eff("added or overwritten (at most 50, no aws: keys)", "TestTags", "TestTagLimit", "TestTagRules"),
	"UntagResourceRequest.resourceArn":       eff("the resource untagged", "TestTags"),
	"UntagResourceRequest.tagKeys":           eff("the keys removed", "TestTags", "TestTagRules"),
	"ListTagsForResourceRequest.resourceArn": eff("the resource whose tags are listed", "TestTags"),
	"Tag.key":                                eff("a tag's key (1-128, no aws: prefix)", "TestTagRules"),
	"Tag.value":                              eff("a tag's value (0-256)", "TestTagRules"),
}

// member is an input member the walk found: key SHAPE.member, and the first route to it from an
// operation (the operation and the JSON path, lists at index 0, maps at key "k").
type member struct {
	key, op, path string
	// shape is the member's own shape; accepted whether the request type has a field for it.
	shape    string
	accepted bool
}

// walkMembers walks the input shape of every operation the server serves alongside the Go type it
// decodes into, as ecsmodel.CheckInput does, and returns every member once (its first route).
func walkMembers(t *testing.T, s *Server) []member {
	t.Helper()
	ops := slices.Sorted(func(yield func(string) bool) {
		for op := range s.ops {
			if !yield(op) {
				return
			}
		}
	})
	seen := map[string]bool{}
	var out []member
	var walk func(op, path, shapeName string, typ reflect.Type)
	walk = func(op, path, shapeName string, typ reflect.Type) {
		sh := s.model.Shape(shapeName)
		typ = goElem(typ)
		switch sh.Type {
		case "list":
			walk(op, path+"[0]", sh.Member, elem(typ))
		case "map":
			walk(op, path+`["k"]`, sh.Value, elem(typ))
		case "structure":
			for _, name := range slices.Sorted(mapKeys(sh.Members)) {
				key := shapeName + "." + name
				if seen[key] {
					continue
				}
				seen[key] = true
				ft, ok := fieldType(typ, name)
				m := member{key: key, op: op, path: joinPath(path, name), shape: sh.Members[name], accepted: ok || typ == nil}
				out = append(out, m)
				if m.accepted {
					walk(op, m.path, m.shape, ft)
				}
			}
		}
	}
	for _, op := range ops {
		in, ok := s.model.Operations[op]
		if !ok {
			t.Errorf("the server serves %s, which the ECS model does not have", op)
			continue
		}
		walk(op, "", in.Input, s.inputs[op])
	}
	return out
}

// TestEveryInputMemberTakesEffectOrIsRefused walks every input member of every operation the data
// plane serves, from the ECS model: a member the request type has no field for must be refused by
// name (an InvalidParameterException naming its path: checked here by sending it); a member it
// has a field for must say, in memberRules, what it does and which tests prove it (or why it is
// accepted though the local data plane can only approximate it). A member accepted but stored
// without effect — propagateTags before it propagated anything — cannot slip in unnoticed.
func TestEveryInputMemberTakesEffectOrIsRefused(t *testing.T) {
	s := newServer(Options{})
	if s.model == nil {
		t.Fatal("the ECS model did not load")
	}
	tests := testFunctions(t)
	used := map[string]bool{}
	var accepted, refused int
	for _, m := range walkMembers(t, s) {
		if !m.accepted {
			refused++
			checkRefused(t, s, m)
			continue
		}
		accepted++
		rule, ok := memberRules[m.key]
		if !ok {
			rule, ok = memberRules["*."+m.key[strings.IndexByte(m.key, '.')+1:]]
			if ok {
				used["*."+m.key[strings.IndexByte(m.key, '.')+1:]] = true
			}
		} else {
			used[m.key] = true
		}
		switch {
		case !ok:
			t.Errorf("%s (%s %s) is accepted but not in memberRules: say what it does and which test proves it, or refuse it by removing it from the request type", m.key, m.op, m.path)
		case rule.approximated == "" && (rule.effect == "" || len(rule.tests) == 0):
			t.Errorf("%s: a rule needs an effect and the tests that prove it, or why it is approximated", m.key)
		}
		checkTests(t, m, rule, tests)
	}
	for key := range memberRules {
		if !used[key] {
			t.Errorf("memberRules has %s, which no served operation accepts: remove it", key)
		}
	}
	t.Logf("%d members accepted with a stated effect, %d refused by name", accepted, refused)
}

// checkTests checks that the tests a rule names exist and that at least one of them mentions the
// member (its name, in any case: entryPoint, EntryPoint), a guard against a rule naming tests that
// never touch it.
func checkTests(t *testing.T, m member, rule memberRule, tests map[string]string) {
	t.Helper()
	name := strings.ToLower(m.key[strings.IndexByte(m.key, '.')+1:])
	mentioned := false
	for _, tn := range rule.tests {
		body, ok := tests[tn]
		if !ok {
			t.Errorf("%s: the rule names %s, which is no test of internal/dataplane or test/e2e", m.key, tn)
			continue
		}
		mentioned = mentioned || strings.Contains(strings.ToLower(body), name)
	}
	if len(rule.tests) > 0 && !mentioned {
		t.Errorf("%s: none of %v mentions %s", m.key, rule.tests, name)
	}
}

// checkRefused sends m's operation a request that sets m (and nothing else) and wants an
// InvalidParameterException naming m's path.
func checkRefused(t *testing.T, s *Server, m member) {
	t.Helper()
	body, err := json.Marshal(bodyAlong(m.path, sample(s.model, m.shape)))
	if err != nil {
		t.Fatal(err)
	}
	err = s.decode(m.op, body, reflect.New(s.inputs[m.op]).Interface())
	var ae *apiError
	if !errors.As(err, &ae) || ae.Type != errInvalidParameter || !strings.Contains(ae.Message, m.path+": not supported") {
		t.Errorf("%s %s (%s) set to a value: %v; want InvalidParameterException naming %s as not supported", m.op, m.path, m.key, err, m.path)
	}
}

var pathPart = regexp.MustCompile(`[^.\[\]]+|\[0\]|\["k"\]`)

// bodyAlong is a request object with v at path (members separated by ".", "[0]" a list's first
// entry, `["k"]` a map's key k).
func bodyAlong(path string, v any) any {
	parts := pathPart.FindAllString(path, -1)
	for i := len(parts) - 1; i >= 0; i-- {
		switch parts[i] {
		case "[0]":
			v = []any{v}
		case `["k"]`:
			v = map[string]any{"k": v}
		default:
			v = map[string]any{parts[i]: v}
		}
	}
	return v
}

// sample is a value of shape that asks for something (not null, empty or false).
func sample(m *ecsmodel.Model, shape string) any {
	sh := m.Shape(shape)
	switch sh.Type {
	case "structure":
		return map[string]any{"sample": true}
	case "list":
		return []any{"x"}
	case "map":
		return map[string]any{"k": "v"}
	case "boolean":
		return true
	case "string":
		if len(sh.Enum) > 0 {
			return sh.Enum[0]
		}
		return "x"
	default: // integer, long, double, float, timestamp
		return 1
	}
}

// testFunctions are the Test functions of internal/dataplane and test/e2e: name → source, up to
// the next top-level func.
func testFunctions(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	re := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	for _, root := range []string{"..", filepath.Join("..", "..", "..", "test", "e2e")} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			locs := re.FindAllSubmatchIndex(src, -1)
			for i, l := range locs {
				end := len(src)
				if i+1 < len(locs) {
					end = locs[i+1][0]
				}
				out[string(src[l[2]:l[3]])] = string(src[l[0]:end])
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func goElem(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface || t == reflect.TypeFor[json.RawMessage]() {
		return nil
	}
	return t
}

func elem(t reflect.Type) reflect.Type {
	if t == nil || (t.Kind() != reflect.Slice && t.Kind() != reflect.Array && t.Kind() != reflect.Map) {
		return nil
	}
	return t.Elem()
}

// fieldType is the type of the field of struct t with JSON name name.
func fieldType(t reflect.Type, name string) (reflect.Type, bool) {
	if t == nil || t.Kind() != reflect.Struct {
		return nil, false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == name {
			return f.Type, true
		}
	}
	return nil, false
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !yield(k) {
				return
			}
		}
	}
}
