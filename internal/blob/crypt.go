package blob

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"ite/internal/suite"
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
//
// Algorithm "sm4-gcm-chunked-v1" (AlgorithmSM4ChunkedV1, CRYPTO=gm) is the
// same format with SM4 (GB/T 32907) in place of AES, everything else as
// above except:
//
//	data key   = 16 random bytes (SM4 keys are 128 bits)
//	WrappedKey = nonce ‖ SM4-GCM(K, nonce, data key, "sm4-gcm-chunked-v1")   44 bytes,
//	             K = SM3-KDF(master key ‖ "ite-sm4-master-v1", 16 bytes)
//	header     = "itesm41\x00" ‖ P
//
// K comes from the same 32-byte master key through the key derivation
// function of GB/T 32918.4 (built on SM3), so an installation keeps one
// master key whichever CRYPTO it runs, and the two algorithms never share
// a key. Every document row records its algorithm (enc_alg); OpenDecrypted
// follows the row, not the installation's setting.
const (
	AlgorithmNone         = "none"
	AlgorithmChunkedV1    = "aes-256-gcm-chunked-v1"
	AlgorithmSM4ChunkedV1 = "sm4-gcm-chunked-v1"

	// SegmentSize is the plaintext size of each full segment.
	SegmentSize = 64 << 10
)

// ErrCorrupt: the stored bytes do not authenticate or do not match the
// recorded size or SHA-256 (tampered, truncated, reordered, or the wrong
// master key). Never show the partial output of a read that failed so.
var ErrCorrupt = errors.New("blob: stored content failed its integrity check")

const (
	magicLen     = 8
	prefixLen    = 8
	encHeaderLen = magicLen + prefixLen
	tagLen       = 16
	nonceLen     = 12
	// MasterKeyLen is the required master key length (32 bytes, in either
	// CRYPTO mode).
	MasterKeyLen = 32
	sm4KeyLen    = 16 // SM4 keys are 128 bits
)

// sealing is one algorithm of the chunked format: its block cipher and key
// size, the magic of its stored objects, and the key that wraps its data
// keys (and seals values), derived from the master key.
type sealing struct {
	alg    string
	magic  string // magicLen bytes
	keyLen int
	block  func(key []byte) (cipher.Block, error)
	kek    func(master []byte) []byte
}

var (
	aesSealing = &sealing{alg: AlgorithmChunkedV1, magic: "itegcm1\x00", keyLen: 32, block: aes.NewCipher,
		kek: func(master []byte) []byte { return master }}
	sm4Sealing = &sealing{alg: AlgorithmSM4ChunkedV1, magic: "itesm41\x00", keyLen: sm4KeyLen, block: sm4.NewCipher,
		kek: sm4MasterKey}
)

// sm4MasterKey is K of the sm4-gcm-chunked-v1 format: the SM3 KDF of the
// master key and a label naming its use.
func sm4MasterKey(master []byte) []byte {
	return sm3.Kdf(append(slices.Clip(master), "ite-sm4-master-v1"...), sm4KeyLen)
}

// sealingOf is how new files are sealed under the installation's choice.
func sealingOf(s suite.Suite) *sealing {
	if s.IsGM() {
		return sm4Sealing
	}
	return aesSealing
}

// sealingFor is the sealing a recorded enc_alg names.
func sealingFor(alg string) (*sealing, bool) {
	for _, s := range []*sealing{aesSealing, sm4Sealing} {
		if s.alg == alg {
			return s, true
		}
	}
	return nil, false
}

// gcm is the AEAD of this algorithm under key.
func (s *sealing) gcm(key []byte) (cipher.AEAD, error) {
	if len(key) != s.keyLen {
		return nil, fmt.Errorf("blob: %s key must be %d bytes, got %d", s.alg, s.keyLen, len(key))
	}
	b, err := s.block(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// masterGCM is the AEAD that wraps data keys and seals values.
func (s *sealing) masterGCM(master []byte) (cipher.AEAD, error) {
	if len(master) != MasterKeyLen {
		return nil, fmt.Errorf("blob: master key must be %d bytes, got %d", MasterKeyLen, len(master))
	}
	return s.gcm(s.kek(master))
}

// newDataKey is a fresh random data key for one file.
func (s *sealing) newDataKey() ([]byte, error) {
	k := make([]byte, s.keyLen)
	_, err := rand.Read(k)
	return k, err
}

// wrapKey seals dataKey under master (see the format above).
func (s *sealing) wrapKey(master, dataKey []byte) ([]byte, error) {
	g, err := s.masterGCM(master)
	if err != nil {
		return nil, err
	}
	out := make([]byte, nonceLen, nonceLen+s.keyLen+tagLen)
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return g.Seal(out, out[:nonceLen], dataKey, []byte(s.alg)), nil
}

// unwrapKey opens a wrapped data key; a wrong master key or a damaged
// wrapped key is ErrCorrupt.
func (s *sealing) unwrapKey(master, wrapped []byte) ([]byte, error) {
	g, err := s.masterGCM(master)
	if err != nil {
		return nil, err
	}
	if len(wrapped) != nonceLen+s.keyLen+tagLen {
		return nil, fmt.Errorf("%w: wrapped key has %d bytes", ErrCorrupt, len(wrapped))
	}
	k, err := g.Open(nil, wrapped[:nonceLen], wrapped[nonceLen:], []byte(s.alg))
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

func newEncryptReader(src io.Reader, s *sealing, dataKey []byte) (*encryptReader, error) {
	g, err := s.gcm(dataKey)
	if err != nil {
		return nil, err
	}
	e := &encryptReader{
		src:   src,
		aead:  g,
		plain: make([]byte, SegmentSize+1),
		out:   make([]byte, 0, SegmentSize+tagLen),
	}
	e.out = append(e.out, s.magic...)
	e.out = e.out[:encHeaderLen]
	if _, err := rand.Read(e.out[magicLen:]); err != nil {
		return nil, err
	}
	copy(e.nonce[:prefixLen], e.out[magicLen:])
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
func newDecryptReader(src io.Reader, s *sealing, dataKey []byte) (*decryptReader, error) {
	g, err := s.gcm(dataKey)
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
	if string(hdr[:magicLen]) != s.magic {
		return nil, fmt.Errorf("%w: not an %s blob", ErrCorrupt, s.alg)
	}
	d := &decryptReader{
		src:   src,
		aead:  g,
		ct:    make([]byte, SegmentSize+tagLen+1),
		plain: make([]byte, 0, SegmentSize),
	}
	copy(d.nonce[:prefixLen], hdr[magicLen:])
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
