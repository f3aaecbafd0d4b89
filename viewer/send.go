package viewer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/importer"
	"github.com/securemedia/securemedia/media"
)

// Send to PACS: a form (peer, optional new Patient ID), a background job
// (one at a time) running the importer as "securemedia send" does, and
// a progress page that polls /send/status. Without script the pages still
// work: the form posts normally and the progress page can be reloaded.

// sendRoutes adds the Send to PACS pages to m.
func (s *Server) sendRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /send", s.needUnlocked(s.sendForm))
	m.HandleFunc("POST /send", s.needUnlocked(s.sendStart))
	m.HandleFunc("POST /send/echo", s.needUnlocked(s.sendEcho))
	m.HandleFunc("POST /send/find", s.needUnlocked(s.sendFind))
	m.HandleFunc("POST /send/pick", s.needUnlocked(s.sendPick))
	m.HandleFunc("GET /send/job", s.needUnlocked(s.sendJobPage))
	m.HandleFunc("GET /send/status", s.needUnlocked(s.sendStatus))
	m.HandleFunc("POST /send/cancel", s.needUnlocked(s.sendCancel))
}

// sender holds the current (or last) send job.
type sender struct {
	mu  sync.Mutex
	job *sendJob
}

// stopSend cancels a running job and waits for it (bounded), when the
// viewer stops.
func (s *Server) stopSend() {
	j := s.currentJob()
	if j == nil {
		return
	}
	j.cancel()
	select {
	case <-j.done:
	case <-time.After(10 * time.Second):
	}
}

// sendScope is what a send covers: one patient's images, a study or a
// series (each of one patient). A PACS files images by patient, and a
// new identity is one patient's (IHE IRWF): a disc's patients are sent
// one at a time, never together.
type sendScope struct {
	Param, Value string // query parameter naming it ("patient", "study", "series")
	Title        string // in words, for the pages
	Patient      *patientView
	ids          []*media.Instance
	Count        int
}

// errChoosePatient: the disc holds several patients and none was named.
var errChoosePatient = errors.New("choose the patient whose images to send")

// scope resolves ?patient=P, ?study=P-S or ?series=KEY; with none, the
// disc's only patient, or errChoosePatient.
func (s *Server) scope(patient, study, series string) (*sendScope, error) {
	pats := s.tree.Patients
	switch {
	case series != "":
		v := s.tree.series[series]
		if v == nil {
			return nil, errors.New("that series is not on this disc")
		}
		t := fmt.Sprintf("series %s (%s) of the study of %s", orDash(v.Number), orDash(v.Modality), formatDate(v.Study.Date))
		return &sendScope{Param: "series", Value: series, Title: t, Patient: v.Patient, ids: v.files, Count: len(v.files)}, nil
	case study != "":
		p, st, ok := strings.Cut(study, "-")
		pi, err1 := strconv.Atoi(p)
		si, err2 := strconv.Atoi(st)
		if !ok || err1 != nil || err2 != nil || pi < 0 || pi >= len(pats) || si < 0 || si >= len(pats[pi].Studies) {
			return nil, errors.New("that study is not on this disc")
		}
		sv := pats[pi].Studies[si]
		sc := &sendScope{Param: "study", Value: study, Title: "the study of " + formatDate(sv.Date), Patient: pats[pi]}
		if sv.Description != "" {
			sc.Title += " (" + sv.Description + ")"
		}
		for _, se := range sv.Series {
			sc.ids = append(sc.ids, se.files...)
		}
		sc.Count = len(sc.ids)
		return sc, nil
	case patient == "" && len(pats) != 1:
		return nil, errChoosePatient
	}
	pi := 0
	if patient != "" {
		var err error
		if pi, err = strconv.Atoi(patient); err != nil || pi < 0 || pi >= len(pats) {
			return nil, errors.New("that patient is not on this disc")
		}
	}
	pv := pats[pi]
	sc := &sendScope{Param: "patient", Value: strconv.Itoa(pi), Title: "the images of " + orDash(pv.Name), Patient: pv}
	for _, st := range pv.Studies {
		for _, se := range st.Series {
			sc.ids = append(sc.ids, se.files...)
		}
	}
	sc.Count = len(sc.ids)
	return sc, nil
}

// formScope is the scope a request names, in its query or its form.
func (s *Server) formScope(r *http.Request) (*sendScope, error) {
	v := func(k string) string {
		if r.Method == http.MethodPost {
			return r.PostFormValue(k)
		}
		return r.URL.Query().Get(k)
	}
	return s.scope(v("patient"), v("study"), v("series"))
}

// scopeFailed answers a request whose scope is not one patient's: the
// list of the disc's patients to choose from, or not found.
func (s *Server) scopeFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errChoosePatient) {
		code := http.StatusOK
		if r.Method == http.MethodPost {
			code = http.StatusBadRequest
		}
		s.render(w, code, "sendchoose", map[string]any{"Title": "Send to PACS", "Patients": s.tree.Patients, "Refused": r.Method == http.MethodPost})
		return
	}
	s.fail(w, http.StatusNotFound, err.Error())
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// sendParams are the form's fields.
type sendParams struct {
	AET, Host, Port, Calling, PatientID, Issuer, PatientName string
}

func formParams(r *http.Request) sendParams {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	p := sendParams{AET: f("aet"), Host: f("host"), Port: f("port"), Calling: f("calling"), PatientID: f("patient_id"),
		Issuer: f("issuer"), PatientName: f("patient_name")}
	if p.Calling == "" {
		p.Calling = defaultCallingAET
	}
	return p
}

const defaultCallingAET = "SECUREMEDIA"

// config checks the fields; errs maps a field to what is wrong with it.
func (p sendParams) config() (dimse.Config, importer.Change, map[string]string) {
	errs := map[string]string{}
	if p.AET == "" {
		errs["aet"] = "Type the PACS's AE title (ask its administrator; for example ORTHANC)."
	} else if err := dimse.CheckAETitle(p.AET); err != nil {
		errs["aet"] = "The PACS's AE title must be 1 to 16 characters, printable ASCII, without backslash."
	}
	if err := dimse.CheckAETitle(p.Calling); err != nil {
		errs["calling"] = "Our AE title must be 1 to 16 characters, printable ASCII, without backslash."
	}
	if p.Host == "" || strings.ContainsAny(p.Host, " /\\@") {
		errs["host"] = "Type the PACS's host name or IP address, for example pacs.hospital.local or 10.1.2.3."
	}
	port, err := strconv.Atoi(p.Port)
	if err != nil || port < 1 || port > 65535 {
		errs["port"] = "The port is a number from 1 to 65535 (often 104 or 11112)."
	}
	c := importer.Change{PatientID: p.PatientID, Issuer: p.Issuer, PatientName: p.PatientName}
	if (p.Issuer != "" || p.PatientName != "") && p.PatientID == "" {
		errs["patient_id"] = "Give the hospital's Patient ID too, or leave the issuer and name empty."
	} else if err := c.Check(); err != nil {
		errs["patient_id"] = "The Patient ID, issuer and name must be printable ASCII without backslash; the ID and issuer at most 64 characters each."
	}
	cfg := dimse.Config{CallingAE: p.Calling, CalledAE: p.AET, Address: net.JoinHostPort(p.Host, strconv.Itoa(port)),
		Timeout: dimse.DefaultTimeout, ARTIM: dimse.DefaultARTIM}
	return cfg, c, errs
}

// peerConfig is p's configuration, secured with TLS if the viewer was
// started so.
func (s *Server) peerConfig(p sendParams) (dimse.Config, importer.Change, map[string]string) {
	cfg, c, errs := p.config()
	cfg.TLS = s.opts.TLS
	return cfg, c, errs
}

func (s *Server) sendForm(w http.ResponseWriter, r *http.Request) {
	sc, err := s.formScope(r)
	if err != nil {
		s.scopeFailed(w, r, err)
		return
	}
	s.renderSendForm(w, http.StatusOK, sc, sendParams{Calling: defaultCallingAET}, nil, "")
}

// sendPage is what the send form shows.
type sendPage struct {
	Scope  *sendScope
	P      sendParams
	Errs   map[string]string
	Msg    string // an error, in role=alert
	EchoOK string
	Found  *foundView // the answer to "Find this patient in the PACS"
	Picked string     // the patient picked from it, in words
}

func (s *Server) renderSendForm(w http.ResponseWriter, code int, sc *sendScope, p sendParams, errs map[string]string, msg string) {
	s.renderSendPage(w, code, &sendPage{Scope: sc, P: p, Errs: errs, Msg: msg})
}

func (s *Server) renderSendPage(w http.ResponseWriter, code int, pg *sendPage) {
	j := s.currentJob()
	busy := j != nil && !j.finished()
	s.render(w, code, "send", map[string]any{"Title": "Send to PACS", "Scope": pg.Scope, "P": pg.P, "Errs": pg.Errs,
		"Message": pg.Msg, "EchoOK": pg.EchoOK, "Found": pg.Found, "Picked": pg.Picked, "Busy": busy, "TLS": s.opts.TLS != nil})
}

// sendRequest reads a posted send form: its scope (answered here when it
// is not one patient's) and its fields.
func (s *Server) sendRequest(w http.ResponseWriter, r *http.Request) (*sendScope, sendParams, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	sc, err := s.formScope(r)
	if err != nil {
		s.scopeFailed(w, r, err)
		return nil, sendParams{}, false
	}
	return sc, formParams(r), true
}

func (s *Server) sendStart(w http.ResponseWriter, r *http.Request) {
	sc, p, ok := s.sendRequest(w, r)
	if !ok {
		return
	}
	cfg, change, errs := s.peerConfig(p)
	if len(errs) > 0 {
		s.renderSendForm(w, http.StatusBadRequest, sc, p, errs, "Please correct the fields marked below.")
		return
	}
	s.send.mu.Lock()
	if s.send.job != nil && !s.send.job.finished() {
		s.send.mu.Unlock()
		s.renderSendForm(w, http.StatusConflict, sc, p, nil, "Another send is still running: wait for it to finish, or cancel it, first.")
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	j := &sendJob{scope: sc.Title, peer: cfg.CalledAE + "@" + cfg.Address, cfg: cfg, state: "checking", total: sc.Count,
		cancel: cancel, done: make(chan struct{})}
	if !change.Empty() {
		j.scope += " under Patient ID " + change.PatientID
	}
	s.send.job = j
	s.send.mu.Unlock()
	go j.run(ctx, s, sc.ids, change)
	http.Redirect(w, r, "/send/job", http.StatusSeeOther)
}

// sendEcho answers "Test connection": JSON for the page's script, the
// form again for a browser without it.
func (s *Server) sendEcho(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	p := formParams(r)
	cfg, _, errs := s.peerConfig(p)
	delete(errs, "patient_id")
	ok, msg := false, "Please correct the fields marked below."
	if len(errs) == 0 {
		ok, msg = echo(r.Context(), cfg)
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, map[string]any{"ok": ok, "message": msg, "errors": errs})
		return
	}
	sc, err := s.formScope(r)
	if err != nil {
		s.scopeFailed(w, r, err)
		return
	}
	if ok {
		s.renderSendPage(w, http.StatusOK, &sendPage{Scope: sc, P: p, EchoOK: msg})
		return
	}
	s.renderSendForm(w, http.StatusOK, sc, p, errs, msg)
}

// echo opens an association with the peer and sends C-ECHO.
func echo(ctx context.Context, cfg dimse.Config) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, peer, err := dimse.Echo(ctx, cfg)
	if err != nil && peer == nil {
		return false, connectionProblem(err, cfg)
	}
	if err != nil {
		return false, "The PACS at " + cfg.Address + " accepted the connection but did not answer the test (" + err.Error() + ")."
	}
	if st.Kind() != dimse.Success {
		return false, "The PACS answered the test with status " + st.String() + "."
	}
	return true, "Connection works: " + cfg.CalledAE + " at " + cfg.Address + " answered (C-ECHO)."
}

// sendJob is one send in the background.
type sendJob struct {
	scope, peer string
	cfg         dimse.Config
	cancel      context.CancelFunc
	done        chan struct{}

	mu        sync.Mutex
	state     string // checking, sending, done, cancelled, failed
	checked   int    // instances prepared (their records read) so far
	total     int    // instances in the scope
	toSend    int    // instances that passed the check
	sent      int    // instances with a result from the peer (or not tried)
	stored    int
	current   string
	message   string
	items     []itemView
	cancelled bool
}

// itemView is one line of the result table.
type itemView struct {
	Label  string `json:"label"`
	UID    string `json:"uid"`
	Result string `json:"result"`
	Stored bool   `json:"stored"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

func (j *sendJob) finished() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

func (j *sendJob) run(ctx context.Context, s *Server, ids []*media.Instance, change importer.Change) {
	defer close(j.done)
	defer j.cancel()
	insts, bad, err := importer.DiscInstances(s.disc, ids)
	if err != nil {
		j.finish(err, "The images could not be read from the disc: "+err.Error())
		return
	}
	results := append([]importer.Item(nil), bad...)
	if s.opts.Audit != nil {
		defer func() { s.opts.Audit.Forwarded(s.disc, j.cfg, change, results, err) }()
	}
	j.mu.Lock()
	for _, it := range bad {
		j.items = append(j.items, j.view(it))
	}
	j.state, j.toSend, j.checked = "sending", len(insts), len(insts)+len(bad)
	j.mu.Unlock()
	if len(insts) == 0 {
		j.finish(nil, "")
		return
	}
	importer.Reconcile(insts, change)
	err = importer.Send(ctx, j.cfg, insts, 1, func(it importer.Item) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.sent++
		if !it.Failed {
			j.stored++
		}
		j.current = it.Label
		j.items = append(j.items, j.view(it))
		results = append(results, it)
	})
	msg := ""
	if err != nil {
		msg = connectionProblem(err, j.cfg)
	}
	j.finish(err, msg)
}

func (j *sendJob) finish(err error, msg string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.cancelled || errors.Is(err, context.Canceled):
		j.state, msg = "cancelled", "Cancelled. Images already stored stay in the PACS."
	case err != nil && j.stored == 0:
		j.state = "failed"
	default:
		j.state = "done"
	}
	j.message = msg
	j.current = ""
}

func (j *sendJob) view(it importer.Item) itemView {
	return itemView{Label: it.Label, UID: it.UID, Result: it.Result, Stored: !it.Failed, Reason: reason(it, j.cfg), Detail: it.Detail}
}

// status is what /send/status returns.
type status struct {
	State   string     `json:"state"`
	Scope   string     `json:"scope"`
	Peer    string     `json:"peer"`
	Summary string     `json:"summary"`
	Checked int        `json:"checked"`
	Total   int        `json:"total"`
	ToSend  int        `json:"toSend"`
	Sent    int        `json:"sent"`
	Stored  int        `json:"stored"`
	Message string     `json:"message"`
	Done    bool       `json:"done"`
	Items   []itemView `json:"items"` // from index Since on
	Since   int        `json:"since"`
	Next    int        `json:"next"` // ask with ?since=Next for the rest
}

func (j *sendJob) status(since int) status {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := status{State: j.state, Scope: j.scope, Peer: j.peer, Checked: j.checked, Total: j.total, ToSend: j.toSend,
		Sent: j.sent, Stored: j.stored, Message: j.message, Done: j.state != "checking" && j.state != "sending"}
	since = max(0, min(since, len(j.items)))
	st.Items, st.Since, st.Next = append([]itemView{}, j.items[since:]...), since, len(j.items)
	switch j.state {
	case "checking":
		st.Summary = fmt.Sprintf("Checking the images on the disc: %d of %d", j.checked, j.total)
	case "sending":
		st.Summary = fmt.Sprintf("Sending: %d of %d sent", j.sent, j.toSend)
		if j.current != "" {
			st.Summary += " (last: " + j.current + ")"
		}
	default:
		st.Summary = fmt.Sprintf("%d of %d images stored in %s", j.stored, j.total, j.peer)
		if j.state == "cancelled" {
			st.Summary = "Cancelled: " + st.Summary
		}
	}
	return st
}

func (s *Server) currentJob() *sendJob {
	s.send.mu.Lock()
	defer s.send.mu.Unlock()
	return s.send.job
}

func (s *Server) sendJobPage(w http.ResponseWriter, r *http.Request) {
	j := s.currentJob()
	if j == nil {
		http.Redirect(w, r, "/send", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "sendjob", map[string]any{"Title": "Sending to PACS", "S": j.status(0)})
}

func (s *Server) sendStatus(w http.ResponseWriter, r *http.Request) {
	j := s.currentJob()
	if j == nil {
		w.WriteHeader(http.StatusNotFound)
		writeJSON(w, map[string]string{"message": "No send has been started."})
		return
	}
	since, _ := strconv.Atoi(r.URL.Query().Get("since"))
	writeJSON(w, j.status(since))
}

func (s *Server) sendCancel(w http.ResponseWriter, r *http.Request) {
	if j := s.currentJob(); j != nil && !j.finished() {
		j.mu.Lock()
		j.cancelled = true
		j.mu.Unlock()
		j.cancel()
	}
	http.Redirect(w, r, "/send/job", http.StatusSeeOther)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// reason says in plain words what happened to one instance.
func reason(it importer.Item, cfg dimse.Config) string {
	switch {
	case it.Damaged:
		if errors.Is(it.Err, media.ErrDamaged) {
			return "Not sent: the copy on this disc is damaged (it failed its integrity check). Ask the sender for a new disc."
		}
		return "Not sent: it could not be read from the disc (" + it.Detail + ")."
	case it.Result == "skipped":
		return "Skipped: " + it.Detail + "."
	}
	switch it.Outcome {
	case dimse.Sent:
		return "Stored."
	case dimse.Warned:
		return "Stored, with a warning from the PACS: " + it.Status.Meaning() + "."
	case dimse.Cancelled:
		return "Not sent: you cancelled."
	case dimse.Refused:
		if errors.Is(it.Err, dimse.ErrSOPClassUnsupported) {
			return "Not stored: the PACS does not accept this kind of object (" + it.Detail + "). Ask its administrator to accept it."
		}
		return "Not stored: the PACS does not accept this image's encoding (" + it.Detail + "). Images are never converted, so that they stay exactly as they are on the disc. Ask the PACS administrator to accept this transfer syntax."
	case dimse.NotTried:
		return "Not sent: " + connectionProblem(it.Err, cfg)
	}
	if it.Err != nil {
		if errors.Is(it.Err, media.ErrDamaged) {
			return "Not stored: the image changed while it was being sent (integrity check failed); the transfer was aborted so the PACS has no incomplete copy."
		}
		return "Not stored: " + it.Err.Error() + "."
	}
	return "Not stored: the PACS refused it (" + it.Status.String() + ")."
}

// connectionProblem explains a failure to reach or talk to the peer.
func connectionProblem(err error, cfg dimse.Config) string {
	var rj *dimse.Reject
	var ab *dimse.Abort
	var dns *net.DNSError
	var ne net.Error
	var te *dimse.TLSError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &te):
		return fmt.Sprintf("The secure connection (TLS) to %s failed (%v). Check with the PACS's administrator that its certificate is signed by a CA given to \"securemedia view --tls-ca\", and that it accepts ours (--tls-cert).", cfg.Address, te.Err)
	case errors.As(err, &rj):
		switch [2]byte{rj.Source, rj.Reason} {
		case [2]byte{1, 7}:
			return fmt.Sprintf("The PACS at %s refused the connection: it does not answer to the AE title %q. Check the PACS's AE title (capitals count).", cfg.Address, cfg.CalledAE)
		case [2]byte{1, 3}:
			return fmt.Sprintf("The PACS at %s refused the connection: it does not know our AE title %q. Ask its administrator to add it (with this computer's address), or use the AE title the PACS expects from you.", cfg.Address, cfg.CallingAE)
		}
		return fmt.Sprintf("The PACS at %s refused the connection (%v). Check both AE titles with its administrator.", cfg.Address, err)
	case errors.As(err, &ab):
		return fmt.Sprintf("The PACS at %s broke off the connection (%v). Check both AE titles with its administrator.", cfg.Address, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("Nothing answered at %s (connection refused). Check the host and the port.", cfg.Address)
	case errors.As(err, &dns):
		return fmt.Sprintf("The host name in %s is unknown. Check the spelling, or use the IP address.", cfg.Address)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("No answer from %s in time (timeout). Check the host and the port, and that a firewall lets this computer through.", cfg.Address)
	case errors.Is(err, context.Canceled):
		return "Cancelled."
	}
	return fmt.Sprintf("The connection to %s failed: %v.", cfg.Address, err)
}
