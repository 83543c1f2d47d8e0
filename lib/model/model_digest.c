/* BLAKE2b-256 digests of the model file and its tensors (libsodium). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "model/model.h"

static nexttok_status blake2b(const uint8_t *data, uint64_t len, uint8_t out[NEXTTOK_DIGEST_BYTES])
{
    if (sodium_init() < 0) return nt_fail(NEXTTOK_ERR_IO, "libsodium failed to initialise");
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, NEXTTOK_DIGEST_BYTES);
    /* Feed in slices: crypto_generichash_update takes unsigned long long,
     * but hashing a mapping in 64 MiB steps keeps page faults incremental. */
    const uint64_t step = 64u << 20;
    for (uint64_t off = 0; off < len; off += step) {
        uint64_t n = len - off < step ? len - off : step;
        crypto_generichash_update(&st, data + off, n);
    }
    crypto_generichash_final(&st, out, NEXTTOK_DIGEST_BYTES);
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_model_digest_get(const nexttok_model *m, uint8_t digest[NEXTTOK_DIGEST_BYTES])
{
    nt_error_clear();
    if (!m || !digest) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_model_digest_get: model and digest must not be NULL");
    nexttok_status st = nt_gguf_check_mapping(m->gguf); /* hashing a cut file would fault */
    if (st != NEXTTOK_OK) return st;
    return blake2b(m->gguf->base, m->gguf->size, digest);
}

NEXTTOK_API nexttok_status nexttok_model_tensor_digest_get(const nexttok_model *m, size_t index,
                                                           uint8_t digest[NEXTTOK_DIGEST_BYTES])
{
    nt_error_clear();
    if (!m || !digest) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_model_tensor_digest_get: model and digest must not be NULL");
    if (index >= m->gguf->n_tensors)
        return nt_fail(NEXTTOK_ERR_NOT_FOUND, "tensor index %zu: the model has %llu tensors", index,
                       (unsigned long long)m->gguf->n_tensors);
    const nt_gguf_tensor *t = &m->gguf->tensors[index];
    nexttok_status st = nt_gguf_check_mapping(m->gguf);
    if (st != NEXTTOK_OK) return st;
    return blake2b(t->data, t->nbytes, digest);
}

static void hex(const uint8_t *d, char *out)
{
    for (int i = 0; i < NEXTTOK_DIGEST_BYTES; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

NEXTTOK_API nexttok_status nexttok_model_verify(const nexttok_model *m, const uint8_t expected[NEXTTOK_DIGEST_BYTES])
{
    uint8_t got[NEXTTOK_DIGEST_BYTES];
    nexttok_status st = nexttok_model_digest_get(m, got);
    if (st != NEXTTOK_OK) return st;
    if (!expected) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_model_verify: expected digest must not be NULL");
    if (sodium_memcmp(got, expected, NEXTTOK_DIGEST_BYTES) != 0) {
        char g[2 * NEXTTOK_DIGEST_BYTES + 1], e[2 * NEXTTOK_DIGEST_BYTES + 1];
        hex(got, g);
        hex(expected, e);
        return nt_fail(NEXTTOK_ERR_CHECKSUM, "model file digest mismatch: expected %s, got %s", e, g);
    }
    return NEXTTOK_OK;
}

nexttok_status nt_model_digest(const nexttok_model *m, uint8_t out[NEXTTOK_DIGEST_BYTES])
{
    /* The cache is the model's only mutable part: sessions on other
     * threads may ask at once. One claims it and fills it; the others
     * hash for themselves meanwhile rather than wait. */
    nexttok_model *mm = (nexttok_model *)m;
    if (atomic_load_explicit(&mm->digest_state, memory_order_acquire) == 2) {
        memcpy(out, mm->digest, NEXTTOK_DIGEST_BYTES);
        return NEXTTOK_OK;
    }
    nexttok_status st = blake2b(m->gguf->base, m->gguf->size, out);
    if (st != NEXTTOK_OK) return st;
    int none = 0;
    if (atomic_compare_exchange_strong_explicit(&mm->digest_state, &none, 1, memory_order_acq_rel,
                                                memory_order_relaxed)) {
        memcpy(mm->digest, out, NEXTTOK_DIGEST_BYTES);
        atomic_store_explicit(&mm->digest_state, 2, memory_order_release);
    }
    return NEXTTOK_OK;
}
