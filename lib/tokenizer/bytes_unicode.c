/* GPT-2's byte-level alphabet and the lenient UTF-8 codec llama.cpp uses
 * before byte-level BPE. */
#include "tokenizer/tokenizer.h"

/* Bytes that are printable Latin-1 stand for themselves; every other byte
 * takes the next code point from U+0100 on, in byte order (GPT-2's
 * bytes_to_unicode). */
static bool byte_is_self(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t nt_byte_to_cpt(uint8_t b)
{
    if (byte_is_self(b)) return b;
    uint32_t n = 0;
    for (unsigned x = 0; x < b; x++)
        if (!byte_is_self(x)) n++;
    return 0x100 + n;
}

int nt_cpt_to_byte(uint32_t cpt)
{
    if (cpt < 0x100) return byte_is_self(cpt) ? (int)cpt : -1;
    uint32_t n = cpt - 0x100;
    for (unsigned x = 0; x < 256; x++) {
        if (byte_is_self(x)) continue;
        if (n == 0) return (int)x;
        n--;
    }
    return -1;
}

uint32_t nt_utf8_decode_lenient(const char *s, size_t len, size_t *i)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t o = *i;
    unsigned c = u[o];
    if (!(c & 0x80)) {
        *i = o + 1;
        return c;
    }
    size_t need;
    uint32_t cpt;
    if (!(c & 0x40)) goto bad;             /* continuation byte as lead */
    if (!(c & 0x20)) { need = 1; cpt = c & 0x1F; }
    else if (!(c & 0x10)) { need = 2; cpt = c & 0x0F; }
    else if (!(c & 0x08)) { need = 3; cpt = c & 0x07; }
    else goto bad;
    if (o + need >= len) goto bad; /* runs past the end */
    for (size_t k = 1; k <= need; k++) {
        if ((u[o + k] & 0xC0) != 0x80) goto bad;
        cpt = (cpt << 6) | (u[o + k] & 0x3F);
    }
    *i = o + need + 1;
    return cpt;
bad:
    *i = o + 1;
    return 0xFFFD;
}

size_t nt_utf8_encode(uint32_t cpt, char buf[4])
{
    unsigned char *b = (unsigned char *)buf;
    if (cpt <= 0x7F) {
        b[0] = (unsigned char)cpt;
        return 1;
    }
    if (cpt <= 0x7FF) {
        b[0] = (unsigned char)(0xC0 | (cpt >> 6));
        b[1] = (unsigned char)(0x80 | (cpt & 0x3F));
        return 2;
    }
    if (cpt > 0x10FFFF) cpt = 0xFFFD; /* llama.cpp would throw; a replacement is kinder */
    if (cpt <= 0xFFFF) {
        b[0] = (unsigned char)(0xE0 | (cpt >> 12));
        b[1] = (unsigned char)(0x80 | ((cpt >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cpt & 0x3F));
        return 3;
    }
    b[0] = (unsigned char)(0xF0 | (cpt >> 18));
    b[1] = (unsigned char)(0x80 | ((cpt >> 12) & 0x3F));
    b[2] = (unsigned char)(0x80 | ((cpt >> 6) & 0x3F));
    b[3] = (unsigned char)(0x80 | (cpt & 0x3F));
    return 4;
}
