package server

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
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
	t.Run("PlainFormPostWithoutJS", func(t *testing.T) {
		// The no-JavaScript fallback: token in the query, a page back.
		var body bytes.Buffer
		mw := multipartWriter(&body, "file", "fin.pdf", pdf)
		req, _ := http.NewRequest("POST", e.http.URL+"/applications/"+strconv.FormatInt(id, 10)+"/documents?item=financial_statements&csrf_token="+url.QueryEscape(c.csrf), &body)
		req.Header.Set("Content-Type", mw)
		if r := c.do(req); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
}
