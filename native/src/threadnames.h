/*
 * Python thread names (threading.Thread.name) read from the target's own
 * threading module: sys.modules['threading']._active maps each thread's
 * ident to its Thread object, whose instance dict holds the name. Reads only
 * through a memsrc (so tests can use synthetic images); every read bounded.
 */
#ifndef GAUGE_THREADNAMES_H
#define GAUGE_THREADNAMES_H
#include <stdint.h>
#include "layouts.h"
#include "memsrc.h"

#define TN_NAME_MAX 1024  /* bytes of UTF-8 kept per name (longer ones are cut) */
#define TN_MAX_THREADS 4096
#define TN_MAX_DICT 65536 /* entries; bigger dicts are garbage or torn */
#define TN_MAX_ATTRS 256  /* entries of a Thread's own attribute table (a real one has about 20) */
#define TN_MAX_MISSES 8   /* Threads without a readable name before the interned "_name" is known: give up */

#define TN_PATH_MAX 8     /* words one name lookup follows (type, dict or values, keys, the name's slot) */

typedef struct {
  uint64_t ident;
  char name[TN_NAME_MAX];
} tn_entry;

/*
 * The words a name lookup followed, each with the value it held, the name's
 * own slot (holding the str object) last. Read again and found unchanged,
 * they prove the name unchanged (a str never changes while referenced).
 * n > TN_PATH_MAX: too long to keep.
 */
typedef struct {
  uint64_t addr[TN_PATH_MAX], val[TN_PATH_MAX];
  int n;
} tn_path;

/* A thread's name as the last refresh found it, keyed by its _active entry (ident int and Thread objects). */
typedef struct {
  uint64_t key, obj, ident;
  tn_path path;
  char *name;
} tn_known;

/* Names known per thread; a refresh re-reads only their paths, in one batch. */
typedef struct tn_memo {
  tn_known *v;
  int n;
} tn_memo;

/* What one refresh learns that stays valid for the process's life (rechecked on use). */
typedef struct tn_cache {
  uint64_t active;    /* threading._active dict */
  uint64_t name_key;  /* the interned "_name" str object, compared by address first */
  uint64_t str_type;  /* the str type object, once seen (a static type: never moves) */
  tn_memo *memo;      /* optional (NULL: every name read in full); set with threadnames_memo_on */
} tn_cache;

/*
 * Names of the threads of the interpreter at interp. Returns how many
 * entries were written (0 when threading was never imported), or -1 when
 * the target's structures could not be read (torn, unknown layout).
 */
int threadnames_read(memsrc *m, const py_layout *l, tn_cache *c, uint64_t interp, tn_entry *out,
                     int max);
/* Keep names between refreshes (c->memo); 0 ok, -1 out of memory. threadnames_free releases it. */
int threadnames_memo_on(tn_cache *c);
void threadnames_free(tn_cache *c);

/* Low-level readers, exposed for unit tests. */
/* Find key (ASCII) in the dict at d; *val = value. 0 found, 1 absent, -1 unreadable. */
int tn_dict_get(memsrc *m, const py_layout *l, uint64_t d, const char *key, uint64_t *keyobj,
                uint64_t *val);
/* The same over at most max entries (a larger dict is refused: -1). */
int tn_dict_get_n(memsrc *m, const py_layout *l, uint64_t d, const char *key, uint64_t *keyobj, uint64_t *val,
                  int64_t max);
/* Value of an instance attribute (instance dict, 3.11+ managed dict / shared values, 3.13 inline values). */
int tn_attr_get(memsrc *m, const py_layout *l, uint64_t obj, const char *key, uint64_t *keyobj,
                uint64_t *val);
/* An int object's value (2.7 int, 3.x long). 0 ok, -1 unreadable or too big. */
int tn_int_read(memsrc *m, const py_layout *l, uint64_t obj, uint64_t *out);
#endif
