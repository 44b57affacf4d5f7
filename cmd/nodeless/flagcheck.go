package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/scheduler"
	"github.com/nodeless-dev/nodeless/internal/serviceproxy"
)

// maxDeregistrationDelay is ELBv2's bound on deregistration_delay.timeout_seconds (0-3600 s), the
// same as the per-Service annotation's.
const maxDeregistrationDelay = time.Hour

// checkUpFlags refuses, before anything starts, the values of up's flags that the components
// would otherwise replace with their defaults without a word (they take a zero or negative
// duration, size or count as "not set"). The error names each such flag and what to give.
func checkUpFlags(fs *pflag.FlagSet) error {
	errs := []error{checkHealthyAfterRunning(fs), checkSpareNamespaces(fs)}
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
	return errors.Join(checkHealthyAfterRunning(fs), checkSpareNamespaces(fs))
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
