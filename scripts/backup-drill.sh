#!/usr/bin/env bash
# backup-drill.sh — back up the ITE database and blob store, restore both
# into fresh places, and prove the copy is whole: `server ledger verify`,
# `server audit verify` and `server blobs verify` must pass on it.
# See docs/OPERATIONS.md ("Backups and the restore drill").
#
# Environment:
#   DATABASE_URL   the database to back up (required; libpq URL or key=value)
#   DATA_DIR       the application's data directory (default ./var): its
#                  blobs/ (unless BLOB_STORE=local:DIR) and secrets/ are used
#   BLOB_STORE     as the server reads it; only local stores are copied here
#                  (for S3 see docs/OPERATIONS.md)
#   MASTER_KEY     the document master key, if it is not in DATA_DIR/secrets
#   CRYPTO         the installation's CRYPTO (intl or gm): the restored copy
#                  keeps the recorded choice, and the checks refuse another
#   SERVER         the server binary (default: `server` on PATH, else built
#                  with `go build` from this checkout)
#   PG_BINDIR      directory of pg_dump, pg_restore and psql matching the
#                  server's major version (default: from PATH)
#   BACKUP_DIR     where the backup files are written (default: a temp dir)
#   KEEP_DRILL=1   keep the restored database and files for inspection
#
# Exit status 0 only when the backup was taken, restored, and all three
# verifications passed on the restored copy.
set -euo pipefail

log() { printf '[backup-drill] %s\n' "$*" >&2; }
die() { log "失败：$*"; exit 1; }

[ -n "${DATABASE_URL:-}" ] || die "请设置 DATABASE_URL"
DATA_DIR=${DATA_DIR:-./var}
bin() { if [ -n "${PG_BINDIR:-}" ]; then echo "$PG_BINDIR/$1"; else command -v "$1" || die "找不到 $1（可设置 PG_BINDIR）"; fi; }
PG_DUMP=$(bin pg_dump)
PG_RESTORE=$(bin pg_restore)
PSQL=$(bin psql)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ite-drill.XXXXXX")
BACKUP_DIR=${BACKUP_DIR:-$WORK/backup}
mkdir -p "$BACKUP_DIR"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
DRILL_DB="ite_drill_$(date -u +%Y%m%d%H%M%S)_$$"

if [ -z "${SERVER:-}" ]; then
	if command -v server >/dev/null 2>&1; then
		SERVER=$(command -v server)
	else
		here=$(cd "$(dirname "$0")/.." && pwd)
		log "编译 server ..."
		(cd "$here" && go build -o "$WORK/server" ./cmd/server)
		SERVER=$WORK/server
	fi
fi

# with_db URL NAME: the same connection with another database name.
with_db() {
	case "$1" in
	postgres://* | postgresql://*)
		printf '%s' "$1" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\\1/$2#"
		;;
	*) printf '%s dbname=%s' "$1" "$2" ;;
	esac
}
RESTORE_URL=$(with_db "$DATABASE_URL" "$DRILL_DB")

cleanup() {
	status=$?
	if [ "${KEEP_DRILL:-}" = 1 ]; then
		log "保留演练数据：数据库 $DRILL_DB，目录 $WORK"
	else
		"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c "DROP DATABASE IF EXISTS \"$DRILL_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
		rm -rf "$WORK"
	fi
	exit $status
}
trap cleanup EXIT

# 1. Backup: a consistent dump of the database (custom format, one
#    snapshot) and an archive of the blob store, each with its SHA-256.
case "${BLOB_STORE:-local}" in
local | "") BLOB_DIR=$DATA_DIR/blobs ;;
local:*) BLOB_DIR=${BLOB_STORE#local:} ;;
*) die "BLOB_STORE=$BLOB_STORE 不是本地目录：对象存储请按 docs/OPERATIONS.md 另行镜像后再演练" ;;
esac
log "备份数据库 → $BACKUP_DIR/ite-$STAMP.dump"
"$PG_DUMP" --format=custom --no-owner --no-privileges --file="$BACKUP_DIR/ite-$STAMP.dump" --dbname="$DATABASE_URL"
log "备份文件存储 $BLOB_DIR → $BACKUP_DIR/ite-$STAMP-blobs.tar"
if [ -d "$BLOB_DIR" ]; then
	tar -C "$BLOB_DIR" -cf "$BACKUP_DIR/ite-$STAMP-blobs.tar" .
else
	log "（文件存储目录不存在，按空存储备份）"
	tar -cf "$BACKUP_DIR/ite-$STAMP-blobs.tar" -T /dev/null
fi
(cd "$BACKUP_DIR" && sha256sum "ite-$STAMP.dump" "ite-$STAMP-blobs.tar" >"ite-$STAMP.sha256")

# 2. Restore into a fresh database and a fresh data directory.
log "校验备份文件的 SHA-256"
(cd "$BACKUP_DIR" && sha256sum --quiet -c "ite-$STAMP.sha256") || die "备份文件损坏"
log "创建新数据库 $DRILL_DB 并恢复"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c "CREATE DATABASE \"$DRILL_DB\"" >/dev/null
"$PG_RESTORE" --exit-on-error --no-owner --no-privileges --dbname="$RESTORE_URL" "$BACKUP_DIR/ite-$STAMP.dump"
RESTORED=$WORK/data
mkdir -p "$RESTORED/blobs"
tar -C "$RESTORED/blobs" -xf "$BACKUP_DIR/ite-$STAMP-blobs.tar"
if [ -z "${MASTER_KEY:-}" ] && [ -d "$DATA_DIR/secrets" ]; then
	cp -a "$DATA_DIR/secrets" "$RESTORED/secrets"
fi

# 3. Verify the copy with the application's own checks.
export DATABASE_URL=$RESTORE_URL DATA_DIR=$RESTORED BLOB_STORE=local
log "server ledger verify（恢复后的台账）"
"$SERVER" ledger verify || die "台账校验未通过"
log "server audit verify（恢复后的审计日志）"
"$SERVER" audit verify || die "审计日志校验未通过"
log "server blobs verify（恢复后的文件存储）"
"$SERVER" blobs verify || die "文件哈希校验未通过"
log "演练通过：备份可以完整恢复（$BACKUP_DIR）"
