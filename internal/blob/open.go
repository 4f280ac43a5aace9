package blob

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
)

// OpenStore returns the Store that spec (the BLOB_STORE environment
// variable) names. getenv supplies the S3 credentials, so cmd/server can
// pass its injected getenv and tests a map.
//
//	BLOB_STORE unset, "" or "local"   Local under DATA_DIR/blobs (dataDir + "/blobs")
//	BLOB_STORE=local:/srv/ite/blobs   Local under the given directory
//	BLOB_STORE=s3://BUCKET?endpoint=HOST[:PORT][&region=R][&tls=false][&path_style=true][&part_size_mib=N]
//
// For s3:
//   - endpoint (required): host and port of the S3 API, without scheme.
//   - region: e.g. "cn-north-1" or "oss-cn-hangzhou"; empty lets the client
//     ask the server.
//   - tls: "true" (default) or "false" (plain HTTP, only on a private
//     network).
//   - path_style: "true" forces http://HOST/BUCKET/KEY, which MinIO needs;
//     "false" (default) lets the client choose.
//   - part_size_mib: multipart part size, hence memory per upload
//     (default 5, the S3 minimum).
//
// Credentials never go in the spec (it ends up in logs): they come from
// BLOB_S3_ACCESS_KEY and BLOB_S3_SECRET_KEY, plus BLOB_S3_SESSION_TOKEN for
// temporary credentials. The bucket must already exist; call
// (*S3).CheckBucket at startup to verify it. Unknown parameters are
// refused so that a typo cannot silently change behaviour.
//
// Example (MinIO on the zone's private network):
//
//	BLOB_STORE='s3://ite-docs?endpoint=10.0.0.5:9000&tls=false&path_style=true&region=us-east-1'
//	BLOB_S3_ACCESS_KEY=...  BLOB_S3_SECRET_KEY=...
func OpenStore(spec, dataDir string, getenv func(string) string) (Store, error) {
	spec = strings.TrimSpace(spec)
	switch {
	case spec == "" || spec == "local":
		return NewLocal(filepath.Join(dataDir, "blobs"))
	case strings.HasPrefix(spec, "local:"):
		dir := strings.TrimPrefix(spec, "local:")
		if dir == "" {
			return nil, fmt.Errorf("BLOB_STORE=%q：local: 后须写目录", spec)
		}
		return NewLocal(dir)
	case strings.HasPrefix(spec, "s3://"):
		cfg, err := parseS3(spec, getenv)
		if err != nil {
			return nil, err
		}
		return NewS3(cfg)
	}
	return nil, fmt.Errorf("BLOB_STORE=%q 无法识别：应为 local、local:目录 或 s3://存储桶?endpoint=主机:端口", spec)
}

func parseS3(spec string, getenv func(string) string) (S3Config, error) {
	bad := func(format string, args ...any) (S3Config, error) {
		return S3Config{}, fmt.Errorf("BLOB_STORE: "+format, args...)
	}
	u, err := url.Parse(spec)
	if err != nil {
		return bad("无法解析（%v）", err)
	}
	if u.User != nil {
		return bad("不要把访问密钥写在 BLOB_STORE 里，请改用 BLOB_S3_ACCESS_KEY 和 BLOB_S3_SECRET_KEY")
	}
	if u.Host == "" {
		return bad("缺少存储桶名：s3://存储桶?endpoint=主机:端口")
	}
	if u.Path != "" && u.Path != "/" {
		return bad("不支持路径 %q：s3:// 后只写存储桶名", u.Path)
	}
	cfg := S3Config{
		Bucket:       u.Host,
		UseTLS:       true,
		AccessKey:    getenv("BLOB_S3_ACCESS_KEY"),
		SecretKey:    getenv("BLOB_S3_SECRET_KEY"),
		SessionToken: getenv("BLOB_S3_SESSION_TOKEN"),
	}
	for name, vals := range u.Query() {
		if len(vals) != 1 {
			return bad("参数 %s 只能出现一次", name)
		}
		v := vals[0]
		switch name {
		case "endpoint":
			if strings.Contains(v, "://") || strings.Contains(v, "/") {
				return bad("endpoint 只写主机和端口（如 minio.internal:9000），不带 http:// 或路径；用 tls=false 表示明文 HTTP")
			}
			cfg.Endpoint = v
		case "region":
			cfg.Region = v
		case "tls", "path_style":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return bad("%s 须为 true 或 false，而不是 %q", name, v)
			}
			if name == "tls" {
				cfg.UseTLS = b
			} else {
				cfg.PathStyle = b
			}
		case "part_size_mib":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n < 5 || n > 5<<10 {
				return bad("part_size_mib 须为 5 到 5120 之间的整数，而不是 %q", v)
			}
			cfg.PartSize = n << 20
		default:
			return bad("未知参数 %q（可用：endpoint、region、tls、path_style、part_size_mib）", name)
		}
	}
	if cfg.Endpoint == "" {
		return bad("缺少 endpoint 参数：s3://%s?endpoint=主机:端口", cfg.Bucket)
	}
	return cfg, nil
}
