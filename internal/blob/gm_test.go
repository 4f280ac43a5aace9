package blob

import (
	"bytes"
	"encoding/hex"
	"os"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSM4BlockVector: GB/T 32907-2016 appendix A, example 1, through the
// cipher the gm sealing uses.
func TestSM4BlockVector(t *testing.T) {
	key := unhex(t, "0123456789abcdeffedcba9876543210")
	b, err := sm4Sealing.block(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 16)
	b.Encrypt(out, key) // the standard's plaintext equals its key
	if got := hex.EncodeToString(out); got != "681edf34d206965e86b3e94f536e4246" {
		t.Fatalf("SM4(key, key) = %s", got)
	}
}

// TestSM4GCMVector: RFC 8998 appendix A.1 (SM4-GCM), through the AEAD the
// gm sealing builds (sm4 block in crypto/cipher's GCM).
func TestSM4GCMVector(t *testing.T) {
	g, err := sm4Sealing.gcm(unhex(t, "0123456789abcdeffedcba9876543210"))
	if err != nil {
		t.Fatal(err)
	}
	nonce := unhex(t, "00001234567800000000abcd")
	aad := unhex(t, "feedfacedeadbeeffeedfacedeadbeefabaddad2")
	plain := unhex(t, "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd"+
		"eeeeeeeeeeeeeeeeffffffffffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa")
	want := "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735" +
		"d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d" +
		"83de3541e4c2b58177e065a9bf7b62ec" // the tag
	sealed := g.Seal(nil, nonce, plain, aad)
	if got := hex.EncodeToString(sealed); got != want {
		t.Fatalf("SM4-GCM = %s\nwant      %s", got, want)
	}
	if got, err := g.Open(nil, nonce, sealed, aad); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %v", err)
	}
}

// TestSM4MasterKeyIsPinned fixes K of sm4-gcm-chunked-v1: if the
// derivation changed, no file or value sealed under CRYPTO=gm would open.
// Recomputed outside Go: GB/T 32918.4 KDF, SM3(master ‖ label ‖
// 00000001) cut to 16 bytes (Python hashlib with OpenSSL's sm3).
func TestSM4MasterKeyIsPinned(t *testing.T) {
	master := make([]byte, MasterKeyLen)
	for i := range master {
		master[i] = byte(i)
	}
	if got := hex.EncodeToString(sm4MasterKey(master)); got != "616e76f4a9a64efc0ed306eb1cc9c881" {
		t.Fatalf("K = %s", got)
	}
	if master[0] != 0 || master[31] != 31 || len(master) != MasterKeyLen {
		t.Fatal("deriving K changed the master key")
	}
}

// TestIntlStoredBeforeCryptoOpens: a file and an ID number sealed by the
// code from before CRYPTO existed (testdata/intl-v1.blob, master key 32
// bytes of 0x5a) still open: intl mode kept its formats byte for byte.
func TestIntlStoredBeforeCryptoOpens(t *testing.T) {
	master := bytes.Repeat([]byte{0x5a}, 32)
	stored, err := os.ReadFile("testdata/intl-v1.blob")
	if err != nil {
		t.Fatal(err)
	}
	s := newLocal(t)
	put(t, s, "docs/golden", stored)
	m := Meta{Size: 1409, SHA256: "4eef1b8a58580c8838c36f3c12e80e92a4a1e0cef7252c9ccfa49f074c02a714",
		Encrypted: true, Algorithm: AlgorithmChunkedV1,
		WrappedKey: unhex(t, "ecbf35bb2276d8bff97ee973419d9b14e37ae87379157ad33fbf8e8697f9ca15866aae85a2dbe31dc7a63a8e131690b9d5032bdd66a22eedd68cdffb")}
	got, err := readAllOf(t, s, "docs/golden", m, master)
	if err != nil || len(got) != 1409 || !bytes.HasPrefix(got, []byte("%PDF-1.7\n居民身份证")) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	v, err := OpenValue(master, unhex(t, "116d3e01e7bc4b0228a827899bda7527f2a9cde28697c2d1d499b0d49232dfbfb96d23043aaeea3791e73fda66df"))
	if err != nil || string(v) != "11010519491231002X" {
		t.Fatalf("value %q, %v", v, err)
	}
}
