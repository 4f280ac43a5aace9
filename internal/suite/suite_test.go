package suite

import (
	"encoding/hex"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Suite{"": Intl, "intl": Intl, "gm": GM} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"GM", "sm", "aes", " gm"} {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), "CRYPTO") {
			t.Errorf("Parse(%q): err = %v, want a CRYPTO error", in, err)
		}
	}
}

func TestChainHash(t *testing.T) {
	if Suite("").ChainHash() != ChainSHA256 || Intl.ChainHash() != ChainSHA256 || GM.ChainHash() != ChainSM3 {
		t.Fatal("ChainHash does not follow the suite")
	}
	if _, ok := NewChainHash("md5-v1"); ok {
		t.Fatal("unknown algorithm accepted")
	}
}

// TestChainHashVectors: GB/T 32905-2016 appendix A.1 (SM3 of "abc") and
// FIPS 180-2 (SHA-256 of "abc"), through the names stored in hash_alg.
func TestChainHashVectors(t *testing.T) {
	for alg, want := range map[string]string{
		ChainSM3:    "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
		ChainSHA256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	} {
		h, ok := NewChainHash(alg)
		if !ok {
			t.Fatalf("%s unknown", alg)
		}
		h.Write([]byte("abc"))
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			t.Errorf("%s(abc) = %s, want %s", alg, got, want)
		}
	}
}
