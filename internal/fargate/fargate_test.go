package fargate

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// refusal is what a check answered: "" when it accepted, else "Type field".
func refusal(err error) string {
	if err == nil {
		return ""
	}
	e := As(err)
	if e == nil {
		return "not a *fargate.Error: " + err.Error()
	}
	return string(e.Type) + " " + e.Field
}

func decodeTD(t *testing.T, s string) *TaskDefinition {
	t.Helper()
	var td TaskDefinition
	if err := json.Unmarshal([]byte(s), &td); err != nil {
		t.Fatalf("decoding %s: %v", s, err)
	}
	return &td
}

const baseTD = `"requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","cpu":"256","memory":"512"`

// TestCheckTaskDefinition: each rule refuses with ECS's error type and names the member.
func TestCheckTaskDefinition(t *testing.T) {
	for _, tt := range []struct {
		name, td, want string
	}{
		{"Fargate", `{` + baseTD + `,"containerDefinitions":[{"name":"a","image":"i","portMappings":[{"containerPort":80,"hostPort":80}]}]}`, ""},
		{"not Fargate, any mode", `{"networkMode":"bridge","containerDefinitions":[{"name":"a","image":"i","privileged":true,"links":["b"]}]}`, ""},
		{"no networkMode", `{"requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"a"}]}`, "ClientException networkMode"},
		{"no cpu", `{"requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","memory":"512"}`, "ClientException cpu"},
		{"no memory", `{"requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","cpu":"256"}`, "ClientException memory"},
		{"bad cpu", `{"requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","cpu":"1 core","memory":"512"}`, "ClientException cpu"},
		{"no such size", `{"requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","cpu":"256","memory":"4 GB"}`, "ClientException cpu, memory"},
		{"vCPU units", `{"requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","cpu":"1 vCPU","memory":"2 GB"}`, ""},
		{"ipcMode", `{` + baseTD + `,"ipcMode":"none"}`, "ClientException ipcMode"},
		{"pidMode task", `{` + baseTD + `,"pidMode":"task"}`, ""},
		{"pidMode host", `{` + baseTD + `,"pidMode":"host"}`, "ClientException pidMode"},
		{"placementConstraints", `{` + baseTD + `,"placementConstraints":[{"type":"memberOf"}]}`, "ClientException placementConstraints"},
		{"empty placementConstraints", `{` + baseTD + `,"placementConstraints":[]}`, ""},
		{"docker volume", `{` + baseTD + `,"volumes":[{"name":"v","dockerVolumeConfiguration":{}}]}`, "ClientException volumes[0].dockerVolumeConfiguration"},
		{"host volume", `{` + baseTD + `,"volumes":[{"name":"v","host":{"sourcePath":"/x"}}]}`, "ClientException volumes[0].host.sourcePath"},
		{"bind volume", `{` + baseTD + `,"volumes":[{"name":"v","host":{}}]}`, ""},
		{"privileged", `{` + baseTD + `,"containerDefinitions":[{"name":"a","privileged":true}]}`, "ClientException containerDefinitions[0].privileged"},
		{"privileged false", `{` + baseTD + `,"containerDefinitions":[{"name":"a","privileged":false}]}`, ""},
		{"dnsSearchDomains", `{` + baseTD + `,"containerDefinitions":[{"name":"a"},{"name":"b","dnsSearchDomains":["x"]}]}`, "ClientException containerDefinitions[1].dnsSearchDomains"},
		{"GPU", `{` + baseTD + `,"containerDefinitions":[{"name":"a","resourceRequirements":[{"type":"GPU","value":"1"}]}]}`, "ClientException containerDefinitions[0].resourceRequirements"},
		{"tmpfs", `{` + baseTD + `,"containerDefinitions":[{"name":"a","linuxParameters":{"tmpfs":[{}]}}]}`, "ClientException containerDefinitions[0].linuxParameters.tmpfs"},
		{"SYS_PTRACE", `{` + baseTD + `,"containerDefinitions":[{"name":"a","linuxParameters":{"capabilities":{"add":["SYS_PTRACE"]}}}]}`, ""},
		{"NET_ADMIN", `{` + baseTD + `,"containerDefinitions":[{"name":"a","linuxParameters":{"capabilities":{"add":["SYS_PTRACE","NET_ADMIN"]}}}]}`, "ClientException containerDefinitions[0].linuxParameters.capabilities.add[1]"},
		{"awsvpc hostname", `{"networkMode":"awsvpc","containerDefinitions":[{"name":"a","hostname":"h"}]}`, "ClientException containerDefinitions[0].hostname"},
		{"awsvpc hostPort", `{"networkMode":"awsvpc","containerDefinitions":[{"name":"a","portMappings":[{"containerPort":80,"hostPort":81}]}]}`, "ClientException containerDefinitions[0].portMappings[0].hostPort"},
		{"awslogs", `{` + baseTD + `,"containerDefinitions":[{"name":"a","logConfiguration":{"logDriver":"awslogs"}}]}`, "ClientException containerDefinitions[0].logConfiguration.logDriver"},
		{"awslogs with role", `{` + baseTD + `,"executionRoleArn":"arn:aws:iam::1:role/r","containerDefinitions":[{"name":"a","logConfiguration":{"logDriver":"awslogs"}}]}`, ""},
		{"private ECR", `{` + baseTD + `,"containerDefinitions":[{"name":"a","image":"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1"}]}`, "ClientException containerDefinitions[0].image"},
		{"public ECR", `{` + baseTD + `,"containerDefinitions":[{"name":"a","image":"public.ecr.aws/nginx/nginx:1"}]}`, ""},
		{"secrets", `{"containerDefinitions":[{"name":"a","secrets":[{"name":"S","valueFrom":"arn"}]}]}`, "ClientException containerDefinitions[0].secrets"},
		{"container memory", `{` + baseTD + `,"containerDefinitions":[{"name":"a","memory":1024}]}`, "ClientException containerDefinitions[0].memory"},
		{"container cpu", `{` + baseTD + `,"containerDefinitions":[{"name":"a","cpu":512}]}`, "ClientException containerDefinitions[0].cpu"},
		{"memory sum", `{` + baseTD + `,"containerDefinitions":[{"name":"a","memory":300},{"name":"b","memoryReservation":300}]}`, "ClientException containerDefinitions"},
	} {
		if got := refusal(CheckTaskDefinition(decodeTD(t, tt.td), TaskDefinitionRules{RequireExecutionRole: true})); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestLocal: the local data plane runs every definition as a Fargate task in awsvpc mode, so
// Fargate's and awsvpc's member rules apply to definitions that do not ask for FARGATE or awsvpc;
// the size and network-mode requirements stay Fargate's own.
func TestLocal(t *testing.T) {
	for _, tt := range []struct {
		name, td, want string
	}{
		{"plain", `{"containerDefinitions":[{"name":"a","image":"i"}]}`, ""},
		{"ipcMode", `{"ipcMode":"host"}`, "ClientException ipcMode"},
		{"pidMode host", `{"pidMode":"host"}`, "ClientException pidMode"},
		{"privileged", `{"containerDefinitions":[{"name":"a","privileged":true}]}`, "ClientException containerDefinitions[0].privileged"},
		{"hostname", `{"containerDefinitions":[{"name":"a","hostname":"h"}]}`, "ClientException containerDefinitions[0].hostname"},
		{"hostPort", `{"containerDefinitions":[{"name":"a","portMappings":[{"containerPort":80,"hostPort":81}]}]}`, "ClientException containerDefinitions[0].portMappings[0].hostPort"},
		{"docker volume", `{"volumes":[{"name":"v","dockerVolumeConfiguration":{}}]}`, "ClientException volumes[0].dockerVolumeConfiguration"},
		{"no size is not refused", `{"networkMode":"awsvpc","containerDefinitions":[{"name":"a"}]}`, ""},
	} {
		td := decodeTD(t, tt.td)
		if got := refusal(CheckTaskDefinition(td, TaskDefinitionRules{Local: true})); got != tt.want {
			t.Errorf("%s, local: %q, want %q", tt.name, got, tt.want)
		}
		if got := refusal(CheckTaskDefinition(td, TaskDefinitionRules{})); got != "" {
			t.Errorf("%s, on ECS (no FARGATE asked): %q, want it registered", tt.name, got)
		}
	}
}

// TestExecutionRoleOnlyWhenAsked: a local data plane needs no execution role.
func TestExecutionRoleOnlyWhenAsked(t *testing.T) {
	td := decodeTD(t, `{`+baseTD+`,"containerDefinitions":[{"name":"a","secrets":[{"name":"S","valueFrom":"arn"}],"logConfiguration":{"logDriver":"awslogs"}}]}`)
	if err := CheckTaskDefinition(td, TaskDefinitionRules{}); err != nil {
		t.Errorf("without RequireExecutionRole: %v", err)
	}
}

// TestCheckLaunch: RunTask's and CreateService's rules, lenient and strict.
func TestCheckLaunch(t *testing.T) {
	fargateTD := decodeTD(t, `{`+baseTD+`}`)
	plain := decodeTD(t, `{"networkMode":"awsvpc","cpu":"256","memory":"512"}`)
	bridge := decodeTD(t, `{"networkMode":"bridge"}`)
	strict := LaunchRules{RequireNetworkConfiguration: true, CheckIdentifiers: true}
	nc := `"networkConfiguration":{"awsvpcConfiguration":{"subnets":["subnet-0123456789abcdef0"],"securityGroups":["sg-01234567"]}}`
	for _, tt := range []struct {
		name, launch string
		td           *TaskDefinition
		rules        LaunchRules
		want         string
	}{
		{"strict, with network", `{"launchType":"FARGATE",` + nc + `}`, fargateTD, strict, ""},
		{"strict, without network", `{"launchType":"FARGATE"}`, fargateTD, strict, "InvalidParameterException networkConfiguration.awsvpcConfiguration"},
		{"lenient, without network", `{"launchType":"FARGATE"}`, fargateTD, LaunchRules{}, ""},
		{"strict update without network", `{}`, fargateTD, LaunchRules{RequireNetworkConfiguration: true, Update: true}, ""},
		{"no subnets", `{"networkConfiguration":{"awsvpcConfiguration":{"subnets":[]}}}`, fargateTD, LaunchRules{}, "InvalidParameterException networkConfiguration.awsvpcConfiguration.subnets"},
		{"17 subnets", `{"networkConfiguration":{"awsvpcConfiguration":{"subnets":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}}}`, fargateTD, LaunchRules{}, "InvalidParameterException networkConfiguration.awsvpcConfiguration.subnets"},
		{"6 security groups", `{"networkConfiguration":{"awsvpcConfiguration":{"subnets":["a"],"securityGroups":["a","b","c","d","e","f"]}}}`, fargateTD, LaunchRules{}, "InvalidParameterException networkConfiguration.awsvpcConfiguration.securityGroups"},
		{"malformed subnet, lenient", `{"networkConfiguration":{"awsvpcConfiguration":{"subnets":["local"]}}}`, fargateTD, LaunchRules{}, ""},
		{"malformed subnet, strict", `{"networkConfiguration":{"awsvpcConfiguration":{"subnets":["local"]}}}`, fargateTD, strict, "InvalidParameterException networkConfiguration.awsvpcConfiguration.subnets[0]"},
		{"malformed group, strict", `{"networkConfiguration":{"awsvpcConfiguration":{"subnets":["subnet-01234567"],"securityGroups":["default"]}}}`, fargateTD, strict, "InvalidParameterException networkConfiguration.awsvpcConfiguration.securityGroups[0]"},
		{"assignPublicIp", `{"networkConfiguration":{"awsvpcConfiguration":{"subnets":["a"],"assignPublicIp":"YES"}}}`, fargateTD, LaunchRules{}, "InvalidParameterException networkConfiguration.awsvpcConfiguration.assignPublicIp"},
		{"network for bridge", `{"launchType":"EC2",` + nc + `}`, bridge, LaunchRules{}, "InvalidParameterException networkConfiguration"},
		{"platform on EC2", `{"launchType":"EC2","platformVersion":"LATEST"}`, bridge, LaunchRules{}, "InvalidParameterException platformVersion"},
		{"FARGATE without compatibility", `{"launchType":"FARGATE",` + nc + `}`, plain, strict, "InvalidParameterException taskDefinition"},
		{"platform LATEST", `{"launchType":"FARGATE","platformVersion":"LATEST"}`, fargateTD, LaunchRules{}, ""},
		{"platform 1.3.0", `{"platformVersion":"1.3.0"}`, fargateTD, LaunchRules{}, ""},
		{"platform 1.2.0", `{"platformVersion":"1.2.0"}`, fargateTD, LaunchRules{}, "InvalidParameterException platformVersion"},
		{"platform latest", `{"platformVersion":"latest"}`, fargateTD, LaunchRules{}, "InvalidParameterException platformVersion"},
	} {
		var l Launch
		if err := json.Unmarshal([]byte(tt.launch), &l); err != nil {
			t.Fatal(err)
		}
		if got := refusal(CheckLaunch(&l, tt.td, tt.rules)); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestDefaultsPrecedence: manifest > Cluster > flag, member by member.
func TestDefaultsPrecedence(t *testing.T) {
	flags := Defaults{Subnets: []string{"subnet-flag"}, SecurityGroups: []string{"sg-flag"}, AssignPublicIp: "ENABLED", ExecutionRoleArn: "role-flag", LogGroup: "/flag"}
	cluster := Defaults{Subnets: []string{"subnet-cluster"}, ExecutionRoleArn: "role-cluster"}
	d := cluster.Or(flags)
	want := Defaults{Subnets: []string{"subnet-cluster"}, SecurityGroups: []string{"sg-flag"}, AssignPublicIp: "ENABLED", ExecutionRoleArn: "role-cluster", LogGroup: "/flag"}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("cluster.Or(flags) (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		name     string
		manifest *AwsVpcConfiguration
		d        Defaults
		want     *AwsVpcConfiguration
	}{
		{"none anywhere", nil, Defaults{}, nil},
		{"from the defaults", nil, d, &AwsVpcConfiguration{Subnets: []string{"subnet-cluster"}, SecurityGroups: []string{"sg-flag"}, AssignPublicIp: "ENABLED"}},
		{"manifest subnets, default groups", &AwsVpcConfiguration{Subnets: []string{"subnet-own"}}, d,
			&AwsVpcConfiguration{Subnets: []string{"subnet-own"}, SecurityGroups: []string{"sg-flag"}, AssignPublicIp: "ENABLED"}},
		{"manifest wins", &AwsVpcConfiguration{Subnets: []string{"subnet-own"}, SecurityGroups: []string{"sg-own"}, AssignPublicIp: "DISABLED"}, d,
			&AwsVpcConfiguration{Subnets: []string{"subnet-own"}, SecurityGroups: []string{"sg-own"}, AssignPublicIp: "DISABLED"}},
		{"no subnet anywhere keeps the manifest's", &AwsVpcConfiguration{SecurityGroups: []string{"sg-own"}}, Defaults{}, &AwsVpcConfiguration{SecurityGroups: []string{"sg-own"}}},
	} {
		if diff := cmp.Diff(tt.want, tt.d.Network(tt.manifest)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}
