package importer

import (
	"path/filepath"
	"testing"
)

// What the peer confirmed is remembered per reconciliation: an instance
// stored under one patient identity is not taken as stored under another,
// nor for another peer.
func TestStateIsPerPeerAndIdentity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sent.tsv")
	a, b := Change{PatientID: "L-1"}, Change{PatientID: "L-2"}
	s, err := OpenState(path, "PACS@h:104", false)
	if err != nil {
		t.Fatal(err)
	}
	s.Record(a, "2.25.1")
	s.Record(Change{}, "2.25.2")
	s.Close()
	s, err = OpenState(path, "PACS@h:104", false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Stored(a, "2.25.1") || s.Stored(b, "2.25.1") || s.Stored(Change{}, "2.25.1") || !s.Stored(Change{}, "2.25.2") || s.Stored(a, "2.25.2") {
		t.Error("the state does not tell identities apart")
	}
	other, err := OpenState(path, "OTHER@h:104", false)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if other.Stored(a, "2.25.1") || other.Stored(Change{}, "2.25.2") {
		t.Error("another peer's confirmations were taken")
	}
	forgot, err := OpenState(path, "PACS@h:104", true)
	if err != nil {
		t.Fatal(err)
	}
	defer forgot.Close()
	if forgot.Stored(a, "2.25.1") {
		t.Error("forget kept the state")
	}
}
