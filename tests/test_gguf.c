/* The GGUF reader on well-formed files: every value type round-trips through
 * the test writer, look-ups, alignment, typed getters, and the real fixture
 * files. Malformed input lives in test_gguf_malformed.c. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "gguf/gguf.h"
#include "support/fixtures.h"
#include "support/gguf_writer.h"
#include "types/types.h"

static uint8_t *g_buf;
static nt_gguf *g_file;

static void teardown(void)
{
    nt_gguf_close(g_file);
    free(g_buf);
    g_file = NULL;
    g_buf = NULL;
}

/* Write w to a buffer, free w, and parse the buffer into g_file. */
static nt_gguf *parse_writer(nt_gw *w)
{
    size_t size;
    g_buf = nt_gw_write(w, &size, NULL);
    nt_gw_free(w);
    nexttok_status st = nt_gguf_parse(g_buf, size, &g_file);
    cr_assert_eq(st, NEXTTOK_OK, "parse failed: %s", nexttok_error_message());
    return g_file;
}

static const nt_gguf_kv *must_find(const nt_gguf *g, const char *key)
{
    const nt_gguf_kv *kv = nt_gguf_kv_find(g, key);
    cr_assert_not_null(kv, "key %s missing", key);
    return kv;
}

TestSuite(gguf, .fini = teardown);

Test(gguf, scalars_round_trip)
{
    nt_gw *w = nt_gw_new();
    nt_gw_add_u8(w, "u8", 200);
    nt_gw_add_i8(w, "i8", -5);
    nt_gw_add_u16(w, "u16", 60000);
    nt_gw_add_i16(w, "i16", -30000);
    nt_gw_add_u32(w, "u32", 4000000000u);
    nt_gw_add_i32(w, "i32", -2000000000);
    nt_gw_add_u64(w, "u64", (1ull << 63) + 5);
    nt_gw_add_i64(w, "i64", -(1ll << 62) - 7);
    nt_gw_add_f32(w, "f32", 1.5f);
    nt_gw_add_f64(w, "f64", -2.25e300);
    nt_gw_add_bool(w, "yes", true);
    nt_gw_add_bool(w, "no", false);
    nt_gw_add_str(w, "s", "hello");
    nt_gw_add_strn(w, "s.nul", "a\0b\xff", 4);
    nt_gw_add_str(w, "s.empty", "");
    nt_gguf *g = parse_writer(w);

    cr_assert_eq(g->version, 3);
    cr_assert_eq(g->n_kv, 15);
    cr_assert_eq(g->n_tensors, 0);
    cr_assert_eq(must_find(g, "u8")->type, NT_GGUF_UINT8);
    cr_assert_eq(must_find(g, "u8")->v.u64, 200);
    cr_assert_eq(must_find(g, "i8")->type, NT_GGUF_INT8);
    cr_assert_eq(must_find(g, "i8")->v.i64, -5);
    cr_assert_eq(must_find(g, "u16")->v.u64, 60000);
    cr_assert_eq(must_find(g, "i16")->v.i64, -30000);
    cr_assert_eq(must_find(g, "u32")->v.u64, 4000000000u);
    cr_assert_eq(must_find(g, "i32")->v.i64, -2000000000);
    cr_assert_eq(must_find(g, "u64")->type, NT_GGUF_UINT64);
    cr_assert_eq(must_find(g, "u64")->v.u64, (1ull << 63) + 5);
    cr_assert_eq(must_find(g, "i64")->v.i64, -(1ll << 62) - 7);
    cr_assert_eq(must_find(g, "f32")->type, NT_GGUF_FLOAT32);
    cr_assert_eq(must_find(g, "f32")->v.f64, 1.5);
    cr_assert_eq(must_find(g, "f64")->v.f64, -2.25e300);
    cr_assert_eq(must_find(g, "yes")->v.b, true);
    cr_assert_eq(must_find(g, "no")->v.b, false);
    cr_assert(nt_str_eq(must_find(g, "s")->v.str, "hello"));
    nt_str s = must_find(g, "s.nul")->v.str;
    cr_assert_eq(s.len, 4);
    cr_assert_eq(memcmp(s.ptr, "a\0b\xff", 4), 0);
    cr_assert_eq(must_find(g, "s.empty")->v.str.len, 0);
    /* strings point into the buffer, not at copies */
    cr_assert(s.ptr > (const char *)g_buf && s.ptr < (const char *)g_buf + g->size);
}

Test(gguf, numeric_arrays_round_trip)
{
    const uint8_t u8[] = {0, 1, 255};
    const int8_t i8[] = {-128, 0, 127};
    const uint16_t u16[] = {0, 65535};
    const int16_t i16[] = {-32768, 32767};
    const uint32_t u32[] = {1, 0xffffffffu, 7};
    const int32_t i32[] = {-1, 2147483647, -2147483647 - 1};
    const uint64_t u64[] = {1ull << 40};
    const int64_t i64[] = {-(1ll << 50), 3};
    const float f32[] = {0.25f, -1e30f, 3.0f};
    const double f64[] = {1e-300, 2.0};
    const bool bools[] = {true, false, true};
    nt_gw *w = nt_gw_new();
    nt_gw_add_arr(w, "a.u8", NT_GGUF_UINT8, u8, 3);
    nt_gw_add_arr(w, "a.i8", NT_GGUF_INT8, i8, 3);
    nt_gw_add_arr(w, "a.u16", NT_GGUF_UINT16, u16, 2);
    nt_gw_add_arr(w, "a.i16", NT_GGUF_INT16, i16, 2);
    nt_gw_add_arr(w, "a.u32", NT_GGUF_UINT32, u32, 3);
    nt_gw_add_arr(w, "a.i32", NT_GGUF_INT32, i32, 3);
    nt_gw_add_arr(w, "a.u64", NT_GGUF_UINT64, u64, 1);
    nt_gw_add_arr(w, "a.i64", NT_GGUF_INT64, i64, 2);
    nt_gw_add_arr(w, "a.f32", NT_GGUF_FLOAT32, f32, 3);
    nt_gw_add_arr(w, "a.f64", NT_GGUF_FLOAT64, f64, 2);
    nt_gw_add_arr(w, "a.bool", NT_GGUF_BOOL, bools, 3);
    nt_gw_add_arr(w, "a.empty", NT_GGUF_INT32, NULL, 0);
    nt_gguf *g = parse_writer(w);

    const nt_gguf_kv *kv;
    cr_assert_eq(nt_gguf_get_arr(g, "a.u8", NT_GGUF_UINT8, &kv), NEXTTOK_OK);
    cr_assert_eq(kv->arr_len, 3);
    for (int i = 0; i < 3; i++) cr_assert_eq(nt_gguf_arr_int(kv, i), u8[i]);
    cr_assert_eq(nt_gguf_get_arr(g, "a.i8", NT_GGUF_INT8, &kv), NEXTTOK_OK);
    for (int i = 0; i < 3; i++) cr_assert_eq(nt_gguf_arr_int(kv, i), i8[i]);
    cr_assert_eq(nt_gguf_get_arr(g, "a.u16", NT_GGUF_UINT16, &kv), NEXTTOK_OK);
    for (int i = 0; i < 2; i++) cr_assert_eq(nt_gguf_arr_int(kv, i), u16[i]);
    cr_assert_eq(nt_gguf_get_arr(g, "a.i16", NT_GGUF_INT16, &kv), NEXTTOK_OK);
    for (int i = 0; i < 2; i++) cr_assert_eq(nt_gguf_arr_int(kv, i), i16[i]);
    cr_assert_eq(nt_gguf_get_arr(g, "a.u32", NT_GGUF_UINT32, &kv), NEXTTOK_OK);
    for (int i = 0; i < 3; i++) cr_assert_eq(nt_gguf_arr_int(kv, i), (int64_t)u32[i]);
    cr_assert_eq(nt_gguf_get_arr(g, "a.i32", NT_GGUF_INT32, &kv), NEXTTOK_OK);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(nt_gguf_arr_int(kv, i), i32[i]);
        cr_assert_eq(nt_gguf_arr_i32(kv, i), i32[i]);
    }
    cr_assert_eq(nt_gguf_get_arr(g, "a.u64", NT_GGUF_UINT64, &kv), NEXTTOK_OK);
    cr_assert_eq(nt_gguf_arr_int(kv, 0), (int64_t)(1ull << 40));
    cr_assert_eq(nt_gguf_get_arr(g, "a.i64", NT_GGUF_INT64, &kv), NEXTTOK_OK);
    for (int i = 0; i < 2; i++) cr_assert_eq(nt_gguf_arr_int(kv, i), i64[i]);
    cr_assert_eq(nt_gguf_get_arr(g, "a.f32", NT_GGUF_FLOAT32, &kv), NEXTTOK_OK);
    for (int i = 0; i < 3; i++) cr_assert_eq(nt_gguf_arr_f32(kv, i), f32[i]);
    cr_assert_eq(nt_gguf_get_arr(g, "a.f64", NT_GGUF_FLOAT64, &kv), NEXTTOK_OK);
    for (int i = 0; i < 2; i++) {
        double d;
        memcpy(&d, kv->arr_data + 8 * i, 8);
        cr_assert_eq(d, f64[i]);
    }
    cr_assert_eq(nt_gguf_get_arr(g, "a.bool", NT_GGUF_BOOL, &kv), NEXTTOK_OK);
    for (int i = 0; i < 3; i++) cr_assert_eq(kv->arr_data[i] != 0, bools[i]);
    cr_assert_null(kv->arr_strs);
    cr_assert_eq(nt_gguf_get_arr(g, "a.empty", NT_GGUF_INT32, &kv), NEXTTOK_OK);
    cr_assert_eq(kv->arr_len, 0);
}

Test(gguf, string_arrays_decode_every_element)
{
    enum { N = 60000 };
    static char store[N][16];
    static const char *strs[N];
    for (int i = 0; i < N; i++) {
        snprintf(store[i], sizeof store[i], "tok%d", i * 7);
        strs[i] = store[i];
    }
    strs[5] = ""; /* empty strings are legal vocabulary entries */
    nt_gw *w = nt_gw_new();
    nt_gw_add_arr_str(w, "tokenizer.ggml.tokens", strs, N);
    nt_gw_add_arr_str(w, "empty", strs, 0);
    nt_gw_add_u32(w, "after", 99); /* the cursor must land right after the array */
    nt_gguf *g = parse_writer(w);

    const nt_gguf_kv *kv;
    cr_assert_eq(nt_gguf_get_arr(g, "tokenizer.ggml.tokens", NT_GGUF_STRING, &kv), NEXTTOK_OK);
    cr_assert_eq(kv->arr_len, N);
    cr_assert_not_null(kv->arr_strs);
    for (int i = 0; i < N; i++) cr_assert(nt_str_eq(kv->arr_strs[i], strs[i]), "element %d", i);
    cr_assert_eq(nt_gguf_get_arr(g, "empty", NT_GGUF_STRING, &kv), NEXTTOK_OK);
    cr_assert_eq(kv->arr_len, 0);
    int64_t v;
    cr_assert_eq(nt_gguf_get_int(g, "after", &v), NEXTTOK_OK);
    cr_assert_eq(v, 99);
}

/* Encodes [[1,2],[3]] as u32 arrays inside an array, then [["x"],[]]. */
Test(gguf, nested_arrays_are_kept_raw)
{
    uint8_t v[256];
    size_t n = 0;
#define PUT32(x) do { uint32_t t_ = (x); memcpy(v + n, &t_, 4); n += 4; } while (0)
#define PUT64(x) do { uint64_t t_ = (x); memcpy(v + n, &t_, 8); n += 8; } while (0)
    PUT32(NT_GGUF_ARRAY); PUT64(2);
    PUT32(NT_GGUF_UINT32); PUT64(2); PUT32(1); PUT32(2);
    PUT32(NT_GGUF_UINT32); PUT64(1); PUT32(3);
    size_t first = n;
    PUT32(NT_GGUF_ARRAY); PUT64(2);
    PUT32(NT_GGUF_STRING); PUT64(1); PUT64(1); v[n++] = 'x';
    PUT32(NT_GGUF_STRING); PUT64(0);
#undef PUT32
#undef PUT64
    nt_gw *w = nt_gw_new();
    nt_gw_add_raw(w, "nested.u32", 10, NT_GGUF_ARRAY, v, first);
    nt_gw_add_raw(w, "nested.str", 10, NT_GGUF_ARRAY, v + first, n - first);
    nt_gw_add_i32(w, "after", -4);
    nt_gguf *g = parse_writer(w);

    const nt_gguf_kv *kv = must_find(g, "nested.u32");
    cr_assert_eq(kv->type, NT_GGUF_ARRAY);
    cr_assert_eq(kv->arr_type, NT_GGUF_ARRAY);
    cr_assert_eq(kv->arr_len, 2);
    cr_assert_null(kv->arr_strs);
    uint32_t et;
    memcpy(&et, kv->arr_data, 4);
    cr_assert_eq(et, NT_GGUF_UINT32, "arr_data points at the first inner array");
    cr_assert_eq(must_find(g, "nested.str")->arr_len, 2);
    int64_t x;
    cr_assert_eq(nt_gguf_get_int(g, "after", &x), NEXTTOK_OK);
    cr_assert_eq(x, -4);
}

Test(gguf, typed_getters_convert_and_check_types)
{
    nt_gw *w = nt_gw_new();
    nt_gw_add_u8(w, "u8", 7);
    nt_gw_add_i16(w, "i16", -3);
    nt_gw_add_u64(w, "u64.big", UINT64_MAX);
    nt_gw_add_u64(w, "u64.small", 1ull << 40);
    nt_gw_add_f32(w, "f32", 0.5f);
    nt_gw_add_f64(w, "f64", 1e100);
    nt_gw_add_bool(w, "b", true);
    nt_gw_add_str(w, "s", "text");
    const int32_t a[] = {1, 2};
    nt_gw_add_arr(w, "arr", NT_GGUF_INT32, a, 2);
    nt_gguf *g = parse_writer(w);

    int64_t i;
    double d;
    bool b;
    nt_str s;
    const nt_gguf_kv *kv;
    cr_assert_eq(nt_gguf_get_int(g, "u8", &i), NEXTTOK_OK);
    cr_assert_eq(i, 7);
    cr_assert_eq(nt_gguf_get_int(g, "i16", &i), NEXTTOK_OK);
    cr_assert_eq(i, -3);
    cr_assert_eq(nt_gguf_get_int(g, "u64.small", &i), NEXTTOK_OK);
    cr_assert_eq(i, 1ll << 40);
    cr_assert_eq(nt_gguf_get_int(g, "u64.big", &i), NEXTTOK_ERR_FORMAT);
    cr_assert(strstr(nexttok_error_message(), "u64.big"), "%s", nexttok_error_message());
    cr_assert_eq(nt_gguf_get_int(g, "f32", &i), NEXTTOK_ERR_FORMAT);
    cr_assert(strstr(nexttok_error_message(), "float32"), "%s", nexttok_error_message());
    cr_assert_eq(nt_gguf_get_int(g, "missing.key", &i), NEXTTOK_ERR_NOT_FOUND);
    cr_assert(strstr(nexttok_error_message(), "missing.key"), "%s", nexttok_error_message());

    cr_assert_eq(nt_gguf_get_float(g, "f32", &d), NEXTTOK_OK);
    cr_assert_eq(d, 0.5);
    cr_assert_eq(nt_gguf_get_float(g, "f64", &d), NEXTTOK_OK);
    cr_assert_eq(d, 1e100);
    cr_assert_eq(nt_gguf_get_float(g, "i16", &d), NEXTTOK_OK);
    cr_assert_eq(d, -3.0);
    cr_assert_eq(nt_gguf_get_float(g, "u64.big", &d), NEXTTOK_OK);
    cr_assert_eq(d, 18446744073709551615.0);
    cr_assert_eq(nt_gguf_get_float(g, "s", &d), NEXTTOK_ERR_FORMAT);
    cr_assert(strstr(nexttok_error_message(), "'s'") && strstr(nexttok_error_message(), "string"), "%s",
              nexttok_error_message());

    cr_assert_eq(nt_gguf_get_bool(g, "b", &b), NEXTTOK_OK);
    cr_assert(b);
    cr_assert_eq(nt_gguf_get_bool(g, "u8", &b), NEXTTOK_ERR_FORMAT);
    cr_assert(strstr(nexttok_error_message(), "expected bool, got uint8"), "%s", nexttok_error_message());

    cr_assert_eq(nt_gguf_get_str(g, "s", &s), NEXTTOK_OK);
    cr_assert(nt_str_eq(s, "text"));
    cr_assert_eq(nt_gguf_get_str(g, "arr", &s), NEXTTOK_ERR_FORMAT);
    cr_assert(strstr(nexttok_error_message(), "expected string, got array of int32"), "%s",
              nexttok_error_message());

    cr_assert_eq(nt_gguf_get_arr(g, "arr", NT_GGUF_INT32, &kv), NEXTTOK_OK);
    cr_assert_eq(kv->arr_len, 2);
    cr_assert_eq(nt_gguf_get_arr(g, "arr", NT_GGUF_UINT32, &kv), NEXTTOK_ERR_FORMAT);
    cr_assert(strstr(nexttok_error_message(), "expected array of uint32, got array of int32"), "%s",
              nexttok_error_message());
    cr_assert_eq(nt_gguf_get_arr(g, "s", NT_GGUF_STRING, &kv), NEXTTOK_ERR_FORMAT);
    cr_assert_eq(nt_gguf_get_arr(g, "nope", NT_GGUF_STRING, &kv), NEXTTOK_ERR_NOT_FOUND);
}

Test(gguf, tensors_and_default_alignment)
{
    float v[6] = {1.0f, -2.5f, 3.25f, 0.0f, 1e-3f, -7.0f};
    int64_t ne2[2] = {3, 2};
    int64_t ne1[1] = {64};
    uint8_t q8[2 * 34];
    static const float zeros64[64];
    for (size_t i = 0; i < sizeof q8; i++) q8[i] = (uint8_t)(i * 13);
    nt_gw *w = nt_gw_new();
    nt_gw_add_str(w, "general.architecture", "llama");
    nt_gw_add_tensor_f32(w, "a.f32", NT_TYPE_F32, 2, ne2, v);
    nt_gw_add_tensor_f32(w, "b.f16", NT_TYPE_F16, 2, ne2, v);
    nt_gw_add_tensor_f32(w, "c.bf16", NT_TYPE_BF16, 1, ne1, zeros64);
    nt_gw_add_tensor(w, "d.q8_0", NT_TYPE_Q8_0, 1, (int64_t[]){64}, q8, sizeof q8);
    nt_gguf *g = parse_writer(w);

    cr_assert_eq(g->alignment, 32);
    cr_assert_eq(g->data_offset % 32, 0);
    cr_assert_eq(g->n_tensors, 4);
    const nt_gguf_tensor *t = nt_gguf_tensor_find(g, "a.f32");
    cr_assert_not_null(t);
    cr_assert_eq(t->n_dims, 2);
    cr_assert_eq(t->ne[0], 3);
    cr_assert_eq(t->ne[1], 2);
    cr_assert_eq(t->ne[2], 1);
    cr_assert_eq(t->ne[3], 1);
    cr_assert_eq(t->type, NT_TYPE_F32);
    cr_assert_eq(t->nbytes, 24);
    cr_assert_eq(memcmp(t->data, v, 24), 0);
    cr_assert_eq((const uint8_t *)t->data, g_buf + g->data_offset + t->offset);

    t = nt_gguf_tensor_find(g, "b.f16");
    cr_assert_eq(t->nbytes, 12);
    cr_assert_eq(t->offset % 32, 0);
    for (int i = 0; i < 6; i++) {
        uint16_t h;
        memcpy(&h, (const uint8_t *)t->data + 2 * i, 2);
        cr_assert_eq(nt_fp16_to_fp32(h), nt_fp16_to_fp32(nt_fp32_to_fp16(v[i])));
    }
    t = nt_gguf_tensor_find(g, "c.bf16");
    cr_assert_eq(t->nbytes, 128);
    t = nt_gguf_tensor_find(g, "d.q8_0");
    cr_assert_eq(t->nbytes, 68); /* two blocks of 34 bytes */
    cr_assert_eq(memcmp(t->data, q8, sizeof q8), 0);
    cr_assert_eq(t->offset % 32, 0);
    cr_assert_null(nt_gguf_tensor_find(g, "d.q8"));
    cr_assert_null(nt_gguf_tensor_find(g, "d.q8_0x"));
    cr_assert_null(nt_gguf_kv_find(g, "general"));
}

static void check_alignment(uint32_t a)
{
    nt_gw *w = nt_gw_new();
    nt_gw_set_alignment(w, a);
    nt_gw_add_tensor(w, "x", NT_TYPE_F32, 1, (int64_t[]){3}, NULL, 12);
    nt_gw_add_tensor(w, "y", NT_TYPE_F32, 1, (int64_t[]){5}, NULL, 20);
    nt_gguf *g = parse_writer(w);
    cr_assert_eq(g->alignment, a);
    cr_assert_eq(g->data_offset % a, 0);
    const nt_gguf_tensor *y = nt_gguf_tensor_find(g, "y");
    cr_assert_eq(y->offset, (12 + a - 1) / a * a, "alignment %u", a);
    cr_assert_eq(g->data_offset + y->offset + y->nbytes, g->size);
    teardown();
}

Test(gguf, custom_alignment_moves_data)
{
    check_alignment(1);
    check_alignment(8);
    check_alignment(64);
    check_alignment(4096);
}

Test(gguf, version_2_parses)
{
    nt_gw *w = nt_gw_new();
    nt_gw_knobs_get(w)->version = 2;
    nt_gw_add_str(w, "general.architecture", "gpt2");
    nt_gguf *g = parse_writer(w);
    cr_assert_eq(g->version, 2);
    nt_str s;
    cr_assert_eq(nt_gguf_get_str(g, "general.architecture", &s), NEXTTOK_OK);
    cr_assert(nt_str_eq(s, "gpt2"));
}

Test(gguf, many_tensors_look_up)
{
    enum { N = 1500 };
    nt_gw *w = nt_gw_new();
    char name[64];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "blk.%d.attn_q.weight", i);
        int64_t ne[2] = {1 + i % 7, 1 + i % 3};
        nt_gw_add_tensor(w, name, NT_TYPE_F32, 2, ne, NULL, (size_t)(ne[0] * ne[1] * 4));
        snprintf(name, sizeof name, "key.%d", i);
        nt_gw_add_i32(w, name, i);
    }
    nt_gguf *g = parse_writer(w);
    cr_assert_eq(g->n_tensors, N);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "blk.%d.attn_q.weight", i);
        const nt_gguf_tensor *t = nt_gguf_tensor_find(g, name);
        cr_assert_not_null(t, "%s", name);
        cr_assert_str_eq(t->name, name);
        cr_assert_eq(t->ne[0], 1 + i % 7);
        snprintf(name, sizeof name, "key.%d", i);
        int64_t v;
        cr_assert_eq(nt_gguf_get_int(g, name, &v), NEXTTOK_OK);
        cr_assert_eq(v, i);
    }
}

Test(gguf, open_maps_a_file)
{
    char path[] = "/tmp/nt_gguf_test_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    nt_gw *w = nt_gw_new();
    nt_gw_add_str(w, "general.architecture", "gpt2");
    nt_gw_add_tensor(w, "t", NT_TYPE_F32, 1, (int64_t[]){2}, (float[]){4.0f, 5.0f}, 8);
    cr_assert(nt_gw_write_file(w, path));
    nt_gw_free(w);
    nt_gguf *g = NULL;
    cr_assert_eq(nt_gguf_open(path, &g), NEXTTOK_OK, "%s", nexttok_error_message());
    unlink(path);
    cr_assert(g->mapped);
    const nt_gguf_tensor *t = nt_gguf_tensor_find(g, "t");
    float f[2];
    memcpy(f, t->data, 8);
    cr_assert_eq(f[0], 4.0f);
    cr_assert_eq(f[1], 5.0f);
    nt_gguf_close(g);
    nt_gguf_close(NULL);
}

Test(gguf, open_reports_missing_file)
{
    nt_gguf *g = (nt_gguf *)1;
    cr_assert_eq(nt_gguf_open("/nonexistent/dir/model.gguf", &g), NEXTTOK_ERR_IO);
    cr_assert_null(g);
    cr_assert(strstr(nexttok_error_message(), "/nonexistent/dir/model.gguf"), "%s", nexttok_error_message());
    cr_assert_eq(nt_gguf_open("/tmp", &g), NEXTTOK_ERR_IO);
}

Test(gguf, vtype_names_and_str_eq)
{
    cr_assert_str_eq(nt_gguf_vtype_name(NT_GGUF_UINT32), "uint32");
    cr_assert_str_eq(nt_gguf_vtype_name(NT_GGUF_STRING), "string");
    cr_assert_str_eq(nt_gguf_vtype_name(NT_GGUF_FLOAT64), "float64");
    cr_assert_str_eq(nt_gguf_vtype_name((nt_gguf_vtype)13), "unknown");
    nt_str s = {"abc", 3};
    cr_assert(nt_str_eq(s, "abc"));
    cr_assert_not(nt_str_eq(s, "ab"));
    cr_assert_not(nt_str_eq(s, "abcd"));
    nt_str e = {"", 0};
    cr_assert(nt_str_eq(e, ""));
}

/* --- real files ------------------------------------------------------------------ */

/* Header counts read straight from the file, independent of the reader. */
static void read_header_counts(const char *path, uint64_t *n_tensors, uint64_t *n_kv)
{
    uint8_t h[24];
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    cr_assert_eq(fread(h, 1, 24, f), 24);
    fclose(f);
    cr_assert_eq(memcmp(h, "GGUF", 4), 0);
    memcpy(n_tensors, h + 8, 8);
    memcpy(n_kv, h + 16, 8);
}

static int check_fixture_dir(const char *sub, bool models)
{
    char dir[4096];
    if (!nt_test_fixture_path(sub, dir, sizeof dir)) return -1;
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".gguf") != 0) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        uint64_t want_tensors, want_kv;
        read_header_counts(path, &want_tensors, &want_kv);
        nt_gguf *g = NULL;
        cr_assert_eq(nt_gguf_open(path, &g), NEXTTOK_OK, "%s: %s", path, nexttok_error_message());
        cr_assert_eq(g->version, 3, "%s", path);
        cr_assert_eq(g->n_tensors, want_tensors, "%s", path);
        cr_assert_eq(g->n_kv, want_kv, "%s", path);
        nt_str arch;
        cr_assert_eq(nt_gguf_get_str(g, "general.architecture", &arch), NEXTTOK_OK, "%s: %s", path,
                     nexttok_error_message());
        cr_assert_gt(arch.len, 0);
        const nt_gguf_kv *toks;
        cr_assert_eq(nt_gguf_get_arr(g, "tokenizer.ggml.tokens", NT_GGUF_STRING, &toks), NEXTTOK_OK, "%s: %s",
                     path, nexttok_error_message());
        cr_assert_gt(toks->arr_len, 0);
        for (uint64_t i = 0; i < toks->arr_len; i++) {
            const char *p = toks->arr_strs[i].ptr;
            cr_assert(p >= (const char *)g->base && p + toks->arr_strs[i].len <= (const char *)g->base + g->size);
        }
        if (models) {
            cr_assert_gt(g->n_tensors, 0, "%s", path);
            cr_assert(nt_str_eq(arch, "gpt2") || nt_str_eq(arch, "llama"), "%s", path);
            /* the token embedding has one row per vocabulary entry */
            const nt_gguf_tensor *emb = nt_gguf_tensor_find(g, "token_embd.weight");
            cr_assert_not_null(emb, "%s", path);
            cr_assert_eq((uint64_t)emb->ne[1], toks->arr_len, "%s", path);
        }
        uint64_t end_max = 0;
        for (uint64_t i = 0; i < g->n_tensors; i++) {
            const nt_gguf_tensor *t = &g->tensors[i];
            uint64_t start = g->data_offset + t->offset;
            cr_assert_leq(start + t->nbytes, g->size, "%s: %s", path, t->name);
            cr_assert_eq(t->offset % g->alignment, 0);
            cr_assert_eq((const uint8_t *)t->data, g->base + start);
            cr_assert_eq(nt_gguf_tensor_find(g, t->name), t);
            if (start + t->nbytes > end_max) end_max = start + t->nbytes;
            if (t->type == NT_TYPE_F32)
                cr_assert_eq(t->nbytes, 4ull * t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
        }
        if (g->n_tensors) /* the last tensor ends at most one alignment unit before EOF */
            cr_assert_leq(g->size - end_max, g->alignment, "%s", path);
        for (uint64_t i = 0; i < g->n_kv; i++) cr_assert_eq(nt_gguf_kv_find(g, g->kv[i].key), &g->kv[i]);
        nt_gguf_close(g);
        count++;
    }
    closedir(d);
    return count;
}

Test(gguf_fixtures, model_files_parse)
{
    int n = check_fixture_dir("models", true);
    if (n < 0) cr_skip(NT_SKIP_MSG);
    cr_assert_gt(n, 0);
}

Test(gguf_fixtures, vocab_files_parse)
{
    int n = check_fixture_dir("vocab", false);
    if (n < 0) cr_skip(NT_SKIP_MSG);
    cr_assert_gt(n, 0);
}

Test(gguf_fixtures, gpt2_tiny_facts)
{
    char path[4096];
    if (!nt_test_fixture_path("models/gpt2-tiny-f32.gguf", path, sizeof path)) cr_skip(NT_SKIP_MSG);
    nt_gguf *g = NULL;
    cr_assert_eq(nt_gguf_open(path, &g), NEXTTOK_OK, "%s", nexttok_error_message());
    const nt_gguf_kv *toks;
    cr_assert_eq(nt_gguf_get_arr(g, "tokenizer.ggml.tokens", NT_GGUF_STRING, &toks), NEXTTOK_OK);
    cr_assert_eq(toks->arr_len, 50257); /* the real GPT-2 vocabulary */
    cr_assert(nt_str_eq(toks->arr_strs[0], "!"));
    cr_assert(nt_str_eq(toks->arr_strs[50256], "<|endoftext|>"));
    int64_t v;
    cr_assert_eq(nt_gguf_get_int(g, "gpt2.embedding_length", &v), NEXTTOK_OK);
    cr_assert_eq(v, 32);
    cr_assert_eq(nt_gguf_get_int(g, "gpt2.block_count", &v), NEXTTOK_OK);
    cr_assert_eq(v, 2);
    nt_gguf_close(g);
}
