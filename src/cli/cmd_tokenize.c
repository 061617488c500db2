/* `ccai tokenize`: a model's tokenizer on a text, ids on one line. Only the
 * vocabulary is loaded, so vocabulary-only GGUF files work too. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "cli/cli.h"
#include "llm/gguf.h"
#include "llm/tokenizer.h"

static const char tokenize_usage[] =
    "usage: ccai tokenize MODEL [TEXT | -] [--bos] [--special] [--pieces]\n"
    "\n"
    "Prints the token ids of TEXT (standard input, byte for byte, when TEXT is\n"
    "'-' or absent) on one line separated by spaces.\n"
    "\n"
    "  --bos       add the beginning-of-sequence token\n"
    "  --special   match special tokens written in the text (<|im_start|> ...)\n"
    "  --pieces    one token per line: the id and the piece it stands for\n";

enum { OPT_BOS = CLI_OPT_FIRST_FREE, OPT_SPECIAL, OPT_PIECES };

static int read_stdin(ccai_buf *b)
{
    for (;;) {
        ccai_buf_reserve(b, 65536);
        ssize_t n = read(STDIN_FILENO, b->data + b->len, b->cap - b->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "ccai tokenize: reading standard input: %s\n", strerror(errno));
            return CLI_FAIL;
        }
        if (n == 0)
            return CLI_OK;
        b->len += (size_t)n;
        if (b->len > (64u << 20)) {
            fprintf(stderr, "ccai tokenize: standard input larger than 64 MiB\n");
            return CLI_FAIL;
        }
    }
}

/* The piece as printable text: control bytes and quotes escaped. */
static void print_piece(const uint8_t *p, size_t n)
{
    putchar('\'');
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n')
            fputs("\\n", stdout);
        else if (p[i] == '\t')
            fputs("\\t", stdout);
        else if (p[i] == '\'' || p[i] == '\\')
            printf("\\%c", p[i]);
        else if (p[i] < 0x20 || p[i] == 0x7f)
            printf("\\x%02x", p[i]);
        else
            putchar(p[i]);
    }
    putchar('\'');
}

static int cmd_tokenize(int argc, char **argv)
{
    static const struct option opts[] = {
        {"bos", no_argument, NULL, OPT_BOS},
        {"special", no_argument, NULL, OPT_SPECIAL},
        {"pieces", no_argument, NULL, OPT_PIECES},
        {NULL, 0, NULL, 0},
    };
    bool bos = false, special = false, pieces = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c == OPT_BOS)
            bos = true;
        else if (c == OPT_SPECIAL)
            special = true;
        else if (c == OPT_PIECES)
            pieces = true;
        else
            return cli_bad_option("tokenize", c, argv);
    }
    if (optind >= argc)
        return cli_usage_error("tokenize", "missing the MODEL file");
    if (argc - optind > 2)
        return cli_usage_error("tokenize", "unexpected argument '%s' (quote the text)",
                               argv[optind + 2]);
    const char *path = argv[optind];
    ccai_buf text = {0};
    int rc = CLI_OK;
    if (argc - optind == 2 && strcmp(argv[optind + 1], "-"))
        ccai_buf_append_str(&text, argv[optind + 1]);
    else if ((rc = read_stdin(&text)))
        return rc;

    ccai_err err = {0};
    gguf_file *f = NULL;
    llm_tokenizer *tok = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    if (gguf_open(path, &f, &err) || llm_tokenizer_from_gguf(f, &tok, &err) ||
        llm_tokenize(tok, text.len ? (const char *)text.data : "", text.len, bos, special, &ids,
                     &n, &err)) {
        rc = cli_fail("tokenize", &err);
    } else if (pieces) {
        ccai_buf b = {0};
        for (size_t i = 0; i < n; i++) {
            b.len = 0;
            llm_token_bytes(tok, ids[i], true, &b);
            printf("%d ", ids[i]);
            print_piece(b.data, b.len);
            putchar('\n');
        }
        ccai_buf_free(&b);
    } else {
        for (size_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", ids[i]);
        putchar('\n');
    }
    free(ids);
    llm_tokenizer_free(tok);
    gguf_close(f);
    ccai_buf_free(&text);
    return rc;
}

const cli_cmd cli_cmd_tokenize = {"tokenize", "print the token ids of a text", cmd_tokenize,
                                  tokenize_usage};
