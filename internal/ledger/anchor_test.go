package ledger

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"
)

func TestCheckpointSeqs(t *testing.T) {
	if got := CheckpointSeqs(0); got != nil {
		t.Fatalf("empty chain: %v", got)
	}
	if got := CheckpointSeqs(3); len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("3: %v", got)
	}
	got := CheckpointSeqs(1_000_000)
	if len(got) > AnchorDenseTail+25 || got[0] != 1 || got[len(got)-1] != 1_000_000 || got[len(got)-AnchorDenseTail] != 1_000_000-AnchorDenseTail+1 {
		t.Fatalf("1e6: %d checkpoints %v", len(got), got)
	}
}

func TestAnchorSignVerifyCompare(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	key := ed25519.NewKeyFromSeed(seed)
	hashes := map[int64]string{}
	var cps []Checkpoint
	for _, s := range CheckpointSeqs(100) {
		hashes[s] = strings.Repeat(string("0123456789abcdef"[s%16]), 64)
		cps = append(cps, Checkpoint{Seq: s, Hash: hashes[s]})
	}
	chain := AnchoredChain{Count: 100, Seq: 100, Hash: hashes[100], Algorithm: HashAlgorithm, Checkpoints: cps}
	a := NewAnchor(time.Date(2026, 3, 31, 16, 0, 0, 0, time.UTC), "daily", chain, AnchoredChain{Algorithm: "sha256"})
	if err := a.Sign(key); err != nil {
		t.Fatal(err)
	}
	doc, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseAnchor(doc)
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	if err := back.Verify(pub); err != nil {
		t.Fatalf("verify: %v", err)
	}
	t.Run("ChangedDocumentRefused", func(t *testing.T) {
		b := back
		b.Ledger.Hash = hashes[99]
		if err := b.Verify(pub); err == nil || !strings.Contains(err.Error(), "签名无效") {
			t.Fatalf("changed: %v", err)
		}
	})
	t.Run("OtherKeyRefused", func(t *testing.T) {
		other := ed25519.NewKeyFromSeed([]byte(strings.Repeat("k", 32)))
		if err := back.Verify(other.Public().(ed25519.PublicKey)); err == nil || !strings.Contains(err.Error(), "公钥") {
			t.Fatalf("other key: %v", err)
		}
	})
	t.Run("Extended", func(t *testing.T) {
		if d := back.Ledger.Compare(hashes); d.FirstBad != 0 || d.Describe("", "号凭证") != "" {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("RewriteInTheTailIsNamed", func(t *testing.T) {
		changed := map[int64]string{}
		for s, h := range hashes {
			changed[s] = h
			if s >= 90 {
				changed[s] = strings.Repeat("f", 64)
			}
		}
		d := back.Ledger.Compare(changed)
		if d.FirstBad != 90 || d.LastGood != 89 || !strings.HasPrefix(d.Describe("", "号凭证"), "第 90 号凭证与锚定时不同") {
			t.Fatalf("%+v %s", d, d.Describe("", "号凭证"))
		}
	})
	t.Run("TruncatedChain", func(t *testing.T) {
		cut := map[int64]string{}
		for s, h := range hashes {
			if s < 50 {
				cut[s] = h
			}
		}
		if d := back.Ledger.Compare(cut); d.FirstBad != 50 || !d.Missing {
			t.Fatalf("%+v", d)
		}
	})
}
