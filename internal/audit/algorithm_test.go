package audit

import (
	"errors"
	"testing"
	"time"
)

// TestHashIsPinned fixes both algorithms over one record: if a hash
// changes, every stored audit log stops verifying. The values were
// recomputed outside Go from the canonical encoding (Python hashlib,
// "sha256" and OpenSSL's "sm3").
func TestHashIsPinned(t *testing.T) {
	r := Record{Seq: 1, At: time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC), ActorID: 7,
		ActorName: "张三", ActorRole: "staff", IP: "127.0.0.1", Event: "login", Outcome: Success,
		Detail: []byte(`{"a":"x","b":1}`), PrevHash: GenesisHash}
	for alg, want := range map[string]string{
		"":           "ec9dfe274758351a9492770d5bb9993184b3dd2c4b11c1fb92f8a5d799f0f213",
		Algorithm:    "ec9dfe274758351a9492770d5bb9993184b3dd2c4b11c1fb92f8a5d799f0f213",
		AlgorithmSM3: "e949cde73d255f61b778b2f2b0a456ce330bfe3ac8cf718eba0f3fea47a54f0d",
	} {
		r.HashAlg = alg
		if got := r.ComputeHash(); got != want {
			t.Errorf("%q: hash %s, want %s", alg, got, want)
		}
	}
}

func TestNewRecordWith(t *testing.T) {
	e := Event{Name: "login", Outcome: Success}
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	intl, _ := NewRecordWith(Algorithm, e, at, 0, GenesisHash)
	gm, _ := NewRecordWith(AlgorithmSM3, e, at, 0, GenesisHash)
	if intl.HashAlg != Algorithm || gm.HashAlg != AlgorithmSM3 || intl.Hash == gm.Hash || len(gm.Hash) != 64 {
		t.Fatalf("intl %s:%s, gm %s:%s", intl.HashAlg, intl.Hash, gm.HashAlg, gm.Hash)
	}
	if plain, _ := NewRecord(e, at, 0, GenesisHash); plain.Hash != intl.Hash || plain.HashAlg != intl.HashAlg {
		t.Fatal("NewRecord and NewRecordWith(Algorithm) differ")
	}
	if _, err := NewRecordWith("md5-v1", e, at, 0, GenesisHash); err == nil {
		t.Fatal("unknown algorithm accepted")
	}
}

// TestMixedChain: rows written under CRYPTO=intl, then the installation
// switched to gm. The chain links across the switch and verifies; a row
// changed on either side, or relabelled with the other algorithm, fails.
func TestMixedChain(t *testing.T) {
	mixed := func() []Record {
		rs := chainAlg(t, 3, Algorithm)
		at := rs[2].At
		for i := range 3 {
			last := rs[len(rs)-1]
			r, err := NewRecordWith(AlgorithmSM3, Event{Actor: Actor{ID: 9, Name: "李四"}, Name: "login", Outcome: Failure},
				at.Add(time.Duration(i+1)*time.Minute), last.Seq, last.Hash)
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, r)
		}
		return rs
	}
	if err := verify(mixed()); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		tamper   func([]Record)
		firstBad int64
	}{
		"ChangedBeforeSwitchCaught": {func(rs []Record) { rs[1].IP = "10.0.0.1" }, 2},
		"ChangedAfterSwitchCaught":  {func(rs []Record) { rs[4].Outcome = Success }, 5},
		"RelabelledCaught":          {func(rs []Record) { rs[3].HashAlg = Algorithm }, 4},
		"UnknownAlgorithmCaught":    {func(rs []Record) { rs[5].HashAlg = "md5-v1" }, 6},
	} {
		t.Run(name, func(t *testing.T) {
			rs := mixed()
			c.tamper(rs)
			var ce *ChainError
			if err := verify(rs); !errors.As(err, &ce) || ce.Seq != c.firstBad {
				t.Fatalf("got %v, want the chain broken at %d", err, c.firstBad)
			}
		})
	}
}
