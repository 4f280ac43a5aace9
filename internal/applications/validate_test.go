package applications

import (
	"errors"
	"ite/internal/day"
	"strings"
	"testing"
	"time"
)

// wantInvalid asserts err is an Invalid *Error for field whose message
// contains every fragment.
func wantInvalid(t *testing.T, err error, field string, fragments ...string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if e.Kind != Invalid || e.Field != field {
		t.Errorf("kind, field = %s, %q; want invalid, %q", e.Kind, e.Field, field)
	}
	for _, f := range fragments {
		if !strings.Contains(e.Message, f) {
			t.Errorf("message %q lacks %q", e.Message, f)
		}
	}
}

func TestValidateUSCC(t *testing.T) {
	t.Parallel()
	checkZero := findUSCCWithCheck(t, '0') // Σ mod 31 = 0: check is 0, not 31
	valid := []struct{ name, in, norm string }{
		{"HandChecked", "91350100M000100Y43", "91350100M000100Y43"},
		{"Lowercase", "91350100m000100y43", "91350100M000100Y43"},
		{"SurroundingSpace", " \t91350100M000100Y43\n", "91350100M000100Y43"},
		{"InnerSpaces", "9135 0100 M000 100Y 43", "91350100M000100Y43"},
		{"IdeographicSpace", "\u300091350100M000100Y43\u3000", "91350100M000100Y43"},
		{"FullWidth", "９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43"},
		{"FullWidthLower", "９１３５０１００ｍ０００１００ｙ４３", "91350100M000100Y43"},
		{"CheckZero", checkZero, checkZero},
		{"Example0", ExampleUSCC(0), ExampleUSCC(0)},
		{"Example42", ExampleUSCC(42), ExampleUSCC(42)},
		{"Example99999999", ExampleUSCC(99_999_999), ExampleUSCC(99_999_999)},
		{"ExampleNegative", ExampleUSCC(-7), ExampleUSCC(-7)},
	}
	for _, tc := range valid {
		t.Run("Valid"+tc.name, func(t *testing.T) {
			t.Parallel()
			in := tc.in
			if err := ValidateUSCC(in); err != nil {
				t.Fatalf("ValidateUSCC(%q) = %v", in, err)
			}
			if got := NormalizeUSCC(in); got != tc.norm {
				t.Errorf("NormalizeUSCC(%q) = %q, want %q", in, got, tc.norm)
			}
		})
	}

	invalid := []struct{ name, in, fragment string }{
		{"Empty", "", "请填写"},
		{"OnlySpaces", "   ", "请填写"},
		{"WrongCheck", "91350100M000100Y44", "校验位不正确"},
		{"WrongCheckLower", "91350100m000100y4a", "校验位不正确"},
		{"TransposedDigits", "91530100M000100Y43", "校验位不正确"},
		{"Short17", "91350100M000100Y4", "您填写了17位"},
		{"Long19", "91350100M000100Y433", "您填写了19位"},
		{"FifteenDigitOldRegistration", "350100400012345", "您填写了15位"},
		{"LetterI", "91350100I000100Y43", "第9位「I」"},
		{"LetterO", "91350100M000100O43", "第16位「O」"},
		{"LetterZ", "Z1350100M000100Y43", "第1位「Z」"},
		{"LetterS", "91350100M000100Y4S", "第18位「S」"},
		{"LetterV", "91350100M00V100Y43", "第12位「V」"},
		{"Punctuation", "91350100M000-100Y4", "第13位「-」"},
		{"ChineseCharacter", "91350100M000100Y4号", "第18位「号」"},
		{"DotlessI", "91350100ı000100Y43", "第9位「ı」"},
	}
	for _, tc := range invalid {
		t.Run("Refused"+tc.name, func(t *testing.T) {
			t.Parallel()
			wantInvalid(t, ValidateUSCC(tc.in), FieldUSCC, tc.fragment)
		})
	}

	t.Run("RefusedEverySingleSubstitution", func(t *testing.T) {
		t.Parallel()
		// 31 is prime and no weight is a multiple of it, so changing any one
		// character must break the check.
		for _, code := range []string{"91350100M000100Y43", ExampleUSCC(1), ExampleUSCC(2024)} {
			for i := 0; i < 18; i++ {
				for _, r := range usccAlphabet {
					if byte(r) == code[i] {
						continue
					}
					bad := code[:i] + string(r) + code[i+1:]
					if ValidateUSCC(bad) == nil {
						t.Errorf("ValidateUSCC(%q) = nil, want error", bad)
					}
				}
			}
		}
	})
}

// findUSCCWithCheck returns an example code whose check character is want,
// to exercise the "31 → 0" rule.
func findUSCCWithCheck(t *testing.T, want byte) string {
	t.Helper()
	for seed := 0; seed < 10_000; seed++ {
		if c := ExampleUSCC(seed); c[17] == want {
			return c
		}
	}
	t.Fatalf("no example code with check %q", want)
	return ""
}

func TestUSCCCheckMatchesDefinition(t *testing.T) {
	t.Parallel()
	// Recompute with the formula spelled out, independent of usccCheck's
	// modular shortcut: check = 31 − (Σ mod 31), and 31 becomes 0.
	for seed := range 2000 {
		c := ExampleUSCC(seed)
		sum := 0
		for i := range 17 {
			sum += strings.IndexByte(usccAlphabet, c[i]) * usccWeights[i]
		}
		v := 31 - sum%31
		if v == 31 {
			v = 0
		}
		if c[17] != usccAlphabet[v] {
			t.Fatalf("ExampleUSCC(%d) = %q, check want %c", seed, c, usccAlphabet[v])
		}
	}
}

func TestExampleUSCC(t *testing.T) {
	t.Parallel()
	seen := make(map[string]int)
	for seed := range 20_000 {
		c := ExampleUSCC(seed)
		if err := ValidateUSCC(c); err != nil {
			t.Fatalf("ExampleUSCC(%d) = %q: %v", seed, c, err)
		}
		if NormalizeUSCC(c) != c {
			t.Fatalf("ExampleUSCC(%d) = %q is not normalised", seed, c)
		}
		if !strings.HasPrefix(c, "9115") {
			t.Errorf("ExampleUSCC(%d) = %q, want an enterprise code in Inner Mongolia (9115…)", seed, c)
		}
		if c[16] != orgCheck(c[8:16]) {
			t.Errorf("ExampleUSCC(%d) = %q: organisation code check wrong", seed, c)
		}
		if prev, dup := seen[c]; dup {
			t.Fatalf("ExampleUSCC(%d) = ExampleUSCC(%d) = %q", seed, prev, c)
		}
		seen[c] = seed
	}
	if ExampleUSCC(7) != ExampleUSCC(7) {
		t.Error("ExampleUSCC is not deterministic")
	}
}

func TestOrgCheck(t *testing.T) {
	t.Parallel()
	// GB 11714-1997 check characters computed by hand:
	// 12345678: Σ = 3+14+27+40+25+48+28+16 = 201, 201 mod 11 = 3, 11−3 = 8.
	// 00000000: Σ = 0 → 11 → "0". 00000005: Σ = 10, 11−10 = 1.
	// 00000100: Σ = 8 → 3. 10000000: Σ = 3 → 8. 00003000: Σ = 15, 15 mod 11 = 4 → 7.
	// 00000002: Σ = 4 → 7. 00000050: Σ = 20 → 9 → 2. 01000000: Σ = 7 → 4.
	// 00100000: Σ = 9 → 2. 00010000: Σ = 10 → 1. 10000001: Σ = 5 → 6.
	// 00000001: Σ = 2 → 9. 20000000: Σ = 6 → 5. 00000004: Σ = 8 → 3.
	// 00000006: Σ = 12, mod 11 = 1 → 10 → "X".
	// M000100Y (the organisation code inside 91350100M000100Y43): M = 22,
	// Y = 34; Σ = 66+5+68 = 139, 139 mod 11 = 7 → 4.
	cases := map[string]byte{
		"12345678": '8', "00000000": '0', "00000005": '1', "00000100": '3',
		"10000000": '8', "00003000": '7', "00000002": '7', "00000050": '2',
		"01000000": '4', "00100000": '2', "00010000": '1', "10000001": '6',
		"00000001": '9', "20000000": '5', "00000004": '3', "00000006": 'X',
		"M000100Y": '4',
	}
	for body, want := range cases {
		if got := orgCheck(body); got != want {
			t.Errorf("orgCheck(%s) = %c, want %c", body, got, want)
		}
	}
}

// idNow is the fixed clock for ID tests: 2026-03-01 17:00 UTC, which is
// already 2026-03-02 01:00 in China.
var idNow = time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)

func TestValidateIDNumber(t *testing.T) {
	t.Parallel()
	born := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	valid := []struct{ name, in, norm string }{
		{"StandardExample", "11010519491231002X", "11010519491231002X"},
		{"LowercaseX", "11010519491231002x", "11010519491231002X"},
		{"Spaces", "  110105 19491231 002X ", "11010519491231002X"},
		{"FullWidth", "１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"},
		{"LeapDay2000", "150105200002291232", "150105200002291232"},
		{"Born1900", ExampleIDNumber(3, born(1900, 1, 1)), ""},
		{"BornTodayInChina", ExampleIDNumber(5, born(2026, 3, 2)), ""},
		{"Example1990", ExampleIDNumber(0, born(1990, 1, 1)), ""},
		{"Example1985", ExampleIDNumber(998, born(1985, 12, 31)), ""},
	}
	for _, tc := range valid {
		t.Run("Valid"+tc.name, func(t *testing.T) {
			t.Parallel()
			if err := validateIDNumber(tc.in, idNow); err != nil {
				t.Fatalf("validateIDNumber(%q) = %v", tc.in, err)
			}
			norm := tc.norm
			if norm == "" {
				norm = tc.in
			}
			if got := NormalizeIDNumber(tc.in); got != norm {
				t.Errorf("NormalizeIDNumber(%q) = %q, want %q", tc.in, got, norm)
			}
		})
	}

	invalid := []struct{ name, in, fragment string }{
		{"Empty", "", "请填写"},
		{"WrongCheck", "110105194912310021", "校验位"},
		{"WrongCheckX", "11010519491231003X", "校验位"},
		{"TransposedDigits", "11010519491213002X", "校验位"},
		{"February30", "150105199002301239", "「19900230」不是有效日期"},
		{"February29NonLeap1900", "150105190002291236", "「19000229」不是有效日期"},
		{"Month13", "110105194913310029", "「19491331」不是有效日期"},
		{"Day00", "110105194912000021", "「19491200」不是有效日期"},
		{"Before1900", "150105189912311234", "早于1900年"},
		{"TomorrowInChina", ExampleIDNumber(5, born(2026, 3, 3)), "晚于今天"},
		{"FarFuture", ExampleIDNumber(5, born(2090, 1, 1)), "晚于今天"},
		{"Old15Digit", "110105491231002", "15位的旧身份证号码"},
		{"Short17", "11010519491231002", "您填写了17位"},
		{"Long19", "11010519491231002X1", "您填写了19位"},
		{"XInMiddle", "1101051949X231002X", "前17位应全部是数字"},
		{"LetterAtEnd", "11010519491231002Y", "前17位应全部是数字"},
		{"Hyphen", "110105-19491231-02", "前17位应全部是数字"},
		{"NonASCII", "11010519491231002号", "前17位应全部是数字"},
	}
	for _, tc := range invalid {
		t.Run("Refused"+tc.name, func(t *testing.T) {
			t.Parallel()
			wantInvalid(t, validateIDNumber(tc.in, idNow), FieldIDNumber, tc.fragment)
		})
	}

	t.Run("PublicUsesClock", func(t *testing.T) {
		t.Parallel()
		if err := ValidateIDNumber("11010519491231002X"); err != nil {
			t.Errorf("ValidateIDNumber = %v", err)
		}
		tomorrow := time.Now().In(day.Zone).AddDate(0, 0, 2)
		wantInvalid(t, ValidateIDNumber(ExampleIDNumber(1, tomorrow)), FieldIDNumber, "晚于今天")
	})
}

func TestExampleIDNumber(t *testing.T) {
	t.Parallel()
	births := []time.Time{
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1976, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2001, 12, 31, 23, 0, 0, 0, time.FixedZone("X", -5*3600)),
	}
	for _, birth := range births {
		seen := make(map[string]int)
		for seed := range 999 * len(hohhotDivisions) {
			id := ExampleIDNumber(seed, birth)
			if err := validateIDNumber(id, idNow); err != nil {
				t.Fatalf("ExampleIDNumber(%d, %s) = %q: %v", seed, birth, id, err)
			}
			if got, want := id[6:14], birth.Format("20060102"); got != want {
				t.Fatalf("ExampleIDNumber(%d, %s) birth digits %s, want %s", seed, birth, got, want)
			}
			if prev, dup := seen[id]; dup {
				t.Fatalf("ExampleIDNumber(%d) = ExampleIDNumber(%d) = %q", seed, prev, id)
			}
			seen[id] = seed
		}
	}
}

func TestIDCheckDetectsSingleSubstitution(t *testing.T) {
	t.Parallel()
	// 11 is prime and no weight is a multiple of it: any one changed digit
	// in the first 17 must be refused (by the date or by the check).
	id := "11010519491231002X"
	for i := range 17 {
		for d := byte('0'); d <= '9'; d++ {
			if d == id[i] {
				continue
			}
			bad := id[:i] + string(d) + id[i+1:]
			if validateIDNumber(bad, idNow) == nil {
				t.Errorf("validateIDNumber(%q) = nil, want error", bad)
			}
		}
	}
}

func TestMaskIDNumber(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"150105199001011230", "1501**********1230"},
		{"15010519900101123X", "1501**********123X"},
		{"15010519900101123x", "1501**********123X"},
		{" 1501 0519 9001 0112 3X ", "1501**********123X"},
		{"110105491231002", "1101*******1002"},
		{"12345678", "********"},
		{"123", "***"},
		{"", ""},
		{"身份证号码一二三四五", "身份证号**二三四五"},
	}
	for _, tc := range cases {
		if got := MaskIDNumber(tc.in); got != tc.want {
			t.Errorf("MaskIDNumber(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidateMobile(t *testing.T) {
	t.Parallel()
	valid := []struct{ in, norm string }{
		{"13800138000", "13800138000"},
		{"19912345678", "19912345678"},
		{"15012345678", "15012345678"},
		{" 138 0013 8000 ", "13800138000"},
		{"138-0013-8000", "13800138000"},
		{"+8613800138000", "13800138000"},
		{"+86 138 0013 8000", "13800138000"},
		{"008613800138000", "13800138000"},
		{"１３８００１３８０００", "13800138000"},
	}
	for _, tc := range valid {
		if err := ValidateMobile(tc.in); err != nil {
			t.Errorf("ValidateMobile(%q) = %v", tc.in, err)
		}
		if got := NormalizeMobile(tc.in); got != tc.norm {
			t.Errorf("NormalizeMobile(%q) = %q, want %q", tc.in, got, tc.norm)
		}
	}
	invalid := []struct{ name, in, fragment string }{
		{"Empty", "", "请填写"},
		{"Starts12", "12800138000", "13–19开头"},
		{"Starts10", "10800138000", "13–19开头"},
		{"Starts2", "23800138000", "13–19开头"},
		{"Short", "1380013800", "您填写了10位"},
		{"Long", "138001380001", "您填写了12位"},
		{"Letters", "1380013800a", "只能包含数字"},
		{"Landline", "0471-6661234", "13–19开头"},
		{"OtherCountry", "+14155550100", "只能包含数字"},
	}
	for _, tc := range invalid {
		t.Run("Refused"+tc.name, func(t *testing.T) {
			t.Parallel()
			wantInvalid(t, ValidateMobile(tc.in), FieldMobile, tc.fragment)
		})
	}
}

func TestValidatePassword(t *testing.T) {
	t.Parallel()
	valid := []struct{ name, in string }{
		{"LowerUpperDigit", "Abcdefgh12"},
		{"LowerDigitSymbol", "abcdefg1!x"},
		{"UpperDigitSymbol", "ABCDEFG1!X"},
		{"AllFour", "Hohhot#2026etdz"},
		{"ChineseCountsAsOther", "先投后股abc123"},
		{"SpaceCountsAsOther", "correct horse 9"},
		{"Exactly128", "Aa1" + strings.Repeat("x", 125)},
		{"TenRunesOfMixedWidth", "密码Ab1密码Ab1x"},
	}
	for _, tc := range valid {
		if err := ValidatePassword(tc.in); err != nil {
			t.Errorf("ValidatePassword(%s) = %v", tc.name, err)
		}
	}
	invalid := []struct{ name, in, fragment string }{
		{"Empty", "", "请填写密码"},
		{"Nine", "Abcdefg1!", "您只输入了9个"},
		{"NineRunesManyBytes", "密码密码密码Ab1", "您只输入了9个"},
		{"TooLong", "Aa1" + strings.Repeat("x", 126), "不能超过128个字符"},
		{"OnlyLower", "abcdefghijkl", "大写字母、数字、符号"},
		{"LowerAndDigits", "abcdef123456", "大写字母、符号"},
		{"UpperAndSymbols", "ABCDEF!@#$%^", "小写字母、数字"},
		{"OnlyDigits", "12345678901", "小写字母、大写字母、符号"},
		{"BadUTF8", "Abcdefg12\xff", "无法识别"},
	}
	for _, tc := range invalid {
		t.Run("Refused"+tc.name, func(t *testing.T) {
			t.Parallel()
			err := ValidatePassword(tc.in)
			wantInvalid(t, err, FieldPassword, tc.fragment)
			if tc.in != "" && strings.Contains(err.Error(), tc.in) {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
}

func FuzzValidateUSCC(f *testing.F) {
	for _, s := range []string{
		"91350100M000100Y43", "91350100m000100y44", " 9135 0100 M000 100Y 43 ",
		"９１３５０１００Ｍ０００１００Ｙ４３", "", "I", "91350100ı000100Y43", ExampleUSCC(1),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateUSCC(s)
		n := NormalizeUSCC(s)
		if err != nil {
			if ErrorKind(err) != Invalid || ErrorMessage(err) == "" {
				t.Fatalf("ValidateUSCC(%q) = %v, want Invalid with a message", s, err)
			}
			return
		}
		if len(n) != 18 {
			t.Fatalf("ValidateUSCC(%q) = nil but normalised %q has %d bytes", s, n, len(n))
		}
		if NormalizeUSCC(n) != n {
			t.Fatalf("NormalizeUSCC not idempotent on %q", s)
		}
		if err := ValidateUSCC(n); err != nil {
			t.Fatalf("normalised %q refused: %v", n, err)
		}
		for i := 0; i < len(n); i++ {
			if strings.IndexByte(usccAlphabet, n[i]) < 0 {
				t.Fatalf("normalised %q has %q outside the alphabet", n, n[i])
			}
		}
	})
}

func FuzzValidateIDNumber(f *testing.F) {
	for _, s := range []string{
		"11010519491231002X", "11010519491231002x", "110105194912310021", "150105199002301239",
		" 110105 19491231 002X ", "110105491231002", "", "X", "１１０１０５１９４９１２３１００２ｘ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := validateIDNumber(s, idNow)
		mask := MaskIDNumber(s)
		n := NormalizeIDNumber(s)
		if err != nil {
			if ErrorKind(err) != Invalid || ErrorMessage(err) == "" {
				t.Fatalf("validateIDNumber(%q) = %v, want Invalid with a message", s, err)
			}
			return
		}
		if len(n) != 18 || NormalizeIDNumber(n) != n {
			t.Fatalf("valid %q normalises to %q", s, n)
		}
		if err := validateIDNumber(n, idNow); err != nil {
			t.Fatalf("normalised %q refused: %v", n, err)
		}
		if mask != n[:4]+"**********"+n[14:] {
			t.Fatalf("MaskIDNumber(%q) = %q", s, mask)
		}
		if b, err := time.Parse("20060102", n[6:14]); err != nil || b.Year() < 1900 || b.After(idNow.Add(8*time.Hour)) {
			t.Fatalf("valid %q has birth date %s (%v)", s, n[6:14], err)
		}
	})
}
