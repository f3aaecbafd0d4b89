package iso9660

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// NameMismatch is a file or directory whose names differ between the trees
// of an image, or that one tree has and another lacks.
type NameMismatch struct {
	// Path is the entry's path as Open shows it: Rock Ridge names when the
	// image has them, else Joliet names, else ISO 9660 names. An entry that
	// Open does not show (it is only in the other tree) has its path in its
	// own tree's names.
	Path string
	// ISO is the ISO 9660 identifier without its ";1" version and trailing
	// "." (as Windows shows it without Joliet), Joliet the Joliet name
	// without a version, RockRidge the Rock Ridge NM name. Each is "" when
	// that tree lacks the entry; RockRidge is also "" for a record without
	// an NM entry, which Rock Ridge readers show under its ISO name.
	ISO, Joliet, RockRidge string
}

// maxCompareEntries bounds the entries CompareNames holds per tree.
const maxCompareEntries = 1 << 18

// maxCompareErrors bounds the unreadable directories an error lists.
const maxCompareErrors = 16

// CompareNames walks every tree the image has, the ISO 9660 identifiers
// and Rock Ridge NM names of the primary tree and the Joliet tree, and
// reports every file or directory whose names disagree, and every one
// present in one tree but missing in the other. A disc whose DICOMDIR is
// recorded as "DICOMDAR;1" with the Rock Ridge name "DICOMDIR" opens on
// Linux, which reads Rock Ridge, and not on Windows, which reads ISO 9660
// or Joliet names.
//
// The rules:
//
//   - Names are compared case-insensitively (ASCII letters only), after
//     removing the ";1" version and a trailing "." from ISO 9660 and Joliet
//     names: Rock Ridge "dicomdir" agrees with ISO "DICOMDIR.;1".
//   - A Rock Ridge or Joliet name that cannot be recorded as a Level 1
//     identifier (files: a NAME of 1-8 and an optional .EXT of 1-3, and
//     directories 1-8, of A-Z 0-9 _ after upper-casing) is expected to have
//     a different, mangled ISO 9660 name ("Long Name viewer.exe" and
//     "LONG_NAM.EXE"): that pair is not compared. Writers such as xorriso
//     and genisoimage record a representable name upper-cased, so their
//     images give no mismatch.
//   - A Rock Ridge name that Joliet cannot hold (more than 64 UCS-2
//     characters, or characters outside the BMP, control characters or
//     any of the six * / : ; ? \) is likewise not compared with the Joliet
//     name.
//   - Entries are matched between the primary and the Joliet tree by their
//     data: files by the location and size of their data, directories by
//     the first file data location in their subtree; empty files and
//     directories without file data, whose location carries no identity
//     (writers share one block among them), by name, then in recorded
//     order. Directories are matched level by level, so an entry moved to
//     another directory shows as missing in each tree.
//   - A primary-tree directory that holds nothing but relocated
//     directories (Rock Ridge RE, genisoimage's rr_moved) is not expected
//     in the Joliet tree, which is not relocated.
//
// The primary tree is walked as Open walks it, Rock Ridge relocations
// followed. Mismatches are sorted by Path. A directory that cannot be read
// (a truncated image) is left out of the comparison, with its descendants;
// the mismatches found elsewhere are returned together with an error
// naming such directories; a directory reached a second time (a cyclic or
// shared directory, which no writer makes) counts as unreadable too.
// CompareNames fails without mismatches when the volume descriptors or the
// primary root directory cannot be read, and when a tree holds more than
// 262144 entries.
func CompareNames(r io.ReaderAt, size int64) ([]NameMismatch, error) {
	img := &image{r: r, size: size, idents: true}
	pvd, svd, err := img.descriptors()
	if err != nil {
		return nil, err
	}
	if err := img.usePVD(pvd); err != nil {
		return nil, err
	}
	c := &comparer{rr: img.rr}
	pt := &nameTree{img: img, label: "ISO 9660", seen: map[int64]string{}}
	p, err := pt.load(img.root, "", 0)
	if err != nil {
		return nil, err
	}
	errs := pt.errs
	var j *nameNode
	if svd != nil {
		jimg := &image{r: r, size: size, bs: img.bs, joliet: true, idents: true}
		if jimg.root, err = jimg.rootOf(svd); err != nil {
			errs = append(errs, fmt.Errorf("iso9660: Joliet tree: %w", err))
		} else {
			jt := &nameTree{img: jimg, label: "Joliet", seen: map[int64]string{}}
			if j, err = jt.load(jimg.root, "", 0); err != nil {
				return nil, err
			}
			errs = append(errs, jt.errs...)
			c.joliet = true
		}
	}
	c.children(p, j, "")
	slices.SortFunc(c.out, func(a, b NameMismatch) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.ISO, b.ISO),
			strings.Compare(a.Joliet, b.Joliet), strings.Compare(a.RockRidge, b.RockRidge))
	})
	if len(errs) > maxCompareErrors {
		errs = append(errs[:maxCompareErrors], fmt.Errorf("and %d more unreadable directories", len(errs)-maxCompareErrors))
	}
	return c.out, errors.Join(errs...)
}

// nameNode is one entry of a tree loaded for CompareNames.
type nameNode struct {
	de       *dirent
	children []*nameNode
	failed   bool  // a directory that could not be listed
	moved    bool  // a directory of relocated directories only (rr_moved)
	fp       int64 // first file data offset in the subtree; -1 for none
}

// nameTree loads one tree of an image.
type nameTree struct {
	img     *image
	label   string
	seen    map[int64]string // directory extent offset: path
	entries int
	errs    []error // directories that could not be listed
}

func (t *nameTree) load(de *dirent, p string, depth int) (*nameNode, error) {
	n := &nameNode{de: de, fp: -1}
	if !de.isDir {
		if de.size > 0 {
			n.fp = de.extents[0].off
		}
		return n, nil
	}
	fail := func(err error) (*nameNode, error) {
		n.failed = true
		t.errs = append(t.errs, fmt.Errorf("%s directory %s: %w", t.label, cmp.Or(p, "."), err))
		return n, nil
	}
	if depth > maxDepth {
		return fail(formatErr("deeper than %d levels", maxDepth))
	}
	off := de.extents[0].off
	if prev, ok := t.seen[off]; ok && de.err == nil {
		return fail(formatErr("same extent as directory %s", cmp.Or(prev, ".")))
	}
	t.seen[off] = p
	list, moved, err := t.img.parseDir(de)
	if err != nil {
		return fail(err)
	}
	if t.entries += len(list); t.entries > maxCompareEntries {
		return nil, formatErr("%s tree of more than %d entries", t.label, maxCompareEntries)
	}
	n.moved = moved > 0 && len(list) == 0
	for _, c := range list {
		cn, err := t.load(c, path.Join(p, c.name), depth+1)
		if err != nil {
			return nil, err
		}
		if cn.fp >= 0 && (n.fp < 0 || cn.fp < n.fp) {
			n.fp = cn.fp
		}
		n.children = append(n.children, cn)
	}
	return n, nil
}

// comparer matches the primary tree (p) with the Joliet tree (j).
type comparer struct {
	rr     bool // the primary tree has Rock Ridge names
	joliet bool // there is a Joliet tree
	out    []NameMismatch
}

// children compares the entries of directories p and j (either may be
// nil: the directory is missing in that tree), recursively.
func (c *comparer) children(p, j *nameNode, dir string) {
	if p != nil && p.failed || j != nil && j.failed {
		return
	}
	switch {
	case p != nil && j != nil:
		for _, pair := range matchChildren(p.children, j.children) {
			c.entry(pair[0], pair[1], dir)
		}
	case p != nil:
		for _, ch := range p.children {
			c.entry(ch, nil, dir)
		}
	case j != nil:
		for _, ch := range j.children {
			c.entry(nil, ch, dir)
		}
	}
}

// entry compares the names of one entry, recorded as p in the primary tree
// and j in the Joliet tree (nil where missing), and then its children.
func (c *comparer) entry(p, j *nameNode, dir string) {
	var m NameMismatch
	var name string
	bad := false
	if p != nil {
		m.ISO = stripVersion(p.de.ident)
		if p.de.nm {
			m.RockRidge = p.de.name
			bad = bad || !agreeISO(m.ISO, m.RockRidge, p.de.isDir)
		}
		name = p.de.name
	}
	if j != nil {
		m.Joliet = j.de.name
		if p == nil || !c.rr {
			name = j.de.name
		}
	}
	switch {
	case p != nil && j != nil:
		bad = bad || !agreeISO(m.ISO, m.Joliet, p.de.isDir) ||
			m.RockRidge != "" && !agreeJoliet(m.RockRidge, m.Joliet)
	case c.joliet:
		bad = bad || p == nil || !p.moved
	}
	m.Path = path.Join(dir, name)
	if bad {
		c.out = append(c.out, m)
	}
	c.children(p, j, m.Path)
}

// matchChildren pairs the entries of a directory in the primary tree (a)
// with those of the same directory in the Joliet tree (b); an entry
// without a counterpart comes paired with nil. It takes time linear in the
// number of entries, whatever their names and extents.
func matchChildren(a, b []*nameNode) [][2]*nameNode {
	var pairs [][2]*nameNode
	usedA, usedB := make([]bool, len(a)), make([]bool, len(b))
	// Each pass puts the free entries of b in queues by a key and pairs
	// every free entry of a with the first of its queue, trying keys in
	// order. An entry of b sits in one queue per pass, so popping the
	// front never meets one used in that pass.
	pass := func(keysA, keysB func(*nameNode) []matchKey) {
		queues := map[matchKey][]int{}
		for k, n := range b {
			if !usedB[k] {
				for _, key := range keysB(n) {
					queues[key] = append(queues[key], k)
				}
			}
		}
		for i, n := range a {
			if usedA[i] {
				continue
			}
			for _, key := range keysA(n) {
				if q := queues[key]; len(q) > 0 {
					queues[key] = q[1:]
					usedA[i], usedB[q[0]] = true, true
					pairs = append(pairs, [2]*nameNode{n, b[q[0]]})
					break
				}
			}
		}
	}
	// By data, names agreeing first (hard links share their data)...
	pass(func(n *nameNode) []matchKey { return n.dataKeys(n.de.name, stripVersion(n.de.ident)) },
		func(n *nameNode) []matchKey { return n.dataKeys(n.de.name) })
	// ...then by data alone.
	pass(func(n *nameNode) []matchKey { return n.dataKeys("") },
		func(n *nameNode) []matchKey { return n.dataKeys("") })
	// Entries without data identity, and directories whose subtrees
	// differ, by name...
	pass(func(n *nameNode) []matchKey { return n.nameKeys(n.de.name, stripVersion(n.de.ident)) },
		func(n *nameNode) []matchKey { return n.nameKeys(n.de.name) })
	// ...and, without data identity, in recorded order.
	pass(func(n *nameNode) []matchKey { return n.orderKey() }, func(n *nameNode) []matchKey { return n.orderKey() })
	for i, n := range a {
		if !usedA[i] {
			pairs = append(pairs, [2]*nameNode{n, nil})
		}
	}
	for k, n := range b {
		if !usedB[k] {
			pairs = append(pairs, [2]*nameNode{nil, n})
		}
	}
	return pairs
}

// matchKey is what matchChildren pairs entries by.
type matchKey struct {
	dir       bool
	off, size int64 // data identity; -1 for none
	name      string
}

// dataKeys are n's data identity with each of names (upper-cased), none
// when n has no data identity.
func (n *nameNode) dataKeys(names ...string) []matchKey {
	if n.fp < 0 {
		return nil
	}
	var size int64
	if !n.de.isDir {
		size = n.de.size
	}
	keys := make([]matchKey, len(names))
	for i, name := range names {
		keys[i] = matchKey{n.de.isDir, n.fp, size, asciiUpper(name)}
	}
	return keys
}

// nameKeys are n's names (upper-cased), for directories and for files
// without data identity.
func (n *nameNode) nameKeys(names ...string) []matchKey {
	if !n.de.isDir && n.fp >= 0 {
		return nil
	}
	keys := make([]matchKey, len(names))
	for i, name := range names {
		keys[i] = matchKey{n.de.isDir, -1, -1, asciiUpper(name)}
	}
	return keys
}

// orderKey puts every entry without data identity in one queue per kind.
func (n *nameNode) orderKey() []matchKey {
	if n.fp >= 0 {
		return nil
	}
	return []matchKey{{n.de.isDir, -1, -1, ""}}
}

// agreeISO reports whether ISO 9660 name iso agrees with long, a Rock
// Ridge or Joliet name: equal but for case, or long is not a Level 1 name.
func agreeISO(iso, long string, dir bool) bool {
	return foldEqual(iso, long) || !level1(long, dir)
}

// level1 reports whether name, upper-cased, is a Level 1 identifier. A
// file name needs a NAME part: ECMA-119 allows ".EXT" alone, but writers
// differ on it (genisoimage records ".ab" as "_AB.;1").
func level1(name string, dir bool) bool {
	up := asciiUpper(name)
	if dir {
		return checkDirName(up) == nil
	}
	base, _, err := splitFileName(up)
	return err == nil && base != ""
}

// agreeJoliet reports whether Rock Ridge name rr agrees with Joliet name
// j: equal but for case (and the trailing "." Joliet names lose), or rr
// cannot be a Joliet name.
func agreeJoliet(rr, j string) bool {
	return foldEqual(strings.TrimSuffix(rr, "."), j) || !jolietName(rr)
}

// jolietName reports whether s can be recorded as a Joliet name (Joliet
// specification 1995: up to 64 UCS-2 characters, none of * / : ; ? \ or
// control characters).
func jolietName(s string) bool {
	n := 0
	for _, c := range s {
		if c < 0x20 || c > 0xFFFF || c == utf8.RuneError || strings.ContainsRune(`*/:;?\`, c) {
			return false
		}
		n++
	}
	return n <= 64
}

// asciiUpper upper-cases the ASCII letters of s only.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// foldEqual compares s and t ignoring the case of ASCII letters only, so
// that no Unicode folding ("ſ" as "s") hides a difference.
func foldEqual(s, t string) bool {
	return len(s) == len(t) && asciiUpper(s) == asciiUpper(t)
}
