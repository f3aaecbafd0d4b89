package publish

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Test hooks: the crash tests kill the service at chosen moments, which
// they name in $SECUREMEDIA_PUBLISH_TEST_HOOK; at that moment the service
// writes SPOOL/hook-reached and waits to be killed. Unset (always, outside
// the tests), they do nothing.
//
//	received:N  after the Nth instance is in its job, before success is answered
//	writing     when the first bytes of an image are written
//	written     when an image is complete under its name, before it is verified
const testHookEnv = "SECUREMEDIA_PUBLISH_TEST_HOOK"

func (q *Queue) hookReached(ctx context.Context) {
	_ = os.WriteFile(filepath.Join(q.o.Spool, "hook-reached"), nil, 0o600)
	<-ctx.Done()
}

func (q *Queue) testHookReceived(ctx context.Context, _ int) {
	n, ok := strings.CutPrefix(os.Getenv(testHookEnv), "received:")
	if !ok {
		return
	}
	q.mu.Lock()
	q.received++
	reached := strconv.Itoa(q.received) == n
	q.mu.Unlock()
	if reached {
		q.hookReached(ctx)
	}
}

func (q *Queue) testHookWriting(ctx context.Context, _ *Job) func(int64) {
	if os.Getenv(testHookEnv) != "writing" {
		return nil
	}
	first := true
	return func(int64) {
		if first {
			first = false
			q.hookReached(ctx)
		}
	}
}

func (q *Queue) testHookWritten(ctx context.Context, _ *Job) {
	if os.Getenv(testHookEnv) == "written" {
		q.hookReached(ctx)
	}
}
