/* What the generated step functions need: the step buffer they write into
 * and Python's integer semantics for the few operators that differ in C.
 * Included by the generated source after its layout defines. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The fine steps one actor can take from one state, as the generated
 * group functions write them: successor bytes, command, position in the
 * model's list, label values. */
typedef struct {
    int n;
    int truncated;
    int err;
    int want_labels;
    uint8_t u[MAXFINE][SIZE];
    int cmd[MAXFINE];
    int64_t pos[MAXFINE];
    int64_t vals[MAXFINE][MAXV];
} stepbuf_t;

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static inline int in_set(int64_t v, const uint64_t *set) {
    return (uint64_t)v < 256 && (set[v >> 6] >> (v & 63) & 1);
}

/* Python's floor division and modulo; 0 where Python would raise (only on
 * an if-then-else side that is not taken: see codegen.py). */
static inline int64_t py_div(int64_t a, int64_t b) {
    if (b == 0) return 0;
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}
static inline int64_t py_mod(int64_t a, int64_t b) {
    if (b == 0) return 0;
    int64_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}
static inline int64_t py_shl(int64_t a, int64_t b) {
    return (b < 0 || b > 62) ? 0 : (int64_t)((uint64_t)a << b);
}
static inline int64_t py_shr(int64_t a, int64_t b) {
    return b < 0 ? 0 : (b > 62 ? (a < 0 ? -1 : 0) : (a >> b));
}

static inline uint8_t *step_begin(stepbuf_t *o, const uint8_t *x, int cmd) {
    uint8_t *u = o->u[o->n];
    memcpy(u, x, SIZE);
    o->cmd[o->n] = cmd;
    return u;
}

/* A written byte must be of its field's type: the relation was built on
 * states that are, and Python's bytes() would refuse a value past 255. */
static inline void step_write(stepbuf_t *o, uint8_t *u, int k, int64_t v) {
    if (!in_set(v, DOMAIN[k])) o->err |= 2;
    u[k] = (uint8_t)v;
}

static inline void step_end(stepbuf_t *o, int64_t pos) {
    o->pos[o->n] = pos;
    o->n++;
}
