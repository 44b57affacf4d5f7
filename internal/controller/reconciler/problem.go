package reconciler

import (
	"errors"
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
)

// ReasonError is the reason of a Problem made from a plain error (AsProblem).
const ReasonError = "ReconcileError"

// Problem is a reconciliation step that could not complete: the reason and message the
// conditions carry (a CamelCase reason; a message that says what to do), and when to try again.
type Problem struct {
	Reason  string
	Message string
	// RequeueAfter > 0 retries after that delay. With RequeueAfter 0, Err != nil retries with the
	// controller's exponential backoff (and logs Err); Err == nil waits for an event: a change of
	// the object or of what it references.
	RequeueAfter time.Duration
	Err          error
}

func (p *Problem) Error() string {
	if p.Err != nil {
		return fmt.Sprintf("%s: %s: %v", p.Reason, p.Message, p.Err)
	}
	return p.Reason + ": " + p.Message
}

func (p *Problem) Unwrap() error { return p.Err }

// Waiting is a Problem resolved by a watch event (a referenced object becoming ready, a spec or
// annotation change); the retry after a minute is only a safety net.
func Waiting(reason, message string) *Problem {
	return &Problem{Reason: reason, Message: message, RequeueAfter: time.Minute}
}

// AsProblem returns err as a Problem: err itself when it is one, otherwise a Problem with reason
// ReconcileError retried with backoff. nil stays nil.
func AsProblem(err error) *Problem {
	if err == nil {
		return nil
	}
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	return &Problem{Reason: ReasonError, Message: err.Error(), Err: err}
}

// Result is the controller-runtime outcome of p; nil means done.
func (p *Problem) Result() (ctrl.Result, error) {
	if p == nil {
		return ctrl.Result{}, nil
	}
	if p.RequeueAfter > 0 {
		return ctrl.Result{RequeueAfter: p.RequeueAfter}, nil
	}
	return ctrl.Result{}, p.Err
}
