/* The range coder of rc.h. */
#include "zip/rc.h"

#define NT_RC_TOP (UINT64_C(1) << 56)

void nt_rc_enc_init(nt_rc_enc *e, unsigned char *buf, size_t cap)
{
    e->low = 0;
    e->range = UINT64_MAX;
    e->buf = buf;
    e->cap = cap;
    e->pos = 0;
    e->overflow = false;
}

/* The interval moved past 2^64 of the bytes written: add one to them. It
 * never runs past the first byte, since the interval stays inside [0, 1). */
static void carry(nt_rc_enc *e)
{
    if (e->overflow) return;
    for (size_t i = e->pos; i-- > 0;) {
        if (++e->buf[i] != 0) return;
    }
}

static void put_byte(nt_rc_enc *e, unsigned char b)
{
    if (e->pos >= e->cap) {
        e->overflow = true;
        return;
    }
    e->buf[e->pos++] = b;
}

static void normalize(nt_rc_enc *e)
{
    while (e->range < NT_RC_TOP) {
        put_byte(e, (unsigned char)(e->low >> 56));
        e->low <<= 8;
        e->range <<= 8;
    }
}

void nt_rc_enc_put(nt_rc_enc *e, uint64_t cum, uint64_t freq, uint64_t total)
{
    const uint64_t r = e->range / total;
    const uint64_t low = e->low + r * cum;
    if (low < e->low) carry(e);
    e->low = low;
    e->range = r * freq;
    normalize(e);
}

void nt_rc_enc_bits(nt_rc_enc *e, uint32_t v, int bits)
{
    if (bits > 16) {
        nt_rc_enc_put(e, v >> 16, 1, UINT64_C(1) << (bits - 16));
        bits = 16;
        v &= 0xffffu;
    }
    nt_rc_enc_put(e, v, 1, UINT64_C(1) << bits);
}

size_t nt_rc_enc_finish(nt_rc_enc *e)
{
    /* The value in [low, low + range) with the most trailing zero bits:
     * its zero bytes need not be written. */
    uint64_t v = e->low;
    for (int sh = 63; sh >= 0; sh--) {
        const uint64_t step = UINT64_C(1) << sh;
        const uint64_t up = (e->low + (step - 1)) & ~(step - 1); /* low rounded up, mod 2^64 */
        if (up - e->low < e->range) {
            v = up;
            break;
        }
    }
    if (v < e->low) carry(e);
    for (int i = 0; i < 8; i++, v <<= 8) put_byte(e, (unsigned char)(v >> 56));
    if (e->overflow) return 0;
    while (e->pos > 0 && e->buf[e->pos - 1] == 0) e->pos--;
    return e->pos;
}

static unsigned char next_byte(nt_rc_dec *d) { return d->pos < d->len ? d->buf[d->pos++] : 0; }

void nt_rc_dec_init(nt_rc_dec *d, const unsigned char *buf, size_t len)
{
    d->buf = buf;
    d->len = len;
    d->pos = 0;
    d->range = UINT64_MAX;
    d->code = 0;
    d->r = 0;
    for (int i = 0; i < 8; i++) d->code = (d->code << 8) | next_byte(d);
}

uint64_t nt_rc_dec_target(nt_rc_dec *d, uint64_t total)
{
    d->r = d->range / total;
    const uint64_t t = d->code / d->r;
    return t < total ? t : UINT64_MAX;
}

void nt_rc_dec_take(nt_rc_dec *d, uint64_t cum, uint64_t freq)
{
    d->code -= d->r * cum;
    d->range = d->r * freq;
    while (d->range < NT_RC_TOP) {
        d->code = (d->code << 8) | next_byte(d);
        d->range <<= 8;
    }
}

static bool dec_uniform(nt_rc_dec *d, uint64_t total, uint32_t *v)
{
    const uint64_t t = nt_rc_dec_target(d, total);
    if (t == UINT64_MAX) return false;
    nt_rc_dec_take(d, t, 1);
    *v = (uint32_t)t;
    return true;
}

bool nt_rc_dec_bits(nt_rc_dec *d, int bits, uint32_t *v)
{
    uint32_t hi = 0, lo;
    if (bits > 16) {
        if (!dec_uniform(d, UINT64_C(1) << (bits - 16), &hi)) return false;
        bits = 16;
    }
    if (!dec_uniform(d, UINT64_C(1) << bits, &lo)) return false;
    *v = hi << 16 | lo;
    return true;
}
