package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"ite/internal/auth"
)

// cmdTOTP prints the current code of a TOTP secret, so a newcomer without
// an authenticator app can sign in with a demo account (whose secret is
// published beside its password). Refused in production: there a secret
// belongs in its owner's phone only.
func cmdTOTP(args []string, getenv func(string) string, now time.Time, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "用法: server totp 密钥   （打印该密钥当前的 6 位动态验证码，仅用于开发和演示环境）")
		return exitError{2}
	}
	if getenv("APP_ENV") == "production" {
		return errors.New("APP_ENV=production：生产环境拒绝计算动态验证码，请使用手机上的身份验证器")
	}
	secret, ok := auth.NormalizeTOTPSecret(args[0])
	if !ok {
		return errors.New("密钥不是有效的 Base32 字符串（字母 A–Z 和数字 2–7）")
	}
	code, err := auth.TOTPCode(secret, now)
	if err != nil {
		return err
	}
	left := auth.TOTPPeriod - time.Duration(now.Unix()%int64(auth.TOTPPeriod/time.Second))*time.Second
	fmt.Fprintf(stdout, "%s（%d 秒内有效）\n", code, int(left/time.Second))
	return nil
}
