#!/usr/bin/env bash
# ensure-packages.sh postgres|chromium|libreoffice|poppler ...
# Installs the system packages the app and its tests need when they are
# missing: with apt-get when running as root, otherwise it says exactly
# what to install. It never fails the build by itself; the tests decide
# (under CI=true a missing database or browser is a failure there).
set -uo pipefail

have_postgres() {
  command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir 2>/dev/null)/initdb" ] && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
have_poppler() { command -v pdftotext >/dev/null 2>&1 && command -v pdfinfo >/dev/null 2>&1; }
have_chromium() {
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1
}
# LibreOffice headless opens every XLSX export in the export tests
# (libreoffice --headless --convert-to csv); without it they skip that part.
have_libreoffice() {
  command -v libreoffice >/dev/null 2>&1 || command -v soffice >/dev/null 2>&1
}

missing=()
for want in "$@"; do
  case "$want" in
    postgres) have_postgres || missing+=(postgresql) ;;
    chromium) have_chromium || missing+=(chromium fonts-noto-cjk) ;;
    libreoffice) have_libreoffice || missing+=(libreoffice-calc-nogui) ;;
    poppler) have_poppler || missing+=(poppler-utils) ;; # pdftotext, pdfinfo: the printed documents' e2e test
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "正在安装缺少的系统软件包：${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null || {
    echo "apt-get 安装 ${missing[*]} 失败。" >&2; exit 0; }
else
  echo "缺少系统软件包：${missing[*]}。请运行：sudo apt-get install -y ${missing[*]}" >&2
fi
exit 0
