package v1alpha1

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeAliases(t *testing.T) {
	const tg = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/0a1b"
	ref := func(name string) *LocalObjectReference {
		return &LocalObjectReference{ReferenceAliases: ReferenceAliases{From: &ReferenceFrom{Name: name}}}
	}
	tests := []struct {
		name     string
		in, want interface{ NormalizeAliases() }
	}{
		{"cluster name",
			&Cluster{Spec: ClusterSpec{ClusterSpecAliases: ClusterSpecAliases{Name: "prod"}}},
			&Cluster{Spec: ClusterSpec{ClusterName: "prod"}}},
		{"cluster: clusterName wins over a name that bypassed the rule",
			&Cluster{Spec: ClusterSpec{ClusterName: "prod", ClusterSpecAliases: ClusterSpecAliases{Name: "dev"}}},
			&Cluster{Spec: ClusterSpec{ClusterName: "prod"}}},
		{"service",
			&Service{Spec: ServiceSpec{
				ServiceSpecAliases: ServiceSpecAliases{Name: "web"}, ClusterRef: ref("prod"), TaskDefinitionRef: ref("web"),
				NetworkConfiguration: &NetworkConfiguration{NetworkConfigurationAliases: NetworkConfigurationAliases{
					AwsVPCConfiguration: &AwsVpcConfiguration{Subnets: []string{"subnet-a"},
						AwsVpcConfigurationAliases: AwsVpcConfigurationAliases{AssignPublicIP: "DISABLED"}}}},
				LoadBalancers: []LoadBalancer{{ContainerName: "app", ContainerPort: 80, LoadBalancerAliases: LoadBalancerAliases{TargetGroupARN: tg}},
					{ContainerName: "app", ContainerPort: 81, LoadBalancerName: "classic"}},
			}},
			&Service{Spec: ServiceSpec{
				ServiceName: "web", ClusterRef: &LocalObjectReference{Name: "prod"}, TaskDefinitionRef: &LocalObjectReference{Name: "web"},
				NetworkConfiguration: &NetworkConfiguration{AwsvpcConfiguration: &AwsVpcConfiguration{Subnets: []string{"subnet-a"}, AssignPublicIp: "DISABLED"}},
				LoadBalancers: []LoadBalancer{{ContainerName: "app", ContainerPort: 80, TargetGroupArn: tg},
					{ContainerName: "app", ContainerPort: 81, LoadBalancerName: "classic"}},
			}}},
		{"service: members set beside equal aliases stay",
			&Service{Spec: ServiceSpec{ServiceName: "web", ServiceSpecAliases: ServiceSpecAliases{Name: "web"},
				ClusterRef: &LocalObjectReference{Name: "prod", ReferenceAliases: ReferenceAliases{From: &ReferenceFrom{Name: "prod"}}},
				NetworkConfiguration: &NetworkConfiguration{
					AwsvpcConfiguration: &AwsVpcConfiguration{AssignPublicIp: "ENABLED"},
					NetworkConfigurationAliases: NetworkConfigurationAliases{AwsVPCConfiguration: &AwsVpcConfiguration{
						AwsVpcConfigurationAliases: AwsVpcConfigurationAliases{AssignPublicIP: "ENABLED"}}}}}},
			&Service{Spec: ServiceSpec{ServiceName: "web", ClusterRef: &LocalObjectReference{Name: "prod"},
				NetworkConfiguration: &NetworkConfiguration{AwsvpcConfiguration: &AwsVpcConfiguration{AssignPublicIp: "ENABLED"}}}}},
		{"service in the ECS spelling is left alone",
			&Service{Spec: ServiceSpec{ServiceName: "web", TaskDefinition: "web:3", Cluster: "prod"}},
			&Service{Spec: ServiceSpec{ServiceName: "web", TaskDefinition: "web:3", Cluster: "prod"}}},
		{"task definition roles",
			&TaskDefinition{Spec: TaskDefinitionSpec{TaskDefinitionSpecAliases: TaskDefinitionSpecAliases{
				ExecutionRoleARN: "arn:aws:iam::111122223333:role/exec", TaskRoleARN: "arn:aws:iam::111122223333:role/app"}}},
			&TaskDefinition{Spec: TaskDefinitionSpec{ExecutionRoleArn: "arn:aws:iam::111122223333:role/exec", TaskRoleArn: "arn:aws:iam::111122223333:role/app"}}},
		{"task",
			&Task{Spec: TaskSpec{ClusterRef: ref("prod"), TaskDefinitionRef: ref("job"),
				NetworkConfiguration: &NetworkConfiguration{AwsvpcConfiguration: &AwsVpcConfiguration{
					AwsVpcConfigurationAliases: AwsVpcConfigurationAliases{AssignPublicIP: "ENABLED"}}}}},
			&Task{Spec: TaskSpec{ClusterRef: &LocalObjectReference{Name: "prod"}, TaskDefinitionRef: &LocalObjectReference{Name: "job"},
				NetworkConfiguration: &NetworkConfiguration{AwsvpcConfiguration: &AwsVpcConfiguration{AssignPublicIp: "ENABLED"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.NormalizeAliases()
			if diff := cmp.Diff(tt.want, tt.in); diff != "" {
				t.Errorf("normalised (-want +got):\n%s", diff)
			}
		})
	}
}

// alias is one field with an `alias` tag, found by walking a spec type: the index path to its
// parent struct (through pointers, the first element of lists, inline structs), its own index
// there, and what its tag says.
type alias struct {
	path   string
	parent []int
	field  reflect.StructField
	of     string
}

// specs are the spec types whose members the other controller spells differently.
var specs = map[string]reflect.Type{
	"Cluster": reflect.TypeFor[ClusterSpec](), "Service": reflect.TypeFor[ServiceSpec](),
	"TaskDefinition": reflect.TypeFor[TaskDefinitionSpec](), "Task": reflect.TypeFor[TaskSpec](),
}

// members calls visit for every field of struct type t, inline structs' fields as t's own,
// with its JSON name and index path from t.
func members(t reflect.Type, index []int, visit func(name string, f reflect.StructField, index []int)) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		idx := append(slices.Clone(index), i)
		switch {
		case !f.IsExported() || name == "-":
		case f.Anonymous && opts == "inline":
			members(f.Type, idx, visit)
		default:
			visit(name, f, idx)
		}
	}
}

// structOf is the struct type a field of type t holds (through pointers and lists), if any.
func structOf(t reflect.Type) (reflect.Type, bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t, t.Kind() == reflect.Struct
}

// aliases lists every alias field reachable from t through members (not through aliases).
func aliases(t reflect.Type, prefix string, parent []int) []alias {
	var out []alias
	members(t, nil, func(name string, f reflect.StructField, index []int) {
		path := strings.TrimPrefix(prefix+"."+name, ".")
		if of := f.Tag.Get("alias"); of != "" {
			out = append(out, alias{path: path, parent: parent, field: f, of: of})
			return
		}
		if st, ok := structOf(f.Type); ok {
			out = append(out, aliases(st, path, append(slices.Clone(parent), index...))...)
		}
	})
	return out
}

// TestEveryAliasIsNormalized: each alias of each spec, set alone, is moved by NormalizeAliases
// into the member its tag names, which exists beside it; a refused member is cleared (the API
// server stores one only where it asks for ECS's default).
func TestEveryAliasIsNormalized(t *testing.T) {
	for kind, spec := range specs {
		for _, a := range aliases(spec, "", nil) {
			t.Run(kind+"/"+a.path, func(t *testing.T) {
				obj := reflect.New(reflect.TypeFor[Cluster]())
				switch kind {
				case "Service":
					obj = reflect.New(reflect.TypeFor[Service]())
				case "TaskDefinition":
					obj = reflect.New(reflect.TypeFor[TaskDefinition]())
				case "Task":
					obj = reflect.New(reflect.TypeFor[Task]())
				}
				parent := reach(obj.Elem().FieldByName("Spec"), a.parent)
				aliasField := byJSON(parent, a.path[strings.LastIndexByte(a.path, '.')+1:])
				if a.of == "refused" {
					// Stored only when it asks for ECS's default (privileged: false); cleared.
					setNonZero(aliasField)
					obj.Interface().(interface{ NormalizeAliases() }).NormalizeAliases()
					if !aliasField.IsZero() {
						t.Errorf("the refused member is still set after NormalizeAliases: %v", aliasField.Interface())
					}
					return
				}
				member := byJSON(parent, a.of)
				if !member.IsValid() {
					t.Fatalf("alias of %q, which %s does not have", a.of, parent.Type())
				}
				want := sample(t, aliasField)
				obj.Interface().(interface{ NormalizeAliases() }).NormalizeAliases()
				if !aliasField.IsZero() {
					t.Errorf("the alias is still set after NormalizeAliases: %v", aliasField.Interface())
				}
				got := member.Interface()
				if from, ok := want.(*ReferenceFrom); ok {
					want = from.Name
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s after NormalizeAliases (-want +got):\n%s", a.of, diff)
				}
			})
		}
	}
}

// reach follows index from v (a struct), allocating pointers and one list element on the way.
func reach(v reflect.Value, index []int) reflect.Value {
	for _, i := range index {
		v = v.Field(i)
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Slice {
			if v.Kind() == reflect.Pointer {
				if v.IsNil() {
					v.Set(reflect.New(v.Type().Elem()))
				}
				v = v.Elem()
				continue
			}
			if v.Len() == 0 {
				v.Set(reflect.MakeSlice(v.Type(), 1, 1))
			}
			v = v.Index(0)
		}
	}
	return v
}

// byJSON is the field of struct v (inline structs included) whose JSON name is name.
func byJSON(v reflect.Value, name string) reflect.Value {
	var out reflect.Value
	members(v.Type(), nil, func(n string, _ reflect.StructField, index []int) {
		if n == name {
			out = v.FieldByIndex(index)
		}
	})
	return out
}

// setNonZero sets v to a value other than its zero value: a pointer to a zero value, a list of
// one zero element, or a string.
func setNonZero(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
	case reflect.String:
		v.SetString("sample")
	}
}

// sample sets the alias field v to a value and returns it.
func sample(t *testing.T, v reflect.Value) any {
	t.Helper()
	switch v.Interface().(type) {
	case string:
		v.SetString("sample")
	case *ReferenceFrom:
		v.Set(reflect.ValueOf(&ReferenceFrom{Name: "sample"}))
	case *AwsVpcConfiguration:
		v.Set(reflect.ValueOf(&AwsVpcConfiguration{Subnets: []string{"subnet-sample"}}))
	default:
		t.Fatalf("no sample value for an alias of type %s: teach sample about it", v.Type())
	}
	return v.Interface()
}

// otherSpellings are the ECS members that AWS's ECS controller for Kubernetes (at v1.x of
// aws-controllers-k8s/ecs-controller) spells differently, with its spellings: initialisms in
// capitals, and a reference to another of its controllers' objects beside the member it fills.
// The list was made by comparing that controller's CRDs with the ECS API model
// (/work/shared/ecs-model), member by member.
var otherSpellings = map[string][]string{
	"accessPointId":                   {"accessPointID"},
	"assignPublicIp":                  {"assignPublicIP"},
	"awsPcaAuthorityArn":              {"awsPCAAuthorityARN"},
	"awsvpcConfiguration":             {"awsVPCConfiguration"},
	"executionRoleArn":                {"executionRoleARN"},
	"fargateEphemeralStorageKmsKeyId": {"fargateEphemeralStorageKMSKeyID"},
	"fileSystemId":                    {"fileSystemID"},
	"kmsKeyId":                        {"kmsKeyID"},
	"loadBalancerName":                {"loadBalancerRef"},
	"registryArn":                     {"registryARN"},
	"role":                            {"roleRef"},
	"roleArn":                         {"roleARN"},
	"securityGroups":                  {"securityGroupRefs"},
	"snapshotId":                      {"snapshotID"},
	"subnets":                         {"subnetRefs"},
	"targetGroupArn":                  {"targetGroupARN", "targetGroupRef"},
	"taskRoleArn":                     {"taskRoleARN", "taskRoleRef"},
}

// TestOtherSpellingsInTheSchema: wherever a spec of the kinds that controller has (Cluster,
// Service, TaskDefinition) has a member it spells differently, the same struct has a field for
// its spelling (an alias, or refused), so a manifest written for it is never pruned; and the
// kinds' own renames: name for clusterName and serviceName, and roleRef, though nodeless does
// not carry ECS's role.
func TestOtherSpellingsInTheSchema(t *testing.T) {
	for _, kind := range []string{"Cluster", "Service", "TaskDefinition"} {
		walkStructs(specs[kind], kind+".spec", map[reflect.Type]bool{}, func(path string, st reflect.Type) {
			have := map[string]bool{}
			members(st, nil, func(name string, _ reflect.StructField, _ []int) { have[name] = true })
			for name := range have {
				for _, other := range otherSpellings[name] {
					if !have[other] {
						t.Errorf("%s.%s: no field for %q, the spelling of AWS's ECS controller for Kubernetes: add it to api/ecs/v1alpha1/aliases.go as an alias of %s (or refused, naming %s), so that it is never pruned",
							path, name, other, name, name)
					}
				}
			}
		})
	}
	for kind, want := range map[string][]string{"Cluster": {"name"}, "Service": {"name", "roleRef"}, "TaskDefinition": {"taskRoleRef"}} {
		var got []string
		for _, a := range aliases(specs[kind], "", nil) {
			got = append(got, a.path)
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("%s.spec.%s: not in the schema", kind, w)
			}
		}
	}
}

// walkStructs calls visit for struct type t and every struct type reachable through its members.
func walkStructs(t reflect.Type, path string, seen map[reflect.Type]bool, visit func(path string, t reflect.Type)) {
	if seen[t] {
		return
	}
	seen[t] = true
	visit(path, t)
	members(t, nil, func(name string, f reflect.StructField, _ []int) {
		if st, ok := structOf(f.Type); ok && f.Tag.Get("alias") == "" {
			walkStructs(st, path+"."+name, seen, visit)
		}
	})
}
