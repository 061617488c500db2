/* TLS server context: the certificate the HTTPS server presents and the hash
 * that binds it into attestation evidence.
 *
 * Blueprint "Trust protocol": report_data binds SHA-256 of the server
 * certificate's SubjectPublicKeyInfo DER, so a relying party that hashes the
 * SPKI of the certificate its own TLS connection received can tell that the
 * quote came from the process holding this key. With no files, the key is a
 * P-256 key born in memory (never written anywhere) with a self-signed
 * certificate; with files, the operator's certificate (chain) and key are
 * loaded and must match.
 *
 * The SSL_CTX allows TLS 1.2 and 1.3 only, forward-secret AEAD suites, and
 * selects ALPN "http/1.1" when the client offers it. */
#ifndef CCAI_NET_TLS_H
#define CCAI_NET_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct ccai_tls ccai_tls;

/* cert_file == NULL (and key_file == NULL): generate a P-256 key in memory and
 * a self-signed certificate (CN "ccai", SAN DNS:localhost and IP:127.0.0.1,
 * valid from one hour ago for one year, random 127-bit serial).
 * Otherwise load the PEM certificate (leaf first, then any chain) from
 * cert_file and the PEM private key (unencrypted) from key_file; they must
 * match. The caller frees *out with ccai_tls_free. */
ccai_code ccai_tls_ctx_new(const char *cert_file, const char *key_file, ccai_tls **out,
                           ccai_err *err);

/* Borrowed; lives until ccai_tls_free. Each connection takes SSL_new() of it. */
SSL_CTX *ccai_tls_ssl_ctx(const ccai_tls *t);
/* The leaf certificate in PEM, NUL-terminated; borrowed. */
const char *ccai_tls_cert_pem(const ccai_tls *t);
/* SHA-256 of the leaf certificate's SubjectPublicKeyInfo DER (32 bytes); borrowed. */
const uint8_t *ccai_tls_spki_sha256(const ccai_tls *t);
/* True when the key was generated in memory rather than loaded. */
bool ccai_tls_generated(const ccai_tls *t);

/* Frees the context; OpenSSL clears the private key as it frees it, and any
 * key text read from a file was wiped right after parsing. NULL is a no-op. */
void ccai_tls_free(ccai_tls *t);

/* The SPKI SHA-256 of the first certificate in a PEM text: what a relying
 * party computes over the certificate its TLS connection received. */
ccai_code ccai_tls_pem_spki_sha256(const char *pem, size_t len, uint8_t out[32], ccai_err *err);

#endif
