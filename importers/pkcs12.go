package importers

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"unicode/utf16"

	gopkcs12 "software.sslmate.com/src/go-pkcs12"

	"certgov/model"
)

// PKCS#12 reading. go-pkcs12 decodes keystores with one key and its chain
// and Java truststores, but refuses the certificate-only files that
// `openssl pkcs12 -export -nokeys` writes and stores with several keys. So
// certgov walks the safe bags itself (RFC 7292), with PBES2 and the PKCS#12
// 3DES scheme, and falls back to go-pkcs12 for the RC2 ciphers of old
// exports.

var (
	oidEncryptedData   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidKeyBag          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidShroudedKeyBag  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidCertBag         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidSafeContentsBag = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 6}
	oidX509Cert        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	oidFriendlyName    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 20}

	oidPBES2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidPBEWithSHA3DES = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	oidAES128CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC     = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
)

var hashByOID = map[string]func() hash.Hash{
	"1.3.14.3.2.26":          sha1.New,
	"2.16.840.1.101.3.4.2.1": sha256.New,
	"2.16.840.1.101.3.4.2.2": sha512.New384,
	"2.16.840.1.101.3.4.2.3": sha512.New,
	"1.2.840.113549.2.7":     sha1.New, // hmacWithSHA1, as PBKDF2 PRFs
	"1.2.840.113549.2.9":     sha256.New,
	"1.2.840.113549.2.10":    sha512.New384,
	"1.2.840.113549.2.11":    sha512.New,
}

// errUnsupportedCipher sends the file to the go-pkcs12 fallback.
var errUnsupportedCipher = errors.New("unsupported PKCS#12 encryption")

type pfxPDU struct {
	Version  int
	AuthSafe pkcs7ContentInfo
	MacData  macData `asn1:"optional"`
}

type macData struct {
	Mac struct {
		Algorithm struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters asn1.RawValue `asn1:"optional"`
		}
		Digest []byte
	}
	MacSalt    []byte
	Iterations int `asn1:"optional,default:1"`
}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type encryptedData struct {
	Version              int
	EncryptedContentInfo struct {
		ContentType                asn1.ObjectIdentifier
		ContentEncryptionAlgorithm algorithmIdentifier
		EncryptedContent           []byte `asn1:"tag:0,optional"`
	}
}

type safeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue `asn1:"tag:0,explicit"`
	Attributes []struct {
		ID     asn1.ObjectIdentifier
		Values asn1.RawValue `asn1:"set"`
	} `asn1:"set,optional"`
}

type certBag struct {
	ID   asn1.ObjectIdentifier
	Data []byte `asn1:"tag:0,explicit"`
}

type encryptedPrivateKeyInfo struct {
	Algorithm     algorithmIdentifier
	EncryptedData []byte
}

func (r *reader) readPKCS12(data []byte) error {
	var pfx pfxPDU
	if _, err := asn1.Unmarshal(data, &pfx); err != nil {
		return fmt.Errorf("PKCS#12: %w", err)
	}
	if pfx.Version != 3 {
		return fmt.Errorf("PKCS#12: version %d, want 3", pfx.Version)
	}
	if !pfx.AuthSafe.ContentType.Equal(oidData) {
		return errors.New("PKCS#12: only password-integrity files are supported (public-key integrity mode found)")
	}
	var content []byte
	if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &content); err != nil {
		return fmt.Errorf("PKCS#12 content: %w", err)
	}
	var opened *pkcs12Contents
	budget := &kdfBudget{ctx: r.ctx, left: maxKDFWork}
	if err := checkPBMAC1(pfx.MacData); err != nil {
		return err
	}
	err := r.tryPasswords(func(password []byte) error {
		c, err := openPKCS12(pfx, content, password, budget)
		if err == nil {
			opened = c
		}
		return err
	})
	if errors.Is(err, errUnsupportedCipher) {
		return r.readPKCS12Fallback(data, err)
	}
	if err != nil {
		return err
	}
	for i, der := range opened.certs {
		if r.interrupted() {
			return r.ctx.Err()
		}
		r.addCertificate(der, 0, opened.certNames[i])
	}
	r.res.Keys = append(r.res.Keys, opened.keys...)
	if len(opened.keys) == 0 {
		r.trustStore()
	}
	return nil
}

type pkcs12Contents struct {
	budget    *kdfBudget
	certs     [][]byte
	certNames []string
	keys      []model.PrivateKeyFact
}

func openPKCS12(pfx pfxPDU, content, password []byte, budget *kdfBudget) (*pkcs12Contents, error) {
	if len(pfx.MacData.Mac.Algorithm.Algorithm) > 0 {
		if err := verifyPKCS12MAC(pfx.MacData, content, password, budget); err != nil {
			return nil, err
		}
	}
	var authenticatedSafe []pkcs7ContentInfo
	if _, err := asn1.Unmarshal(content, &authenticatedSafe); err != nil {
		return nil, fmt.Errorf("PKCS#12 authenticated safe: %w", err)
	}
	out := &pkcs12Contents{budget: budget}
	// An unsupported cipher sends the file to go-pkcs12, which has no
	// bound on iteration counts: keep walking so that every count we can
	// see is checked before it gets the file.
	var unsupported error
	for _, ci := range authenticatedSafe {
		var safeContents []byte
		switch {
		case ci.ContentType.Equal(oidData):
			if _, err := asn1.Unmarshal(ci.Content.Bytes, &safeContents); err != nil {
				return nil, fmt.Errorf("PKCS#12 safe contents: %w", err)
			}
		case ci.ContentType.Equal(oidEncryptedData):
			var ed encryptedData
			if _, err := asn1.Unmarshal(ci.Content.Bytes, &ed); err != nil {
				return nil, fmt.Errorf("PKCS#12 encrypted data: %w", err)
			}
			plain, err := pbeDecrypt(ed.EncryptedContentInfo.ContentEncryptionAlgorithm, ed.EncryptedContentInfo.EncryptedContent, password, budget)
			if errors.Is(err, errUnsupportedCipher) {
				unsupported = err
				continue
			}
			if err != nil {
				return nil, err
			}
			safeContents = plain
		default:
			return nil, fmt.Errorf("PKCS#12: %w (content type %s)", errUnsupportedCipher, ci.ContentType)
		}
		if err := out.readBags(safeContents, password, 0); err != nil {
			return nil, err
		}
	}
	if unsupported != nil {
		return nil, unsupported
	}
	return out, nil
}

func (out *pkcs12Contents) readBags(safeContents, password []byte, depth int) error {
	if depth > 4 {
		return errors.New("PKCS#12: safe contents nested too deeply")
	}
	var bags []safeBag
	if _, err := asn1.Unmarshal(safeContents, &bags); err != nil {
		return fmt.Errorf("PKCS#12 safe bags: %w", err)
	}
	for _, bag := range bags {
		switch {
		case bag.ID.Equal(oidCertBag):
			var cb certBag
			if _, err := asn1.Unmarshal(bag.Value.Bytes, &cb); err != nil {
				return fmt.Errorf("PKCS#12 certificate bag: %w", err)
			}
			if !cb.ID.Equal(oidX509Cert) {
				continue
			}
			out.certs = append(out.certs, cb.Data)
			out.certNames = append(out.certNames, bagName(bag, "certificate", len(out.certs)))
		case bag.ID.Equal(oidShroudedKeyBag):
			var epki encryptedPrivateKeyInfo
			if _, err := asn1.Unmarshal(bag.Value.Bytes, &epki); err != nil {
				return fmt.Errorf("PKCS#12 key bag: %w", err)
			}
			plain, err := pbeDecrypt(epki.Algorithm, epki.EncryptedData, password, out.budget)
			if err != nil {
				return err
			}
			out.addKey(plain, bag)
			clear(plain)
		case bag.ID.Equal(oidKeyBag):
			out.addKey(bag.Value.Bytes, bag)
		case bag.ID.Equal(oidSafeContentsBag):
			if err := out.readBags(bag.Value.Bytes, password, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (out *pkcs12Contents) addKey(pkcs8 []byte, bag safeBag) {
	fact := model.PrivateKeyFact{KeyType: "unreadable"}
	if key, err := x509.ParsePKCS8PrivateKey(pkcs8); err == nil {
		fact = privateKeyFact(key)
	}
	fact.Location = bagName(bag, "key", len(out.keys)+1)
	out.keys = append(out.keys, fact)
}

// bagName is the bag's friendlyName (the keystore alias) when it has one.
func bagName(bag safeBag, what string, n int) string {
	for _, attr := range bag.Attributes {
		if !attr.ID.Equal(oidFriendlyName) {
			continue
		}
		var bmp asn1.RawValue
		if _, err := asn1.Unmarshal(attr.Values.Bytes, &bmp); err == nil && bmp.Tag == 30 && len(bmp.Bytes)%2 == 0 {
			units := make([]uint16, len(bmp.Bytes)/2)
			for i := range units {
				units[i] = uint16(bmp.Bytes[2*i])<<8 | uint16(bmp.Bytes[2*i+1])
			}
			return "alias " + string(utf16.Decode(units))
		}
	}
	return fmt.Sprintf("%s %d", what, n)
}

func verifyPKCS12MAC(md macData, content, password []byte, budget *kdfBudget) error {
	newHash, ok := hashByOID[md.Mac.Algorithm.Algorithm.String()]
	if !ok {
		return fmt.Errorf("%w: MAC algorithm %s", errUnsupportedCipher, md.Mac.Algorithm.Algorithm)
	}
	if md.Iterations < 1 || md.Iterations > maxIterations {
		return fmt.Errorf("PKCS#12: implausible MAC iteration count %d", md.Iterations)
	}
	for _, pw := range bmpPasswords(password) {
		if err := budget.spend(md.Iterations); err != nil {
			return err
		}
		key := pkcs12KDF(newHash, pw, md.MacSalt, 3, md.Iterations, newHash().Size())
		mac := hmac.New(newHash, key)
		mac.Write(content)
		if hmac.Equal(mac.Sum(nil), md.Mac.Digest) {
			return nil
		}
	}
	return ErrWrongPassword
}

// bmpPasswords encodes a password as RFC 7292 wants it: UTF-16BE with a
// terminating zero. Some writers encode the empty password as no bytes at
// all, so both forms are tried for it.
func bmpPasswords(password []byte) [][]byte {
	units := utf16.Encode([]rune(string(password)))
	out := make([]byte, 0, 2*len(units)+2)
	for _, u := range units {
		out = append(out, byte(u>>8), byte(u))
	}
	out = append(out, 0, 0)
	if len(password) == 0 {
		return [][]byte{out, nil}
	}
	return [][]byte{out}
}

// pkcs12KDF is the key derivation of RFC 7292 appendix B.2.
func pkcs12KDF(newHash func() hash.Hash, password, salt []byte, id byte, iterations, size int) []byte {
	h := newHash()
	v := h.BlockSize()
	fill := func(src []byte) []byte {
		if len(src) == 0 {
			return nil
		}
		n := v * ((len(src) + v - 1) / v)
		out := make([]byte, n)
		for i := range out {
			out[i] = src[i%len(src)]
		}
		return out
	}
	d := make([]byte, v)
	for i := range d {
		d[i] = id
	}
	input := append(fill(salt), fill(password)...)
	var out []byte
	for len(out) < size {
		h.Reset()
		h.Write(d)
		h.Write(input)
		a := h.Sum(nil)
		for i := 1; i < iterations; i++ {
			h.Reset()
			h.Write(a)
			a = h.Sum(a[:0])
		}
		out = append(out, a...)
		if len(out) >= size {
			break
		}
		b := fill(a)[:v]
		for j := 0; j < len(input); j += v {
			carry := 1
			for k := v - 1; k >= 0; k-- {
				sum := int(input[j+k]) + int(b[k]) + carry
				input[j+k] = byte(sum)
				carry = sum >> 8
			}
		}
	}
	return out[:size]
}

type pbes2Params struct {
	KeyDerivationFunc algorithmIdentifier
	EncryptionScheme  algorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                 `asn1:"optional"`
	PRF        algorithmIdentifier `asn1:"optional"`
}

type pkcs12PBEParams struct {
	Salt       []byte
	Iterations int
}

func pbeDecrypt(alg algorithmIdentifier, ciphertext, password []byte, budget *kdfBudget) ([]byte, error) {
	var block cipher.Block
	var iv []byte
	switch {
	case alg.Algorithm.Equal(oidPBES2):
		var params pbes2Params
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &params); err != nil {
			return nil, fmt.Errorf("PBES2 parameters: %w", err)
		}
		var err error
		block, iv, err = pbes2Cipher(params, password, budget)
		if err != nil {
			return nil, err
		}
	case alg.Algorithm.Equal(oidPBEWithSHA3DES):
		var params pkcs12PBEParams
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &params); err != nil {
			return nil, fmt.Errorf("PBE parameters: %w", err)
		}
		if params.Iterations < 1 || params.Iterations > maxIterations {
			return nil, fmt.Errorf("PKCS#12: implausible iteration count %d", params.Iterations)
		}
		pw := bmpPasswords(password)[0]
		if err := budget.spend(2 * params.Iterations); err != nil {
			return nil, err
		}
		key := pkcs12KDF(sha1.New, pw, params.Salt, 1, params.Iterations, 24)
		iv = pkcs12KDF(sha1.New, pw, params.Salt, 2, params.Iterations, 8)
		var err error
		if block, err = des.NewTripleDESCipher(key); err != nil {
			return nil, err
		}
	default:
		var params pkcs12PBEParams
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &params); err == nil {
			if params.Iterations < 1 || params.Iterations > maxIterations {
				return nil, fmt.Errorf("PKCS#12: implausible iteration count %d", params.Iterations)
			}
			// go-pkcs12 will do this work: it counts against the file's
			// budget before the file gets there.
			if err := budget.spend(2 * params.Iterations); err != nil {
				return nil, err
			}
		}
		return nil, fmt.Errorf("%w: %s", errUnsupportedCipher, alg.Algorithm)
	}
	if len(ciphertext) == 0 || len(ciphertext)%block.BlockSize() != 0 || len(iv) != block.BlockSize() {
		return nil, errors.New("PKCS#12: encrypted content has a bad length")
	}
	plain := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ciphertext)
	pad := int(plain[len(plain)-1])
	if pad == 0 || pad > block.BlockSize() {
		return nil, ErrWrongPassword
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			return nil, ErrWrongPassword
		}
	}
	return plain[:len(plain)-pad], nil
}

func pbes2Cipher(params pbes2Params, password []byte, budget *kdfBudget) (cipher.Block, []byte, error) {
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, nil, fmt.Errorf("%w: key derivation %s", errUnsupportedCipher, params.KeyDerivationFunc.Algorithm)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		return nil, nil, fmt.Errorf("PBKDF2 parameters: %w", err)
	}
	if kdf.Iterations < 1 || kdf.Iterations > maxIterations {
		return nil, nil, fmt.Errorf("PKCS#12: implausible PBKDF2 iteration count %d", kdf.Iterations)
	}
	prf := sha1.New
	if len(kdf.PRF.Algorithm) > 0 {
		var ok bool
		if prf, ok = hashByOID[kdf.PRF.Algorithm.String()]; !ok {
			return nil, nil, fmt.Errorf("%w: PRF %s", errUnsupportedCipher, kdf.PRF.Algorithm)
		}
	}
	var keyLen int
	var newCipher func([]byte) (cipher.Block, error)
	scheme := params.EncryptionScheme.Algorithm
	switch {
	case scheme.Equal(oidAES128CBC):
		keyLen, newCipher = 16, aes.NewCipher
	case scheme.Equal(oidAES192CBC):
		keyLen, newCipher = 24, aes.NewCipher
	case scheme.Equal(oidAES256CBC):
		keyLen, newCipher = 32, aes.NewCipher
	case scheme.Equal(oidDESEDE3CBC):
		keyLen, newCipher = 24, des.NewTripleDESCipher
	default:
		return nil, nil, fmt.Errorf("%w: cipher %s", errUnsupportedCipher, scheme)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.EncryptionScheme.Parameters.FullBytes, &iv); err != nil {
		return nil, nil, fmt.Errorf("PBES2 IV: %w", err)
	}
	if err := budget.spend(kdf.Iterations); err != nil {
		return nil, nil, err
	}
	key, err := pbkdf2.Key(prf, string(password), kdf.Salt, kdf.Iterations, keyLen)
	if err != nil {
		return nil, nil, err
	}
	block, err := newCipher(key)
	return block, iv, err
}

// readPKCS12Fallback hands files the safe-bag walker cannot open (RC2
// ciphers, BER encodings) to go-pkcs12.
func (r *reader) readPKCS12Fallback(data []byte, walkErr error) error {
	var certs []*gopkcs12Cert
	err := r.tryPasswords(func(password []byte) error {
		c, err := decodeWithGoPKCS12(data, string(password))
		if err == nil {
			certs = c
		}
		return err
	})
	if err != nil {
		if errors.Is(err, ErrWrongPassword) {
			return err
		}
		return fmt.Errorf("%v; %v", walkErr, err)
	}
	for i, c := range certs {
		r.addCertificate(c.der, 0, fmt.Sprintf("certificate %d", i+1))
		if c.key != nil {
			fact := privateKeyFact(c.key)
			fact.Location = fmt.Sprintf("key of certificate %d", i+1)
			r.res.Keys = append(r.res.Keys, fact)
		}
	}
	return nil
}

type gopkcs12Cert struct {
	der []byte
	key any
}

func decodeWithGoPKCS12(data []byte, password string) ([]*gopkcs12Cert, error) {
	key, leaf, chain, err := gopkcs12.DecodeChain(data, password)
	if err == nil {
		out := []*gopkcs12Cert{{der: leaf.Raw, key: key}}
		for _, c := range chain {
			out = append(out, &gopkcs12Cert{der: c.Raw})
		}
		return out, nil
	}
	if errors.Is(err, gopkcs12.ErrIncorrectPassword) {
		return nil, ErrWrongPassword
	}
	trusted, trustErr := gopkcs12.DecodeTrustStore(data, password)
	if trustErr == nil {
		out := make([]*gopkcs12Cert, 0, len(trusted))
		for _, c := range trusted {
			out = append(out, &gopkcs12Cert{der: c.Raw})
		}
		return out, nil
	}
	if errors.Is(trustErr, gopkcs12.ErrIncorrectPassword) {
		return nil, ErrWrongPassword
	}
	return nil, fmt.Errorf("go-pkcs12: %v", err)
}

// maxIterations bounds key-derivation work: real files use 2,048 to
// 600,000; a file claiming more is hostile or broken and would stall the
// import for minutes.
var maxIterations = 1_000_000

// maxKDFWork bounds the key derivation one file may cost, over every
// password tried, the MAC and every encrypted bag: a file OpenSSL or
// keytool writes needs a few thousand iterations a key, while a hostile
// one could ask for the per-key maximum a thousand times over.
const maxKDFWork = 4_000_000

var errKDFBudget = errors.New("PKCS#12: asks for more key-derivation work than any real keystore needs (many encrypted keys with huge iteration counts)")

// kdfBudget is what is left of one file's key-derivation work. Each
// derivation asks it first, so it is also where an interrupted import
// stops a keystore (one derivation is at most maxIterations).
type kdfBudget struct {
	ctx  context.Context
	left int
}

func (b *kdfBudget) spend(iterations int) error {
	if err := b.ctx.Err(); err != nil {
		return err
	}
	if iterations > b.left {
		return errKDFBudget
	}
	b.left -= iterations
	return nil
}

var oidPBMAC1 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}

// checkPBMAC1 bounds a PBMAC1 MAC (RFC 9579) before the file can reach
// go-pkcs12, which has no bound of its own: its PBKDF2 iteration count is
// held to maxIterations like every other count.
func checkPBMAC1(md macData) error {
	if !md.Mac.Algorithm.Algorithm.Equal(oidPBMAC1) {
		return nil
	}
	var params struct {
		KeyDerivationFunc algorithmIdentifier
		MessageAuthScheme algorithmIdentifier
	}
	if _, err := asn1.Unmarshal(md.Mac.Algorithm.Parameters.FullBytes, &params); err != nil {
		return fmt.Errorf("PKCS#12 PBMAC1 parameters: %w", err)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		return fmt.Errorf("PKCS#12 PBMAC1 PBKDF2 parameters: %w", err)
	}
	if kdf.Iterations < 1 || kdf.Iterations > maxIterations {
		return fmt.Errorf("PKCS#12: implausible PBMAC1 iteration count %d", kdf.Iterations)
	}
	return nil
}
