package main

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"time"

	"github.com/spf13/pflag"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
	"github.com/nodeless-dev/nodeless/internal/dataplane/scheduler"
	"github.com/nodeless-dev/nodeless/internal/serviceproxy"
)

// maxDeregistrationDelay is ELBv2's bound on deregistration_delay.timeout_seconds (0-3600 s), the
// same as the per-Service annotation's.
const maxDeregistrationDelay = time.Hour

// checkUpFlags refuses, before anything starts, the values of up's flags that the components
// would otherwise replace with their defaults without a word (they take a zero or negative
// duration, size or count as "not set"), and those they would refuse only once the API server
// runs (the local VPC's ranges, the virtual node's capacity). The error names each such flag,
// its value and what to give.
func checkUpFlags(fs *pflag.FlagSet) error {
	errs := []error{checkRegion(fs), checkHealthyAfterRunning(fs), checkSpareNamespaces(fs), checkNetworkFlags(fs, true), checkNodeFlags(fs)}
	if d, err := fs.GetDuration("deregistration-delay"); err == nil && (d <= 0 || d > maxDeregistrationDelay) {
		errs = append(errs, fmt.Errorf("--deregistration-delay %s: give a duration from 1s to 1h (default %s); for no delay on one Service, "+
			"annotate it %s: deregistration_delay.timeout_seconds=0", d, serviceproxy.DefaultDeregistrationDelay, serviceproxy.TargetGroupAttributesAnnotation))
	}
	if n, err := fs.GetInt("log-max-size"); err == nil && n <= 0 {
		errs = append(errs, fmt.Errorf("--log-max-size %d: give the size in MiB at which logs/nodeless.log is rotated, at least 1 (default %d)",
			n, controlplane.DefaultLogMaxSizeMiB))
	}
	if n, err := fs.GetInt("log-max-files"); err == nil && n <= 0 {
		errs = append(errs, fmt.Errorf("--log-max-files %d: give how many rotated logs to keep, at least 1 (default %d)",
			n, controlplane.DefaultLogMaxFiles))
	}
	return errors.Join(errs...)
}

// checkDataplaneFlags is checkUpFlags for the flags of `nodeless dataplane`.
func checkDataplaneFlags(fs *pflag.FlagSet) error {
	return errors.Join(checkRegion(fs), checkHealthyAfterRunning(fs), checkSpareNamespaces(fs), checkNetworkFlags(fs, false))
}

// regionName is the shape of an AWS Region's name: lower-case letters, digits and hyphens, as
// partition or area, then direction, then number, each part after the first joined by a hyphen:
// us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1, eusc-de-east-1. It is what
// the regionRegex of every partition in the AWS SDK's endpoint metadata has in common
// (partitions.json of github.com/aws/aws-sdk-go-v2/internal/endpoints/awsrulesfn, such as aws's
// `^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$` and aws-us-gov's `^us\-gov\-\w+\-\d+$`),
// in lower case as Region names are written. No list of Regions is kept: a new one is accepted
// the day it opens.
var regionName = regexp.MustCompile(`^[a-z]+(-[a-z0-9]+)+-[0-9]+$`)

// checkControllerFlags checks the flags of `nodeless controller` that its later parsers would
// refuse only once it has connected to the cluster: an explicit --region (empty takes the AWS
// configuration chain's) and the virtual node's capacity flags.
func checkControllerFlags(fs *pflag.FlagSet) error {
	var errs []error
	if r, _ := fs.GetString("region"); r != "" {
		errs = append(errs, checkRegion(fs))
	}
	return errors.Join(append(errs, checkNodeFlags(fs))...)
}

// checkRegion refuses a --region that is not shaped like an AWS Region's name (regionName): it
// goes into every ARN the data plane makes, and ECS clients sign their requests for it.
func checkRegion(fs *pflag.FlagSet) error {
	r, err := fs.GetString("region")
	if err != nil || regionName.MatchString(r) {
		return nil
	}
	return fmt.Errorf("--region %q: give an AWS Region name, such as %s, eu-central-2 or us-gov-west-1 "+
		"(lower-case letters and digits in hyphen-joined parts, ending in a number)", r, dataplane.DefaultRegion)
}

// checkNetworkFlags checks --vpc-cidr and --service-connect-cidr with the parsers dataplane.New
// applies to them (ipam.ParseSubnet; cloudmap.ParseAliasRange, against the VPC's subnet), and
// under up (withServiceRange) both against the Service range too (outsideServiceRange), so that a
// bad range is refused before the state dir, the API server or containerd are touched.
func checkNetworkFlags(fs *pflag.FlagSet, withServiceRange bool) error {
	var errs []error
	vpcCIDR, _ := fs.GetString("vpc-cidr")
	subnet, err := ipam.ParseSubnet(vpcCIDR)
	if err != nil {
		errs = append(errs, fmt.Errorf("--vpc-cidr: %w", err))
	} else if withServiceRange {
		errs = append(errs, outsideServiceRange("--vpc-cidr", subnet.Prefix(), ipam.DefaultCIDR))
	}
	aliases, _ := fs.GetString("service-connect-cidr")
	// A bad --vpc-cidr leaves subnet zero: the alias range is then checked on its own.
	if p, err := cloudmap.ParseAliasRange(aliases, subnet.Prefix()); err != nil {
		errs = append(errs, fmt.Errorf("--service-connect-cidr: %w", err))
	} else if withServiceRange {
		errs = append(errs, outsideServiceRange("--service-connect-cidr", p, cloudmap.DefaultAliasCIDR))
	}
	return errors.Join(errs...)
}

// checkNodeFlags checks the virtual node's capacity flags (--node-pods, --node-cpu, --node-memory,
// --node-ephemeral-storage) with the parser the node uses (nodeFlags.capacity).
func checkNodeFlags(fs *pflag.FlagSet) error {
	var f nodeFlags
	f.pods, _ = fs.GetString("node-pods")
	f.cpu, _ = fs.GetString("node-cpu")
	f.memory, _ = fs.GetString("node-memory")
	f.ephemeralStorage, _ = fs.GetString("node-ephemeral-storage")
	_, err := f.capacity()
	return err
}

func checkSpareNamespaces(fs *pflag.FlagSet) error {
	if n, err := fs.GetInt("spare-namespaces"); err == nil && n < 0 {
		return fmt.Errorf("--spare-namespaces %d: give how many ready namespaces to keep, 0 for none (default %d)",
			n, dataplane.DefaultSpareNamespaces)
	}
	return nil
}

func checkHealthyAfterRunning(fs *pflag.FlagSet) error {
	if d, err := fs.GetDuration("healthy-after-running"); err == nil && d <= 0 {
		return fmt.Errorf("--healthy-after-running %s: give a positive duration (ECS waits %s; 1s makes local rollouts fast)",
			d, scheduler.DefaultHealthyAfterRunning)
	}
	return nil
}

// outsideServiceRange refuses p, the range of flag, when it overlaps the Service range of `up`
// (controlplane.ServiceCIDR, the ClusterIPs'): the ClusterIPs, the Service Connect aliases and
// the tasks' addresses all live in the VPC's namespace, and an address of two of them would be
// two listeners' or a listener's and a task's at once. example is a range to give instead.
func outsideServiceRange(flag string, p netip.Prefix, example string) error {
	if svc := netip.MustParsePrefix(controlplane.ServiceCIDR); p.Overlaps(svc) {
		return fmt.Errorf("%s: %s overlaps the Service range %s (ClusterIPs); use a range outside it such as %s", flag, p, svc, example)
	}
	return nil
}
