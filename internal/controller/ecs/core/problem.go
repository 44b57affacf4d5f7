package core

import (
	"errors"
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Problem is a reconciliation step that could not complete, with the reason and message the
// conditions carry, and when to try again.
type Problem struct {
	Reason  string
	Message string
	// RequeueAfter > 0 retries after that delay; 0 waits for a change of the object or of what
	// it references (a watch event); Err != nil with RequeueAfter 0 retries with backoff.
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

// Waiting is a Problem resolved by a watch event (a referenced object becoming ready); a slow
// retry is only a safety net.
func Waiting(reason, message string) *Problem {
	return &Problem{Reason: reason, Message: message, RequeueAfter: time.Minute}
}

// FromECS turns an ECS error from action ("creating service web") into a Problem: a bad request
// waits for a spec change, throttling and conflicts retry after a delay, anything else retries
// with backoff.
func FromECS(action string, err error) *Problem {
	msg := fmt.Sprintf("%s: %s", action, ecsapi.Message(err))
	switch ecsapi.KindOf(err) {
	case ecsapi.KindInvalidParameter:
		return &Problem{Reason: ReasonInvalidSpec, Message: msg + "; change the spec to fix it"}
	case ecsapi.KindThrottled:
		return &Problem{Reason: ReasonThrottled, Message: msg, RequeueAfter: 10 * time.Second}
	case ecsapi.KindConflict:
		return &Problem{Reason: ReasonConflict, Message: msg, RequeueAfter: 5 * time.Second}
	case ecsapi.KindNotFound:
		return &Problem{Reason: ReasonNotFound, Message: msg + "; create it or fix the reference", RequeueAfter: 30 * time.Second}
	}
	return &Problem{Reason: ReasonECSError, Message: msg, Err: fmt.Errorf("%s: %w", action, err)}
}

// AsProblem returns err as a Problem, wrapping plain errors.
func AsProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	return &Problem{Reason: ReasonECSError, Message: err.Error(), Err: err}
}

// Result is the controller-runtime outcome of a Problem (nil: done).
func Result(p *Problem) (ctrl.Result, error) {
	if p == nil {
		return ctrl.Result{}, nil
	}
	if p.RequeueAfter > 0 {
		return ctrl.Result{RequeueAfter: p.RequeueAfter}, nil
	}
	return ctrl.Result{}, p.Err
}
