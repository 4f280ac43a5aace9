package page

import "strings"

// deviceName is a session's browser and system as a person recognises
// them ("Chrome 浏览器 · Windows"), not the raw User-Agent header.
func deviceName(ua string) string {
	browser := "其他客户端"
	for _, b := range []struct{ mark, name string }{
		{"MicroMessenger", "微信内置浏览器"}, {"Edg/", "Edge 浏览器"}, {"Firefox/", "Firefox 浏览器"},
		{"Chrome/", "Chrome 浏览器"}, {"Safari/", "Safari 浏览器"},
	} {
		if strings.Contains(ua, b.mark) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ mark, name string }{
		{"Windows", "Windows"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Android", "Android"},
		{"Mac OS X", "macOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.mark) {
			return browser + " · " + o.name
		}
	}
	return browser
}
