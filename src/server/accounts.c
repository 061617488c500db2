/* Accounts, the users: the handle's life, user names and roles, passwords
 * (Argon2id through libsodium), the first-start admin and the user admin
 * operations. The database itself is in accounts_db.c, API keys and sessions
 * in accounts_tokens.c. Contract: accounts.h; design: docs/accounts.md. */
#include "server/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/mem.h"
#include "server/accounts_internal.h"

enum { GENERATED_PASSWORD_BYTES = 24 };

/* ---- roles, names, passwords ---- */

const char *ccai_role_name(int role)
{
    return role == CCAI_ROLE_ADMIN ? "admin" : role == CCAI_ROLE_USER ? "user" : NULL;
}

ccai_code ccai_role_parse(const char *s, int *role, ccai_err *err)
{
    if (s && strcmp(s, "admin") == 0)
        *role = CCAI_ROLE_ADMIN;
    else if (s && strcmp(s, "user") == 0)
        *role = CCAI_ROLE_USER;
    else
        return ccai_fail(err, CCAI_ERR_ARG, "role: expected \"admin\" or \"user\", found \"%.32s\"",
                         s ? s : "(none)");
    return CCAI_OK;
}

static bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

ccai_code ccai_accounts_name_valid(const char *name, ccai_err *err)
{
    static const char rule[] = "user name: expected 1..64 characters from [a-z0-9._-]";
    if (!name || !*name)
        return ccai_fail(err, CCAI_ERR_ARG, "%s, found an empty name", rule);
    size_t n = strnlen(name, CCAI_USER_NAME_MAX + 1);
    if (n > CCAI_USER_NAME_MAX)
        return ccai_fail(err, CCAI_ERR_ARG, "%s, found %zu or more", rule,
                         (size_t)CCAI_USER_NAME_MAX + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (name_char_ok((char)c))
            continue;
        /* Never echo an unprintable byte into a message that may reach a log. */
        if (c >= 0x20 && c < 0x7f)
            return ccai_fail(err, CCAI_ERR_ARG, "%s, found '%c' at offset %zu", rule, c, i);
        return ccai_fail(err, CCAI_ERR_ARG, "%s, found byte 0x%02x at offset %zu", rule, c, i);
    }
    return CCAI_OK;
}

static ccai_code password_valid(const char *password, ccai_err *err)
{
    size_t n = password ? strnlen(password, CCAI_PASSWORD_MAX + 1) : 0;
    if (n < CCAI_PASSWORD_MIN || n > CCAI_PASSWORD_MAX)
        return ccai_fail(err, CCAI_ERR_ARG, "password: expected %d..%d bytes, found %s%zu",
                         CCAI_PASSWORD_MIN, CCAI_PASSWORD_MAX,
                         n > CCAI_PASSWORD_MAX ? "more than " : "",
                         n > CCAI_PASSWORD_MAX ? (size_t)CCAI_PASSWORD_MAX : n);
    return CCAI_OK;
}

/* Argon2id with the handle's cost; out is a crypto_pwhash_str string. */
static ccai_code hash_password(const ccai_accounts *acc, const char *password,
                               char out[crypto_pwhash_argon2id_STRBYTES], ccai_err *err)
{
    if (crypto_pwhash_argon2id_str(out, password, strlen(password), acc->opslimit,
                                   acc->memlimit) != 0)
        return ccai_fail(err, CCAI_ERR_CRYPTO,
                         "password hash: Argon2id could not allocate its %zu bytes of memory",
                         acc->memlimit);
    return CCAI_OK;
}

ccai_code ccai_accounts_open(const char *state_dir, ccai_accounts **out, ccai_err *err)
{
    *out = NULL;
    if (!state_dir || !*state_dir)
        return ccai_fail(err, CCAI_ERR_ARG, "accounts: expected a state directory, found none");
    if (sodium_init() < 0)
        return ccai_fail(err, CCAI_ERR_CRYPTO, "accounts: libsodium failed to initialize");
    if (!sqlite3_threadsafe())
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                         "accounts: expected a thread-safe SQLite build, found one without "
                         "mutexes");
    ccai_code rc = ccai_mkdir_p(state_dir, 0700, err);
    if (rc)
        return rc;
    char *path = ccai_xasprintf("%s/accounts.db", state_dir);
    ccai_accounts *acc = ccai_xcalloc(1, sizeof *acc);
    pthread_mutex_init(&acc->mu, NULL);
    acc->opslimit = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
    acc->memlimit = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
    rc = acc_db_open(acc, path, err);
    free(path);
    if (rc) {
        ccai_accounts_close(acc);
        return rc;
    }
    char dummy[CCAI_SESSION_TOKEN_LEN + 1];
    acc_random_token(dummy);
    rc = hash_password(acc, dummy, acc->dummy_hash, err);
    sodium_memzero(dummy, sizeof dummy);
    if (rc) {
        ccai_accounts_close(acc);
        return rc;
    }
    *out = acc;
    return CCAI_OK;
}

void ccai_accounts_close(ccai_accounts *acc)
{
    if (!acc)
        return;
    acc_db_close(acc);
    pthread_mutex_destroy(&acc->mu);
    sodium_memzero(acc->dummy_hash, sizeof acc->dummy_hash);
    free(acc);
}

void ccai_accounts_free_secret(char *secret)
{
    if (secret) {
        sodium_memzero(secret, strlen(secret));
        free(secret);
    }
}

/* ---- users ---- */

/* Looks a user up by name; the caller holds the lock. */
static ccai_code find_user(ccai_accounts *acc, const char *name, ccai_user *out, ccai_err *err)
{
    sqlite3_stmt *st = acc_stmt(acc, SQL_USER_BY_NAME, err);
    if (!st)
        return err ? err->code : CCAI_ERR_IO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    ccai_code out_rc = CCAI_OK;
    if (rc == SQLITE_ROW)
        acc_read_user(st, 0, out);
    else if (rc == SQLITE_DONE)
        out_rc = ccai_fail(err, CCAI_ERR_NOT_FOUND, "user \"%s\": no such user", name);
    else
        out_rc = acc_sql_fail(acc, err, "find user", rc);
    acc_done(st);
    return out_rc;
}

static ccai_code count_users(ccai_accounts *acc, acc_sql which, int64_t *n, ccai_err *err)
{
    sqlite3_stmt *st = acc_stmt(acc, which, err);
    if (!st)
        return err ? err->code : CCAI_ERR_IO;
    int rc = sqlite3_step(st);
    ccai_code out = CCAI_OK;
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    else
        out = acc_sql_fail(acc, err, "count users", rc);
    acc_done(st);
    return out;
}

/* Inserts a user row; the caller holds the lock. */
static ccai_code insert_user(ccai_accounts *acc, const char *name, int role, const char *hash,
                             ccai_user *out, ccai_err *err)
{
    sqlite3_stmt *st = acc_stmt(acc, SQL_USER_INSERT, err);
    if (!st)
        return err ? err->code : CCAI_ERR_IO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, role);
    sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(st);
    ccai_code res = CCAI_OK;
    if (rc == SQLITE_DONE) {
        if (out) {
            memset(out, 0, sizeof *out);
            out->id = sqlite3_last_insert_rowid(acc->db);
            snprintf(out->name, sizeof out->name, "%s", name);
            out->role = role;
        }
    } else if (rc == SQLITE_CONSTRAINT_UNIQUE) {
        res = ccai_fail(err, CCAI_ERR_STATE, "user \"%s\": the name is already taken", name);
    } else {
        res = acc_sql_fail(acc, err, "insert user", rc);
    }
    acc_done(st);
    return res;
}

ccai_code ccai_accounts_bootstrap(ccai_accounts *acc, const char *admin_password,
                                  char **generated_password_out, ccai_err *err)
{
    if (generated_password_out)
        *generated_password_out = NULL;
    else if (!admin_password)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "bootstrap: expected a password or a place for a generated one");
    int64_t n = 0;
    acc_lock(acc);
    ccai_code rc = count_users(acc, SQL_USER_COUNT, &n, err);
    acc_unlock(acc);
    if (rc || n > 0)
        return rc;

    char *password;
    if (admin_password) {
        if ((rc = password_valid(admin_password, err))) {
            ccai_err_prefix(err, "admin");
            return rc;
        }
        password = ccai_xstrdup(admin_password);
    } else {
        unsigned char raw[GENERATED_PASSWORD_BYTES];
        randombytes_buf(raw, sizeof raw);
        size_t cap = sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        password = ccai_xmalloc(cap);
        sodium_bin2base64(password, cap, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(raw, sizeof raw);
    }
    char hash[crypto_pwhash_argon2id_STRBYTES];
    rc = hash_password(acc, password, hash, err);
    bool created = false;
    if (!rc) {
        /* Another process may have bootstrapped while we hashed: count again
         * inside the write transaction. */
        acc_lock(acc);
        rc = acc_exec(acc, SQL_BEGIN, "begin", err);
        if (!rc)
            rc = count_users(acc, SQL_USER_COUNT, &n, err);
        if (!rc && n == 0) {
            rc = insert_user(acc, CCAI_BOOTSTRAP_ADMIN, CCAI_ROLE_ADMIN, hash, NULL, err);
            created = rc == CCAI_OK;
        }
        if (!rc)
            rc = acc_exec(acc, SQL_COMMIT, "commit", err);
        if (rc) {
            acc_rollback(acc);
            created = false;
        }
        acc_unlock(acc);
    }
    sodium_memzero(hash, sizeof hash);
    if (created && !admin_password)
        *generated_password_out = password;
    else
        ccai_accounts_free_secret(password);
    if (rc)
        ccai_err_prefix(err, "bootstrap");
    return rc;
}

ccai_code ccai_accounts_user_create(ccai_accounts *acc, const char *name, const char *password,
                                    int role, ccai_user *out, ccai_err *err)
{
    ccai_code rc = ccai_accounts_name_valid(name, err);
    if (!rc && !ccai_role_name(role))
        rc = ccai_fail(err, CCAI_ERR_ARG, "role: expected %d (admin) or %d (user), found %d",
                       CCAI_ROLE_ADMIN, CCAI_ROLE_USER, role);
    if (!rc)
        rc = password_valid(password, err);
    if (rc)
        return rc;
    char hash[crypto_pwhash_argon2id_STRBYTES];
    /* Argon2 runs outside the lock: it takes tens of milliseconds. */
    rc = hash_password(acc, password, hash, err);
    if (!rc) {
        acc_lock(acc);
        rc = insert_user(acc, name, role, hash, out, err);
        acc_unlock(acc);
    }
    sodium_memzero(hash, sizeof hash);
    return rc;
}

ccai_code ccai_accounts_user_set_password(ccai_accounts *acc, const char *name,
                                          const char *password, ccai_err *err)
{
    ccai_code rc = ccai_accounts_name_valid(name, err);
    if (!rc)
        rc = password_valid(password, err);
    if (rc)
        return rc;
    char hash[crypto_pwhash_argon2id_STRBYTES];
    rc = hash_password(acc, password, hash, err);
    if (rc)
        return rc;
    ccai_user u;
    acc_lock(acc);
    rc = acc_exec(acc, SQL_BEGIN, "begin", err);
    if (!rc)
        rc = find_user(acc, name, &u, err);
    sqlite3_stmt *st = rc ? NULL : acc_stmt(acc, SQL_USER_SET_HASH, err);
    if (!rc && !st)
        rc = err ? err->code : CCAI_ERR_IO;
    if (!rc) {
        sqlite3_bind_int64(st, 1, u.id);
        sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
        int s = sqlite3_step(st);
        if (s != SQLITE_DONE)
            rc = acc_sql_fail(acc, err, "set password", s);
        acc_done(st);
    }
    /* A new password ends the browser sessions the old one opened. */
    st = rc ? NULL : acc_stmt(acc, SQL_SESSIONS_DELETE_USER, err);
    if (!rc && !st)
        rc = err ? err->code : CCAI_ERR_IO;
    if (!rc) {
        sqlite3_bind_int64(st, 1, u.id);
        int s = sqlite3_step(st);
        if (s != SQLITE_DONE)
            rc = acc_sql_fail(acc, err, "end sessions", s);
        acc_done(st);
    }
    if (!rc)
        rc = acc_exec(acc, SQL_COMMIT, "commit", err);
    if (rc)
        acc_rollback(acc);
    acc_unlock(acc);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

/* Runs one of the "DELETE ... WHERE <id> = ?1" statements; caller holds the lock. */
static ccai_code delete_by_user(ccai_accounts *acc, acc_sql which, int64_t id, ccai_err *err)
{
    sqlite3_stmt *st = acc_stmt(acc, which, err);
    if (!st)
        return err ? err->code : CCAI_ERR_IO;
    sqlite3_bind_int64(st, 1, id);
    int s = sqlite3_step(st);
    acc_done(st);
    return s == SQLITE_DONE ? CCAI_OK : acc_sql_fail(acc, err, "delete", s);
}

ccai_code ccai_accounts_user_delete(ccai_accounts *acc, const char *name, ccai_err *err)
{
    ccai_code rc = ccai_accounts_name_valid(name, err);
    if (rc)
        return rc;
    ccai_user u;
    int64_t admins = 0;
    acc_lock(acc);
    rc = acc_exec(acc, SQL_BEGIN, "begin", err);
    if (!rc)
        rc = find_user(acc, name, &u, err);
    if (!rc && u.role == CCAI_ROLE_ADMIN) {
        rc = count_users(acc, SQL_ADMIN_COUNT, &admins, err);
        if (!rc && admins <= 1)
            rc = ccai_fail(err, CCAI_ERR_STATE,
                           "user \"%s\": refusing to delete the last admin (expected at least "
                           "one other admin, found none)",
                           name);
    }
    /* Explicit deletes (not only ON DELETE CASCADE) so that every credential
     * goes in the same transaction whatever the foreign-key setting. */
    if (!rc)
        rc = delete_by_user(acc, SQL_SESSIONS_DELETE_USER, u.id, err);
    if (!rc)
        rc = delete_by_user(acc, SQL_KEYS_DELETE_USER, u.id, err);
    if (!rc)
        rc = delete_by_user(acc, SQL_USER_DELETE, u.id, err);
    if (!rc)
        rc = acc_exec(acc, SQL_COMMIT, "commit", err);
    if (rc)
        acc_rollback(acc);
    acc_unlock(acc);
    return rc;
}

ccai_code ccai_accounts_user_get(ccai_accounts *acc, const char *name, ccai_user *out,
                                 ccai_err *err)
{
    ccai_code rc = ccai_accounts_name_valid(name, err);
    if (rc)
        return rc;
    acc_lock(acc);
    rc = find_user(acc, name, out, err);
    acc_unlock(acc);
    return rc;
}

ccai_code ccai_accounts_user_list(ccai_accounts *acc, ccai_user_info **out, size_t *n,
                                  ccai_err *err)
{
    *out = NULL;
    *n = 0;
    acc_lock(acc);
    sqlite3_stmt *st = acc_stmt(acc, SQL_USER_LIST, err);
    ccai_code rc = st ? CCAI_OK : (err ? err->code : CCAI_ERR_IO);
    size_t cap = 0;
    int s = SQLITE_DONE;
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *out = ccai_xrealloc(*out, cap * sizeof **out);
        }
        ccai_user_info *ui = &(*out)[(*n)++];
        acc_read_user(st, 0, &ui->user);
        ui->created_at = sqlite3_column_int64(st, 3);
        ui->key_count = sqlite3_column_int64(st, 4);
    }
    if (!rc && s != SQLITE_DONE)
        rc = acc_sql_fail(acc, err, "list users", s);
    acc_done(st);
    acc_unlock(acc);
    if (rc) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

ccai_code ccai_accounts_check_password(ccai_accounts *acc, const char *name, const char *password,
                                       ccai_user *out, ccai_err *err)
{
    static const char invalid[] = "invalid user name or password";
    char hash[crypto_pwhash_argon2id_STRBYTES] = "";
    ccai_user u;
    memset(&u, 0, sizeof u);
    bool known = false;
    size_t pwlen = password ? strnlen(password, CCAI_PASSWORD_MAX + 1) : 0;
    /* A name that breaks the rules cannot exist: it is looked up nowhere and
     * answered exactly like an unknown one. */
    if (ccai_accounts_name_valid(name, NULL) == CCAI_OK && pwlen <= CCAI_PASSWORD_MAX) {
        acc_lock(acc);
        sqlite3_stmt *st = acc_stmt(acc, SQL_USER_AUTH, err);
        if (!st) {
            acc_unlock(acc);
            return err ? err->code : CCAI_ERR_IO;
        }
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        int s = sqlite3_step(st);
        const unsigned char *h = s == SQLITE_ROW ? sqlite3_column_text(st, 3) : NULL;
        if (h && (size_t)sqlite3_column_bytes(st, 3) < sizeof hash) {
            acc_read_user(st, 0, &u);
            memcpy(hash, h, (size_t)sqlite3_column_bytes(st, 3) + 1);
            known = true;
        }
        ccai_code rc = s == SQLITE_ROW || s == SQLITE_DONE
                           ? CCAI_OK
                           : acc_sql_fail(acc, err, "find user", s);
        acc_done(st);
        acc_unlock(acc);
        if (rc)
            return rc;
    }
    /* Exactly one Argon2id verification on every path: against the stored
     * hash, or against the dummy for a user that does not exist. */
    const char *pw = password ? password : "";
    size_t len = pwlen <= CCAI_PASSWORD_MAX ? pwlen : CCAI_PASSWORD_MAX;
    int v = crypto_pwhash_argon2id_str_verify(known ? hash : acc->dummy_hash, pw, len);
    if (!known || v != 0) {
        sodium_memzero(hash, sizeof hash);
        return ccai_fail(err, CCAI_ERR_VERIFY, "%s", invalid);
    }
    /* The cost was raised since this hash was made: upgrade it now that we
     * hold the password (best effort; the login succeeds anyway). */
    if (crypto_pwhash_argon2id_str_needs_rehash(hash, acc->opslimit, acc->memlimit) != 0) {
        char fresh[crypto_pwhash_argon2id_STRBYTES];
        if (hash_password(acc, pw, fresh, NULL) == CCAI_OK) {
            acc_lock(acc);
            sqlite3_stmt *st = acc_stmt(acc, SQL_USER_REHASH, NULL);
            if (st) {
                sqlite3_bind_int64(st, 1, u.id);
                sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, fresh, -1, SQLITE_STATIC);
                sqlite3_step(st);
                acc_done(st);
            }
            acc_unlock(acc);
        }
        sodium_memzero(fresh, sizeof fresh);
    }
    sodium_memzero(hash, sizeof hash);
    if (out)
        *out = u;
    return CCAI_OK;
}
