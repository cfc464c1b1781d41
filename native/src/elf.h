/* Just enough ELF64 to find CPython's symbols in a binary or libpython on disk. */
#ifndef GAUGE_ELF_H
#define GAUGE_ELF_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t value; /* link-time address (add the load bias) */
  uint64_t size;
  int found;
} elf_sym;

typedef struct {
  int fd;
  int is_exec;          /* ET_EXEC: addresses are absolute */
  uint64_t load_vaddr;  /* page-aligned vaddr of the segment mapped at file offset 0 */
  uint64_t pyruntime_sec; /* .PyRuntime section address (3.10+), 0 if absent */
  uint64_t asynciodebug_sec, asynciodebug_size; /* .AsyncioDebug (3.14+ _asyncio), 0 if absent */
  uint64_t rodata_off, rodata_size;
  void *shdrs;
  int shnum;
} elf_file;

int elf_open(elf_file *e, const char *path);
void elf_close(elf_file *e);
/* Look up each name (NULL-terminated list) in .dynsym and .symtab. Returns how many were found. */
int elf_lookup(elf_file *e, const char *const *names, elf_sym *out);
/*
 * Find the version literal "<prefix><digits...>" (e.g. prefix "3.8.") as a
 * NUL-delimited string in .rodata; copies it to out. 0 when found.
 */
int elf_find_version_string(elf_file *e, const char *prefix, char *out, size_t outlen);
#endif
