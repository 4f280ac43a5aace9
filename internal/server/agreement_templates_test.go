package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"ite/internal/applications"
)

// TestAgreementDocument: the agreement page is the agreement (number,
// parties, articles, signature blocks), its text is frozen with the signed
// version, and the programme's template changes only through an approver.
func TestAgreementDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.fundedA(termsA)
	path := "/applications/" + itoa(id) + "/agreement"
	staffC, apprC := e.loggedIn(applications.RoleStaff), e.loggedIn(applications.RoleApprover)

	d := staffC.get(path).doc(t)
	number := strings.TrimSpace(d.Find("#agreement-number").Text())
	t.Run("NumberedWithPartiesAndSignatures", func(t *testing.T) {
		if !regexp.MustCompile(`^ITE-\d{4}-\d{4}$`).MatchString(number) {
			t.Fatalf("agreement number %q", number)
		}
		parties := d.Find("#agreement-parties").Text()
		for _, want := range []string{"甲方", applications.DefaultBureau, "乙方", "丙方", "丁方"} {
			if !strings.Contains(parties, want) {
				t.Errorf("parties %q lack %q", parties, want)
			}
		}
		if n := d.Find("#agreement-signatures .signature-block").Length(); n < 4 {
			t.Errorf("%d signature blocks, want at least 4", n)
		}
		body := d.Find("#agreement").Text()
		for _, want := range []string{"第一条", "第三条 分期拨付", "法定代表人或授权代表（签字）", "盖章", "____年__月__日", "年", "元整"} {
			if !strings.Contains(body, want) {
				t.Errorf("agreement lacks %q", want)
			}
		}
		if strings.Contains(body, "签约后 0 个月内") || strings.Contains(body, "{{") {
			t.Errorf("agreement text: %q", body)
		}
	})
	t.Run("NumberAssignedOnce", func(t *testing.T) {
		again := strings.TrimSpace(apprC.get(path).doc(t).Find("#agreement-number").Text())
		if again != number {
			t.Fatalf("number %q then %q", number, again)
		}
	})

	tplPath := "/programmes/" + itoa(programmeOf(t, e, id)) + "/agreement-template"
	t.Run("UnknownPlaceholderRefused", func(t *testing.T) {
		r := staffC.post(tplPath, url.Values{"bureau": {"某局"}, "body": {"第一条 {{不存在}}"}, "reason": {"试"}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.doc(t).Find("[role=alert]").Text(), "不存在") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("ChangeNeedsApproverAndLeavesSignedText", func(t *testing.T) {
		body := "第一条 协议各方\n甲方：{{甲方}}；丙方：{{丙方}}。\n第二条 拨付\n{{分期拨付表}}"
		if r := staffC.post(tplPath, url.Values{"bureau": {"新区科技局"}, "body": {body}, "reason": {"机构改革"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("propose: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		ts, err := e.db.ListAgreementTemplates(context.Background(), programmeOf(t, e, id))
		if err != nil || len(ts) != 1 || ts[0].Status != "pending" {
			t.Fatalf("templates %+v %v", ts, err)
		}
		if err := e.db.DecideAgreementTemplate(context.Background(), e.people().Staff, ts[0].ID, true); applications.ErrorKind(err) != applications.Forbidden {
			t.Fatalf("proposer approving: %v", err)
		}
		if d := staffC.get(tplPath).doc(t); d.Find("#approve-agreement-template").Length() != 0 {
			t.Fatal("staff offered the approve button")
		}
		if r := apprC.post("/agreement-templates/"+itoa(ts[0].ID)+"/approve", url.Values{}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("approve: %d", r.StatusCode)
		}
		if cur := apprC.get(tplPath).doc(t).Find("#agreement-template-current").Text(); !strings.Contains(cur, "新区科技局") {
			t.Fatalf("current template %q", cur)
		}
		signed := staffC.get(path).doc(t).Find("#agreement-parties").Text()
		if !strings.Contains(signed, applications.DefaultBureau) || strings.Contains(signed, "新区科技局") {
			t.Fatalf("signed agreement changed with the template: %q", signed)
		}
	})
}

func programmeOf(t *testing.T, e *env, appID int64) int64 {
	t.Helper()
	a, err := e.db.FindApplication(context.Background(), appID)
	if err != nil {
		t.Fatal(err)
	}
	return a.ProgrammeID
}

// TestCertificateVerify: the link printed on a conversion certificate
// recomputes it from the stored request; a stored result changed after the
// fact reads as a mismatch.
func TestCertificateVerify(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.preparedConversion(e.fundedA(termsA))
	auditor := e.loggedIn(applications.RoleAuditor)
	path := "/conversions/" + itoa(conv) + "/verify"
	if d := auditor.get("/conversions/" + itoa(conv) + "/certificate").doc(t); d.Find(`#certificate-verify a[href="`+path+`"]`).Length() != 1 {
		t.Fatal("the certificate does not link its verification")
	}
	t.Run("Matches", func(t *testing.T) {
		if got := auditor.get(path).doc(t).Find("#check-result").AttrOr("data-match", ""); got != "true" {
			t.Fatalf("data-match %q", got)
		}
	})
	t.Run("MismatchWhenResultChanged", func(t *testing.T) {
		if _, err := e.db.Pool.Exec(context.Background(), `UPDATE conversions SET result_text = replace(result_text, '"units":"37500.00"', '"units":"47500.00"') WHERE id = $1`, conv); err != nil {
			t.Skipf("conversions cannot be changed here: %v", err)
		}
		d := auditor.get(path).doc(t)
		if got := d.Find("#check-result").AttrOr("data-match", ""); got != "false" {
			t.Fatalf("data-match %q after tampering", got)
		}
		if d.Find(`#check-rows tr[data-match="false"]`).Length() == 0 {
			t.Fatal("no figure marked 不一致")
		}
	})
}
