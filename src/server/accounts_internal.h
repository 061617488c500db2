/* Private to src/server/accounts*.c: the handle, the prepared-statement
 * cache and the locking and error helpers the two rooms share.
 *
 * Invariant: every use of acc->db (and of sqlite3_errmsg) happens between
 * acc_lock and acc_unlock; a statement from acc_stmt is reset and its
 * bindings cleared before the lock is released (acc_done), so no statement
 * holds a read transaction open or points at a caller's buffer afterwards. */
#ifndef CCAI_SERVER_ACCOUNTS_INTERNAL_H
#define CCAI_SERVER_ACCOUNTS_INTERNAL_H

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "server/accounts.h"

/* Every SQL statement the module runs; the texts are in accounts.c. */
typedef enum acc_sql {
    SQL_BEGIN,
    SQL_COMMIT,
    SQL_ROLLBACK,
    SQL_USER_COUNT,
    SQL_ADMIN_COUNT,
    SQL_USER_INSERT,
    SQL_USER_BY_NAME,
    SQL_USER_AUTH,
    SQL_USER_SET_HASH,
    SQL_USER_REHASH,
    SQL_USER_DELETE,
    SQL_USER_LIST,
    SQL_KEYS_DELETE_USER,
    SQL_SESSIONS_DELETE_USER,
    SQL_KEY_INSERT,
    SQL_KEY_BY_ID,
    SQL_KEY_TOUCH,
    SQL_KEY_LIST_ALL,
    SQL_KEY_LIST_USER,
    SQL_KEY_DELETE_ANY,
    SQL_KEY_DELETE_OWN,
    SQL_SESSION_INSERT,
    SQL_SESSION_BY_HASH,
    SQL_SESSION_DELETE,
    SQL_SESSION_PURGE,
    SQL_COUNT_
} acc_sql;

struct ccai_accounts {
    sqlite3 *db;
    pthread_mutex_t mu;
    sqlite3_stmt *stmts[SQL_COUNT_];
    /* Argon2id cost (INTERACTIVE unless a test lowered it) */
    unsigned long long opslimit;
    size_t memlimit;
    /* A hash of a random password nobody knows, verified for unknown users
     * so that they cost the same time as a wrong password. */
    char dummy_hash[crypto_pwhash_argon2id_STRBYTES];
};

/* Creates or opens the database file at path (mode 0600), configures the
 * connection (WAL, busy timeout, foreign keys, secure delete) and migrates
 * the schema. acc_db_close finalizes the statements and closes it. */
ccai_code acc_db_open(ccai_accounts *acc, const char *path, ccai_err *err);
void acc_db_close(ccai_accounts *acc);

void acc_lock(ccai_accounts *acc);
void acc_unlock(ccai_accounts *acc);

/* The cached statement for id, prepared on first use; NULL with *err set. */
sqlite3_stmt *acc_stmt(ccai_accounts *acc, acc_sql id, ccai_err *err);
/* Resets st and clears its bindings (NULL is fine). */
void acc_done(sqlite3_stmt *st);

/* Runs a statement that takes no parameters and returns no rows. */
ccai_code acc_exec(ccai_accounts *acc, acc_sql id, const char *what, ccai_err *err);
/* ROLLBACK after a failure, keeping the first error. */
void acc_rollback(ccai_accounts *acc);

/* Turns SQLite's last error into a ccai error naming what was being done:
 * BUSY/LOCKED become CCAI_ERR_BUSY, the rest CCAI_ERR_IO. */
ccai_code acc_sql_fail(ccai_accounts *acc, ccai_err *err, const char *what, int rc);

/* Copies a user row's columns (id, name, role) starting at column col. */
void acc_read_user(sqlite3_stmt *st, int col, ccai_user *out);

/* Fills out[n] (n >= 43 + 1) with base64url of 32 fresh random bytes. */
void acc_random_token(char out[CCAI_SESSION_TOKEN_LEN + 1]);

/* True when s[0..n) is all base64url characters. */
bool acc_is_b64url(const char *s, size_t n);

#endif
