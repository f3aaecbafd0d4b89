package testtool

import (
	"testing"
	"time"
)

// Poll calls f every interval until it says ok, at most tries times, and
// returns its value; it fails the test, naming what, if f never did.
func Poll[T any](t testing.TB, what string, interval time.Duration, tries int, f func() (T, bool)) T {
	t.Helper()
	for range tries {
		if v, ok := f(); ok {
			return v
		}
		time.Sleep(interval)
	}
	t.Fatalf("no %s after %v", what, time.Duration(tries)*interval)
	panic("unreachable")
}
