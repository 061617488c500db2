/* Accounts for `ccai serve`: users with roles, API keys and browser sessions,
 * kept in SQLite at <state_dir>/accounts.db (docs/accounts.md).
 *
 * Contract:
 * - Passwords are stored as libsodium crypto_pwhash_str strings (Argon2id,
 *   OPSLIMIT/MEMLIMIT_INTERACTIVE); API keys and session tokens are random
 *   256-bit values stored only as SHA-256 digests. No plaintext secret is
 *   ever written to the database, logged or kept after a call returns: every
 *   secret this module hands out (generated password, key, token) is a fresh
 *   allocation the caller shows once and releases with
 *   ccai_accounts_free_secret (which wipes it).
 * - Credential failures return CCAI_ERR_VERIFY (an HTTP 401): a wrong
 *   password and an unknown user give the same message and take the same
 *   time. Invalid input (a bad user name, label or TTL) is CCAI_ERR_ARG with
 *   what was expected and what was found; a missing user or key is
 *   CCAI_ERR_NOT_FOUND.
 * - One handle may be used from any number of threads at once: a single
 *   SQLite connection is guarded by a mutex, and the slow Argon2 work runs
 *   outside it. Argon2 costs ~50-100 ms and 64 MiB per call, so call the
 *   password functions from a worker thread, not the event loop; key and
 *   session checks are cheap (one SHA-256 and one indexed lookup). */
#ifndef CCAI_SERVER_ACCOUNTS_H
#define CCAI_SERVER_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"

enum { CCAI_ROLE_ADMIN = 1, CCAI_ROLE_USER = 2 };

enum {
    CCAI_USER_NAME_MAX = 64,      /* 1..64 characters from [a-z0-9._-] */
    CCAI_PASSWORD_MIN = 8,        /* bytes */
    CCAI_PASSWORD_MAX = 1024,     /* bytes */
    CCAI_KEY_LABEL_MAX = 128,     /* bytes of printable ASCII */
    CCAI_KEY_ID_LEN = 13,         /* "ccai_" + 8 characters: the key's public prefix */
    CCAI_KEY_LEN = 48,            /* "ccai_" + base64url(32 bytes) */
    CCAI_SESSION_TOKEN_LEN = 43,  /* base64url(32 bytes) */
    CCAI_SESSION_TTL_MAX = 30 * 24 * 3600,
};

#define CCAI_SESSION_COOKIE "ccai_session"
#define CCAI_BOOTSTRAP_ADMIN "admin"

typedef struct ccai_accounts ccai_accounts;

/* Who is calling: what a credential check yields. */
typedef struct ccai_user {
    int64_t id;
    char name[CCAI_USER_NAME_MAX + 1];
    int role; /* CCAI_ROLE_ADMIN or CCAI_ROLE_USER */
} ccai_user;

/* One row of a user listing (never a hash). */
typedef struct ccai_user_info {
    ccai_user user;
    int64_t created_at;  /* UNIX seconds */
    int64_t key_count;   /* API keys the user holds */
} ccai_user_info;

/* One row of an API key listing: the public prefix identifies the key. */
typedef struct ccai_key_info {
    char id[CCAI_KEY_ID_LEN + 1];
    int64_t user_id;
    char user_name[CCAI_USER_NAME_MAX + 1];
    char label[CCAI_KEY_LABEL_MAX + 1];
    int64_t created_at;
    int64_t last_used_at; /* 0: never used; updated at most once a minute */
} ccai_key_info;

/* "admin" or "user"; NULL for anything else. */
const char *ccai_role_name(int role);
/* The inverse of ccai_role_name; CCAI_ERR_ARG for anything else. */
ccai_code ccai_role_parse(const char *s, int *role, ccai_err *err);

/* Opens (creating it and state_dir, mode 0700, when absent) the database
 * <state_dir>/accounts.db with mode 0600, WAL journal, a busy timeout and
 * foreign keys, and brings its schema up to date through the migrations
 * table. A database written by a newer ccai is refused (CCAI_ERR_UNSUPPORTED).
 * Free the handle with ccai_accounts_close (NULL is fine). */
ccai_code ccai_accounts_open(const char *state_dir, ccai_accounts **out, ccai_err *err);
void ccai_accounts_close(ccai_accounts *acc);

/* First start: when no user exists at all, creates "admin" with role admin
 * and the given password, or, when admin_password is NULL, a generated one
 * (32 base64url characters, 192 bits) returned in *generated_password_out for
 * the caller to print once and release with ccai_accounts_free_secret. When
 * users exist it does nothing (and sets *generated_password_out to NULL), so
 * it is safe to call on every start. generated_password_out may be NULL only
 * when admin_password is given. */
ccai_code ccai_accounts_bootstrap(ccai_accounts *acc, const char *admin_password,
                                  char **generated_password_out, ccai_err *err);

/* Wipes and frees a secret string this module returned (NULL is fine). */
void ccai_accounts_free_secret(char *secret);

/* --- users --- */

/* Checks a user name against the rules (1..64 of [a-z0-9._-]). */
ccai_code ccai_accounts_name_valid(const char *name, ccai_err *err);

/* Creates a user; CCAI_ERR_ARG for a bad name/role/password, CCAI_ERR_STATE
 * when the name is taken. *out (may be NULL) receives the new user. */
ccai_code ccai_accounts_user_create(ccai_accounts *acc, const char *name, const char *password,
                                    int role, ccai_user *out, ccai_err *err);

/* Replaces a user's password and ends their browser sessions (API keys stay). */
ccai_code ccai_accounts_user_set_password(ccai_accounts *acc, const char *name,
                                          const char *password, ccai_err *err);

/* Deletes a user together with all their API keys and sessions, so every
 * credential they held stops working at once. The last admin cannot be
 * deleted (CCAI_ERR_STATE): that would lock everyone out. */
ccai_code ccai_accounts_user_delete(ccai_accounts *acc, const char *name, ccai_err *err);

/* Looks a user up by name (id, name, role); CCAI_ERR_NOT_FOUND when absent. */
ccai_code ccai_accounts_user_get(ccai_accounts *acc, const char *name, ccai_user *out,
                                 ccai_err *err);

/* All users ordered by name; *out is a fresh array the caller frees (free()). */
ccai_code ccai_accounts_user_list(ccai_accounts *acc, ccai_user_info **out, size_t *n,
                                  ccai_err *err);

/* Verifies a password (crypto_pwhash_str_verify). An unknown user, a name
 * that breaks the rules and a wrong password all give CCAI_ERR_VERIFY
 * "invalid user name or password" after the same amount of Argon2 work (an
 * unknown user is verified against a dummy hash). A hash made with older
 * cost parameters is upgraded on success. */
ccai_code ccai_accounts_check_password(ccai_accounts *acc, const char *name, const char *password,
                                       ccai_user *out, ccai_err *err);

/* --- API keys (Authorization: Bearer <key>) --- */

/* Makes a key for `owner` (a user who must still exist): "ccai_" followed by
 * 32 random bytes in base64url, returned once in *key_out (release with
 * ccai_accounts_free_secret). Only its SHA-256 is stored, with its first
 * CCAI_KEY_ID_LEN characters as the public id used to list and revoke it.
 * label: NULL or up to 128 bytes of printable ASCII. id_out (may be NULL)
 * receives the public id. */
ccai_code ccai_accounts_key_create(ccai_accounts *acc, const ccai_user *owner, const char *label,
                                   char **key_out, char id_out[CCAI_KEY_ID_LEN + 1],
                                   ccai_err *err);

/* Authenticates a bearer key: the stored SHA-256 is compared in constant time.
 * On success fills *out with the owner and records the use. Any failure is
 * CCAI_ERR_VERIFY "invalid API key". */
ccai_code ccai_accounts_key_check(ccai_accounts *acc, const char *bearer_key, ccai_user *out,
                                  ccai_err *err);

/* Keys `actor` may see: every key for an admin, their own for a user,
 * ordered by owner then creation. *out is a fresh array the caller frees. */
ccai_code ccai_accounts_key_list(ccai_accounts *acc, const ccai_user *actor, ccai_key_info **out,
                                 size_t *n, ccai_err *err);

/* Revokes (deletes) the key with public id key_id. An admin may revoke any
 * key, a user only their own: another user's key reads as CCAI_ERR_NOT_FOUND,
 * exactly like a key that does not exist. */
ccai_code ccai_accounts_key_revoke(ccai_accounts *acc, const ccai_user *actor, const char *key_id,
                                   ccai_err *err);

/* --- browser sessions --- */

/* Starts a session for `user` lasting ttl_seconds (1..CCAI_SESSION_TTL_MAX):
 * 32 random bytes in base64url in *token_out (release with
 * ccai_accounts_free_secret), stored as its SHA-256 with the expiry time.
 * Expired sessions of all users are purged on the way. */
ccai_code ccai_accounts_session_create(ccai_accounts *acc, const ccai_user *user,
                                       int64_t ttl_seconds, char **token_out, ccai_err *err);

/* Authenticates a session token at time `now` (UNIX seconds; the server
 * passes time(NULL), tests inject one). An expired session is deleted and
 * refused. Failures are CCAI_ERR_VERIFY. */
ccai_code ccai_accounts_session_check(ccai_accounts *acc, const char *token, time_t now,
                                      ccai_user *out, ccai_err *err);

/* Logout: deletes the session (no error when it does not exist). */
ccai_code ccai_accounts_session_delete(ccai_accounts *acc, const char *token, ccai_err *err);

/* Deletes every session that expired at or before `now`; *purged (may be
 * NULL) receives how many. */
ccai_code ccai_accounts_session_purge(ccai_accounts *acc, time_t now, int64_t *purged,
                                      ccai_err *err);

/* --- HTTP helpers (no database) --- */

/* Writes the Set-Cookie value
 *   ccai_session=<token>; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=<ttl>
 * into buf. The token must be base64url (so nothing can be injected into the
 * header); CCAI_ERR_ARG when it is not, or when buf is too small. */
ccai_code ccai_accounts_cookie_header(const char *token, int64_t ttl_seconds, char *buf, size_t n);

/* The Set-Cookie value that ends the session in the browser (Max-Age=0). */
ccai_code ccai_accounts_cookie_clear_header(char *buf, size_t n);

/* Copies the ccai_session token from a Cookie request header into token
 * (the ccai_session cookie, when its value has the token's shape).
 * CCAI_ERR_NOT_FOUND when there is none, CCAI_ERR_VERIFY when there are
 * several (another page may have planted one). token is a secret: wipe it. */
ccai_code ccai_accounts_cookie_token(const char *cookie, char token[CCAI_SESSION_TOKEN_LEN + 1],
                                     ccai_err *err);

/* Copies the key from an Authorization header value "Bearer <key>" (scheme
 * matched case-insensitively, RFC 9110 §11.1) into key. CCAI_ERR_VERIFY when
 * the header is not a bearer credential of a ccai key's shape. key is a
 * secret: wipe it. */
ccai_code ccai_accounts_bearer_key(const char *authorization, char key[CCAI_KEY_LEN + 1],
                                   ccai_err *err);

#endif
