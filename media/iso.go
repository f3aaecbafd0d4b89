package media

import (
	"errors"
)

// WriteImage writes the medium as an ISO 9660 image file.
func (p *Plan) WriteImage(path string, overwrite bool, progress func(int64)) error {
	return errors.New("ISO image output is not available yet: use --media usb")
}
