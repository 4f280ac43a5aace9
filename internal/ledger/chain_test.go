package ledger

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chainAlgs are the chain hashes an installation can choose (CRYPTO=intl,
// CRYPTO=gm); the chain tests run under each.
var chainAlgs = []string{HashAlgorithm, HashSM3}

// sampleChain seals n entries: an appropriation, then disbursements, every
// fifth one reversed.
func sampleChain(t testing.TB, n int) []Entry { return sampleChainAlg(t, n, HashAlgorithm) }

// sampleChainAlg is sampleChain with the entries hashed under alg.
func sampleChainAlg(t testing.TB, n int, alg string) []Entry {
	t.Helper()
	head := Genesis()
	at := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.FixedZone("CST", 8*3600))
	out := make([]Entry, 0, n)
	for i := range n {
		var e Entry
		var err error
		switch {
		case i == 0:
			e, err = Appropriation(7, dec("100000000"))
		case i%5 == 0:
			e, err = Reverse(out[i-1])
		default:
			e, err = Disbursement(7, int64(100+i), dec("1000.01"))
		}
		if err != nil {
			t.Fatal(err)
		}
		e = complete(e)
		e.IdempotencyKey = "key-" + strconv.Itoa(i)
		e.CreatedAt = at.Add(time.Duration(i) * time.Second)
		e.HashAlg = alg
		if e, err = Seal(head, e); err != nil {
			t.Fatalf("Seal %d: %v", i+1, err)
		}
		head = e.Head()
		out = append(out, e)
	}
	return out
}

func verify(entries []Entry) (int64, error) { return VerifyChain(slices.Values(entries)) }

func wantChainError(t *testing.T, entries []Entry, seq int64, fragment string) {
	t.Helper()
	bad, err := verify(entries)
	var ce *ChainError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want *ChainError", err)
	}
	if bad != seq || ce.Seq != seq {
		t.Errorf("first bad %d (error says %d), want %d: %v", bad, ce.Seq, seq, err)
	}
	if !strings.Contains(ce.Reason, fragment) {
		t.Errorf("reason %q, want it to contain %q", ce.Reason, fragment)
	}
}

func TestChain(t *testing.T) {
	for _, alg := range chainAlgs {
		t.Run(alg, func(t *testing.T) { testChain(t, alg) })
	}
}

func testChain(t *testing.T, alg string) {
	entries := sampleChainAlg(t, 12, alg)

	t.Run("IntactChainVerifies", func(t *testing.T) {
		if bad, err := verify(entries); err != nil || bad != 0 {
			t.Fatalf("verify: %d %v", bad, err)
		}
		if entries[0].PrevHash != GenesisHash || entries[0].Seq != 1 || entries[11].Seq != 12 {
			t.Fatalf("seal numbering: %+v", entries[0])
		}
		if entries[1].PrevHash != entries[0].Hash {
			t.Fatal("entry 2 does not link to entry 1")
		}
		if entries[11].HashAlg != alg || entries[11].Head().Algorithm != alg {
			t.Fatalf("entry 12 sealed under %q, want %q", entries[11].HashAlg, alg)
		}
	})

	t.Run("CreatedAtStoredAtMicroseconds", func(t *testing.T) {
		// What PostgreSQL hands back must hash the same as what was sealed.
		e := entries[3]
		if e.CreatedAt.Nanosecond()%1000 != 0 || e.CreatedAt.Location() != time.UTC {
			t.Fatalf("CreatedAt not normalised: %v", e.CreatedAt)
		}
		fromDB := e
		fromDB.CreatedAt = e.CreatedAt.In(time.FixedZone("x", 3600))
		fromDB.ValueDate = time.Date(2025, 3, 14, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
		if Hash(e.PrevHash, fromDB) != e.Hash {
			t.Fatal("same instant and same calendar day hash differently")
		}
	})

	t.Run("DetectsChangedAmountOnBothSides", func(t *testing.T) {
		c := clone(entries)
		c[6].Postings[0].Amount = dec("9999.99")
		c[6].Postings[1].Amount = dec("9999.99")
		wantChainError(t, c, 7, "哈希不符")
	})

	t.Run("DetectsChangedAmountOnOneSide", func(t *testing.T) {
		c := clone(entries)
		c[3].Postings[0].Amount = dec("1000.02")
		wantChainError(t, c, 4, "借贷不平衡")
	})

	t.Run("DetectsChangedMemo", func(t *testing.T) {
		c := clone(entries)
		c[8].Memo += "。"
		wantChainError(t, c, 9, "哈希不符")
	})

	t.Run("DetectsSwappedEntries", func(t *testing.T) {
		c := clone(entries)
		c[3], c[4] = c[4], c[3]
		wantChainError(t, c, 5, "序号不连续")
	})

	t.Run("DetectsSwappedContentUnderSameNumbers", func(t *testing.T) {
		c := clone(entries)
		c[3], c[4] = c[4], c[3]
		c[3].Seq, c[4].Seq = 4, 5
		wantChainError(t, c, 4, "哈希链断裂")
	})

	t.Run("DetectsBrokenPrevLink", func(t *testing.T) {
		c := clone(entries)
		c[9].PrevHash = strings.Repeat("a", 64)
		wantChainError(t, c, 10, "哈希链断裂")
	})

	t.Run("DetectsRehashedEntryAfterIt", func(t *testing.T) {
		// Rewriting entry 6 and recomputing its own hash still breaks 7.
		c := clone(entries)
		c[5].Memo = "改过的摘要"
		c[5].Hash = Hash(c[5].PrevHash, c[5])
		wantChainError(t, c, 7, "哈希链断裂")
	})

	t.Run("DetectsMissingEntry", func(t *testing.T) {
		c := slices.Delete(clone(entries), 2, 3)
		wantChainError(t, c, 4, "应为第 3 号")
	})

	t.Run("DetectsUnknownAlgorithm", func(t *testing.T) {
		c := clone(entries)
		c[0].HashAlg = "md5"
		wantChainError(t, c, 1, "不支持的哈希算法")
	})

	t.Run("DetectsRelabelledAlgorithm", func(t *testing.T) {
		// The other algorithm's name on an entry does not verify: the
		// name is hashed, and the hash is the other function's.
		c := clone(entries)
		c[2].HashAlg = chainAlgs[0]
		if alg == chainAlgs[0] {
			c[2].HashAlg = chainAlgs[1]
		}
		wantChainError(t, c, 3, "哈希不符")
	})

	t.Run("ReportsOnlyTheFirstBad", func(t *testing.T) {
		c := clone(entries)
		c[10].Memo = "x"
		c[4].Memo = "y"
		v := NewVerifier()
		var first error
		for _, e := range c {
			if err := v.Add(e); err != nil && first == nil {
				first = err
			}
		}
		if ce := v.Err().(*ChainError); ce.Seq != 5 || first != v.Err() {
			t.Fatalf("first error %v, verifier says %v", first, v.Err())
		}
		if v.Head().Seq != 4 || v.Count() != 4 {
			t.Fatalf("head %v count %d, want the last good entry 4", v.Head(), v.Count())
		}
	})

	t.Run("ResumesFromCheckpoint", func(t *testing.T) {
		v := NewVerifierFrom(entries[5].Head())
		for _, e := range entries[6:] {
			if err := v.Add(e); err != nil {
				t.Fatal(err)
			}
		}
		if v.Head() != entries[11].Head() {
			t.Fatalf("head %v", v.Head())
		}
	})
}

// TestMixedChain: an installation that ran under CRYPTO=intl and then
// switched to gm has a chain whose first entries are SHA-256 and the rest
// SM3, linked across the switch; it verifies, and a change on either side
// of the switch is still found.
func TestMixedChain(t *testing.T) {
	intl := sampleChainAlg(t, 12, HashAlgorithm)[:6]
	head := intl[5].Head()
	mixed := slices.Clone(intl)
	for _, e := range sampleChainAlg(t, 12, HashSM3)[6:] {
		e, err := Seal(head, e)
		if err != nil {
			t.Fatal(err)
		}
		head = e.Head()
		mixed = append(mixed, e)
	}
	if bad, err := verify(mixed); err != nil {
		t.Fatalf("mixed chain: first bad %d: %v", bad, err)
	}
	if mixed[5].HashAlg != HashAlgorithm || mixed[6].HashAlg != HashSM3 || mixed[6].PrevHash != mixed[5].Hash {
		t.Fatalf("switch not where expected: %+v", mixed[6].Head())
	}
	t.Run("TamperedBeforeSwitchFails", func(t *testing.T) {
		c := clone(mixed)
		c[4].Memo = "改过"
		wantChainError(t, c, 5, "哈希不符")
	})
	t.Run("TamperedAfterSwitchFails", func(t *testing.T) {
		c := clone(mixed)
		c[8].Postings[0].Amount, c[8].Postings[1].Amount = dec("1.00"), dec("1.00")
		wantChainError(t, c, 9, "哈希不符")
	})
}

func TestSealRefusesUnknownAlgorithm(t *testing.T) {
	e := complete(must(t)(Disbursement(7, 123, dec("5"))))
	e.CreatedAt, e.HashAlg = time.Now(), "md5-v1"
	_, err := Seal(Genesis(), e)
	wantError(t, err, "不支持的哈希算法")
}

func TestSealRefusesInvalid(t *testing.T) {
	e := complete(must(t)(Disbursement(7, 123, dec("5"))))
	_, err := Seal(Genesis(), e)
	wantError(t, err, "缺少记账时间")
	e.CreatedAt = time.Now()
	e.MakerID = 0
	_, err = Seal(Genesis(), e)
	wantError(t, err, "缺少制单人")
	e.MakerID = 2
	for _, h := range []string{"short", strings.Repeat("A", 64), strings.Repeat("g", 64)} {
		if _, err = Seal(ChainHead{Seq: 3, Hash: h}, e); err == nil {
			t.Fatalf("sealed after a malformed head %q", h)
		}
	}
}

// TestHashIsPinned fixes the sha256-v1 encoding: if this hash changes, every
// stored ledger stops verifying. Change the encoding only under a new
// algorithm name.
func TestHashIsPinned(t *testing.T) {
	e := Entry{
		Seq:            1,
		ValueDate:      time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC),
		CreatedAt:      time.Date(2025, 3, 14, 9, 30, 0, 1500, time.UTC),
		Kind:           KindDisbursement,
		Memo:           "拨付先投资金，第一期",
		Record:         RecordRef{Type: "disbursement", ID: 42},
		MakerID:        2,
		CheckerID:      3,
		IdempotencyKey: "0b7c6e9e-1c1e-4a52-9d2f-1f1e8f3b8e11",
		Postings: []Posting{
			dr(ProjectAccount(CodeInvested, 123), dec("1000000")),
			cr(ProgrammeAccount(CodeFundBank, 7), dec("1000000.00")),
		},
	}
	enc := string(AppendCanonical(nil, GenesisHash, &e))
	for _, want := range []string{"\x00\x00\x00\x09sha256-v1", "\x00\x00\x00\x0a2025-03-14", "2025-03-14T09:30:00.000001Z", "1221/app/123", "\x00\x00\x00\x0a1000000.00"} {
		if !strings.Contains(enc, want) {
			t.Errorf("encoding lacks %q", want)
		}
	}
	// Recomputed independently from the AppendCanonical spec (Python:
	// struct.pack(">I", len) + utf8 per field, then hashlib.sha256).
	const pinned = "2d3c79d89c58dec8dfaca7602f9639ca71e9e24b90d0e66510260f70bc52147a"
	if got := Hash(GenesisHash, e); got != pinned {
		t.Errorf("sha256-v1 hash changed: %s", got)
	}

	// sm3-v1 is the same encoding with its own name in the first field,
	// hashed with SM3 (Python: hashlib.new("sm3", ...), OpenSSL's).
	e.HashAlg = HashSM3
	if enc := string(AppendCanonical(nil, GenesisHash, &e)); !strings.HasPrefix(enc, "\x00\x00\x00\x06sm3-v1") {
		t.Errorf("sm3-v1 encoding starts %q", enc[:10])
	}
	const pinnedSM3 = "f3ebd213adceab6788864a0b12cc31680ecec5c16116ac7f99b22ff10a4f9813"
	if got := Hash(GenesisHash, e); got != pinnedSM3 {
		t.Errorf("sm3-v1 hash changed: %s", got)
	}
}

func clone(entries []Entry) []Entry {
	out := slices.Clone(entries)
	for i := range out {
		out[i].Postings = slices.Clone(out[i].Postings)
	}
	return out
}
