package publish

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/securemedia/securemedia/internal/localpage"
)

// StatusPage is the queue's status page on 127.0.0.1, protected as the
// viewer's pages are (package localpage: a token for this run, Host and
// Origin checks, a strict Content-Security-Policy, no caching). Job
// numbers, never patient data, appear in URLs.
type StatusPage struct {
	q       *Queue
	ln      net.Listener
	guard   *localpage.Guard
	mux     *http.ServeMux
	handler http.Handler // mux behind the guard
}

const statusCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// NewStatusPage listens on 127.0.0.1:port (0: a random port).
func NewStatusPage(q *Queue, port int) (*StatusPage, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
	guard, err := localpage.New(ln.Addr().(*net.TCPAddr).Port, "sm_publish")
	if err != nil {
		ln.Close()
		return nil, err
	}
	p := &StatusPage{q: q, ln: ln, guard: guard, mux: http.NewServeMux()}
	p.mux.HandleFunc("GET /{$}", p.list)
	p.mux.HandleFunc("POST /jobs/{id}/retry", p.retry)
	p.mux.HandleFunc("GET /jobs/{id}/slip", p.slip)
	if q.o.Fetch != nil {
		p.mux.HandleFunc("GET /requests/new", p.requestForm)
		p.mux.HandleFunc("POST /requests", p.request)
		p.mux.HandleFunc("POST /requests/{id}/retry", p.onRequest(q.RetryRequest, "retry", "noretry"))
		p.mux.HandleFunc("POST /requests/{id}/remove", p.onRequest(q.RemoveRequest, "removed", "noremove"))
	}
	p.handler = guard.Handler(statusCSP, "Open the status page with the address publish printed.", p.mux)
	return p, nil
}

// URL is the start URL, token included.
func (p *StatusPage) URL() string { return p.guard.URL() }

// Serve answers until ctx ends.
func (p *StatusPage) Serve(ctx context.Context) error {
	srv := &http.Server{Handler: p.handler, ReadHeaderTimeout: 10 * time.Second}
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

func (p *StatusPage) list(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Refresh", "5")
	_ = statusHTML.Execute(w, struct {
		Jobs     []JobStatus
		Requests []RequestStatus
		CanFetch bool
		Message  string
		Now      time.Time
	}{p.q.Status(), p.q.Requests(), p.q.o.Fetch != nil, r.URL.Query().Get("msg"), time.Now().UTC()})
}

// requestForm asks for an accession number, on a page of its own: the
// status page refreshes itself, which would clear a number half typed.
func (p *StatusPage) requestForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = requestHTML.Execute(w, r.URL.Query().Get("msg"))
}

// request queues a fetch by accession number, from the page's form. The
// number goes in the form's body, never in a URL.
func (p *StatusPage) request(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	msg := "requested"
	if _, err := p.q.Request(strings.TrimSpace(r.PostFormValue("accession"))); err != nil {
		http.Redirect(w, r, "/requests/new?msg=badaccession", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/?msg="+msg, http.StatusSeeOther)
}

// onRequest is a button's handler for the request the path names: do it,
// then back to the list saying ok or failed.
func (p *StatusPage) onRequest(do func(int) error, ok, failed string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		msg := ok
		if err != nil || do(id) != nil {
			msg = failed
		}
		http.Redirect(w, r, "/?msg="+msg, http.StatusSeeOther)
	}
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

// pageStyle is the look of both pages.
const pageStyle = `{{define "style"}}<style>
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
  h2 { font-size: 1.1rem; margin: 1.2rem 0 .5rem; }
  form.fetch { display: block; margin: 0 0 1rem; }
  form.fetch input { font: inherit; padding: .2rem .4rem; width: 11rem; }
  table.requests { margin-bottom: 1.5rem; }
  .fetching { background: #fff1c9; color: #6b4e00; }
</style>{{end}}`

var requestHTML = template.Must(template.Must(template.New("request").Parse(pageStyle)).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Disc publisher: a disc by accession number</title>
{{template "style"}}
</head>
<body>
<h1>A disc by accession number</h1>
<p class="sub">The publisher finds the study in its PACS, fetches it, and makes its disc like a study sent to it. Studies of two patients under one number are refused.</p>
{{if eq . "badaccession"}}<p class="msg">That is not an accession number (1 to 16 characters, no wildcard). Nothing was queued.</p>{{end}}
<form class="fetch" method="post" action="/requests"><label>Accession number <input name="accession" maxlength="16" required autofocus autocomplete="off"></label> <button type="submit">Fetch from the PACS</button> <a class="button" href="/">Cancel</a></form>
</body>
</html>
`))

var statusHTML = template.Must(template.Must(template.New("status").Funcs(template.FuncMap{
	"ago": func(now, t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return now.Sub(t).Round(time.Second).String() + " ago"
	},
}).Parse(pageStyle)).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Disc publisher</title>
{{template "style"}}
</head>
<body>
<h1>Disc publisher</h1>
<p class="sub">Oldest first. This page refreshes every 5 seconds; it shows no patient data.</p>
{{if eq .Message "retry"}}<p class="msg">The job is queued again.</p>{{end}}
{{if eq .Message "noretry"}}<p class="msg">Only a failed job or request can be retried.</p>{{end}}
{{if eq .Message "removed"}}<p class="msg">The request is removed.</p>{{end}}
{{if eq .Message "noremove"}}<p class="msg">Only a failed request can be removed.</p>{{end}}
{{if eq .Message "requested"}}<p class="msg">The request is queued: its studies are fetched from the PACS and become a job below.</p>{{end}}
{{if .CanFetch}}<p><a class="button" href="/requests/new">Make a disc by accession number…</a></p>
{{if .Requests}}<h2>Requests by accession number</h2>
<table class="requests">
<tr><th>Request</th><th>State</th><th>Attempts</th><th>Instances fetched</th><th>Last change</th><th></th></tr>
{{range .Requests}}<tr>
<td class="num">{{.ID}}</td>
<td><span class="state {{.State}}">{{.State}}</span>{{if .Reason}}<div class="reason">{{.Reason}}</div>{{end}}</td>
<td class="num">{{.Attempts}}</td>
<td class="num">{{.Instances}}</td>
<td>{{ago $.Now .Updated}}</td>
<td class="actions">{{if eq .State "failed"}}<form method="post" action="/requests/{{.ID}}/retry"><button type="submit">Retry</button></form> <form method="post" action="/requests/{{.ID}}/remove"><button type="submit">Remove</button></form>{{end}}</td>
</tr>
{{end}}</table>{{end}}<h2>Jobs</h2>{{end}}
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
