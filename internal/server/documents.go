package server

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/blob"
	"ite/internal/day"
)

// documentRoutes: uploading and reading the materials of an application.
func (s *Server) documentRoutes() []route {
	return []route{
		{"POST", "/applications/{id}/documents", can(applications.ActionEditApplication), s.handleDocumentUpload},
		{"GET", "/documents/{id}", can(applications.ActionReadDocuments), s.handleDocument},
	}
}

// uploadFields are the structured values an upload may carry, read from
// the multipart parts that precede the file.
type uploadFields struct {
	uscc, idNumber, issueDate string
}

// maxFieldBytes bounds one non-file part of an upload.
const maxFieldBytes = 4 << 10

// handleDocumentUpload stores a new version of one material
// (POST /applications/{id}/documents?item=CODE). The body is streamed:
// parts before the file are small fields (validated before a byte of the
// file is stored), then the file goes through blob.Ingest (size limit,
// SHA-256, type by content, encryption for sensitive items) straight to
// storage. If recording the row fails the blob is deleted, so nothing is
// left half-written. XHR uploads (X-Upload: 1) get a short plain-text
// answer; plain form posts get a page.
func (s *Server) handleDocumentUpload(w http.ResponseWriter, r *http.Request) error {
	xhr := r.Header.Get("X-Upload") == "1"
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		if xhr && applications.ErrorKind(err) != applications.Internal {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(statusOf[applications.ErrorKind(err)])
			_, _ = io.WriteString(w, applications.ErrorMessage(err))
			return nil
		}
		// A plain form post gets the application page again, its upload
		// form with what was typed (a mistyped USCC, the issue date) and
		// the message, not an error page that loses the form.
		return s.refuse(w, r, a.ID, err)
	}
	item, err := applications.ParseMaterial(r.URL.Query().Get("item"))
	if err != nil || !slices.Contains(applications.AllMaterials(), item) {
		return fail(applications.Errorf(applications.NotFound, "材料项目不存在，请从材料清单中选择。"))
	}
	if a.State != applications.StateDraft && a.State != applications.StateReturned {
		return fail(applications.Errorf(applications.Conflict, "申报当前状态为「%s」，不能上传或替换材料。", a.State.Label()))
	}
	// The whole body may hold the file plus small fields and boundaries.
	r.Body = http.MaxBytesReader(w, r.Body, s.maxUpload()+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return fail(applications.Errorf(applications.Invalid, "上传格式不正确，请通过页面上的“上传”按钮提交文件。"))
	}
	var fields uploadFields
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return fail(applications.Errorf(applications.Invalid, "没有收到文件，请选择要上传的文件。"))
		}
		if err != nil {
			return fail(uploadReadError(err))
		}
		if part.FormName() == "file" {
			return s.storeUpload(w, r, a, item, fields, part, fail)
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return fail(uploadReadError(err))
		}
		if len(b) > maxFieldBytes {
			return fail(applications.Errorf(applications.Invalid, "表单字段过长。"))
		}
		v := strings.TrimSpace(string(b))
		if r.PostForm == nil {
			r.PostForm = url.Values{}
		}
		r.PostForm.Add(part.FormName(), v) // for a refusal's page (keepTyped)
		switch part.FormName() {
		case "uscc":
			fields.uscc = v
		case "id_number":
			fields.idNumber = v
		case "issue_date":
			fields.issueDate = v
		}
	}
}

func uploadReadError(err error) error {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return blob.TooLargeError(maxErr.Limit)
	}
	return applications.Errorf(applications.Invalid, "上传中断，请重新上传。")
}

// checkUploadFields validates the structured value of an item against the
// enterprise and the programme, before any of the file is stored.
func (s *Server) checkUploadFields(r *http.Request, a applications.Application, item applications.Material, f uploadFields, d *applications.Document) error {
	switch item.Field() {
	case applications.FieldUSCCOnItem:
		code := applications.NormalizeUSCC(f.uscc)
		if err := applications.ValidateUSCC(code); err != nil {
			return err
		}
		if code != a.EnterpriseUSCC {
			return applications.FieldError("uscc", "营业执照上的统一社会信用代码与注册企业的代码（"+a.EnterpriseUSCC+"）不一致，请核对后重新上传。")
		}
		d.USCC = code
	case applications.FieldIDOnItem:
		id := applications.NormalizeIDNumber(f.idNumber)
		if err := applications.ValidateIDNumber(id); err != nil {
			return err
		}
		sealed, err := blob.SealValue(s.Crypto, s.MasterKey, []byte(id))
		if err != nil {
			return err
		}
		d.IDMasked, d.IDCipher = applications.MaskIDNumber(id), sealed
	case applications.FieldIssueOnItem:
		issued, err := day.Parse(f.issueDate)
		if err != nil {
			return applications.FieldError("issue_date", "请填写征信报告的出具日期（年-月-日）。")
		}
		p, err := s.DB.FindProgramme(r.Context(), a.ProgrammeID)
		if err != nil {
			return err
		}
		today := day.Today(s.Now())
		age := int(today.Sub(issued).Hours() / 24)
		switch {
		case issued.After(today):
			return applications.FieldError("issue_date", "出具日期不能晚于今天。")
		case age > p.CreditReportMaxAgeDays:
			return applications.FieldError("issue_date", fmt.Sprintf("征信报告出具于 %d 天前，超过本批次要求的 %d 天，请重新打印近期的征信报告后上传。", age, p.CreditReportMaxAgeDays))
		}
		d.IssueDate = issued
	}
	return nil
}

func (s *Server) storeUpload(w http.ResponseWriter, r *http.Request, a applications.Application, item applications.Material, f uploadFields, part *multipart.Part, fail func(error) error) error {
	d := applications.Document{ApplicationID: a.ID, Item: item, Filename: displayName(part.FileName())}
	if err := s.checkUploadFields(r, a, item, f, &d); err != nil {
		return fail(err)
	}
	key := blob.NewKey("docs", s.Now())
	meta, err := blob.Ingest(r.Context(), s.Blobs, key, part, blob.IngestOptions{
		MaxBytes: s.maxUpload(), Encrypt: item.Sensitive(), MasterKey: s.MasterKey, Suite: s.Crypto})
	if err != nil {
		return fail(err)
	}
	d.BlobKey, d.Kind, d.Size, d.SHA256 = key, meta.Kind, meta.Size, meta.SHA256
	d.Encrypted, d.EncAlg, d.WrappedKey = meta.Encrypted, meta.Algorithm, meta.WrappedKey
	doc, err := s.DB.AddDocument(r.Context(), actor(r), d)
	if err != nil {
		// The row did not commit: the blob must not outlive it.
		if derr := s.Blobs.Delete(r.Context(), key); derr != nil {
			s.Logger.Error("delete orphan blob", "key", key, "err", derr)
		}
		return fail(err)
	}
	msg := fmt.Sprintf("「%s」第 %d 版已上传。", item.Label(), doc.Version)
	if r.Header.Get("X-Upload") == "1" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, err := io.WriteString(w, msg)
		return err
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "#item-"+string(item)), msg)
}

// displayName keeps a filename as display text only: the last path
// element, without control characters, at most 100 characters. It is never
// used as a path (blobs are stored under generated keys).
func displayName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, name)
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "")
	}
	if rs := []rune(name); len(rs) > 100 {
		name = string(rs[len(rs)-100:])
	}
	if strings.Trim(name, ". ") == "" {
		return "未命名文件"
	}
	return name
}

// handleDocument streams a stored document (GET /documents/{id}). Who may
// see it is the application's rule; experts never get ID copies or credit
// reports (403 and an audit row); every view of a sensitive item is
// audit-logged. Staff may preview PDFs and images inline (?inline=1).
func (s *Server) handleDocument(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.DB.FindDocument(r.Context(), id)
	if err != nil {
		return err
	}
	u := currentUser(r)
	docAudit := audit.Event{ObjectType: "document", ObjectID: strconv.FormatInt(d.ID, 10),
		Detail: map[string]any{"application_id": d.ApplicationID, "item": d.Item, "version": d.Version}}
	// Experts never get ID copies or credit reports, assigned or not (the
	// issue's rule: 403 and an audit row, even though this tells them the
	// ID is a sensitive item).
	if u.Role == expert && d.Item.Sensitive() {
		docAudit.Name, docAudit.Outcome = "document_view_refused", audit.Refused
		s.audit(r, docAudit)
		return applications.Errorf(applications.Forbidden, "评审专家不能查看身份证复印件和征信报告。")
	}
	if u.Role == trustee && d.Item.Sensitive() { // DOMAIN §2, likewise the platform's trustee
		docAudit.Name, docAudit.Outcome = "document_view_refused", audit.Refused
		s.audit(r, docAudit)
		return applications.Errorf(applications.Forbidden, "受托管理机构经办不能查看身份证复印件和征信报告。")
	}
	a, err := s.DB.FindApplication(r.Context(), d.ApplicationID)
	if err != nil {
		return err
	}
	if err := s.checkApplicationAccess(r, a); err != nil {
		return applications.Errorf(applications.NotFound, "文件不存在或您无权查看。")
	}
	if u.Role == expert && !slices.Contains(applications.AllMaterials(), d.Item) {
		// agreements, evidence and progress reports are not review material
		// (not a permission: which of the records the expert sees)
		return applications.Errorf(applications.NotFound, "文件不存在或您无权查看。")
	}
	rc, err := blob.OpenDecrypted(r.Context(), s.Blobs, d.BlobKey, blob.Meta{Size: d.Size, SHA256: d.SHA256,
		Kind: d.Kind, Encrypted: d.Encrypted, Algorithm: d.EncAlg, WrappedKey: d.WrappedKey}, s.MasterKey)
	if err != nil {
		return err
	}
	defer rc.Close()
	if d.Item.Sensitive() {
		docAudit.Name, docAudit.Outcome = "document_view", audit.Success
		s.audit(r, docAudit)
	}
	disposition := "attachment"
	// Not a permission: the bureau may preview in the browser; the
	// enterprise downloads its own files.
	if r.URL.Query().Get("inline") == "1" && u.Role != enterprise && (d.Kind == "pdf" || d.Kind == "png" || d.Kind == "jpeg") {
		disposition = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", blob.ContentType(d.Kind))
	h.Set("Content-Length", strconv.FormatInt(d.Size, 10))
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": d.Filename}))
	h.Set("X-Content-Type-Options", "nosniff")
	if disposition == "inline" {
		// Chrome's PDF viewer does not run in a sandboxed document; the type
		// was decided by content and nosniff stops any reinterpretation.
		h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors 'self'")
	} else {
		h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	}
	h.Set("Cache-Control", "private, no-store")
	if _, err := io.Copy(w, rc); err != nil {
		// Headers are gone; abort the response so the browser sees a
		// failed download rather than a truncated file.
		s.Logger.Error("document stream failed", "document_id", d.ID, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// formWithEvidence reads a form that may carry one evidence file: a plain
// urlencoded form (no file) or a multipart one, streamed, whose "evidence"
// part goes straight into the blob store. The caller records the returned
// document in its transaction and, if that fails, calls drop to delete the
// blob so nothing outlives a refused request.
func (s *Server) formWithEvidence(w http.ResponseWriter, r *http.Request) (url.Values, *applications.Document, func(), error) {
	form, files, drop, err := s.formWithFiles(w, r, "evidence")
	return form, files["evidence"], drop, err
}

// formWithFiles is formWithEvidence for a form with several file parts,
// one document per named part (absent when no file was chosen).
func (s *Server) formWithFiles(w http.ResponseWriter, r *http.Request, names ...string) (url.Values, map[string]*applications.Document, func(), error) {
	noop := func() {}
	files := map[string]*applications.Document{}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		_ = r.ParseForm()
		return r.PostForm, files, noop, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, int64(len(names))*s.maxUpload()+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, noop, applications.Errorf(applications.Invalid, "表单格式不正确，请通过页面提交。")
	}
	form := url.Values{}
	drop := func() {
		for _, doc := range files {
			if err := s.Blobs.Delete(r.Context(), doc.BlobKey); err != nil {
				s.Logger.Error("delete evidence blob", "key", doc.BlobKey, "err", err)
			}
		}
	}
	for {
		part, err := mr.NextPart()
		r.PostForm = form // what was typed, for a refusal's page (keepTyped)
		if err == io.EOF {
			return form, files, drop, nil
		}
		if err != nil {
			drop()
			return nil, nil, noop, uploadReadError(err)
		}
		if name := part.FormName(); slices.Contains(names, name) {
			if part.FileName() == "" || files[name] != nil {
				continue // no file chosen
			}
			key := blob.NewKey("docs", s.Now())
			meta, err := blob.Ingest(r.Context(), s.Blobs, key, part, blob.IngestOptions{MaxBytes: s.maxUpload()})
			if err != nil {
				drop()
				return nil, nil, noop, err
			}
			files[name] = &applications.Document{Filename: displayName(part.FileName()), BlobKey: key, Kind: meta.Kind,
				Size: meta.Size, SHA256: meta.SHA256, EncAlg: meta.Algorithm}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes*16+1))
		if err != nil || len(b) > maxFieldBytes*16 {
			drop()
			return nil, nil, noop, applications.Errorf(applications.Invalid, "表单字段过长。")
		}
		form.Add(part.FormName(), string(b))
	}
}
