#!/usr/bin/env bash
# Fails when the committed *_templ.go files are not what `templ generate`
# makes from the .templ sources (it regenerates them, so a second run passes
# once the result is committed).
set -euo pipefail
cd "$(dirname "$0")/.."
sum() { find . -name '*_templ.go' -not -path './web/node_modules/*' -print0 | sort -z | xargs -0 -r sha256sum | sha256sum; }
before=$(sum)
go tool templ generate >/dev/null 2>&1 || go tool templ generate
after=$(sum)
if [ "$before" != "$after" ]; then
  echo "生成的 templ 文件与 .templ 源文件不一致：已重新生成，请提交 *_templ.go 的改动。" >&2
  git status --short -- '*_templ.go' >&2 || true
  exit 1
fi
