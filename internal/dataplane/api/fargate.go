package api

import (
	"encoding/json"
	"fmt"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/fargate"
)

// opRegisterTaskDefinition is the operation whose body precheck reads.
const opRegisterTaskDefinition = "RegisterTaskDefinition"

// precheck applies Fargate's rules (package fargate) to a request body before the server decodes
// it, so that a member Fargate refuses is refused with ECS's error type and message even where
// the data plane does not serve the member (links, dnsServers, dockerVolumeConfiguration, ...).
// Every definition is checked as this data plane runs it, a Fargate task in awsvpc mode
// (fargate.TaskDefinitionRules.Local), whether or not it requires FARGATE. A body that does not decode is left to the decoder, which names what is wrong with it.
func (s *Server) precheck(op string, body []byte) error {
	if op != opRegisterTaskDefinition {
		return nil
	}
	var td fargate.TaskDefinition
	if json.Unmarshal(body, &td) != nil {
		return nil
	}
	return fromFargate(fargate.CheckTaskDefinition(&td, fargate.TaskDefinitionRules{RequireExecutionRole: s.strict, Local: true}))
}

// In strict mode (Options.Strict) an execution role is required where ECS requires one (awslogs
// and private ECR images on Fargate, secrets); otherwise not, since the data plane pulls images,
// keeps logs and resolves secrets itself.

// checkLaunch applies Fargate's rules of RunTask, CreateService (update false) and UpdateService
// (update true) to a launch of td. In strict mode (Options.Strict) they are ECS's: the task
// definition must require FARGATE compatibility, an awsvpc launch needs networkConfiguration, and
// subnets and security groups must be EC2 identifiers. Otherwise a revision the data plane found
// Fargate-compatible runs (its compatibilities), a launch without networkConfiguration gets the
// local VPC's one subnet (model.DefaultSubnetID), and subnets and security groups may be any name.
func (s *Server) checkLaunch(td *model.TaskDefinition, launchType, platformVersion *string, nc *model.NetworkConfiguration, update bool) error {
	var ftd fargate.TaskDefinition
	if err := recode(td, &ftd); err != nil {
		return err
	}
	if !s.strict {
		ftd.RequiresCompatibilities = td.Compatibilities
	}
	l := fargate.Launch{LaunchType: launchType, PlatformVersion: platformVersion}
	if l.LaunchType == nil {
		lt := model.LaunchTypeFargate // the only launch type here, the default of every launch
		l.LaunchType = &lt
	}
	if nc != nil {
		l.NetworkConfiguration = &fargate.NetworkConfiguration{}
		if err := recode(nc, l.NetworkConfiguration); err != nil {
			return err
		}
	}
	rules := fargate.LaunchRules{RequireNetworkConfiguration: s.strict, CheckIdentifiers: s.strict, Update: update}
	return fromFargate(fargate.CheckLaunch(&l, &ftd, rules))
}

// fromFargate turns a refusal of package fargate into the API error ECS answers.
func fromFargate(err error) error {
	if err == nil {
		return nil
	}
	if fe := fargate.As(err); fe != nil {
		return newError(string(fe.Type), "%s", fe.Error())
	}
	return err
}

// recode copies in into out through ECS's JSON spelling, which both spell the members in.
func recode(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encoding %T: %w", in, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decoding %T into %T: %w", in, out, err)
	}
	return nil
}
