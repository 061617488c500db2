/* Build-time generator of the tokenizer's Unicode category table.
 *
 *     gen_unicode UnicodeData.txt OUT.c
 *
 * Reads UnicodeData.txt (Unicode Character Database; Debian's unicode-data
 * package installs it at /usr/share/unicode/UnicodeData.txt) and writes a C
 * file defining the range table declared in src/llm/unicode.h: one entry
 * (first << 5) | category per run of code points sharing a general category,
 * unassigned code points (absent from the file) as Cn. "<..., First>" and
 * "<..., Last>" line pairs stand for every code point between them (CJK
 * ideographs, Hangul syllables, planes of private use). Any malformed line
 * stops the build with its line number. Runs on the build host; it depends
 * on nothing but libc. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CP 0x10FFFFu

/* Same order as unicode_cat in src/llm/unicode.h. */
static const char *const cat_names[] = {
    "Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd",
    "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm",
    "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co",
};
enum { N_CATS = sizeof cat_names / sizeof cat_names[0] };

static int die(const char *path, unsigned long line, const char *what)
{
    fprintf(stderr, "gen_unicode: %s:%lu: %s\n", path, line, what);
    return 1;
}

static int cat_index(const char *s, size_t n)
{
    for (int i = 0; i < N_CATS; i++)
        if (n == 2 && memcmp(s, cat_names[i], 2) == 0)
            return i;
    return -1;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Fills cats[] (MAX_CP + 1 entries, zero = Cn) from the file. */
static int parse(const char *path, uint8_t *cats, unsigned long *entries)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "gen_unicode: cannot open %s: %s (install the unicode-data package)\n",
                path, strerror(errno));
        return 1;
    }
    char line[1024];
    unsigned long lineno = 0;
    long prev = -1, first = -1; /* last code point seen; pending "First>" */
    int first_cat = -1;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            rc = die(path, lineno, "line too long");
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0)
            continue;
        /* Fields 0 (code point), 1 (name), 2 (category). */
        char *f1 = strchr(line, ';');
        char *f2 = f1 ? strchr(f1 + 1, ';') : NULL;
        char *f3 = f2 ? strchr(f2 + 1, ';') : NULL;
        if (!f3) {
            rc = die(path, lineno, "expected at least 3 ';'-separated fields");
            break;
        }
        char *end;
        errno = 0;
        unsigned long cp = strtoul(line, &end, 16);
        if (errno || end != f1 || end == line || cp > MAX_CP) {
            rc = die(path, lineno, "bad code point");
            break;
        }
        if ((long)cp <= prev) {
            rc = die(path, lineno, "code points not ascending");
            break;
        }
        int cat = cat_index(f2 + 1, (size_t)(f3 - f2 - 1));
        if (cat < 0) {
            rc = die(path, lineno, "unknown general category");
            break;
        }
        const char *name = f1 + 1;
        size_t name_len = (size_t)(f2 - f1 - 1);
        if (ends_with(name, name_len, ", First>")) {
            if (first >= 0) {
                rc = die(path, lineno, "two First> entries in a row");
                break;
            }
            first = (long)cp;
            first_cat = cat;
        } else if (ends_with(name, name_len, ", Last>")) {
            if (first < 0 || first_cat != cat) {
                rc = die(path, lineno, "Last> without a matching First>");
                break;
            }
            for (unsigned long c = (unsigned long)first; c <= cp; c++)
                cats[c] = (uint8_t)cat;
            first = -1;
        } else {
            if (first >= 0) {
                rc = die(path, lineno, "First> not followed by Last>");
                break;
            }
            cats[cp] = (uint8_t)cat;
        }
        prev = (long)cp;
        (*entries)++;
    }
    if (!rc && ferror(f))
        rc = die(path, lineno, "read error");
    if (!rc && first >= 0)
        rc = die(path, lineno, "file ends inside a First>/Last> range");
    if (!rc && *entries == 0)
        rc = die(path, lineno, "no entries");
    fclose(f);
    return rc;
}

static int write_table(const char *out, const char *src, const uint8_t *cats,
                       unsigned long entries)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", out) >= sizeof tmp) {
        fprintf(stderr, "gen_unicode: output path too long\n");
        return 1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "gen_unicode: cannot create %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    fprintf(f, "/* Generated by tools/gen_unicode.c from %s (%lu entries). Do not edit. */\n",
            src, entries);
    fprintf(f, "#include \"llm/unicode.h\"\n\n");
    fprintf(f, "const char unicode_data_source[] = \"");
    for (const char *p = src; *p; p++) {
        if (*p == '"' || *p == '\\')
            fputc('\\', f);
        fputc(*p, f);
    }
    fprintf(f, "\";\nconst size_t unicode_data_entries = %lu;\n\n", entries);
    fprintf(f, "const uint32_t unicode_cat_ranges[] = {\n");
    size_t n = 0;
    for (uint32_t cp = 0; cp <= MAX_CP; cp++) {
        if (cp > 0 && cats[cp] == cats[cp - 1])
            continue;
        fprintf(f, "%s0x%08xu,", n % 6 == 0 ? "    " : " ", (cp << 5) | cats[cp]);
        if (++n % 6 == 0)
            fputc('\n', f);
    }
    fprintf(f, "%s};\nconst size_t unicode_cat_n_ranges = %zu;\n", n % 6 ? "\n" : "", n);
    if (fclose(f) != 0 || rename(tmp, out) != 0) {
        fprintf(stderr, "gen_unicode: cannot write %s: %s\n", out, strerror(errno));
        remove(tmp);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gen_unicode UnicodeData.txt OUT.c\n");
        return 2;
    }
    uint8_t *cats = calloc(MAX_CP + 1, 1);
    if (!cats) {
        fprintf(stderr, "gen_unicode: out of memory\n");
        return 1;
    }
    unsigned long entries = 0;
    int rc = parse(argv[1], cats, &entries);
    if (!rc)
        rc = write_table(argv[2], argv[1], cats, entries);
    free(cats);
    return rc;
}
