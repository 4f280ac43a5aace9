package conversion

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
)

// Calculate is the one entry point of the calculator contract (DOMAIN §14),
// shared by `server calc` and POST /api/v1/calc: it reads a JSON request of
// either kind and returns the JSON result. On failure the error is always an
// *InputError (marshal it for the {"error": ..., "field": ...} body); nothing
// in a request can make it panic or run away with memory.
func Calculate(body []byte) ([]byte, error) {
	res, err := calculate(body)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // explanations contain "<" and ">"; keep them readable
	if err := enc.Encode(res); err != nil {
		// Unreachable: results hold only strings, slices and pointers to strings.
		return nil, &InputError{Message: "无法生成计算结果，请联系管理员。"}
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func calculate(body []byte) (any, error) {
	if len(body) > MaxBodyBytes {
		return nil, &InputError{Message: fmt.Sprintf("请求过大：不能超过 %d MB。", MaxBodyBytes>>20)}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &InputError{Message: "请求为空：请提供 JSON 格式的计算请求。"}
	}
	// Find the kind first, leniently, so the strict decode below can use the
	// right type and report unknown fields against it.
	var probe struct {
		Kind json.RawMessage `json:"kind"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, decodeError(body, err, reflect.TypeFor[struct {
			Kind string `json:"kind"`
		}]())
	}
	var kind string
	if len(probe.Kind) == 0 || string(probe.Kind) == "null" {
		return nil, fieldErr("kind", "请填写计算类型 kind：\"conversion\"（转股）或 \"exit\"（退出）。")
	}
	if err := json.Unmarshal(probe.Kind, &kind); err != nil {
		return nil, fieldErr("kind", "计算类型 kind 应为字符串 \"conversion\" 或 \"exit\"。")
	}
	switch kind {
	case KindConversion:
		var req ConvertRequest
		if err := decodeStrict(body, &req); err != nil {
			return nil, err
		}
		return Convert(req)
	case KindExit:
		var req ExitRequest
		if err := decodeStrict(body, &req); err != nil {
			return nil, err
		}
		return Exit(req)
	}
	return nil, fieldErr("kind", "不支持的计算类型 %q：只能是 \"conversion\"（转股）或 \"exit\"（退出）。", kind)
}

// decodeStrict decodes exactly one JSON object into v, refusing unknown
// fields and trailing data.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(body, err, reflect.TypeOf(v).Elem())
	}
	if _, err := dec.Token(); err != io.EOF {
		return &InputError{Message: "请求只能包含一个 JSON 对象，其后不能再有其他内容。"}
	}
	return nil
}

// decodeError turns an encoding/json error into an InputError. The decoder's
// own errors do not carry a usable path (array indices are lost, unknown
// fields carry only their name), so for those the document is walked again
// against the target type to name the exact field.
func decodeError(body []byte, err error, t reflect.Type) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return &InputError{Message: fmt.Sprintf("请求不是合法的 JSON（第 %d 个字节附近有误），请检查引号、逗号和括号。", syn.Offset)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &InputError{Message: "请求不是完整的 JSON：内容在中途结束，请检查括号是否成对。"}
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&doc) == nil {
		if ie := locate(doc, t, ""); ie != nil {
			return ie
		}
	}
	return &InputError{Message: "请求的 JSON 结构与计算接口不符，请对照接口说明检查字段和取值类型。"}
}

// locate walks a generic JSON document alongside the Go type it should fill
// and reports the first mismatch (keys in sorted order, so the answer is
// deterministic).
func locate(v any, t reflect.Type, path string) *InputError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return nil // null leaves the zero value, which validation judges
	}
	name := "请求"
	if path != "" {
		name = "字段 " + path + " "
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return fieldErr(path, "%s应为 JSON 对象 {...}。", name)
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if tag != "" && tag != "-" {
				fields[tag] = t.Field(i).Type
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				ft, ok = foldField(fields, k)
			}
			child := k
			if path != "" {
				child = path + "." + k
			}
			if !ok {
				return fieldErr(child, "不认识的字段 %q：请检查拼写，或删除该字段。", k)
			}
			if ie := locate(obj[k], ft, child); ie != nil {
				return ie
			}
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return fieldErr(path, "%s应为 JSON 数组 [...]。", name)
		}
		for i, el := range arr {
			if ie := locate(el, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); ie != nil {
				return ie
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			return fieldErr(path, "%s应为字符串：数字和日期都要加引号，例如 \"1500000.00\"、\"2026-01-15\"。", name)
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return fieldErr(path, "%s应为 true 或 false（不加引号）。", name)
		}
	case reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			return fieldErr(path, "%s应为不加引号的整数，例如 2。", name)
		}
		if _, err := n.Int64(); err != nil {
			return fieldErr(path, "%s应为不加引号的整数，例如 2。", name)
		}
	}
	return nil
}

// foldField matches a key the way encoding/json does (case-insensitively),
// so locate never calls a key unknown that the decoder accepted.
func foldField(fields map[string]reflect.Type, k string) (reflect.Type, bool) {
	for name, t := range fields {
		if strings.EqualFold(name, k) {
			return t, true
		}
	}
	return nil, false
}

// RunCLI is `server calc`: it reads one JSON request from stdin and writes
// the JSON result followed by a newline to stdout, returning exit code 0, or
// writes {"error": ..., "field": ...} and returns 2 when the input is bad.
// It returns 1 only if stdout cannot be written.
func RunCLI(stdin io.Reader, stdout io.Writer) int {
	body, err := io.ReadAll(io.LimitReader(stdin, MaxBodyBytes+1))
	var out []byte
	code := 0
	if err != nil {
		err = &InputError{Message: "无法读取标准输入中的计算请求。"}
	} else {
		out, err = Calculate(body)
	}
	if err != nil {
		var ie *InputError
		if !errors.As(err, &ie) {
			ie = &InputError{Message: err.Error()}
		}
		out, _ = json.Marshal(ie)
		code = 2
	}
	if _, werr := stdout.Write(append(out, '\n')); werr != nil {
		return 1
	}
	return code
}
