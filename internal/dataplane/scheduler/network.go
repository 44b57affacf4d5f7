package scheduler

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
)

// PrepareTask assigns task id its address in the VPC's subnet in tx, the transaction that stores
// the new task (RunTask's, or a service's pass that creates tasks), so that the task's start does
// not wait for a commit of its own before runtime.Start (bench/README.md, "Faster starts, third
// pass"). Nothing becomes durable that was not before: the address is committed with the task,
// and released with it as any other (cleanUpTask; releaseStaleAddresses at recovery). A full
// subnet is left to the start, which fails the task saying what to do (taskNetwork).
func (s *Scheduler) PrepareTask(tx *store.Tx, _, id string) error {
	if _, err := s.subnet.Allocate(tx, id); err != nil && !errors.Is(err, ipam.ErrExhausted) {
		return fmt.Errorf("assigning task %s an address in the VPC: %w", id, err)
	}
	return nil
}

// taskNetwork assigns task id its address in the VPC's subnet (package ipam: the same address on
// every call until cleanUpTask releases it) and returns the interface the runtime gives the task.
// A full subnet is a ResourceInitializationError that says what to do. An address PrepareTask
// assigned with the task is only read; otherwise it is committed with the other workers' writes of
// the moment (store.Batch).
func (s *Scheduler) taskNetwork(id string) (*vpc.Interface, error) {
	addr, err := s.heldAddress(id)
	if !addr.IsValid() && err == nil {
		err = s.store.Batch(func(tx *store.Tx) error {
			var err error
			addr, err = s.subnet.Allocate(tx, id)
			return err
		})
	}
	if errors.Is(err, ipam.ErrExhausted) {
		return nil, fmt.Errorf("ResourceInitializationError: no address for the task's network interface: %w; "+
			"stop tasks, or give the data plane a larger subnet (--vpc-cidr) once no task holds an address", err)
	}
	if err != nil {
		return nil, fmt.Errorf("assigning task %s an address in the VPC: %w", id, err)
	}
	return &vpc.Interface{Address: s.subnet.WithBits(addr), Gateway: s.subnet.Gateway(), MAC: ipam.MAC(addr)}, nil
}

// heldAddress is the address of the subnet that task id holds already, or the zero Addr.
func (s *Scheduler) heldAddress(id string) (netip.Addr, error) {
	var addr netip.Addr
	err := s.store.View(func(tx *store.Tx) error {
		a, held, err := ipam.Lookup(tx, id)
		if held && s.subnet.Prefix().Contains(a) {
			addr = a
		}
		return err
	})
	if err != nil {
		return netip.Addr{}, fmt.Errorf("reading the VPC address of task %s: %w", id, err)
	}
	return addr, nil
}

// attachENI reports the task's interface as ECS reports an attached ENI (nothing when network is
// nil, a runtime spec without one, or when the ENI is already being detached: a stopping task
// re-attached after a restart keeps DETACHING).
func (s *Scheduler) attachENI(t *model.Task, network *vpc.Interface) {
	if network == nil {
		return
	}
	if eni := t.ENI(); eni != nil && (eni.Status == model.AttachmentDetaching || eni.Status == model.AttachmentDeleted) {
		return
	}
	model.AttachENI(t, s.arns.Region, network.Address.Addr(), network.MAC.String())
}

// releaseStaleAddresses frees, at recovery, every address whose task is gone from the store or
// whose runtime was removed: cleanUpTask releases an address in the transaction that records the
// removal, so only an older data plane or a hand-edited store leaves such addresses.
func (s *Scheduler) releaseStaleAddresses() error {
	err := s.store.Update(func(tx *store.Tx) error {
		tasks, err := tx.Tasks("")
		if err != nil {
			return err
		}
		live := map[string]bool{}
		for _, r := range tasks {
			if !r.Scheduler.RuntimeRemoved {
				live[taskID(r.Task.TaskArn)] = true
			}
		}
		held, err := tx.Addresses()
		if err != nil {
			return err
		}
		for _, a := range held {
			if !live[a.Owner] {
				s.log.Info("releasing the VPC address of a task that is gone", "task", a.Owner, "address", a.Address)
				if err := tx.DeleteAddress(a.Address); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("releasing stale VPC addresses: %w", err)
	}
	return nil
}
