package audit

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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

func TestSafeText(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "",
		"张三":                         "张三",
		"/applications/2\x00/submit": `/applications/2\x00/submit`,
		"admin\x00":                  `admin\x00`,
		"bad\xff\xfeutf8":            `bad\xff\xfeutf8`,
		"cut\xe5\xbc":                `cut\xe5\xbc`, // a character cut short
		`already\x00`:                `already\x00`, // a literal backslash is kept
		"tab\tand\x01ctrl":           "tab\tand\x01ctrl",
	} {
		got := SafeText(in)
		if got != want {
			t.Errorf("SafeText(%q) = %q, want %q", in, got, want)
		}
		if !utf8.ValidString(got) || strings.IndexByte(got, 0) >= 0 {
			t.Errorf("SafeText(%q) = %q is not safe for PostgreSQL text", in, got)
		}
		if SafeText(got) != got {
			t.Errorf("SafeText is not idempotent on %q", got)
		}
	}
}

// TestHostileTextRecorded: an event whose fields hold NUL and invalid
// UTF-8 becomes a record PostgreSQL can store (no NUL, no \u0000 in the
// jsonb detail, valid UTF-8 everywhere) that still verifies after the
// jsonb round trip.
func TestHostileTextRecorded(t *testing.T) {
	type nested struct{ Name string }
	e := Event{
		Actor:      Actor{Name: "mal\x00lory\xff", Role: "staff", IP: "10.0.0.1\x00", RequestID: "r\xc3"},
		Name:       "access_refused",
		ObjectType: "application\x00",
		ObjectID:   "2\x00",
		Outcome:    Refused,
		Detail: map[string]any{
			"path": "/applications/2\x00/submit", "username": "ad\xffmin\x00",
			"k\x00ey": []any{"a\x00", map[string]any{"b": "\xfe"}}, "list": []string{"x\x00"},
			"struct": nested{Name: "n\x00"}, "n": 3,
		},
	}
	r, err := NewRecord(e, time.Now(), 0, GenesisHash)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{r.ActorName, r.ActorRole, r.IP, r.RequestID, r.Event, r.ObjectType, r.ObjectID, r.Outcome, string(r.Detail)} {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 || strings.Contains(s, `\u0000`) {
			t.Errorf("field %q is not safe for PostgreSQL", s)
		}
	}
	if r.ObjectID != `2\x00` || r.ActorName != `mal\x00lory\xff` {
		t.Errorf("object %q, actor %q", r.ObjectID, r.ActorName)
	}
	for _, want := range []string{`"path":"/applications/2\\x00/submit"`, `"username":"ad\\xffmin\\x00"`, `"k\\x00ey"`, `"Name":"n\\x00"`, `"n":3`} {
		if !strings.Contains(string(r.Detail), want) {
			t.Errorf("detail %s lacks %s", r.Detail, want)
		}
	}
	// What jsonb hands back: same content, its own spacing and key order.
	var generic any
	if err := json.Unmarshal(r.Detail, &generic); err != nil {
		t.Fatal(err)
	}
	back, _ := json.MarshalIndent(generic, "", "  ")
	r.Detail = back
	if err := verify([]Record{r}); err != nil {
		t.Fatalf("a record of hostile text does not verify: %v", err)
	}
}
