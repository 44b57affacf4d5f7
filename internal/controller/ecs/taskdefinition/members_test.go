package taskdefinition

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/inplace"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/spectest"
)

const (
	register = "RegisterTaskDefinition"
	tagCalls = "TagResource / UntagResource on every ACTIVE revision"
)

// members classifies every member of TaskDefinitionSpec by the path its change takes. ECS changes
// nothing of a registered revision but its tags (the ECS API has no UpdateTaskDefinition), so
// every other member registers a new revision.
var members = map[string]spectest.Member{
	"family":                                              {Path: spectest.CreateOnly, Call: register, Why: "the object's revisions belong to one family; a change is refused (CRD rule, RecreateRequired)"},
	"tags[].key":                                          {Path: spectest.InPlace, Call: tagCalls, Why: "also sent with each new revision"},
	"tags[].value":                                        {Path: spectest.InPlace, Call: tagCalls, Why: "also sent with each new revision"},
	"cpu":                                                 {Path: spectest.NewRevision, Call: register},
	"memory":                                              {Path: spectest.NewRevision, Call: register},
	"networkMode":                                         {Path: spectest.NewRevision, Call: register},
	"pidMode":                                             {Path: spectest.NewRevision, Call: register},
	"requiresCompatibilities":                             {Path: spectest.NewRevision, Call: register},
	"executionRoleArn":                                    {Path: spectest.NewRevision, Call: register},
	"taskRoleArn":                                         {Path: spectest.NewRevision, Call: register},
	"ephemeralStorage.sizeInGiB":                          {Path: spectest.NewRevision, Call: register},
	"runtimePlatform.cpuArchitecture":                     {Path: spectest.NewRevision, Call: register},
	"runtimePlatform.operatingSystemFamily":               {Path: spectest.NewRevision, Call: register},
	"volumes[].name":                                      {Path: spectest.NewRevision, Call: register},
	"volumes[].host.sourcePath":                           {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].name":                         {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].image":                        {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].cpu":                          {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].memory":                       {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].memoryReservation":            {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].essential":                    {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].entryPoint":                   {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].command":                      {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].workingDirectory":             {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].environment[].name":           {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].environment[].value":          {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].secrets[].name":               {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].secrets[].valueFrom":          {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].portMappings[].appProtocol":   {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].portMappings[].containerPort": {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].portMappings[].hostPort":      {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].portMappings[].name":          {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].portMappings[].protocol":      {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].healthCheck.command":          {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].healthCheck.interval":         {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].healthCheck.retries":          {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].healthCheck.startPeriod":      {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].healthCheck.timeout":          {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].dependsOn[].condition":        {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].dependsOn[].containerName":    {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].mountPoints[].containerPath":  {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].mountPoints[].readOnly":       {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].mountPoints[].sourceVolume":   {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].logConfiguration.logDriver":   {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].logConfiguration.options":     {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].stopTimeout":                  {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].startTimeout":                 {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].user":                         {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].readonlyRootFilesystem":       {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].dockerLabels":                 {Path: spectest.NewRevision, Call: register},

	// members_taskdefinition_types.go
	"proxyConfiguration.containerName":                                   {Path: spectest.NewRevision, Call: register},
	"proxyConfiguration.type":                                            {Path: spectest.NewRevision, Call: register},
	"proxyConfiguration.properties[].name":                               {Path: spectest.NewRevision, Call: register},
	"proxyConfiguration.properties[].value":                              {Path: spectest.NewRevision, Call: register},
	"placementConstraints[].type":                                        {Path: spectest.NewRevision, Call: register},
	"placementConstraints[].expression":                                  {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].repositoryCredentials.credentialsParameter":  {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].firelensConfiguration.type":                  {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].firelensConfiguration.options":               {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].linuxParameters.capabilities.add":            {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].linuxParameters.capabilities.drop":           {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].linuxParameters.initProcessEnabled":          {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].logConfiguration.secretOptions[].name":       {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].logConfiguration.secretOptions[].valueFrom":  {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].ulimits[].name":                              {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].ulimits[].softLimit":                         {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].ulimits[].hardLimit":                         {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].systemControls[].namespace":                  {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].systemControls[].value":                      {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].environmentFiles[].value":                    {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].environmentFiles[].type":                     {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].restartPolicy.enabled":                       {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].restartPolicy.ignoredExitCodes":              {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].restartPolicy.restartAttemptPeriod":          {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].interactive":                                 {Path: spectest.NewRevision, Call: register},
	"containerDefinitions[].pseudoTerminal":                              {Path: spectest.NewRevision, Call: register},
	"volumes[].efsVolumeConfiguration.fileSystemId":                      {Path: spectest.NewRevision, Call: register},
	"volumes[].efsVolumeConfiguration.rootDirectory":                     {Path: spectest.NewRevision, Call: register},
	"volumes[].efsVolumeConfiguration.transitEncryption":                 {Path: spectest.NewRevision, Call: register},
	"volumes[].efsVolumeConfiguration.transitEncryptionPort":             {Path: spectest.NewRevision, Call: register},
	"volumes[].efsVolumeConfiguration.authorizationConfig.accessPointId": {Path: spectest.NewRevision, Call: register},
	"volumes[].efsVolumeConfiguration.authorizationConfig.iam":           {Path: spectest.NewRevision, Call: register},
}

// TestSpecMembers: every member of TaskDefinitionSpec is classified, and the classification holds
// for a spec with every member set: a "new revision" member changes the spec hash and the
// RegisterTaskDefinition request; a tag changes the request (new revisions carry it) but not the
// hash, and is applied to the existing revisions with TagResource / UntagResource; a family change
// is refused by name.
func TestSpecMembers(t *testing.T) {
	spectest.Classified(reflect.TypeFor[ecsv1alpha1.TaskDefinitionSpec](), members, t.Errorf)
	base := &ecsv1alpha1.TaskDefinition{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	spectest.Fill(t, &base.Spec)
	base.Status = ecsv1alpha1.TaskDefinitionStatus{Family: base.FamilyName(), AppliedTags: inplace.Applied(base.Spec.Tags)}
	baseHash, err := SpecHash(&base.Spec)
	if err != nil {
		t.Fatal(err)
	}
	for path, m := range members {
		t.Run(path, func(t *testing.T) {
			td := base.DeepCopy()
			spectest.Change(t, &td.Spec, path)
			hash, err := SpecHash(&td.Spec)
			if err != nil {
				t.Fatal(err)
			}
			if cmp.Equal(RegisterInput(base, "h"), RegisterInput(td, "h"), sdkTypes) {
				t.Errorf("a change of %s does not reach RegisterTaskDefinition", path)
			}
			tags := inplace.DiffApplied(td.Spec.Tags, td.Status.AppliedTags)
			switch m.Path {
			case spectest.NewRevision:
				if hash == baseHash {
					t.Errorf("a change of %s leaves the spec hash alone: no new revision would be registered", path)
				}
				if !tags.Empty() || familyChange(td) != nil {
					t.Errorf("a change of %s is also taken for a tag or family change", path)
				}
			case spectest.InPlace:
				if hash != baseHash {
					t.Errorf("a change of %s changes the spec hash: it would register a new revision", path)
				}
				if tags.Empty() {
					t.Errorf("a change of %s makes no TagResource / UntagResource change", path)
				}
			case spectest.CreateOnly:
				c := familyChange(td)
				if c == nil || !strings.Contains(c.Message("TaskDefinition"), "spec."+path) {
					t.Errorf("a change of %s is not refused by name: %+v", path, c)
				}
				if !spectest.RefusedByCRD(t, "TaskDefinition", "spec."+path) {
					t.Errorf("the CRD has no rule refusing a change of %s", path)
				}
			default:
				t.Errorf("%s: no check for path %s", path, m.Path)
			}
		})
	}
	t.Logf("TaskDefinition spec members:\n%s", spectest.Table(members))
}

// TestNewMembersLeaveOldHashesAlone: a spec that sets none of the members of
// members_taskdefinition_types.go marshals (and so hashes, SpecHash) exactly as before they
// existed: upgrading nodeless registers no revision and rolls no Service.
func TestNewMembersLeaveOldHashesAlone(t *testing.T) {
	td := newTD("web", "nginx:1")
	td.Spec.Volumes = []ecsv1alpha1.Volume{{Name: "v", Host: &ecsv1alpha1.HostVolumeProperties{}}}
	td.Spec.ContainerDefinitions[0].LogConfiguration = &ecsv1alpha1.LogConfiguration{LogDriver: "awslogs", Options: map[string]string{"awslogs-group": "g"}}
	b, err := json.Marshal(&td.Spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, member := range []string{"proxyConfiguration", "placementConstraints", "repositoryCredentials", "firelensConfiguration",
		"linuxParameters", "ulimits", "secretOptions", "efsVolumeConfiguration", "Members"} {
		if strings.Contains(string(b), member) {
			t.Errorf("a spec without %s marshals it: %s", member, b)
		}
	}
}
