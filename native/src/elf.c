#define _GNU_SOURCE
#include "elf.h"
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SECTION (256u << 20) /* refuse absurd section sizes from a corrupt file */

static int pread_all(int fd, void *buf, size_t len, uint64_t off) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
    if (n <= 0) return -1;
    done += (size_t)n;
  }
  return 0;
}

int elf_open(elf_file *e, const char *path) {
  memset(e, 0, sizeof *e);
  /* The path comes from the target's maps: never block on a FIFO or open a device in its place. */
  e->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (e->fd < 0) return -1;
  struct stat st;
  if (fstat(e->fd, &st) || !S_ISREG(st.st_mode)) { close(e->fd); e->fd = -1; return -1; }
  Elf64_Ehdr eh;
  if (pread_all(e->fd, &eh, sizeof eh, 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_shnum > 4096 || eh.e_phnum > 512)
    goto bad;
  e->is_exec = eh.e_type == ET_EXEC;
  Elf64_Phdr ph[512];
  if (pread_all(e->fd, ph, (size_t)eh.e_phnum * sizeof *ph, eh.e_phoff)) goto bad;
  int have_load = 0;
  for (int i = 0; i < eh.e_phnum; i++)
    if (ph[i].p_type == PT_LOAD && (!have_load || ph[i].p_vaddr < e->load_vaddr)) {
      e->load_vaddr = (ph[i].p_vaddr - ph[i].p_offset) & ~0xfffull;
      have_load = 1;
    }
  e->shnum = eh.e_shnum;
  e->shdrs = calloc(eh.e_shnum ? eh.e_shnum : 1, sizeof(Elf64_Shdr));
  if (!e->shdrs || pread_all(e->fd, e->shdrs, (size_t)eh.e_shnum * sizeof(Elf64_Shdr), eh.e_shoff)) goto bad;
  Elf64_Shdr *sh = e->shdrs;
  if (eh.e_shstrndx < eh.e_shnum && sh[eh.e_shstrndx].sh_size < MAX_SECTION) {
    size_t n = sh[eh.e_shstrndx].sh_size;
    char *names = malloc(n + 1);
    if (names && pread_all(e->fd, names, n, sh[eh.e_shstrndx].sh_offset) == 0) {
      names[n] = 0;
      for (int i = 0; i < e->shnum; i++) {
        if (sh[i].sh_name >= n) continue;
        const char *nm = names + sh[i].sh_name;
        if (!strcmp(nm, ".PyRuntime")) e->pyruntime_sec = sh[i].sh_addr;
        if (!strcmp(nm, ".AsyncioDebug")) { e->asynciodebug_sec = sh[i].sh_addr; e->asynciodebug_size = sh[i].sh_size; }
        if (!strcmp(nm, ".rodata")) { e->rodata_off = sh[i].sh_offset; e->rodata_size = sh[i].sh_size; }
      }
    }
    free(names);
  }
  return 0;
bad:
  elf_close(e);
  return -1;
}

void elf_close(elf_file *e) {
  if (e->fd > 0) close(e->fd);
  free(e->shdrs);
  memset(e, 0, sizeof *e);
  e->fd = -1;
}

static void lookup_in(elf_file *e, int symidx, const char *const *names, elf_sym *out) {
  Elf64_Shdr *sh = e->shdrs;
  Elf64_Shdr *ss = &sh[symidx];
  if (ss->sh_link >= (uint32_t)e->shnum || ss->sh_entsize != sizeof(Elf64_Sym)) return;
  Elf64_Shdr *st = &sh[ss->sh_link];
  if (ss->sh_size > MAX_SECTION || st->sh_size > MAX_SECTION) return;
  Elf64_Sym *syms = malloc(ss->sh_size ? ss->sh_size : 1);
  char *strs = malloc(st->sh_size + 1);
  if (syms && strs && !pread_all(e->fd, syms, ss->sh_size, ss->sh_offset) && !pread_all(e->fd, strs, st->sh_size, st->sh_offset)) {
    strs[st->sh_size] = 0;
    size_t n = ss->sh_size / sizeof(Elf64_Sym);
    for (size_t i = 0; i < n; i++) {
      if (syms[i].st_name >= st->sh_size || syms[i].st_shndx == SHN_UNDEF || !syms[i].st_value) continue;
      const char *nm = strs + syms[i].st_name;
      for (int k = 0; names[k]; k++)
        if (!out[k].found && !strcmp(nm, names[k])) {
          out[k].value = syms[i].st_value;
          out[k].size = syms[i].st_size;
          out[k].found = 1;
        }
    }
  }
  free(syms);
  free(strs);
}

int elf_lookup(elf_file *e, const char *const *names, elf_sym *out) {
  int n = 0;
  while (names[n]) memset(&out[n++], 0, sizeof *out);
  Elf64_Shdr *sh = e->shdrs;
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < e->shnum; i++)
      if (sh[i].sh_type == (pass == 0 ? SHT_DYNSYM : SHT_SYMTAB)) lookup_in(e, i, names, out);
  int found = 0;
  for (int k = 0; k < n; k++) found += out[k].found;
  return found;
}

int elf_find_version_string(elf_file *e, const char *prefix, char *out, size_t outlen) {
  if (!e->rodata_size || e->rodata_size > MAX_SECTION) return -1;
  char *buf = malloc(e->rodata_size + 1);
  if (!buf || pread_all(e->fd, buf, e->rodata_size, e->rodata_off)) { free(buf); return -1; }
  buf[e->rodata_size] = 0;
  size_t pl = strlen(prefix);
  int rc = -1;
  for (size_t i = 1; i + pl < e->rodata_size; i++) {
    if (buf[i - 1] != 0 || memcmp(buf + i, prefix, pl) != 0) continue;
    /* "3.8.18" or "3.13.0rc1": digits, then an optional release tag, then NUL */
    size_t j = i + pl, k = j;
    while (buf[k] >= '0' && buf[k] <= '9') k++;
    if (k == j) continue;
    while ((buf[k] >= 'a' && buf[k] <= 'z') || (buf[k] >= '0' && buf[k] <= '9') || buf[k] == '+') k++;
    if (buf[k] != 0 || k - i >= outlen || k - i > 16) continue;
    memcpy(out, buf + i, k - i);
    out[k - i] = 0;
    rc = 0;
    break;
  }
  free(buf);
  return rc;
}
