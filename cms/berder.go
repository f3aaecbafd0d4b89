package cms

import "fmt"

// berToDER converts one BER element held in memory to DER as far as
// parsing needs: indefinite lengths become definite, long-form lengths
// become minimal, and constructed OCTET STRINGs become primitive ones. It
// does not sort SET OF members (no CMS reader depends on that, and signed
// attributes are DER already or their signature fails anyway).
func berToDER(in []byte) ([]byte, error) {
	out, rest, err := normalize(in, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: trailing bytes after element", ErrMalformed)
	}
	return out, nil
}

// parseBERHeader splits one element's identifier and length off in.
func parseBERHeader(in []byte) (tag byte, length int, hdr int, err error) {
	if len(in) < 2 {
		return 0, 0, 0, fmt.Errorf("%w: element header cut short", ErrMalformed)
	}
	tag = in[0]
	if tag&0x1f == 0x1f {
		return 0, 0, 0, fmt.Errorf("%w: high tag number", ErrMalformed)
	}
	l := in[1]
	switch {
	case l < 0x80:
		if int(l) > len(in)-2 {
			return 0, 0, 0, fmt.Errorf("%w: element length %d exceeds the data", ErrMalformed, l)
		}
		return tag, int(l), 2, nil
	case l == 0x80:
		if tag&0x20 == 0 {
			return 0, 0, 0, fmt.Errorf("%w: indefinite length on a primitive element", ErrMalformed)
		}
		return tag, -1, 2, nil
	}
	n := int(l & 0x7f)
	if n > 4 || len(in) < 2+n {
		return 0, 0, 0, fmt.Errorf("%w: bad length field", ErrMalformed)
	}
	v := 0
	for _, c := range in[2 : 2+n] {
		v = v<<8 | int(c)
	}
	if v < 0 || v > len(in)-2-n {
		return 0, 0, 0, fmt.Errorf("%w: element length %d exceeds the data", ErrMalformed, v)
	}
	return tag, v, 2 + n, nil
}

// normalize converts the first element of in and returns it and the rest.
func normalize(in []byte, depth int) (out, rest []byte, err error) {
	if depth > maxDepth {
		return nil, nil, fmt.Errorf("%w: nesting deeper than %d", ErrMalformed, maxDepth)
	}
	tag, length, hdr, err := parseBERHeader(in)
	if err != nil {
		return nil, nil, err
	}
	if tag&0x20 == 0 { // primitive
		body := in[hdr : hdr+length]
		return append(appendHeader(nil, tag, int64(len(body))), body...), in[hdr+length:], nil
	}
	var children [][]byte
	body := in[hdr:]
	if length >= 0 {
		body = in[hdr : hdr+length]
		rest = in[hdr+length:]
	}
	for {
		if length < 0 {
			if len(body) < 2 {
				return nil, nil, fmt.Errorf("%w: missing end-of-contents", ErrMalformed)
			}
			if body[0] == 0 && body[1] == 0 {
				rest = body[2:]
				break
			}
		} else if len(body) == 0 {
			break
		}
		var child []byte
		child, body, err = normalize(body, depth+1)
		if err != nil {
			return nil, nil, err
		}
		children = append(children, child)
	}
	if tag == tagOctetCons {
		return flattenOctets(children, rest)
	}
	var content []byte
	for _, c := range children {
		content = append(content, c...)
	}
	return append(appendHeader(nil, tag, int64(len(content))), content...), rest, nil
}

// flattenOctets joins the (already normalised, hence primitive) segments of
// a constructed OCTET STRING into one primitive OCTET STRING.
func flattenOctets(children [][]byte, rest []byte) ([]byte, []byte, error) {
	var content []byte
	for _, c := range children {
		if c[0] != tagOctetString {
			return nil, nil, fmt.Errorf("%w: constructed OCTET STRING holds tag 0x%02x", ErrMalformed, c[0])
		}
		_, l, h, err := parseBERHeader(c)
		if err != nil {
			return nil, nil, err
		}
		content = append(content, c[h:h+l]...)
	}
	return append(appendHeader(nil, tagOctetString, int64(len(content))), content...), rest, nil
}
