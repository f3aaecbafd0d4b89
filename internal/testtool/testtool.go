// Package testtool holds the rule every interop test follows: a test that
// needs an external program (openssl, dcmtk, xorriso, ...) or the shared
// corpus skips with a message naming what is missing, except under CI=true,
// where it fails, because in CI interop tests must run, never skip.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Require returns the path of program name, or skips (fails under CI).
func Require(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed (see .ci/run)")
	}
	return p
}

// RequirePath skips (fails under CI) when path does not exist, e.g. the
// shared corpus beside the repository.
func RequirePath(t testing.TB, path, what string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, what+" not available: "+err.Error())
	}
}

// Missing skips the test, or fails it under CI=true.
func Missing(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s (required under CI=true)", why)
	}
	t.Skip(why)
}
