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

/* Usage: prog             run every test, each in a forked child
 *        prog --list      print the test names
 *        prog NAME        run test NAME (suite::name) in this process
 * The last two serve qemu-user, where fork() hangs the child: the caller
 * starts one process per test instead. */
int main(int argc, char **argv)
{
    if (argc > 1) {
        for (int i = 0; i < nt_mini_n_tests; i++) {
            char full[256];
            snprintf(full, sizeof full, "%s::%s", nt_mini_tests[i].suite, nt_mini_tests[i].name);
            if (strcmp(argv[1], "--list") == 0) {
                puts(full);
            } else if (strcmp(argv[1], full) == 0) {
                nt_mini_tests[i].fn();
                printf("[PASS] %s\n", full);
                return 0;
            }
        }
        if (strcmp(argv[1], "--list") == 0) return 0;
        fprintf(stderr, "no test named %s\n", argv[1]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int failed = 0;
    const char *filter = getenv("NT_TEST_FILTER"); /* substring of suite::name */
    for (int i = 0; i < nt_mini_n_tests; i++) {
        char full[256];
        snprintf(full, sizeof full, "%s::%s", nt_mini_tests[i].suite, nt_mini_tests[i].name);
        if (filter && !strstr(full, filter)) continue;
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
        printf("[%s] %s\n", ok ? "PASS" : "FAIL", full);
        failed += !ok;
    }
    printf("%d tests, %d failed\n", nt_mini_n_tests, failed);
    return failed ? 1 : 0;
}
