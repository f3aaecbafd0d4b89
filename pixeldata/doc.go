// Package pixeldata reads what a viewer needs of a DICOM instance from its
// Part 10 stream: the Image Pixel module and the attributes shown beside
// the image (Info), then one frame at a time, within bounds (MaxSide,
// MaxFrameBytes), so that a hostile or unusual file cannot exhaust memory.
//
// Frames come back in a form a browser can decode: native pixel data as
// stored (big endian byte-swapped to little endian), RLE Lossless decoded
// here (PS3.5 Annex G, colour by plane), and the frames of JPEG, JPEG-LS
// and JPEG 2000 as their compressed bitstream, assembled from fragments by
// the Extended or Basic Offset Table or the codestreams' end markers (PS3.5
// A.4). It knows nothing of media or encryption: it reads a stream.
package pixeldata
