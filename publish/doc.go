// Package publish is the disc publisher service: a queue of jobs on disk,
// fed by a dimse Server, each job burned by media to an ISO image (and
// optionally an optical drive), verified, and its received instances
// removed.
//
// A job collects the instances of one study (or one patient, PerPatient).
// It is complete when nothing has arrived for it for Settle; then it is
// burned. The queue lives in the spool folder, so that kill -9 at any
// moment loses no instance and burns no study twice:
//
//	SPOOL/store/…            dimse.FolderStore receives here (fsynced before success)
//	SPOOL/jobs/N/state.json  the job's state, replaced atomically (write, fsync, rename)
//	SPOOL/jobs/N/files/      its instances, moved in from store/ before C-STORE success
//	SPOOL/jobs/N/password    the disc's generated password until the disc is done
//
// Crash points and what a restart does:
//   - an instance received but not yet moved into a job: still in store/,
//     adopted into a job at start (nothing was acknowledged before the move);
//   - a job receiving: it keeps receiving, its settle time starts again;
//   - a job burning (image not yet under its final name): the partial
//     image (atomicfile's temporary) and the slip are removed and the job
//     is burned again from scratch, with a new password;
//   - a job whose image is under its final name (it is renamed there only
//     when complete and read back, after its slip is written) but not
//     recorded done: the image is verified with the stored password and
//     the job marked done, never burned again;
//   - a job done whose files remain: they are removed.
package publish
