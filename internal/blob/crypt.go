package blob

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Encryption at rest for sensitive documents (ID copies, credit reports).
//
// Algorithm "aes-256-gcm-chunked-v1" (AlgorithmChunkedV1):
//
// Each blob gets its own random 256-bit data key. The data key is stored
// only wrapped by the master key (DATA_DIR/secrets/master.key or
// MASTER_KEY), in the database row next to the blob key:
//
//	WrappedKey = nonce (12 random bytes) ‖ AES-256-GCM(master key, nonce,
//	             plaintext = data key (32 bytes),
//	             additional data = "aes-256-gcm-chunked-v1")     60 bytes
//
// The stored object is a header followed by segments:
//
//	header   = "itegcm1\x00" (8 bytes) ‖ P (8 random bytes, the nonce prefix)
//	segment i = AES-256-GCM(data key, nonce = P ‖ uint32 big-endian i,
//	            plaintext = the i-th 64 KiB of the file,
//	            additional data = 0x01 if this is the last segment, else 0x00)
//
// Every segment but the last holds exactly SegmentSize (65,536) plaintext
// bytes, i.e. 65,552 stored bytes with its 16-byte tag; the last holds 1
// to 65,536 bytes (0 only for an empty file, which is a single empty last
// segment). So a stored object of a plaintext of n > 0 bytes has
// 16 + n + 16·⌈n/65536⌉ bytes.
//
// Why this shape: segments let a 20 MiB (or 200 MiB) file be encrypted
// and decrypted as a stream with 64 KiB buffers, and each segment is
// authenticated before any of its plaintext is released. The counter in
// the nonce makes swapped, repeated or dropped segments fail
// authentication; the last-segment flag in the additional data makes a
// file cut at a segment boundary fail (the new last segment was sealed as
// "not last"), as does anything appended after the real last segment. The
// random prefix P is defence in depth: nonces stay unique even if a data
// key were ever reused by mistake. A reader that stops early (a download
// cancelled half-way) has seen only authentic bytes but not yet verified
// the end; only reaching io.EOF means the whole file was verified.
const (
	AlgorithmNone      = "none"
	AlgorithmChunkedV1 = "aes-256-gcm-chunked-v1"

	// SegmentSize is the plaintext size of each full segment.
	SegmentSize = 64 << 10
)

// ErrCorrupt: the stored bytes do not authenticate or do not match the
// recorded size or SHA-256 (tampered, truncated, reordered, or the wrong
// master key). Never show the partial output of a read that failed so.
var ErrCorrupt = errors.New("blob: stored content failed its integrity check")

const (
	encMagic     = "itegcm1\x00"
	prefixLen    = 8
	encHeaderLen = len(encMagic) + prefixLen
	tagLen       = 16
	nonceLen     = 12
	keyLen       = 32
	// MasterKeyLen is the required master key length (AES-256).
	MasterKeyLen = keyLen
)

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != keyLen {
		return nil, fmt.Errorf("blob: key must be %d bytes, got %d", keyLen, len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// wrapKey seals dataKey under master (see the format above).
func wrapKey(master, dataKey []byte) ([]byte, error) {
	g, err := newGCM(master)
	if err != nil {
		return nil, fmt.Errorf("blob: master key: %w", err)
	}
	out := make([]byte, nonceLen, nonceLen+keyLen+tagLen)
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return g.Seal(out, out[:nonceLen], dataKey, []byte(AlgorithmChunkedV1)), nil
}

// unwrapKey opens a wrapped data key; a wrong master key or a damaged
// wrapped key is ErrCorrupt.
func unwrapKey(master, wrapped []byte) ([]byte, error) {
	g, err := newGCM(master)
	if err != nil {
		return nil, fmt.Errorf("blob: master key: %w", err)
	}
	if len(wrapped) != nonceLen+keyLen+tagLen {
		return nil, fmt.Errorf("%w: wrapped key has %d bytes", ErrCorrupt, len(wrapped))
	}
	k, err := g.Open(nil, wrapped[:nonceLen], wrapped[nonceLen:], []byte(AlgorithmChunkedV1))
	if err != nil {
		return nil, fmt.Errorf("%w: data key does not unwrap with this master key", ErrCorrupt)
	}
	return k, nil
}

var (
	aadMore = []byte{0}
	aadLast = []byte{1}
)

// maxSegments: the counter is 32 bits (256 TiB per blob); refuse rather
// than wrap around and reuse a nonce.
const maxSegments = 1 << 32

// encryptReader turns a plaintext stream into the stored format. It pulls
// (rather than being an io.Writer) so it can sit between the upload and
// Store.Put without a goroutine and pipe. Buffers: one segment of
// plaintext plus one byte of look-ahead (to know whether a segment is the
// last), and one sealed segment.
type encryptReader struct {
	src   io.Reader
	aead  cipher.AEAD
	nonce [nonceLen]byte
	seg   uint64
	plain []byte // len SegmentSize+1
	held  int    // look-ahead bytes carried into the next segment
	out   []byte // sealed bytes not yet returned
	off   int
	done  bool
	err   error
}

func newEncryptReader(src io.Reader, dataKey []byte) (*encryptReader, error) {
	g, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	e := &encryptReader{
		src:   src,
		aead:  g,
		plain: make([]byte, SegmentSize+1),
		out:   make([]byte, 0, SegmentSize+tagLen),
	}
	e.out = append(e.out, encMagic...)
	e.out = e.out[:encHeaderLen]
	if _, err := rand.Read(e.out[len(encMagic):]); err != nil {
		return nil, err
	}
	copy(e.nonce[:prefixLen], e.out[len(encMagic):])
	return e, nil
}

func (e *encryptReader) Read(p []byte) (int, error) {
	for e.off == len(e.out) {
		if e.err != nil {
			return 0, e.err
		}
		if e.done {
			return 0, io.EOF
		}
		e.err = e.seal()
	}
	n := copy(p, e.out[e.off:])
	e.off += n
	return n, nil
}

// seal reads the next segment and seals it into e.out.
func (e *encryptReader) seal() error {
	n, err := io.ReadFull(e.src, e.plain[e.held:])
	n += e.held
	last := false
	switch err {
	case nil: // a full segment and at least one byte more: not the last
		n = SegmentSize
	case io.EOF, io.ErrUnexpectedEOF:
		last = true
	default:
		return err
	}
	if e.seg >= maxSegments {
		return errors.New("blob: file too large to encrypt")
	}
	binary.BigEndian.PutUint32(e.nonce[prefixLen:], uint32(e.seg))
	aad := aadMore
	if last {
		aad = aadLast
	}
	e.out = e.aead.Seal(e.out[:0], e.nonce[:], e.plain[:n], aad)
	e.off = 0
	e.seg++
	if last {
		e.done = true
	} else {
		e.plain[0] = e.plain[SegmentSize]
		e.held = 1
	}
	return nil
}

// decryptReader reverses encryptReader, releasing each segment's
// plaintext only after it authenticates, and reporting io.EOF only after
// the segment sealed as last.
type decryptReader struct {
	src   io.Reader
	aead  cipher.AEAD
	nonce [nonceLen]byte
	seg   uint64
	ct    []byte // len SegmentSize+tagLen+1
	held  int
	plain []byte
	off   int
	done  bool
	err   error
}

// newDecryptReader reads and checks the header now, so a blob that is not
// in this format (say, a plaintext one) fails at open, not mid-download.
func newDecryptReader(src io.Reader, dataKey []byte) (*decryptReader, error) {
	g, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	var hdr [encHeaderLen]byte
	if _, err := io.ReadFull(src, hdr[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%w: header truncated", ErrCorrupt)
		}
		return nil, err
	}
	if string(hdr[:len(encMagic)]) != encMagic {
		return nil, fmt.Errorf("%w: not an %s blob", ErrCorrupt, AlgorithmChunkedV1)
	}
	d := &decryptReader{
		src:   src,
		aead:  g,
		ct:    make([]byte, SegmentSize+tagLen+1),
		plain: make([]byte, 0, SegmentSize),
	}
	copy(d.nonce[:prefixLen], hdr[len(encMagic):])
	return d, nil
}

func (d *decryptReader) Read(p []byte) (int, error) {
	for d.off == len(d.plain) {
		if d.err != nil {
			return 0, d.err
		}
		if d.done {
			return 0, io.EOF
		}
		d.err = d.open()
	}
	n := copy(p, d.plain[d.off:])
	d.off += n
	return n, nil
}

func (d *decryptReader) open() error {
	n, err := io.ReadFull(d.src, d.ct[d.held:])
	n += d.held
	last := false
	switch err {
	case nil:
		n = SegmentSize + tagLen
	case io.EOF, io.ErrUnexpectedEOF:
		last = true
	default:
		return err
	}
	if n < tagLen || d.seg >= maxSegments {
		return fmt.Errorf("%w: truncated at segment %d", ErrCorrupt, d.seg)
	}
	binary.BigEndian.PutUint32(d.nonce[prefixLen:], uint32(d.seg))
	aad := aadMore
	if last {
		aad = aadLast
	}
	plain, err := d.aead.Open(d.plain[:0], d.nonce[:], d.ct[:n], aad)
	if err != nil {
		return fmt.Errorf("%w: segment %d does not authenticate", ErrCorrupt, d.seg)
	}
	d.plain, d.off = plain, 0
	d.seg++
	if last {
		d.done = true
	} else {
		d.ct[0] = d.ct[SegmentSize+tagLen]
		d.held = 1
	}
	return nil
}
