/* Unit tests for hc_rendezvous: determinism, spread, minimal movement when
 * a node goes, liveness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hc_rendezvous.h"

static const char *const nodes[] = {"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"};
#define NKEYS 3000

static int pick(const char *const *ns, const bool *alive, size_t n, int i)
{
    char key[64];
    int len = snprintf(key, sizeof key, "app-id:channel-%d", i);
    return hc_rendezvous_pick(ns, alive, n, key, (size_t)len);
}

static void test_deterministic(void **state)
{
    (void)state;
    uint64_t a = hc_rendezvous_score("n1", 2, "k", 1);
    assert_int_equal(a, hc_rendezvous_score("n1", 2, "k", 1));
    assert_int_not_equal(a, hc_rendezvous_score("n2", 2, "k", 1));
    assert_int_not_equal(a, hc_rendezvous_score("n1", 2, "j", 1));
    /* node/key boundary matters: ("ab","c") differs from ("a","bc") */
    assert_int_not_equal(hc_rendezvous_score("ab", 2, "c", 1),
                         hc_rendezvous_score("a", 1, "bc", 2));
    for (int i = 0; i < 100; i++)
        assert_int_equal(pick(nodes, NULL, 3, i), pick(nodes, NULL, 3, i));
}

static void test_stable_value(void **state)
{
    (void)state;
    /* Pinned: the score must never change between versions, or gateways of
     * mixed versions would disagree on owners. FNV-1a("a\0b") then the
     * splitmix64 finaliser. */
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char in[] = {'a', 0, 'b'};
    for (int i = 0; i < 3; i++) {
        h ^= in[i];
        h *= 0x100000001b3ull;
    }
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    h ^= h >> 31;
    assert_int_equal(hc_rendezvous_score("a", 1, "b", 1), h);
}

static void test_even_distribution(void **state)
{
    (void)state;
    int count[3] = {0};
    for (int i = 0; i < NKEYS; i++) {
        int o = pick(nodes, NULL, 3, i);
        assert_true(o >= 0 && o < 3);
        count[o]++;
    }
    for (int j = 0; j < 3; j++)
        assert_true(count[j] > NKEYS / 5);
}

static void test_removal_moves_only_its_keys(void **state)
{
    (void)state;
    const char *const two[] = {nodes[0], nodes[2]}; /* node 1 removed */
    int moved = 0;
    for (int i = 0; i < NKEYS; i++) {
        int before = pick(nodes, NULL, 3, i);
        int after = pick(two, NULL, 2, i);
        const char *owner_after = two[after];
        if (before != 1)
            assert_string_equal(owner_after, nodes[before]);
        else
            moved++;
    }
    assert_true(moved > NKEYS / 5);
}

static void test_alive_respected(void **state)
{
    (void)state;
    bool alive[3] = {true, false, true};
    int count[3] = {0};
    for (int i = 0; i < NKEYS; i++) {
        int all = pick(nodes, NULL, 3, i);
        int o = pick(nodes, alive, 3, i);
        assert_int_not_equal(o, 1);
        if (all != 1)
            assert_int_equal(o, all);
        count[o]++;
    }
    assert_true(count[0] > 0 && count[2] > 0);
    bool only2[3] = {false, false, true};
    for (int i = 0; i < 50; i++)
        assert_int_equal(pick(nodes, only2, 3, i), 2);
}

static void test_none_alive(void **state)
{
    (void)state;
    bool none[3] = {false, false, false};
    assert_int_equal(pick(nodes, none, 3, 7), -1);
    assert_int_equal(pick(nodes, NULL, 0, 7), -1);
}

static void test_ties_lower_index(void **state)
{
    (void)state;
    /* the same node listed twice scores the same: the lower index wins */
    const char *const dup[] = {"x:1", "x:1"};
    for (int i = 0; i < 20; i++)
        assert_int_equal(pick(dup, NULL, 2, i), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_stable_value),
        cmocka_unit_test(test_even_distribution),
        cmocka_unit_test(test_removal_moves_only_its_keys),
        cmocka_unit_test(test_alive_respected),
        cmocka_unit_test(test_none_alive),
        cmocka_unit_test(test_ties_lower_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
