/* Write a random-weight GPT-2 or Llama GGUF of any shape, for benchmarks:
 *   make_model OUT.gguf ARCH TYPE n_vocab n_embd n_layer n_head n_head_kv n_ff n_ctx
 * TYPE is f32, f16, bf16, q8_0 or q4_0 (matrices quantized by the reference
 * quantizer of tests/support/quantize.c; norms stay F32). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/tiny_model.h"
#include "types/types.h"

int main(int argc, char **argv)
{
    if (argc != 11) {
        fprintf(stderr, "usage: %s OUT.gguf ARCH f32|f16|bf16|q8_0|q4_0 n_vocab n_embd n_layer n_head n_head_kv n_ff n_ctx\n", argv[0]);
        return 2;
    }
    nt_tiny_spec sp = nt_tiny_spec_default(argv[2]);
    uint32_t type = strcmp(argv[3], "f16") == 0    ? NT_TYPE_F16
                    : strcmp(argv[3], "bf16") == 0 ? NT_TYPE_BF16
                    : strcmp(argv[3], "q8_0") == 0 ? NT_TYPE_Q8_0
                    : strcmp(argv[3], "q4_0") == 0 ? NT_TYPE_Q4_0
                                                   : NT_TYPE_F32;
    sp.weight_type = type;
    sp.round_to = type == NT_TYPE_Q8_0 || type == NT_TYPE_Q4_0 ? NT_TYPE_F32 : type;
    sp.n_vocab = atoi(argv[4]);
    sp.n_embd = atoi(argv[5]);
    sp.n_layer = atoi(argv[6]);
    sp.n_head = atoi(argv[7]);
    sp.n_head_kv = atoi(argv[8]);
    sp.n_ff = atoi(argv[9]);
    sp.n_ctx = atoi(argv[10]);
    nt_gw *w = nt_tiny_model_writer(&sp);
    bool ok = nt_gw_write_file(w, argv[1]);
    nt_gw_free(w);
    if (!ok) {
        fprintf(stderr, "make_model: cannot write %s\n", argv[1]);
        return 1;
    }
    return 0;
}
