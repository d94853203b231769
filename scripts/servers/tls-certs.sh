#!/usr/bin/env bash
# Makes the certificates of the tls integration tests with openssl, in DIR:
#   ca.pem                root + intermediate, what --ca-file gets
#   root.pem, inter.pem   the CA certificates
#   trusted.{pem,key}     mail.contoso.test, issued by the intermediate
#   trusted-chain.pem     trusted leaf followed by the intermediate (what a server must send)
#   selfsigned.{pem,key}  mail.contoso.test, self-signed
#   wrongname.{pem,key}   webmail/autodiscover only, with its chain in wrongname-chain.pem
#   expired.{pem,key}     mail.contoso.test, lapsed in 2020 (openssl ca -startdate/-enddate:
#                         no clock tricks), with its chain in expired-chain.pem
#   aia.{pem,key}         mail.contoso.test whose AIA "CA Issuers" URL is AIA_URL (when given),
#                         served without its intermediate; inter.der is what that URL must serve
#   htpasswd              one user for nginx's auth_basic
# Nothing private leaves DIR; the test deletes it.
set -euo pipefail
dir=${1:?usage: tls-certs.sh DIR [AIA_URL]}
aia_url=${2:-}
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

key root.key
openssl req -x509 -new -key root.key -sha256 -days 3650 -subj "/O=Contoso Test/CN=Contoso Test Root CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out root.pem

key inter.key
openssl req -new -key inter.key -subj "/O=Contoso Test/CN=Contoso Test Issuing CA" -out inter.csr
cat > inter.ext <<'X'
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
X
openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -sha256 -days 1825 -extfile inter.ext -out inter.pem 2>/dev/null
cat root.pem inter.pem > ca.pem

# A minimal CA database so `openssl ca` can set explicit validity dates.
mkdir -p newcerts
: > index.txt
echo 1000 > serial
cat > ca.cnf <<X
[ca]
default_ca = inter
[inter]
dir = $dir
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
certificate = \$dir/inter.pem
private_key = \$dir/inter.key
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
organizationName = optional
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
X

# leaf NAME CN SANS [openssl ca validity options...]
leaf() {
	local name=$1 cn=$2 sans=$3
	shift 3
	key "$name.key"
	openssl req -new -key "$name.key" -subj "/O=Contoso Test/CN=$cn" -addext "subjectAltName=$sans" -out "$name.csr"
	openssl ca -batch -notext -config ca.cnf -extensions leaf -in "$name.csr" -out "$name.pem" "$@" 2>/dev/null
	cat "$name.pem" inter.pem > "$name-chain.pem"
}
leaf trusted mail.contoso.test "DNS:mail.contoso.test,DNS:autodiscover.contoso.test" -days 365
leaf wrongname webmail.contoso.test "DNS:webmail.contoso.test,DNS:autodiscover.contoso.test" -days 365
leaf expired mail.contoso.test "DNS:mail.contoso.test" -startdate 20200101000000Z -enddate 20200401000000Z

if [ -n "$aia_url" ]; then
	openssl x509 -in inter.pem -outform DER -out inter.der
	key aia.key
	openssl req -new -key aia.key -subj "/O=Contoso Test/CN=mail.contoso.test" -addext "subjectAltName=DNS:mail.contoso.test" \
		-addext "authorityInfoAccess=caIssuers;URI:$aia_url" -out aia.csr
	openssl ca -batch -notext -config ca.cnf -extensions leaf -in aia.csr -out aia.pem -days 365 2>/dev/null
fi

key selfsigned.key
openssl req -x509 -new -key selfsigned.key -sha256 -days 365 -subj "/O=Contoso Test/CN=mail.contoso.test" \
	-addext "subjectAltName=DNS:mail.contoso.test" -out selfsigned.pem

echo "exdiag:$(openssl passwd -apr1 'itest-only-password')" > htpasswd
rm -f ./*.csr
