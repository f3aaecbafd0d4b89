package atomicfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// SyncTree flushes everything written under dir to stable storage. On
// Linux one syncfs(2) does it for the whole filesystem, which costs far
// less than an fsync per file when a folder holds thousands of files.
func SyncTree(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// treeFlusher flushes the filesystem holding dir in the background (one
// syncfs, whatever the number of files).
func treeFlusher(dir string) *flusher { return newFlusher(func() { _ = SyncTree(dir) }) }

// startWriteback asks Linux to start writing a range of f to the device
// and returns without waiting (sync_file_range(2), SYNC_FILE_RANGE_WRITE).
// It is only a hint: durability still comes from the fsync in Commit, so an
// error here changes nothing and is ignored.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
