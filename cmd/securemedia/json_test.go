package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// snakeCase is the one key style of every --json output.
var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// decodeStrict decodes one JSON value into a generic tree and checks that
// every key in it is snake_case.
func decodeStrict(t *testing.T, what string, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: not JSON (%v):\n%s", what, err, b)
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if !snakeCase.MatchString(k) {
					t.Errorf("%s: key %q is not snake_case", what, k)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return v
}

// The --json outputs decode, with snake_case keys and the figures the
// text output gives.
func TestJSONOutputs(t *testing.T) {
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	usb := filepath.Join(dir, "usb")
	cli(t, "", "burn", sampleStudy, "-o", usb, "--media", "usb", "--no-viewer", "--password-file", pw).expect(t, 0, "")

	r := cli(t, "", "open", usb, "--password-file", pw, "--json")
	r.expect(t, 0, "")
	decodeStrict(t, "open", []byte(r.stdout))
	var m mediumJSON
	json.Unmarshal([]byte(r.stdout), &m)
	if m.Instances != 31 || len(m.Patients) != 2 || m.Encrypted != "yes" || m.Fingerprint == "" || m.Patients[0].Name != "Doe^Archibald" ||
		m.Patients[0].Studies[0].Number != 1 || m.Patients[0].Studies[0].Series[0].Instances == 0 {
		t.Errorf("open --json: %+v", m)
	}

	r = cli(t, "", "ls", sampleStudy, "--json")
	decodeStrict(t, "ls", []byte(r.stdout))
	json.Unmarshal([]byte(r.stdout), &m)
	if m.DICOMDIR || m.Instances != 31 || m.Encrypted != "no" {
		t.Errorf("ls --json of a folder without DICOMDIR: %+v", m)
	}

	r = cli(t, "", "verify", usb, "--password-file", pw, "--json")
	r.expect(t, 0, "")
	decodeStrict(t, "verify", []byte(r.stdout))
	var v verifyJSON
	json.Unmarshal([]byte(r.stdout), &v)
	if !v.Intact || v.Checked != 33 || len(v.Problems) != 0 {
		t.Errorf("verify --json: %+v", v)
	}

	r = cli(t, "", "inspect", "--json", filepath.Join(usb, "DICOMDIR"), filepath.Join(usb, "README.TXT"))
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		lines++
		decodeStrict(t, "inspect", sc.Bytes())
	}
	var first inspectJSON
	json.Unmarshal([]byte(strings.SplitN(r.stdout, "\n", 2)[0]), &first)
	if lines != 2 || first.Recipients[0].Kind != "password" || first.Recipients[0].Iterations == 0 || r.code != exitNotCMS {
		t.Errorf("inspect --json (exit %d): %d lines, first %+v\n%s", r.code, lines, first, r.stdout)
	}

	pacs := filepath.Join(dir, "pacs")
	port, _ := startReceive(t, "PACS", pacs)
	r = cli(t, "", "send", usb, "--password-file", pw, "--pacs", fmt.Sprintf("PACS@127.0.0.1:%d", port), "--state", filepath.Join(dir, "state"), "--json")
	r.expect(t, 0, "31 sent")
	decodeStrict(t, "send", []byte(r.stdout))
	var s sendJSON
	json.Unmarshal([]byte(r.stdout), &s)
	if s.Counts["sent"] != 31 || len(s.Results) != 31 || s.Results[0].SOPInstanceUID == "" || s.Results[0].Failed {
		t.Errorf("send --json: %+v", s)
	}
	if bytes.Count([]byte(r.stdout), []byte("\n")) != 1 {
		t.Errorf("send --json: want one line of JSON:\n%s", r.stdout)
	}
}

// --quiet leaves stderr empty on success (no notes, no summaries), the
// results still on stdout; a generated password is still shown.
func TestQuiet(t *testing.T) {
	dir := t.TempDir()
	usb := filepath.Join(dir, "usb")
	r := cli(t, "", "burn", sampleStudy, "-o", usb, "--media", "usb", "--no-viewer", "--password-file", passwordFile(t, dir), "--quiet")
	if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "31 instances") {
		t.Errorf("burn --quiet: exit %d, stderr %q, stdout %q", r.code, r.stderr, r.stdout)
	}
	r = cli(t, "", "-q", "verify", usb, "--password-file", passwordFile(t, dir))
	if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "present and intact") {
		t.Errorf("-q verify: exit %d, stderr %q, stdout %q", r.code, r.stderr, r.stdout)
	}
	r = cli(t, "", "burn", sampleStudy, "-o", filepath.Join(dir, "usb2"), "--media", "usb", "--no-viewer", "--generate-password", "-q")
	if r.code != 0 || !strings.Contains(r.stderr, "shown once") {
		t.Errorf("burn --generate-password -q must still show the password: exit %d, stderr %q", r.code, r.stderr)
	}
}

// receive --json logs one JSON object per line on stdout: listening, a
// line per instance, stopped with the counts.
func TestReceiveJSONLines(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"receive", "--aet", "PACS", "--port", fmt.Sprint(port), "-o", filepath.Join(dir, "in"), "--json"},
			strings.NewReader(""), &out, io.Discard)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), `"event":"listening"`) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("receive --json did not say it listens: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cli(t, "", "send", sampleStudy, "--pacs", fmt.Sprintf("PACS@127.0.0.1:%d", port), "--state", filepath.Join(dir, "state")).expect(t, 0, "31 sent")
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("receive did not stop")
	}
	events := map[string]int{}
	var last receiveEvent
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		decodeStrict(t, "receive", sc.Bytes())
		var ev receiveEvent
		json.Unmarshal(sc.Bytes(), &ev)
		if ev.Time == "" || ev.Event == "" {
			t.Errorf("event without time or kind: %s", sc.Bytes())
		}
		events[ev.Event]++
		last = ev
	}
	if events["listening"] != 1 || events["stored"] != 31 || last.Event != "stopped" || last.Counts == nil || last.Counts.Stored != 31 {
		t.Errorf("receive --json events %v, last %+v", events, last)
	}
}
