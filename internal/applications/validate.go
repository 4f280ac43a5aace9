package applications

import (
	"fmt"
	"ite/internal/day"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field names that the validators put on their errors, so a form can show the
// message next to the right input. Callers that use another field name can
// copy the error and set Field themselves.
const (
	FieldUSCC     = "uscc"
	FieldIDNumber = "id_number"
	FieldMobile   = "mobile"
	FieldPassword = "password"
)

// normalizeCode is the shared first step for the 18-character codes: users
// copy them from scans and PDFs with stray spaces, and Chinese input methods
// in full-width mode type "９１３５…" instead of "9135…". All white space
// (including U+3000, the ideographic space) is dropped, full-width ASCII is
// folded to half-width and ASCII letters are upper-cased. Other runes are kept
// as they are so validation can point at them; in particular only ASCII is
// upper-cased, because strings.ToUpper would turn "ı" into a valid-looking "I".
func normalizeCode(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.IsSpace(r) {
			continue
		}
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII block
			r -= 0xFEE0
		}
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// usccAlphabet is the 31-character set of GB 32100-2015: digits and upper-case
// letters without I, O, Z, S and V, which are easily confused with 1, 0, 2, 5
// and U. A character's value is its index.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccWeights are the GB 32100-2015 weights for positions 1–17 (3^(i) mod 31).
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// NormalizeUSCC returns the form of a 统一社会信用代码 to store and compare:
// white space removed, full-width characters folded and letters upper-cased.
// It does not validate; ValidateUSCC does.
func NormalizeUSCC(code string) string { return normalizeCode(code) }

// ValidateUSCC checks a 统一社会信用代码 (GB 32100-2015) after NormalizeUSCC:
// 18 characters from usccAlphabet and a correct check character. It returns
// nil or an Invalid *Error for FieldUSCC whose message says what to fix. Store
// NormalizeUSCC(code), not the raw input.
func ValidateUSCC(code string) error {
	c := NormalizeUSCC(code)
	n := utf8.RuneCountInString(c)
	switch {
	case n == 0:
		return FieldError(FieldUSCC, "请填写统一社会信用代码（营业执照上的18位代码）")
	case n != 18:
		return FieldError(FieldUSCC, fmt.Sprintf("统一社会信用代码应为18位，您填写了%d位，请核对营业执照上的18位代码", n))
	}
	// n == 18 runes; the alphabet is ASCII, so once every rune is in it c is
	// also 18 bytes and byte indexing below is safe.
	for i, r := range []rune(c) {
		if !strings.ContainsRune(usccAlphabet, r) {
			return FieldError(FieldUSCC, fmt.Sprintf(
				"统一社会信用代码第%d位「%c」不是有效字符：只能使用数字和大写字母（不含 I、O、Z、S、V），请核对营业执照上的18位代码", i+1, r))
		}
	}
	if usccCheck(c[:17]) != c[17] {
		return FieldError(FieldUSCC, "统一社会信用代码校验位不正确，请核对营业执照上的18位代码")
	}
	return nil
}

// usccCheck computes the check character for the first 17 characters of a
// USCC, which must all be in usccAlphabet.
func usccCheck(body string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += strings.IndexByte(usccAlphabet, body[i]) * usccWeights[i]
	}
	return usccAlphabet[(31-sum%31)%31]
}

// idWeights are the GB 11643-1999 weights for positions 1–17 (2^(17-i) mod 11).
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheckChars maps Σ mod 11 to the check character.
const idCheckChars = "10X98765432"

// NormalizeIDNumber returns the form of a 居民身份证号 to store and compare:
// white space removed, full-width characters folded and a lower-case check
// character x written as X. It does not validate; ValidateIDNumber does.
func NormalizeIDNumber(id string) string { return normalizeCode(id) }

// ValidateIDNumber checks an 18-digit 居民身份证号 (GB 11643-1999) after
// NormalizeIDNumber: 17 digits, a check character that matches, and a birth
// date (digits 7–14) that is a real calendar date, not before 1900 and not
// after today in China. It returns nil or an Invalid *Error for FieldIDNumber
// whose message says what to fix. Store NormalizeIDNumber(id).
func ValidateIDNumber(id string) error {
	return validateIDNumber(id, time.Now())
}

// validateIDNumber is ValidateIDNumber with the clock injected for tests.
func validateIDNumber(id string, now time.Time) error {
	c := NormalizeIDNumber(id)
	n := utf8.RuneCountInString(c)
	switch {
	case n == 0:
		return FieldError(FieldIDNumber, "请填写居民身份证号码（18位）")
	case n == 15 && allDigits(c):
		return FieldError(FieldIDNumber, "这是15位的旧身份证号码，请填写18位居民身份证号码")
	case n != 18:
		return FieldError(FieldIDNumber, fmt.Sprintf("居民身份证号码应为18位，您填写了%d位，请核对身份证上的号码", n))
	}
	if len(c) != 18 || !allDigits(c[:17]) || !(c[17] == 'X' || isDigit(c[17])) {
		return FieldError(FieldIDNumber, "居民身份证号码前17位应全部是数字，最后一位是数字或 X，请核对身份证上的号码")
	}
	birth := c[6:14]
	y, m, d := atoi(birth[0:4]), atoi(birth[4:6]), atoi(birth[6:8])
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return FieldError(FieldIDNumber, fmt.Sprintf("居民身份证号码第7–14位的出生日期「%s」不是有效日期，请核对身份证上的号码", birth))
	}
	if y < 1900 {
		return FieldError(FieldIDNumber, "居民身份证号码中的出生日期早于1900年，请核对身份证上的号码")
	}
	if t.After(day.Today(now)) {
		return FieldError(FieldIDNumber, "居民身份证号码中的出生日期晚于今天，请核对身份证上的号码")
	}
	if idCheck(c[:17]) != c[17] {
		return FieldError(FieldIDNumber, "居民身份证号码校验位（最后一位）不正确，请核对身份证上的18位号码")
	}
	return nil
}

// idCheck computes the check character for 17 ASCII digits.
func idCheck(body string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(body[i]-'0') * idWeights[i]
	}
	return idCheckChars[sum%11]
}

// MaskIDNumber shows an ID number the way DOMAIN §5 requires outside the few
// places allowed to see it in full: the first 4 and last 4 characters of the
// normalised number, every other character as '*' (1501**********123X). An
// input of 8 characters or fewer is masked entirely, since showing 4+4 would
// show all of it.
func MaskIDNumber(id string) string {
	r := []rune(NormalizeIDNumber(id))
	if len(r) <= 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:4]) + strings.Repeat("*", len(r)-8) + string(r[len(r)-4:])
}

// NormalizeMobile returns a mainland mobile number as 11 digits: white space
// and hyphens, which people type to group digits ("138-0013-8000"), are
// dropped, full-width digits folded, and a leading +86 or 0086 country code
// removed. It does not validate; ValidateMobile does.
func NormalizeMobile(s string) string {
	c := strings.ReplaceAll(normalizeCode(s), "-", "")
	for _, p := range []string{"+86", "0086"} {
		if strings.HasPrefix(c, p) && len(c) == len(p)+11 {
			return c[len(p):]
		}
	}
	return c
}

// ValidateMobile checks a mainland mobile number after NormalizeMobile:
// 11 digits starting 13–19. It returns nil or an Invalid *Error for
// FieldMobile. Store NormalizeMobile(s).
func ValidateMobile(s string) error {
	c := NormalizeMobile(s)
	switch {
	case c == "":
		return FieldError(FieldMobile, "请填写手机号码（11位）")
	case !allDigits(c):
		return FieldError(FieldMobile, "手机号码只能包含数字，请填写11位手机号码，如 13800138000")
	case len(c) != 11:
		return FieldError(FieldMobile, fmt.Sprintf("手机号码应为11位，您填写了%d位，请核对", len(c)))
	case c[0] != '1' || c[1] < '3':
		return FieldError(FieldMobile, "手机号码应以13–19开头，请核对是否为中国大陆手机号码")
	}
	return nil
}

// Password length limits, in characters (runes). The upper bound keeps
// hashing cost bounded and rejects pasted garbage.
const (
	PasswordMinLen = 10
	PasswordMaxLen = 128
)

// ValidatePassword enforces the password policy: PasswordMinLen to
// PasswordMaxLen characters and at least 3 of the 4 classes lower-case
// letter, upper-case letter, digit and other (punctuation, space, Chinese
// characters, ...). Letters and digits are judged by Unicode category.
// The password is not trimmed: spaces are characters like any other. It
// returns nil or an Invalid *Error for FieldPassword; the message never
// repeats the password.
func ValidatePassword(pw string) error {
	if !utf8.ValidString(pw) {
		return FieldError(FieldPassword, "密码包含无法识别的字符，请重新输入")
	}
	n := utf8.RuneCountInString(pw)
	switch {
	case n == 0:
		return FieldError(FieldPassword, "请填写密码")
	case n < PasswordMinLen:
		return FieldError(FieldPassword, fmt.Sprintf("密码至少需要%d个字符，您只输入了%d个，请加长密码", PasswordMinLen, n))
	case n > PasswordMaxLen:
		return FieldError(FieldPassword, fmt.Sprintf("密码不能超过%d个字符，请缩短密码", PasswordMaxLen))
	}
	var lower, upper, digit, other bool
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	var missing []string
	for _, c := range []struct {
		has  bool
		name string
	}{{lower, "小写字母"}, {upper, "大写字母"}, {digit, "数字"}, {other, "符号"}} {
		if !c.has {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 1 {
		return FieldError(FieldPassword, fmt.Sprintf(
			"密码需要包含小写字母、大写字母、数字、符号中的至少3类，请再加入%s中的一类或多类", strings.Join(missing, "、")))
	}
	return nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// allDigits reports whether s is non-empty and all ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// atoi converts a short string of ASCII digits already checked by allDigits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
