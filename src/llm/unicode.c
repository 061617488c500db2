/* Unicode categories and UTF-8 (see unicode.h). The category lookup is a
 * binary search over the generated range table; UTF-8 is checked strictly
 * per RFC 3629 (Unicode Table 3-7 of well-formed byte sequences). */
#include "llm/unicode.h"

static const char *const cat_names[UCAT_COUNT] = {
    "Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd",
    "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm",
    "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co",
};

const char *unicode_cat_name(unicode_cat c)
{
    return (unsigned)c < UCAT_COUNT ? cat_names[c] : "??";
}

unicode_cat unicode_category(uint32_t cp)
{
    if (cp > UNICODE_MAX || unicode_cat_n_ranges == 0)
        return UCAT_Cn;
    /* The last entry whose first code point is <= cp. */
    size_t lo = 0, hi = unicode_cat_n_ranges;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if ((unicode_cat_ranges[mid] >> 5) <= cp)
            lo = mid;
        else
            hi = mid;
    }
    if ((unicode_cat_ranges[lo] >> 5) > cp)
        return UCAT_Cn;
    return (unicode_cat)(unicode_cat_ranges[lo] & 31);
}

bool unicode_is_letter(uint32_t cp)
{
    if (cp < 0x80)
        return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    unicode_cat c = unicode_category(cp);
    return c >= UCAT_Lu && c <= UCAT_Lo;
}

bool unicode_is_number(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= '0' && cp <= '9';
    unicode_cat c = unicode_category(cp);
    return c >= UCAT_Nd && c <= UCAT_No;
}

bool unicode_is_space(uint32_t cp)
{
    if (cp <= 0x20)
        return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

/* Valid range of the second byte after lead byte b0 (Table 3-7). */
static void second_range(uint8_t b0, uint8_t *lo, uint8_t *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (b0 == 0xE0)
        *lo = 0xA0;
    else if (b0 == 0xED)
        *hi = 0x9F;
    else if (b0 == 0xF0)
        *lo = 0x90;
    else if (b0 == 0xF4)
        *hi = 0x8F;
}

static size_t seq_len(uint8_t b0)
{
    if (b0 < 0x80)
        return 1;
    if (b0 >= 0xC2 && b0 <= 0xDF)
        return 2;
    if (b0 >= 0xE0 && b0 <= 0xEF)
        return 3;
    if (b0 >= 0xF0 && b0 <= 0xF4)
        return 4;
    return 0; /* continuation byte, C0, C1, F5..FF: never a lead */
}

unicode_seq unicode_check(const uint8_t *s, size_t len, size_t *n)
{
    *n = 1;
    if (len == 0)
        return UNICODE_SEQ_SHORT;
    size_t need = seq_len(s[0]);
    if (need == 0)
        return UNICODE_SEQ_BAD;
    for (size_t i = 1; i < need; i++) {
        if (i >= len)
            return UNICODE_SEQ_SHORT;
        uint8_t lo = 0x80, hi = 0xBF;
        if (i == 1)
            second_range(s[0], &lo, &hi);
        if (s[i] < lo || s[i] > hi) {
            *n = i; /* the maximal well-formed prefix is one U+FFFD */
            return UNICODE_SEQ_BAD;
        }
    }
    *n = need;
    return UNICODE_SEQ_OK;
}

size_t unicode_decode(const char *s, size_t len, uint32_t *cp)
{
    if (len == 0) {
        *cp = 0;
        return 0;
    }
    const uint8_t *u = (const uint8_t *)s;
    size_t n;
    if (unicode_check(u, len, &n) != UNICODE_SEQ_OK) {
        *cp = UNICODE_RAW_BYTE(u[0]);
        return 1;
    }
    switch (n) {
    case 1:
        *cp = u[0];
        break;
    case 2:
        *cp = ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
        break;
    case 3:
        *cp = ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
        break;
    default:
        *cp = ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) |
              ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
        break;
    }
    return n;
}

size_t unicode_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 0;
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp > UNICODE_MAX)
        return 0;
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

bool unicode_valid(const char *s, size_t len)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t n;
        if (unicode_check(u + i, len - i, &n) != UNICODE_SEQ_OK)
            return false;
        i += n;
    }
    return true;
}
