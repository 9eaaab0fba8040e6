#!/usr/bin/env bash
# Regenerates the interoperability fixtures with the real tools (OpenSSL 3
# and Java keytool), so the importers are tested against files that other
# software wrote, not only against our own writers. Not run by the tests:
# run it by hand and review the diff. The keys are throwaway.
set -euo pipefail
cd "$(dirname "$0")"
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
