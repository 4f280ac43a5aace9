package audit

import (
	"errors"
	"testing"
	"time"
)

// algs are the chain hashes an installation can choose (CRYPTO=intl,
// CRYPTO=gm); the chain tests run under each.
var algs = []string{Algorithm, AlgorithmSM3}

func chain(t *testing.T, n int) []Record { return chainAlg(t, n, Algorithm) }

// chainAlg is chain with the rows hashed under alg.
func chainAlg(t *testing.T, n int, alg string) []Record {
	t.Helper()
	var out []Record
	seq, prev := int64(0), GenesisHash
	at := time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.UTC)
	for i := range n {
		r, err := NewRecordWith(alg, Event{
			Actor: Actor{ID: int64(i), Name: "张三", Role: "staff", IP: "127.0.0.1"},
			Name:  "login", Outcome: Success, Detail: map[string]any{"b": 1, "a": "x"},
		}, at.Add(time.Duration(i)*time.Second), seq, prev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
		seq, prev = r.Seq, r.Hash
	}
	return out
}

func verify(rs []Record) error {
	v := NewVerifier()
	for _, r := range rs {
		if err := v.Add(r); err != nil {
			return err
		}
	}
	return nil
}

func TestChain(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) { testChain(t, alg) })
	}
}

func testChain(t *testing.T, alg string) {
	t.Run("IntactChainVerifies", func(t *testing.T) {
		if err := verify(chainAlg(t, 5, alg)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("JSONBReorderingStillVerifies", func(t *testing.T) {
		rs := chainAlg(t, 2, alg)
		rs[1].Detail = []byte(`{"b": 1, "a": "x"}`) // as jsonb prints it
		if err := verify(rs); err != nil {
			t.Fatal(err)
		}
	})
	cases := []struct {
		name     string
		tamper   func([]Record)
		firstBad int64
	}{
		{"ChangedFieldCaught", func(rs []Record) { rs[2].ActorName = "李四" }, 3},
		{"ChangedDetailCaught", func(rs []Record) { rs[2].Detail = []byte(`{"a":"y","b":1}`) }, 3},
		{"DeletedRowCaught", func(rs []Record) { copy(rs[2:], rs[3:]) }, 4},
		{"RehashedRowCaught", func(rs []Record) {
			rs[2].Outcome = Failure
			rs[2].Hash = rs[2].ComputeHash() // the next row's prev_hash still betrays it
		}, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := chainAlg(t, 5, alg)
			c.tamper(rs)
			err := verify(rs[:len(rs)-1])
			var ce *ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("tampering not caught: %v", err)
			}
			if ce.Seq != c.firstBad {
				t.Fatalf("first bad row reported as %d, want %d", ce.Seq, c.firstBad)
			}
		})
	}
}

func TestEventLabel(t *testing.T) {
	for name, want := range map[string]string{
		"disbursement_approved":  "拨付审批通过",
		"disbursement_rejected":  "拨付退回",
		"appropriation_reversed": "财政拨入已冲正",
		"conversion_reject":      "转股方案退回",
		"reversal_approve":       "冲正申请审批",
		"something_new":          "something_new", // unknown: shown as stored
	} {
		if got := EventLabel(name); got != want {
			t.Errorf("EventLabel(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestObjectLabel(t *testing.T) {
	if got := ObjectLabel("disbursement"); got != "拨付" {
		t.Errorf("ObjectLabel(disbursement) = %q", got)
	}
	if got := ObjectLabel("unknown_thing"); got != "unknown_thing" {
		t.Errorf("ObjectLabel(unknown_thing) = %q", got)
	}
}
