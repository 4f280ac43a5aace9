// Command server is the ITE application: the web server and its
// operational subcommands (migrate, seed, calc, audit verify, version).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitError carries a specific exit status (calc exits 2 on bad input).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

const usage = `用法: server <子命令> [参数]

子命令:
  serve [-migrate] [-demo]   启动 Web 服务（默认）。-migrate 先执行数据库迁移；-demo 首次运行时创建演示账号
  migrate                    执行数据库迁移到最新版本
  seed [-synthetic N]        创建演示账号；-synthetic N 创建 N 个合成申报供性能测试（APP_ENV=production 时均拒绝）
  adduser 用户名 角色 姓名     创建账号（密码从标准输入读取一行），如首个系统管理员：adduser admin admin 管理员
  calc                       转股/退出测算：从标准输入读 JSON 请求，向标准输出写 JSON 结果
  audit verify [--anchor 文件]  校验审计日志哈希链；--anchor 另核对数据库是否仍延续该签名锚定的链
  ledger verify [--anchor 文件] 校验台账：凭证借贷平衡、哈希链完整、资金余额与分录一致，报告第一张有问题的凭证；--anchor 同上
  anchor [-public-key]       签发台账与审计日志链头的签名锚定（存档、发送审计人员），向标准输出写 JSON；-public-key 只显示签名公钥
  ledger export [参数]        导出日记账或试算平衡表（CSV/XLSX，流式），参数见 server ledger export -h
  ledger synthetic -postings N  追加 N 条合成分录供性能测试（APP_ENV=production 时拒绝）
  ledger rebuild-totals      按分录重建看板使用的台账汇总（ledger verify 报告汇总不符时使用）
  blobs verify               逐个读取（必要时解密）文件存储中的申报材料，核对大小与 SHA-256
  blobs sweep                清理文件存储：中断上传留下的临时文件（10 分钟未写入）和无材料记录引用的文件（24 小时前）
  healthcheck                请求本机 /healthz（供容器健康检查使用）
  version                    显示版本

环境变量见 README.md（DATABASE_URL、LISTEN_ADDR、DATA_DIR、BASE_URL、LOG_LEVEL、APP_ENV ...）。
`

// run is the whole program behind main, with its environment injected so
// tests can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, args, getenv, stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, getenv, stdout, stderr)
	case "seed":
		err = cmdSeed(ctx, args, getenv, stdout, stderr)
	case "adduser":
		err = cmdAddUser(ctx, args, getenv, stdin, stdout, stderr)
	case "calc":
		return cmdCalc(stdin, stdout)
	case "audit":
		if len(args) < 1 || args[0] != "verify" {
			fmt.Fprint(stderr, usage)
			return 2
		}
		err = cmdAuditVerify(ctx, args[1:], getenv, stdout, stderr)
	case "anchor":
		err = cmdAnchor(ctx, args, getenv, stdout, stderr)
	case "ledger":
		err = cmdLedger(ctx, args, getenv, stdout, stderr)
	case "blobs":
		err = cmdBlobs(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		err = cmdHealthcheck(getenv)
	case "version":
		fmt.Fprintln(stdout, "ite", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "未知子命令 %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if e, ok := err.(exitError); ok {
			return e.code
		}
		fmt.Fprintln(stderr, "错误:", err)
		return 1
	}
	return 0
}
