/* The registry and runner behind mini_test.h (standalone builds only). */
#include "mini_test.h"

#include <sys/wait.h>
#include <unistd.h>

typedef struct nt_mini_test {
    const char *suite, *name;
    void (*fn)(void);
} nt_mini_test;

#define NT_MINI_MAX_TESTS 256
static nt_mini_test nt_mini_tests[NT_MINI_MAX_TESTS];
static int nt_mini_n_tests;

void nt_mini_register(const char *suite, const char *name, void (*fn)(void))
{
    if (nt_mini_n_tests < NT_MINI_MAX_TESTS)
        nt_mini_tests[nt_mini_n_tests++] = (nt_mini_test){suite, name, fn};
}

int main(void)
{
    int failed = 0;
    for (int i = 0; i < nt_mini_n_tests; i++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 2; }
        if (pid == 0) {
            nt_mini_tests[i].fn();
            fflush(NULL);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        printf("[%s] %s::%s\n", ok ? "PASS" : "FAIL", nt_mini_tests[i].suite, nt_mini_tests[i].name);
        failed += !ok;
    }
    printf("%d tests, %d failed\n", nt_mini_n_tests, failed);
    return failed ? 1 : 0;
}
