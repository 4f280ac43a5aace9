package blob

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"

	"ite/internal/suite"
)

// valueAAD binds sealed values to their purpose, so a sealed ID number can
// never be passed off as a wrapped file key or the other way round.
var valueAAD = []byte("ite-value-v1")

// sm4ValueMagic starts a value sealed with SM4: the column that holds a
// sealed value has no algorithm of its own, so the value names it. AES
// values, the format from before CRYPTO existed, carry no prefix.
const sm4ValueMagic = "itesm4v1"

// SealValue encrypts a small sensitive value (an ID number) under the
// master key: nonce ‖ ciphertext ‖ tag with AES-256-GCM under the suite
// Intl (the zero value), or "itesm4v1" ‖ nonce ‖ ciphertext ‖ tag with
// SM4-GCM under the SM4 master key (see AlgorithmSM4ChunkedV1) under GM.
// For files use Ingest, which streams.
func SealValue(s suite.Suite, master, plaintext []byte) ([]byte, error) {
	sl := sealingOf(s)
	g, err := sl.masterGCM(master)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(sm4ValueMagic)+nonceLen+len(plaintext)+tagLen)
	if sl == sm4Sealing {
		out = append(out, sm4ValueMagic...)
	}
	out = out[:len(out)+nonceLen]
	nonce := out[len(out)-nonceLen:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return g.Seal(out, nonce, plaintext, valueAAD), nil
}

// OpenValue reverses SealValue, whichever suite sealed the value.
// Errors: ErrCorrupt (wrong key or damaged).
func OpenValue(master, sealed []byte) ([]byte, error) {
	if rest, ok := bytes.CutPrefix(sealed, []byte(sm4ValueMagic)); ok {
		v, err := openValue(sm4Sealing, master, rest)
		if !errors.Is(err, ErrCorrupt) {
			return v, err
		}
		// Else perhaps an AES value whose random nonce starts with the
		// magic (one in 2^64): it is tried as one below.
	}
	return openValue(aesSealing, master, sealed)
}

func openValue(sl *sealing, master, sealed []byte) ([]byte, error) {
	g, err := sl.masterGCM(master)
	if err != nil {
		return nil, err
	}
	if len(sealed) < nonceLen+tagLen {
		return nil, fmt.Errorf("%w: sealed value too short", ErrCorrupt)
	}
	v, err := g.Open(nil, sealed[:nonceLen], sealed[nonceLen:], valueAAD)
	if err != nil {
		return nil, fmt.Errorf("%w: value does not open with this master key", ErrCorrupt)
	}
	return v, nil
}
