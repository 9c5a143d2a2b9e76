/* The compiled search engine around the generated step functions.
 *
 * Included at the end of the generated source (codegen.py), which defines
 * the layout (SIZE, NA, NP, NM, NG, PW, AW, BB, the offsets, KIND), the
 * group functions and actor_steps(), the property checks (bad_inv,
 * bad_act), is_final, atoms_of, state_groups and the label tables.
 *
 * What it does, each part the counterpart of a Python one:
 *   - the successors of a state, fine or macro (model/machine.py
 *     step_successors: actors in order, each actor's steps in the model's
 *     order; a macro step runs one actor's fine steps depth first to a
 *     boundary program counter, following each inner state once);
 *   - the canonical form under symmetry (model/symmetry.py, the same
 *     algorithm, so the same bytes);
 *   - breadth-first search in two phases per chunk of the frontier: phase A
 *     (any number of threads, each on its own part, no shared writes but
 *     the label table under a lock) checks the properties and computes the
 *     distinct canonical successors with their fingerprints; phase B (one
 *     thread, in frontier order) looks them up in the visited set, numbers
 *     the new ones and records parents and edges. The numbering is the one
 *     the Python engine gives, whatever the number of threads.
 *   - the visited set: 64-bit fingerprints in an open-addressing table
 *     with the state's number beside each; with `exact`, the canonical
 *     states too, compared on every fingerprint match.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

/* What Python calls (the library is built with hidden visibility). */
#define API __attribute__((visibility("default")))

/* ---- growable arrays ------------------------------------------------------ */

#define GROW(ptr, cap, need, type)                                              \
    do {                                                                        \
        if ((size_t)(need) > (cap)) {                                           \
            size_t nc_ = (cap) ? (cap) : 64;                                    \
            while (nc_ < (size_t)(need)) nc_ *= 2;                              \
            void *np_ = realloc((ptr), nc_ * sizeof(type));                     \
            if (!np_) { oom = 1; break; }                                       \
            (ptr) = (type *)np_;                                                \
            (cap) = nc_;                                                        \
        }                                                                       \
    } while (0)

static __thread int oom;

/* ---- fingerprints --------------------------------------------------------- */

static inline uint64_t fmix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static uint64_t fingerprint(const uint8_t *s) {
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)SIZE;
    int i = 0;
    for (; i + 8 <= SIZE; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h ^= fmix64(w + 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1));
        h = ((h << 31) | (h >> 33)) * 0x87c37b91114253d5ULL;
    }
    uint64_t w = 0;
    memcpy(&w, s + i, SIZE - i);
    h ^= fmix64(w ^ 0x5bd1e9955bd1e995ULL);
    h = fmix64(h);
    return h ? h : 1; /* 0 marks an empty slot */
}

/* ---- the canonical form (model/symmetry.py) ------------------------------- */

enum { K_PLAIN = 0, K_GREF = 1, K_PREF = 2, K_MREF = 3, K_MASK = 4 };
#define MOWN_LEN (A_MASK_LO + A_GREF_N) /* its plain fields, then its G refs by class */
#define PKEY_LEN (4 + (PW - 5) + MOWN_LEN + 1)
#define MKEY_LEN (MOWN_LEN + A_PREF_N + 2)

#define MAXORD (NP > NM ? NP : NM)
typedef struct {
    int n;        /* elements */
    int order[MAXORD];
    int gstart[MAXORD], gend[MAXORD], ngroups; /* tie groups: [gstart, gend) in order */
} orders_t;

static int key_cmp(const uint8_t *a, const uint8_t *b, int len) { return memcmp(a, b, len); }

/* Sorted order of n keys (stable), and the groups of equal keys. */
static void orders_init(orders_t *o, const uint8_t *keys, int len, int n) {
    o->n = n;
    for (int i = 0; i < n; i++) o->order[i] = i;
    for (int i = 1; i < n; i++) { /* insertion sort: stable */
        int v = o->order[i], j = i - 1;
        while (j >= 0 && key_cmp(keys + o->order[j] * len, keys + v * len, len) > 0) {
            o->order[j + 1] = o->order[j];
            j--;
        }
        o->order[j + 1] = v;
    }
    o->ngroups = 0;
    int s = 0;
    for (int i = 1; i <= n; i++) {
        if (i == n || key_cmp(keys + o->order[s] * len, keys + o->order[i] * len, len) != 0) {
            if (i - s > 1) {
                o->gstart[o->ngroups] = s;
                o->gend[o->ngroups] = i;
                o->ngroups++;
            }
            s = i;
        }
    }
}

static int next_perm(int *a, int n) {
    int i = n - 2;
    while (i >= 0 && a[i] >= a[i + 1]) i--;
    if (i < 0) { /* last: back to ascending */
        for (int l = 0, r = n - 1; l < r; l++, r--) { int t = a[l]; a[l] = a[r]; a[r] = t; }
        return 0;
    }
    int j = n - 1;
    while (a[j] <= a[i]) j--;
    int t = a[i]; a[i] = a[j]; a[j] = t;
    for (int l = i + 1, r = n - 1; l < r; l++, r--) { t = a[l]; a[l] = a[r]; a[r] = t; }
    return 1;
}

/* The next order with every tie group in every order (an odometer of
 * permutations); 0 when all were given. Each group starts ascending. */
static int orders_next(orders_t *o) {
    for (int g = o->ngroups - 1; g >= 0; g--) {
        if (next_perm(o->order + o->gstart[g], o->gend[g] - o->gstart[g])) return 1;
    }
    return 0;
}

static inline int find_byte(const uint8_t *s, int n, int v) {
    for (int i = 0; i < n; i++)
        if (s[i] == v) return i;
    return -1;
}

/* The offsets of each P block and each M block, to copy as a block's source. */
static int PSRC[NP > 0 ? NP : 1][PW];
static int ASRC[NA][AW];
static pthread_once_t block_tables_once = PTHREAD_ONCE_INIT;

static void block_tables(void) {
    for (int p = 0; p < NP; p++)
        for (int k = 0; k < PW; k++) PSRC[p][k] = P_BASE + PW * p + k;
    for (int a = 0; a < NA; a++)
        for (int k = 0; k < AW; k++) ASRC[a][k] = A_BASE + AW * a + k;
}

static void canonical(const uint8_t *restrict t, uint8_t *restrict best) {
    pthread_once(&block_tables_once, block_tables);
    uint8_t gcls[256];
    for (int i = 0; i < 256; i++) gcls[i] = (uint8_t)i;
    const uint8_t *gb = t + G_BASE;
    int twins = 0, twin[NG > 0 ? NG : 1];
    int plain_g[NG > 0 ? NG : 1];
    uint32_t gkey[NG > 0 ? NG : 1]; /* a G's block as one number: compares as its bytes */
    for (int g = 0; g < NG; g++)
        gkey[g] = (uint32_t)gb[3 * g] << 16 | (uint32_t)gb[3 * g + 1] << 8 | gb[3 * g + 2];
    /* the G's by content (stable), their content classes, their twins */
    for (int g = 0; g < NG; g++) plain_g[g] = g;
    for (int i = 1; i < NG; i++) {
        int v = plain_g[i], j = i - 1;
        while (j >= 0 && gkey[plain_g[j]] > gkey[v]) {
            plain_g[j + 1] = plain_g[j];
            j--;
        }
        plain_g[j + 1] = v;
    }
    for (int g = 0; g < NG; g++) twin[g] = 0;
    int rank = 0;
    for (int i = 0; i < NG; i++) {
        if (i > 0) {
            if (gkey[plain_g[i - 1]] == gkey[plain_g[i]]) {
                twin[plain_g[i - 1]] = twin[plain_g[i]] = 1;
                twins = 1;
            } else {
                rank++;
            }
        }
        gcls[plain_g[i]] = (uint8_t)rank;
    }
    int use_plain = 1;
    if (twins) {
        for (int i = 0; i < NGREF && use_plain; i++) {
            int v = t[GREF_OFF[i]];
            if (v < NG && twin[v]) use_plain = 0;
        }
    }

    uint8_t mown[NM + 1][MOWN_LEN];
    for (int m = 0; m < NM; m++) {
        const uint8_t *b = t + A_BASE + AW * m;
        memcpy(mown[m], b, A_MASK_LO);
        for (int k = 0; k < A_GREF_N; k++) mown[m][A_MASK_LO + k] = gcls[b[A_GREF_LO + k]];
    }
    memset(mown[NM], 0xff, MOWN_LEN);
    const uint8_t *pidle = t + PIDLE;
    uint8_t pkey[NP][PKEY_LEN];
    for (int p = 0; p < NP; p++) {
        const uint8_t *b = t + P_BASE + PW * p;
        uint8_t *k = pkey[p];
        memcpy(k, b, 4);
        for (int i = 5; i < PW; i++) k[4 + i - 5] = gcls[b[i]];
        int owner = b[4] == NONE_ID ? NM : b[4];
        memcpy(k + 4 + PW - 5, mown[owner], MOWN_LEN);
        k[PKEY_LEN - 1] = (uint8_t)(find_byte(pidle, NP, p) & 0xff);
    }
    const uint8_t *midle = t + MIDLE;
    int named[256];
    memset(named, 0, sizeof named);
    for (int i = 0; i < NM; i++) named[midle[i]] = 1;
    for (int p = 0; p < NP; p++) named[t[P_BASE + PW * p + 4]] = 1;
    for (int i = 0; i < NXMREF; i++) named[t[XMREF_OFF[i]]] = 1;
    int unborn[NM], nunborn = 0, born[NM], nborn = 0;
    for (int m = 0; m < NM; m++) {
        if (t[A_BASE + AW * m] == PC_NOT_CREATED && !named[m])
            unborn[nunborn++] = m;
        else
            born[nborn++] = m;
    }

    orders_t po, mo;
    orders_init(&po, &pkey[0][0], PKEY_LEN, NP);
    int have = 0;
    uint8_t cand[SIZE];
    int src[SIZE];
    for (int i = 0; i < SIZE; i++) src[i] = i;
    /* The translations of each field kind (K_PLAIN..K_MASK), identity but
     * for the ids renamed; only their first entries change per candidate. */
    uint8_t tabs[5][256];
    for (int k = 0; k < 5; k++)
        for (int i = 0; i < 256; i++) tabs[k][i] = (uint8_t)i;
    uint8_t *gtab = tabs[K_GREF], *ptab = tabs[K_PREF], *mtab = tabs[K_MREF];
    uint8_t *masktab = tabs[K_MASK];
    do {
        for (int i = 0; i < NP; i++) ptab[po.order[i]] = (uint8_t)i;
        for (int mask = 0; mask < (1 << NP); mask++) {
            int v = 0;
            for (int p = 0; p < NP; p++)
                if (mask >> p & 1) v |= 1 << ptab[p];
            masktab[mask] = (uint8_t)v;
        }
        for (int i = 0; i < NP; i++)
            memcpy(src + P_BASE + PW * i, PSRC[po.order[i]], PW * sizeof(int));
        uint8_t mkey[NM > 0 ? NM : 1][MKEY_LEN];
        for (int j = 0; j < nborn; j++) {
            int m = born[j];
            const uint8_t *b = t + A_BASE + AW * m;
            memcpy(mkey[j], mown[m], MOWN_LEN);
            for (int k = 0; k < A_PREF_N; k++) mkey[j][MOWN_LEN + k] = ptab[b[A_PREF_LO + k]];
            mkey[j][MOWN_LEN + A_PREF_N] = masktab[b[A_MASK_LO]];
            mkey[j][MOWN_LEN + A_PREF_N + 1] = (uint8_t)(find_byte(midle, NM, m) & 0xff);
        }
        orders_init(&mo, &mkey[0][0], MKEY_LEN, nborn);
        do {
            int morder[NM > 0 ? NM : 1];
            for (int i = 0; i < nunborn; i++) morder[i] = unborn[i];
            for (int i = 0; i < nborn; i++) morder[nunborn + i] = born[mo.order[i]];
            /* where each block of the renamed state comes from */
            for (int i = 0; i < NM; i++)
                memcpy(src + A_BASE + AW * i, ASRC[morder[i]], AW * sizeof(int));
            int gorder[NG > 0 ? NG : 1];
            if (use_plain) {
                for (int g = 0; g < NG; g++) gorder[g] = plain_g[g];
            } else {
                int first[NG > 0 ? NG : 1];
                for (int g = 0; g < NG; g++) first[g] = 999;
                for (int i = 0; i < NGREF; i++) {
                    int v = t[src[GREF_OFF[i]]];
                    if (v < NG && first[v] == 999) first[v] = i;
                }
                for (int g = 0; g < NG; g++) gorder[g] = g;
                for (int i = 1; i < NG; i++) {
                    int v = gorder[i], j = i - 1;
                    while (j >= 0) {
                        uint32_t kj = gkey[gorder[j]], kv = gkey[v];
                        if (kj > kv || (kj == kv && first[gorder[j]] > first[v])) {
                            gorder[j + 1] = gorder[j];
                            j--;
                        } else {
                            break;
                        }
                    }
                    gorder[j + 1] = v;
                }
            }
            for (int i = 0; i < NG; i++) {
                src[G_BASE + 3 * i] = G_BASE + 3 * gorder[i];
                src[G_BASE + 3 * i + 1] = G_BASE + 3 * gorder[i] + 1;
                src[G_BASE + 3 * i + 2] = G_BASE + 3 * gorder[i] + 2;
                gtab[gorder[i]] = (uint8_t)i;
            }
            for (int i = 0; i < NM; i++) mtab[morder[i]] = (uint8_t)i;
            if (!have) { /* the first candidate (most often the only one) */
                for (int i = 0; i < SIZE; i++) best[i] = tabs[KIND[i]][t[src[i]]];
                have = 1;
            } else {
                for (int i = 0; i < SIZE; i++) cand[i] = tabs[KIND[i]][t[src[i]]];
                if (memcmp(cand, best, SIZE) < 0) memcpy(best, cand, SIZE);
            }
        } while (orders_next(&mo));
    } while (orders_next(&po));
}

/* ---- a small set of states (per expansion) -------------------------------- */

typedef struct {
    uint8_t *st;       /* the states, SIZE each */
    uint64_t *hash;
    int32_t *slot;     /* open addressing: index into st, -1 empty */
    size_t n, cap_st, cap_h, cap_slot;
    size_t nslots;
} lset_t;

static void lset_clear(lset_t *s) {
    s->n = 0;
    if (s->slot) for (size_t i = 0; i < s->nslots; i++) s->slot[i] = -1;
}

static int lset_find(lset_t *s, const uint8_t *u, uint64_t h) {
    if (!s->nslots) return -1;
    size_t mask = s->nslots - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        int32_t k = s->slot[i];
        if (k < 0) return -1;
        if (s->hash[k] == h && memcmp(s->st + (size_t)k * SIZE, u, SIZE) == 0) return k;
    }
}

static void lset_rehash(lset_t *s, size_t nslots) {
    int32_t *ns = (int32_t *)malloc(nslots * sizeof(int32_t));
    if (!ns) { oom = 1; return; }
    for (size_t i = 0; i < nslots; i++) ns[i] = -1;
    for (size_t k = 0; k < s->n; k++) {
        size_t i = s->hash[k] & (nslots - 1);
        while (ns[i] >= 0) i = (i + 1) & (nslots - 1);
        ns[i] = (int32_t)k;
    }
    free(s->slot);
    s->slot = ns;
    s->nslots = nslots;
}

static int lset_add(lset_t *s, const uint8_t *u, uint64_t h) {
    if ((s->n + 1) * 2 > s->nslots) lset_rehash(s, s->nslots ? s->nslots * 2 : 64);
    GROW(s->st, s->cap_st, (s->n + 1) * SIZE, uint8_t);
    GROW(s->hash, s->cap_h, s->n + 1, uint64_t);
    if (oom) return -1;
    memcpy(s->st + s->n * SIZE, u, SIZE);
    s->hash[s->n] = h;
    size_t mask = s->nslots - 1;
    size_t i = h & mask;
    while (s->slot[i] >= 0) i = (i + 1) & mask;
    s->slot[i] = (int32_t)s->n;
    return (int)s->n++;
}

static void lset_free(lset_t *s) {
    free(s->st);
    free(s->hash);
    free(s->slot);
    memset(s, 0, sizeof *s);
}

/* ---- labels ---------------------------------------------------------------- */

/* A fine label is (command, the values of its placeholders); a macro label
 * the sequence of its fine labels. Both are interned: an id per distinct
 * label, rendered as text on demand (Python computes the fairness groups of
 * each id once, from its text, with the model's edge_groups). */
typedef struct {
    int64_t *keys;   /* interned keys, back to back: [len, words...] */
    size_t nkeys_words, cap_keys;
    size_t *start;   /* per id: where its key starts */
    size_t n, cap_start;
    uint32_t *slot;  /* open addressing: id + 1, 0 empty */
    size_t nslots;
} intern_t;

static uint64_t hash_words(const int64_t *w, int n) {
    uint64_t h = 0x2545f4914f6cdd1dULL ^ (uint64_t)n;
    for (int i = 0; i < n; i++) h = fmix64(h ^ (uint64_t)w[i]) * 0x9e3779b97f4a7c15ULL;
    return fmix64(h);
}

static int intern_rehash(intern_t *t, size_t nslots) {
    uint32_t *ns = (uint32_t *)calloc(nslots, sizeof(uint32_t));
    if (!ns) return -1;
    for (size_t id = 0; id < t->n; id++) {
        const int64_t *k = t->keys + t->start[id];
        size_t i = hash_words(k + 1, (int)k[0]) & (nslots - 1);
        while (ns[i]) i = (i + 1) & (nslots - 1);
        ns[i] = (uint32_t)id + 1;
    }
    free(t->slot);
    t->slot = ns;
    t->nslots = nslots;
    return 0;
}

static int64_t intern(intern_t *t, const int64_t *w, int n) {
    if ((t->n + 1) * 2 > t->nslots && intern_rehash(t, t->nslots ? t->nslots * 2 : 1024)) return -1;
    uint64_t h = hash_words(w, n);
    size_t mask = t->nslots - 1;
    size_t i = h & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t s = t->slot[i];
        if (!s) break;
        const int64_t *k = t->keys + t->start[s - 1];
        if (k[0] == n && memcmp(k + 1, w, n * sizeof(int64_t)) == 0) return s - 1;
    }
    GROW(t->keys, t->cap_keys, t->nkeys_words + n + 1, int64_t);
    GROW(t->start, t->cap_start, t->n + 1, size_t);
    if (oom) return -1;
    t->start[t->n] = t->nkeys_words;
    t->keys[t->nkeys_words] = n;
    memcpy(t->keys + t->nkeys_words + 1, w, n * sizeof(int64_t));
    t->nkeys_words += n + 1;
    t->slot[i] = (uint32_t)t->n + 1;
    return (int64_t)t->n++;
}

static void intern_free(intern_t *t) {
    free(t->keys);
    free(t->start);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

/* Render a fine label: (cmd, vals). Returns the length written (or needed). */
static int render_fine(int cmd, const int64_t *vals, char *buf, int cap) {
    int len = 0;
    int first = LABEL_DESC[cmd][0], nh = LABEL_DESC[cmd][1];
    char tmp[32];
    for (int i = 0; i <= nh; i++) {
        const char *lit = LABEL_PARTS[first + i].lit;
        int l = (int)strlen(lit);
        if (len + l < cap) memcpy(buf + len, lit, l);
        len += l;
        if (i == nh) break;
        int hole = LABEL_PARTS[first + i].hole;
        const char *txt = tmp;
        int64_t v = vals[i];
        if (hole == -1) {
            snprintf(tmp, sizeof tmp, "%lld", (long long)v);
        } else if (hole == -2) {
            txt = v ? "True" : "False";
        } else if (hole >= 0 && v >= 0 && v < NAME_TABLE_LEN[hole]) {
            txt = NAME_TABLES[hole][v];
        } else {
            txt = "?";
        }
        l = (int)strlen(txt);
        if (len + l < cap) memcpy(buf + len, txt, l);
        len += l;
    }
    if (cap > 0) buf[len < cap ? len : cap - 1] = 0;
    return len;
}

/* ---- one worker's scratch space and output --------------------------------- */

typedef struct {
    int err;
    uint64_t *cover;        /* per (actor, pc): the states in which it took a fine step */
    uint64_t *cut;          /* per (actor, pc): the states in which a bound cut a step off */
    stepbuf_t *sb;
    int order[MAXFINE];
    /* macro depth-first search */
    uint8_t *stk_u;
    int64_t *stk_n;
    size_t *stk_lab, *stk_nlab;
    size_t stk_len, cap_stk_u, cap_stk_n, cap_stk_lab, cap_stk_nlab;
    int64_t *lab;           /* label sequences of the stack entries, back to back */
    size_t nlab, cap_lab;
    lset_t seen, done;
    size_t *done_lab, *done_nlab;
    size_t cap_done_lab, cap_done_nlab;
    /* the transitions out of the state being expanded */
    uint8_t *su;
    int *sa;
    int64_t *sl;
    size_t sn, cap_su, cap_sa, cap_sl;
    lset_t cand;            /* its distinct canonical successors */
    /* chunk output, per state: */
    size_t nrec, cap_rec;
    struct rec {
        uint64_t inv, atoms, strong;
        uint32_t cand_start, ncand, pair_start, npair, act_start, nact;
        uint8_t expanded, truncated, dead, final;
    } *rec;
    /* per distinct successor: its fingerprint and canonical bytes */
    uint64_t *cfp;
    uint8_t *cst;
    size_t ncand_out, cap_cfp, cap_cst;
    /* graph: (successor, label) pairs */
    uint32_t *pair_c;
    int64_t *pair_l;
    size_t npair_out, cap_pc, cap_pl;
    /* action-property violations: (bit, canonical next state) */
    int *act_bit;
    uint8_t *act_st;
    size_t nact_out, cap_ab, cap_as;
} wk_t;

typedef struct eng {
    int macro, graph, symmetry, exact, nworkers;
    pthread_mutex_t lock;   /* the label tables */
    intern_t fine, seq;
    wk_t *wk;
    /* visited set */
    uint64_t *tab_fp;
    uint32_t *tab_idx;
    size_t tab_cap, n_states;
    uint32_t *parent;
    size_t cap_parent;
    uint8_t *states;        /* exact: every canonical state */
    size_t cap_states;
    /* frontier */
    uint8_t *cur, *nxt;
    uint32_t *cur_idx, *nxt_idx;
    size_t n_cur, n_nxt, cap_cur, cap_nxt, cap_cur_idx, cap_nxt_idx;
    /* graph */
    uint64_t *row;          /* per expanded state: where its edges start */
    size_t n_row, cap_row;
    uint32_t *col;
    uint32_t *elab;
    uint64_t *egroups;      /* after eng_graph_finish: each edge's fairness groups */
    size_t n_edges, cap_col, cap_elab;
    uint64_t *atoms, *strong;
    uint8_t *flags;         /* bit 0 expanded (and not truncated), bit 1 final */
    size_t cap_atoms, cap_strong, cap_flags;
    /* counters and verdicts */
    int64_t transitions, truncated, deadlocks, expanded;
    int64_t inv_idx[64], inv_depth[64], act_idx[64], act_depth[64], dead_idx, dead_depth;
    uint8_t *act_next;      /* 64 * SIZE */
    uint64_t inv_found, act_found;
    int dead_found;
    int err;
    char errmsg[256];
} eng_t;

static void fail(eng_t *e, int code, const char *msg) {
    if (!e->err) {
        e->err = code;
        snprintf(e->errmsg, sizeof e->errmsg, "%s", msg);
    }
}

/* ---- successors ------------------------------------------------------------- */

/* The fine steps of actor a from x, into w->sb, and w->order: their indices
 * in the model's order (by position; equal positions by command). */
static int fine_steps(wk_t *w, const uint8_t *x, int a, int want_labels) {
    stepbuf_t *o = w->sb;
    o->n = 0;
    o->truncated = 0;
    o->err = 0;
    o->want_labels = want_labels;
    actor_steps(x, a, o);
    w->err |= o->err;
    o->err = 0;
    for (int i = 0; i < o->n; i++) {
        int v = i, j = i - 1;
        while (j >= 0 && o->pos[w->order[j]] > o->pos[v]) {
            w->order[j + 1] = w->order[j];
            j--;
        }
        w->order[j + 1] = v;
    }
    if (o->n && w->cover) w->cover[a * 256 + x[PC_OFF[a]]]++;
    if (o->truncated && w->cut) w->cut[a * 256 + x[PC_OFF[a]]]++;
    return o->n;
}

static int64_t fine_label(eng_t *e, stepbuf_t *o, int i) {
    int64_t key[MAXV + 1];
    int cmd = o->cmd[i];
    int nv = LABEL_DESC[cmd][1];
    key[0] = cmd;
    for (int k = 0; k < nv; k++) key[k + 1] = o->vals[i][k];
    pthread_mutex_lock(&e->lock);
    int64_t id = intern(&e->fine, key, nv + 1);
    pthread_mutex_unlock(&e->lock);
    return id;
}

static void push_succ(wk_t *w, int a, int64_t label, const uint8_t *u) {
    GROW(w->su, w->cap_su, (w->sn + 1) * SIZE, uint8_t);
    GROW(w->sa, w->cap_sa, w->sn + 1, int);
    GROW(w->sl, w->cap_sl, w->sn + 1, int64_t);
    if (oom) return;
    memcpy(w->su + w->sn * SIZE, u, SIZE);
    w->sa[w->sn] = a;
    w->sl[w->sn] = label;
    w->sn++;
}

static void stk_push(wk_t *w, const uint8_t *u, int64_t n, size_t lab, size_t nlab) {
    GROW(w->stk_u, w->cap_stk_u, (w->stk_len + 1) * SIZE, uint8_t);
    GROW(w->stk_n, w->cap_stk_n, w->stk_len + 1, int64_t);
    GROW(w->stk_lab, w->cap_stk_lab, w->stk_len + 1, size_t);
    GROW(w->stk_nlab, w->cap_stk_nlab, w->stk_len + 1, size_t);
    if (oom) return;
    memcpy(w->stk_u + w->stk_len * SIZE, u, SIZE);
    w->stk_n[w->stk_len] = n;
    w->stk_lab[w->stk_len] = lab;
    w->stk_nlab[w->stk_len] = nlab;
    w->stk_len++;
}

/* A label sequence: the parent's, then one more fine label. */
static size_t lab_extend(wk_t *w, size_t from, size_t n, int64_t id) {
    GROW(w->lab, w->cap_lab, w->nlab + n + 1, int64_t);
    if (oom) return 0;
    size_t at = w->nlab;
    if (n) memmove(w->lab + at, w->lab + from, n * sizeof(int64_t));
    w->lab[at + n] = id;
    w->nlab += n + 1;
    return at;
}

static inline int boundary(const uint8_t *u, int a) {
    int pc = u[PC_OFF[a]];
    return (MACRO_BOUNDARY[pc >> 6] >> (pc & 63) & 1) || u[THROW];
}

/* Every transition out of t (Machine.step_successors): w->su/sa/sl. */
static int successors(eng_t *e, wk_t *w, const uint8_t *t, int *truncated) {
    int labels = e->graph;
    w->sn = 0;
    *truncated = 0;
    if (t[THROW]) return 0;
    for (int a = 0; a < NA; a++) {
        int n = fine_steps(w, t, a, labels);
        stepbuf_t *o = w->sb;
        *truncated |= o->truncated;
        if (!e->macro) {
            for (int k = 0; k < n; k++) {
                int i = w->order[k];
                push_succ(w, a, labels ? fine_label(e, o, i) : 0, o->u[i]);
            }
            continue;
        }
        w->stk_len = 0;
        w->nlab = 0;
        lset_clear(&w->seen);
        lset_clear(&w->done);
        for (int k = n - 1; k >= 0; k--) {
            int i = w->order[k];
            size_t at = labels ? lab_extend(w, 0, 0, fine_label(e, o, i)) : 0;
            stk_push(w, o->u[i], 1, at, labels ? 1 : 0);
        }
        uint8_t u[SIZE];
        while (w->stk_len && !oom) {
            w->stk_len--;
            memcpy(u, w->stk_u + w->stk_len * SIZE, SIZE);
            int64_t depth = w->stk_n[w->stk_len];
            size_t lab = w->stk_lab[w->stk_len], nlab = w->stk_nlab[w->stk_len];
            uint64_t h = fingerprint(u);
            if (boundary(u, a)) {
                if (lset_find(&w->done, u, h) < 0) {
                    int k = lset_add(&w->done, u, h);
                    GROW(w->done_lab, w->cap_done_lab, (size_t)k + 1, size_t);
                    GROW(w->done_nlab, w->cap_done_nlab, (size_t)k + 1, size_t);
                    if (oom) break;
                    w->done_lab[k] = lab;
                    w->done_nlab[k] = nlab;
                }
                continue;
            }
            if (lset_find(&w->seen, u, h) >= 0) continue;
            lset_add(&w->seen, u, h);
            if (depth > MACRO_LIMIT) {
                w->err |= 8;
                return 0;
            }
            int m = fine_steps(w, u, a, labels);
            *truncated |= o->truncated;
            for (int k = m - 1; k >= 0; k--) {
                int i = w->order[k];
                size_t at = labels ? lab_extend(w, lab, nlab, fine_label(e, o, i)) : 0;
                stk_push(w, o->u[i], depth + 1, at, labels ? nlab + 1 : 0);
            }
        }
        for (size_t k = 0; k < w->done.n; k++) {
            int64_t id = 0;
            if (labels) {
                pthread_mutex_lock(&e->lock);
                id = intern(&e->seq, w->lab + w->done_lab[k], (int)w->done_nlab[k]);
                pthread_mutex_unlock(&e->lock);
            }
            push_succ(w, a, id, w->done.st + k * SIZE);
        }
    }
    return (int)w->sn;
}

/* ---- phase A: check and expand a chunk of the frontier --------------------- */

static struct rec *new_rec(wk_t *w) {
    GROW(w->rec, w->cap_rec, w->nrec + 1, struct rec);
    if (oom) return NULL;
    struct rec *r = &w->rec[w->nrec++];
    memset(r, 0, sizeof *r);
    return r;
}

static void expand_one(eng_t *e, wk_t *w, const uint8_t *t, int expand, uint64_t inv_active,
                       uint64_t act_active, int deadlock_active) {
    struct rec *r = new_rec(w);
    if (!r) return;
    int err = 0;
    r->inv = bad_inv(t, inv_active, &err);
    w->err |= err;
    int fin = -1;
    if (e->graph) {
        r->atoms = atoms_of(t);
        fin = is_final(t);
        r->final = (uint8_t)fin;
        r->strong = state_groups(t, &err);
        w->err |= err;
    }
    r->cand_start = (uint32_t)w->ncand_out;
    r->pair_start = (uint32_t)w->npair_out;
    r->act_start = (uint32_t)w->nact_out;
    if (!expand) return;
    r->expanded = 1;
    int truncated = 0;
    int n = successors(e, w, t, &truncated);
    r->truncated = (uint8_t)truncated;
    if (deadlock_active && n == 0 && !truncated) {
        if (fin < 0) fin = is_final(t);
        r->dead = (uint8_t)!fin;
    }
    lset_clear(&w->cand);
    uint64_t act_seen = 0;
    uint8_t c[SIZE];
    for (int j = 0; j < n; j++) {
        const uint8_t *u = w->su + (size_t)j * SIZE;
        if (e->symmetry)
            canonical(u, c);
        else
            memcpy(c, u, SIZE);
        uint64_t fp = fingerprint(c);
        if (act_active & ~act_seen) {
            int aerr = 0;
            uint64_t bad = bad_act(t, u, act_active & ~act_seen, &aerr);
            w->err |= aerr;
            for (int b = 0; b < 64 && bad; b++) {
                if (!(bad >> b & 1)) continue;
                bad &= ~(1ULL << b);
                act_seen |= 1ULL << b;
                GROW(w->act_bit, w->cap_ab, w->nact_out + 1, int);
                GROW(w->act_st, w->cap_as, (w->nact_out + 1) * SIZE, uint8_t);
                if (oom) return;
                w->act_bit[w->nact_out] = b;
                memcpy(w->act_st + w->nact_out * SIZE, c, SIZE);
                w->nact_out++;
                r->nact++;
            }
        }
        int k = lset_find(&w->cand, c, fp);
        if (k < 0) {
            k = lset_add(&w->cand, c, fp);
            GROW(w->cfp, w->cap_cfp, w->ncand_out + 1, uint64_t);
            GROW(w->cst, w->cap_cst, (w->ncand_out + 1) * SIZE, uint8_t);
            if (oom) return;
            w->cfp[w->ncand_out] = fp;
            memcpy(w->cst + w->ncand_out * SIZE, c, SIZE);
            w->ncand_out++;
            r->ncand++;
        }
        if (e->graph) {
            int64_t lab = w->sl[j];
            int dup = 0;
            for (size_t q = r->pair_start; q < w->npair_out; q++)
                if (w->pair_c[q] == (uint32_t)k && w->pair_l[q] == lab) { dup = 1; break; }
            if (!dup) {
                GROW(w->pair_c, w->cap_pc, w->npair_out + 1, uint32_t);
                GROW(w->pair_l, w->cap_pl, w->npair_out + 1, int64_t);
                if (oom) return;
                w->pair_c[w->npair_out] = (uint32_t)k;
                w->pair_l[w->npair_out] = lab;
                w->npair_out++;
                r->npair++;
            }
        }
    }
}

/* ---- the engine -------------------------------------------------------------- */

static void wk_free(wk_t *w) {
    free(w->cover); free(w->cut); free(w->sb);
    free(w->stk_u); free(w->stk_n); free(w->stk_lab); free(w->stk_nlab); free(w->lab);
    lset_free(&w->seen); lset_free(&w->done); lset_free(&w->cand);
    free(w->done_lab); free(w->done_nlab);
    free(w->su); free(w->sa); free(w->sl);
    free(w->rec); free(w->cfp); free(w->cst); free(w->pair_c); free(w->pair_l);
    free(w->act_bit); free(w->act_st);
}

API void eng_free(eng_t *e) {
    if (!e) return;
    for (int i = 0; i < e->nworkers; i++) wk_free(&e->wk[i]);
    free(e->wk);
    intern_free(&e->fine);
    intern_free(&e->seq);
    free(e->tab_fp); free(e->tab_idx); free(e->parent); free(e->states);
    free(e->cur); free(e->nxt); free(e->cur_idx); free(e->nxt_idx);
    free(e->row); free(e->col); free(e->elab); free(e->egroups); free(e->atoms); free(e->strong); free(e->flags);
    free(e->act_next);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

API eng_t *eng_new(int macro, int graph, int symmetry, int exact, int nworkers) {
    eng_t *e = (eng_t *)calloc(1, sizeof(eng_t));
    if (!e) return NULL;
    e->macro = macro; e->graph = graph; e->symmetry = symmetry; e->exact = exact;
    e->nworkers = nworkers < 1 ? 1 : nworkers;
    pthread_mutex_init(&e->lock, NULL);
    e->wk = (wk_t *)calloc(e->nworkers, sizeof(wk_t));
    e->act_next = (uint8_t *)calloc(64, SIZE);
    e->tab_cap = 1 << 16;
    e->tab_fp = (uint64_t *)calloc(e->tab_cap, sizeof(uint64_t));
    e->tab_idx = (uint32_t *)calloc(e->tab_cap, sizeof(uint32_t));
    if (!e->wk || !e->act_next || !e->tab_fp || !e->tab_idx) { eng_free(e); return NULL; }
    for (int i = 0; i < e->nworkers; i++) {
        e->wk[i].sb = (stepbuf_t *)malloc(sizeof(stepbuf_t));
        e->wk[i].cover = (uint64_t *)calloc((size_t)NA * 256, sizeof(uint64_t));
        e->wk[i].cut = (uint64_t *)calloc((size_t)NA * 256, sizeof(uint64_t));
        if (!e->wk[i].sb || !e->wk[i].cover || !e->wk[i].cut) { eng_free(e); return NULL; }
    }
    return e;
}

static int tab_grow(eng_t *e) {
    size_t nc = e->tab_cap * 2;
    uint64_t *nf = (uint64_t *)calloc(nc, sizeof(uint64_t));
    uint32_t *ni = (uint32_t *)calloc(nc, sizeof(uint32_t));
    if (!nf || !ni) { free(nf); free(ni); return -1; }
    for (size_t i = 0; i < e->tab_cap; i++) {
        uint64_t fp = e->tab_fp[i];
        if (!fp) continue;
        size_t j = fp & (nc - 1);
        while (nf[j]) j = (j + 1) & (nc - 1);
        nf[j] = fp;
        ni[j] = e->tab_idx[i];
    }
    free(e->tab_fp); free(e->tab_idx);
    e->tab_fp = nf; e->tab_idx = ni; e->tab_cap = nc;
    return 0;
}

/* The state's number, and whether it is new (then numbered n_states). */
static int64_t visit(eng_t *e, const uint8_t *c, uint64_t fp, int *is_new) {
    size_t mask = e->tab_cap - 1;
    size_t i = fp & mask;
    for (;; i = (i + 1) & mask) {
        uint64_t f = e->tab_fp[i];
        if (!f) break;
        if (f == fp) {
            uint32_t idx = e->tab_idx[i];
            if (!e->exact || memcmp(e->states + (size_t)idx * SIZE, c, SIZE) == 0) {
                *is_new = 0;
                return idx;
            }
        }
    }
    if (e->n_states >= 0xfffffffeULL) { fail(e, 5, "more than 4 billion states"); return -1; }
    uint32_t idx = (uint32_t)e->n_states;
    e->tab_fp[i] = fp;
    e->tab_idx[i] = idx;
    if (e->exact) {
        GROW(e->states, e->cap_states, (e->n_states + 1) * SIZE, uint8_t);
        if (oom) return -1;
        memcpy(e->states + (size_t)idx * SIZE, c, SIZE);
    }
    GROW(e->parent, e->cap_parent, e->n_states + 1, uint32_t);
    if (e->graph) {
        GROW(e->atoms, e->cap_atoms, e->n_states + 1, uint64_t);
        GROW(e->strong, e->cap_strong, e->n_states + 1, uint64_t);
        GROW(e->flags, e->cap_flags, e->n_states + 1, uint8_t);
    }
    if (oom) return -1;
    if (e->graph) { e->atoms[idx] = 0; e->strong[idx] = 0; e->flags[idx] = 0; }
    e->n_states++;
    if (e->n_states * 4 > e->tab_cap * 3 && tab_grow(e)) { oom = 1; return -1; }
    *is_new = 1;
    return idx;
}

static int push_next(eng_t *e, const uint8_t *c, uint32_t idx) {
    GROW(e->nxt, e->cap_nxt, (e->n_nxt + 1) * SIZE, uint8_t);
    GROW(e->nxt_idx, e->cap_nxt_idx, e->n_nxt + 1, uint32_t);
    if (oom) return -1;
    memcpy(e->nxt + e->n_nxt * SIZE, c, SIZE);
    e->nxt_idx[e->n_nxt] = idx;
    e->n_nxt++;
    return 0;
}

/* An initial state: its canonical form, numbered if new, on the frontier. */
API int64_t eng_add_initial(eng_t *e, const uint8_t *s) {
    uint8_t c[SIZE];
    oom = 0;
    if (e->symmetry) canonical(s, c); else memcpy(c, s, SIZE);
    int is_new = 0;
    int64_t idx = visit(e, c, fingerprint(c), &is_new);
    if (idx < 0) return -1;
    if (!is_new) return idx;
    e->parent[idx] = 0xffffffffu;
    if (push_next(e, c, (uint32_t)idx)) return -1;
    return idx;
}

/* The next frontier becomes the current one; returns its size. */
API int64_t eng_next_level(eng_t *e) {
    uint8_t *t = e->cur; e->cur = e->nxt; e->nxt = t;
    uint32_t *ti = e->cur_idx; e->cur_idx = e->nxt_idx; e->nxt_idx = ti;
    size_t c = e->cap_cur; e->cap_cur = e->cap_nxt; e->cap_nxt = c;
    c = e->cap_cur_idx; e->cap_cur_idx = e->cap_nxt_idx; e->cap_nxt_idx = c;
    e->n_cur = e->n_nxt;
    e->n_nxt = 0;
    return (int64_t)e->n_cur;
}

/* Phase A for worker w on frontier[start, start + count). Thread-safe
 * between workers. Returns 0, or an error code (see eng_error). */
API int eng_phase_a(eng_t *e, int wi, int64_t start, int64_t count, int expand,
                uint64_t inv_active, uint64_t act_active, int deadlock_active) {
    wk_t *w = &e->wk[wi];
    oom = 0;
    w->err = 0;
    w->nrec = w->ncand_out = w->npair_out = w->nact_out = 0;
    for (int64_t i = start; i < start + count && i < (int64_t)e->n_cur; i++) {
        expand_one(e, w, e->cur + (size_t)i * SIZE, expand, inv_active, act_active,
                   deadlock_active);
        if (oom) return 5;
        if (w->err) return w->err;
    }
    return 0;
}

/* Phase B for worker w's chunk, which started at frontier[start]: number the
 * new states, record parents, edges and verdicts, in frontier order. Stops
 * after the state that brings the count to max_states (0: no bound).
 * Returns the number of states of the chunk it went through. */
API int64_t eng_phase_b(eng_t *e, int wi, int64_t start, int depth, int64_t max_states) {
    wk_t *w = &e->wk[wi];
    oom = 0;
    for (size_t j = 0; j < w->nrec; j++) {
        struct rec *r = &w->rec[j];
        uint32_t idx = e->cur_idx[start + j];
        if (e->graph) {
            e->atoms[idx] = r->atoms;
            e->strong[idx] = r->strong;
            e->flags[idx] = (uint8_t)((r->final ? 2 : 0) | (r->expanded && !r->truncated ? 1 : 0));
        }
        for (int b = 0; b < 64 && r->inv; b++) {
            if ((r->inv >> b & 1) && !(e->inv_found >> b & 1)) {
                e->inv_found |= 1ULL << b;
                e->inv_idx[b] = idx;
                e->inv_depth[b] = depth;
            }
        }
        if (r->dead) {
            e->deadlocks++;
            if (!e->dead_found) { e->dead_found = 1; e->dead_idx = idx; e->dead_depth = depth; }
        }
        if (r->truncated) e->truncated++;
        if (!r->expanded) continue;
        e->expanded++;
        e->transitions += r->ncand;
        for (uint32_t q = r->act_start; q < r->act_start + r->nact; q++) {
            int b = w->act_bit[q];
            if (!(e->act_found >> b & 1)) {
                e->act_found |= 1ULL << b;
                e->act_idx[b] = idx;
                e->act_depth[b] = depth;
                memcpy(e->act_next + (size_t)b * SIZE, w->act_st + (size_t)q * SIZE, SIZE);
            }
        }
        uint32_t dst[r->ncand ? r->ncand : 1];
        for (uint32_t k = 0; k < r->ncand; k++) {
            const uint8_t *c = w->cst + (size_t)(r->cand_start + k) * SIZE;
            int is_new = 0;
            int64_t d = visit(e, c, w->cfp[r->cand_start + k], &is_new);
            if (d < 0) return -1;
            dst[k] = (uint32_t)d;
            if (is_new) {
                e->parent[d] = idx;
                if (push_next(e, c, (uint32_t)d)) return -1;
            }
        }
        if (e->graph) {
            GROW(e->row, e->cap_row, e->n_row + 2, uint64_t);
            GROW(e->col, e->cap_col, e->n_edges + r->npair, uint32_t);
            GROW(e->elab, e->cap_elab, e->n_edges + r->npair, uint32_t);
            if (oom) return -1;
            /* rows are kept per expanded state, in index order */
            e->row[idx] = e->n_edges;
            /* by successor, in the order they were found: the labels of one
             * successor (parallel steps) are contiguous */
            for (uint32_t k = 0; k < r->ncand; k++) {
                for (uint32_t q = r->pair_start; q < r->pair_start + r->npair; q++) {
                    if (w->pair_c[q] != k) continue;
                    e->col[e->n_edges] = dst[k];
                    e->elab[e->n_edges] = (uint32_t)w->pair_l[q];
                    e->n_edges++;
                }
            }
            e->row[idx + 1] = e->n_edges;
            if (idx + 2 > e->n_row) e->n_row = idx + 2;
        }
        if (max_states > 0 && (int64_t)e->n_states >= max_states) return (int64_t)j + 1;
    }
    return (int64_t)w->nrec;
}

/* After a graph search: the fairness groups of every label (Python computes
 * them from the label's text), into one mask per edge; parallel edges (one
 * pair of states, several labels: they are contiguous) merged into one edge
 * that counts for all their groups, as the Python search keeps them; each
 * state's enabled groups gain those of its edges. The label ids are freed.
 * Returns the number of edges left. */
API int64_t eng_graph_finish(eng_t *e, const uint64_t *label_groups, int64_t nlabels) {
    size_t n = e->n_edges;
    uint64_t *g = (uint64_t *)malloc((n ? n : 1) * sizeof(uint64_t));
    if (!g) return -1;
    size_t out = 0;
    uint64_t prev_end = e->n_row ? e->row[0] : 0;
    for (size_t i = 0; i + 1 < e->n_row; i++) {
        uint64_t a = prev_end, b = e->row[i + 1];
        prev_end = b;
        e->row[i] = out;
        size_t first = out;
        for (uint64_t k = a; k < b; k++) {
            uint32_t lab = e->elab[k];
            uint64_t gm = (int64_t)lab < nlabels ? label_groups[lab] : 0;
            if (out > first && e->col[out - 1] == e->col[k]) {
                g[out - 1] |= gm;
            } else {
                e->col[out] = e->col[k];
                g[out] = gm;
                out++;
            }
            e->strong[i] |= gm;
        }
    }
    if (e->n_row) e->row[e->n_row - 1] = out;
    free(e->elab);
    e->elab = NULL;
    e->cap_elab = 0;
    free(e->egroups);
    e->egroups = g;
    e->n_edges = out;
    return (int64_t)out;
}

API uint64_t *eng_egroups(eng_t *e) { return e->egroups; }

/* ---- a partition of a distributed search (checker/kernel/distributed.py) --- */

/* The frontier is given: n canonical states, by their position in it. */
API int eng_set_frontier(eng_t *e, const uint8_t *states, int64_t n) {
    oom = 0;
    GROW(e->cur, e->cap_cur, (size_t)n * SIZE + 1, uint8_t);
    GROW(e->cur_idx, e->cap_cur_idx, (size_t)n + 1, uint32_t);
    if (oom) return -1;
    if (n) memcpy(e->cur, states, (size_t)n * SIZE);
    for (int64_t i = 0; i < n; i++) e->cur_idx[i] = (uint32_t)i;
    e->n_cur = (size_t)n;
    return 0;
}

/* Phase A's output of worker w, read out: counts (states, successors,
 * action violations), then per state its invariant bits, distinct
 * successors, action violations and flags (1 expanded, 2 truncated, 4 dead). */
API void eng_wk_counts(eng_t *e, int wi, int64_t *out) {
    wk_t *w = &e->wk[wi];
    out[0] = (int64_t)w->nrec;
    out[1] = (int64_t)w->ncand_out;
    out[2] = (int64_t)w->nact_out;
}

API void eng_wk_states(eng_t *e, int wi, uint64_t *inv, uint32_t *ncand, uint32_t *nact,
                       uint8_t *flags) {
    wk_t *w = &e->wk[wi];
    for (size_t j = 0; j < w->nrec; j++) {
        struct rec *r = &w->rec[j];
        inv[j] = r->inv;
        ncand[j] = r->ncand;
        nact[j] = r->nact;
        flags[j] = (uint8_t)(r->expanded | r->truncated << 1 | r->dead << 2);
    }
}

API uint64_t *eng_wk_cfp(eng_t *e, int wi) { return e->wk[wi].cfp; }
API uint8_t *eng_wk_cst(eng_t *e, int wi) { return e->wk[wi].cst; }
API int *eng_wk_act_bit(eng_t *e, int wi) { return e->wk[wi].act_bit; }
API uint8_t *eng_wk_act_st(eng_t *e, int wi) { return e->wk[wi].act_st; }

/* The partition's visited set: each state in turn (the caller has put them
 * in discovery order) is looked up and, if new, added: is_new[i] says which. */
API int eng_visit_batch(eng_t *e, const uint64_t *fps, const uint8_t *states, int64_t n,
                        uint8_t *is_new) {
    oom = 0;
    for (int64_t i = 0; i < n; i++) {
        int fresh = 0;
        if (visit(e, states + (size_t)i * SIZE, fps[i], &fresh) < 0) return -1;
        is_new[i] = (uint8_t)fresh;
    }
    return 0;
}

/* ---- checkpoints (checker/engine/checkpoint.py) ----------------------------- */

/* A checkpoint holds the search as it stood when a level began: the first
 * n_states states (their fingerprints by number, parents, and with `exact`
 * the states), the frontier (cur), the graph's rows and edges so far, and
 * the label tables. Called between levels, or in the middle of one with the
 * counts Python noted when it began: states numbered since are left out,
 * and the per-state graph fields of the frontier (written as each frontier
 * state is taken) are written as zero, which they were then. The counters,
 * verdicts and coverage are Python's to keep (eng_restore_counts). */

#define CK_MAGIC 0x31706b63706d67ULL /* "gmpcpk1" */

static int ck_write(FILE *f, const void *p, size_t n) {
    return n == 0 || fwrite(p, 1, n, f) == n ? 0 : -1;
}

static int ck_read(FILE *f, void *p, size_t n) {
    return n == 0 || fread(p, 1, n, f) == n ? 0 : -1;
}

static int ck_write_zeros(FILE *f, size_t n) {
    static const uint8_t z[4096];
    while (n) {
        size_t k = n < sizeof z ? n : sizeof z;
        if (ck_write(f, z, k)) return -1;
        n -= k;
    }
    return 0;
}

static int ck_write_intern(FILE *f, const intern_t *t) {
    uint64_t h[2] = {t->n, t->nkeys_words};
    if (ck_write(f, h, sizeof h)) return -1;
    if (ck_write(f, t->keys, t->nkeys_words * sizeof(int64_t))) return -1;
    return ck_write(f, t->start, t->n * sizeof(size_t));
}

static int ck_read_intern(FILE *f, intern_t *t) {
    uint64_t h[2];
    if (ck_read(f, h, sizeof h)) return -1;
    intern_free(t);
    t->n = t->cap_start = h[0];
    t->nkeys_words = t->cap_keys = h[1];
    t->keys = (int64_t *)malloc((h[1] ? h[1] : 1) * sizeof(int64_t));
    t->start = (size_t *)malloc((h[0] ? h[0] : 1) * sizeof(size_t));
    if (!t->keys || !t->start) return -2;
    if (ck_read(f, t->keys, h[1] * sizeof(int64_t))) return -1;
    if (ck_read(f, t->start, h[0] * sizeof(size_t))) return -1;
    size_t ns = 1024;
    while (ns < 2 * (t->n + 1)) ns *= 2;
    return intern_rehash(t, ns) ? -2 : 0;
}

/* Write the search as it stood with n_states states, n_row graph rows and
 * n_edges edges; the states from zero_from on are the frontier (their graph
 * fields are written as zero). Returns 0, or -1 (errno says why). */
API int eng_save(eng_t *e, const char *path, int64_t n_states, int64_t n_row, int64_t n_edges,
                 int64_t zero_from) {
    size_t n = (size_t)n_states, zf = (size_t)zero_from;
    if (n > e->n_states || zf > n) { errno = EINVAL; return -1; }
    uint64_t *fp = (uint64_t *)calloc(n ? n : 1, sizeof(uint64_t));
    if (!fp) return -1;
    for (size_t i = 0; i < e->tab_cap; i++)
        if (e->tab_fp[i] && e->tab_idx[i] < n) fp[e->tab_idx[i]] = e->tab_fp[i];
    FILE *f = fopen(path, "wb");
    if (!f) { free(fp); return -1; }
    uint64_t head[10] = {CK_MAGIC, SIZE, (uint64_t)e->macro, (uint64_t)e->graph,
                         (uint64_t)e->symmetry, (uint64_t)e->exact, n, e->n_cur,
                         (uint64_t)n_row, (uint64_t)n_edges};
    int bad = ck_write(f, head, sizeof head) || ck_write(f, fp, n * sizeof(uint64_t)) ||
              ck_write(f, e->parent, n * sizeof(uint32_t)) ||
              (e->exact && ck_write(f, e->states, n * SIZE)) ||
              ck_write(f, e->cur, e->n_cur * SIZE) ||
              ck_write(f, e->cur_idx, e->n_cur * sizeof(uint32_t));
    free(fp);
    if (!bad && e->graph) {
        bad = ck_write(f, e->row, (size_t)n_row * sizeof(uint64_t)) ||
              ck_write(f, e->col, (size_t)n_edges * sizeof(uint32_t)) ||
              ck_write(f, e->elab, (size_t)n_edges * sizeof(uint32_t)) ||
              ck_write(f, e->atoms, zf * sizeof(uint64_t)) ||
              ck_write_zeros(f, (n - zf) * sizeof(uint64_t)) ||
              ck_write(f, e->strong, zf * sizeof(uint64_t)) ||
              ck_write_zeros(f, (n - zf) * sizeof(uint64_t)) ||
              ck_write(f, e->flags, zf) || ck_write_zeros(f, n - zf);
    }
    if (!bad) bad = ck_write_intern(f, &e->fine) || ck_write_intern(f, &e->seq);
    int saved = errno;
    if (fflush(f) || fsync(fileno(f))) { saved = errno; bad = 1; }
    if (fclose(f)) { saved = errno; bad = 1; }
    errno = saved;
    return bad ? -1 : 0;
}

/* Read a checkpoint into a new engine (made with the same flags). Returns
 * 0; -1 a read error or a file that is not one (errno), -2 out of memory,
 * -3 a checkpoint of another layout or other search flags. */
API int eng_load(eng_t *e, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    uint64_t h[10];
    int rc = 0;
    oom = 0;
    if (ck_read(f, h, sizeof h) || h[0] != CK_MAGIC) { errno = EINVAL; rc = -1; goto out; }
    if (h[1] != SIZE || h[2] != (uint64_t)e->macro || h[3] != (uint64_t)e->graph ||
        h[4] != (uint64_t)e->symmetry || h[5] != (uint64_t)e->exact) { rc = -3; goto out; }
    size_t n = h[6], ncur = h[7], nrow = h[8], nedges = h[9];
    size_t cap = 1 << 16;
    while (n * 4 > cap * 3) cap *= 2;
    free(e->tab_fp); free(e->tab_idx);
    e->tab_cap = cap;
    e->tab_fp = (uint64_t *)calloc(cap, sizeof(uint64_t));
    e->tab_idx = (uint32_t *)calloc(cap, sizeof(uint32_t));
    uint64_t *fp = (uint64_t *)malloc((n ? n : 1) * sizeof(uint64_t));
    GROW(e->parent, e->cap_parent, n + 1, uint32_t);
    if (e->exact) GROW(e->states, e->cap_states, (n + 1) * SIZE, uint8_t);
    GROW(e->cur, e->cap_cur, (ncur + 1) * SIZE, uint8_t);
    GROW(e->cur_idx, e->cap_cur_idx, ncur + 1, uint32_t);
    if (oom || !e->tab_fp || !e->tab_idx || !fp) { free(fp); rc = -2; goto out; }
    if (ck_read(f, fp, n * sizeof(uint64_t)) || ck_read(f, e->parent, n * sizeof(uint32_t)) ||
        (e->exact && ck_read(f, e->states, n * SIZE)) || ck_read(f, e->cur, ncur * SIZE) ||
        ck_read(f, e->cur_idx, ncur * sizeof(uint32_t))) { free(fp); rc = -1; goto out; }
    for (size_t idx = 0; idx < n; idx++) {
        size_t i = fp[idx] & (cap - 1);
        while (e->tab_fp[i]) i = (i + 1) & (cap - 1);
        e->tab_fp[i] = fp[idx];
        e->tab_idx[i] = (uint32_t)idx;
    }
    free(fp);
    e->n_states = n;
    e->n_cur = ncur;
    e->n_nxt = 0;
    if (e->graph) {
        GROW(e->row, e->cap_row, nrow + 2, uint64_t);
        GROW(e->col, e->cap_col, nedges + 1, uint32_t);
        GROW(e->elab, e->cap_elab, nedges + 1, uint32_t);
        GROW(e->atoms, e->cap_atoms, n + 1, uint64_t);
        GROW(e->strong, e->cap_strong, n + 1, uint64_t);
        GROW(e->flags, e->cap_flags, n + 1, uint8_t);
        if (oom) { rc = -2; goto out; }
        if (ck_read(f, e->row, nrow * sizeof(uint64_t)) ||
            ck_read(f, e->col, nedges * sizeof(uint32_t)) ||
            ck_read(f, e->elab, nedges * sizeof(uint32_t)) ||
            ck_read(f, e->atoms, n * sizeof(uint64_t)) ||
            ck_read(f, e->strong, n * sizeof(uint64_t)) || ck_read(f, e->flags, n)) {
            rc = -1;
            goto out;
        }
        e->n_row = nrow;
        e->n_edges = nedges;
    }
    rc = ck_read_intern(f, &e->fine);
    if (!rc) rc = ck_read_intern(f, &e->seq);
out:
    fclose(f);
    return rc;
}

/* The counters and coverage a checkpoint's search had (Python keeps them
 * with the checkpoint): into the engine, the coverage in worker 0's. */
API void eng_restore_counts(eng_t *e, const int64_t *counts, const uint64_t *cover,
                            const uint64_t *cut) {
    e->transitions = counts[0];
    e->truncated = counts[1];
    e->deadlocks = counts[2];
    e->expanded = counts[3];
    for (int i = 0; i < e->nworkers; i++) {
        memset(e->wk[i].cover, 0, (size_t)NA * 256 * sizeof(uint64_t));
        memset(e->wk[i].cut, 0, (size_t)NA * 256 * sizeof(uint64_t));
    }
    memcpy(e->wk[0].cover, cover, (size_t)NA * 256 * sizeof(uint64_t));
    memcpy(e->wk[0].cut, cut, (size_t)NA * 256 * sizeof(uint64_t));
}

/* ---- what Python reads ------------------------------------------------------ */

API void eng_stats(eng_t *e, int64_t *out) {
    out[0] = (int64_t)e->n_states;
    out[1] = e->transitions;
    out[2] = e->truncated;
    out[3] = e->deadlocks;
    out[4] = e->expanded;
    out[5] = (int64_t)e->n_edges;
    out[6] = (int64_t)(e->macro ? e->seq.n : e->fine.n);
    out[7] = (int64_t)e->n_cur;
    out[8] = (int64_t)e->tab_cap;
    out[9] = (int64_t)e->n_nxt;
}

/* Bytes held per kind: visited set (table + parents), graph, frontier. */
API void eng_memory(eng_t *e, int64_t *out) {
    out[0] = (int64_t)(e->tab_cap * (sizeof(uint64_t) + sizeof(uint32_t)) +
                       e->cap_parent * sizeof(uint32_t) + e->cap_states);
    out[1] = (int64_t)(e->cap_row * 8 + e->cap_col * 4 + e->cap_elab * 4 +
                       (e->egroups ? e->n_edges * 8 : 0) + e->cap_atoms * 8 +
                       e->cap_strong * 8 + e->cap_flags);
    out[2] = (int64_t)(e->cap_cur + e->cap_nxt + (e->cap_cur_idx + e->cap_nxt_idx) * 4);
}

API int eng_violation_inv(eng_t *e, int b, int64_t *idx, int64_t *depth) {
    if (!(e->inv_found >> b & 1)) return 0;
    *idx = e->inv_idx[b]; *depth = e->inv_depth[b];
    return 1;
}

API int eng_violation_act(eng_t *e, int b, int64_t *idx, int64_t *depth, uint8_t *next) {
    if (!(e->act_found >> b & 1)) return 0;
    *idx = e->act_idx[b]; *depth = e->act_depth[b];
    memcpy(next, e->act_next + (size_t)b * SIZE, SIZE);
    return 1;
}

API int eng_violation_dead(eng_t *e, int64_t *idx, int64_t *depth) {
    if (!e->dead_found) return 0;
    *idx = e->dead_idx; *depth = e->dead_depth;
    return 1;
}

API uint32_t *eng_parent(eng_t *e) { return e->parent; }
API uint64_t *eng_table_fp(eng_t *e) { return e->tab_fp; }
API uint32_t *eng_table_idx(eng_t *e) { return e->tab_idx; }
API uint64_t *eng_row(eng_t *e) { return e->row; }
API int64_t eng_nrow(eng_t *e) { return (int64_t)e->n_row; }
API uint32_t *eng_col(eng_t *e) { return e->col; }
API uint32_t *eng_elab(eng_t *e) { return e->elab; }
API uint64_t *eng_atoms(eng_t *e) { return e->atoms; }
API uint64_t *eng_strong(eng_t *e) { return e->strong; }
API uint8_t *eng_flags(eng_t *e) { return e->flags; }
API uint8_t *eng_states(eng_t *e) { return e->states; }

/* Coverage: per actor a and program counter pc (out[a * 256 + pc]), the
 * states (inner states of macro steps included) from which a took a step. */
API void eng_coverage(eng_t *e, uint64_t *out) {
    for (int c = 0; c < NA * 256; c++) {
        out[c] = 0;
        for (int i = 0; i < e->nworkers; i++) out[c] += e->wk[i].cover[c];
    }
}

/* Cuts: per actor a and program counter pc (out[a * 256 + pc]), the states
 * in which a bound of the configuration cut a step of a at pc off. */
API void eng_cuts(eng_t *e, uint64_t *out) {
    for (int c = 0; c < NA * 256; c++) {
        out[c] = 0;
        for (int i = 0; i < e->nworkers; i++) out[c] += e->wk[i].cut[c];
    }
}

/* The text of label id, and its actor. */
API int eng_label(eng_t *e, int64_t id, char *buf, int cap, int *actor) {
    pthread_mutex_lock(&e->lock);
    int len = 0;
    if (e->macro) {
        const int64_t *k = e->seq.keys + e->seq.start[id];
        for (int64_t i = 0; i < k[0]; i++) {
            const int64_t *f = e->fine.keys + e->fine.start[k[1 + i]];
            if (i) { if (len + 2 < cap) memcpy(buf + len, "; ", 2); len += 2; }
            int l = render_fine((int)f[1], f + 2, len < cap ? buf + len : buf, len < cap ? cap - len : 0);
            len += l;
            if (i == 0) *actor = CMD_ACTOR[f[1]];
        }
    } else {
        const int64_t *f = e->fine.keys + e->fine.start[id];
        len = render_fine((int)f[1], f + 2, buf, cap);
        *actor = CMD_ACTOR[f[1]];
    }
    if (cap > 0) buf[len < cap ? len : cap - 1] = 0;
    pthread_mutex_unlock(&e->lock);
    return len;
}

/* The key of label id, for the caller to make its Action from: per fine
 * step (one, or a macro step's several) its length n and n words, the
 * command and its label's values, back to back. Returns the words written,
 * or the count needed when it exceeds cap. */
API int eng_label_key(eng_t *e, int64_t id, int64_t *out, int cap) {
    pthread_mutex_lock(&e->lock);
    int len = 0;
    int64_t one = id;
    const int64_t *ids = &one;
    int64_t nfine = 1;
    if (e->macro) {
        const int64_t *k = e->seq.keys + e->seq.start[id];
        nfine = k[0];
        ids = k + 1;
    }
    for (int64_t i = 0; i < nfine; i++) {
        const int64_t *f = e->fine.keys + e->fine.start[ids[i]];
        for (int64_t j = 0; j <= f[0]; j++) {
            if (len < cap) out[len] = f[j];
            len++;
        }
    }
    pthread_mutex_unlock(&e->lock);
    return len;
}

API int k_size(void) { return SIZE; }
API int k_ncmd(void) { return NCMD; }
API int k_ninv(void) { return N_INV; }
API int k_nact(void) { return N_ACT; }

API void k_canonical(const uint8_t *t, uint8_t *out) { canonical(t, out); }
API uint64_t k_fingerprint(const uint8_t *t) { return fingerprint(t); }

/* Every transition out of t, for the differential tests: the successors'
 * bytes and actors into out/actor (at most cap), labels ids into label (of
 * the engine's tables, so rendered with eng_label). Returns the count, or
 * -1 - error bits. */
API int k_successors(eng_t *e, const uint8_t *t, uint8_t *out, int *actor, int64_t *label, int cap,
                 int *truncated) {
    wk_t *w = &e->wk[0];
    oom = 0;
    w->err = 0;
    int g = e->graph;
    e->graph = 1; /* labels on */
    int n = successors(e, w, t, truncated);
    e->graph = g;
    if (w->err || oom) return -1 - (w->err | (oom ? 16 : 0));
    for (int j = 0; j < n && j < cap; j++) {
        memcpy(out + (size_t)j * SIZE, w->su + (size_t)j * SIZE, SIZE);
        actor[j] = w->sa[j];
        label[j] = w->sl[j];
    }
    return n;
}

API uint64_t k_inv(const uint8_t *t, int *err) { return bad_inv(t, ~0ULL, err); }
API uint64_t k_act(const uint8_t *t, const uint8_t *u, int *err) { return bad_act(t, u, ~0ULL, err); }
API uint64_t k_atoms(const uint8_t *t) { return atoms_of(t); }
API uint64_t k_strong(const uint8_t *t, int *err) { return state_groups(t, err); }
API int k_final(const uint8_t *t) { return is_final(t); }
