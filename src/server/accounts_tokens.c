/* Accounts, the bearer credentials: API keys ("Authorization: Bearer
 * ccai_...") and browser session tokens (the ccai_session cookie), plus the
 * header helpers that carry them. Contract: accounts.h; design:
 * docs/accounts.md.
 *
 * Both credentials are 32 random bytes, so a single SHA-256 is all the
 * stored form needs: nobody can brute-force 2^256 candidates, and a fast
 * hash keeps every API call cheap. (Argon2's deliberate slowness exists for
 * low-entropy human passwords only.) The plaintext exists only in the
 * caller's hands and briefly on our stack, wiped before returning. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/hash.h"
#include "base/mem.h"
#include "server/accounts.h"
#include "server/accounts_internal.h"

enum { KEY_PREFIX_LEN = 5, KEY_CREATE_TRIES = 4 };
static const char key_prefix[] = "ccai_";

_Static_assert(CCAI_KEY_LEN == KEY_PREFIX_LEN + CCAI_SESSION_TOKEN_LEN,
               "a key is the prefix and one 32-byte token");

static bool key_shape_ok(const char *key)
{
    return key && strnlen(key, CCAI_KEY_LEN + 1) == CCAI_KEY_LEN &&
           memcmp(key, key_prefix, KEY_PREFIX_LEN) == 0 &&
           acc_is_b64url(key + KEY_PREFIX_LEN, CCAI_SESSION_TOKEN_LEN);
}

static bool token_shape_ok(const char *token)
{
    return token && strnlen(token, CCAI_SESSION_TOKEN_LEN + 1) == CCAI_SESSION_TOKEN_LEN &&
           acc_is_b64url(token, CCAI_SESSION_TOKEN_LEN);
}

static ccai_code label_valid(const char *label, ccai_err *err)
{
    size_t n = strnlen(label, CCAI_KEY_LABEL_MAX + 1);
    if (n > CCAI_KEY_LABEL_MAX)
        return ccai_fail(err, CCAI_ERR_ARG, "key label: expected at most %d bytes, found more",
                         CCAI_KEY_LABEL_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)label[i];
        if (c < 0x20 || c > 0x7e)
            return ccai_fail(err, CCAI_ERR_ARG,
                             "key label: expected printable ASCII, found byte 0x%02x at offset %zu",
                             c, i);
    }
    return CCAI_OK;
}

static ccai_code need_user(const ccai_user *u, const char *what, ccai_err *err)
{
    if (!u || u->id <= 0 || !ccai_role_name(u->role))
        return ccai_fail(err, CCAI_ERR_ARG, "%s: expected an authenticated user, found none",
                         what);
    return CCAI_OK;
}

/* ---- API keys ---- */

ccai_code ccai_accounts_key_create(ccai_accounts *acc, const ccai_user *owner, const char *label,
                                   char **key_out, char id_out[CCAI_KEY_ID_LEN + 1],
                                   ccai_err *err)
{
    *key_out = NULL;
    if (!label)
        label = "";
    ccai_code rc = need_user(owner, "key create", err);
    if (!rc)
        rc = label_valid(label, err);
    if (rc)
        return rc;
    char key[CCAI_KEY_LEN + 1];
    uint8_t digest[CCAI_SHA256_LEN];
    char id[CCAI_KEY_ID_LEN + 1];
    for (int attempt = 0;; attempt++) {
        memcpy(key, key_prefix, KEY_PREFIX_LEN);
        acc_random_token(key + KEY_PREFIX_LEN);
        ccai_sha256(key, CCAI_KEY_LEN, digest);
        memcpy(id, key, CCAI_KEY_ID_LEN);
        id[CCAI_KEY_ID_LEN] = '\0';

        acc_lock(acc);
        sqlite3_stmt *st = acc_stmt(acc, SQL_KEY_INSERT, err);
        int s = SQLITE_ERROR;
        if (st) {
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, owner->id);
            sqlite3_bind_text(st, 3, label, -1, SQLITE_STATIC);
            sqlite3_bind_blob(st, 4, digest, sizeof digest, SQLITE_STATIC);
            sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
            s = sqlite3_step(st);
            if (s == SQLITE_DONE && sqlite3_changes(acc->db) == 0)
                rc = ccai_fail(err, CCAI_ERR_NOT_FOUND, "user \"%s\" (id %lld): no such user",
                               owner->name, (long long)owner->id);
            else if (s != SQLITE_DONE &&
                     !(s == SQLITE_CONSTRAINT_UNIQUE && attempt + 1 < KEY_CREATE_TRIES))
                rc = acc_sql_fail(acc, err, "insert API key", s);
            acc_done(st);
        } else {
            rc = err ? err->code : CCAI_ERR_IO;
        }
        acc_unlock(acc);
        /* 48 random bits in the public id: a collision is rare, and a new key
         * settles it. */
        if (rc || s == SQLITE_DONE)
            break;
    }
    sodium_memzero(digest, sizeof digest);
    if (!rc) {
        *key_out = ccai_xstrdup(key);
        if (id_out)
            memcpy(id_out, id, sizeof id);
    }
    sodium_memzero(key, sizeof key);
    return rc;
}

ccai_code ccai_accounts_key_check(ccai_accounts *acc, const char *bearer_key, ccai_user *out,
                                  ccai_err *err)
{
    static const char invalid[] = "invalid API key";
    if (!key_shape_ok(bearer_key))
        return ccai_fail(err, CCAI_ERR_VERIFY, "%s (expected \"ccai_\" and %d base64url characters)",
                         invalid, CCAI_SESSION_TOKEN_LEN);
    uint8_t digest[CCAI_SHA256_LEN];
    ccai_sha256(bearer_key, CCAI_KEY_LEN, digest);
    char id[CCAI_KEY_ID_LEN + 1];
    memcpy(id, bearer_key, CCAI_KEY_ID_LEN);
    id[CCAI_KEY_ID_LEN] = '\0';

    acc_lock(acc);
    sqlite3_stmt *st = acc_stmt(acc, SQL_KEY_BY_ID, err);
    if (!st) {
        acc_unlock(acc);
        sodium_memzero(digest, sizeof digest);
        return err ? err->code : CCAI_ERR_IO;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    ccai_code rc = CCAI_OK;
    bool match = false;
    int64_t row = 0;
    ccai_user u;
    if (s == SQLITE_ROW) {
        /* The lookup is by the public id; the secret part is only ever
         * compared in constant time, through its hash. */
        const void *stored = sqlite3_column_blob(st, 1);
        match = stored && sqlite3_column_bytes(st, 1) == CCAI_SHA256_LEN &&
                ccai_ct_equal(stored, digest, CCAI_SHA256_LEN);
        row = sqlite3_column_int64(st, 0);
        acc_read_user(st, 2, &u);
    } else if (s != SQLITE_DONE) {
        rc = acc_sql_fail(acc, err, "find API key", s);
    }
    acc_done(st);
    if (match) {
        /* Recording the use is best effort: a busy database must not turn a
         * valid key away. */
        st = acc_stmt(acc, SQL_KEY_TOUCH, NULL);
        if (st) {
            sqlite3_bind_int64(st, 1, row);
            sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
            sqlite3_step(st);
            acc_done(st);
        }
    }
    acc_unlock(acc);
    sodium_memzero(digest, sizeof digest);
    if (rc)
        return rc;
    if (!match)
        return ccai_fail(err, CCAI_ERR_VERIFY, "%s", invalid);
    if (out)
        *out = u;
    return CCAI_OK;
}

ccai_code ccai_accounts_key_list(ccai_accounts *acc, const ccai_user *actor, ccai_key_info **out,
                                 size_t *n, ccai_err *err)
{
    *out = NULL;
    *n = 0;
    ccai_code rc = need_user(actor, "key list", err);
    if (rc)
        return rc;
    bool all = actor->role == CCAI_ROLE_ADMIN;
    acc_lock(acc);
    sqlite3_stmt *st = acc_stmt(acc, all ? SQL_KEY_LIST_ALL : SQL_KEY_LIST_USER, err);
    if (!st)
        rc = err ? err->code : CCAI_ERR_IO;
    else if (!all)
        sqlite3_bind_int64(st, 1, actor->id);
    size_t cap = 0;
    int s = SQLITE_DONE;
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *out = ccai_xrealloc(*out, cap * sizeof **out);
        }
        ccai_key_info *k = &(*out)[(*n)++];
        memset(k, 0, sizeof *k);
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(k->id, sizeof k->id, "%s", t ? (const char *)t : "");
        k->user_id = sqlite3_column_int64(st, 1);
        t = sqlite3_column_text(st, 2);
        snprintf(k->user_name, sizeof k->user_name, "%s", t ? (const char *)t : "");
        t = sqlite3_column_text(st, 3);
        snprintf(k->label, sizeof k->label, "%s", t ? (const char *)t : "");
        k->created_at = sqlite3_column_int64(st, 4);
        k->last_used_at = sqlite3_column_int64(st, 5);
    }
    if (!rc && s != SQLITE_DONE)
        rc = acc_sql_fail(acc, err, "list API keys", s);
    acc_done(st);
    acc_unlock(acc);
    if (rc) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

ccai_code ccai_accounts_key_revoke(ccai_accounts *acc, const ccai_user *actor, const char *key_id,
                                   ccai_err *err)
{
    ccai_code rc = need_user(actor, "key revoke", err);
    if (rc)
        return rc;
    if (!key_id || strnlen(key_id, CCAI_KEY_ID_LEN + 1) != CCAI_KEY_ID_LEN ||
        memcmp(key_id, key_prefix, KEY_PREFIX_LEN) != 0 ||
        !acc_is_b64url(key_id + KEY_PREFIX_LEN, CCAI_KEY_ID_LEN - KEY_PREFIX_LEN))
        return ccai_fail(err, CCAI_ERR_ARG,
                         "key id: expected \"ccai_\" and %d base64url characters",
                         CCAI_KEY_ID_LEN - KEY_PREFIX_LEN);
    bool admin = actor->role == CCAI_ROLE_ADMIN;
    acc_lock(acc);
    sqlite3_stmt *st = acc_stmt(acc, admin ? SQL_KEY_DELETE_ANY : SQL_KEY_DELETE_OWN, err);
    if (!st) {
        rc = err ? err->code : CCAI_ERR_IO;
    } else {
        sqlite3_bind_text(st, 1, key_id, -1, SQLITE_STATIC);
        if (!admin)
            sqlite3_bind_int64(st, 2, actor->id);
        int s = sqlite3_step(st);
        if (s != SQLITE_DONE)
            rc = acc_sql_fail(acc, err, "revoke API key", s);
        /* Someone else's key reads exactly like a missing one: a user learns
         * nothing about keys that are not theirs. */
        else if (sqlite3_changes(acc->db) == 0)
            rc = ccai_fail(err, CCAI_ERR_NOT_FOUND, "API key %s: no such key", key_id);
        acc_done(st);
    }
    acc_unlock(acc);
    return rc;
}

/* ---- sessions ---- */

/* Deletes sessions expired at `now`; the caller holds the lock. */
static ccai_code purge_locked(ccai_accounts *acc, time_t now, int64_t *purged, ccai_err *err)
{
    sqlite3_stmt *st = acc_stmt(acc, SQL_SESSION_PURGE, err);
    if (!st)
        return err ? err->code : CCAI_ERR_IO;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
    int s = sqlite3_step(st);
    acc_done(st);
    if (s != SQLITE_DONE)
        return acc_sql_fail(acc, err, "purge sessions", s);
    if (purged)
        *purged = sqlite3_changes(acc->db);
    return CCAI_OK;
}

ccai_code ccai_accounts_session_create(ccai_accounts *acc, const ccai_user *user,
                                       int64_t ttl_seconds, char **token_out, ccai_err *err)
{
    *token_out = NULL;
    ccai_code rc = need_user(user, "session", err);
    if (rc)
        return rc;
    if (ttl_seconds < 1 || ttl_seconds > CCAI_SESSION_TTL_MAX)
        return ccai_fail(err, CCAI_ERR_ARG, "session TTL: expected 1..%d seconds, found %lld",
                         CCAI_SESSION_TTL_MAX, (long long)ttl_seconds);
    char token[CCAI_SESSION_TOKEN_LEN + 1];
    uint8_t digest[CCAI_SHA256_LEN];
    acc_random_token(token);
    ccai_sha256(token, CCAI_SESSION_TOKEN_LEN, digest);
    time_t now = time(NULL);

    acc_lock(acc);
    rc = purge_locked(acc, now, NULL, err);
    sqlite3_stmt *st = rc ? NULL : acc_stmt(acc, SQL_SESSION_INSERT, err);
    if (!rc && !st)
        rc = err ? err->code : CCAI_ERR_IO;
    if (!rc) {
        sqlite3_bind_blob(st, 1, digest, sizeof digest, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, user->id);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)now + ttl_seconds);
        int s = sqlite3_step(st);
        if (s != SQLITE_DONE)
            rc = acc_sql_fail(acc, err, "insert session", s);
        else if (sqlite3_changes(acc->db) == 0)
            rc = ccai_fail(err, CCAI_ERR_NOT_FOUND, "user \"%s\" (id %lld): no such user",
                           user->name, (long long)user->id);
        acc_done(st);
    }
    acc_unlock(acc);
    sodium_memzero(digest, sizeof digest);
    if (!rc)
        *token_out = ccai_xstrdup(token);
    sodium_memzero(token, sizeof token);
    return rc;
}

/* Deletes the session whose token hashes to digest; caller holds the lock. */
static ccai_code delete_locked(ccai_accounts *acc, const uint8_t digest[CCAI_SHA256_LEN],
                               ccai_err *err)
{
    sqlite3_stmt *st = acc_stmt(acc, SQL_SESSION_DELETE, err);
    if (!st)
        return err ? err->code : CCAI_ERR_IO;
    sqlite3_bind_blob(st, 1, digest, CCAI_SHA256_LEN, SQLITE_STATIC);
    int s = sqlite3_step(st);
    acc_done(st);
    return s == SQLITE_DONE ? CCAI_OK : acc_sql_fail(acc, err, "delete session", s);
}

ccai_code ccai_accounts_session_check(ccai_accounts *acc, const char *token, time_t now,
                                      ccai_user *out, ccai_err *err)
{
    if (!token_shape_ok(token))
        return ccai_fail(err, CCAI_ERR_VERIFY, "invalid session (expected %d base64url characters)",
                         CCAI_SESSION_TOKEN_LEN);
    uint8_t digest[CCAI_SHA256_LEN];
    ccai_sha256(token, CCAI_SESSION_TOKEN_LEN, digest);
    acc_lock(acc);
    sqlite3_stmt *st = acc_stmt(acc, SQL_SESSION_BY_HASH, err);
    ccai_code rc = st ? CCAI_OK : (err ? err->code : CCAI_ERR_IO);
    bool found = false, expired = false;
    ccai_user u;
    if (!rc) {
        /* Looked up by the hash (an index search reveals nothing an attacker
         * could use: steering it needs SHA-256 preimages); the match is still
         * confirmed in constant time. */
        sqlite3_bind_blob(st, 1, digest, sizeof digest, SQLITE_STATIC);
        int s = sqlite3_step(st);
        if (s == SQLITE_ROW) {
            const void *stored = sqlite3_column_blob(st, 0);
            found = stored && sqlite3_column_bytes(st, 0) == CCAI_SHA256_LEN &&
                    ccai_ct_equal(stored, digest, CCAI_SHA256_LEN);
            expired = sqlite3_column_int64(st, 1) <= (sqlite3_int64)now;
            acc_read_user(st, 2, &u);
        } else if (s != SQLITE_DONE) {
            rc = acc_sql_fail(acc, err, "find session", s);
        }
        acc_done(st);
    }
    if (!rc && found && expired)
        rc = delete_locked(acc, digest, err);
    acc_unlock(acc);
    sodium_memzero(digest, sizeof digest);
    if (rc)
        return rc;
    if (!found)
        return ccai_fail(err, CCAI_ERR_VERIFY, "invalid session");
    if (expired)
        return ccai_fail(err, CCAI_ERR_VERIFY, "session expired");
    if (out)
        *out = u;
    return CCAI_OK;
}

ccai_code ccai_accounts_session_delete(ccai_accounts *acc, const char *token, ccai_err *err)
{
    if (!token_shape_ok(token))
        return CCAI_OK; /* nothing that shape was ever stored */
    uint8_t digest[CCAI_SHA256_LEN];
    ccai_sha256(token, CCAI_SESSION_TOKEN_LEN, digest);
    acc_lock(acc);
    ccai_code rc = delete_locked(acc, digest, err);
    acc_unlock(acc);
    sodium_memzero(digest, sizeof digest);
    return rc;
}

ccai_code ccai_accounts_session_purge(ccai_accounts *acc, time_t now, int64_t *purged,
                                      ccai_err *err)
{
    acc_lock(acc);
    ccai_code rc = purge_locked(acc, now, purged, err);
    acc_unlock(acc);
    return rc;
}

/* ---- HTTP helpers ---- */

/* SameSite=Strict: the browser never sends the cookie on a cross-site
 * request, which is the CSRF defence; HttpOnly: page scripts cannot read
 * it; Secure: only over HTTPS, which ends inside the TEE. */
ccai_code ccai_accounts_cookie_header(const char *token, int64_t ttl_seconds, char *buf, size_t n)
{
    if (!token_shape_ok(token) || ttl_seconds < 0)
        return CCAI_ERR_ARG;
    int w = snprintf(buf, n, "%s=%s; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=%lld",
                     CCAI_SESSION_COOKIE, token, (long long)ttl_seconds);
    return w >= 0 && (size_t)w < n ? CCAI_OK : CCAI_ERR_ARG;
}

ccai_code ccai_accounts_cookie_clear_header(char *buf, size_t n)
{
    int w = snprintf(buf, n, "%s=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
                     CCAI_SESSION_COOKIE);
    return w >= 0 && (size_t)w < n ? CCAI_OK : CCAI_ERR_ARG;
}

ccai_code ccai_accounts_cookie_token(const char *cookie, char token[CCAI_SESSION_TOKEN_LEN + 1],
                                     ccai_err *err)
{
    static const char name[] = CCAI_SESSION_COOKIE "=";
    const size_t nlen = sizeof name - 1;
    /* More than one session cookie is refused, not resolved: a browser sends
     * the one with the longer Path first, so a page on another port or a
     * sibling host could plant its own (cookie tossing) ahead of ours. */
    int seen = 0;
    bool found = false;
    /* RFC 6265 §4.2.1: cookie-pair *( ";" SP cookie-pair ) */
    for (const char *p = cookie; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len >= nlen && memcmp(p, name, nlen) == 0) {
            seen++;
            if (len == nlen + CCAI_SESSION_TOKEN_LEN &&
                acc_is_b64url(p + nlen, CCAI_SESSION_TOKEN_LEN)) {
                memcpy(token, p + nlen, CCAI_SESSION_TOKEN_LEN);
                token[CCAI_SESSION_TOKEN_LEN] = '\0';
                found = true;
            }
        }
        p = end;
    }
    if (seen > 1) {
        ccai_wipe(token, CCAI_SESSION_TOKEN_LEN + 1);
        return ccai_fail(err, CCAI_ERR_VERIFY, "%d %s cookies: expected one", seen,
                         CCAI_SESSION_COOKIE);
    }
    if (found)
        return CCAI_OK;
    return ccai_fail(err, CCAI_ERR_NOT_FOUND, "no %s cookie", CCAI_SESSION_COOKIE);
}

ccai_code ccai_accounts_bearer_key(const char *authorization, char key[CCAI_KEY_LEN + 1],
                                   ccai_err *err)
{
    const char *p = authorization ? authorization : "";
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "Authorization: expected \"Bearer <API key>\", found another scheme");
    p += 6;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strcspn(p, " \t");
    const char *rest = p + len;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (len != CCAI_KEY_LEN || *rest || memcmp(p, key_prefix, KEY_PREFIX_LEN) != 0 ||
        !acc_is_b64url(p + KEY_PREFIX_LEN, CCAI_SESSION_TOKEN_LEN))
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "invalid API key (expected \"ccai_\" and %d base64url characters)",
                         CCAI_SESSION_TOKEN_LEN);
    memcpy(key, p, CCAI_KEY_LEN);
    key[CCAI_KEY_LEN] = '\0';
    return CCAI_OK;
}
