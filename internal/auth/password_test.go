package auth

import (
	"strings"
	"testing"
)

var fastParams = Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("Correct-Horse-9", fastParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("unexpected encoding %q", h)
	}
	t.Run("RightPasswordAccepted", func(t *testing.T) {
		ok, err := VerifyPassword("Correct-Horse-9", h)
		if err != nil || !ok {
			t.Fatalf("ok=%v err=%v", ok, err)
		}
	})
	t.Run("WrongPasswordRefused", func(t *testing.T) {
		ok, err := VerifyPassword("Correct-Horse-8", h)
		if err != nil || ok {
			t.Fatalf("ok=%v err=%v", ok, err)
		}
	})
	t.Run("SaltDiffers", func(t *testing.T) {
		h2, _ := HashPassword("Correct-Horse-9", fastParams)
		if h2 == h {
			t.Fatal("two hashes of one password are equal: salt not random")
		}
	})
	t.Run("MalformedRefused", func(t *testing.T) {
		for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=x$AA$AA", h[:len(h)-50]} {
			if ok, err := VerifyPassword("x", bad); err == nil || ok {
				t.Errorf("%q: ok=%v err=%v", bad, ok, err)
			}
		}
	})
}

func TestNewTokenUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := NewToken()
		if len(tok) != 43 || seen[tok] {
			t.Fatalf("bad or repeated token %q", tok)
		}
		seen[tok] = true
	}
}
