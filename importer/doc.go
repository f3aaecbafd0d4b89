// Package importer is the receiving site's side of a patient disc: the
// Importer actor of IHE Radiology Import Reconciliation Workflow (IRWF).
package importer
