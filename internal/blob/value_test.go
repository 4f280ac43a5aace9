package blob

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealValue(t *testing.T) {
	master := bytes.Repeat([]byte{7}, 32)
	sealed, err := SealValue(master, []byte("11010519491231002X"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("19491231")) {
		t.Fatal("plaintext visible in sealed value")
	}
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
		bad := bytes.Clone(sealed)
		bad[len(bad)-1] ^= 1
		if _, err := OpenValue(master, bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("err %v", err)
		}
	})
}
