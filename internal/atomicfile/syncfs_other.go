//go:build !linux

package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
)

// SyncTree flushes every file under dir to stable storage (one fsync per
// file where the system has no syncfs).
func SyncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

// treeFlusher is nil here: flushing a tree is an fsync per file, too dear
// to repeat in the background.
func treeFlusher(string) *flusher { return nil }

// startWriteback is a no-op where the system has no sync_file_range: Commit's
// fsync does all the flushing.
func startWriteback(*os.File, int64, int64) {}
