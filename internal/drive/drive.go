// Package drive writes a finished ISO 9660 image to an optical drive and
// reads it back, through xorriso (libburn, Debian's xorriso package). A
// drive is named as xorriso names it: /dev/sr0, or stdio:FILE, a file
// standing in for a drive (what the tests use).
package drive

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// ErrNoXorriso: the program that drives the burner is not installed.
var ErrNoXorriso = errors.New("writing to a drive needs xorriso (Debian and Ubuntu: apt install xorriso)")

// Media is what the drive holds, as xorriso reports it.
type Media struct {
	Kind   string // "CD-R", "DVD+RW", "stdio file, overwriteable", ...
	Status string // "is blank", "is written , is closed", ...
	Free   int64  // bytes that can be written
}

// Writable tells whether an image can be written: a blank disc, or an
// overwriteable medium (DVD+RW, BD-RE, a stdio file).
func (m Media) Writable() bool {
	return strings.Contains(m.Status, "blank") || strings.Contains(m.Kind, "overwriteable")
}

var (
	mediaCurrent = regexp.MustCompile(`(?m)^Media current: (.*)$`)
	mediaStatus  = regexp.MustCompile(`(?m)^Media status : (.*)$`)
	mediaSpace   = regexp.MustCompile(`(?m)^Media space  : (\d+)s$`)
)

// Inspect asks the drive what it holds, writing nothing.
func Inspect(ctx context.Context, dev string) (Media, error) {
	out, err := xorriso(ctx, "-outdev", dev, "-tell_media_space")
	if err != nil {
		return Media{}, fmt.Errorf("drive %s: %w", dev, err)
	}
	var m Media
	if s := mediaCurrent.FindStringSubmatch(out); s != nil {
		m.Kind = strings.TrimSpace(s[1])
	}
	if s := mediaStatus.FindStringSubmatch(out); s != nil {
		m.Status = strings.TrimSpace(s[1])
	}
	s := mediaSpace.FindStringSubmatch(out)
	if s == nil {
		return m, fmt.Errorf("drive %s: no medium in the drive, or one xorriso cannot read (%s)", dev, lastLine(out))
	}
	sectors, _ := strconv.ParseInt(s[1], 10, 64)
	m.Free = sectors * 2048
	return m, nil
}

// Write writes the image file to the drive, as one closed session
// (xorriso's cdrecord emulation: track at once, padded). It does not eject:
// the caller reads the disc back first. speed is xorriso's (e.g. "8",
// "max"); "" lets the drive choose.
func Write(ctx context.Context, dev, image, speed string) error {
	args := []string{"-as", "cdrecord", "-v", "dev=" + dev}
	if speed != "" {
		args = append(args, "speed="+speed)
	}
	if _, err := xorriso(ctx, append(args, image)...); err != nil {
		return fmt.Errorf("writing to %s failed: %w", dev, err)
	}
	return nil
}

// WriteAndCompare writes the image to the drive (Write) and reads the
// disc back (Compare): nil only when the disc holds exactly the image.
func WriteAndCompare(ctx context.Context, dev, image, speed string) error {
	if err := Write(ctx, dev, image, speed); err != nil {
		return err
	}
	if err := Compare(ctx, dev, image); err != nil {
		return fmt.Errorf("%s: %w", dev, err)
	}
	return nil
}

// Eject opens the drive's tray; nothing for a stdio: drive.
func Eject(ctx context.Context, dev string) error {
	if strings.HasPrefix(dev, "stdio:") {
		return nil
	}
	_, err := xorriso(ctx, "-outdev", dev, "-eject", "all")
	return err
}

// Compare reads the first size bytes of the drive back and compares them
// with the image file, byte for byte: the disc then holds exactly the
// image whose every file was already read back and checked. The drive is
// read as a block device (or the stdio: file); the padding after the image
// is ignored.
func Compare(ctx context.Context, dev, image string) error {
	want, err := os.Open(image)
	if err != nil {
		return err
	}
	defer want.Close()
	st, err := want.Stat()
	if err != nil {
		return err
	}
	got, err := os.Open(strings.TrimPrefix(dev, "stdio:"))
	if err != nil {
		return fmt.Errorf("reading the disc back: %w", err)
	}
	defer got.Close()
	a, b := make([]byte, 1<<20), make([]byte, 1<<20)
	for off := int64(0); off < st.Size(); {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := int(min(int64(len(a)), st.Size()-off))
		if _, err := io.ReadFull(want, a[:n]); err != nil {
			return err
		}
		if _, err := io.ReadFull(got, b[:n]); err != nil {
			return fmt.Errorf("reading the disc back at byte %d of %d: %w", off, st.Size(), err)
		}
		if !bytes.Equal(a[:n], b[:n]) {
			return fmt.Errorf("the disc reads back different from the image near byte %d: the write failed", off+int64(firstDiff(a[:n], b[:n])))
		}
		off += int64(n)
	}
	return nil
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// xorriso runs xorriso with args and returns its output; an error carries
// its FAILURE and SORRY lines, which say what went wrong in its words.
func xorriso(ctx context.Context, args ...string) (string, error) {
	path, err := exec.LookPath("xorriso")
	if err != nil {
		return "", ErrNoXorriso
	}
	cmd := exec.CommandContext(ctx, path, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if ctx.Err() != nil {
		return out.String(), ctx.Err()
	}
	if err != nil {
		return out.String(), fmt.Errorf("xorriso: %s", complaints(out.String(), err))
	}
	return out.String(), nil
}

// complaints are xorriso's FAILURE and SORRY lines, or its last line.
func complaints(out string, err error) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(l, ": FAILURE :") || strings.Contains(l, ": SORRY :") {
			if _, msg, ok := strings.Cut(l, " : "); ok {
				lines = append(lines, strings.TrimSpace(msg))
			}
		}
	}
	if len(lines) == 0 {
		return fmt.Sprintf("%v (%s)", err, lastLine(out))
	}
	return strings.Join(lines, "; ")
}

func lastLine(out string) string {
	out = strings.TrimSpace(out)
	if i := strings.LastIndexByte(out, '\n'); i >= 0 {
		return out[i+1:]
	}
	return out
}
