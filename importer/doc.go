// Package importer is the receiving site's side of a patient disc: the
// Importer actor of IHE Radiology Import Reconciliation Workflow (IRWF).
// It selects part of an unlocked medium (Select: a patient, study or
// series by UID, ID or number, as "securemedia open" lists them), finds
// the local patient in the PACS (FindPatients: C-FIND, for the user to
// choose from), reconciles the patient identity with the local one, one
// patient at a time (Change, Reconcile, Rewrite; Mapping and Assign for a
// reconciliation file naming several), prepares the instances
// (DiscInstances: an ISO image or a folder, sealed or plain, which package
// media reads alike), forwards them to a PACS over package dimse (Send),
// and remembers what the PACS confirmed, per identity, so that a second
// run sends only the rest (State).
//
// The safety rule of sending from a medium: an instance is offered to the
// PACS only once its whole file has been decrypted and its digest or
// signature checked, and once its header has been found to be the instance
// its DICOMDIR record names. Each file is read once for that (held in
// memory, within a bound, while the previous instance is being sent);
// nothing decrypted is written to disk. A damaged instance is reported as
// such (Item.Damaged), never sent.
package importer
