package importer

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// State records the instances a peer confirmed, so that a send run again
// sends only the rest. Its file has one line per instance: a key (the
// peer, and the reconciliation's Change.Key, so that an instance stored
// under one identity is sent again under another), a tab, the SOP
// Instance UID. It holds UIDs only, no patient data.
type State struct {
	peer string
	done map[string]bool // key + "\t" + UID
	f    *os.File
}

// DefaultStatePath is <user cache dir>/securemedia/sent.tsv.
func DefaultStatePath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the resume state: %w", err)
	}
	return filepath.Join(dir, "securemedia", "sent.tsv"), nil
}

// OpenState opens (or creates) the state file at path for sends to peer
// (AET@HOST:PORT). With forget, what it holds is not read: everything is
// sent again.
func OpenState(path, peer string, forget bool) (*State, error) {
	s := &State{peer: peer, done: map[string]bool{}}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	s.f = f
	if !forget {
		if err := s.load(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("state file %s: %w", path, err)
		}
	}
	return s, nil
}

func (s *State) load(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, _, ok := strings.Cut(sc.Text(), "\t")
		if ok && (k == s.peer || strings.HasPrefix(k, s.peer+"#")) {
			s.done[sc.Text()] = true
		}
	}
	return sc.Err()
}

// key is the line of an instance stored under reconciliation c.
func (s *State) key(c Change, uid string) string {
	k := s.peer
	if h := c.Key(); h != "" {
		k += "#" + h
	}
	return k + "\t" + uid
}

// Stored reports whether the peer already confirmed the instance, stored
// under reconciliation c.
func (s *State) Stored(c Change, uid string) bool { return s.done[s.key(c, uid)] }

// Record appends one confirmed instance; a line is written in one call so
// that an interrupted run leaves whole lines only.
func (s *State) Record(c Change, uid string) {
	_, _ = s.f.WriteString(s.key(c, uid) + "\n")
}

// Close closes the file.
func (s *State) Close() error { return s.f.Close() }
