// Package localpage guards pages a program serves on 127.0.0.1 to the
// user at this machine (the viewer, the publisher's status page): a random
// token for this run, given once in the start URL and then kept in an
// HttpOnly SameSite=Strict cookie; every request must name our own Host
// (against DNS rebinding) and come from our own origin (against
// cross-site requests); and headers that keep the pages private and out
// of other sites' frames.
package localpage

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
)

// Guard checks the requests to one listener's pages.
type Guard struct {
	host   string // "127.0.0.1:port", the only Host header accepted
	origin string // "http://127.0.0.1:port"
	token  string
	cookie string
}

// New guards the pages served on 127.0.0.1:port. Cookies are not
// separated by port, so the token's cookie is cookie + "_" + port: two
// programs running at once do not overwrite each other's.
func New(port int, cookie string) (*Guard, error) {
	tok := make([]byte, 32) // 256 bits
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	host := "127.0.0.1:" + strconv.Itoa(port)
	return &Guard{host: host, origin: "http://" + host, token: base64.RawURLEncoding.EncodeToString(tok),
		cookie: cookie + "_" + strconv.Itoa(port)}, nil
}

// URL is the start URL, token included: open it in a browser.
func (g *Guard) URL() string { return g.origin + "/?token=" + g.token }

// Host is the address served, 127.0.0.1:port.
func (g *Guard) Host() string { return g.host }

// Origin is the pages' origin, http://127.0.0.1:port.
func (g *Guard) Origin() string { return g.origin }

// Handler serves next behind the guard: every answer gets SetHeaders with
// csp; a request that is not ours is refused (403, its reason, then hint:
// how to open the pages); the start URL hands the token over as a cookie
// and redirects to "/", dropping it from the address bar and history.
func (g *Guard) Handler(csp, hint string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetHeaders(w.Header(), csp)
		if why := g.refuse(r); why != "" {
			http.Error(w, "Forbidden: "+why+". "+hint, http.StatusForbidden)
			return
		}
		if r.URL.Query().Get("token") != "" && r.Method == http.MethodGet {
			http.SetCookie(w, &http.Cookie{Name: g.cookie, Value: g.token, Path: "/", HttpOnly: true,
				SameSite: http.SameSiteStrictMode})
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refuse says why a request is not for us, or "".
func (g *Guard) refuse(r *http.Request) string {
	if r.Host != g.host {
		return "wrong host"
	}
	// Our own pages send our origin (Referrer-Policy same-origin); "null"
	// (a sandboxed frame, a page under no-referrer) is not ours.
	if o := r.Header.Get("Origin"); o != "" && o != g.origin {
		return "request from another site"
	}
	// Another port of 127.0.0.1 is the "same site" for cookies (SameSite
	// does not stop it): only our own pages and typed or opened addresses
	// are accepted.
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return "request from another site"
	}
	given := ""
	if r.Method == http.MethodGet {
		given = r.URL.Query().Get("token")
	}
	if given == "" {
		if c, err := r.Cookie(g.cookie); err == nil {
			given = c.Value
		}
	}
	if subtle.ConstantTimeCompare([]byte(given), []byte(g.token)) != 1 {
		return "missing or wrong access token"
	}
	return ""
}

// SetHeaders sets the headers that keep a page private (never cached),
// self-contained (csp) and out of other sites' frames and windows.
func SetHeaders(h http.Header, csp string) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: under no-referrer browsers send
	// "Origin: null" with our own form posts (Fetch, "serialize a request
	// origin"), which the guard rightly refuses. No other origin is ever
	// sent a referrer either way.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}
