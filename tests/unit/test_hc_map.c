/* Unit tests for hc_map: many keys, deletion by backward shift (checked
 * with a structural invariant and a reference model), iteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hc_map.h"

#define N 10000

static int key_of(int i, char *buf)
{
    return snprintf(buf, 32, "key-%d", i);
}

/* Every entry must be reachable: no empty slot between its home slot and
 * where it sits (what backward-shift deletion must preserve); stored hashes
 * and count must be right. */
static void check_invariant(const hc_map *m)
{
    size_t used = 0;
    for (size_t i = 0; i < m->cap; i++) {
        const hc_map_entry *e = &m->slots[i];
        if (!e->key)
            continue;
        used++;
        assert_int_equal(e->hash, hc_hash_bytes(e->key, e->klen));
        for (size_t j = (size_t)e->hash & (m->cap - 1); j != i; j = (j + 1) & (m->cap - 1))
            assert_non_null(m->slots[j].key);
    }
    assert_int_equal(used, m->count);
    assert_true(m->count * 4 <= m->cap * 3 || m->cap == 0);
}

static void test_empty(void **state)
{
    (void)state;
    hc_map m = HC_MAP_INIT;
    assert_null(hc_map_get(&m, "x", 1));
    assert_null(hc_map_del(&m, "x", 1));
    hc_map_iter it;
    hc_map_iter_init(&it, &m);
    assert_null(hc_map_iter_next(&it));
    hc_map_free(&m);
}

static void test_put_get_replace(void **state)
{
    (void)state;
    hc_map m = HC_MAP_INIT;
    int a = 1, b = 2;
    assert_null(hc_map_put(&m, "k", 1, &a));
    assert_ptr_equal(hc_map_get(&m, "k", 1), &a);
    assert_ptr_equal(hc_map_put(&m, "k", 1, &b), &a);
    assert_ptr_equal(hc_map_get(&m, "k", 1), &b);
    assert_int_equal(m.count, 1);
    /* keys are byte strings: prefixes and embedded NULs are distinct keys */
    assert_null(hc_map_get(&m, "kk", 2));
    assert_null(hc_map_get(&m, "k\0", 2));
    assert_null(hc_map_put(&m, "k\0x", 3, &a));
    assert_ptr_equal(hc_map_get(&m, "k\0x", 3), &a);
    assert_ptr_equal(hc_map_get(&m, "k", 1), &b);
    assert_null(hc_map_put(&m, "", 0, &a));
    assert_ptr_equal(hc_map_get(&m, "", 0), &a);
    assert_int_equal(m.count, 3);
    hc_map_free(&m);
}

static void test_key_copied(void **state)
{
    (void)state;
    hc_map m = HC_MAP_INIT;
    char key[8] = "abc";
    int v = 7;
    hc_map_put(&m, key, 3, &v);
    strcpy(key, "zzz");
    assert_ptr_equal(hc_map_get(&m, "abc", 3), &v);
    assert_null(hc_map_get(&m, "zzz", 3));
    hc_map_free(&m);
}

static void test_many(void **state)
{
    (void)state;
    hc_map m = HC_MAP_INIT;
    static int vals[N];
    char k[32];
    for (int i = 0; i < N; i++) {
        vals[i] = i;
        assert_null(hc_map_put(&m, k, (size_t)key_of(i, k), &vals[i]));
    }
    assert_int_equal(m.count, N);
    check_invariant(&m);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(hc_map_get(&m, k, (size_t)key_of(i, k)), &vals[i]);
    assert_null(hc_map_get(&m, "key-10000", 9));
    /* delete the odd ones */
    for (int i = 1; i < N; i += 2)
        assert_ptr_equal(hc_map_del(&m, k, (size_t)key_of(i, k)), &vals[i]);
    assert_int_equal(m.count, N / 2);
    check_invariant(&m);
    for (int i = 0; i < N; i++) {
        void *v = hc_map_get(&m, k, (size_t)key_of(i, k));
        if (i % 2)
            assert_null(v);
        else
            assert_ptr_equal(v, &vals[i]);
    }
    assert_null(hc_map_del(&m, "key-1", 5)); /* already gone */
    for (int i = 0; i < N; i += 2)
        assert_ptr_equal(hc_map_del(&m, k, (size_t)key_of(i, k)), &vals[i]);
    assert_int_equal(m.count, 0);
    check_invariant(&m);
    hc_map_free(&m);
}

/* Random puts and deletes on a small key space (long probe clusters, many
 * wrap-arounds) checked against a plain array after every step. */
static void test_random_against_model(void **state)
{
    (void)state;
    enum { KEYS = 300, STEPS = 20000 };
    static int vals[KEYS];
    void *model[KEYS] = {0};
    size_t live = 0;
    hc_map m = HC_MAP_INIT;
    srand(12345);
    char k[32];
    for (int s = 0; s < STEPS; s++) {
        int i = rand() % KEYS;
        size_t kl = (size_t)key_of(i, k);
        if (rand() % 3) {
            assert_ptr_equal(hc_map_put(&m, k, kl, &vals[i]), model[i]);
            live += model[i] == NULL;
            model[i] = &vals[i];
        } else {
            assert_ptr_equal(hc_map_del(&m, k, kl), model[i]);
            live -= model[i] != NULL;
            model[i] = NULL;
        }
        assert_int_equal(m.count, live);
        if (s % 1000 == 0) {
            check_invariant(&m);
            for (int j = 0; j < KEYS; j++)
                assert_ptr_equal(hc_map_get(&m, k, (size_t)key_of(j, k)), model[j]);
        }
    }
    check_invariant(&m);
    hc_map_free(&m);
}

/* Deleting inside a cluster that wraps around the end of the table. */
static void test_shift_across_wrap(void **state)
{
    (void)state;
    hc_map m = HC_MAP_INIT;
    int v = 1;
    /* seed keys until the table has 16 slots (it starts smaller) */
    char seed[16];
    for (int i = 0; m.cap < 16; i++)
        hc_map_put(&m, seed, (size_t)snprintf(seed, sizeof(seed), "seed%d", i), &v);
    assert_int_equal(m.cap, 16);
    size_t cap = m.cap, mask = cap - 1;
    /* find 5 keys whose home is the last slot (12 entries fit in 16) */
    enum { WRAP = 5 };
    char keys[WRAP][32];
    int found = 0;
    for (int i = 0; found < WRAP; i++) {
        char k[32];
        size_t kl = (size_t)key_of(i, k);
        if ((hc_hash_bytes(k, kl) & mask) == mask)
            memcpy(keys[found++], k, kl + 1);
    }
    for (int i = 0; i < WRAP; i++)
        hc_map_put(&m, keys[i], strlen(keys[i]), &v);
    assert_int_equal(m.cap, cap);
    check_invariant(&m);
    for (int i = 0; i < WRAP; i += 2) {
        assert_ptr_equal(hc_map_del(&m, keys[i], strlen(keys[i])), &v);
        check_invariant(&m);
    }
    for (int i = 1; i < WRAP; i += 2)
        assert_ptr_equal(hc_map_get(&m, keys[i], strlen(keys[i])), &v);
    assert_ptr_equal(hc_map_get(&m, "seed0", 5), &v);
    hc_map_free(&m);
}

static void test_iteration_once_each(void **state)
{
    (void)state;
    hc_map m = HC_MAP_INIT;
    static int vals[1000];
    static int seen[1000];
    char k[32];
    for (int i = 0; i < 1000; i++) {
        vals[i] = i;
        hc_map_put(&m, k, (size_t)key_of(i, k), &vals[i]);
    }
    for (int i = 0; i < 1000; i += 3)
        hc_map_del(&m, k, (size_t)key_of(i, k));
    hc_map_iter it;
    hc_map_iter_init(&it, &m);
    hc_map_entry *e;
    size_t n = 0;
    while ((e = hc_map_iter_next(&it))) {
        int i = *(int *)e->value;
        char want[32];
        key_of(i, want);
        assert_string_equal(e->key, want);
        assert_int_equal(e->klen, strlen(want));
        seen[i]++;
        n++;
    }
    assert_int_equal(n, m.count);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(seen[i], i % 3 ? 1 : 0);
    hc_map_free(&m);
}

static void test_hash_spreads(void **state)
{
    (void)state;
    assert_int_not_equal(hc_hash_bytes("a", 1), hc_hash_bytes("b", 1));
    assert_int_equal(hc_hash_bytes("abc", 3), hc_hash_bytes("abc", 3));
    /* low bits of sequential keys land in all 16 buckets */
    int buckets[16] = {0};
    char k[32];
    for (int i = 0; i < 1600; i++)
        buckets[hc_hash_bytes(k, (size_t)key_of(i, k)) & 15]++;
    for (int b = 0; b < 16; b++)
        assert_true(buckets[b] > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_put_get_replace),
        cmocka_unit_test(test_key_copied),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_shift_across_wrap),
        cmocka_unit_test(test_iteration_once_each),
        cmocka_unit_test(test_hash_spreads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
