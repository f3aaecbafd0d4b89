package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// job is one input file and where its output goes, relative to the output
// directory (or "" when the output is a single file).
type job struct {
	in      string
	rel     string
	size    int64
	fromDir bool // found by walking a folder, not named on the command line
}

// planJobs expands the inputs (files, and folders walked recursively) and
// names each output: a file input by its base name, a file found in a
// folder by its path relative to that folder. Two inputs mapping to one
// output name is an error, reported before anything is written.
func planJobs(inputs []string) ([]job, error) {
	var jobs []job
	seen := map[string]string{}
	add := func(j job) error {
		if prev, ok := seen[j.rel]; ok {
			return fmt.Errorf("%s and %s would both be written as %s", prev, j.in, j.rel)
		}
		seen[j.rel] = j.in
		jobs = append(jobs, j)
		return nil
	}
	for _, in := range inputs {
		st, err := os.Stat(in)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			if !st.Mode().IsRegular() {
				return nil, fmt.Errorf("%s is not a regular file", in)
			}
			if err := add(job{in: in, rel: filepath.Base(in), size: st.Size()}); err != nil {
				return nil, err
			}
			continue
		}
		var found []job
		err = filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(in, p)
			found = append(found, job{in: p, rel: rel, size: info.Size(), fromDir: true})
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Slice(found, func(i, j int) bool { return found[i].rel < found[j].rel })
		for _, j := range found {
			if err := add(j); err != nil {
				return nil, err
			}
		}
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("no files found in %v", inputs)
	}
	return jobs, nil
}

// singleOutput reports whether the command writes one file (one regular
// input) rather than a folder.
func singleOutput(inputs []string) bool {
	if len(inputs) != 1 {
		return false
	}
	st, err := os.Stat(inputs[0])
	return err == nil && !st.IsDir()
}

func totalSize(jobs []job) int64 {
	var n int64
	for _, j := range jobs {
		n += j.size
	}
	return n
}
