/* Accounts, the database: the file <state_dir>/accounts.db (owner-only
 * mode), the connection's settings, the versioned schema and its migrations,
 * and the cache of prepared statements every query goes through (all SQL
 * text lives here; every value is bound, never formatted into SQL). The
 * helpers are shared with accounts.c and accounts_tokens.c through
 * accounts_internal.h. Design: docs/accounts.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"
#include "server/accounts_internal.h"

enum { BUSY_TIMEOUT_MS = 5000 };

/* Schema history. Never edit an entry that has shipped: append a new one.
 * Each runs once, inside the transaction that records its version. */
static const struct {
    int version;
    const char *sql;
} migrations[] = {
    {1, "CREATE TABLE users("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  role INTEGER NOT NULL CHECK (role IN (1, 2)),"
        "  pw_hash TEXT NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL);"
        "CREATE TABLE api_keys("
        "  id INTEGER PRIMARY KEY,"
        "  public_id TEXT NOT NULL UNIQUE,"
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  label TEXT NOT NULL,"
        "  key_hash BLOB NOT NULL CHECK (length(key_hash) = 32),"
        "  created_at INTEGER NOT NULL,"
        "  last_used_at INTEGER);"
        "CREATE INDEX api_keys_user ON api_keys(user_id);"
        "CREATE TABLE sessions("
        "  token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),"
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  created_at INTEGER NOT NULL,"
        "  expires_at INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE INDEX sessions_user ON sessions(user_id);"
        "CREATE INDEX sessions_expiry ON sessions(expires_at);"},
    /* A deleted user's id is never given again: things kept by owner id (a
     * worker's cached prompt prefix, access-log lines) must not pass to a
     * new user. The highest id ever deleted is kept here; SQL_USER_INSERT
     * takes the next id above it and above every live one. */
    {2, "CREATE TABLE retired_user_ids(last INTEGER NOT NULL);"
        "INSERT INTO retired_user_ids VALUES (0);"
        "CREATE TRIGGER users_retire_id AFTER DELETE ON users BEGIN"
        "  UPDATE retired_user_ids SET last = max(last, OLD.id);"
        "END;"},
};

static const char *const sql_text[SQL_COUNT_] = {
    [SQL_BEGIN] = "BEGIN IMMEDIATE",
    [SQL_COMMIT] = "COMMIT",
    [SQL_ROLLBACK] = "ROLLBACK",
    [SQL_USER_COUNT] = "SELECT count(*) FROM users",
    [SQL_ADMIN_COUNT] = "SELECT count(*) FROM users WHERE role = 1",
    [SQL_USER_INSERT] = "INSERT INTO users(id, name, role, pw_hash, created_at, updated_at)"
                        " VALUES (max(coalesce((SELECT max(id) FROM users), 0),"
                        " (SELECT last FROM retired_user_ids)) + 1, ?1, ?2, ?3, ?4, ?4)",
    [SQL_USER_BY_NAME] = "SELECT id, name, role FROM users WHERE name = ?1",
    [SQL_USER_AUTH] = "SELECT id, name, role, pw_hash FROM users WHERE name = ?1",
    [SQL_USER_SET_HASH] = "UPDATE users SET pw_hash = ?2, updated_at = ?3 WHERE id = ?1",
    [SQL_USER_REHASH] = "UPDATE users SET pw_hash = ?3 WHERE id = ?1 AND pw_hash = ?2",
    [SQL_USER_DELETE] = "DELETE FROM users WHERE id = ?1",
    [SQL_USER_LIST] = "SELECT u.id, u.name, u.role, u.created_at,"
                      " (SELECT count(*) FROM api_keys k WHERE k.user_id = u.id)"
                      " FROM users u ORDER BY u.name",
    [SQL_KEYS_DELETE_USER] = "DELETE FROM api_keys WHERE user_id = ?1",
    [SQL_SESSIONS_DELETE_USER] = "DELETE FROM sessions WHERE user_id = ?1",
    /* Inserting through a SELECT makes a vanished owner a no-op (changes()
     * == 0) even if foreign keys were off. */
    [SQL_KEY_INSERT] = "INSERT INTO api_keys(public_id, user_id, label, key_hash, created_at)"
                       " SELECT ?1, id, ?3, ?4, ?5 FROM users WHERE id = ?2",
    [SQL_KEY_BY_ID] = "SELECT k.id, k.key_hash, u.id, u.name, u.role"
                      " FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.public_id = ?1",
    /* last_used_at is coarse (a minute) so that a busy key does not turn
     * every API call into a database write. */
    [SQL_KEY_TOUCH] = "UPDATE api_keys SET last_used_at = ?2"
                      " WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?2 - 60)",
    [SQL_KEY_LIST_ALL] = "SELECT k.public_id, u.id, u.name, k.label, k.created_at,"
                         " coalesce(k.last_used_at, 0)"
                         " FROM api_keys k JOIN users u ON u.id = k.user_id"
                         " ORDER BY u.name, k.created_at, k.id",
    [SQL_KEY_LIST_USER] = "SELECT k.public_id, u.id, u.name, k.label, k.created_at,"
                          " coalesce(k.last_used_at, 0)"
                          " FROM api_keys k JOIN users u ON u.id = k.user_id"
                          " WHERE k.user_id = ?1 ORDER BY k.created_at, k.id",
    [SQL_KEY_DELETE_ANY] = "DELETE FROM api_keys WHERE public_id = ?1",
    [SQL_KEY_DELETE_OWN] = "DELETE FROM api_keys WHERE public_id = ?1 AND user_id = ?2",
    [SQL_SESSION_INSERT] = "INSERT INTO sessions(token_hash, user_id, created_at, expires_at)"
                           " SELECT ?1, id, ?3, ?4 FROM users WHERE id = ?2",
    [SQL_SESSION_BY_HASH] = "SELECT s.token_hash, s.expires_at, u.id, u.name, u.role"
                            " FROM sessions s JOIN users u ON u.id = s.user_id"
                            " WHERE s.token_hash = ?1",
    [SQL_SESSION_DELETE] = "DELETE FROM sessions WHERE token_hash = ?1",
    [SQL_SESSION_PURGE] = "DELETE FROM sessions WHERE expires_at <= ?1",
};

/* ---- shared helpers (accounts_internal.h) ---- */

void acc_lock(ccai_accounts *acc)
{
    pthread_mutex_lock(&acc->mu);
}

void acc_unlock(ccai_accounts *acc)
{
    pthread_mutex_unlock(&acc->mu);
}

ccai_code acc_sql_fail(ccai_accounts *acc, ccai_err *err, const char *what, int rc)
{
    int primary = rc & 0xff;
    ccai_code code = primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? CCAI_ERR_BUSY
                                                                        : CCAI_ERR_IO;
    return ccai_fail(err, code, "accounts.db: %s: %s (sqlite code %d)", what,
                     acc->db ? sqlite3_errmsg(acc->db) : sqlite3_errstr(rc), rc);
}

sqlite3_stmt *acc_stmt(ccai_accounts *acc, acc_sql id, ccai_err *err)
{
    if (!acc->stmts[id]) {
        int rc = sqlite3_prepare_v3(acc->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &acc->stmts[id], NULL);
        if (rc != SQLITE_OK) {
            acc_sql_fail(acc, err, "prepare", rc);
            acc->stmts[id] = NULL;
            return NULL;
        }
    }
    return acc->stmts[id];
}

void acc_done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

ccai_code acc_exec(ccai_accounts *acc, acc_sql id, const char *what, ccai_err *err)
{
    sqlite3_stmt *st = acc_stmt(acc, id, err);
    if (!st)
        return err ? err->code : CCAI_ERR_IO;
    int rc = sqlite3_step(st);
    ccai_code out = rc == SQLITE_DONE ? CCAI_OK : acc_sql_fail(acc, err, what, rc);
    acc_done(st);
    return out;
}

void acc_rollback(ccai_accounts *acc)
{
    if (!sqlite3_get_autocommit(acc->db))
        acc_exec(acc, SQL_ROLLBACK, "rollback", NULL);
}

void acc_read_user(sqlite3_stmt *st, int col, ccai_user *out)
{
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(st, col);
    const unsigned char *name = sqlite3_column_text(st, col + 1);
    if (name)
        snprintf(out->name, sizeof out->name, "%s", (const char *)name);
    out->role = sqlite3_column_int(st, col + 2);
}

void acc_random_token(char out[CCAI_SESSION_TOKEN_LEN + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    /* sodium encodes straight into the caller's buffer: no heap copy of the
     * secret is left behind. */
    sodium_bin2base64(out, CCAI_SESSION_TOKEN_LEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

bool acc_is_b64url(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* ---- opening ---- */

/* The database and its WAL companions hold password hashes: owner only.
 * Creating the file ourselves (SQLite would use 0644 minus umask) makes the
 * mode right from the first byte; SQLite gives -wal and -shm the same mode. */
static ccai_code prepare_db_file(const char *path, ccai_err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return ccai_fail(err, CCAI_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    ccai_code rc = CCAI_OK;
    if (fstat(fd, &st) != 0)
        rc = ccai_fail(err, CCAI_ERR_IO, "%s: stat: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = ccai_fail(err, CCAI_ERR_STATE, "%s: expected a regular file", path);
    else if ((st.st_mode & 0777) != 0600 && fchmod(fd, 0600) != 0)
        rc = ccai_fail(err, CCAI_ERR_IO, "%s: chmod 0600: %s", path, strerror(errno));
    close(fd);
    for (int i = 0; rc == CCAI_OK && i < 2; i++) {
        char *side = ccai_xasprintf("%s%s", path, i ? "-shm" : "-wal");
        if (lstat(side, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) &&
            chmod(side, 0600) != 0)
            rc = ccai_fail(err, CCAI_ERR_IO, "%s: chmod 0600: %s", side, strerror(errno));
        free(side);
    }
    return rc;
}

static ccai_code configure(ccai_accounts *acc, ccai_err *err)
{
    sqlite3 *db = acc->db;
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    /* Hardening: no writes to the schema through SQL tricks, no functions
     * with side effects called from schema objects. */
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    /* secure_delete: a revoked key's hash or an old password hash is
     * overwritten on disk, not left in a free page. */
    int rc = sqlite3_exec(db,
                          "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
                          " PRAGMA synchronous = FULL;",
                          NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return acc_sql_fail(acc, err, "pragmas", rc);
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return acc_sql_fail(acc, err, "journal mode", rc);
    rc = sqlite3_step(st);
    char mode[16] = "";
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return acc_sql_fail(acc, err, "journal mode", rc);
    if (strcmp(mode, "wal") != 0)
        return ccai_fail(err, CCAI_ERR_IO, "accounts.db: journal mode: expected wal, found %s",
                         mode);
    return CCAI_OK;
}

static int64_t query_int(ccai_accounts *acc, const char *sql, int *rc)
{
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    *rc = sqlite3_prepare_v2(acc->db, sql, -1, &st, NULL);
    if (*rc == SQLITE_OK) {
        *rc = sqlite3_step(st);
        if (*rc == SQLITE_ROW) {
            v = sqlite3_column_int64(st, 0);
            *rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return v;
}

/* Brings the schema to the newest version this binary knows, each step in
 * the same transaction as its row in schema_migrations, so two processes
 * starting at once cannot both apply it. */
static ccai_code migrate(ccai_accounts *acc, ccai_err *err)
{
    const int latest = migrations[sizeof migrations / sizeof migrations[0] - 1].version;
    ccai_code out = acc_exec(acc, SQL_BEGIN, "begin migration", err);
    if (out)
        return out;
    int rc = sqlite3_exec(acc->db,
                          "CREATE TABLE IF NOT EXISTS schema_migrations("
                          " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
                          NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        out = acc_sql_fail(acc, err, "create schema_migrations", rc);
        goto fail;
    }
    int64_t have = query_int(acc, "SELECT coalesce(max(version), 0) FROM schema_migrations", &rc);
    if (rc != SQLITE_OK) {
        out = acc_sql_fail(acc, err, "read schema version", rc);
        goto fail;
    }
    if (have > latest) {
        out = ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                        "accounts.db: schema version %lld is newer than this ccai supports (%d)",
                        (long long)have, latest);
        goto fail;
    }
    for (size_t i = 0; i < sizeof migrations / sizeof migrations[0]; i++) {
        if (migrations[i].version <= have)
            continue;
        rc = sqlite3_exec(acc->db, migrations[i].sql, NULL, NULL, NULL);
        sqlite3_stmt *st = NULL;
        if (rc == SQLITE_OK)
            rc = sqlite3_prepare_v2(acc->db,
                                    "INSERT INTO schema_migrations(version, applied_at)"
                                    " VALUES (?1, ?2)",
                                    -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_int(st, 1, migrations[i].version);
            sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
            rc = sqlite3_step(st);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_OK) {
            char what[64];
            snprintf(what, sizeof what, "schema migration %d", migrations[i].version);
            out = acc_sql_fail(acc, err, what, rc);
            goto fail;
        }
    }
    out = acc_exec(acc, SQL_COMMIT, "commit migration", err);
    if (out == CCAI_OK)
        return CCAI_OK;
fail:
    acc_rollback(acc);
    return out;
}

ccai_code acc_db_open(ccai_accounts *acc, const char *path, ccai_err *err)
{
    ccai_code rc = prepare_db_file(path, err);
    if (rc)
        return rc;
    /* NOMUTEX: acc->mu already serializes every use of the connection, and
     * must, because our transactions span several statements. */
    int src = sqlite3_open_v2(path, &acc->db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                              NULL);
    if (src != SQLITE_OK)
        rc = ccai_fail(err, CCAI_ERR_IO, "%s: open: %s", path, sqlite3_errstr(src));
    if (!rc)
        rc = configure(acc, err);
    if (!rc)
        rc = migrate(acc, err);
    return rc;
}

void acc_db_close(ccai_accounts *acc)
{
    for (int i = 0; i < SQL_COUNT_; i++) {
        sqlite3_finalize(acc->stmts[i]);
        acc->stmts[i] = NULL;
    }
    sqlite3_close(acc->db);
    acc->db = NULL;
}
