package cms

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"errors"
	"io"
	"sync"
	"testing"
)

func TestRoundTripCombinations(t *testing.T) {
	keys := testKeys(t)
	data := sampleDICOM(t)
	signer, err := NewSigner(keys[2].cert, keys[2].key)
	if err != nil {
		t.Fatal(err)
	}
	pw := passwordRecipient(t)
	cases := []struct {
		name  string
		opts  *Options
		rs    []Recipient
		id    Identity
		inner string
	}{
		{"password default", nil, []Recipient{pw}, passwordIdentity(t, testPassword), "DigestedData"},
		{"password aes128", &Options{Cipher: AES128CBC}, []Recipient{pw}, passwordIdentity(t, testPassword), "DigestedData"},
		{"password aes192 sha512", &Options{Cipher: AES192CBC, Digest: crypto.SHA512}, []Recipient{pw}, passwordIdentity(t, testPassword), "DigestedData"},
		{"password des3 plain", &Options{Cipher: DES3CBC, PlainData: true}, []Recipient{pw}, passwordIdentity(t, testPassword), "id-data"},
		{"cert v1.5", nil, []Recipient{keys[0].recipient(t, nil)}, keys[0].identity(t), "DigestedData"},
		{"cert oaep ski", nil, []Recipient{keys[0].recipient(t, &CertificateOptions{OAEP: true, SubjectKeyID: true})}, keys[0].identity(t), "DigestedData"},
		{"both, open by cert", nil, []Recipient{pw, keys[1].recipient(t, nil)}, keys[1].identity(t), "DigestedData"},
		{"signed", &Options{Signer: signer}, []Recipient{pw}, passwordIdentity(t, testPassword), "SignedData"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sealed := seal(t, data, c.opts, c.rs...)
			got, info, err := open(sealed, c.id)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("round trip changed the data")
			}
			if info.Inner != c.inner {
				t.Errorf("inner %q, want %q", info.Inner, c.inner)
			}
			if c.inner == "SignedData" && (len(info.Signers) != 1 || !info.Signers[0].Certificate.Equal(keys[2].cert)) {
				t.Errorf("signer not reported: %+v", info.Signers)
			}
		})
	}
}

func TestEmptyAndBlockAlignedSizes(t *testing.T) {
	pw := passwordRecipient(t)
	id := passwordIdentity(t, testPassword)
	for _, n := range []int{0, 1, 15, 16, 17, 127, 128, 129, 65535, 65536, 65537, 200000} {
		data := bytes.Repeat([]byte{byte(n)}, n)
		for _, opts := range []*Options{nil, {PlainData: true}} {
			got, _, err := open(seal(t, data, opts, pw), id)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("size %d plain=%v: %v", n, opts != nil, err)
			}
		}
	}
}

func TestSizeMismatchIsAnError(t *testing.T) {
	var buf bytes.Buffer
	w, err := Encrypt(&buf, 10, nil, passwordRecipient(t))
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("short"))
	if err := w.Close(); !errors.Is(err, ErrSize) {
		t.Fatalf("Close after 5 of 10 bytes: %v, want ErrSize", err)
	}
	w, _ = Encrypt(&buf, 3, nil, passwordRecipient(t))
	if _, err := w.Write([]byte("too long")); !errors.Is(err, ErrSize) {
		t.Fatalf("Write past size: %v, want ErrSize", err)
	}
}

func TestOneDerivationForManyFiles(t *testing.T) {
	pw := passwordRecipient(t)
	id := passwordIdentity(t, testPassword)
	for i := 0; i < 50; i++ {
		if _, _, err := open(seal(t, []byte{byte(i)}, nil, pw), id); err != nil {
			t.Fatal(err)
		}
	}
	if d := id.Derivations(); d != 1 {
		t.Fatalf("50 files under one salt cost %d PBKDF2 runs, want 1", d)
	}
}

func TestWriterReportsTheContentDigest(t *testing.T) {
	data := sampleDICOM(t)
	var buf bytes.Buffer
	w, err := Encrypt(&buf, int64(len(data)), nil, passwordRecipient(t))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if h, d := w.Digest(); h != 0 || d != nil {
		t.Fatal("digest before Close")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	if h, d := w.Digest(); h != crypto.SHA256 || !bytes.Equal(d, want[:]) {
		t.Fatalf("Digest() = %v %x, want SHA-256 %x", h, d, want)
	}
}

// TestReadersRecycleBuffersSafely: readers return their buffers to a pool
// when they end; many readers at once, read in odd sizes, some abandoned
// half way and some read again after their end, still each give exactly
// their own plaintext (run with -race as well).
func TestReadersRecycleBuffersSafely(t *testing.T) {
	const files = 8
	sealed := make([][]byte, files)
	plain := make([][]byte, files)
	for i := range files {
		plain[i] = bytes.Repeat([]byte{byte('a' + i)}, 150_000+i*977)
		sealed[i] = seal(t, plain[i], nil, passwordRecipient(t))
	}
	id := passwordIdentity(t, testPassword)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1000+g*4093)
			for round := range 6 {
				i := (g + round) % files
				r, err := Decrypt(bytes.NewReader(sealed[i]), id)
				if err != nil {
					t.Error(err)
					return
				}
				if round == 3 { // abandoned half way
					io.ReadFull(r, buf)
					continue
				}
				var got []byte
				for {
					n, err := r.Read(buf)
					got = append(got, buf[:n]...)
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
				if n, err := r.Read(buf); n != 0 || err != io.EOF {
					t.Errorf("a read after the end gave %d bytes, %v", n, err)
				}
				if !bytes.Equal(got, plain[i]) {
					t.Errorf("file %d: wrong plaintext", i)
				}
			}
		}()
	}
	wg.Wait()
}

// TestWritersRecycleBuffersSafely: writers return their buffers to a pool
// on Close; many at once still each seal their own plaintext, and a Write
// or Close after Close fails without touching the recycled buffer.
func TestWritersRecycleBuffersSafely(t *testing.T) {
	id := passwordIdentity(t, testPassword)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 5 {
				data := bytes.Repeat([]byte{byte(g*16 + round)}, 100_000+g*1000+round)
				var buf bytes.Buffer
				w, err := Encrypt(&buf, int64(len(data)), nil, passwordRecipient(t))
				if err != nil {
					t.Error(err)
					return
				}
				w.Write(data)
				if err := w.Close(); err != nil {
					t.Error(err)
					return
				}
				if _, err := w.Write([]byte{1}); err == nil {
					t.Error("Write after Close accepted")
				}
				if err := w.Close(); err == nil {
					t.Error("second Close accepted")
				}
				got, _, err := open(buf.Bytes(), id)
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("goroutine %d round %d: does not open to its plaintext: %v", g, round, err)
				}
			}
		}()
	}
	wg.Wait()
}

// TestReaderDigest: a DigestedData's algorithm is known when Decrypt
// returns and its digest (the content's SHA-256) once Read reaches the end;
// id-data content has none.
func TestReaderDigest(t *testing.T) {
	data := bytes.Repeat([]byte("digest me "), 9000)
	want := sha256.Sum256(data)
	id := passwordIdentity(t, testPassword)
	r, err := Decrypt(bytes.NewReader(seal(t, data, nil, passwordRecipient(t))), id)
	if err != nil {
		t.Fatal(err)
	}
	if alg, d := r.Digest(); alg != crypto.SHA256 || d != nil {
		t.Fatalf("before reading: %v %x", alg, d)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	if alg, d := r.Digest(); alg != crypto.SHA256 || !bytes.Equal(d, want[:]) {
		t.Fatalf("at the end: %v %x, want SHA-256 %x", alg, d, want)
	}
	r, err = Decrypt(bytes.NewReader(seal(t, data, &Options{PlainData: true}, passwordRecipient(t))), id)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r)
	if alg, d := r.Digest(); alg != 0 || d != nil {
		t.Fatalf("id-data: %v %x", alg, d)
	}
}

// A recipient names its key derivation as a file sealed for it shows it,
// and another recipient (another salt) differs: the disc fingerprint on a
// password slip rests on this.
func TestPasswordRecipientKDFKey(t *testing.T) {
	r := passwordRecipient(t)
	info, err := Inspect(bytes.NewReader(seal(t, []byte("x"), nil, r)))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Recipients[0].KDFKey; got == "" || got != r.KDFKey() {
		t.Fatalf("sealed file's KDFKey %q, recipient's %q", got, r.KDFKey())
	}
	other, err := NewPasswordRecipient([]byte(testPassword), &PasswordParams{Iterations: MinIterations})
	if err != nil {
		t.Fatal(err)
	}
	if other.KDFKey() == r.KDFKey() {
		t.Fatal("two recipients with random salts share a KDFKey")
	}
}
