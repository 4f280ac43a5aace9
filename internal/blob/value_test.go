package blob

import (
	"bytes"
	"errors"
	"testing"

	"ite/internal/suite"
)

func TestSealValue(t *testing.T) {
	for _, su := range testSuites {
		t.Run(su.String(), func(t *testing.T) { testSealValue(t, su) })
	}
}

func testSealValue(t *testing.T, su suite.Suite) {
	master := bytes.Repeat([]byte{7}, 32)
	sealed, err := SealValue(su, master, []byte("11010519491231002X"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("19491231")) {
		t.Fatal("plaintext visible in sealed value")
	}
	t.Run("NamesItsAlgorithm", func(t *testing.T) {
		// intl keeps today's format (nonce ‖ ciphertext ‖ tag, no prefix),
		// so values sealed before CRYPTO existed and after read alike.
		wantLen, prefixed := nonceLen+18+tagLen, false
		if su.IsGM() {
			wantLen, prefixed = len(sm4ValueMagic)+wantLen, true
		}
		if len(sealed) != wantLen || bytes.HasPrefix(sealed, []byte(sm4ValueMagic)) != prefixed {
			t.Fatalf("sealed %d bytes %q…, want %d bytes, SM4 prefix %v", len(sealed), sealed[:8], wantLen, prefixed)
		}
	})
	t.Run("RoundTrip", func(t *testing.T) {
		got, err := OpenValue(master, sealed)
		if err != nil || string(got) != "11010519491231002X" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("WrongKeyRefused", func(t *testing.T) {
		if _, err := OpenValue(bytes.Repeat([]byte{8}, 32), sealed); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("FlippedByteRefused", func(t *testing.T) {
		for _, i := range []int{0, len(sealed) / 2, len(sealed) - 1} {
			bad := bytes.Clone(sealed)
			bad[i] ^= 1
			if _, err := OpenValue(master, bad); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("byte %d flipped: err %v", i, err)
			}
		}
	})
	t.Run("ShortMasterKeyRefused", func(t *testing.T) {
		if _, err := SealValue(su, master[:16], []byte("x")); err == nil {
			t.Fatal("sealed under a 16-byte master key")
		}
	})
}

// TestSealValueAESWithMagicLookingNonce: an AES value whose random nonce
// happens to begin with the SM4 prefix (one in 2^64) still opens.
func TestSealValueAESWithMagicLookingNonce(t *testing.T) {
	master := bytes.Repeat([]byte{7}, 32)
	g, err := aesSealing.masterGCM(master)
	if err != nil {
		t.Fatal(err)
	}
	nonce := []byte(sm4ValueMagic + "\x00\x01\x02\x03")
	sealed := g.Seal(bytes.Clone(nonce), nonce, []byte("110105"), valueAAD)
	if got, err := OpenValue(master, sealed); err != nil || string(got) != "110105" {
		t.Fatalf("got %q, %v", got, err)
	}
}
