package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/report"
)

// destination is one place a report goes: a format and a file, or the
// screen when path is "".
type destination struct {
	format report.Format
	path   string
}

// planOutputs reads the --output values. FORMAT=FILE names its format;
// a bare FILE takes --format when it was given, else its extension. The
// screen keeps --format (table by default) unless a bare FILE took it.
func planOutputs(values []string, format string, formatSet bool) (screen *report.Format, files []destination, err error) {
	main, ok := report.Lookup(format)
	if !ok {
		return nil, nil, usagef("--format %q is not a format%s; use one of %s", format, didYouMean(format, report.Names()), strings.Join(report.Names(), ", "))
	}
	screen = &main
	seen := map[string]bool{}
	for _, v := range values {
		name, path, named := strings.Cut(v, "=")
		var f report.Format
		switch {
		case named && !strings.ContainsAny(name, `/\.`) && name != "":
			if f, ok = report.Lookup(name); !ok {
				return nil, nil, usagef("--output %s: %q is not a format%s; write --output FORMAT=FILE with one of %s", v, name, didYouMean(name, report.Names()), strings.Join(report.Names(), ", "))
			}
		case formatSet:
			path, f = v, main
			screen = nil
		default:
			path = v
			if f, ok = report.ForFile(path); !ok {
				return nil, nil, usagef("--output %s: cannot tell the format from the extension (%s); write --output FORMAT=%s", v, report.Extensions(), v)
			}
		}
		if path == "" {
			return nil, nil, usagef("--output %s names no file; write --output FORMAT=FILE", v)
		}
		if path == "-" {
			screen = &f
			continue
		}
		if seen[path] {
			return nil, nil, usagef("--output %s is given twice; give each file once", path)
		}
		seen[path] = true
		files = append(files, destination{format: f, path: path})
	}
	return screen, files, nil
}

// pending is a report file being written: a temporary file beside the
// target, renamed over it once whole, so the file appears whole or not
// at all.
type pending struct {
	shown  string // as the user wrote it
	target string // the file renamed over: a symlink's target
	mode   fs.FileMode
	owner  *syscall.Stat_t
	tmp    *os.File
}

// prepare checks the destination before the run (a bad path must not
// cost a logon attempt) and opens the temporary file. An existing file
// keeps its mode (and owner, where permitted); a symlink is written
// through to its target, so the link stays a link.
func prepare(path string) (*pending, error) {
	p := &pending{shown: path, target: path, mode: 0o666 &^ umask()}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		t, err := filepath.EvalSymlinks(path)
		if err != nil {
			return nil, usagef("--output %s is a symlink to a missing file; point it at a file or give another name", path)
		}
		p.target = t
	}
	if st, err := os.Stat(p.target); err == nil {
		switch {
		case st.IsDir():
			return nil, usagef("--output %s is a folder; give a file name", path)
		case !st.Mode().IsRegular():
			return nil, usagef("--output %s is not a regular file; give a file name (or - for stdout)", path)
		}
		p.mode = st.Mode().Perm()
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			p.owner = sys
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(p.target), "."+filepath.Base(p.target)+".tmp-*")
	if err != nil {
		return nil, usagef("cannot write --output %s: %v; pick a writable folder", path, checks.BarePathErr(err))
	}
	p.tmp = tmp
	return p, nil
}

// commit writes b, flushes it to disk, renames it into place and flushes
// the folder, so a crash leaves the old file or the new one, never half.
func (p *pending) commit(b []byte) error {
	fail := func(err error) error { return usagef("cannot write --output %s: %v", p.shown, checks.BarePathErr(err)) }
	if _, err := p.tmp.Write(b); err != nil {
		return fail(err)
	}
	if err := p.tmp.Chmod(p.mode); err != nil {
		return fail(err)
	}
	if p.owner != nil && (int(p.owner.Uid) != os.Getuid() || int(p.owner.Gid) != os.Getgid()) {
		_ = p.tmp.Chown(int(p.owner.Uid), int(p.owner.Gid)) // only root may; else the writer owns it
	}
	if err := p.tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := p.tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(p.tmp.Name(), p.target); err != nil {
		return fail(err)
	}
	p.tmp = nil
	if d, err := os.Open(filepath.Dir(p.target)); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil && !errors.Is(err, syscall.EINVAL) {
			return fail(err)
		}
	}
	return nil
}

// discard removes the temporary file unless the report was committed.
func (p *pending) discard() {
	if p != nil && p.tmp != nil {
		p.tmp.Close()
		os.Remove(p.tmp.Name())
		p.tmp = nil
	}
}

// umask is the process's file creation mask, read from /proc without
// changing it (syscall.Umask would, for every thread at once); 022 when
// it cannot be read.
func umask() fs.FileMode {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0o022
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return fs.FileMode(n)
			}
		}
	}
	return 0o022
}

// prepareAll prepares every file destination; discard removes what was
// not committed.
func prepareAll(files []destination) ([]*pending, func(), error) {
	ps := make([]*pending, 0, len(files))
	discard := func() {
		for _, p := range ps {
			p.discard()
		}
	}
	for _, d := range files {
		p, err := prepare(d.path)
		if err != nil {
			return nil, discard, err
		}
		ps = append(ps, p)
	}
	return ps, discard, nil
}

// writeAll renders every destination first, then commits the files: a
// renderer error leaves no file changed.
func writeAll(d report.Doc, screen *report.Format, screenOpts report.Options, files []destination, ps []*pending, streams *report.IO) error {
	return writeRendered(func(w io.Writer, f report.Format, o report.Options) error { return f.Render(w, d, o) },
		screen, screenOpts, files, ps, streams)
}

// writeRendered is writeAll for any document a format can render (a
// profile's runs).
func writeRendered(render func(io.Writer, report.Format, report.Options) error, screen *report.Format, screenOpts report.Options, files []destination, ps []*pending, streams *report.IO) error {
	bodies := make([][]byte, len(files))
	for i, f := range files {
		var b strings.Builder
		// files get no colour and the default width: they are read elsewhere
		if err := render(&b, f.format, report.Options{ASCII: screenOpts.ASCII}); err != nil {
			return fmt.Errorf("cannot render the %s report: %v; please report it", f.format.Name, err)
		}
		bodies[i] = []byte(b.String())
	}
	var out strings.Builder
	if screen != nil {
		if err := render(&out, *screen, screenOpts); err != nil {
			return fmt.Errorf("cannot render the %s report: %v; please report it", screen.Name, err)
		}
	}
	for i, p := range ps {
		if err := p.commit(bodies[i]); err != nil {
			return err
		}
		fmt.Fprintf(streams.Err, "wrote %s\n", p.shown)
	}
	_, err := io.WriteString(streams.Out, out.String())
	return err
}
