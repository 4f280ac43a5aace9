package ledger

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Anchors. The heads of both hash chains (the ledger's and the audit
// log's) live in the database, so a superuser who rewrites a row, its hash
// and every later hash (and the totals beside them) leaves chains that
// verify. An anchor is a signed statement of the heads at a moment, kept
// where the database cannot reach: signed with a key outside it (Ed25519;
// the public key can be published), written to files and mailed to the
// auditors. A database that still extends the anchored chains has, at
// each anchored sequence number, the anchored hash.
//
// Besides the head, an anchor carries checkpoints (the hashes at chosen
// earlier sequence numbers: every one of the last AnchorDenseTail, then
// exponentially sparser back to 1), so that a rewrite is located: the
// first checkpoint that differs, after the last one that matches.

// AnchorType is the "type" of every anchor document.
const AnchorType = "ite-chain-anchor"

// AnchorDenseTail is how many of the newest entries an anchor records one
// by one.
const AnchorDenseTail = 64

// Anchor is a signed statement of both chains' heads (see above). Its JSON
// form is the document that is stored, mailed and downloaded; the
// signature covers the compact JSON encoding of the anchor with Signature
// empty.
type Anchor struct {
	Type      string        `json:"type"`
	Version   int           `json:"version"`
	IssuedAt  string        `json:"issued_at"` // RFC 3339, UTC, to the second
	Reason    string        `json:"reason"`    // "daily" or "manual"
	Ledger    AnchoredChain `json:"ledger"`
	Audit     AnchoredChain `json:"audit"`
	PublicKey string        `json:"public_key"` // Ed25519, hex
	Signature string        `json:"signature"`  // Ed25519 over the anchor with Signature "", hex
}

// AnchoredChain is one chain's head as anchored.
type AnchoredChain struct {
	Count       int64        `json:"count"` // entries in the chain (= the head's seq: chains are gapless)
	Seq         int64        `json:"seq"`
	Hash        string       `json:"hash"`
	Algorithm   string       `json:"algorithm"`
	Checkpoints []Checkpoint `json:"checkpoints"` // ascending seq, ending at Seq
}

// Checkpoint is the hash of one entry of a chain.
type Checkpoint struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// CheckpointSeqs are the sequence numbers an anchor of a chain of n entries
// records, ascending: 1, then n−(AnchorDenseTail−1+2^k) for k down to 0,
// then the last AnchorDenseTail entries.
func CheckpointSeqs(n int64) []int64 {
	if n <= 0 {
		return nil
	}
	set := map[int64]bool{1: true}
	for i := int64(0); i < AnchorDenseTail && n-i >= 1; i++ {
		set[n-i] = true
	}
	for step := int64(1); n-(AnchorDenseTail-1)-step >= 1; step *= 2 {
		set[n-(AnchorDenseTail-1)-step] = true
	}
	out := make([]int64, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// NewAnchor is the unsigned anchor of two chains at issued.
func NewAnchor(issued time.Time, reason string, ledgerChain, auditChain AnchoredChain) Anchor {
	return Anchor{Type: AnchorType, Version: 1, IssuedAt: issued.UTC().Truncate(time.Second).Format(time.RFC3339),
		Reason: reason, Ledger: ledgerChain, Audit: auditChain}
}

// signed is the message the signature covers.
func (a Anchor) signed() ([]byte, error) {
	a.Signature = ""
	return json.Marshal(a)
}

// Sign signs a with key, recording its public key.
func (a *Anchor) Sign(key ed25519.PrivateKey) error {
	a.PublicKey = hex.EncodeToString(key.Public().(ed25519.PublicKey))
	msg, err := a.signed()
	if err != nil {
		return err
	}
	a.Signature = hex.EncodeToString(ed25519.Sign(key, msg))
	return nil
}

// Marshal is the anchor document: indented JSON with a final newline.
func (a Anchor) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(a, "", "  ")
	return append(b, '\n'), err
}

// ParseAnchor reads an anchor document. It checks the form, not the
// signature (Verify does).
func ParseAnchor(b []byte) (Anchor, error) {
	var a Anchor
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return a, fmt.Errorf("锚定文件不是有效的 JSON：%w", err)
	}
	if a.Type != AnchorType || a.Version != 1 {
		return a, errors.New("不是本系统的锚定文件（type 或 version 不符）")
	}
	if _, err := time.Parse(time.RFC3339, a.IssuedAt); err != nil {
		return a, errors.New("锚定文件的签发时间无效")
	}
	return a, nil
}

// Issued is the time the anchor was signed.
func (a Anchor) Issued() time.Time {
	t, _ := time.Parse(time.RFC3339, a.IssuedAt)
	return t
}

// Verify checks the signature against pub, the public key of this
// installation's anchor key. A document signed by any other key, or
// changed after signing, is refused with a Chinese message.
func (a Anchor) Verify(pub ed25519.PublicKey) error {
	if a.PublicKey != hex.EncodeToString(pub) {
		return fmt.Errorf("锚定文件的签名公钥 %s 不是本系统的锚定公钥 %s", short(a.PublicKey), short(hex.EncodeToString(pub)))
	}
	sig, err := hex.DecodeString(a.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return errors.New("锚定文件的签名格式无效")
	}
	msg, err := a.signed()
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, msg, sig) {
		return errors.New("锚定文件的签名无效：文件在签发后被改动")
	}
	return nil
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// Difference says where a chain as it stands differs from an anchored one.
type Difference struct {
	// FirstBad is the first checkpoint whose entry is missing or has
	// another hash; 0 when the chain still extends the anchored one.
	FirstBad int64
	// LastGood is the checkpoint before it that still matches (0: none),
	// so the first rewritten entry lies in (LastGood, FirstBad].
	LastGood int64
	Missing  bool // FirstBad is no longer in the chain at all
}

// Compare checks the anchored chain against current, the hashes the
// database now holds at the anchored checkpoints (seq → hash; a seq that is
// absent is an entry that no longer exists).
func (c AnchoredChain) Compare(current map[int64]string) Difference {
	var d Difference
	cps := slices.Clone(c.Checkpoints)
	if len(cps) == 0 || cps[len(cps)-1].Seq != c.Seq {
		cps = append(cps, Checkpoint{Seq: c.Seq, Hash: c.Hash})
	}
	for _, cp := range cps {
		if cp.Seq <= 0 {
			continue
		}
		h, ok := current[cp.Seq]
		if !ok || h != cp.Hash {
			d.FirstBad, d.Missing = cp.Seq, !ok
			return d
		}
		d.LastGood = cp.Seq
	}
	d.LastGood = 0
	return d
}

// Describe is the Chinese report of a difference in a chain whose entries
// are called unit ("号凭证" for the ledger, "条" for the audit log), e.g.
// "第 7 号凭证与锚定时不同（第 6 号凭证及以前一致）". It is "" when d
// shows no difference.
func (d Difference) Describe(prefix, unit string) string {
	if d.FirstBad == 0 {
		return ""
	}
	what := "与锚定时不同（哈希不符：记录被改写）"
	if d.Missing {
		what = "已不存在（记录被删除）"
	}
	s := fmt.Sprintf("%s第 %d %s%s", prefix, d.FirstBad, unit, what)
	switch {
	case d.LastGood == 0 && d.FirstBad > 1:
		s += fmt.Sprintf("；改动发生在第 1 至第 %d %s之间", d.FirstBad, unit)
	case d.LastGood > 0 && d.LastGood+1 < d.FirstBad:
		s += fmt.Sprintf("；第 %d %s及以前一致，改动发生在第 %d 至第 %d %s之间", d.LastGood, unit, d.LastGood+1, d.FirstBad, unit)
	case d.LastGood > 0:
		s += fmt.Sprintf("；第 %d %s及以前一致", d.LastGood, unit)
	}
	return s
}
