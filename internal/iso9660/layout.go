package iso9660

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"strings"
	"time"
)

// File is one file of the image.
type File struct {
	// Path is slash-separated; every directory component is a Level 1
	// directory name (1-8 of A-Z 0-9 _) and the last component a Level 1
	// file name (NAME of up to 8, optional .EXT of up to 3), e.g. "DICOMDIR",
	// "DICOM/P0000001/ST000001/SE000001/IM000001", "README.TXT".
	Path string
	// Size is the exact content size; it must be below 4 GiB (no
	// multi-extent files are written).
	Size int64
	// Mode holds the permission bits recorded with Rock Ridge; 0 means 0o444.
	Mode fs.FileMode
	// ModTime is the recording time; zero means Options.ModTime.
	ModTime time.Time
	// Open is called by Write once per file, in the order of the files
	// slice, and must yield exactly Size bytes. A returned io.Closer is
	// closed. A Layout does not use it.
	Open func() (io.Reader, error)
}

// Options describe the volume.
type Options struct {
	// VolumeID is the Volume Identifier (DICOM File-set ID): up to 32
	// d-characters (DICOM allows 16), recorded space-padded.
	VolumeID string
	// ModTime is the volume creation time and the time of directories and
	// of files without their own; zero records "not specified".
	ModTime time.Time
	// RockRidge adds SUSP/RRIP entries (SP, ER, PX, TF, NM).
	RockRidge bool
	// Joliet adds a Joliet (UCS-2) tree over the same files, for Windows
	// readers that prefer it; the names are the same as in the ISO tree.
	Joliet bool
	// Publisher and Application are optional PVD a-character fields (up to
	// 128 characters).
	Publisher, Application string
}

// maxLevels is the ECMA-119 6.8.2.1 and PS3.12 F.1.2.1 depth limit,
// counting the root as level 1.
const maxLevels = 8

// dirNode is one directory of the image being planned.
type dirNode struct {
	name    string
	parent  *dirNode
	level   int
	number  int // path table directory number (ECMA-119 9.4), root = 1
	subdirs map[string]*dirNode
	files   map[string]*fileNode
	entries []entry   // sorted children (ECMA-119 9.3)
	extent  [2]uint32 // per tree (isoTree, jolietTree)
	size    [2]uint32 // bytes, whole sectors
}

// The image holds one or two directory trees over the same file data: the
// ISO 9660 tree of the PVD and, with Options.Joliet, the Joliet tree of
// the Supplementary Volume Descriptor.
type tree int

const (
	isoTree tree = iota
	jolietTree
)

type fileNode struct {
	f      *File
	extent uint32
}

// entry is one child directory record: a directory or a file.
type entry struct {
	name, ext string
	dir       *dirNode
	file      *fileNode
}

// plan is the complete layout of an image: everything Write needs except
// the file contents.
type plan struct {
	opts     Options
	root     *dirNode
	dirs     []*dirNode // path table order
	files    []*fileNode
	trees    []tree
	ptSize   [2]uint32 // bytes of one path table, per tree
	lPath    [2]uint32 // sector of the L path table
	mPath    [2]uint32
	ceSector uint32 // sector of the continuation area (Rock Ridge ER)
	sectors  uint32 // volume space size
}

// Size returns the exact byte size of the image Write would produce, or an
// error for invalid input, without reading any file.
func Size(files []File, opts Options) (int64, error) {
	l, err := NewLayout(files, opts)
	if err != nil {
		return 0, err
	}
	return l.Size(), nil
}

// Layout is an image laid out before anything is written: its size and
// where every file's data goes. Its metadata (everything before the first
// file) and the files' data can then be written in any order, at their
// offsets; whatever is not written (the padding of the last sector of each
// file) must read as zeros, as it does in a file grown by Truncate.
type Layout struct{ p *plan }

// NewLayout lays out an image of files (their Open is not used).
func NewLayout(files []File, opts Options) (*Layout, error) {
	p, err := newPlan(files, opts)
	if err != nil {
		return nil, err
	}
	return &Layout{p}, nil
}

// Size is the image's byte size.
func (l *Layout) Size() int64 { return int64(l.p.sectors) * sectorSize }

// Offset is where the data of files[i] (as given to NewLayout) starts.
func (l *Layout) Offset(i int) int64 { return int64(l.p.files[i].extent) * sectorSize }

// WriteMeta writes the image's metadata, which starts at offset 0: system
// area, volume descriptors, path tables, Rock Ridge continuation area and
// directories, up to the first file's data.
func (l *Layout) WriteMeta(w io.Writer) error {
	bw := bufio.NewWriterSize(writerOnly{w}, 64<<10)
	return l.p.writeMeta(bw)
}

func newPlan(files []File, opts Options) (*plan, error) {
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	p := &plan{opts: opts, root: &dirNode{level: 1}, trees: []tree{isoTree}}
	if opts.Joliet {
		p.trees = append(p.trees, jolietTree)
	}
	for i := range files {
		if err := p.add(&files[i]); err != nil {
			return nil, err
		}
	}
	p.order()
	if err := p.allocate(); err != nil {
		return nil, err
	}
	return p, nil
}

func checkOptions(o Options) error {
	if len(o.VolumeID) > 32 || !allChars(o.VolumeID, isDChar) {
		return fmt.Errorf("iso9660: volume ID %q: want up to 32 of A-Z 0-9 _", o.VolumeID)
	}
	for _, s := range []string{o.Publisher, o.Application} {
		if len(s) > 128 || !allChars(s, isAChar) {
			return fmt.Errorf("iso9660: identifier %q: want up to 128 ISO 9660 a-characters (upper case)", s)
		}
	}
	if err := checkTime(o.ModTime); err != nil {
		return fmt.Errorf("iso9660: ModTime: %w", err)
	}
	return nil
}

// add validates one file and links it into the tree, creating its
// directories.
func (p *plan) add(f *File) error {
	if err := checkFile(f); err != nil {
		return err
	}
	comps := strings.Split(f.Path, "/")
	d := p.root
	for _, c := range comps[:len(comps)-1] {
		var err error
		if d, err = d.subdir(c); err != nil {
			return fmt.Errorf("iso9660: %s: %w", f.Path, err)
		}
	}
	base := comps[len(comps)-1]
	if _, ok := d.files[base]; ok {
		return fmt.Errorf("iso9660: %s: duplicate path", f.Path)
	}
	if _, ok := d.subdirs[base]; ok {
		return fmt.Errorf("iso9660: %s: is also a directory", f.Path)
	}
	if d.files == nil {
		d.files = map[string]*fileNode{}
	}
	fn := &fileNode{f: f}
	d.files[base] = fn
	p.files = append(p.files, fn)
	return nil
}

// CheckPath reports whether path is acceptable as File.Path: at most 8
// levels including the root, Level 1 directory names and a Level 1 file
// name. Size and Write check every path the same way.
func CheckPath(path string) error {
	comps := strings.Split(path, "/")
	if len(comps) > maxLevels {
		return fmt.Errorf("iso9660: %s: %d directory levels, ISO 9660 allows %d including the root", path, len(comps), maxLevels)
	}
	for _, c := range comps[:len(comps)-1] {
		if err := checkDirName(c); err != nil {
			return fmt.Errorf("iso9660: %s: %w", path, err)
		}
	}
	if _, _, err := splitFileName(comps[len(comps)-1]); err != nil {
		return fmt.Errorf("iso9660: %s: %w", path, err)
	}
	return nil
}

func checkFile(f *File) error {
	if err := CheckPath(f.Path); err != nil {
		return err
	}
	if f.Size < 0 || f.Size > math.MaxUint32 {
		return fmt.Errorf("iso9660: %s: size %d: ISO 9660 single-extent files must be smaller than 4 GiB", f.Path, f.Size)
	}
	if err := checkTime(f.ModTime); err != nil {
		return fmt.Errorf("iso9660: %s: %w", f.Path, err)
	}
	return nil
}

// subdir returns the child directory name, creating it.
func (d *dirNode) subdir(name string) (*dirNode, error) {
	if s, ok := d.subdirs[name]; ok {
		return s, nil
	}
	if _, ok := d.files[name]; ok {
		return nil, fmt.Errorf("%s is both a file and a directory", name)
	}
	if d.subdirs == nil {
		d.subdirs = map[string]*dirNode{}
	}
	s := &dirNode{name: name, parent: d, level: d.level + 1}
	d.subdirs[name] = s
	return s, nil
}

// order sorts every directory's entries (ECMA-119 9.3) and numbers the
// directories breadth-first. Visiting the children of each directory in
// name order, parents in number order, yields exactly the path table
// order of ECMA-119 9.4: by level, then parent number, then identifier.
func (p *plan) order() {
	queue := []*dirNode{p.root}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		p.dirs = append(p.dirs, d)
		d.number = len(p.dirs)
		d.sortEntries()
		for _, e := range d.entries {
			if e.dir != nil {
				queue = append(queue, e.dir)
			}
		}
	}
}

func (d *dirNode) sortEntries() {
	for n, s := range d.subdirs {
		d.entries = append(d.entries, entry{name: n, dir: s})
	}
	for n, f := range d.files {
		name, ext, _ := splitFileName(n)
		d.entries = append(d.entries, entry{name: name, ext: ext, file: f})
	}
	slices.SortFunc(d.entries, func(a, b entry) int {
		return compareIdent(a.name, a.ext, b.name, b.ext)
	})
}

// allocate assigns sectors: system area (16), PVD, terminator, L and M
// path tables, the Rock Ridge continuation area, directories in path table
// order, then file data in the order of the files slice.
func (p *plan) allocate() error {
	next := uint64(16 + len(p.trees) + 1) // descriptors and terminator
	for _, t := range p.trees {
		p.ptSize[t] = p.pathTableSize(t)
		ptSectors := uint64(sectorsFor(uint64(p.ptSize[t])))
		p.lPath[t], next = uint32(next), next+ptSectors
		p.mPath[t], next = uint32(next), next+ptSectors
	}
	if p.opts.RockRidge {
		p.ceSector, next = uint32(next), next+1
	}
	for _, t := range p.trees {
		for _, d := range p.dirs {
			size := p.dirSize(d, t)
			if size > math.MaxUint32 {
				return fmt.Errorf("iso9660: directory %s too large", d.path())
			}
			d.extent[t], d.size[t] = uint32(next), uint32(size)
			next += size / sectorSize
		}
	}
	for _, f := range p.files {
		f.extent = uint32(next)
		next += sectorsFor(uint64(f.f.Size))
		if next > math.MaxUint32 {
			return errors.New("iso9660: image larger than 8 TiB")
		}
	}
	p.sectors = uint32(next)
	for _, f := range p.files {
		// An empty file at the end would point just past the volume;
		// keep every extent inside it (its length is 0 anyway).
		if f.extent >= p.sectors {
			f.extent = p.sectors - 1
		}
	}
	return nil
}

func sectorsFor(n uint64) uint64 { return (n + sectorSize - 1) / sectorSize }

// pathTableSize is the byte length of one path table (ECMA-119 9.4): 8
// bytes per record plus the identifier padded to an even length.
func (p *plan) pathTableSize(t tree) uint32 {
	var n uint32
	for _, d := range p.dirs {
		id := d.ident(t)
		n += 8 + uint32(len(id)+len(id)%2)
	}
	return n
}

// ident is the directory identifier: 0x00 for the root (ECMA-119 6.8.2.2),
// UCS-2 in the Joliet tree.
func (d *dirNode) ident(t tree) string {
	if d.parent == nil {
		return "\x00"
	}
	return encodeName(d.name, t)
}

func (d *dirNode) path() string {
	if d.parent == nil {
		return "/"
	}
	if d.parent.parent == nil {
		return d.name
	}
	return d.parent.path() + "/" + d.name
}

// dirSize is the size of a directory's extent in whole sectors. Records
// never straddle a sector boundary (ECMA-119 6.8.1.1).
func (p *plan) dirSize(d *dirNode, t tree) uint64 {
	var sectors, used uint64 = 1, 0
	p.eachRecord(d, t, func(r record) {
		n := uint64(r.length())
		if used+n > sectorSize {
			sectors, used = sectors+1, 0
		}
		used += n
	})
	return sectors * sectorSize
}
