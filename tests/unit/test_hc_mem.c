/* Unit tests for hc_mem: the wrappers return usable memory and abort (in a
 * child process) when an allocation cannot be satisfied. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hc_mem.h"

static void test_strdup(void **state)
{
    (void)state;
    char *s = hc_strdup("hello");
    assert_string_equal(s, "hello");
    free(s);
    s = hc_strndup("hello world", 5);
    assert_string_equal(s, "hello");
    free(s);
    s = hc_strndup("a\0b", 3); /* copies n bytes even past a NUL */
    assert_memory_equal(s, "a\0b", 4);
    free(s);
}

static void test_calloc_zeroed_and_realloc_keeps(void **state)
{
    (void)state;
    unsigned char *p = hc_calloc(100, 4);
    for (int i = 0; i < 400; i++)
        assert_int_equal(p[i], 0);
    memset(p, 7, 400);
    p = hc_realloc(p, 100000);
    for (int i = 0; i < 400; i++)
        assert_int_equal(p[i], 7);
    free(p);
    void *z = hc_malloc(0); /* never NULL */
    assert_non_null(z);
    free(z);
}

static void test_oom_aborts(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(STDERR_FILENO); /* keep the test output clean */
        volatile size_t huge = SIZE_MAX / 2;
        void *p = hc_malloc(huge);
        (void)p;
        _exit(0); /* reaching here is the failure */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strdup),
        cmocka_unit_test(test_calloc_zeroed_and_realloc_keeps),
        cmocka_unit_test(test_oom_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
