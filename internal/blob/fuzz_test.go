package blob

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzSniff feeds arbitrary uploads to the type check: Sniff and the ZIP
// directory walk must never panic or loop, must agree with themselves, and
// the streaming path (tail window) must give the same verdict as reading
// the whole file. Seeds live in testdata/fuzz/FuzzSniff. Run with:
//
//	go test ./internal/blob -run '^$' -fuzz FuzzSniff -fuzztime 1m
func FuzzSniff(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		kind, ok := Sniff(data)
		if ok != (kind != "") {
			t.Fatalf("Sniff = %q, %v", kind, ok)
		}
		if ok && ContentType(kind) == "application/octet-stream" {
			t.Fatalf("accepted kind %q has no content type", kind)
		}
		whole, err := IsOFD(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("IsOFD on an in-memory file failed: %v", err)
		}
		// A window holding the whole file must agree exactly; a smaller one
		// may only add "directory outside the window".
		for _, size := range []int{len(data) + 1, len(data)/2 + 1} {
			w := newTailWindow(size)
			w.Write(data)
			streamed, err := IsOFD(w, int64(len(data)))
			if err != nil && (size > len(data) || !errors.Is(err, errOutsideWindow)) {
				t.Fatalf("IsOFD through a %d-byte window failed: %v", size, err)
			}
			if err == nil && streamed != whole {
				t.Fatalf("IsOFD through a %d-byte window = %v; on the whole file %v", size, streamed, whole)
			}
		}
	})
}
