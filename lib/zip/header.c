/* Writing and checking zip headers (layout in header.h). */
#include "zip/header.h"

#include <sodium.h>
#include <string.h>

#include "core/error.h"

static const unsigned char nt_zip_magic[8] = {'N', 'T', 'Z', 'I', 'P', '\r', '\n', 0x1a};
#define NT_ZIP_HDIGEST_AT 104
#define NT_ZIP_HDIGEST_BYTES 16

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

void nt_zip_checksum(const void *data, size_t n, uint8_t out[NEXTTOK_DIGEST_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, NEXTTOK_DIGEST_BYTES);
    const unsigned char *p = data;
    /* in slices: the length is unsigned long long, size_t may be wider */
    for (size_t done = 0; done < n;) {
        const size_t k = n - done < ((size_t)1 << 30) ? n - done : ((size_t)1 << 30);
        crypto_generichash_update(&st, p + done, k);
        done += k;
    }
    crypto_generichash_final(&st, out, NEXTTOK_DIGEST_BYTES);
}

static void header_digest(const unsigned char *h, unsigned char out[NT_ZIP_HDIGEST_BYTES])
{
    crypto_generichash(out, NT_ZIP_HDIGEST_BYTES, h, NT_ZIP_HDIGEST_AT, NULL, 0);
}

void nt_zip_header_write(const nt_zip_header *h, unsigned char out[NEXTTOK_ZIP_HEADER_BYTES])
{
    memset(out, 0, NEXTTOK_ZIP_HEADER_BYTES);
    memcpy(out, nt_zip_magic, sizeof nt_zip_magic);
    put32(out + 8, h->version);
    put32(out + 12, h->flags);
    put64(out + 16, h->original_len);
    put64(out + 24, h->payload_len);
    put32(out + 32, h->n_ctx);
    put32(out + 36, h->total_bits);
    memcpy(out + 40, h->model_digest, NEXTTOK_DIGEST_BYTES);
    memcpy(out + 72, h->checksum, NEXTTOK_DIGEST_BYTES);
    header_digest(out, out + NT_ZIP_HDIGEST_AT);
}

nexttok_status nt_zip_header_read(const unsigned char *in, size_t len, nt_zip_header *h)
{
    memset(h, 0, sizeof *h);
    const size_t m = len < sizeof nt_zip_magic ? len : sizeof nt_zip_magic;
    if (memcmp(in, nt_zip_magic, m) != 0)
        return nt_fail(NEXTTOK_ERR_FORMAT, "not a nexttok zip file (no \"NTZIP\" magic at the start)");
    if (len < NEXTTOK_ZIP_HEADER_BYTES)
        return nt_fail(NEXTTOK_ERR_TRUNCATED, "zip file truncated: %zu bytes, its header alone takes %d", len,
                       NEXTTOK_ZIP_HEADER_BYTES);
    unsigned char d[NT_ZIP_HDIGEST_BYTES];
    header_digest(in, d);
    if (sodium_memcmp(d, in + NT_ZIP_HDIGEST_AT, sizeof d) != 0)
        return nt_fail(NEXTTOK_ERR_FORMAT, "zip header damaged: its digest does not match its contents");
    h->version = get32(in + 8);
    h->flags = get32(in + 12);
    h->original_len = get64(in + 16);
    h->payload_len = get64(in + 24);
    h->n_ctx = get32(in + 32);
    h->total_bits = get32(in + 36);
    memcpy(h->model_digest, in + 40, NEXTTOK_DIGEST_BYTES);
    memcpy(h->checksum, in + 72, NEXTTOK_DIGEST_BYTES);
    if (h->version != NT_ZIP_VERSION)
        return nt_fail(NEXTTOK_ERR_UNSUPPORTED, "zip format version %u: this library reads version %d", h->version,
                       NT_ZIP_VERSION);
    if (h->flags & ~NT_ZIP_FLAG_STORED) return nt_fail(NEXTTOK_ERR_FORMAT, "zip header: unknown flags 0x%x", h->flags);
    if (h->total_bits != 24) return nt_fail(NEXTTOK_ERR_FORMAT, "zip header: frequency total 2^%u, expected 2^24", h->total_bits);
    if ((h->flags & NT_ZIP_FLAG_STORED) && h->payload_len != h->original_len)
        return nt_fail(NEXTTOK_ERR_FORMAT, "zip header: stored, but the payload (%llu bytes) is not the original (%llu)",
                       (unsigned long long)h->payload_len, (unsigned long long)h->original_len);
    if (!(h->flags & NT_ZIP_FLAG_STORED) && (h->n_ctx < 4 || h->n_ctx > INT32_MAX))
        return nt_fail(NEXTTOK_ERR_FORMAT, "zip header: window of %u tokens", h->n_ctx);
    const uint64_t have = len - NEXTTOK_ZIP_HEADER_BYTES;
    if (have < h->payload_len)
        return nt_fail(NEXTTOK_ERR_TRUNCATED, "zip file truncated: %llu payload bytes of the %llu its header gives",
                       (unsigned long long)have, (unsigned long long)h->payload_len);
    if (have > h->payload_len)
        return nt_fail(NEXTTOK_ERR_FORMAT, "zip file: %llu bytes after the payload's end",
                       (unsigned long long)(have - h->payload_len));
    return NEXTTOK_OK;
}
