package applications

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// An agreement template (协议模板) is a programme's text of the investment
// agreement: numbered articles with placeholders such as {{企业名称}} or
// {{分期拨付表}}, filled from the application, the programme and the agreed
// terms when an agreement is printed. Substitution is plain text
// replacement of known names, never template code: what staff type can
// neither run nor inject markup (the page escapes every value).
//
// Syntax: one paragraph per line; a line starting with 第…条 is an
// article heading; a table placeholder ({{分期拨付表}}, {{退出计划表}}) stands
// alone on its line and becomes a table.

// DefaultBureau is 甲方 unless a programme's template says otherwise.
const DefaultBureau = "呼和浩特经济技术开发区科技人才局"

// AgreementPlaceholders are the names a template may use, with what each
// becomes (shown beside the template editor).
var AgreementPlaceholders = []struct{ Name, Meaning string }{
	{"协议编号", "协议编号，如 ITE-2026-0007"},
	{"甲方", "区科技主管部门（模板中的甲方名称）"},
	{"乙方", "持股平台（申报批次设置）"},
	{"丙方", "受资助企业名称"},
	{"丁方", "回购义务人：企业法定代表人及项目负责人"},
	{"企业名称", "受资助企业名称"},
	{"统一社会信用代码", "企业统一社会信用代码"},
	{"法定代表人", "企业法定代表人"},
	{"项目负责人", "申报书中的项目负责人"},
	{"项目名称", "申报项目名称"},
	{"申报批次", "申报批次名称"},
	{"投资金额", "投资金额（小写，千分位）"},
	{"投资金额大写", "投资金额（大写）"},
	{"分期拨付表", "表格：各笔拨付的比例、金额、时间与前提（单独一行）"},
	{"转股条件", "转股条件（满足其一）"},
	{"转股期限", "转股期限及届满日"},
	{"转股价格", "转股价格的确定方式"},
	{"退出安排", "退出价格与适当收益"},
	{"退出计划表", "表格：分期退出计划（单独一行）"},
	{"到期未转股", "到期未满足转股条件的处理"},
	{"签约日期", "签约日期（未签署时留空待填）"},
}

// Table placeholders, which stand alone on their line.
const (
	PlaceholderTranches = "分期拨付表"
	PlaceholderExits    = "退出计划表"
)

var placeholderRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

var articleRE = regexp.MustCompile(`^第[一二三四五六七八九十百零〇0-9]+条`)

const maxAgreementTemplate = 30000

func knownPlaceholder(name string) bool {
	return slices.ContainsFunc(AgreementPlaceholders, func(p struct{ Name, Meaning string }) bool { return p.Name == name })
}

// ValidateAgreementTemplate checks a template before it is proposed: not
// empty, not too long, every placeholder known, table placeholders alone on
// their line, braces balanced. Errors: Invalid (field body).
func ValidateAgreementTemplate(bureau, body string) error {
	if strings.TrimSpace(bureau) == "" {
		return FieldError("bureau", "请填写甲方名称（区科技主管部门）。")
	}
	if utf8.RuneCountInString(bureau) > 100 {
		return FieldError("bureau", "甲方名称不超过 100 个字。")
	}
	if strings.TrimSpace(body) == "" {
		return FieldError("body", "请填写协议正文。")
	}
	if utf8.RuneCountInString(body) > maxAgreementTemplate {
		return FieldError("body", fmt.Sprintf("协议正文不超过 %d 个字。", maxAgreementTemplate))
	}
	for i, line := range strings.Split(body, "\n") {
		for _, m := range placeholderRE.FindAllStringSubmatch(line, -1) {
			name := m[1]
			if !knownPlaceholder(name) {
				return FieldError("body", fmt.Sprintf("第 %d 行：未知的占位符 {{%s}}，可用的占位符见右侧列表。", i+1, name))
			}
			if (name == PlaceholderTranches || name == PlaceholderExits) && strings.TrimSpace(line) != m[0] {
				return FieldError("body", fmt.Sprintf("第 %d 行：表格占位符 {{%s}} 须单独占一行。", i+1, name))
			}
		}
		if rest := placeholderRE.ReplaceAllString(line, ""); strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
			return FieldError("body", fmt.Sprintf("第 %d 行：占位符须写成 {{名称}}，花括号不成对。", i+1))
		}
	}
	return nil
}

// AgreementBlock is one block of a generated agreement: an article
// heading, a paragraph or a table.
type AgreementBlock struct {
	Kind string     `json:"kind"` // article | para | table
	Text string     `json:"text,omitempty"`
	Head []string   `json:"head,omitempty"`
	Rows [][]string `json:"rows,omitempty"`
}

// AgreementParty is one party of the agreement (甲方 … 丁方).
type AgreementParty struct {
	Role   string `json:"role"`   // 甲方
	Title  string `json:"title"`  // 投资管理方
	Name   string `json:"name"`   // 呼和浩特经济技术开发区科技人才局
	Detail string `json:"detail"` // 统一社会信用代码 …
	Person bool   `json:"person"` // a natural person signs, no seal
}

// AgreementDocument is a generated agreement as it is stored with a signed
// version and printed: the number, the parties, the articles.
type AgreementDocument struct {
	Title   string           `json:"title"`
	Number  string           `json:"number"`
	Parties []AgreementParty `json:"parties"`
	Blocks  []AgreementBlock `json:"blocks"`
}

// FillAgreementTemplate fills a template: text placeholders from values,
// table placeholders from tables. An unknown name is left as typed.
func FillAgreementTemplate(body string, values map[string]string, tables map[string]AgreementBlock) []AgreementBlock {
	var out []AgreementBlock
	for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if m := placeholderRE.FindStringSubmatch(line); m != nil && m[0] == line {
			if t, ok := tables[m[1]]; ok {
				out = append(out, t)
				continue
			}
		}
		text := placeholderRE.ReplaceAllStringFunc(line, func(s string) string {
			name := placeholderRE.FindStringSubmatch(s)[1]
			if v, ok := values[name]; ok {
				return v
			}
			return s
		})
		kind := "para"
		if articleRE.MatchString(text) {
			kind = "article"
		}
		out = append(out, AgreementBlock{Kind: kind, Text: text})
	}
	return out
}

// DefaultAgreementTemplate is the 先投后股 agreement every programme starts
// with until staff put their own version in force.
const DefaultAgreementTemplate = `第一条 协议各方
甲方（投资管理方）：{{甲方}}；乙方（持股平台）：{{乙方}}；丙方（受资助企业）：{{丙方}}，统一社会信用代码 {{统一社会信用代码}}；丁方（回购义务人）：{{丁方}}。
根据《“先投后股”科技项目管理办法》及{{申报批次}}的立项决定，各方就丙方承担的“{{项目名称}}”项目以“先投后股”方式给予财政科技资金支持，经平等协商，订立本协议（编号 {{协议编号}}）。
第二条 投资金额
甲方通过乙方向丙方投入财政科技资金人民币{{投资金额大写}}（{{投资金额}}），专项用于本项目研发及产业化，不得挪作他用。
第三条 分期拨付
资金按下表分期拨付，每笔拨付前由甲方确认表中该笔的拨付条件已满足：
{{分期拨付表}}
第四条 转股条件
在转股期限内，丙方满足下列条件之一的，乙方有权将已拨付资金按本协议约定转为对丙方的股权：{{转股条件}}
转股期限：{{转股期限}}。
第五条 转股价格
{{转股价格}}
转股完成后三十日内，丙方应办理工商变更登记，丁方予以配合。
第六条 退出安排
{{退出安排}}
{{退出计划表}}
丁方承诺按上述安排回购乙方所持股权，丙方及丁方对回购价款的支付承担连带责任。
第七条 到期未转股
{{到期未转股}}
第八条 各方义务
丙方应按季度报送项目进展、财务报表及融资情况，如实报告可能触发转股的事项；接受甲方及其委托机构的检查、审计与绩效评价。资金使用须符合财政资金管理规定。
第九条 违约责任
丙方提供虚假材料、挪用资金或擅自终止项目的，甲方有权停止拨付、追回已拨付资金，并依法追究责任。
第十条 争议解决
因本协议发生的争议，各方协商解决；协商不成的，向甲方所在地有管辖权的人民法院提起诉讼。
第十一条 其他
本协议自各方签字盖章之日起生效，一式八份，各方各执两份，具有同等法律效力。签约日期：{{签约日期}}。`
