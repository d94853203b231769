package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestSelfContained keeps the repository standing alone: a fresh clone has
// no design folder beside it, so no file may point there.
func TestSelfContained(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod two levels up: %v", err)
	}
	// spelt in pieces so this file does not match itself
	needles := [][]byte{[]byte(".." + "/shared"), []byte("/work" + "/shared"), []byte("shared " + "design folder")}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "bench" {
				return filepath.SkipDir
			}
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() > 4<<20 || !info.Mode().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(b, n) {
				t.Errorf("%s refers to %q, outside the repository; copy what it needs into the project", path, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
