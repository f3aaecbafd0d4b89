package main

import (
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/media"
)

// maxViewerSize is the most one viewer program may take on a disc.
const maxViewerSize = 15_000_000

// The viewer cross-compiles without cgo for every system a disc serves,
// as "make viewers" builds it, into a small program of the right format.
func TestCrossCompiledViewers(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles four programs")
	}
	checkMakefileTargets(t)
	dir := t.TempDir()
	for _, v := range media.ViewerPrograms {
		t.Run(v.GOOS+"_"+v.GOARCH, func(t *testing.T) {
			out := filepath.Join(dir, filepath.FromSlash(v.Path))
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=test", "-o", out, ".")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+v.GOOS, "GOARCH="+v.GOARCH)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, msg)
			}
			st, err := os.Stat(out)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s (%s/%s): %.1f MB", v.Path, v.GOOS, v.GOARCH, float64(st.Size())/1e6)
			if st.Size() > maxViewerSize {
				t.Errorf("%s is %d bytes, more than %d", v.Path, st.Size(), maxViewerSize)
			}
			if err := checkFormat(out, v.GOOS, v.GOARCH); err != nil {
				t.Errorf("%s: %v", v.Path, err)
			}
		})
	}
}

// checkFormat tells whether the file is an executable the system runs:
// a PE32+ console program, a Mach-O or an ELF executable for the CPU.
func checkFormat(name, goos, goarch string) error {
	switch goos {
	case "windows":
		f, err := pe.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
		if !ok || f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
			return fmt.Errorf("not a PE32+ x86-64 program (machine %#x)", f.Machine)
		}
		if oh.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_CUI {
			return fmt.Errorf("subsystem %d, want a console program", oh.Subsystem)
		}
	case "darwin":
		f, err := macho.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		want := map[string]macho.Cpu{"arm64": macho.CpuArm64, "amd64": macho.CpuAmd64}[goarch]
		if f.Cpu != want || f.Type != macho.TypeExec {
			return fmt.Errorf("Mach-O %v %v, want an executable for %v", f.Cpu, f.Type, want)
		}
	case "linux":
		f, err := elf.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		if f.Machine != elf.EM_X86_64 || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
			return fmt.Errorf("ELF %v %v %v, want a 64-bit x86-64 executable", f.Class, f.Machine, f.Type)
		}
		if f.Section(".interp") != nil {
			return fmt.Errorf("dynamically linked: it would not start on every Linux")
		}
	default:
		return fmt.Errorf("no check for %s", goos)
	}
	return nil
}

// checkMakefileTargets: "make viewers" builds the same programs to the
// same places as media.ViewerPrograms, where burn looks for them.
func checkMakefileTargets(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, v := range media.ViewerPrograms {
		want = append(want, v.GOOS+"/"+v.GOARCH+":"+v.FolderPath())
	}
	line := "VIEWERS := " + strings.Join(want, " ") + "\n"
	if !strings.Contains(string(mk), line) {
		t.Errorf("the Makefile lacks the line\n%s", line)
	}
}
