/* Tests for src/server/accounts*.c: the first-start admin, the database file
 * (mode, schema version, persistence), passwords (Argon2id, one error for
 * every failure, dummy work for unknown users, rehash on login), API keys
 * (create, check, list, revoke, who may revoke what), sessions (expiry with
 * an injected clock, logout, purge), user deletion killing every credential,
 * hostile names and labels, the HTTP helpers, that no plaintext secret
 * reaches the disk, and four threads sharing one handle. */
#include "testutil.h"

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/mem.h"
#include "server/accounts.h"

#define ADMIN_PW "correct horse battery staple"

typedef struct fixture {
    char *dir;
    ccai_accounts *acc;
    ccai_user admin;
} fixture;

static int setup(void **state)
{
    fixture *f = ccai_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    ccai_err err = {0};
    assert_int_equal(ccai_accounts_open(f->dir, &f->acc, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_bootstrap(f->acc, ADMIN_PW, NULL, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_user_get(f->acc, "admin", &f->admin, &err), CCAI_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ccai_accounts_close(f->acc);
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static ccai_user make_user(ccai_accounts *acc, const char *name, int role)
{
    ccai_user u;
    ccai_err err = {0};
    assert_int_equal(ccai_accounts_user_create(acc, name, "pw-" ADMIN_PW, role, &u, &err), CCAI_OK);
    assert_true(u.id > 0);
    assert_string_equal(u.name, name);
    assert_int_equal(u.role, role);
    return u;
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    ccai_buf b = {0};
    char chunk[65536];
    for (size_t n; (n = fread(chunk, 1, sizeof chunk, fp)) > 0;)
        ccai_buf_append(&b, chunk, n);
    fclose(fp);
    bool found = b.len && memmem(b.data, b.len, needle, strlen(needle)) != NULL;
    ccai_buf_free(&b);
    return found;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- bootstrap and the file ---- */

static void test_bootstrap_generates_once(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *sub = ccai_xasprintf("%s/state", dir);
    ccai_accounts *acc = NULL;
    ccai_err err = {0};
    assert_int_equal(ccai_accounts_open(sub, &acc, &err), CCAI_OK);

    char *pw = NULL;
    assert_int_equal(ccai_accounts_bootstrap(acc, NULL, &pw, &err), CCAI_OK);
    assert_non_null(pw);
    assert_true(strlen(pw) >= 20);
    ccai_user u;
    assert_int_equal(ccai_accounts_check_password(acc, "admin", pw, &u, &err), CCAI_OK);
    assert_string_equal(u.name, "admin");
    assert_int_equal(u.role, CCAI_ROLE_ADMIN);

    /* Second start: nothing happens, nothing is generated, the password stays. */
    char *pw2 = (char *)"sentinel";
    assert_int_equal(ccai_accounts_bootstrap(acc, NULL, &pw2, &err), CCAI_OK);
    assert_null(pw2);
    assert_int_equal(ccai_accounts_bootstrap(acc, "another password", NULL, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_check_password(acc, "admin", pw, &u, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_check_password(acc, "admin", "another password", &u, &err),
                     CCAI_ERR_VERIFY);
    ccai_user_info *list = NULL;
    size_t n = 0;
    assert_int_equal(ccai_accounts_user_list(acc, &list, &n, &err), CCAI_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].user.name, "admin");
    free(list);
    ccai_accounts_free_secret(pw);

    /* File modes: the state directory and the database are owner-only. */
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char *db = ccai_xasprintf("%s/accounts.db", sub);
    assert_int_equal(stat(db, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *wal = ccai_xasprintf("%s-wal", db);
    assert_int_equal(stat(wal, &st), 0); /* WAL journal in use */
    assert_int_equal(st.st_mode & 0777, 0600);
    ccai_accounts_close(acc);
    free(wal);
    free(db);
    free(sub);
    tu_rm_rf(dir);
    free(dir);
}

static void test_bootstrap_arguments(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    ccai_accounts *acc = NULL;
    ccai_err err = {0};
    assert_int_equal(ccai_accounts_open(dir, &acc, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_bootstrap(acc, NULL, NULL, &err), CCAI_ERR_ARG);
    assert_int_equal(ccai_accounts_bootstrap(acc, "short", NULL, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "admin: password: expected 8..1024 bytes, found 5");
    char *pw = NULL;
    assert_int_equal(ccai_accounts_bootstrap(acc, ADMIN_PW, &pw, &err), CCAI_OK);
    assert_null(pw); /* given, not generated */
    assert_int_equal(ccai_accounts_check_password(acc, "admin", ADMIN_PW, NULL, &err), CCAI_OK);
    ccai_accounts_close(acc);

    /* A wider mode left by someone else is narrowed on open. */
    char *db = ccai_xasprintf("%s/accounts.db", dir);
    assert_int_equal(chmod(db, 0644), 0);
    assert_int_equal(ccai_accounts_open(dir, &acc, &err), CCAI_OK);
    struct stat st;
    assert_int_equal(stat(db, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    ccai_accounts_close(acc);
    free(db);
    tu_rm_rf(dir);
    free(dir);
}

static void test_reopen_persists_and_schema_version(void **state)
{
    fixture *f = *state;
    ccai_err err = {0};
    ccai_user bob = make_user(f->acc, "bob", CCAI_ROLE_USER);
    char *key = NULL, *tok = NULL;
    assert_int_equal(ccai_accounts_key_create(f->acc, &bob, "laptop", &key, NULL, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_session_create(f->acc, &bob, 3600, &tok, &err), CCAI_OK);
    ccai_accounts_close(f->acc);
    f->acc = NULL;

    assert_int_equal(ccai_accounts_open(f->dir, &f->acc, &err), CCAI_OK);
    ccai_user u;
    assert_int_equal(ccai_accounts_check_password(f->acc, "bob", "pw-" ADMIN_PW, &u, &err),
                     CCAI_OK);
    assert_int_equal(u.id, bob.id);
    assert_int_equal(ccai_accounts_key_check(f->acc, key, &u, &err), CCAI_OK);
    assert_string_equal(u.name, "bob");
    assert_int_equal(ccai_accounts_session_check(f->acc, tok, time(NULL), &u, &err), CCAI_OK);
    assert_int_equal(u.role, CCAI_ROLE_USER);
    char *pw = NULL;
    assert_int_equal(ccai_accounts_bootstrap(f->acc, NULL, &pw, &err), CCAI_OK);
    assert_null(pw);
    ccai_accounts_close(f->acc);
    f->acc = NULL;

    /* The migrations table records versions 1 and 2; a newer schema is refused. */
    char *db = ccai_xasprintf("%s/accounts.db", f->dir);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT group_concat(version) FROM schema_migrations",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "1,2");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_exec(h, "INSERT INTO schema_migrations VALUES (99, 0)", NULL, NULL,
                                  NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(ccai_accounts_open(f->dir, &f->acc, &err), CCAI_ERR_UNSUPPORTED);
    assert_null(f->acc);
    assert_string_equal(err.msg,
                        "accounts.db: schema version 99 is newer than this ccai supports (2)");
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "DELETE FROM schema_migrations WHERE version = 99", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(ccai_accounts_open(f->dir, &f->acc, &err), CCAI_OK);
    free(db);
    ccai_accounts_free_secret(key);
    ccai_accounts_free_secret(tok);
}

/* ---- passwords ---- */

static void test_password_failures_look_alike(void **state)
{
    fixture *f = *state;
    ccai_err err = {0};
    make_user(f->acc, "alice", CCAI_ROLE_USER);
    ccai_user u;
    assert_int_equal(ccai_accounts_check_password(f->acc, "alice", "pw-" ADMIN_PW, &u, &err),
                     CCAI_OK);
    assert_string_equal(u.name, "alice");
    assert_int_equal(u.role, CCAI_ROLE_USER);

    const char *bad[][2] = {
        {"alice", "wrong password"},     /* wrong password */
        {"mallory", "pw-" ADMIN_PW},     /* unknown user */
        {"Alice", "pw-" ADMIN_PW},       /* breaks the name rules */
        {"alice", ""},                   /* empty password */
        {"", "pw-" ADMIN_PW},            /* empty name */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ccai_err_clear(&err);
        assert_int_equal(ccai_accounts_check_password(f->acc, bad[i][0], bad[i][1], &u, &err),
                         CCAI_ERR_VERIFY);
        assert_string_equal(err.msg, "invalid user name or password");
    }
    assert_int_equal(ccai_accounts_check_password(f->acc, NULL, NULL, &u, &err), CCAI_ERR_VERIFY);

    /* An unknown user costs one Argon2id verification, like a wrong password
     * (a generous bound: the point is that it is not ~free). */
    double t0 = now_ms();
    for (int i = 0; i < 3; i++)
        ccai_accounts_check_password(f->acc, "alice", "wrong password", NULL, NULL);
    double t_wrong = now_ms() - t0;
    t0 = now_ms();
    for (int i = 0; i < 3; i++)
        ccai_accounts_check_password(f->acc, "nobody-at-all", "wrong password", NULL, NULL);
    double t_unknown = now_ms() - t0;
    assert_true(t_unknown > 0.4 * t_wrong);
}

static char *stored_hash(const char *dir, const char *name)
{
    char *db = ccai_xasprintf("%s/accounts.db", dir);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT pw_hash FROM users WHERE name = ?1", -1, &st,
                                        NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char *out = ccai_xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(h);
    free(db);
    return out;
}

static void test_no_plaintext_on_disk(void **state)
{
    fixture *f = *state;
    ccai_err err = {0};
    static const char pw[] = "Zebra-Quartz-9471-unique";
    ccai_user carl;
    assert_int_equal(ccai_accounts_user_create(f->acc, "carl", pw, CCAI_ROLE_USER, &carl, &err),
                     CCAI_OK);
    char *key = NULL, *tok = NULL;
    assert_int_equal(ccai_accounts_key_create(f->acc, &carl, "ci", &key, NULL, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_session_create(f->acc, &carl, 600, &tok, &err), CCAI_OK);

    char *hash = stored_hash(f->dir, "carl");
    assert_memory_equal(hash, "$argon2id$", 10);
    assert_non_null(strstr(hash, "m=65536,t=2,p=1")); /* INTERACTIVE limits */
    free(hash);

    char *db = ccai_xasprintf("%s/accounts.db", f->dir);
    char *wal = ccai_xasprintf("%s-wal", db);
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: live (the data still in the WAL); pass 1: closed and checkpointed */
        for (int i = 0; i < 2; i++) {
            const char *path = i ? wal : db;
            assert_false(file_contains(path, pw));
            assert_false(file_contains(path, key));
            assert_false(file_contains(path, key + 13)); /* the secret part alone */
            assert_false(file_contains(path, tok));
            assert_false(file_contains(path, ADMIN_PW));
        }
        if (pass == 0) {
            ccai_accounts_close(f->acc);
            f->acc = NULL;
        }
    }
    assert_true(file_contains(db, "carl")); /* the scan does see the data */
    assert_int_equal(ccai_accounts_open(f->dir, &f->acc, &err), CCAI_OK);
    free(wal);
    free(db);
    ccai_accounts_free_secret(key);
    ccai_accounts_free_secret(tok);
}

static void test_set_password_and_rehash(void **state)
{
    fixture *f = *state;
    ccai_err err = {0};
    ccai_user dan = make_user(f->acc, "dan", CCAI_ROLE_USER);
    char *key = NULL, *tok = NULL;
    assert_int_equal(ccai_accounts_key_create(f->acc, &dan, NULL, &key, NULL, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_session_create(f->acc, &dan, 600, &tok, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_user_set_password(f->acc, "dan", "new password!", &err),
                     CCAI_OK);
    assert_int_equal(ccai_accounts_check_password(f->acc, "dan", "pw-" ADMIN_PW, NULL, &err),
                     CCAI_ERR_VERIFY);
    assert_int_equal(ccai_accounts_check_password(f->acc, "dan", "new password!", NULL, &err),
                     CCAI_OK);
    /* The browser session ended; the API key did not. */
    assert_int_equal(ccai_accounts_session_check(f->acc, tok, time(NULL), NULL, &err),
                     CCAI_ERR_VERIFY);
    assert_int_equal(ccai_accounts_key_check(f->acc, key, NULL, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_user_set_password(f->acc, "nobody", "new password!", &err),
                     CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_accounts_user_set_password(f->acc, "dan", "short", &err), CCAI_ERR_ARG);

    /* A hash made with a lower cost is upgraded at the next login. */
    char weak[crypto_pwhash_argon2id_STRBYTES];
    assert_int_equal(crypto_pwhash_argon2id_str(weak, "old-cost password", 17,
                                                crypto_pwhash_argon2id_OPSLIMIT_MIN,
                                                crypto_pwhash_argon2id_MEMLIMIT_MIN),
                     0);
    char *db = ccai_xasprintf("%s/accounts.db", f->dir);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, "UPDATE users SET pw_hash = ?1 WHERE name = 'dan'", -1,
                                        &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, weak, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(h);
    assert_int_equal(ccai_accounts_check_password(f->acc, "dan", "old-cost password", NULL, &err),
                     CCAI_OK);
    char *hash = stored_hash(f->dir, "dan");
    assert_string_not_equal(hash, weak);
    assert_int_equal(crypto_pwhash_argon2id_str_needs_rehash(
                         hash, crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
                         crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE),
                     0);
    assert_int_equal(ccai_accounts_check_password(f->acc, "dan", "old-cost password", NULL, &err),
                     CCAI_OK);
    free(hash);
    free(db);
    ccai_accounts_free_secret(key);
    ccai_accounts_free_secret(tok);
}

/* ---- API keys ---- */

static void test_key_lifecycle(void **state)
{
    fixture *f = *state;
    ccai_err err = {0};
    ccai_user eve = make_user(f->acc, "eve", CCAI_ROLE_USER);
    char *key = NULL;
    char id[CCAI_KEY_ID_LEN + 1];
    assert_int_equal(ccai_accounts_key_create(f->acc, &eve, "my laptop", &key, id, &err), CCAI_OK);
    assert_int_equal(strlen(key), CCAI_KEY_LEN);
    assert_memory_equal(key, "ccai_", 5);
    assert_memory_equal(id, key, CCAI_KEY_ID_LEN);
    assert_int_equal(strlen(id), CCAI_KEY_ID_LEN);

    ccai_user u;
    assert_int_equal(ccai_accounts_key_check(f->acc, key, &u, &err), CCAI_OK);
    assert_int_equal(u.id, eve.id);
    assert_string_equal(u.name, "eve");
    assert_int_equal(u.role, CCAI_ROLE_USER);

    ccai_key_info *keys = NULL;
    size_t n = 0;
    assert_int_equal(ccai_accounts_key_list(f->acc, &eve, &keys, &n, &err), CCAI_OK);
    assert_int_equal(n, 1);
    assert_string_equal(keys[0].id, id);
    assert_string_equal(keys[0].label, "my laptop");
    assert_string_equal(keys[0].user_name, "eve");
    assert_true(keys[0].created_at > 0);
    assert_true(keys[0].last_used_at >= keys[0].created_at); /* the check above recorded it */
    free(keys);

    /* One changed character, a wrong prefix, a wrong length: all refused. */
    char *bad = ccai_xstrdup(key);
    bad[CCAI_KEY_LEN - 1] = bad[CCAI_KEY_LEN - 1] == 'A' ? 'B' : 'A';
    assert_int_equal(ccai_accounts_key_check(f->acc, bad, &u, &err), CCAI_ERR_VERIFY);
    assert_string_equal(err.msg, "invalid API key");
    bad[0] = 'x';
    assert_int_equal(ccai_accounts_key_check(f->acc, bad, &u, &err), CCAI_ERR_VERIFY);
    assert_int_equal(ccai_accounts_key_check(f->acc, "ccai_short", &u, &err), CCAI_ERR_VERIFY);
    assert_string_equal(err.msg,
                        "invalid API key (expected \"ccai_\" and 43 base64url characters)");
    assert_int_equal(ccai_accounts_key_check(f->acc, NULL, &u, &err), CCAI_ERR_VERIFY);
    ccai_accounts_free_secret(bad);

    assert_int_equal(ccai_accounts_key_revoke(f->acc, &eve, id, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_key_check(f->acc, key, &u, &err), CCAI_ERR_VERIFY);
    assert_int_equal(ccai_accounts_key_revoke(f->acc, &eve, id, &err), CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_accounts_key_revoke(f->acc, &eve, "nonsense", &err), CCAI_ERR_ARG);
    assert_int_equal(ccai_accounts_key_list(f->acc, &eve, &keys, &n, &err), CCAI_OK);
    assert_int_equal(n, 0);
    free(keys);
    ccai_accounts_free_secret(key);

    /* Labels: printable ASCII up to 128 bytes. */
    assert_int_equal(ccai_accounts_key_create(f->acc, &eve, "tab\there", &key, NULL, &err),
                     CCAI_ERR_ARG);
    assert_string_equal(err.msg,
                        "key label: expected printable ASCII, found byte 0x09 at offset 3");
    assert_null(key);
    ccai_user ghost = {.id = 9999, .name = "ghost", .role = CCAI_ROLE_USER};
    assert_int_equal(ccai_accounts_key_create(f->acc, &ghost, "x", &key, NULL, &err),
                     CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_accounts_key_create(f->acc, NULL, "x", &key, NULL, &err), CCAI_ERR_ARG);
}

static void test_key_revoke_permissions(void **state)
{
    fixture *f = *state;
    ccai_err err = {0};
    ccai_user bob = make_user(f->acc, "bob", CCAI_ROLE_USER);
    ccai_user carol = make_user(f->acc, "carol", CCAI_ROLE_USER);
    char *bkey = NULL, *ckey = NULL;
    char bid[CCAI_KEY_ID_LEN + 1], cid[CCAI_KEY_ID_LEN + 1];
    assert_int_equal(ccai_accounts_key_create(f->acc, &bob, "b", &bkey, bid, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_key_create(f->acc, &carol, "c", &ckey, cid, &err), CCAI_OK);

    /* Carol cannot revoke (or even see) Bob's key: it reads as absent. */
    assert_int_equal(ccai_accounts_key_revoke(f->acc, &carol, bid, &err), CCAI_ERR_NOT_FOUND);
    char *expect = ccai_xasprintf("API key %s: no such key", bid);
    assert_string_equal(err.msg, expect);
    free(expect);
    assert_int_equal(ccai_accounts_key_check(f->acc, bkey, NULL, &err), CCAI_OK);
    ccai_key_info *keys = NULL;
    size_t n = 0;
    assert_int_equal(ccai_accounts_key_list(f->acc, &carol, &keys, &n, &err), CCAI_OK);
    assert_int_equal(n, 1);
    assert_string_equal(keys[0].id, cid);
    free(keys);

    /* The admin sees and may revoke every key. */
    assert_int_equal(ccai_accounts_key_list(f->acc, &f->admin, &keys, &n, &err), CCAI_OK);
    assert_int_equal(n, 2);
    assert_string_equal(keys[0].user_name, "bob"); /* ordered by owner */
    assert_string_equal(keys[1].user_name, "carol");
    free(keys);
    assert_int_equal(ccai_accounts_key_revoke(f->acc, &f->admin, bid, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_key_check(f->acc, bkey, NULL, &err), CCAI_ERR_VERIFY);
    /* ...and a user their own. */
    assert_int_equal(ccai_accounts_key_revoke(f->acc, &carol, cid, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_key_check(f->acc, ckey, NULL, &err), CCAI_ERR_VERIFY);
    assert_int_equal(ccai_accounts_key_revoke(f->acc, NULL, cid, &err), CCAI_ERR_ARG);
    ccai_accounts_free_secret(bkey);
    ccai_accounts_free_secret(ckey);
}

static void test_user_delete_kills_credentials(void **state)
{
    fixture *f = *state;
    ccai_err err = {0};
    ccai_user dave = make_user(f->acc, "dave", CCAI_ROLE_USER);
    char *key = NULL, *tok = NULL;
    assert_int_equal(ccai_accounts_key_create(f->acc, &dave, "k", &key, NULL, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_session_create(f->acc, &dave, 600, &tok, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_user_delete(f->acc, "dave", &err), CCAI_OK);
    assert_int_equal(ccai_accounts_key_check(f->acc, key, NULL, &err), CCAI_ERR_VERIFY);
    assert_int_equal(ccai_accounts_session_check(f->acc, tok, time(NULL), NULL, &err),
                     CCAI_ERR_VERIFY);
    assert_int_equal(ccai_accounts_check_password(f->acc, "dave", "pw-" ADMIN_PW, NULL, &err),
                     CCAI_ERR_VERIFY);
    assert_int_equal(ccai_accounts_user_get(f->acc, "dave", NULL, &err), CCAI_ERR_NOT_FOUND);
    assert_string_equal(err.msg, "user \"dave\": no such user");
    assert_int_equal(ccai_accounts_user_delete(f->acc, "dave", &err), CCAI_ERR_NOT_FOUND);
    /* Its id is not given again, even when it was the highest. */
    ccai_user erin = make_user(f->acc, "erin", CCAI_ROLE_USER);
    assert_int_equal(erin.id, dave.id + 1);
    assert_int_equal(ccai_accounts_user_delete(f->acc, "erin", &err), CCAI_OK);
    assert_int_equal(make_user(f->acc, "fred", CCAI_ROLE_USER).id, dave.id + 2);
    /* A stale handle on the deleted user cannot mint new credentials. */
    char *k2 = NULL, *t2 = NULL;
    assert_int_equal(ccai_accounts_key_create(f->acc, &dave, "k", &k2, NULL, &err),
                     CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_accounts_session_create(f->acc, &dave, 60, &t2, &err),
                     CCAI_ERR_NOT_FOUND);
    assert_null(k2);
    assert_null(t2);

    /* The last admin stays; with a second admin either may go. */
    assert_int_equal(ccai_accounts_user_delete(f->acc, "admin", &err), CCAI_ERR_STATE);
    assert_string_equal(err.msg, "user \"admin\": refusing to delete the last admin (expected at "
                                 "least one other admin, found none)");
    make_user(f->acc, "root2", CCAI_ROLE_ADMIN);
    assert_int_equal(ccai_accounts_user_delete(f->acc, "admin", &err), CCAI_OK);
    assert_int_equal(ccai_accounts_user_delete(f->acc, "root2", &err), CCAI_ERR_STATE);
    ccai_accounts_free_secret(key);
    ccai_accounts_free_secret(tok);
}

/* ---- sessions ---- */

static void test_session_expiry(void **state)
{
    fixture *f = *state;
    ccai_err err = {0};
    char *tok = NULL;
    time_t t0 = time(NULL);
    assert_int_equal(ccai_accounts_session_create(f->acc, &f->admin, 60, &tok, &err), CCAI_OK);
    assert_int_equal(strlen(tok), CCAI_SESSION_TOKEN_LEN);
    ccai_user u;
    assert_int_equal(ccai_accounts_session_check(f->acc, tok, t0, &u, &err), CCAI_OK);
    assert_string_equal(u.name, "admin");
    assert_int_equal(u.role, CCAI_ROLE_ADMIN);
    assert_int_equal(ccai_accounts_session_check(f->acc, tok, t0 + 50, &u, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_session_check(f->acc, tok, t0 + 61, &u, &err), CCAI_ERR_VERIFY);
    assert_string_equal(err.msg, "session expired");
    /* An expired session is gone, even for an earlier clock. */
    assert_int_equal(ccai_accounts_session_check(f->acc, tok, t0, &u, &err), CCAI_ERR_VERIFY);
    assert_string_equal(err.msg, "invalid session");
    ccai_accounts_free_secret(tok);

    /* Logout. */
    assert_int_equal(ccai_accounts_session_create(f->acc, &f->admin, 60, &tok, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_session_delete(f->acc, tok, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_session_check(f->acc, tok, t0, &u, &err), CCAI_ERR_VERIFY);
    assert_int_equal(ccai_accounts_session_delete(f->acc, tok, &err), CCAI_OK);
    ccai_accounts_free_secret(tok);

    /* Purge takes exactly the expired ones. */
    char *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(ccai_accounts_session_create(f->acc, &f->admin, 10, &a, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_session_create(f->acc, &f->admin, 20, &b, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_session_create(f->acc, &f->admin, 3600, &c, &err), CCAI_OK);
    int64_t purged = -1;
    assert_int_equal(ccai_accounts_session_purge(f->acc, time(NULL) + 30, &purged, &err), CCAI_OK);
    assert_int_equal(purged, 2);
    assert_int_equal(ccai_accounts_session_check(f->acc, c, time(NULL), NULL, &err), CCAI_OK);
    assert_int_equal(ccai_accounts_session_check(f->acc, "not a token", t0, NULL, &err),
                     CCAI_ERR_VERIFY);
    assert_int_equal(ccai_accounts_session_create(f->acc, &f->admin, 0, &tok, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "session TTL: expected 1..2592000 seconds, found 0");
    ccai_accounts_free_secret(a);
    ccai_accounts_free_secret(b);
    ccai_accounts_free_secret(c);
}

static void test_http_helpers(void **state)
{
    (void)state;
    const char *tok = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_";
    char buf[256];
    assert_int_equal(ccai_accounts_cookie_header(tok, 3600, buf, sizeof buf), CCAI_OK);
    assert_string_equal(buf, "ccai_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_; Path=/; "
                             "HttpOnly; Secure; SameSite=Strict; Max-Age=3600");
    assert_int_equal(ccai_accounts_cookie_header(tok, 3600, buf, 40), CCAI_ERR_ARG);
    assert_int_equal(ccai_accounts_cookie_header("x; Domain=evil", 60, buf, sizeof buf),
                     CCAI_ERR_ARG);
    assert_int_equal(ccai_accounts_cookie_clear_header(buf, sizeof buf), CCAI_OK);
    assert_string_equal(buf, "ccai_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");

    ccai_err err = {0};
    char got[CCAI_SESSION_TOKEN_LEN + 1];
    char *cookie = ccai_xasprintf("theme=dark; ccai_session=%s; x=1", tok);
    assert_int_equal(ccai_accounts_cookie_token(cookie, got, &err), CCAI_OK);
    assert_string_equal(got, tok);
    free(cookie);
    /* Two session cookies (one planted by another page): neither is taken. */
    cookie = ccai_xasprintf("theme=dark; ccai_session=short; ccai_session=%s; x=1", tok);
    assert_int_equal(ccai_accounts_cookie_token(cookie, got, &err), CCAI_ERR_VERIFY);
    assert_string_equal(err.msg, "2 ccai_session cookies: expected one");
    free(cookie);
    cookie = ccai_xasprintf("ccai_session=%s; ccai_session=%s", tok, tok);
    assert_int_equal(ccai_accounts_cookie_token(cookie, got, &err), CCAI_ERR_VERIFY);
    free(cookie);
    assert_int_equal(ccai_accounts_cookie_token("my_ccai_session=x; theme=dark", got, &err),
                     CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_accounts_cookie_token(NULL, got, &err), CCAI_ERR_NOT_FOUND);

    const char *key = "ccai_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-";
    char k[CCAI_KEY_LEN + 1];
    char *hdr = ccai_xasprintf("Bearer %s", key);
    assert_int_equal(ccai_accounts_bearer_key(hdr, k, &err), CCAI_OK);
    assert_string_equal(k, key);
    free(hdr);
    hdr = ccai_xasprintf("  bEaReR \t%s  ", key);
    assert_int_equal(ccai_accounts_bearer_key(hdr, k, &err), CCAI_OK);
    assert_string_equal(k, key);
    free(hdr);
    hdr = ccai_xasprintf("Bearer %s extra", key);
    assert_int_equal(ccai_accounts_bearer_key(hdr, k, &err), CCAI_ERR_VERIFY);
    free(hdr);
    assert_int_equal(ccai_accounts_bearer_key("Basic YWRtaW46cHc=", k, &err), CCAI_ERR_VERIFY);
    assert_string_equal(err.msg,
                        "Authorization: expected \"Bearer <API key>\", found another scheme");
    assert_int_equal(ccai_accounts_bearer_key("Bearerccai_x", k, &err), CCAI_ERR_VERIFY);
    assert_int_equal(ccai_accounts_bearer_key(NULL, k, &err), CCAI_ERR_VERIFY);

    int role = 0;
    assert_int_equal(ccai_role_parse("admin", &role, &err), CCAI_OK);
    assert_int_equal(role, CCAI_ROLE_ADMIN);
    assert_int_equal(ccai_role_parse("root", &role, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "role: expected \"admin\" or \"user\", found \"root\"");
    assert_string_equal(ccai_role_name(CCAI_ROLE_USER), "user");
    assert_null(ccai_role_name(7));
}

/* ---- hostile input ---- */

static void test_hostile_names(void **state)
{
    fixture *f = *state;
    ccai_err err = {0};
    static const char *const names[] = {
        "x'; DROP TABLE users; --", "admin' OR '1'='1", "admin\"--", "Admin", "a b", "a/b",
        "caf\xc3\xa9", "tab\t", "",
        "a123456789a123456789a123456789a123456789a123456789a123456789abcde", /* 65 */
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ccai_err_clear(&err);
        assert_int_equal(ccai_accounts_user_create(f->acc, names[i], "pw-" ADMIN_PW,
                                                   CCAI_ROLE_USER, NULL, &err),
                         CCAI_ERR_ARG);
        assert_memory_equal(err.msg, "user name: expected 1..64 characters from [a-z0-9._-]", 53);
        /* Checking a password under such a name is just an invalid login. */
        assert_int_equal(ccai_accounts_check_password(f->acc, names[i], ADMIN_PW, NULL, &err),
                         CCAI_ERR_VERIFY);
    }
    assert_int_equal(ccai_accounts_name_valid("x'; DROP", &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "user name: expected 1..64 characters from [a-z0-9._-], found "
                                 "''' at offset 1");
    assert_int_equal(ccai_accounts_name_valid("caf\xc3\xa9", &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "user name: expected 1..64 characters from [a-z0-9._-], found "
                                 "byte 0xc3 at offset 3");
    assert_int_equal(ccai_accounts_name_valid(names[9], &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "user name: expected 1..64 characters from [a-z0-9._-], found "
                                 "65 or more");
    assert_int_equal(ccai_accounts_name_valid(names[9] + 1, &err), CCAI_OK); /* 64 is fine */
    assert_int_equal(ccai_accounts_user_create(f->acc, "admin", "pw-" ADMIN_PW, CCAI_ROLE_USER,
                                               NULL, &err),
                     CCAI_ERR_STATE);
    assert_string_equal(err.msg, "user \"admin\": the name is already taken");
    assert_int_equal(ccai_accounts_user_create(f->acc, "zed", "pw-" ADMIN_PW, 3, NULL, &err),
                     CCAI_ERR_ARG);

    /* Harmless anyway: a label is bound, never spliced into SQL. */
    static const char label[] = "'); DROP TABLE api_keys; DELETE FROM users; --";
    char *key = NULL;
    assert_int_equal(ccai_accounts_key_create(f->acc, &f->admin, label, &key, NULL, &err),
                     CCAI_OK);
    ccai_key_info *keys = NULL;
    size_t n = 0;
    assert_int_equal(ccai_accounts_key_list(f->acc, &f->admin, &keys, &n, &err), CCAI_OK);
    assert_int_equal(n, 1);
    assert_string_equal(keys[0].label, label);
    free(keys);
    assert_int_equal(ccai_accounts_key_check(f->acc, key, NULL, &err), CCAI_OK);
    ccai_user_info *users = NULL;
    assert_int_equal(ccai_accounts_user_list(f->acc, &users, &n, &err), CCAI_OK);
    assert_int_equal(n, 1);
    assert_int_equal(users[0].key_count, 1);
    free(users);
    ccai_accounts_free_secret(key);
}

/* ---- threads ---- */

typedef struct worker {
    ccai_accounts *acc;
    int index;
    int failures;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    ccai_err err = {0};
    char name[16];
    snprintf(name, sizeof name, "worker%d", w->index);
    ccai_user u;
    if (ccai_accounts_user_create(w->acc, name, "worker password", CCAI_ROLE_USER, &u, &err))
        w->failures++;
    if (ccai_accounts_check_password(w->acc, name, "worker password", NULL, &err))
        w->failures++;
    for (int round = 0; round < 20; round++) {
        char *key = NULL, *tok = NULL;
        char id[CCAI_KEY_ID_LEN + 1];
        ccai_user who;
        if (ccai_accounts_key_create(w->acc, &u, "t", &key, id, &err) ||
            ccai_accounts_session_create(w->acc, &u, 60, &tok, &err)) {
            w->failures++;
            continue;
        }
        for (int i = 0; i < 5; i++) {
            if (ccai_accounts_key_check(w->acc, key, &who, &err) || who.id != u.id)
                w->failures++;
            if (ccai_accounts_session_check(w->acc, tok, time(NULL), &who, &err) ||
                who.id != u.id)
                w->failures++;
        }
        if (ccai_accounts_key_revoke(w->acc, &u, id, &err) ||
            ccai_accounts_key_check(w->acc, key, NULL, &err) != CCAI_ERR_VERIFY ||
            ccai_accounts_session_delete(w->acc, tok, &err))
            w->failures++;
        ccai_accounts_free_secret(key);
        ccai_accounts_free_secret(tok);
    }
    return NULL;
}

static void test_four_threads(void **state)
{
    fixture *f = *state;
    pthread_t t[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){.acc = f->acc, .index = i};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    ccai_user_info *users = NULL;
    size_t n = 0;
    ccai_err err = {0};
    assert_int_equal(ccai_accounts_user_list(f->acc, &users, &n, &err), CCAI_OK);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(users[i].key_count, 0);
    free(users);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bootstrap_generates_once),
        cmocka_unit_test(test_bootstrap_arguments),
        cmocka_unit_test_setup_teardown(test_reopen_persists_and_schema_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_failures_look_alike, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_plaintext_on_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_password_and_rehash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_revoke_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_delete_kills_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_expiry, setup, teardown),
        cmocka_unit_test(test_http_helpers),
        cmocka_unit_test_setup_teardown(test_hostile_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_four_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
