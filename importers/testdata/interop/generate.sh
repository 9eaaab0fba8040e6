#!/usr/bin/env bash
# Regenerates the interoperability fixtures with the real tools (OpenSSL 3
# and Java keytool), so the importers are tested against files that other
# software wrote, not only against our own writers. Not run by the tests:
# run it by hand and review the diff. The keys are throwaway.
#
# Usage: generate.sh [all|trust]: "trust" remakes only trust/ (the other
# fixtures' fingerprints are written into tests and configs).
set -euo pipefail
cd "$(dirname "$0")"
if [ "${1:-all}" = all ]; then
rm -f -- *.pem *.der *.p7b *.p7c *.p12 *.pfx *.jks *.txt
PW=s3cret
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key.pem \
  -subj "/C=DE/O=Interop GmbH/OU=integration/CN=interop-client/emailAddress=ops@interop.example" \
  -addext "subjectAltName=URI:spiffe://interop.example/client,DNS:client.interop.example" \
  -addext "extendedKeyUsage=clientAuth" -days 365 -out client.pem 2>/dev/null
openssl x509 -in client.pem -outform DER -out client.der
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key.pem -subj "/CN=Interop Root CA/O=Interop GmbH" -days 3650 -out ca.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout legacy.key.pem -sha1 -subj "/CN=legacy-sha1-client/O=Old Corp" -days 3650 -out legacy-sha1.pem 2>/dev/null
rm -f legacy.key.pem
openssl x509 -in client.pem -text > client-text-dump.pem
openssl crl2pkcs7 -nocrl -certfile client.pem -certfile ca.pem -outform DER -out bundle.p7b
openssl crl2pkcs7 -nocrl -certfile client.pem -certfile ca.pem -out bundle-pem.p7c
openssl pkcs12 -export -inkey client.key.pem -in client.pem -certfile ca.pem -name interop-client -passout pass:$PW -out keystore-aes.p12
openssl pkcs12 -export -legacy -inkey client.key.pem -in client.pem -certfile ca.pem -passout pass:$PW -out keystore-legacy.p12 2>/dev/null || \
  openssl pkcs12 -export -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-RC2-40 -macalg sha1 -inkey client.key.pem -in client.pem -certfile ca.pem -passout pass:$PW -out keystore-legacy.p12
openssl pkcs12 -export -nokeys -in client.pem -certfile ca.pem -passout pass:$PW -out nokeys.p12
keytool -importcert -noprompt -alias interop-ca -file ca.pem -keystore truststore.p12 -storetype pkcs12 -storepass $PW >/dev/null 2>&1
keytool -importcert -noprompt -alias interop-client -file client.pem -keystore truststore.p12 -storetype pkcs12 -storepass $PW >/dev/null 2>&1
keytool -importcert -noprompt -alias interop-ca -file ca.pem -keystore truststore.jks -storetype jks -storepass $PW >/dev/null 2>&1
keytool -importcert -noprompt -alias interop-client -file client.pem -keystore truststore.jks -storetype jks -storepass $PW >/dev/null 2>&1
keytool -genkeypair -alias jks-key -keyalg EC -groupname secp256r1 -dname "CN=jks-client,O=Interop GmbH" -validity 365 \
  -keystore keystore.jks -storetype jks -storepass $PW -keypass $PW >/dev/null 2>&1
rm -f ca.key.pem
fi

# Trust decisions, as servers make them (certgov's admit/deny must agree).
# Every certificate is made with the tools' defaults (`openssl req -x509`:
# CA:TRUE, 30 days; `openssl x509 -req`: a v1 certificate). The expected
# answer of each anchor-list pair is what `openssl verify -purpose sslclient`
# says, recorded in trust/openssl-verify.txt; -no_check_time because the
# fixtures expire and validity is a finding of its own.
rm -rf trust && mkdir -p trust/certs trust/anchors && cd trust
selfsigned() { # name subject [extra req args]
  local name=$1 subj=$2; shift 2
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" -subj "$subj" "$@" -out "certs/$name.pem" 2>/dev/null
  rm -f "$name.key"
}
selfsigned partner-a "/C=NL/O=Partner A/CN=partner-a-client"
selfsigned partner-b "/C=FR/O=Partner B/CN=partner-b-client"
selfsigned stranger "/O=Stranger/CN=stranger-client"
selfsigned ku-signer "/CN=ku-signer" -addext "keyUsage=critical,keyCertSign"
# A CRL distribution points extension that Go's crypto/x509 refuses to
# parse (NULL where a SEQUENCE belongs): the inventory must still show it.
selfsigned odd-crldp "/O=Legacy Corp/CN=odd-crldp-client" -addext "2.5.29.31=DER:0500" \
  -addext "subjectAltName=URI:spiffe://legacy.example/odd,DNS:odd.legacy.example,IP:192.0.2.7"
cat certs/partner-a.pem certs/partner-b.pem > anchors/partner-clients.pem
cp certs/ku-signer.pem anchors/ku-signer-only.pem
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -subj "/CN=Example Root CA/O=Example Corp" -out anchors/root.pem 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > ca.ext
openssl req -new -newkey rsa:2048 -nodes -keyout issuing.key -subj "/CN=Example Issuing CA/O=Example Corp" -out issuing.csr 2>/dev/null
openssl x509 -req -in issuing.csr -CA anchors/root.pem -CAkey root.key -extfile ca.ext -out certs/issuing-ca.pem 2>/dev/null
cp certs/issuing-ca.pem anchors/issuing-only.pem
leaf() { # name subject [extfile]
  local name=$1 subj=$2 ext=${3:-}
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA certs/issuing-ca.pem -CAkey issuing.key ${ext:+-extfile "$ext"} -out "certs/$name.pem" 2>/dev/null
  rm -f "$name.key" "$name.csr"
}
leaf ledger "/C=DE/O=Example Corp/OU=payments/CN=ledger"
printf 'extendedKeyUsage=serverAuth\n' > server.ext
leaf web-server "/C=DE/O=Example Corp/OU=web/CN=www.example.com" server.ext
# A lookalike: the ledger's subject DN, self-signed.
selfsigned ledger-lookalike "/C=DE/O=Example Corp/OU=payments/CN=ledger"
rm -f root.key issuing.key issuing.csr ca.ext server.ext
keytool -importcert -noprompt -alias issuing -file certs/issuing-ca.pem -keystore anchors/issuing-truststore.jks -storetype jks -storepass changeit >/dev/null 2>&1
{
  for pair in "partner-a partner-clients" "partner-b partner-clients" "stranger partner-clients" \
      "ku-signer ku-signer-only" "ledger root" "ledger issuing-only" "ledger-lookalike root" \
      "web-server root" "issuing-ca root"; do
    set -- $pair
    if openssl verify -purpose sslclient -no_check_time -CAfile "anchors/$2.pem" -untrusted certs/issuing-ca.pem "certs/$1.pem" >/dev/null 2>&1; then r=OK; else r=FAIL; fi
    echo "$1 $2 $r"
  done
} > openssl-verify.txt
# OAuth registrations (RFC 8705 §2.1): a DN written with other case and
# spacing matches (RFC 4517 distinguishedNameMatch); the same RDNs in the
# other order do not (RFC 4514 order is significant, as Keycloak and Java
# compare); neither admits the self-signed lookalike, which never gets
# past chain validation.
cat > anchors/oauth-clients.json <<'JSON'
{"clients": [
  {"client_id": "ledger-spaced", "token_endpoint_auth_method": "tls_client_auth",
   "tls_client_auth_subject_dn": "cn=LEDGER,  ou=payments, o=example corp, c=de"},
  {"client_id": "ledger-reversed", "token_endpoint_auth_method": "tls_client_auth",
   "tls_client_auth_subject_dn": "C=DE,O=Example Corp,OU=payments,CN=ledger"}
]}
JSON
cd ..
