package model

import (
	"crypto/x509/pkix"
	"encoding/asn1"
)

// referenceParseRawDN is the straightforward encoding/asn1 decoding that
// ParseRawDN replaced for speed; the fuzz test holds them to the same
// answers.
func referenceParseRawDN(raw []byte) (DN, error) {
	var seq pkix.RDNSequence
	rest, err := asn1.Unmarshal(raw, &seq)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, asn1.SyntaxError{Msg: "trailing data after Name"}
	}
	dn := make(DN, 0, len(seq))
	for i := len(seq) - 1; i >= 0; i-- {
		rdn := make(RDN, 0, len(seq[i]))
		for _, atv := range seq[i] {
			// Only string values are compared: re-marshalling a decoded
			// non-string value need not give back its original DER.
			value, ok := atv.Value.(string)
			if !ok {
				return nil, asn1.StructuralError{Msg: "non-string attribute value"}
			}
			rdn = append(rdn, Attribute{Type: referenceTypeName(atv.Type), Value: value})
		}
		dn = append(dn, rdn)
	}
	return dn, nil
}

func referenceTypeName(oid asn1.ObjectIdentifier) string {
	s := oid.String()
	if name, ok := attributeNames[s]; ok {
		return name
	}
	return s
}
