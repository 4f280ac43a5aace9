package server

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ite/internal/applications"
)

func TestUploadBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.MaxUploadBytes = 1 << 20
	p := e.openProgramme()
	c := e.loggedIn(applications.RoleEnterprise)
	id := c.createApplication(p.ID, "8000000.00")
	a, _ := e.db.FindApplication(context.Background(), id)
	elf := append([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0}, bytes.Repeat([]byte{0}, 200)...)
	cases := []struct {
		name    string
		item    applications.Material
		fields  map[string]string
		file    string
		content []byte
		status  int
		text    string
	}{
		{"RenamedExecutable", applications.MaterialApplicationForm, nil, "申请书.pdf", elf, 422, "PDF"},
		{"OneByteOverLimit", applications.MaterialApplicationForm, nil, "big.pdf", append(append([]byte{}, pdf...), bytes.Repeat([]byte{' '}, 1<<20-len(pdf)+1)...), 413, "MiB"},
		{"EmptyFile", applications.MaterialApplicationForm, nil, "empty.pdf", nil, 422, "空"},
		{"USCCOfAnotherCompany", applications.MaterialBusinessLicense, map[string]string{"uscc": applications.ExampleUSCC(99)}, "yyzz.pdf", pdf, 422, "不一致"},
		{"USCCWrongCheckDigit", applications.MaterialBusinessLicense, map[string]string{"uscc": a.EnterpriseUSCC[:17] + "0"}, "yyzz.pdf", pdf, 422, "校验"},
		{"IDWrongCheckDigit", applications.MaterialLegalRepID, map[string]string{"id_number": "110105194912310021"}, "id.png", pdf, 422, "校验"},
		{"IDBadBirthDate", applications.MaterialLegalRepID, map[string]string{"id_number": "110105194902300021"}, "id.png", pdf, 422, ""},
		{"CreditReportTooOld", applications.MaterialEnterpriseCreditReport, map[string]string{"issue_date": e.clock.Now().AddDate(0, 0, -91).Format("2006-01-02")}, "zx.pdf", pdf, 422, "90 天"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "OneByteOverLimit" && len(tc.content) != 1<<20+1 {
				t.Fatalf("fixture is %d bytes", len(tc.content))
			}
			r := c.upload(id, tc.item, tc.fields, tc.file, bytes.NewReader(tc.content))
			if r.StatusCode != tc.status || !strings.Contains(r.body, tc.text) {
				t.Fatalf("status %d body %q", r.StatusCode, r.body)
			}
			if n := e.blobCount(); n != 0 {
				t.Fatalf("%d blobs left behind", n)
			}
			docs, _ := e.db.ListDocuments(context.Background(), id)
			if len(docs) != 0 {
				t.Fatalf("%d document rows written", len(docs))
			}
		})
	}
	t.Run("ExactlyAtLimitAccepted", func(t *testing.T) {
		content := append(append([]byte{}, pdf...), bytes.Repeat([]byte{' '}, 1<<20-len(pdf))...)
		if r := c.upload(id, applications.MaterialApplicationForm, nil, "ok.pdf", bytes.NewReader(content)); r.StatusCode != 200 {
			t.Fatalf("status %d %s", r.StatusCode, r.body)
		}
	})
	t.Run("PathInFilenameIsDisplayOnly", func(t *testing.T) {
		if r := c.upload(id, applications.MaterialOther, nil, "../../../etc/passwd.pdf", bytes.NewReader(pdf)); r.StatusCode != 200 {
			t.Fatalf("status %d %s", r.StatusCode, r.body)
		}
		docs, _ := e.db.ListDocuments(context.Background(), id)
		for _, d := range docs {
			if d.Item == applications.MaterialOther {
				if d.Filename != "passwd.pdf" || strings.Contains(d.BlobKey, "passwd") {
					t.Fatalf("filename %q key %q", d.Filename, d.BlobKey)
				}
			}
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(e.srv.Blobs.(interface{ Dir() string }).Dir()), "etc")); err == nil {
			t.Fatal("a path from the filename was created")
		}
	})
	// The no-JavaScript fallback: a plain multipart post. The token is
	// never read from the URL; it is the form's first field (the first
	// part, read without buffering the file) or, for XHR, the header.
	plain := func(tokenFirst, tokenLast bool, header, query string) response {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if tokenFirst {
			_ = mw.WriteField("csrf_token", c.csrf)
		}
		fw, _ := mw.CreateFormFile("file", "fin.pdf")
		_, _ = fw.Write(pdf)
		if tokenLast {
			_ = mw.WriteField("csrf_token", c.csrf)
		}
		_ = mw.Close()
		req, _ := http.NewRequest("POST", e.http.URL+"/applications/"+strconv.FormatInt(id, 10)+"/documents?item=financial_statements"+query, &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		if header != "" {
			req.Header.Set("X-CSRF-Token", header)
		}
		return c.do(req)
	}
	t.Run("PlainFormPostTokenFirstPart", func(t *testing.T) {
		if r := plain(true, false, "", ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d %s", r.StatusCode, r.doc(t).Find("main").Text())
		}
	})
	t.Run("PlainFormPostTokenHeader", func(t *testing.T) {
		if r := plain(false, false, c.csrf, ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("TokenInQueryRefused", func(t *testing.T) {
		if r := plain(false, false, "", "&csrf_token="+c.csrf); r.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("TokenAfterTheFileRefused", func(t *testing.T) {
		if r := plain(false, true, "", ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("WrongTokenFirstPartRefused", func(t *testing.T) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("csrf_token", "stale")
		fw, _ := mw.CreateFormFile("file", "fin.pdf")
		_, _ = fw.Write(pdf)
		_ = mw.Close()
		req, _ := http.NewRequest("POST", e.http.URL+"/applications/"+strconv.FormatInt(id, 10)+"/documents?item=financial_statements", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		if r := c.do(req); r.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
}
