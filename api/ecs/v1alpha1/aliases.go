package v1alpha1

import (
	"maps"
	"reflect"
	"strings"
)

// The spellings of AWS's own ECS controller for Kubernetes (ACK, aws-controllers-k8s/ecs-controller,
// group ecs.services.k8s.aws), so that its users switch to nodeless by changing the apiVersion only.
// That controller spells initialisms in capitals (executionRoleARN, assignPublicIP,
// awsVPCConfiguration), names clusters and services `name`, and nests references as
// `clusterRef.from.name`; nodeless spells every member as the ECS API does.
//
// Each such spelling is in the schema, so the API server never prunes it (it drops members the
// schema does not name, and with field validation Ignore says nothing), and is either
//
//   - an alias: stored as written and read as the ECS member it stands for. Setting both to
//     different values is refused by a validation rule naming both. NormalizeAliases moves every
//     alias into its ECS member; the controllers' informer cache calls it on every object it
//     stores, and the reconcile loop before every step (internal/controller/ecs/managed.
//     NormalizeAliases), so no controller ever sees an alias; or
//   - refused by a validation rule naming the nodeless spelling to use instead: references to
//     objects of other ACK controllers (IAM roles, EC2 subnets and security groups, ELB target
//     groups), which nodeless cannot read, and references into another namespace.
//
// A field's `alias` struct tag names the member it is an alias of, or is "refused". The tests walk
// the tag. docs/adr/0012-other-controllers-spellings.md has the reasons, docs/migrating-from-ack.md
// the user's view.

// ClusterSpecAliases are the other controller's spellings of ClusterSpec's members.
//
// +kubebuilder:validation:XValidation:rule="!has(self.name) || !has(self.clusterName) || self.name == self.clusterName",fieldPath=.name,message="name is an alias of clusterName (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only clusterName"
type ClusterSpecAliases struct {
	// Name is an alias of clusterName, as AWS's ECS controller for Kubernetes spells it.
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_-]+$`
	// +optional
	Name string `json:"name,omitempty" alias:"clusterName"`
}

// ServiceSpecAliases are the other controller's spellings of ServiceSpec's members.
//
// +kubebuilder:validation:XValidation:rule="!has(self.name) || !has(self.serviceName) || self.name == self.serviceName",fieldPath=.name,message="name is an alias of serviceName (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only serviceName"
// +kubebuilder:validation:XValidation:rule="!has(self.roleRef)",fieldPath=.roleRef,reason=FieldValueForbidden,message="roleRef refers to a Role of AWS's IAM controller, which nodeless does not read: remove it (a service in awsvpc, as on Fargate, uses the ECS service-linked role)"
type ServiceSpecAliases struct {
	// Name is an alias of serviceName, as AWS's ECS controller for Kubernetes spells it.
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_-]+$`
	// +optional
	Name string `json:"name,omitempty" alias:"serviceName"`
	// RoleRef is refused: it names a Role object of AWS's IAM controller, for ECS's role member,
	// which only load balancers of services outside awsvpc use; on Fargate ECS uses its
	// service-linked role.
	// +optional
	RoleRef *ACKReference `json:"roleRef,omitempty" alias:"refused"`
}

// TaskDefinitionSpecAliases are the other controller's spellings of TaskDefinitionSpec's members.
//
// +kubebuilder:validation:XValidation:rule="!has(self.executionRoleARN) || !has(self.executionRoleArn) || self.executionRoleARN == self.executionRoleArn",fieldPath=.executionRoleARN,message="executionRoleARN is an alias of executionRoleArn (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only executionRoleArn"
// +kubebuilder:validation:XValidation:rule="!has(self.taskRoleARN) || !has(self.taskRoleArn) || self.taskRoleARN == self.taskRoleArn",fieldPath=.taskRoleARN,message="taskRoleARN is an alias of taskRoleArn (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only taskRoleArn"
// +kubebuilder:validation:XValidation:rule="!has(self.taskRoleRef)",fieldPath=.taskRoleRef,reason=FieldValueForbidden,message="taskRoleRef refers to a Role of AWS's IAM controller, which nodeless does not read: set taskRoleArn to the IAM role's ARN instead"
type TaskDefinitionSpecAliases struct {
	// ExecutionRoleARN is an alias of executionRoleArn, as AWS's ECS controller for Kubernetes
	// spells it.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	ExecutionRoleARN string `json:"executionRoleARN,omitempty" alias:"executionRoleArn"`
	// TaskRoleARN is an alias of taskRoleArn, as AWS's ECS controller for Kubernetes spells it.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	TaskRoleARN string `json:"taskRoleARN,omitempty" alias:"taskRoleArn"`
	// TaskRoleRef is refused: it names a Role object of AWS's IAM controller. Set taskRoleArn to
	// the role's ARN.
	// +optional
	TaskRoleRef *ACKReference `json:"taskRoleRef,omitempty" alias:"refused"`
}

// NetworkConfigurationAliases are the other controller's spellings of NetworkConfiguration's
// members. awsVPCConfiguration and awsvpcConfiguration may both be set when they say the same
// (subnets, securityGroups, and assignPublicIp in either spelling).
//
// +kubebuilder:validation:XValidation:rule="!has(self.awsVPCConfiguration) || !has(self.awsvpcConfiguration) || ((has(self.awsVPCConfiguration.subnets) == has(self.awsvpcConfiguration.subnets) && (!has(self.awsVPCConfiguration.subnets) || self.awsVPCConfiguration.subnets == self.awsvpcConfiguration.subnets)) && (has(self.awsVPCConfiguration.securityGroups) == has(self.awsvpcConfiguration.securityGroups) && (!has(self.awsVPCConfiguration.securityGroups) || self.awsVPCConfiguration.securityGroups == self.awsvpcConfiguration.securityGroups)) && (has(self.awsVPCConfiguration.assignPublicIp) ? self.awsVPCConfiguration.assignPublicIp : (has(self.awsVPCConfiguration.assignPublicIP) ? self.awsVPCConfiguration.assignPublicIP : 'unset')) == (has(self.awsvpcConfiguration.assignPublicIp) ? self.awsvpcConfiguration.assignPublicIp : (has(self.awsvpcConfiguration.assignPublicIP) ? self.awsvpcConfiguration.assignPublicIP : 'unset')))",fieldPath=.awsVPCConfiguration,message="awsVPCConfiguration is an alias of awsvpcConfiguration (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only awsvpcConfiguration"
type NetworkConfigurationAliases struct {
	// AwsVPCConfiguration is an alias of awsvpcConfiguration, as AWS's ECS controller for
	// Kubernetes spells it.
	// +optional
	AwsVPCConfiguration *AwsVpcConfiguration `json:"awsVPCConfiguration,omitempty" alias:"awsvpcConfiguration"`
}

// AwsVpcConfigurationAliases are the other controller's spellings of AwsVpcConfiguration's
// members.
//
// +kubebuilder:validation:XValidation:rule="!has(self.assignPublicIP) || !has(self.assignPublicIp) || self.assignPublicIP == self.assignPublicIp",fieldPath=.assignPublicIP,message="assignPublicIP is an alias of assignPublicIp (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only assignPublicIp"
// +kubebuilder:validation:XValidation:rule="!has(self.subnetRefs)",fieldPath=.subnetRefs,reason=FieldValueForbidden,message="subnetRefs refers to Subnets of AWS's EC2 controller, which nodeless does not read: list the subnet IDs in subnets instead"
// +kubebuilder:validation:XValidation:rule="!has(self.securityGroupRefs)",fieldPath=.securityGroupRefs,reason=FieldValueForbidden,message="securityGroupRefs refers to SecurityGroups of AWS's EC2 controller, which nodeless does not read: list the security group IDs in securityGroups instead"
type AwsVpcConfigurationAliases struct {
	// AssignPublicIP is an alias of assignPublicIp, as AWS's ECS controller for Kubernetes
	// spells it.
	// +kubebuilder:validation:Enum=ENABLED;DISABLED
	// +optional
	AssignPublicIP string `json:"assignPublicIP,omitempty" alias:"assignPublicIp"`
	// SubnetRefs is refused: it names Subnet objects of AWS's EC2 controller. List the subnet IDs
	// in subnets.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	SubnetRefs []ACKReference `json:"subnetRefs,omitempty" alias:"refused"`
	// SecurityGroupRefs is refused: it names SecurityGroup objects of AWS's EC2 controller. List
	// the security group IDs in securityGroups.
	// +kubebuilder:validation:MaxItems=5
	// +optional
	SecurityGroupRefs []ACKReference `json:"securityGroupRefs,omitempty" alias:"refused"`
}

// LoadBalancerAliases are the other controller's spellings of LoadBalancer's members.
//
// +kubebuilder:validation:XValidation:rule="!has(self.targetGroupARN) || !has(self.targetGroupArn) || self.targetGroupARN == self.targetGroupArn",fieldPath=.targetGroupARN,message="targetGroupARN is an alias of targetGroupArn (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only targetGroupArn"
// +kubebuilder:validation:XValidation:rule="!has(self.targetGroupRef)",fieldPath=.targetGroupRef,reason=FieldValueForbidden,message="targetGroupRef refers to a TargetGroup of AWS's ELBv2 controller, which nodeless does not read: set targetGroupArn to the target group's ARN instead"
// +kubebuilder:validation:XValidation:rule="!has(self.loadBalancerRef)",fieldPath=.loadBalancerRef,reason=FieldValueForbidden,message="loadBalancerRef refers to a LoadBalancer of AWS's ELBv2 controller, which nodeless does not read: set loadBalancerName instead"
type LoadBalancerAliases struct {
	// TargetGroupARN is an alias of targetGroupArn, as AWS's ECS controller for Kubernetes
	// spells it.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	TargetGroupARN string `json:"targetGroupARN,omitempty" alias:"targetGroupArn"`
	// TargetGroupRef is refused: it names a TargetGroup object of AWS's ELBv2 controller. Set
	// targetGroupArn to the target group's ARN.
	// +optional
	TargetGroupRef *ACKReference `json:"targetGroupRef,omitempty" alias:"refused"`
	// LoadBalancerRef is refused: it names a LoadBalancer object of AWS's ELBv2 controller. Set
	// loadBalancerName.
	// +optional
	LoadBalancerRef *ACKReference `json:"loadBalancerRef,omitempty" alias:"refused"`
}

// ReferenceAliases are the other controller's spelling of a reference: `clusterRef: {from: {name:
// web}}` for nodeless's `clusterRef: {name: web}`.
//
// +kubebuilder:validation:XValidation:rule="has(self.name) || has(self.from)",reason=FieldValueRequired,message="name is required: the name of the object in this namespace"
// +kubebuilder:validation:XValidation:rule="!has(self.name) || !has(self.from) || self.name == self.from.name",fieldPath=.name,message="from.name is an alias of name (the spelling of AWS's ECS controller for Kubernetes) and differs from it: set only name"
type ReferenceAliases struct {
	// From is an alias of the reference's name, as AWS's ECS controller for Kubernetes nests it
	// (from.name). from.namespace is refused: nodeless references objects in the referring
	// object's namespace only.
	// +optional
	From *ReferenceFrom `json:"from,omitempty" alias:"name"`
}

// ReferenceFrom is the `from` of AWS's ECS controller for Kubernetes's references.
//
// +kubebuilder:validation:XValidation:rule="!has(self.__namespace__)",fieldPath=.namespace,reason=FieldValueForbidden,message="namespace is not supported: nodeless references objects in the referring object's own namespace only; remove from.namespace, or set name to an object of this namespace"
type ReferenceFrom struct {
	// Name of the object in the same namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Namespace is refused (see ReferenceAliases).
	// +optional
	Namespace string `json:"namespace,omitempty" alias:"refused"`
}

// ACKReference is the shape of a reference of AWS's controllers for Kubernetes to an object of
// another of those controllers (an IAM Role, an EC2 Subnet, ...). nodeless reads none of those
// kinds, so every member of this type is refused by name; the type is in the schema only so
// that the API server does not prune such a member in silence.
type ACKReference struct {
	// +optional
	From *ACKReferenceFrom `json:"from,omitempty"`
}

// ACKReferenceFrom names the object of an ACKReference.
type ACKReferenceFrom struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// NormalizeAliases moves every alias of the Cluster's spec into the ECS member it stands for and
// clears it (see NormalizeSpecAliases).
func (c *Cluster) NormalizeAliases() { NormalizeSpecAliases(&c.Spec) }

// NormalizeAliases moves every alias of the Service's spec into its ECS member.
func (s *Service) NormalizeAliases() { NormalizeSpecAliases(&s.Spec) }

// NormalizeAliases moves every alias of the TaskDefinition's spec into its ECS member.
func (t *TaskDefinition) NormalizeAliases() { NormalizeSpecAliases(&t.Spec) }

// NormalizeAliases moves every alias of the Task's spec into its ECS member.
func (t *Task) NormalizeAliases() { NormalizeSpecAliases(&t.Spec) }

// NormalizeSpecAliases moves every alias in the struct spec points to, at any depth, into the
// member its `alias` tag names, in the same struct, and clears it: a value of the member's own type
// is moved as it is (name into serviceName, awsVPCConfiguration into awsvpcConfiguration), a
// reference's from into its name. Where the member is set already it keeps its value (the
// validation rules have made the two equal). Refused members are cleared: the API server stores
// only those that ask for ECS's default (refused_types.go), which nodeless gives anyway. An alias added to a type is normalised without more code;
// TestEveryAliasIsNormalized checks that each one is.
func NormalizeSpecAliases(spec any) {
	normalizeAliases(reflect.ValueOf(spec))
}

func normalizeAliases(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			normalizeAliases(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			normalizeAliases(v.Index(i))
		}
	case reflect.Struct:
		fields := structFields(v)
		for _, f := range fields {
			switch of := f.tag.Get("alias"); of {
			case "":
			case "refused":
				// The rules let through only what asks for ECS's default (privileged: false).
				f.value.SetZero()
			default:
				moveAlias(f.value, fields[of].value)
			}
		}
		for _, f := range fields {
			if f.tag.Get("alias") == "" {
				normalizeAliases(f.value)
			}
		}
	}
}

type structField struct {
	tag   reflect.StructTag
	value reflect.Value
}

// structFields returns the settable fields of struct v by JSON name, with the fields of inline
// structs as v's own.
func structFields(v reflect.Value) map[string]structField {
	out := map[string]structField{}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			maps.Copy(out, structFields(v.Field(i)))
			continue
		}
		out[name] = structField{tag: f.Tag, value: v.Field(i)}
	}
	return out
}

// moveAlias moves alias into member (unless member is set) and clears alias.
func moveAlias(alias, member reflect.Value) {
	if !member.IsValid() || alias.IsZero() {
		return
	}
	switch from := alias.Interface().(type) {
	case *ReferenceFrom:
		if member.IsZero() {
			member.SetString(from.Name)
		}
	default:
		if alias.Type() != member.Type() {
			return
		}
		if member.IsZero() {
			member.Set(alias)
		}
	}
	alias.SetZero()
}
