package importers

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"certgov/model"
)

// privateKeyFromPEM recognises a private key block and returns the fact
// of it: its type and the hash of its public key. The key itself is
// parsed only to derive the public key and is dropped on return.
func privateKeyFromPEM(block *pem.Block) (model.PrivateKeyFact, bool) {
	if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
		return model.PrivateKeyFact{}, false
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] == "4,ENCRYPTED" {
		return model.PrivateKeyFact{KeyType: "encrypted"}, true
	}
	key, err := ParsePrivateKey(block)
	if errors.Is(err, errKeyFormat) {
		// OPENSSH, DSA and other key formats: the fact is recorded, the
		// public key is not derived.
		return model.PrivateKeyFact{KeyType: strings.TrimSuffix(block.Type, " PRIVATE KEY")}, true
	}
	if err != nil {
		return model.PrivateKeyFact{KeyType: "unreadable " + strings.ToLower(block.Type)}, true
	}
	return privateKeyFact(key), true
}

var errKeyFormat = errors.New("not a PKCS#8, PKCS#1 or SEC 1 private key")

// ParsePrivateKey decodes an unencrypted PKCS#8, PKCS#1 (RSA) or SEC 1
// (EC) private key block.
func ParsePrivateKey(block *pem.Block) (any, error) {
	switch block.Type {
	case "PRIVATE KEY":
		return x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	}
	return nil, fmt.Errorf("%s: %w", block.Type, errKeyFormat)
}

// privateKeyFact describes a decoded private key by its public half.
func privateKeyFact(key any) model.PrivateKeyFact {
	signer, ok := key.(crypto.Signer)
	if !ok {
		return model.PrivateKeyFact{KeyType: fmt.Sprintf("%T", key)}
	}
	return publicKeyFact(signer.Public())
}

func publicKeyFact(pub any) model.PrivateKeyFact {
	algorithm, bits, curve := model.PublicKeyInfo(pub)
	fact := model.PrivateKeyFact{KeyType: model.KeyLabel(algorithm, bits, curve)}
	if spki, err := x509.MarshalPKIXPublicKey(pub); err == nil {
		sum := sha256.Sum256(spki)
		fact.SPKISHA256 = base64.StdEncoding.EncodeToString(sum[:])
	}
	return fact
}
