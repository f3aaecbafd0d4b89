package main

import "github.com/securemedia/securemedia/cms"

// cmsExits are the exit codes of the cms package's errors, for the
// single-file commands (seal, unseal, inspect).
var cmsExits = exitTable{
	{cms.ErrWrongPassword, exitBadPassword},
	{cms.ErrNoRecipient, exitNoRecipient},
	{cms.ErrIntegrity, exitIntegrity},
	{cms.ErrDamaged, exitDamaged},
	{cms.ErrTruncated, exitMalformed},
	{cms.ErrMalformed, exitMalformed},
	{cms.ErrNotEnvelopedData, exitNotCMS},
	{cms.ErrPasswordPolicy, exitPolicy},
	{cms.ErrWeakParameters, exitPolicy},
	{cms.ErrUnsupported, exitPolicy},
	{cms.ErrWorkLimit, exitPolicy},
}
