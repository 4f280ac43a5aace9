package server

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
	"ite/internal/ledger"
	"ite/internal/postgres"
	"ite/web/page"
)

// Chain anchors (issue 15.5): every day, and on demand, the server signs
// the heads of the ledger and audit chains with a key kept outside the
// database and keeps the anchor in three places: a file under AnchorDir,
// the chain_anchors table, and the auditors' mailboxes (through the
// outbox). `server ledger verify --anchor FILE` and `server audit verify
// --anchor FILE` then prove that the database still extends what was
// anchored, which a superuser rewriting rows and hashes cannot fake.

// anchorRoutes: the anchor's download and on-demand signing, beside the
// verify pages.
func (s *Server) anchorRoutes() []route {
	return []route{
		{"GET", "/ledger/anchors/{file}", can(applications.ActionVerifyIntegrity), s.handleAnchorDownload},
		{"POST", "/ledger/anchors", can(applications.ActionVerifyIntegrity), s.handleAnchorCreate},
	}
}

var anchorSystemActor = audit.Actor{Name: "系统", Role: "system"}

// AnchorPublicKey is the hex public key that checks this server's anchors
// ("" when anchoring is off).
func (s *Server) AnchorPublicKey() string {
	if s.AnchorKey == nil {
		return ""
	}
	return hex.EncodeToString(s.AnchorKey.Public().(ed25519.PublicKey))
}

// WriteAnchor signs an anchor of both chains as they stand, writes it to
// AnchorDir, stores it and queues it to the auditors, and returns the
// document. Errors: Invalid when no key is configured.
func (s *Server) WriteAnchor(ctx context.Context, actor audit.Actor, reason string) (ledger.Anchor, []byte, error) {
	if s.AnchorKey == nil {
		return ledger.Anchor{}, nil, applications.Errorf(applications.Invalid, "未配置锚定密钥（ANCHOR_KEY 或 DATA_DIR/secrets/anchor.key），不能签发锚定。")
	}
	lc, ac, err := s.DB.ChainHeads(ctx)
	if err != nil {
		return ledger.Anchor{}, nil, err
	}
	a := ledger.NewAnchor(s.Now(), reason, lc, ac)
	if err := a.Sign(s.AnchorKey); err != nil {
		return a, nil, err
	}
	doc, err := a.Marshal()
	if err != nil {
		return a, nil, err
	}
	if s.AnchorDir != "" {
		if err := os.MkdirAll(s.AnchorDir, 0o750); err != nil {
			return a, nil, err
		}
		if err := writeNewFile(s.AnchorDir, "anchor-"+a.Issued().In(day.Zone).Format("20060102-150405")+"-"+
			strconv.FormatInt(lc.Seq, 10), doc); err != nil {
			return a, nil, err
		}
	}
	subject := fmt.Sprintf("【链头锚定】%s 台账第 %d 号凭证 · 审计日志第 %d 条", day.Chinese(day.Of(a.Issued())), lc.Seq, ac.Seq)
	body := "附件内容为本系统台账与审计日志哈希链的签名锚定，请在数据库之外妥善保存（另存为 .json 文件），" +
		"核验时运行 server ledger verify --anchor 文件 与 server audit verify --anchor 文件。\n签名公钥（Ed25519）：" + a.PublicKey
	if _, err := s.DB.SaveAnchor(ctx, actor, a, doc, subject, body); err != nil {
		return a, doc, err
	}
	return a, doc, nil
}

// anchorDaily writes the day's anchor when the newest one is from an
// earlier day in China (the job loop calls it every minute).
func (s *Server) anchorDaily(ctx context.Context) error {
	if s.AnchorKey == nil {
		return nil
	}
	latest, err := s.DB.LatestAnchor(ctx)
	switch {
	case applications.ErrorKind(err) == applications.NotFound:
	case err != nil:
		return err
	case !day.Of(latest.Anchor.Issued()).Before(day.Today(s.Now())):
		return nil
	}
	a, _, err := s.WriteAnchor(ctx, anchorSystemActor, "daily")
	if err == nil {
		s.Logger.Info("chain anchor", "ledger_seq", a.Ledger.Seq, "audit_seq", a.Audit.Seq)
	}
	return err
}

// handleAnchorCreate signs an anchor now (POST /ledger/anchors).
func (s *Server) handleAnchorCreate(w http.ResponseWriter, r *http.Request) error {
	a, _, err := s.WriteAnchor(r.Context(), actor(r), "manual")
	if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/ledger/verify", fmt.Sprintf("已签发锚定：台账第 %d 号凭证、审计日志第 %d 条，并已发送至审计人员邮箱。",
		a.Ledger.Seq, a.Audit.Seq))
}

// handleAnchorDownload serves a stored anchor document
// (GET /ledger/anchors/{id}.json, or latest.json).
func (s *Server) handleAnchorDownload(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimSuffix(chi.URLParam(r, "file"), ".json")
	var st postgres.StoredAnchor
	var err error
	if name == "latest" {
		st, err = s.DB.LatestAnchor(r.Context())
	} else if id, perr := strconv.ParseInt(name, 10, 64); perr == nil && id > 0 {
		st, err = s.DB.FindAnchor(r.Context(), id)
	} else {
		return applications.Errorf(applications.NotFound, "锚定文件不存在。")
	}
	if err != nil {
		return err
	}
	s.audit(r, audit.Event{Name: "export", ObjectType: "chain_anchor", ObjectID: strconv.FormatInt(st.ID, 10), Outcome: audit.Success})
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="anchor-%d.json"`, st.ID))
	h.Set("Cache-Control", "no-store")
	_, err = w.Write(st.Body)
	return err
}

// anchorPanel is the anchor section of a verify page; chain names the
// chain the page checks ("ledger" or "audit") against the newest anchor.
func (s *Server) anchorPanel(r *http.Request, chain string) (page.AnchorPanelView, error) {
	v := page.AnchorPanelView{Enabled: s.AnchorKey != nil, PublicKey: s.AnchorPublicKey(), CanCreate: true}
	latest, err := s.DB.LatestAnchor(r.Context())
	if applications.ErrorKind(err) == applications.NotFound {
		return v, nil
	} else if err != nil {
		return v, err
	}
	v.Latest = &latest
	anchored := latest.Anchor.Ledger
	if chain == "audit" {
		anchored = latest.Anchor.Audit
	}
	if s.AnchorKey != nil && latest.Anchor.Verify(s.AnchorKey.Public().(ed25519.PublicKey)) != nil {
		v.Check = &postgres.AnchorCheck{Problem: "数据库中最近一次锚定的签名无效（锚定记录被改动）"}
		return v, nil
	}
	c, err := s.DB.CheckAnchoredChain(r.Context(), chain, anchored)
	if err != nil {
		return v, err
	}
	v.Check = &c
	return v, nil
}

// writeNewFile writes doc to dir/base.json, or base-2.json, ... when that
// exists: an anchor file is never overwritten.
func writeNewFile(dir, base string, doc []byte) error {
	for n := 1; ; n++ {
		name := base + ".json"
		if n > 1 {
			name = base + "-" + strconv.Itoa(n) + ".json"
		}
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		if _, err := f.Write(doc); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
}
