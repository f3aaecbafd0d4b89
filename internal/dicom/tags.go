package dicom

// The tags this project reads or writes, by their PS3.6 keywords: the one
// tag dictionary of the module. Every other package names tags from here
// (dicom.PatientName), never as raw numbers. dict (dict.go) gives the VRs
// that implicit VR data sets need.

const (
	CommandGroupLength        Tag = 0x00000000
	AffectedSOPClassUID       Tag = 0x00000002
	CommandField              Tag = 0x00000100
	MessageID                 Tag = 0x00000110
	MessageIDBeingRespondedTo Tag = 0x00000120
	Priority                  Tag = 0x00000700
	CommandDataSetType        Tag = 0x00000800
	Status                    Tag = 0x00000900
	OffendingElement          Tag = 0x00000901
	ErrorComment              Tag = 0x00000902
	AffectedSOPInstanceUID    Tag = 0x00001000

	FileMetaInformationGroupLength Tag = 0x00020000
	FileMetaInformationVersion     Tag = 0x00020001
	MediaStorageSOPClassUID        Tag = 0x00020002
	MediaStorageSOPInstanceUID     Tag = 0x00020003
	TransferSyntaxUID              Tag = 0x00020010
	ImplementationClassUID         Tag = 0x00020012
	ImplementationVersionName      Tag = 0x00020013
	SourceApplicationEntityTitle   Tag = 0x00020016

	FileSetID                                   Tag = 0x00041130
	FileSetDescriptorFileID                     Tag = 0x00041141
	SpecificCharacterSetOfFileSetDescriptorFile Tag = 0x00041142
	FirstDirectoryRecordOffset                  Tag = 0x00041200
	LastDirectoryRecordOffset                   Tag = 0x00041202
	FileSetConsistencyFlag                      Tag = 0x00041212
	DirectoryRecordSequence                     Tag = 0x00041220
	NextDirectoryRecordOffset                   Tag = 0x00041400
	RecordInUseFlag                             Tag = 0x00041410
	LowerLevelDirectoryEntityOffset             Tag = 0x00041420
	DirectoryRecordType                         Tag = 0x00041430
	PrivateRecordUID                            Tag = 0x00041432
	ReferencedFileID                            Tag = 0x00041500
	ReferencedSOPClassUIDInFile                 Tag = 0x00041510
	ReferencedSOPInstanceUIDInFile              Tag = 0x00041511
	ReferencedTransferSyntaxUIDInFile           Tag = 0x00041512
	ReferencedRelatedGeneralSOPClassUIDInFile   Tag = 0x0004151A

	SpecificCharacterSet                     Tag = 0x00080005
	ImageType                                Tag = 0x00080008
	InstanceCreationDate                     Tag = 0x00080012
	InstanceCreationTime                     Tag = 0x00080013
	SOPClassUID                              Tag = 0x00080016
	SOPInstanceUID                           Tag = 0x00080018
	RelatedGeneralSOPClassUID                Tag = 0x0008001A
	StudyDate                                Tag = 0x00080020
	SeriesDate                               Tag = 0x00080021
	AcquisitionDate                          Tag = 0x00080022
	ContentDate                              Tag = 0x00080023
	AcquisitionDateTime                      Tag = 0x0008002A
	StudyTime                                Tag = 0x00080030
	SeriesTime                               Tag = 0x00080031
	AcquisitionTime                          Tag = 0x00080032
	ContentTime                              Tag = 0x00080033
	AccessionNumber                          Tag = 0x00080050
	QueryRetrieveLevel                       Tag = 0x00080052
	Modality                                 Tag = 0x00080060
	Manufacturer                             Tag = 0x00080070
	InstitutionName                          Tag = 0x00080080
	InstitutionAddress                       Tag = 0x00080081
	ReferringPhysicianName                   Tag = 0x00080090
	CodeValue                                Tag = 0x00080100
	CodingSchemeDesignator                   Tag = 0x00080102
	CodingSchemeVersion                      Tag = 0x00080103
	CodeMeaning                              Tag = 0x00080104
	MappingResource                          Tag = 0x00080105
	ContextGroupVersion                      Tag = 0x00080106
	ContextGroupExtensionFlag                Tag = 0x0008010B
	ContextGroupExtensionCreatorUID          Tag = 0x0008010D
	ContextIdentifier                        Tag = 0x0008010F
	ContextUID                               Tag = 0x00080117
	MappingResourceUID                       Tag = 0x00080118
	LongCodeValue                            Tag = 0x00080119
	URNCodeValue                             Tag = 0x00080120
	StudyDescription                         Tag = 0x00081030
	SeriesDescription                        Tag = 0x0008103E
	PerformingPhysicianName                  Tag = 0x00081050
	ReferencedPerformedProcedureStepSequence Tag = 0x00081111
	ReferencedSeriesSequence                 Tag = 0x00081115
	ReferencedImageSequence                  Tag = 0x00081140
	ReferencedSOPClassUID                    Tag = 0x00081150
	ReferencedSOPInstanceUID                 Tag = 0x00081155
	ReferencedFrameNumber                    Tag = 0x00081160
	DerivationDescription                    Tag = 0x00082111

	PatientName             Tag = 0x00100010
	PatientID               Tag = 0x00100020
	IssuerOfPatientID       Tag = 0x00100021
	TypeOfPatientID         Tag = 0x00100022
	PatientBirthDate        Tag = 0x00100030
	PatientSex              Tag = 0x00100040
	OtherPatientIDsSequence Tag = 0x00101002
	PatientAge              Tag = 0x00101010
	MedicalAlerts           Tag = 0x00102000

	BodyPartExamined Tag = 0x00180015

	// What the viewer shows on the image: geometry, cine and technique.
	RecommendedDisplayFrameRate Tag = 0x00082144
	SliceThickness              Tag = 0x00180050
	KVP                         Tag = 0x00180060
	RepetitionTime              Tag = 0x00180080
	EchoTime                    Tag = 0x00180081
	FrameTime                   Tag = 0x00181063
	ImagerPixelSpacing          Tag = 0x00181164
	ExposureInMAs               Tag = 0x00181152
	PatientOrientation          Tag = 0x00200020
	Laterality                  Tag = 0x00200060
	ImageLaterality             Tag = 0x00200062
	SliceLocation               Tag = 0x00201041

	// The same in an enhanced multi-frame image's functional groups
	// (PS3.3 C.7.6.16): macros each in a sequence of one item.
	MRTimingAndRelatedParametersSequence Tag = 0x00189112
	MREchoSequence                       Tag = 0x00189114
	EffectiveEchoTime                    Tag = 0x00189082
	CTExposureSequence                   Tag = 0x00189321
	CTXRayDetailsSequence                Tag = 0x00189325
	ExposureInmAs                        Tag = 0x00189332
	FrameVOILUTSequence                  Tag = 0x00289132
	PixelValueTransformationSequence     Tag = 0x00289145

	StudyInstanceUID                   Tag = 0x0020000D
	SeriesInstanceUID                  Tag = 0x0020000E
	StudyID                            Tag = 0x00200010
	SeriesNumber                       Tag = 0x00200011
	InstanceNumber                     Tag = 0x00200013
	ImagePositionPatient               Tag = 0x00200032
	ImageOrientationPatient            Tag = 0x00200037
	FrameOfReferenceUID                Tag = 0x00200052
	SynchronizationFrameOfReferenceUID Tag = 0x00200200
	NumberOfPatientRelatedStudies      Tag = 0x00201200
	PlanePositionSequence              Tag = 0x00209113
	PlaneOrientationSequence           Tag = 0x00209116

	SamplesPerPixel            Tag = 0x00280002
	PhotometricInterpretation  Tag = 0x00280004
	PlanarConfiguration        Tag = 0x00280006
	NumberOfFrames             Tag = 0x00280008
	Rows                       Tag = 0x00280010
	Columns                    Tag = 0x00280011
	PixelSpacing               Tag = 0x00280030
	BitsAllocated              Tag = 0x00280100
	BitsStored                 Tag = 0x00280101
	HighBit                    Tag = 0x00280102
	PixelRepresentation        Tag = 0x00280103
	WindowCenter               Tag = 0x00281050
	WindowWidth                Tag = 0x00281051
	RescaleIntercept           Tag = 0x00281052
	RescaleSlope               Tag = 0x00281053
	RescaleType                Tag = 0x00281054
	LossyImageCompressionRatio Tag = 0x00282112
	PixelMeasuresSequence      Tag = 0x00289110

	AcquisitionContextSequence Tag = 0x00400555
	RelationshipType           Tag = 0x0040A010
	VerificationDateTime       Tag = 0x0040A030
	ValueType                  Tag = 0x0040A040
	ConceptNameCodeSequence    Tag = 0x0040A043
	VerifyingObserverSequence  Tag = 0x0040A073
	TextValue                  Tag = 0x0040A160
	ConceptCodeSequence        Tag = 0x0040A168
	CompletionFlag             Tag = 0x0040A491
	VerificationFlag           Tag = 0x0040A493
	ContentSequence            Tag = 0x0040A730
	HL7InstanceIdentifier      Tag = 0x0040E001

	DocumentTitle                  Tag = 0x00420010
	EncapsulatedDocument           Tag = 0x00420011
	MIMETypeOfEncapsulatedDocument Tag = 0x00420012

	CalibrationImage Tag = 0x00500004

	NumberOfSlices Tag = 0x00540081

	ContentLabel             Tag = 0x00700080
	ContentDescription       Tag = 0x00700081
	PresentationCreationDate Tag = 0x00700082
	PresentationCreationTime Tag = 0x00700083
	ContentCreatorName       Tag = 0x00700084
	BlendingSequence         Tag = 0x00700402

	IconImageSequence Tag = 0x00880200

	ModifiedAttributesSequence        Tag = 0x04000550
	OriginalAttributesSequence        Tag = 0x04000561
	AttributeModificationDateTime     Tag = 0x04000562
	ModifyingSystem                   Tag = 0x04000563
	SourceOfPreviousValues            Tag = 0x04000564
	ReasonForTheAttributeModification Tag = 0x04000565

	DoseUnits         Tag = 0x30040002
	DoseType          Tag = 0x30040004
	DoseSummationType Tag = 0x3004000A

	StructureSetLabel                  Tag = 0x30060002
	StructureSetName                   Tag = 0x30060004
	StructureSetDate                   Tag = 0x30060008
	StructureSetTime                   Tag = 0x30060009
	ReferencedFrameOfReferenceSequence Tag = 0x30060010
	StructureSetROISequence            Tag = 0x30060020
	ROIContourSequence                 Tag = 0x30060039

	RTPlanLabel           Tag = 0x300A0002
	RTPlanName            Tag = 0x300A0003
	RTPlanDate            Tag = 0x300A0006
	RTPlanTime            Tag = 0x300A0007
	DoseReferenceSequence Tag = 0x300A0010

	SharedFunctionalGroupsSequence   Tag = 0x52009229
	PerFrameFunctionalGroupsSequence Tag = 0x52009230

	WaveformSequence Tag = 0x54000100

	ExtendedOffsetTable Tag = 0x7FE00001
	PixelData           Tag = 0x7FE00010
)
