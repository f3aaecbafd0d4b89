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
