package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/importer"
	"github.com/securemedia/securemedia/publish"
)

// publishFetcher is the publisher's way to the PACS for requests by
// accession number (publish.FetchFunc): fetch's C-FIND and C-GET or
// C-MOVE, with the instances going into the queue instead of a folder.
type publishFetcher struct {
	cfg   dimse.Config
	peer  peer
	move  bool // C-MOVE to our own AE title (the service's storage SCP)
	ourAE string
}

// fetch finds the accession number's studies (refusing two patients' and
// more than fetch takes) and retrieves each; a study that did not arrive
// whole is an error, so that the request stays failed and is seen.
func (f publishFetcher) fetch(ctx context.Context, accession string, store dimse.StoreHandler) (int, error) {
	sel := importer.StudySelector{AccessionNumber: accession}
	if err := sel.Check(); err != nil {
		return 0, err
	}
	studies, err := importer.FindStudies(ctx, f.cfg, sel, maxFetchStudies)
	switch {
	case errors.Is(err, importer.ErrTooManyStudies):
		return 0, fmt.Errorf("%s: more than %d studies have this accession number", f.peer, maxFetchStudies)
	case err != nil:
		return 0, fmt.Errorf("%s: C-FIND: %w", f.peer, explainFetch(err, f.cfg.CallingAE, "C-FIND"))
	case len(studies) == 0:
		return 0, fmt.Errorf("%s: no study has this accession number", f.peer)
	}
	if err := importer.OnePatient(studies); err != nil {
		return 0, fmt.Errorf("%s: %w; nothing fetched", f.peer, err)
	}
	total := 0
	for _, st := range studies {
		n, err := f.retrieve(ctx, st.StudyUID, store)
		total += n
		if err != nil {
			return total, fmt.Errorf("study %s: %w", st.StudyUID, err)
		}
	}
	return total, nil
}

// retrieve fetches one study: how many instances the queue took, and an
// error if the PACS reported a failure or fewer arrived than it stored.
func (f publishFetcher) retrieve(ctx context.Context, studyUID string, store dimse.StoreHandler) (int, error) {
	var took atomic.Int64
	r := importer.Retrieval{Store: func(ctx context.Context, req dimse.StoreRequest, data io.Reader) dimse.Status {
		st := store(ctx, req, data)
		if st.Code == 0 {
			took.Add(1)
		}
		return st
	}}
	op := "C-GET"
	if f.move {
		r, op = importer.Retrieval{Move: true, MoveDestination: f.ourAE}, "C-MOVE"
	}
	res, err := importer.RetrieveStudy(ctx, f.cfg, studyUID, r)
	if err != nil {
		return int(took.Load()), fmt.Errorf("%s: %w", op, explainFetch(err, f.cfg.CallingAE, op))
	}
	n := int(took.Load())
	if f.move {
		n = max(res.Completed, 0) // stored by the PACS into our SCP, which is the queue
	}
	switch {
	case res.Status.Kind() != dimse.Success:
		return n, fmt.Errorf("%s answered %v (%d failed, %d with a warning)", op, res.Status, max(res.Failed, 0), max(res.Warning, 0))
	case !f.move && res.Completed > n:
		return n, fmt.Errorf("the PACS reports %s stored, %d arrived", count(res.Completed, "instance"), n)
	case n == 0:
		return 0, errors.New("no instance arrived")
	}
	return n, nil
}

// fetcher is the FetchFunc of the publish flags, or nil without --pacs.
func (o *publishOptions) fetcher() (publish.FetchFunc, error) {
	if o.pacs == "" {
		return nil, nil
	}
	p, err := parsePeer(o.pacs)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	var move bool
	switch o.fetchMethod {
	case "get":
	case "move":
		move = true
	default:
		return nil, withCode(exitUsage, fmt.Errorf("--fetch-method %q: get or move", o.fetchMethod))
	}
	// The PACS is reached over TLS when we are served over TLS, with our
	// certificate and the same CAs.
	tc := o.nf.tls
	tc.noClientCert = false
	ctls, err := tc.clientConfig()
	if err != nil {
		return nil, err
	}
	cfg := dimse.Config{CallingAE: o.aet, CalledAE: p.AET, Address: p.Addr, Timeout: o.nf.timeout,
		ARTIM: min(o.nf.timeout, dimse.DefaultARTIM), TLS: ctls}
	return publishFetcher{cfg: cfg, peer: p, move: move, ourAE: o.aet}.fetch, nil
}

func newPublishFetchCommand(e *env) *cobra.Command {
	var spool, accession string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "fetch --spool DIR --accession N",
		Short: "Ask the disc publisher to fetch a study from its PACS by accession number and make its disc",
		Long: `fetch queues a request in the publisher's spool: the running publisher (which
must have --pacs) finds the studies with Accession Number N in its PACS
(C-FIND, as "securemedia fetch"), retrieves them (C-GET, or C-MOVE to its
own AE title with --fetch-method move) into its queue, and they become a
job like any study pushed to it: settled, burned, verified. The request is
picked up within a second; one queued while the publisher is stopped is
fetched when it starts. Studies of two patients under one accession number
are refused, as fetch refuses them. "publish status" lists the requests
(by number, never the accession number) with their state; a failed one
says why and can be retried on the status page.

EXAMPLES
  securemedia publish fetch --spool /var/spool/securemedia --accession A123456`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applySiteConfig(e, cmd, []string{"spool"}, siteConfigKeys); err != nil {
				return err
			}
			if spool == "" || accession == "" {
				return withCode(exitUsage, errors.New("--spool DIR and --accession N are required"))
			}
			r, err := publish.AddRequest(spool, accession)
			if errors.Is(err, publish.ErrAccession) {
				return withCode(exitUsage, fmt.Errorf("--accession: %w", err))
			}
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(e.stdout, struct {
					Request int    `json:"request"`
					Spool   string `json:"spool"`
				}{r.ID, spool})
			}
			fmt.Fprintf(e.stdout, "request %d queued in %s: the publisher fetches it from its PACS; see \"securemedia publish status\"\n", r.ID, spool)
			return nil
		},
	}
	cmd.Flags().StringVar(&spool, "spool", "", "the publisher's spool `DIR`")
	cmd.Flags().StringVar(&accession, "accession", "", "the study's Accession Number `N`")
	addJSONFlag(cmd, &asJSON)
	return cmd
}
