/* Unicode for the tokenizers: general categories, the White_Space property,
 * and a UTF-8 decoder that never fails.
 *
 * The category table is generated at build time from UnicodeData.txt (Debian
 * package unicode-data) by tools/gen_unicode.c into
 * <build>/generated/unicode_tables.c (cmake/Unicode.cmake); nothing here reads
 * a file at run time. The pre-tokenizer regexes (llm-facts §3) need \p{L}
 * (Lu Ll Lt Lm Lo), \p{N} (Nd Nl No) and \s (White_Space).
 *
 * Decoding contract: unicode_decode reads one code point from at most len
 * bytes and never looks past them. A byte that does not start a complete,
 * well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF) decodes alone to UNICODE_RAW_BYTE(b), a value above
 * U+10FFFF whose category is Cn ("other"), so callers can keep the raw byte. */
#ifndef CCAI_LLM_UNICODE_H
#define CCAI_LLM_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* General categories (UnicodeData.txt field 2). Cn (unassigned) is 0. */
typedef enum unicode_cat {
    UCAT_Cn = 0,
    UCAT_Lu, UCAT_Ll, UCAT_Lt, UCAT_Lm, UCAT_Lo,
    UCAT_Mn, UCAT_Mc, UCAT_Me,
    UCAT_Nd, UCAT_Nl, UCAT_No,
    UCAT_Pc, UCAT_Pd, UCAT_Ps, UCAT_Pe, UCAT_Pi, UCAT_Pf, UCAT_Po,
    UCAT_Sm, UCAT_Sc, UCAT_Sk, UCAT_So,
    UCAT_Zs, UCAT_Zl, UCAT_Zp,
    UCAT_Cc, UCAT_Cf, UCAT_Cs, UCAT_Co,
    UCAT_COUNT
} unicode_cat;

enum { UNICODE_MAX = 0x10FFFF, UNICODE_REPLACEMENT = 0xFFFD };

/* An undecodable byte b, kept as a pseudo code point outside Unicode. */
#define UNICODE_RAW_BYTE(b) (0x110000u + (uint32_t)(uint8_t)(b))
static inline bool unicode_is_raw_byte(uint32_t cp)
{
    return cp >= 0x110000u && cp <= 0x1100FFu;
}

/* Category of cp; UCAT_Cn for unassigned code points and anything above
 * U+10FFFF (raw bytes included). */
unicode_cat unicode_category(uint32_t cp);
/* Two-letter name ("Lu", "Nd", ...). */
const char *unicode_cat_name(unicode_cat c);

/* \p{L}: Lu Ll Lt Lm Lo. */
bool unicode_is_letter(uint32_t cp);
/* \p{N}: Nd Nl No. */
bool unicode_is_number(uint32_t cp);
/* \s: the White_Space property (U+0009..U+000D, U+0020, U+0085, U+00A0,
 * U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). */
bool unicode_is_space(uint32_t cp);

/* Decodes the code point at s (len >= 1 bytes available) into *cp and
 * returns the bytes used (1..4); 0 only when len is 0. See the contract. */
size_t unicode_decode(const char *s, size_t len, uint32_t *cp);

/* Where the UTF-8 sequence at s stands, for streaming output. */
typedef enum unicode_seq {
    UNICODE_SEQ_OK,    /* a complete well-formed character of *n bytes */
    UNICODE_SEQ_SHORT, /* all len bytes are a valid start of one character */
    UNICODE_SEQ_BAD,   /* ill-formed: *n bytes (>= 1) stand for one U+FFFD */
} unicode_seq;
unicode_seq unicode_check(const uint8_t *s, size_t len, size_t *n);

/* Writes the UTF-8 form of cp (at most 4 bytes) and returns its length; 0
 * for surrogates and values above U+10FFFF. */
size_t unicode_encode(uint32_t cp, char out[4]);

/* True when s[0..len) is entirely well-formed UTF-8. */
bool unicode_valid(const char *s, size_t len);

/* The generated table (unicode_tables.c): sorted entries
 * (first_code_point << 5) | category; each range runs to the next entry's
 * first code point, the last to U+10FFFF. Module-internal. */
extern const uint32_t unicode_cat_ranges[];
extern const size_t unicode_cat_n_ranges;
/* The UnicodeData.txt the table was generated from, and its size. */
extern const char unicode_data_source[];
extern const size_t unicode_data_entries;

#endif
