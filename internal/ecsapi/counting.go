package ecsapi

import (
	"context"
	"maps"
	"sync"
)

// Counting is an API that counts the calls it passes on, by operation, for tests and benchmarks.
type Counting struct {
	API
	c *counter
}

type counter struct {
	mu     sync.Mutex
	calls  map[string]int
	errors map[string]int
}

func (c *counter) before(context.Context, string) error { return nil }

func (c *counter) after(op string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op]++
	if err != nil {
		c.errors[op]++
	}
}

// NewCounting wraps api with a call counter.
func NewCounting(api API) *Counting {
	c := &counter{calls: map[string]int{}, errors: map[string]int{}}
	return &Counting{API: &decorated{next: api, h: c}, c: c}
}

// Count returns how many calls of op were made (failed ones included).
func (c *Counting) Count(op string) int {
	c.c.mu.Lock()
	defer c.c.mu.Unlock()
	return c.c.calls[op]
}

// Calls returns a copy of the call counts by operation.
func (c *Counting) Calls() map[string]int {
	c.c.mu.Lock()
	defer c.c.mu.Unlock()
	return maps.Clone(c.c.calls)
}

// Writes returns the number of calls that change ECS state.
func (c *Counting) Writes() int { return c.sum(true) }

// Reads returns the number of calls that only read ECS state.
func (c *Counting) Reads() int { return c.sum(false) }

func (c *Counting) sum(writes bool) int {
	c.c.mu.Lock()
	defer c.c.mu.Unlock()
	n := 0
	for op, k := range c.c.calls {
		if IsWrite(op) == writes {
			n += k
		}
	}
	return n
}

// Reset sets every count back to zero.
func (c *Counting) Reset() {
	c.c.mu.Lock()
	defer c.c.mu.Unlock()
	clear(c.c.calls)
	clear(c.c.errors)
}
