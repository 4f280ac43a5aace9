package blob

import (
	"crypto/rand"
	"fmt"
)

// valueAAD binds sealed values to their purpose, so a sealed ID number can
// never be passed off as a wrapped file key or the other way round.
var valueAAD = []byte("ite-value-v1")

// SealValue encrypts a small sensitive value (an ID number) under the
// master key with AES-256-GCM: nonce ‖ ciphertext ‖ tag. For files use
// Ingest, which streams.
func SealValue(master, plaintext []byte) ([]byte, error) {
	g, err := newGCM(master)
	if err != nil {
		return nil, fmt.Errorf("blob: master key: %w", err)
	}
	out := make([]byte, nonceLen, nonceLen+len(plaintext)+tagLen)
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return g.Seal(out, out[:nonceLen], plaintext, valueAAD), nil
}

// OpenValue reverses SealValue. Errors: ErrCorrupt (wrong key or damaged).
func OpenValue(master, sealed []byte) ([]byte, error) {
	g, err := newGCM(master)
	if err != nil {
		return nil, fmt.Errorf("blob: master key: %w", err)
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
