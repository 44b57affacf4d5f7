package model

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Time is a timestamp encoded as the awsJson1_1 protocol encodes them: epoch seconds, fractional
// to the millisecond.
type Time struct{ time.Time }

// Now returns the current time as a Time pointer, truncated to the millisecond the wire keeps.
func Now() *Time { return &Time{time.Now().UTC().Truncate(time.Millisecond)} }

// MarshalJSON encodes epoch seconds.
func (t Time) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

// UnmarshalJSON accepts epoch seconds (integer or fractional).
func (t *Time) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("timestamp %s: want epoch seconds", b)
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC()
	return nil
}
