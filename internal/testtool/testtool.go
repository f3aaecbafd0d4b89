// Package testtool holds the rule every interop test follows: a test that
// needs an external program (openssl, dcmtk, xorriso, ...) or the shared
// corpus skips with a message naming what is missing, except under CI=true,
// where it fails, because in CI interop tests must run, never skip.
package testtool

import (
	"os"
	"os/exec"
	"testing"
	"time"
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

// BrowserProfile is a fresh browser profile folder, removed once the
// browser's helpers have let go of it: they may still write to it (cache
// index, network state) for a moment after the browser is gone,
// re-creating it after a removal, so it must stay gone for a second
// (within 10 s). Register it before the browser's own cleanup, which then
// runs first.
func BrowserProfile(t testing.TB) string {
	t.Helper()
	profile, err := os.MkdirTemp("", "sm-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		quiet := 0
		for range 100 {
			if _, err := os.Lstat(profile); os.IsNotExist(err) {
				if quiet++; quiet == 10 {
					return
				}
			} else {
				quiet = 0
				os.RemoveAll(profile)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove %s", profile)
	})
	return profile
}
