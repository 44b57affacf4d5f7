package integration

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller"
)

// ignoreUnknown is field validation as a client gets it that does not ask for strict validation
// (client-go's Ignore): the API server drops members its schema does not name, and says nothing.
var ignoreUnknown = client.FieldValidation(metav1.FieldValidationIgnore)

// aliasManifest is a manifest as a user of AWS's ECS controller for Kubernetes (ACK) writes it,
// with only the apiVersion changed (written for this test in that controller's spellings, not
// copied from it). want is the spec the controllers read (after NormalizeAliases) when it is
// accepted; refusedBy, when set, are the parts of the error that refuses it: the member, and
// the nodeless spelling to use.
type aliasManifest struct {
	name      string
	yaml      string
	want      any
	refusedBy []string
}

// aliasManifests are accepted with every alias honoured, or refused by name. Every alias and
// refused spelling of every kind appears in at least one (TestAliasManifestsCoverEverySpelling).
func aliasManifests() []aliasManifest {
	fargate := ecsv1alpha1.TaskDefinitionSpec{Family: "shop", Cpu: "1024", Memory: "3072", NetworkMode: "awsvpc",
		RequiresCompatibilities: []string{"FARGATE"}, ContainerDefinitions: []ecsv1alpha1.ContainerDefinition{{Name: "site", Image: "nginx"}}}
	withRoles := fargate
	withRoles.ExecutionRoleArn, withRoles.TaskRoleArn = "arn:aws:iam::111122223333:role/exec", "arn:aws:iam::111122223333:role/app"
	return []aliasManifest{
		{name: "cluster as the other controller's e2e writes it", yaml: `
kind: Cluster
metadata: {name: shop-e2e}
spec: {name: shop-e2e}`, want: ecsv1alpha1.ClusterSpec{ClusterName: "shop-e2e"}},
		{name: "cluster name", yaml: `
kind: Cluster
metadata: {name: shop}
spec:
  name: shop-prod
  settings: [{name: containerInsights, value: enabled}]
  tags: [{key: team, value: shop}]`,
			want: ecsv1alpha1.ClusterSpec{ClusterName: "shop-prod", Settings: []ecsv1alpha1.ClusterSetting{{Name: "containerInsights", Value: "enabled"}},
				Tags: []ecsv1alpha1.Tag{{Key: "team", Value: "shop"}}}},
		{name: "cluster configuration KMS keys", yaml: `
kind: Cluster
metadata: {name: shop-kms}
spec:
  name: shop-kms
  configuration:
    executeCommandConfiguration: {kmsKeyID: key-exec, logging: DEFAULT}
    managedStorageConfiguration: {kmsKeyID: key-ebs, fargateEphemeralStorageKMSKeyID: key-eph}`,
			want: ecsv1alpha1.ClusterSpec{ClusterName: "shop-kms", ClusterMembers: ecsv1alpha1.ClusterMembers{Configuration: &ecsv1alpha1.ClusterConfiguration{
				ExecuteCommandConfiguration: &ecsv1alpha1.ExecuteCommandConfiguration{KmsKeyId: "key-exec", Logging: "DEFAULT"},
				ManagedStorageConfiguration: &ecsv1alpha1.ManagedStorageConfiguration{KmsKeyId: "key-ebs", FargateEphemeralStorageKmsKeyId: "key-eph"}}}}},
		{name: "cluster defaults in the other controller's spelling", yaml: `
kind: Cluster
metadata: {name: shop-net}
spec:
  defaults:
    networkConfiguration:
      awsVPCConfiguration: {subnets: [subnet-0a1b2c], securityGroups: [sg-0a1b]}`,
			want: ecsv1alpha1.ClusterSpec{Defaults: &ecsv1alpha1.ClusterDefaults{NetworkConfiguration: &ecsv1alpha1.NetworkConfiguration{
				AwsvpcConfiguration: &ecsv1alpha1.AwsVpcConfiguration{Subnets: []string{"subnet-0a1b2c"}, SecurityGroups: []string{"sg-0a1b"}}}}}},
		{name: "cluster defaults assignPublicIP", yaml: `
kind: Cluster
metadata: {name: shop-public}
spec:
  defaults:
    networkConfiguration:
      awsvpcConfiguration: {assignPublicIP: ENABLED, subnets: [subnet-0a1b2c]}`,
			want: ecsv1alpha1.ClusterSpec{Defaults: &ecsv1alpha1.ClusterDefaults{NetworkConfiguration: &ecsv1alpha1.NetworkConfiguration{
				AwsvpcConfiguration: &ecsv1alpha1.AwsVpcConfiguration{AssignPublicIp: "ENABLED", Subnets: []string{"subnet-0a1b2c"}}}}}},
		{name: "cluster defaults executionRoleARN", yaml: `
kind: Cluster
metadata: {name: shop-exec}
spec:
  defaults: {executionRoleARN: "arn:aws:iam::111122223333:role/exec", logGroup: /shop}`,
			want: ecsv1alpha1.ClusterSpec{Defaults: &ecsv1alpha1.ClusterDefaults{ExecutionRoleArn: "arn:aws:iam::111122223333:role/exec", LogGroup: "/shop"}}},
		{name: "cluster defaults executionRoleARN and executionRoleArn differ", yaml: `
kind: Cluster
metadata: {name: shop-exec-two}
spec:
  defaults: {executionRoleARN: "arn:aws:iam::111122223333:role/a", executionRoleArn: "arn:aws:iam::111122223333:role/b"}`,
			refusedBy: []string{"spec.defaults.executionRoleARN", "set only executionRoleArn"}},
		{name: "cluster defaults subnetRefs and securityGroupRefs", yaml: `
kind: Cluster
metadata: {name: shop-refs}
spec:
  defaults:
    networkConfiguration:
      awsvpcConfiguration: {subnetRefs: [{from: {name: private-a}}], securityGroupRefs: [{from: {name: web}}]}`,
			refusedBy: []string{"spec.defaults.networkConfiguration.awsvpcConfiguration.subnetRefs", "in subnets",
				"spec.defaults.networkConfiguration.awsvpcConfiguration.securityGroupRefs", "in securityGroups"}},
		{name: "cluster name and clusterName differ", yaml: `
kind: Cluster
metadata: {name: shop-two}
spec: {name: shop-prod, clusterName: shop-dev}`,
			refusedBy: []string{"spec.name", "name is an alias of clusterName", "set only clusterName"}},

		{name: "task definition in the ECS spelling", yaml: `
kind: TaskDefinition
metadata: {name: shop}
spec:
  family: shop
  cpu: "1024"
  memory: "3072"
  networkMode: awsvpc
  requiresCompatibilities: [FARGATE]
  containerDefinitions: [{name: site, image: nginx}]`, want: fargate},
		{name: "task definition role ARNs", yaml: `
kind: TaskDefinition
metadata: {name: shop-roles}
spec:
  family: shop
  cpu: "1024"
  memory: "3072"
  networkMode: awsvpc
  requiresCompatibilities: [FARGATE]
  executionRoleARN: arn:aws:iam::111122223333:role/exec
  taskRoleARN: arn:aws:iam::111122223333:role/app
  containerDefinitions: [{name: site, image: nginx}]`, want: withRoles},
		{name: "task definition EFS volume", yaml: `
kind: TaskDefinition
metadata: {name: shop-efs}
spec:
  volumes:
  - name: data
    efsVolumeConfiguration:
      fileSystemID: fs-0a1b2c3d
      transitEncryption: ENABLED
      authorizationConfig: {accessPointID: fsap-0a1b2c3d}
  containerDefinitions: [{name: site, image: nginx}]`,
			want: ecsv1alpha1.TaskDefinitionSpec{ContainerDefinitions: []ecsv1alpha1.ContainerDefinition{{Name: "site", Image: "nginx"}},
				Volumes: []ecsv1alpha1.Volume{{Name: "data", VolumeMembers: ecsv1alpha1.VolumeMembers{EfsVolumeConfiguration: &ecsv1alpha1.EFSVolumeConfiguration{
					FileSystemId: "fs-0a1b2c3d", TransitEncryption: "ENABLED",
					AuthorizationConfig: &ecsv1alpha1.EFSAuthorizationConfig{AccessPointId: "fsap-0a1b2c3d"}}}}}}},
		{name: "task definition EFS volume without a file system", yaml: `
kind: TaskDefinition
metadata: {name: shop-efs-none}
spec:
  volumes: [{name: data, efsVolumeConfiguration: {rootDirectory: /}}]
  containerDefinitions: [{name: site, image: nginx}]`,
			refusedBy: []string{"spec.volumes[0].efsVolumeConfiguration", "fileSystemId is required"}},
		{name: "task definition executionRoleARN and executionRoleArn differ", yaml: `
kind: TaskDefinition
metadata: {name: shop-exec}
spec:
  executionRoleARN: arn:aws:iam::111122223333:role/a
  executionRoleArn: arn:aws:iam::111122223333:role/b
  containerDefinitions: [{name: site, image: nginx}]`,
			refusedBy: []string{"spec.executionRoleARN", "set only executionRoleArn"}},
		{name: "task definition taskRoleARN and taskRoleArn differ", yaml: `
kind: TaskDefinition
metadata: {name: shop-task-role}
spec:
  taskRoleARN: arn:aws:iam::111122223333:role/a
  taskRoleArn: arn:aws:iam::111122223333:role/b
  containerDefinitions: [{name: site, image: nginx}]`,
			refusedBy: []string{"spec.taskRoleARN", "set only taskRoleArn"}},
		{name: "task definition taskRoleRef", yaml: `
kind: TaskDefinition
metadata: {name: shop-role-ref}
spec:
  taskRoleRef: {from: {name: shop-app}}
  containerDefinitions: [{name: site, image: nginx}]`,
			refusedBy: []string{"spec.taskRoleRef", "Forbidden", "set taskRoleArn"}},

		{name: "service as the other controller's e2e writes it", yaml: `
kind: Service
metadata: {name: shop}
spec:
  name: shop
  taskDefinition: shop
  cluster: shop-prod
  launchType: FARGATE
  desiredCount: 2
  networkConfiguration:
    awsVPCConfiguration:
      assignPublicIP: DISABLED
      subnets: [subnet-0a1b2c]`,
			want: ecsv1alpha1.ServiceSpec{ServiceName: "shop", TaskDefinition: "shop", Cluster: "shop-prod", LaunchType: "FARGATE",
				DesiredCount: aws.Int32(2), NetworkConfiguration: &ecsv1alpha1.NetworkConfiguration{AwsvpcConfiguration: &ecsv1alpha1.AwsVpcConfiguration{
					AssignPublicIp: "DISABLED", Subnets: []string{"subnet-0a1b2c"}}}}},
		{name: "service references and load balancer", yaml: `
kind: Service
metadata: {name: shop-refs}
spec:
  name: shop-web
  clusterRef: {from: {name: shop}}
  taskDefinitionRef: {from: {name: shop}}
  networkConfiguration:
    awsvpcConfiguration:
      assignPublicIP: ENABLED
      securityGroups: [sg-0a1b]
  loadBalancers:
  - containerName: site
    containerPort: 80
    targetGroupARN: arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/shop/0a1b2c3d`,
			want: ecsv1alpha1.ServiceSpec{ServiceName: "shop-web", ClusterRef: &ecsv1alpha1.LocalObjectReference{Name: "shop"},
				TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "shop"}, DesiredCount: aws.Int32(1),
				NetworkConfiguration: &ecsv1alpha1.NetworkConfiguration{AwsvpcConfiguration: &ecsv1alpha1.AwsVpcConfiguration{
					AssignPublicIp: "ENABLED", SecurityGroups: []string{"sg-0a1b"}}},
				LoadBalancers: []ecsv1alpha1.LoadBalancer{{ContainerName: "site", ContainerPort: 80,
					TargetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/shop/0a1b2c3d"}}}},
		{name: "service registries and Service Connect TLS", yaml: `
kind: Service
metadata: {name: shop-mesh}
spec:
  taskDefinition: shop
  serviceRegistries: [{registryARN: "arn:aws:servicediscovery:us-east-1:111122223333:service/srv-0a1b"}]
  serviceConnectConfiguration:
    enabled: true
    services:
    - portName: http
      tls:
        roleARN: arn:aws:iam::111122223333:role/tls
        issuerCertificateAuthority: {awsPCAAuthorityARN: "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/0a1b"}`,
			want: ecsv1alpha1.ServiceSpec{TaskDefinition: "shop", DesiredCount: aws.Int32(1), ServiceMembers: ecsv1alpha1.ServiceMembers{
				ServiceRegistries: []ecsv1alpha1.ServiceRegistry{{RegistryArn: "arn:aws:servicediscovery:us-east-1:111122223333:service/srv-0a1b"}},
				ServiceConnectConfiguration: &ecsv1alpha1.ServiceConnectConfiguration{Enabled: true, Services: []ecsv1alpha1.ServiceConnectService{{
					PortName: "http", Tls: &ecsv1alpha1.ServiceConnectTlsConfiguration{RoleArn: "arn:aws:iam::111122223333:role/tls",
						IssuerCertificateAuthority: ecsv1alpha1.ServiceConnectTlsCertificateAuthority{AwsPcaAuthorityArn: "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/0a1b"}}}}}}}},
		{name: "service aliases equal to their members", yaml: `
kind: Service
metadata: {name: shop-both}
spec:
  name: shop-both
  serviceName: shop-both
  taskDefinitionRef: {name: shop, from: {name: shop}}
  networkConfiguration:
    awsVPCConfiguration: {assignPublicIP: DISABLED, assignPublicIp: DISABLED}
    awsvpcConfiguration: {assignPublicIP: DISABLED, assignPublicIp: DISABLED}`,
			want: ecsv1alpha1.ServiceSpec{ServiceName: "shop-both", TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "shop"},
				DesiredCount: aws.Int32(1), NetworkConfiguration: &ecsv1alpha1.NetworkConfiguration{
					AwsvpcConfiguration: &ecsv1alpha1.AwsVpcConfiguration{AssignPublicIp: "DISABLED"}}}},
		{name: "service name and serviceName differ", yaml: `
kind: Service
metadata: {name: shop-names}
spec: {name: shop-a, serviceName: shop-b, taskDefinition: shop}`,
			refusedBy: []string{"spec.name", "name is an alias of serviceName", "set only serviceName"}},
		{name: "service roleRef", yaml: `
kind: Service
metadata: {name: shop-role}
spec: {taskDefinition: shop, roleRef: {from: {name: ecs-service-role}}}`,
			refusedBy: []string{"spec.roleRef", "Forbidden", "remove it"}},
		{name: "service subnetRefs", yaml: `
kind: Service
metadata: {name: shop-subnets}
spec:
  taskDefinition: shop
  networkConfiguration:
    awsVPCConfiguration: {subnetRefs: [{from: {name: private-a}}]}
    awsvpcConfiguration: {subnetRefs: [{from: {name: private-a}}]}`,
			refusedBy: []string{"spec.networkConfiguration.awsVPCConfiguration.subnetRefs", "spec.networkConfiguration.awsvpcConfiguration.subnetRefs", "Forbidden", "in subnets"}},
		{name: "service securityGroupRefs", yaml: `
kind: Service
metadata: {name: shop-sgs}
spec:
  taskDefinition: shop
  networkConfiguration: {awsvpcConfiguration: {securityGroupRefs: [{from: {name: web}}]}}`,
			refusedBy: []string{"spec.networkConfiguration.awsvpcConfiguration.securityGroupRefs", "Forbidden", "in securityGroups"}},
		{name: "service awsVPCConfiguration and awsvpcConfiguration differ", yaml: `
kind: Service
metadata: {name: shop-vpc}
spec:
  taskDefinition: shop
  networkConfiguration:
    awsVPCConfiguration: {subnets: [subnet-a]}
    awsvpcConfiguration: {subnets: [subnet-b]}`,
			refusedBy: []string{"spec.networkConfiguration.awsVPCConfiguration", "set only awsvpcConfiguration"}},
		{name: "service assignPublicIP and assignPublicIp differ", yaml: `
kind: Service
metadata: {name: shop-ip}
spec:
  taskDefinition: shop
  networkConfiguration: {awsvpcConfiguration: {assignPublicIP: ENABLED, assignPublicIp: DISABLED}}`,
			refusedBy: []string{"spec.networkConfiguration.awsvpcConfiguration.assignPublicIP", "set only assignPublicIp"}},
		{name: "service assignPublicIP out of its enum", yaml: `
kind: Service
metadata: {name: shop-ip-enum}
spec:
  taskDefinition: shop
  networkConfiguration: {awsVPCConfiguration: {assignPublicIP: "YES"}}`,
			refusedBy: []string{"spec.networkConfiguration.awsVPCConfiguration.assignPublicIP", "Unsupported value"}},
		{name: "service targetGroupARN and targetGroupArn differ", yaml: `
kind: Service
metadata: {name: shop-tg}
spec:
  taskDefinition: shop
  loadBalancers: [{containerName: site, containerPort: 80, targetGroupARN: arn:a, targetGroupArn: arn:b}]`,
			refusedBy: []string{"spec.loadBalancers[0].targetGroupARN", "set only targetGroupArn"}},
		{name: "service targetGroupRef", yaml: `
kind: Service
metadata: {name: shop-tg-ref}
spec:
  taskDefinition: shop
  loadBalancers: [{containerName: site, containerPort: 80, targetGroupRef: {from: {name: shop}}}]`,
			refusedBy: []string{"spec.loadBalancers[0].targetGroupRef", "Forbidden", "set targetGroupArn"}},
		{name: "service loadBalancerRef", yaml: `
kind: Service
metadata: {name: shop-lb-ref}
spec:
  taskDefinition: shop
  loadBalancers: [{containerName: site, containerPort: 80, loadBalancerRef: {from: {name: shop}}}]`,
			refusedBy: []string{"spec.loadBalancers[0].loadBalancerRef", "Forbidden", "set loadBalancerName"}},
		{name: "service clusterRef into another namespace", yaml: `
kind: Service
metadata: {name: shop-ns}
spec: {taskDefinition: shop, clusterRef: {from: {name: shop, namespace: platform}}}`,
			refusedBy: []string{"spec.clusterRef.from.namespace", "Forbidden", "own namespace only"}},
		{name: "service taskDefinitionRef from.name and name differ", yaml: `
kind: Service
metadata: {name: shop-td-ref}
spec: {taskDefinitionRef: {name: shop, from: {name: shop-v2}}}`,
			refusedBy: []string{"spec.taskDefinitionRef.name", "from.name is an alias of name", "set only name"}},
		{name: "service clusterRef with neither name", yaml: `
kind: Service
metadata: {name: shop-empty-ref}
spec: {taskDefinition: shop, clusterRef: {}}`,
			refusedBy: []string{"spec.clusterRef", "name is required"}},

		// The ECS members nodeless does not carry (api/ecs/v1alpha1/refused_types.go), as ACK and
		// ECS's own JSON spell them: refused by name with the reason, never pruned.
		{name: "task definition members nodeless does not carry", yaml: `
kind: TaskDefinition
metadata: {name: shop-ipc}
spec:
  ipcMode: host
  inferenceAccelerators: [{deviceName: eia, deviceType: eia2.medium}]
  enableFaultInjection: true
  containerDefinitions: [{name: site, image: nginx}]`,
			refusedBy: []string{"spec.ipcMode", "Fargate does not support ipcMode", "spec.inferenceAccelerators", "Elastic Inference is retired",
				"spec.enableFaultInjection", "Forbidden", "remove it"}},
		{name: "container members nodeless does not carry", yaml: `
kind: TaskDefinition
metadata: {name: shop-links}
spec:
  containerDefinitions:
  - name: site
    image: nginx
    links: [db]
    hostname: site
    disableNetworking: true
    dnsServers: [10.0.0.2]
    dnsSearchDomains: [corp.example]
    extraHosts: [{hostname: db, ipAddress: 10.0.0.9}]
    dockerSecurityOptions: [no-new-privileges]
    privileged: true
    credentialSpecs: ["credentialspec:arn:aws:s3:::bucket/spec.json"]
    resourceRequirements: [{type: GPU, value: "1"}]
    volumesFrom: [{sourceContainer: data, readOnly: true}]
    versionConsistency: disabled`,
			refusedBy: []string{"spec.containerDefinitions[0].links", "reach each other on localhost", "spec.containerDefinitions[0].hostname",
				"spec.containerDefinitions[0].disableNetworking", "spec.containerDefinitions[0].dnsServers", "spec.containerDefinitions[0].dnsSearchDomains",
				"spec.containerDefinitions[0].extraHosts", "spec.containerDefinitions[0].dockerSecurityOptions", "spec.containerDefinitions[0].privileged",
				"linuxParameters.capabilities.add", "spec.containerDefinitions[0].credentialSpecs", "spec.containerDefinitions[0].resourceRequirements",
				"GPUs are out of scope", "spec.containerDefinitions[0].volumesFrom", "share a task volume through mountPoints",
				"spec.containerDefinitions[0].versionConsistency", "is not carried by nodeless"}},
		{name: "container linuxParameters and port ranges nodeless does not carry", yaml: `
kind: TaskDefinition
metadata: {name: shop-tmpfs}
spec:
  containerDefinitions:
  - name: site
    image: nginx
    portMappings: [{containerPort: 80}, {containerPortRange: "8000-8010"}]
    linuxParameters:
      initProcessEnabled: true
      devices: [{hostPath: /dev/fuse}]
      sharedMemorySize: 64
      tmpfs: [{containerPath: /tmp, size: 64}]
      maxSwap: 0
      swappiness: 60`,
			refusedBy: []string{"spec.containerDefinitions[0].portMappings[1].containerPortRange", "map each port with containerPort",
				"spec.containerDefinitions[0].linuxParameters.devices", "host devices", "spec.containerDefinitions[0].linuxParameters.sharedMemorySize",
				"spec.containerDefinitions[0].linuxParameters.tmpfs", "spec.containerDefinitions[0].linuxParameters.maxSwap",
				"spec.containerDefinitions[0].linuxParameters.swappiness", "Fargate does not support swap"}},
		{name: "volumes nodeless does not carry", yaml: `
kind: TaskDefinition
metadata: {name: shop-docker-volume}
spec:
  volumes:
  - name: data
    configuredAtLaunch: true
    dockerVolumeConfiguration: {scope: shared, autoprovision: true, driver: local}
    fsxWindowsFileServerVolumeConfiguration: {fileSystemID: fs-0a1b, rootDirectory: share}
    s3filesVolumeConfiguration: {bucket: shop}
  containerDefinitions: [{name: site, image: nginx}]`,
			refusedBy: []string{"spec.volumes[0].configuredAtLaunch", "EBS volumes attached at launch", "spec.volumes[0].dockerVolumeConfiguration",
				"Docker volumes are EC2 only", "spec.volumes[0].fsxWindowsFileServerVolumeConfiguration", "Windows containers",
				"spec.volumes[0].s3filesVolumeConfiguration"}},
		{name: "flags nodeless does not carry, set to ECS's default", yaml: `
kind: TaskDefinition
metadata: {name: shop-unprivileged}
spec:
  enableFaultInjection: false
  containerDefinitions: [{name: site, image: nginx, privileged: false, disableNetworking: false}]`,
			want: ecsv1alpha1.TaskDefinitionSpec{ContainerDefinitions: []ecsv1alpha1.ContainerDefinition{{Name: "site", Image: "nginx"}}}},
		{name: "service members nodeless does not carry", yaml: `
kind: Service
metadata: {name: shop-ebs}
spec:
  taskDefinition: shop
  role: arn:aws:iam::111122223333:role/ecsServiceRole
  forceNewDeployment: true
  availabilityZoneRebalancing: ENABLED
  volumeConfigurations:
  - name: data
    managedEBSVolume: {roleARN: "arn:aws:iam::111122223333:role/ebs", sizeInGiB: 10, snapshotID: snap-0a1b}
  vpcLatticeConfigurations: [{roleArn: "arn:aws:iam::111122223333:role/lattice", targetGroupArn: arn:tg, portName: http}]`,
			refusedBy: []string{"spec.role", "service-linked role", "spec.forceNewDeployment", "not declarative", "spec.availabilityZoneRebalancing",
				"spec.volumeConfigurations", "EBS volumes attached at launch", "spec.vpcLatticeConfigurations", "VPC Lattice"}},
		{name: "service deployment members nodeless does not carry", yaml: `
kind: Service
metadata: {name: shop-blue-green}
spec:
  taskDefinition: shop
  deploymentConfiguration:
    maximumPercent: 200
    strategy: BLUE_GREEN
    bakeTimeInMinutes: 5
    lifecycleHooks: [{hookTargetArn: "arn:aws:lambda:us-east-1:111122223333:function:hook", lifecycleStages: [PRE_SCALE_UP]}]
    canaryConfiguration: {canaryPercent: 10, canaryBakeTimeInMinutes: 5}
    linearConfiguration: {stepPercent: 10, stepBakeTimeInMinutes: 5}
  loadBalancers:
  - containerName: site
    containerPort: 80
    targetGroupArn: arn:tg
    advancedConfiguration: {alternateTargetGroupArn: arn:tg2, productionListenerRule: arn:rule}
  serviceConnectConfiguration:
    enabled: true
    services:
    - portName: http
      clientAliases: [{port: 80, testTrafficRules: {header: {name: x-canary}}}]`,
			refusedBy: []string{"spec.deploymentConfiguration.strategy", "blue/green", "spec.deploymentConfiguration.bakeTimeInMinutes",
				"spec.deploymentConfiguration.lifecycleHooks", "spec.deploymentConfiguration.canaryConfiguration",
				"spec.deploymentConfiguration.linearConfiguration", "spec.loadBalancers[0].advancedConfiguration", "alternate target group",
				"spec.serviceConnectConfiguration.services[0].clientAliases[0].testTrafficRules", "test traffic"}},
		{name: "task members nodeless does not carry", yaml: `
kind: Task
metadata: {name: migrate-many}
spec:
  taskDefinition: shop
  count: 3
  referenceId: deploy-1
  volumeConfigurations: [{name: data, managedEBSVolume: {sizeInGiB: 10}}]
  overrides:
    inferenceAcceleratorOverrides: [{deviceName: eia, deviceType: eia2.medium}]
    containerOverrides: [{name: site, resourceRequirements: [{type: GPU, value: "1"}]}]`,
			refusedBy: []string{"spec.count", "create one Task per task", "spec.referenceId", "spec.volumeConfigurations",
				"spec.overrides.inferenceAcceleratorOverrides", "spec.overrides.containerOverrides[0].resourceRequirements"}},

		{name: "task with references and network configuration", yaml: `
kind: Task
metadata: {name: migrate}
spec:
  clusterRef: {from: {name: shop}}
  taskDefinitionRef: {from: {name: shop}}
  launchType: FARGATE
  networkConfiguration:
    awsVPCConfiguration: {assignPublicIP: DISABLED, subnets: [subnet-0a1b2c]}
    awsvpcConfiguration: {assignPublicIP: DISABLED, subnets: [subnet-0a1b2c]}`,
			want: ecsv1alpha1.TaskSpec{ClusterRef: &ecsv1alpha1.LocalObjectReference{Name: "shop"},
				TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "shop"}, LaunchType: "FARGATE",
				NetworkConfiguration: &ecsv1alpha1.NetworkConfiguration{AwsvpcConfiguration: &ecsv1alpha1.AwsVpcConfiguration{
					AssignPublicIp: "DISABLED", Subnets: []string{"subnet-0a1b2c"}}}}},
		{name: "task subnetRefs and securityGroupRefs", yaml: `
kind: Task
metadata: {name: migrate-refs}
spec:
  taskDefinition: shop
  networkConfiguration:
    awsvpcConfiguration: {subnetRefs: [{from: {name: private-a}}], securityGroupRefs: [{from: {name: web}}]}`,
			refusedBy: []string{"spec.networkConfiguration.awsvpcConfiguration.subnetRefs", "spec.networkConfiguration.awsvpcConfiguration.securityGroupRefs", "Forbidden"}},
	}
}

// TestAliasManifests: with field validation Ignore (what a client gets that does not ask for
// strict validation), each manifest in the spellings of AWS's ECS controller for Kubernetes is
// either accepted with nothing pruned — the stored object holds every member of the manifest as
// written, strict validation accepts it too, and the controllers read it (after the cache's
// NormalizeAliases) as want says — or refused with an error that names the member and the
// nodeless spelling.
func TestAliasManifests(t *testing.T) {
	c, env := kube(t)
	ctx := context.Background()
	t.Run("the check sees pruning", func(t *testing.T) {
		u := decodeManifest(t, "kind: Cluster\nmetadata: {name: pruned}\nspec: {clusterName: shop, notAMember: 1}", env.Namespace)
		if err := c.Create(ctx, u.DeepCopy(), ignoreUnknown); err != nil {
			t.Fatal(err)
		}
		stored := &unstructured.Unstructured{}
		stored.SetGroupVersionKind(u.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(u), stored); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"spec.notAMember"}, missingMembers("spec", u.Object["spec"], stored.Object["spec"])); diff != "" {
			t.Errorf("members found pruned (-want +got):\n%s", diff)
		}
	})
	for _, m := range aliasManifests() {
		t.Run(m.name, func(t *testing.T) {
			u := decodeManifest(t, m.yaml, env.Namespace)
			strictErr := c.Create(ctx, u.DeepCopy(), client.DryRunAll, client.FieldValidation(metav1.FieldValidationStrict))
			err := c.Create(ctx, u.DeepCopy(), ignoreUnknown)
			if m.refusedBy != nil {
				errContains(t, err, m.refusedBy...)
				return
			}
			if strictErr != nil || err != nil {
				t.Fatalf("refused: strict validation: %v; ignore: %v", strictErr, err)
			}
			stored := &unstructured.Unstructured{}
			stored.SetGroupVersionKind(u.GroupVersionKind())
			if err := c.Get(ctx, client.ObjectKeyFromObject(u), stored); err != nil {
				t.Fatal(err)
			}
			if pruned := missingMembers("spec", u.Object["spec"], stored.Object["spec"]); len(pruned) > 0 {
				t.Errorf("members of the manifest missing from the stored object (pruned or changed): %v", pruned)
			}
			if diff := cmp.Diff(m.want, normalizedSpec(t, c.Scheme(), stored)); diff != "" {
				t.Errorf("spec as the controllers read it (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAliasedNamesCannotChange: a name given by an alias cannot change either, and moving it to
// the ECS spelling with the same value is no change.
func TestAliasedNamesCannotChange(t *testing.T) {
	c, env := kube(t)
	ctx := context.Background()
	tests := []struct {
		yaml, path string
		to         map[string]any
		refusedBy  []string
	}{
		{"kind: Cluster\nmetadata: {name: renamed}\nspec: {name: shop-prod}", "spec", map[string]any{"name": "shop-dev"},
			[]string{"spec.clusterName cannot change"}},
		{"kind: Cluster\nmetadata: {name: respelled}\nspec: {name: shop-prod}", "spec", map[string]any{"clusterName": "shop-prod"}, nil},
		{"kind: Service\nmetadata: {name: renamed}\nspec: {name: shop, taskDefinition: shop}", "spec",
			map[string]any{"name": "shop-2", "taskDefinition": "shop"}, []string{"spec.serviceName cannot change"}},
		{"kind: Service\nmetadata: {name: respelled}\nspec: {name: shop, taskDefinition: shop}", "spec",
			map[string]any{"serviceName": "shop", "taskDefinition": "shop"}, nil},
		{"kind: Service\nmetadata: {name: moved}\nspec: {clusterRef: {from: {name: a}}, taskDefinition: shop}", "spec",
			map[string]any{"clusterRef": map[string]any{"from": map[string]any{"name": "b"}}, "taskDefinition": "shop"},
			[]string{"cluster and clusterRef cannot change"}},
		{"kind: Service\nmetadata: {name: ref-respelled}\nspec: {clusterRef: {from: {name: a}}, taskDefinition: shop}", "spec",
			map[string]any{"clusterRef": map[string]any{"name": "a"}, "taskDefinition": "shop"}, nil},
	}
	for _, tt := range tests {
		u := decodeManifest(t, tt.yaml, env.Namespace)
		name := u.GetKind() + "/" + u.GetName()
		if err := c.Create(ctx, u, ignoreUnknown); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		u.Object[tt.path] = tt.to
		err := c.Update(ctx, u, ignoreUnknown)
		if tt.refusedBy == nil {
			if err != nil {
				t.Errorf("%s: moving the alias to the ECS spelling is refused: %v", name, err)
			}
			continue
		}
		errContains(t, err, tt.refusedBy...)
	}
}

// TestAliasManifestsCoverEverySpelling: every alias and refused spelling of every kind (a field
// with an `alias` tag, reached through the ECS members) is in some manifest of
// TestAliasManifests, so that one added later is tested on the API server too.
func TestAliasManifestsCoverEverySpelling(t *testing.T) {
	written := map[string][]string{}
	for _, m := range aliasManifests() {
		u := decodeManifest(t, m.yaml, "default")
		written[u.GetKind()] = append(written[u.GetKind()], memberPaths("", u.Object["spec"])...)
	}
	for kind, spec := range map[string]reflect.Type{
		"Cluster": reflect.TypeFor[ecsv1alpha1.ClusterSpec](), "Service": reflect.TypeFor[ecsv1alpha1.ServiceSpec](),
		"TaskDefinition": reflect.TypeFor[ecsv1alpha1.TaskDefinitionSpec](), "Task": reflect.TypeFor[ecsv1alpha1.TaskSpec](),
	} {
		for _, alias := range aliasPaths(spec, "") {
			if !slices.Contains(written[kind], alias) {
				t.Errorf("%s spec.%s: no manifest of TestAliasManifests writes it", kind, alias)
			}
		}
	}
}

// TestAliasesReachECS: a Cluster, TaskDefinition and Service written in the other controller's
// spellings (created with field validation Ignore) reach ECS as their ECS members: the cluster's
// and the service's names, the referenced objects, the roles and the service's network
// configuration. The stored specs keep the spelling their author wrote.
func TestAliasesReachECS(t *testing.T) {
	f := startFaultEnv(t)
	ns := f.ns
	for _, m := range []string{`
kind: Cluster
metadata: {name: shop}
spec: {name: ` + ns + `}`, `
kind: TaskDefinition
metadata: {name: shop}
spec:
  family: ` + ns + `-shop
  cpu: "256"
  memory: "512"
  networkMode: awsvpc
  requiresCompatibilities: [FARGATE]
  executionRoleARN: arn:aws:iam::000000000000:role/exec
  taskRoleARN: arn:aws:iam::000000000000:role/app
  containerDefinitions: [{name: site, image: ` + testImage + `}]`, `
kind: Service
metadata: {name: shop}
spec:
  name: shop-web
  clusterRef: {from: {name: shop}}
  taskDefinitionRef: {from: {name: shop}}
  launchType: FARGATE
  desiredCount: 1
  networkConfiguration:
    awsVPCConfiguration:
      assignPublicIP: DISABLED
      subnets: [subnet-0a1b2c]
      securityGroups: [sg-0a1b]`} {
		if err := f.c.Create(f.ctx, decodeManifest(t, m, ns), ignoreUnknown); err != nil {
			t.Fatal(err)
		}
	}
	svc := &ecsv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns}}
	eventually(t, 60*time.Second, "Service Ready", f.ready(svc, func() []metav1.Condition { return svc.Status.Conditions }))

	out, err := f.ecs.Client.DescribeServices(f.ctx, &ecs.DescribeServicesInput{Cluster: aws.String(ns), Services: []string{"shop-web"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("ECS service shop-web in cluster %s: %v %+v", ns, err, out)
	}
	want := &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
		AssignPublicIp: ecstypes.AssignPublicIpDisabled, Subnets: []string{"subnet-0a1b2c"}, SecurityGroups: []string{"sg-0a1b"}}}
	if diff := cmp.Diff(want, out.Services[0].NetworkConfiguration, cmpopts.IgnoreUnexported(ecstypes.NetworkConfiguration{}, ecstypes.AwsVpcConfiguration{})); diff != "" {
		t.Errorf("the ECS service's networkConfiguration (-want +got):\n%s", diff)
	}
	td, err := f.ecs.Client.DescribeTaskDefinition(f.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: out.Services[0].TaskDefinition})
	if err != nil {
		t.Fatal(err)
	}
	if got := [3]string{aws.ToString(td.TaskDefinition.Family), aws.ToString(td.TaskDefinition.ExecutionRoleArn), aws.ToString(td.TaskDefinition.TaskRoleArn)}; got != [3]string{ns + "-shop", "arn:aws:iam::000000000000:role/exec", "arn:aws:iam::000000000000:role/app"} {
		t.Errorf("the service's task definition: family, executionRoleArn, taskRoleArn = %q", got)
	}

	stored := &unstructured.Unstructured{}
	stored.SetGroupVersionKind(ecsv1alpha1.GroupVersion.WithKind("Service"))
	if err := f.c.Get(f.ctx, client.ObjectKeyFromObject(svc), stored); err != nil {
		t.Fatal(err)
	}
	if got := memberPaths("", stored.Object["spec"]); !slices.Contains(got, "name") || slices.Contains(got, "serviceName") ||
		!slices.Contains(got, "networkConfiguration.awsVPCConfiguration.assignPublicIP") || slices.Contains(got, "networkConfiguration.awsvpcConfiguration") {
		t.Errorf("the stored spec after reconciling has members %v; want the author's spelling kept", got)
	}
}

// decodeManifest decodes a manifest written without apiVersion (every manifest of these tests
// would carry ecs.nodeless.dev/v1alpha1 there, the one line a user changes) into namespace ns.
func decodeManifest(t *testing.T, manifest, ns string) *unstructured.Unstructured {
	t.Helper()
	obj := map[string]any{}
	if err := yaml.Unmarshal([]byte(manifest), &obj); err != nil {
		t.Fatalf("manifest %s: %v", manifest, err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetAPIVersion(ecsv1alpha1.GroupVersion.String())
	u.SetNamespace(ns)
	return u
}

// missingMembers lists the leaves of written (at path) that stored does not hold with the same
// value.
func missingMembers(path string, written, stored any) []string {
	switch w := written.(type) {
	case map[string]any:
		s, _ := stored.(map[string]any)
		var out []string
		for k, v := range w {
			out = append(out, missingMembers(path+"."+k, v, s[k])...)
		}
		return out
	case []any:
		s, _ := stored.([]any)
		if len(s) != len(w) {
			return []string{path}
		}
		var out []string
		for i := range w {
			out = append(out, missingMembers(fmt.Sprintf("%s[%d]", path, i), w[i], s[i])...)
		}
		return out
	}
	if stored == nil || fmt.Sprint(written) != fmt.Sprint(stored) {
		return []string{path}
	}
	return nil
}

// memberPaths lists every member path of a decoded spec, lists as "[]":
// "loadBalancers[].targetGroupARN".
func memberPaths(prefix string, v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			p := strings.TrimPrefix(prefix+"."+k, ".")
			out = append(out, p)
			out = append(out, memberPaths(p, e)...)
		}
	case []any:
		for _, e := range v {
			out = append(out, memberPaths(prefix+"[]", e)...)
		}
	}
	return out
}

// aliasPaths lists the path of every field with an `alias` tag in the struct type t, reached
// through ECS members (and inline structs) only.
func aliasPaths(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice {
			prefix += "[]"
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported() || name == "-":
		case f.Anonymous && opts == "inline":
			out = append(out, aliasPaths(f.Type, prefix)...)
		case f.Tag.Get("alias") != "":
			out = append(out, strings.TrimPrefix(prefix+"."+name, "."))
		default:
			out = append(out, aliasPaths(f.Type, strings.TrimPrefix(prefix+"."+name, "."))...)
		}
	}
	return out
}

// normalizedSpec converts stored to its typed kind, moves its aliases as the controllers' cache
// does, and returns the spec.
func normalizedSpec(t *testing.T, scheme *runtime.Scheme, stored *unstructured.Unstructured) any {
	t.Helper()
	obj, err := scheme.New(stored.GroupVersionKind())
	if err != nil {
		t.Fatal(err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(stored.Object, obj); err != nil {
		t.Fatal(err)
	}
	obj.(interface{ NormalizeAliases() }).NormalizeAliases()
	return reflect.ValueOf(obj).Elem().FieldByName("Spec").Interface()
}

// warnings records the warnings the API server sends back (rest.WarningHandler).
type warnings struct {
	mu   sync.Mutex
	seen []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.seen
	w.seen = nil
	return out
}

// TestAliasManifestsWithoutFieldValidation: with no field validation in the request (what
// client-go and controller-runtime send; the API server then warns about each member it drops),
// every accepted manifest of TestAliasManifests draws no warning, so nothing of it was dropped;
// a member no schema knows draws a warning naming it. (ADR 0012: what the API server does.)
func TestAliasManifestsWithoutFieldValidation(t *testing.T) {
	_, env := kube(t)
	ctx := context.Background()
	w := &warnings{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = w
	scheme, err := controller.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range aliasManifests() {
		if m.refusedBy != nil {
			continue
		}
		u := decodeManifest(t, m.yaml, env.Namespace)
		if err := c.Create(ctx, u); err != nil {
			t.Errorf("%s: %v", m.name, err)
		}
		if got := w.take(); len(got) > 0 {
			t.Errorf("%s: warnings %q, want none (a member dropped)", m.name, got)
		}
	}
	u := decodeManifest(t, "kind: Cluster\nmetadata: {name: typo}\nspec: {clusterNmae: shop}", env.Namespace)
	if err := c.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got := w.take(); len(got) != 1 || !strings.Contains(got[0], "spec.clusterNmae") {
		t.Errorf("warnings for a member no schema knows: %q, want one naming spec.clusterNmae", got)
	}
}
