package publish

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// StatusPage is the queue's status page on 127.0.0.1, protected as the
// viewer's pages are (package viewer): a random token for this run, given
// once in the start URL and then kept in an HttpOnly SameSite=Strict
// cookie; every request must name our own Host (DNS rebinding) and come
// from our own origin (CSRF); a strict Content-Security-Policy, no
// caching. Job numbers, never patient data, appear in URLs.
type StatusPage struct {
	q      *Queue
	ln     net.Listener
	host   string // 127.0.0.1:port
	origin string
	token  string
	cookie string
	mux    *http.ServeMux
}

const statusCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// NewStatusPage listens on 127.0.0.1:port (0: a random port).
func NewStatusPage(q *Queue, port int) (*StatusPage, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
	host := ln.Addr().String()
	p := &StatusPage{q: q, ln: ln, host: host, origin: "http://" + host, token: rand.Text() + rand.Text(),
		cookie: "sm_publish_" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), mux: http.NewServeMux()}
	p.mux.HandleFunc("GET /{$}", p.list)
	p.mux.HandleFunc("POST /jobs/{id}/retry", p.retry)
	p.mux.HandleFunc("GET /jobs/{id}/slip", p.slip)
	return p, nil
}

// URL is the start URL, token included.
func (p *StatusPage) URL() string { return p.origin + "/?token=" + p.token }

// Serve answers until ctx ends.
func (p *StatusPage) Serve(ctx context.Context) error {
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	err := srv.Serve(p.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (p *StatusPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", statusCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if why := p.refuse(r); why != "" {
		http.Error(w, "Forbidden: "+why+". Open the status page with the address publish printed.", http.StatusForbidden)
		return
	}
	if r.URL.Query().Get("token") != "" && r.Method == http.MethodGet {
		http.SetCookie(w, &http.Cookie{Name: p.cookie, Value: p.token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p.mux.ServeHTTP(w, r)
}

// refuse says why a request is not for us, or "".
func (p *StatusPage) refuse(r *http.Request) string {
	if r.Host != p.host {
		return "wrong host"
	}
	if o := r.Header.Get("Origin"); o != "" && o != p.origin {
		return "request from another site"
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return "request from another site"
	}
	given := ""
	if r.Method == http.MethodGet {
		given = r.URL.Query().Get("token")
	}
	if given == "" {
		if c, err := r.Cookie(p.cookie); err == nil {
			given = c.Value
		}
	}
	if subtle.ConstantTimeCompare([]byte(given), []byte(p.token)) != 1 {
		return "missing or wrong access token"
	}
	return ""
}

func (p *StatusPage) list(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Refresh", "5")
	_ = statusHTML.Execute(w, struct {
		Jobs    []JobStatus
		Message string
		Now     time.Time
	}{p.q.Status(), r.URL.Query().Get("msg"), time.Now().UTC()})
}

func (p *StatusPage) job(w http.ResponseWriter, r *http.Request) (JobStatus, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err == nil {
		for _, j := range p.q.Status() {
			if j.ID == id {
				return j, true
			}
		}
	}
	http.Error(w, "no such job", http.StatusNotFound)
	return JobStatus{}, false
}

func (p *StatusPage) retry(w http.ResponseWriter, r *http.Request) {
	j, ok := p.job(w, r)
	if !ok {
		return
	}
	msg := "retry"
	if err := p.q.Retry(j.ID); err != nil {
		msg = "noretry"
	}
	http.Redirect(w, r, "/?msg="+msg, http.StatusSeeOther)
}

// slip shows the job's password slip, for the browser's Print.
func (p *StatusPage) slip(w http.ResponseWriter, r *http.Request) {
	j, ok := p.job(w, r)
	if !ok || j.Slip == "" {
		if ok {
			http.Error(w, "this job has no slip yet", http.StatusNotFound)
		}
		return
	}
	f, err := os.Open(j.Slip)
	if err != nil {
		http.Error(w, "the slip cannot be read", http.StatusNotFound)
		return
	}
	defer f.Close()
	ctype := "text/plain; charset=utf-8"
	if len(j.Slip) > 5 && j.Slip[len(j.Slip)-5:] == ".html" {
		ctype = "text/html; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	http.ServeContent(w, r, "", time.Time{}, f)
}

var statusHTML = template.Must(template.New("status").Funcs(template.FuncMap{
	"ago": func(now, t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return now.Sub(t).Round(time.Second).String() + " ago"
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Disc publisher</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5rem 2rem; color: #111; }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
  p.sub { margin: 0 0 1rem; color: #444; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
  th { background: #f4f4f4; font-weight: 600; white-space: nowrap; }
  td.actions { white-space: nowrap; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .state { font-weight: 600; padding: .1rem .45rem; border-radius: 4px; background: #eee; }
  .done { background: #d9f2dd; color: #1b5e20; }
  .failed { background: #fbdcdc; color: #8b1111; }
  .burning, .verifying, .writing { background: #fff1c9; color: #6b4e00; }
  .reason { color: #8b1111; font-size: .92rem; margin-top: .25rem; }
  form { display: inline; }
  button, a.button { display: inline-block; font: inherit; padding: .25rem .7rem; border: 1px solid #777; border-radius: 4px; background: #fff; color: #111; text-decoration: none; cursor: pointer; }
  .msg { padding: .5rem .8rem; background: #eef4ff; border: 1px solid #b8cdf5; border-radius: 4px; margin-bottom: 1rem; }
  code { font-size: .9rem; }
</style>
</head>
<body>
<h1>Disc publisher</h1>
<p class="sub">Jobs, oldest first. This page refreshes every 5 seconds; it shows no patient data.</p>
{{if eq .Message "retry"}}<p class="msg">The job is queued again.</p>{{end}}
{{if eq .Message "noretry"}}<p class="msg">Only a failed job can be retried.</p>{{end}}
{{if not .Jobs}}<p>No jobs yet: nothing has been sent to the publisher.</p>{{else}}
<table>
<tr><th>Job</th><th>State</th><th>Instances</th><th>Disc label</th><th>Image</th><th>Last change</th><th></th></tr>
{{range .Jobs}}<tr>
<td class="num">{{.ID}}</td>
<td><span class="state {{.State}}">{{.State}}</span>{{if .Reason}}<div class="reason">{{.Reason}}</div>{{end}}</td>
<td class="num">{{.Instances}}</td>
<td><code>{{.Label}}</code></td>
<td>{{if .Output}}<code>{{.Output}}</code>{{end}}</td>
<td>{{ago $.Now .Updated}}</td>
<td class="actions">{{if eq .State "failed"}}<form method="post" action="/jobs/{{.ID}}/retry"><button type="submit">Retry</button></form> {{end}}{{if .Slip}}<a class="button" href="/jobs/{{.ID}}/slip" target="_blank" rel="noopener">Print slip</a>{{end}}</td>
</tr>
{{end}}</table>{{end}}
</body>
</html>
`))
