/* Criterion, or its stand-in when the kernel tests are built standalone
 * (-DNT_STANDALONE_TEST, for the aarch64 cross run under qemu). */
#ifndef NT_TEST_HARNESS_H
#define NT_TEST_HARNESS_H

#ifdef NT_STANDALONE_TEST
#  include "mini_test.h"
#else
#  include <criterion/criterion.h>
#endif

#endif
