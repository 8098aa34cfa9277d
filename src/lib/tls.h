/*
 * TLS on OpenSSL, without libevent: the server's context (certificate
 * and key, reloaded by swapping contexts), the self-signed certificate
 * made at first start, SHA-256 fingerprints as `openssl x509
 * -fingerprint -sha256` prints them, and the client's context for
 * mailbell watch and doctor (system CAs, a CA file or a pinned
 * fingerprint, with host name verification).
 *
 * Errors follow lib/error.h. Every function may be called from one
 * thread at a time per object; OpenSSL's own state is thread-safe.
 */
#ifndef MB_LIB_TLS_H
#define MB_LIB_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Bytes of a SHA-256 digest. */
#define TLS_FINGERPRINT_LEN 32
/* "AB:CD:...:EF" and its NUL: three characters per byte. */
#define TLS_FINGERPRINT_TEXT_SIZE (TLS_FINGERPRINT_LEN * 3)

/* The self-signed certificate's files under <data_dir>/tls/. */
#define TLS_SELF_SIGNED_DIR "tls"
#define TLS_SELF_SIGNED_CERT "mailbell.crt"
#define TLS_SELF_SIGNED_KEY "mailbell.key"

/* ------------------------------------------------------------------ */
/* Fingerprints                                                        */
/* ------------------------------------------------------------------ */

/* Formats the SHA-256 digest of cert's DER encoding into out as
 * uppercase hex pairs joined by colons. Returns 0, or -1 with *error_r. */
int tls_fingerprint_x509(X509 *cert, char out[TLS_FINGERPRINT_TEXT_SIZE],
    const char **error_r);

/* The same for the first certificate (the leaf) of a PEM file. */
int tls_fingerprint_file(const char *cert_file,
    char out[TLS_FINGERPRINT_TEXT_SIZE], const char **error_r);

/* Parses a SHA-256 fingerprint given by a user: 64 hex digits, upper or
 * lower case, with or without colons between the pairs. Returns 0, or
 * -1 with *error_r. */
int tls_fingerprint_parse(const char *text,
    unsigned char digest_r[TLS_FINGERPRINT_LEN], const char **error_r);

/* The fingerprint of the certificate the peer of ssl presented, into out.
 * Returns 0, or -1 if there is none (no handshake yet). */
int tls_peer_fingerprint(SSL *ssl, char out[TLS_FINGERPRINT_TEXT_SIZE]);

/* ------------------------------------------------------------------ */
/* Self-signed certificate                                             */
/* ------------------------------------------------------------------ */

/* Writes a new self-signed certificate and its key: EC P-256, valid ten
 * years, CN and subjectAltName DNS:hostname plus DNS:localhost,
 * IP:127.0.0.1 and IP:::1. The key file gets mode 0600. Each file is
 * written to a temporary name, fsync'd and renamed, and the directory
 * fsync'd, so a crash leaves no half-written file. Returns 0, or -1
 * with *error_r. */
int tls_self_signed_write(const char *cert_file, const char *key_file,
    const char *hostname, const char **error_r);

/* The paths of the self-signed certificate and key under data_dir,
 * whether or not they exist (malloc'd; the caller frees them). */
void tls_self_signed_paths(const char *data_dir, char **cert_file_r,
    char **key_file_r);
/* Makes <data_dir>/tls/ (mode 0700) and, unless both files exist, the
 * self-signed certificate and key in it. Sets *cert_file_r and
 * *key_file_r to the paths (malloc'd; the caller frees them) and
 * *generated_r to whether they were made now. Returns 0, or -1 with
 * *error_r. */
int tls_self_signed_ensure(const char *data_dir, const char *hostname,
    char **cert_file_r, char **key_file_r, bool *generated_r,
    const char **error_r);

/* ------------------------------------------------------------------ */
/* Server                                                              */
/* ------------------------------------------------------------------ */

/* The server's TLS context and where it came from. */
struct tls_server;

/* Loads cert_file (the leaf then its chain, PEM) and key_file into a new
 * context: TLS 1.2 at least; for TLS 1.2 only ECDHE key exchange with
 * AEAD ciphers; no compression, no renegotiation; session tickets on;
 * read and write buffers released while a connection is idle. The file
 * names are copied. Returns NULL with *error_r if a file cannot be read
 * or the key does not match the certificate. */
struct tls_server *tls_server_new(const char *cert_file,
    const char *key_file, const char **error_r);

/* Reads cert_file and key_file (both NULL: the files it has, again)
 * into a new context and, if that succeeds, makes it the one
 * tls_server_ctx() returns and the names the ones it has (copied).
 * Connections made earlier keep the context they were made with (each
 * SSL holds a reference). On failure the old context and names stay and
 * -1 is returned with *error_r. */
int tls_server_reload(struct tls_server *server, const char *cert_file,
    const char *key_file, const char **error_r);

/* The context for new connections. Valid until the next successful
 * tls_server_reload() or tls_server_free(); SSL_new() takes its own
 * reference. */
SSL_CTX *tls_server_ctx(const struct tls_server *server);

/* The current certificate's fingerprint ("AB:CD:...") and file name. */
const char *tls_server_fingerprint(const struct tls_server *server);
const char *tls_server_cert_file(const struct tls_server *server);

void tls_server_free(struct tls_server **serverp);

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

/* A client's TLS context and how it verifies servers. */
struct tls_client;

/* Makes a client context (TLS 1.2 at least). With fingerprint (see
 * tls_fingerprint_parse() for its forms) the server's leaf certificate
 * must have that SHA-256 digest, and nothing else is checked: the pin
 * replaces CA and host name verification. Otherwise the chain must lead
 * to a CA in ca_file (PEM; may hold the server's self-signed
 * certificate itself) or, if ca_file is NULL, to one of the system's
 * CAs, and tls_client_ssl_new() checks the host name. Returns NULL with
 * *error_r if ca_file cannot be read or fingerprint does not parse. */
struct tls_client *tls_client_new(const char *ca_file,
    const char *fingerprint, const char **error_r);

/* A new connection object for a server reached as host (a DNS name or an
 * IPv4/IPv6 literal): sets SNI for names and the name or address the
 * certificate must carry. The caller attaches a socket (SSL_set_fd or
 * bufferevent_openssl_socket_new with BUFFEREVENT_SSL_CONNECTING) and
 * frees it with SSL_free(). Returns NULL with *error_r. */
SSL *tls_client_ssl_new(struct tls_client *client, const char *host,
    const char **error_r);

/* Why the handshake of ssl failed its verification, as a sentence for a
 * user ("certificate not trusted: self-signed", "certificate does not
 * match host name mail.example.org", "certificate fingerprint does not
 * match the pinned one"), or NULL if verification passed or did not
 * run. The text is an error_fmt() text. */
const char *tls_client_verify_error(SSL *ssl);

void tls_client_free(struct tls_client **clientp);

/* The text of OpenSSL's queued errors after a failure, emptying the
 * queue ("no OpenSSL error" if it is empty); an error_fmt() text. */
const char *tls_openssl_error(void);

#endif
