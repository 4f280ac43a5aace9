package ledger

import (
	"bufio"
	"bytes"
	"io"
	"os"
)

// spillMemory is how many bytes a spill keeps in memory before it moves
// them to a temporary file: about 100,000 journal rows of deflated XML, so
// most exports never touch the disk.
const spillMemory = 8 << 20

// spill collects the XLSX writer's deflated sheets until Close copies them
// into the zip: in memory up to spillMemory, then in a temporary file. The
// file is unlinked as soon as it is made (where the system allows it), so
// it disappears with the process whatever happens.
type spill struct {
	limit int   // spillMemory; lowered by tests
	n     int64 // bytes written
	mem   []byte
	f     *os.File
	w     *bufio.Writer // on f: deflate writes a few hundred bytes at a time
	name  string        // the file's name while it still has one
}

func (s *spill) Write(p []byte) (int, error) {
	if s.f == nil {
		if len(s.mem)+len(p) <= s.limit {
			s.mem = append(s.mem, p...)
			s.n += int64(len(p))
			return len(p), nil
		}
		if err := s.toFile(); err != nil {
			return 0, err
		}
	}
	n, err := s.w.Write(p)
	s.n += int64(n)
	return n, err
}

func (s *spill) toFile() error {
	f, err := os.CreateTemp("", "ite-xlsx-*")
	if err != nil {
		return err
	}
	s.f, s.w = f, bufio.NewWriterSize(f, 256<<10)
	if os.Remove(f.Name()) != nil {
		s.name = f.Name()
	}
	if _, err := s.w.Write(s.mem); err != nil {
		return err
	}
	s.mem = nil
	return nil
}

// section reads the n bytes written from offset off on.
func (s *spill) section(off, n int64) (io.Reader, error) {
	if s.f == nil {
		return bytes.NewReader(s.mem[off : off+n]), nil
	}
	if err := s.w.Flush(); err != nil {
		return nil, err
	}
	return io.NewSectionReader(s.f, off, n), nil
}

// close drops what was written and removes the file.
func (s *spill) close() error {
	s.mem = nil
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	if s.name != "" {
		if rerr := os.Remove(s.name); err == nil {
			err = rerr
		}
	}
	s.f, s.w, s.name = nil, nil, ""
	return err
}
