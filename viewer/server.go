package viewer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/importer"
	"github.com/securemedia/securemedia/internal/localpage"
	"github.com/securemedia/securemedia/media"
)

// Options configure a Server.
type Options struct {
	// Port to listen on at 127.0.0.1; 0 picks a free one.
	Port int
	// Version is shown on the About page (which also lists the licences of
	// the software inside the viewer).
	Version string
	// LoadKey, if set, lets the unlock page open the disc with a
	// certificate and private key file (paths typed by the user). Without
	// it the page offers the password only.
	LoadKey func(certFile, keyFile string) (media.Identity, error)
	// LoadKeyFiles, if set, lets the unlock page open the disc with a
	// certificate and private key given as files (uploaded to the page:
	// INDEX.HTM, where there are no paths to type); the names are for
	// messages. It takes the place of LoadKey's form.
	LoadKeyFiles func(certName string, cert []byte, keyName string, key []byte) (media.Identity, error)
	// LoadPKCS12, if set, lets the unlock page open the disc with a
	// PKCS #12 file (.p12, .pfx) the user chooses and its password, given
	// as bytes with the file's name (for error messages).
	LoadPKCS12 func(name string, b, password []byte) (media.Identity, error)
	// TLS, if set, secures Send to PACS (and its Test connection and
	// Find): the client side of DICOM TLS, as dimse.Config.TLS.
	TLS *tls.Config
	// Audit, if set, is told when the page gives access to the disc's
	// patient data and when it sends them to a PACS, for the site's audit
	// trail (securemedia view records DICOM audit messages).
	Audit Auditor
}

// Auditor is what the viewer tells the site's audit trail. Its calls must
// return promptly (bounded by the auditor's own timeouts).
type Auditor interface {
	// Accessed: the disc's studies are shown, once unlocked (or opened
	// plain): PS3.15's DICOM Instances Accessed.
	Accessed(d *media.Disc)
	// Forwarded: Send to PACS ended. items are every instance's result,
	// sent under identity change (empty: as on the disc), err the send's
	// error: the disc's Import and the Instances Transferred.
	Forwarded(d *media.Disc, cfg dimse.Config, change importer.Change, items []importer.Item, err error)
}

// opened shows the unlocked disc's studies and tells the auditor.
func (s *Server) opened() {
	s.tree = buildTree(s.disc)
	s.unlocked.Store(true)
	if s.opts.Audit != nil {
		s.opts.Audit.Accessed(s.disc)
	}
}

// Server is the local web viewer of one disc. It listens on 127.0.0.1 only
// and answers only requests that carry its per-launch token, name its own
// host and come from its own origin.
type Server struct {
	disc   *media.Disc
	owned  *media.Disc // chosen on the page: closed when Serve returns
	opts   Options
	ln     net.Listener
	guard  *localpage.Guard // host, origin and token checks (New only)
	served http.Handler     // mux behind the guard

	unlockMu sync.Mutex
	unlocked atomic.Bool
	tree     *tree

	exportMu sync.Mutex
	decode   chan struct{} // bounds concurrent frame decodes (memory)
	frames   *frameCache
	failed   failures // files found lost while reading them (problems.go)

	send sender // Send to PACS (send.go)

	// inPage: the viewer runs inside INDEX.HTM (NewInProcess), where a
	// browser can open no DICOM connection and write no folder: Send and
	// Save a copy say so instead.
	inPage bool

	closeOnce sync.Once
	closed    chan struct{}
	mux       *http.ServeMux
}

// New opens a listener on 127.0.0.1 for the disc. A disc that is already
// unlocked (or plain) shows its studies at once; a sealed one asks for its
// password first. With a nil disc the page first asks which disc to open.
func New(d *media.Disc, o Options) (*Server, error) {
	if o.Port < 0 || o.Port > 65535 {
		return nil, fmt.Errorf("port %d out of range", o.Port)
	}
	s, err := newServer(d, o)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port)))
	if err != nil {
		return nil, err
	}
	if s.guard, err = localpage.New(ln.Addr().(*net.TCPAddr).Port, "sm_token"); err != nil {
		ln.Close()
		return nil, err
	}
	s.ln = ln
	s.routes()
	s.served = s.guard.Handler(pageCSP, "Open the viewer with the address securemedia printed.", s.mux)
	return s, nil
}

func newServer(d *media.Disc, o Options) (*Server, error) {
	s := &Server{disc: d, opts: o, decode: make(chan struct{}, 2), frames: newFrameCache(frameCacheBytes), closed: make(chan struct{})}
	if d != nil { // nil: the page asks for the disc (choose.go)
		if err := s.attach(d); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// NewInProcess returns the viewer of a disc as a handler for requests made
// inside this process, with no listener: INDEX.HTM's WebAssembly answers
// the page scripts' requests with it (cmd/discpage). No other program or
// site can reach it, so it asks for no token; it sets the same headers.
func NewInProcess(d *media.Disc, o Options) (http.Handler, error) {
	if d == nil {
		return nil, errors.New("viewer: no disc")
	}
	s, err := newServer(d, o)
	if err != nil {
		return nil, err
	}
	s.inPage = true
	s.routes()
	return inProcess{s}, nil
}

type inProcess struct{ s *Server }

func (p inProcess) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	localpage.SetHeaders(w.Header(), pageCSP)
	p.s.mux.ServeHTTP(w, r)
}

// URL is the start URL, token included: open it in a browser.
func (s *Server) URL() string { return s.guard.URL() }

// Addr is the address the server listens on (127.0.0.1:port).
func (s *Server) Addr() string { return s.guard.Host() }

// Closed is closed when the user pressed "Close" on the page.
func (s *Server) Closed() <-chan struct{} { return s.closed }

// Serve answers requests until ctx is done or the user closes the viewer.
func (s *Server) Serve(ctx context.Context) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	defer s.closeOwned()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	case <-s.closed:
	}
	s.stopSend()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	return err
}

// pageCSP keeps every page to our own scripts, styles and requests, and out
// of other sites' frames.
const pageCSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP checks every request (host, origin, token) before routing it,
// and sets the headers that keep pages private and self-contained
// (package localpage).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.served.ServeHTTP(w, r) }

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.home)
	m.HandleFunc("POST /unlock", s.unlock)
	m.HandleFunc("POST /choose", s.choose)
	m.HandleFunc("GET /series/{key}", s.needUnlocked(s.seriesPage))
	m.HandleFunc("GET /info/{key}/{i}", s.needUnlocked(s.infoJSON))
	m.HandleFunc("GET /frame/{key}/{i}", s.needUnlocked(s.frameData))
	m.HandleFunc("GET /tags/{key}/{i}", s.needUnlocked(s.tagsJSON))
	m.HandleFunc("GET /compare", s.needUnlocked(s.comparePage))
	m.HandleFunc("GET /about", s.about)
	if s.inPage {
		s.inPageRoutes(m)
	} else {
		m.HandleFunc("GET /export", s.needUnlocked(s.exportPage))
		m.HandleFunc("POST /export", s.needUnlocked(s.export))
		m.HandleFunc("POST /close", s.close)
		s.sendRoutes(m)
	}
	m.Handle("GET /static/", http.FileServerFS(staticFS))
	s.mux = m
}

// inPageRoutes answer Send and Close in INDEX.HTM, which cannot do them,
// in words, and Save a copy with a .zip download (exportzip.go).
func (s *Server) inPageRoutes(m *http.ServeMux) {
	say := func(title, msg string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s.render(w, http.StatusOK, "message", map[string]any{"Title": title, "Message": msg})
		}
	}
	send := say("Send to PACS", "A web browser cannot send images to a PACS (it cannot open a DICOM connection). "+
		"To send them, start the viewer program on the disc (see README.TXT), or use securemedia send.")
	m.HandleFunc("GET /send", send)
	m.HandleFunc("POST /send", send)
	m.HandleFunc("GET /export", s.needUnlocked(s.exportZipPage))
	m.HandleFunc("POST /export", s.needUnlocked(s.exportZip))
	m.HandleFunc("POST /close", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, http.StatusOK, "closed", map[string]any{"Title": "Viewer closed"})
	})
}

func (s *Server) needUnlocked(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.unlocked.Load() {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		h(w, r)
	}
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if !s.unlocked.Load() {
		if s.needsDisc() {
			s.render(w, http.StatusOK, "choose", chooseData("", ""))
			return
		}
		s.render(w, http.StatusOK, "unlock", s.unlockData(""))
		return
	}
	s.render(w, http.StatusOK, "studies", map[string]any{"Title": "Studies on this disc", "Tree": s.tree, "Report": s.report()})
}

func (s *Server) unlockData(msg string) map[string]any {
	return map[string]any{"Title": "Open the disc", "Error": msg, "Keys": s.opts.LoadKey != nil, "KeyFiles": s.opts.LoadKeyFiles != nil, "PKCS12": s.opts.LoadPKCS12 != nil}
}

func (s *Server) unlock(w http.ResponseWriter, r *http.Request) {
	s.unlockMu.Lock()
	defer s.unlockMu.Unlock()
	if s.unlocked.Load() || s.disc == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	limit := int64(64 << 10)
	if s.opts.LoadKeyFiles != nil {
		limit = maxKeyUpload
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	pw := r.PostFormValue("password")
	certFile, keyFile := r.PostFormValue("cert"), r.PostFormValue("key")
	var ids []media.Identity
	if id, msg := s.uploadedKey(r); msg != "" {
		s.render(w, http.StatusOK, "unlock", s.unlockData(msg))
		return
	} else if id != nil {
		ids = append(ids, id)
	}
	if certFile != "" || keyFile != "" {
		if s.opts.LoadKey == nil {
			s.render(w, http.StatusBadRequest, "unlock", s.unlockData("Opening with a certificate is not available here."))
			return
		}
		if certFile == "" || keyFile == "" {
			s.render(w, http.StatusOK, "unlock", s.unlockData("Give both the certificate file and the private key file."))
			return
		}
		id, err := s.opts.LoadKey(certFile, keyFile)
		if err != nil {
			s.render(w, http.StatusOK, "unlock", s.unlockData("The certificate or key could not be read: "+err.Error()))
			return
		}
		ids = append(ids, id)
	}
	if pw != "" {
		id, err := media.Password([]byte(pw))
		if err != nil {
			s.render(w, http.StatusOK, "unlock", s.unlockData("That password cannot be right: "+err.Error()))
			return
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		s.render(w, http.StatusOK, "unlock", s.unlockData("Type the disc's password first."))
		return
	}
	if err := s.disc.Salvage(ids...); err != nil {
		s.render(w, http.StatusOK, "unlock", s.unlockData(unlockMessage(err)))
		return
	}
	s.opened()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// maxKeyUpload bounds a form with a certificate and key file: each is at
// most 1 MiB (cms/keyfile).
const maxKeyUpload = 3 << 20

// uploadedKey is the identity of the certificate and key files sent with
// the unlock form (LoadKeyFiles), nil if none were; or why not, in words.
func (s *Server) uploadedKey(r *http.Request) (media.Identity, string) {
	if s.opts.LoadKeyFiles == nil || r.MultipartForm == nil {
		return nil, ""
	}
	if p12, name := formFile(r, "p12file"); p12 != nil && s.opts.LoadPKCS12 != nil {
		id, err := s.opts.LoadPKCS12(name, p12, []byte(r.PostFormValue("p12password")))
		if err != nil {
			return nil, "The PKCS #12 file could not be read: " + err.Error()
		}
		return id, ""
	}
	cert, certName := formFile(r, "certfile")
	key, keyName := formFile(r, "keyfile")
	switch {
	case cert == nil && key == nil:
		return nil, ""
	case cert == nil || key == nil:
		return nil, "Give both the certificate file and the private key file."
	}
	id, err := s.opts.LoadKeyFiles(certName, cert, keyName, key)
	if err != nil {
		return nil, "The certificate or key could not be read: " + err.Error()
	}
	return id, ""
}

// formFile is an uploaded file's bytes and name, nil if none was given.
func formFile(r *http.Request, field string) ([]byte, string) {
	f, h, err := r.FormFile(field)
	if err != nil {
		return nil, ""
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyUpload))
	if err != nil || len(b) == 0 {
		return nil, ""
	}
	return b, h.Filename
}

func unlockMessage(err error) string {
	switch {
	case errors.Is(err, media.ErrWrongPassword):
		return "That password did not open this disc. Check it and try again: capitals, spaces and dashes count."
	case errors.Is(err, media.ErrNoRecipient):
		return "This disc was not sealed for that key or certificate. Try the password instead, or another key."
	case errors.Is(err, media.ErrPolicy):
		return "That password has characters a disc password never has. Check it and try again."
	case errors.Is(err, media.ErrDamaged):
		return "The disc's directory is damaged and cannot be opened (" + err.Error() + "). Ask the sender for a new disc."
	}
	return "The disc could not be opened: " + err.Error()
}

func (s *Server) close(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "closed", map[string]any{"Title": "Viewer closed"})
	s.closeOnce.Do(func() { close(s.closed) })
}

func (s *Server) about(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "about", map[string]any{"Title": "About", "Version": s.opts.Version})
}

// render writes a page; template errors after the header are not
// recoverable and are dropped.
func (s *Server) render(w http.ResponseWriter, code int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_ = pages.ExecuteTemplate(w, name, data)
}

func (s *Server) fail(w http.ResponseWriter, code int, msg string) {
	s.render(w, code, "message", map[string]any{"Title": "Something went wrong", "Message": msg})
}
