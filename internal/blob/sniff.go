package blob

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/xml"
	"io"
)

// The document kinds accepted for upload (DOMAIN §5). The type is decided
// by content, never by the filename or the browser's Content-Type: an
// executable renamed "营业执照.pdf" is still an executable.
const (
	KindPDF  = "pdf"
	KindJPEG = "jpeg"
	KindPNG  = "png"
	KindOFD  = "ofd" // GB/T 33190: a ZIP package with OFD.xml at its root
)

// SniffLen is how many leading bytes Sniff needs at most.
const SniffLen = 8

// msgBadType lists the accepted types so the user knows what to convert to.
const msgBadType = "文件类型不受支持：只接受 PDF、JPEG、PNG 或 OFD 格式的文件（按文件内容判断，改扩展名无效），请转换格式后重新上传。"

// msgNotOFD is for a ZIP that is not an OFD package.
const msgNotOFD = "该文件是 ZIP 压缩包而不是有效的 OFD 文件（根目录下缺少 OFD.xml）。只接受 PDF、JPEG、PNG 或 OFD 格式，请转换格式后重新上传。"

// msgBadOFDRoot is for a ZIP whose OFD.xml is not an OFD entry file.
const msgBadOFDRoot = "该文件不是有效的 OFD 文件：压缩包中的 OFD.xml 不是 OFD 入口文件（其根元素应为 OFD 命名空间 " + OFDNamespace + " 中的 ofd:OFD，见 GB/T 33190）。只接受 PDF、JPEG、PNG 或 OFD 格式，请转换格式后重新上传。"

// OFDNamespace is the XML namespace of OFD documents (GB/T 33190-2016).
const OFDNamespace = "http://www.ofdspec.org/2016"

var (
	magicPDF  = []byte("%PDF-")
	magicJPEG = []byte{0xFF, 0xD8, 0xFF}
	magicPNG  = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}
	magicZIP  = []byte("PK\x03\x04")
)

// Sniff returns the kind of document that starts with first (at least
// SniffLen bytes of it, when the file is that long), and false for
// anything not accepted: executables, HTML, text, empty input.
//
// KindOFD is provisional: the first bytes only show a ZIP. A ZIP is an OFD
// only if its central directory, at the end of the file, lists OFD.xml
// and that entry's root element is ofd:OFD; IsOFD checks that once the
// whole file has been seen. Ingest does both.
func Sniff(first []byte) (kind string, ok bool) {
	switch {
	case bytes.HasPrefix(first, magicPDF):
		return KindPDF, true
	case bytes.HasPrefix(first, magicJPEG):
		return KindJPEG, true
	case bytes.HasPrefix(first, magicPNG):
		return KindPNG, true
	case bytes.HasPrefix(first, magicZIP):
		return KindOFD, true
	}
	return "", false
}

// ContentType returns the media type to serve a kind with; unknown kinds
// get application/octet-stream so a browser never renders them.
func ContentType(kind string) string {
	switch kind {
	case KindPDF:
		return "application/pdf"
	case KindJPEG:
		return "image/jpeg"
	case KindPNG:
		return "image/png"
	case KindOFD:
		return "application/ofd"
	}
	return "application/octet-stream"
}

// ZIP record layouts (APPNOTE 6.3.x §4.3).
const (
	eocdLen        = 22 // end of central directory record, without comment
	eocd64LocLen   = 20 // zip64 end of central directory locator
	eocd64Len      = 56 // zip64 end of central directory record, fixed part
	cdHeaderLen    = 46 // central directory file header, fixed part
	maxCommentLen  = 0xFFFF
	sigEOCD        = 0x06054b50
	sigEOCD64Loc   = 0x07064b50
	sigEOCD64      = 0x06064b50
	sigCentralFile = 0x02014b50
)

// IsOFD reports whether the ZIP archive in r (size bytes long) is an OFD
// package: its central directory lists an entry named exactly "OFD.xml"
// (the package's entry point, at the root), and that entry's XML root
// element is OFD in the OFD namespace (GB/T 33190 §7.4: <ofd:OFD
// xmlns:ofd="http://www.ofdspec.org/2016">). A ZIP holding an HTML page, or
// any other XML, under that name is not an OFD. A malformed archive is
// simply not an OFD; the error is only for failures reading r.
//
// It reads the end record and walks the central directory one entry at
// a time through a small buffer, so memory stays bounded however many
// entries a crafted archive claims (archive/zip would allocate a File
// per entry, hundreds of thousands for a 20 MiB file), and it inflates at
// most ofdRootLimit bytes of OFD.xml.
func IsOFD(r io.ReaderAt, size int64) (bool, error) {
	v, err := checkOFD(r, size)
	return v == ofdValid, err
}

// ofdVerdict says why a ZIP is or is not an OFD, so Ingest can tell the
// user which part is wrong.
type ofdVerdict int

const (
	ofdNoEntry ofdVerdict = iota // not a ZIP, or no OFD.xml at the root
	ofdBadRoot                   // OFD.xml is there but is not an OFD entry file
	ofdValid
)

// ofdEntry is where the OFD.xml entry's data lives.
type ofdEntry struct {
	method         uint16
	compressed     uint64
	localHeaderOff uint64
}

func checkOFD(r io.ReaderAt, size int64) (ofdVerdict, error) {
	e, found, err := findOFDEntry(r, size)
	if err != nil || !found {
		return ofdNoEntry, err
	}
	ok, err := ofdRoot(r, size, e)
	if err != nil || !ok {
		return ofdBadRoot, err
	}
	return ofdValid, nil
}

// findOFDEntry finds OFD.xml in the central directory.
func findOFDEntry(r io.ReaderAt, size int64) (ofdEntry, bool, error) {
	if size < eocdLen {
		return ofdEntry{}, false, nil
	}
	// The end record sits in the last 22 bytes plus up to 64 KiB of comment.
	tailLen := min(size, eocdLen+maxCommentLen)
	tail := make([]byte, tailLen)
	if err := readFullAt(r, tail, size-tailLen); err != nil {
		return ofdEntry{}, false, readErr(err)
	}
	i := findEOCD(tail)
	if i < 0 {
		return ofdEntry{}, false, nil
	}
	eocdOff := size - tailLen + int64(i)
	e := tail[i:]
	entries := uint64(binary.LittleEndian.Uint16(e[10:]))
	cdSize := uint64(binary.LittleEndian.Uint32(e[12:]))
	cdOff := uint64(binary.LittleEndian.Uint32(e[16:]))
	if entries == 0xFFFF || cdSize == 0xFFFFFFFF || cdOff == 0xFFFFFFFF {
		var ok bool
		var err error
		entries, cdSize, cdOff, ok, err = readEOCD64(r, eocdOff)
		if err != nil || !ok {
			return ofdEntry{}, false, err
		}
	}
	if cdOff > uint64(size) || cdSize > uint64(size)-cdOff {
		return ofdEntry{}, false, nil
	}
	// Each entry takes at least cdHeaderLen bytes: a count larger than
	// that allows is a lie, and bounding the loop by it stops a crafted
	// archive from spinning.
	entries = min(entries, cdSize/cdHeaderLen)
	br := bufio.NewReaderSize(io.NewSectionReader(r, int64(cdOff), int64(cdSize)), 4096)
	var hdr [cdHeaderLen]byte
	name := make([]byte, 0, len("OFD.xml"))
	for range entries {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return ofdEntry{}, false, readErr(err)
		}
		if binary.LittleEndian.Uint32(hdr[0:]) != sigCentralFile {
			return ofdEntry{}, false, nil
		}
		nameLen := int(binary.LittleEndian.Uint16(hdr[28:]))
		extraLen := int(binary.LittleEndian.Uint16(hdr[30:]))
		skip := extraLen + int(binary.LittleEndian.Uint16(hdr[32:]))
		if nameLen == len("OFD.xml") {
			name = name[:nameLen]
			if _, err := io.ReadFull(br, name); err != nil {
				return ofdEntry{}, false, readErr(err)
			}
			if string(name) == "OFD.xml" {
				ent := ofdEntry{
					method:         binary.LittleEndian.Uint16(hdr[10:]),
					compressed:     uint64(binary.LittleEndian.Uint32(hdr[20:])),
					localHeaderOff: uint64(binary.LittleEndian.Uint32(hdr[42:])),
				}
				extra := make([]byte, extraLen)
				if _, err := io.ReadFull(br, extra); err != nil {
					return ofdEntry{}, false, readErr(err)
				}
				zip64Entry(&ent, binary.LittleEndian.Uint32(hdr[24:]) == 0xFFFFFFFF, extra)
				return ent, true, nil
			}
		} else {
			skip += nameLen
		}
		if _, err := br.Discard(skip); err != nil {
			return ofdEntry{}, false, readErr(err)
		}
	}
	return ofdEntry{}, false, nil
}

// zip64Entry reads the zip64 extended information extra field (APPNOTE
// §4.5.3) for the fields the classic header marks 0xFFFFFFFF; they appear
// in the order uncompressed size, compressed size, local header offset.
func zip64Entry(e *ofdEntry, uncompressed64 bool, extra []byte) {
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		n := int(binary.LittleEndian.Uint16(extra[2:]))
		extra = extra[4:]
		if n > len(extra) {
			return
		}
		if id == 0x0001 {
			f := extra[:n]
			next := func() (uint64, bool) {
				if len(f) < 8 {
					return 0, false
				}
				v := binary.LittleEndian.Uint64(f)
				f = f[8:]
				return v, true
			}
			if uncompressed64 {
				next()
			}
			if e.compressed == 0xFFFFFFFF {
				e.compressed, _ = next()
			}
			if e.localHeaderOff == 0xFFFFFFFF {
				e.localHeaderOff, _ = next()
			}
			return
		}
		extra = extra[n:]
	}
}

// ofdRootLimit bounds how much of OFD.xml is inflated to find its root
// element: the root comes first, after at most a declaration and comments.
const ofdRootLimit = 64 << 10

// ofdRoot reports whether the first element of the entry e is OFD in the
// OFD namespace.
func ofdRoot(r io.ReaderAt, size int64, e ofdEntry) (bool, error) {
	const localHeaderLen = 30
	var lh [localHeaderLen]byte
	if e.localHeaderOff > uint64(size) || uint64(size)-e.localHeaderOff < localHeaderLen {
		return false, nil
	}
	if err := readFullAt(r, lh[:], int64(e.localHeaderOff)); err != nil {
		return false, readErr(err)
	}
	if binary.LittleEndian.Uint32(lh[0:]) != 0x04034b50 {
		return false, nil
	}
	dataOff := e.localHeaderOff + localHeaderLen +
		uint64(binary.LittleEndian.Uint16(lh[26:])) + uint64(binary.LittleEndian.Uint16(lh[28:]))
	if dataOff > uint64(size) || e.compressed > uint64(size)-dataOff {
		return false, nil
	}
	src := &errRecorder{r: io.NewSectionReader(r, int64(dataOff), int64(e.compressed))}
	var body io.Reader
	switch e.method {
	case 0: // stored
		body = src
	case 8: // deflate
		fr := flate.NewReader(src)
		defer fr.Close()
		body = fr
	default:
		return false, nil
	}
	dec := xml.NewDecoder(io.LimitReader(body, ofdRootLimit))
	// GB/T 33190 requires UTF-8; a declaration naming another encoding
	// still has an ASCII root element name, so read the bytes as they are.
	dec.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	for {
		tok, err := dec.Token()
		if err != nil {
			return false, src.err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t.Name.Space == OFDNamespace && t.Name.Local == "OFD", nil
		case xml.CharData:
			// White space, and the byte order mark some editors write.
			if len(bytes.TrimSpace(bytes.TrimPrefix(t, []byte("\ufeff")))) > 0 {
				return false, nil
			}
		case xml.Directive:
			return false, nil // a DOCTYPE: HTML, or anything but an OFD
		}
	}
}

// errRecorder remembers the first real read failure of r (not the end of
// the input), so a failure reading the upload is reported as one rather
// than as "not an OFD".
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// readErr turns running off the end of the central directory (a
// malformed archive) into "not an OFD" and keeps real read failures.
func readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil
	}
	return err
}

// readFullAt fills buf from off. ReaderAt may return io.EOF alongside a
// full read at the end of the input; that is success.
func readFullAt(r io.ReaderAt, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// findEOCD returns the offset in tail of the last end-of-central-directory
// record whose comment fits in what follows it, or -1.
func findEOCD(tail []byte) int {
	for i := len(tail) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(tail[i:]) == sigEOCD {
			n := int(binary.LittleEndian.Uint16(tail[i+20:]))
			if i+eocdLen+n <= len(tail) {
				return i
			}
		}
	}
	return -1
}

// readEOCD64 reads the zip64 end record that the locator just before the
// classic end record (at eocdOff) points to.
func readEOCD64(r io.ReaderAt, eocdOff int64) (entries, cdSize, cdOff uint64, ok bool, err error) {
	if eocdOff < eocd64LocLen {
		return 0, 0, 0, false, nil
	}
	var loc [eocd64LocLen]byte
	if err := readFullAt(r, loc[:], eocdOff-eocd64LocLen); err != nil {
		return 0, 0, 0, false, readErr(err)
	}
	if binary.LittleEndian.Uint32(loc[0:]) != sigEOCD64Loc {
		return 0, 0, 0, false, nil
	}
	recOff := binary.LittleEndian.Uint64(loc[8:])
	if recOff > uint64(eocdOff) || uint64(eocdOff)-recOff < eocd64Len {
		return 0, 0, 0, false, nil
	}
	var rec [eocd64Len]byte
	if err := readFullAt(r, rec[:], int64(recOff)); err != nil {
		return 0, 0, 0, false, readErr(err)
	}
	if binary.LittleEndian.Uint32(rec[0:]) != sigEOCD64 {
		return 0, 0, 0, false, nil
	}
	return binary.LittleEndian.Uint64(rec[32:]), binary.LittleEndian.Uint64(rec[40:]), binary.LittleEndian.Uint64(rec[48:]), true, nil
}
