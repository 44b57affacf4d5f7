package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nodeless-dev/nodeless/internal/component"
)

// startTimeout bounds how long one component may take to become ready.
const startTimeout = 2 * time.Minute

// errInterrupted is wrapped by start and step when ctx ended before the component was ready: the
// user stopped `nodeless up` while it started, which is no failure (Up stops what runs and
// returns nil, as for a stop once ready).
var errInterrupted = errors.New("interrupted")

// supervisor starts components one after the other and stops them in reverse order.
//
// It is not a plain errgroup on purpose: an errgroup cancels every component at once, but the
// order of shutdown matters here (controllers before the API server before etcd, or each one
// spends its grace period retrying against the next one that is already gone). Each component
// therefore gets its own context, cancelled in reverse start order, and the first failure of any
// component ends the whole run as an errgroup would.
type supervisor struct {
	progress io.Writer
	running  []*running
	failed   chan error
	// reported is the failure already returned by start or wait; stopAll does not repeat it.
	reported error
}

type running struct {
	c      component.Component
	cancel context.CancelFunc
	done   chan error
}

func newSupervisor(progress io.Writer) *supervisor {
	return &supervisor{progress: progress, failed: make(chan error, 1)}
}

// start runs c and waits until it is ready, fails, or ctx ends.
func (s *supervisor) start(ctx context.Context, c component.Component) error {
	begin := time.Now()
	// Detached from ctx's cancellation (but not its values): stopAll cancels each one in order.
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &running{c: c, cancel: cancel, done: make(chan error, 1)}
	s.running = append(s.running, r)
	go func() {
		err := c.Run(cctx)
		if err == nil && cctx.Err() == nil {
			err = errors.New("stopped unexpectedly")
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", c.Name(), err)
			select {
			case s.failed <- err:
			default:
			}
		}
		r.done <- err
	}()

	select {
	case <-c.Ready():
		fmt.Fprintf(s.progress, "  %-26s ready in %s\n", c.Name(), since(begin))
		return nil
	case err := <-s.failed:
		s.reported = err
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w while starting %s", errInterrupted, c.Name())
	case <-time.After(startTimeout):
		return fmt.Errorf("%s not ready after %s", c.Name(), startTimeout)
	}
}

// step runs one start-up step that is not a long-running component, with a progress line.
func (s *supervisor) step(ctx context.Context, name string, fn func() error) error {
	begin := time.Now()
	if err := fn(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w while starting %s", errInterrupted, name)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(s.progress, "  %-26s ready in %s\n", name, since(begin))
	return nil
}

// wait blocks until ctx ends (nil) or a component fails (its error).
func (s *supervisor) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-s.failed:
		s.reported = err
		return err
	}
}

// stopAll cancels the components in reverse start order, waiting for each to return.
func (s *supervisor) stopAll() error {
	if len(s.running) == 0 {
		return nil
	}
	begin := time.Now()
	fmt.Fprintln(s.progress, "stopping")
	var errs []error
	for i := len(s.running) - 1; i >= 0; i-- {
		r := s.running[i]
		t := time.Now()
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil && err != s.reported && !isStopError(err) { //nolint:errorlint // identity, not kind
				errs = append(errs, err)
			}
			fmt.Fprintf(s.progress, "  %-26s stopped in %s\n", r.c.Name(), since(t))
		case <-time.After(stopTimeout):
			errs = append(errs, fmt.Errorf("%s did not stop within %s", r.c.Name(), stopTimeout))
			fmt.Fprintf(s.progress, "  %-26s did not stop within %s\n", r.c.Name(), stopTimeout)
		}
	}
	fmt.Fprintf(s.progress, "stopped in %s\n", since(begin))
	return errors.Join(errs...)
}

// isStopError reports errors that a component returns only because it was told to stop.
func isStopError(err error) bool {
	return errors.Is(err, context.Canceled)
}
