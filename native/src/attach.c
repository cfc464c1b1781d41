/* Attach: find the CPython runtime in a process and pick the layout for its version. */
#define _GNU_SOURCE
#include "../include/gauge.h"
#include "debug_offsets.h"
#include "elf.h"
#include "reader.h"
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PERM_HINT \
  "run gauge as the target's user, with sudo, or grant CAP_SYS_PTRACE (setcap cap_sys_ptrace+ep on node); " \
  "a non-zero kernel.yama.ptrace_scope also forbids reading processes that are not your children"

static int fail(int code, int *err, char *msg, int msglen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (msg && msglen > 0) vsnprintf(msg, (size_t)msglen, fmt, ap);
  va_end(ap);
  if (err) *err = code;
  return code;
}

typedef struct {
  char path[PATH_MAX];
  uint64_t base; /* lowest mapped address of the file */
} mapped_file;

/* Executable and libpython mappings from /proc/PID/maps. */
static int scan_maps(int pid, mapped_file *files, int maxfiles, int *nfiles, int *ninfo) {
  char p[64];
  snprintf(p, sizeof p, "/proc/%d/maps", pid);
  FILE *f = fopen(p, "re");
  if (!f) return -errno;
  char line[PATH_MAX + 256];
  int n = 0, lines = 0;
  while (fgets(line, sizeof line, f)) {
    lines++;
    unsigned long long start, end, off;
    char perms[8];
    int pathpos = 0;
    if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &off, &pathpos) < 4 || !pathpos) continue;
    char *path = line + pathpos;
    path[strcspn(path, "\n")] = 0;
    if (path[0] != '/') continue;
    char *del = strstr(path, " (deleted)");
    if (del) *del = 0;
    int k;
    for (k = 0; k < n; k++) if (!strcmp(files[k].path, path)) break;
    if (k == n) {
      if (n == maxfiles) continue;
      snprintf(files[n].path, sizeof files[n].path, "%s", path);
      files[n].base = start;
      n++;
    } else if (start < files[k].base) {
      files[k].base = start;
    }
  }
  fclose(f);
  *nfiles = n;
  *ninfo = lines;
  return 0;
}

static int open_target_file(elf_file *e, int pid, const char *path) {
  char p[PATH_MAX + 64];
  /* Through the target's root, so containers (other mount namespaces) work. */
  snprintf(p, sizeof p, "/proc/%d/root%s", pid, path);
  if (elf_open(e, p) == 0) return 0;
  return elf_open(e, path);
}

static int is_libpython(const char *path) {
  const char *b = strrchr(path, '/');
  return strstr(b ? b : path, "libpython") != 0;
}

/* "python3.8", "libpython3.12.so.1.0", "python2.7" -> major/minor. */
static int version_from_name(const char *path, int *major, int *minor) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  const char *p = strstr(b, "python");
  if (!p) return -1;
  p += 6;
  if (!isdigit((unsigned char)p[0]) || p[1] != '.' || !isdigit((unsigned char)p[2])) return -1;
  *major = p[0] - '0';
  *minor = atoi(p + 2);
  return 0;
}

static int read_proc_stat(int pid, char *state, unsigned long *flags) {
  char p[64], buf[1024];
  snprintf(p, sizeof p, "/proc/%d/stat", pid);
  FILE *f = fopen(p, "re");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *q = strrchr(buf, ')');
  if (!q) return -1;
  /* fields after comm: state ppid pgrp session tty_nr tpgid flags */
  if (sscanf(q + 2, "%c %*d %*d %*d %*d %*d %lu", state, flags) != 2) return -1;
  return 0;
}

/* "version.0" is Py_GetVersion()'s static buffer: sys.version, filled at start-up. */
static const char *const SYMS[] = {"_PyRuntime", "interp_head", "_PyThreadState_Current", "Py_Version", "PyCode_Type", "version.0", 0};
enum { S_RUNTIME, S_INTERP_HEAD, S_TSTATE_CURRENT, S_PY_VERSION, S_CODE_TYPE, S_VERSION_BUF, S_COUNT };

int reader_attach(struct gauge_reader *r, int pid, int *err, char *msg, int msglen) {
  if (pid <= 0) return fail(GAUGE_EINVAL, err, msg, msglen, "invalid pid %d", pid);
  if (kill(pid, 0) != 0 && errno == ESRCH) return fail(GAUGE_ENOPROC, err, msg, msglen, "no process with pid %d", pid);
  char state = 0;
  unsigned long pflags = 0;
  if (read_proc_stat(pid, &state, &pflags) != 0) return fail(GAUGE_ENOPROC, err, msg, msglen, "no process with pid %d", pid);
  if (state == 'Z' || state == 'X')
    return fail(GAUGE_EEXITED, err, msg, msglen, "process %d has exited (zombie, not yet reaped by its parent)", pid);
  if (pflags & 0x00200000ul) /* PF_KTHREAD */
    return fail(GAUGE_ENOTPYTHON, err, msg, msglen, "pid %d is a kernel thread, not a Python process", pid);

  mapped_file *files = calloc(256, sizeof *files);
  if (!files) return fail(GAUGE_ENOMEM, err, msg, msglen, "out of memory");
  int nfiles = 0, nlines = 0;
  int rc = scan_maps(pid, files, 256, &nfiles, &nlines);
  if (rc == -EACCES || rc == -EPERM) {
    free(files);
    return fail(GAUGE_EPERM, err, msg, msglen, "permission denied reading process %d: %s", pid, PERM_HINT);
  }
  if (rc == -ENOENT || rc == -ESRCH) { free(files); return fail(GAUGE_ENOPROC, err, msg, msglen, "no process with pid %d", pid); }
  if (rc) { free(files); return fail(GAUGE_EPERM, err, msg, msglen, "cannot read /proc/%d/maps: %s", pid, strerror(-rc)); }
  if (nlines == 0) { free(files); return fail(GAUGE_EEXITED, err, msg, msglen, "process %d has no memory mappings (exiting or a kernel thread)", pid); }

  /* Prefer libpython (the runtime lives there when Python is built shared), then the executable. */
  char exe[PATH_MAX] = "";
  char linkp[64];
  snprintf(linkp, sizeof linkp, "/proc/%d/exe", pid);
  ssize_t el = readlink(linkp, exe, sizeof exe - 1);
  if (el > 0) { exe[el] = 0; char *d = strstr(exe, " (deleted)"); if (d) *d = 0; } else exe[0] = 0;

  int order[256], norder = 0;
  for (int i = 0; i < nfiles; i++) if (is_libpython(files[i].path)) order[norder++] = i;
  for (int i = 0; i < nfiles; i++) if (!is_libpython(files[i].path) && !strcmp(files[i].path, exe)) order[norder++] = i;
  /* Anything else named like python (an embedding binary's own copy, e.g. uwsgi's). */
  for (int i = 0; i < nfiles; i++)
    if (!is_libpython(files[i].path) && strcmp(files[i].path, exe) && strstr(files[i].path, "python") && norder < 256) order[norder++] = i;

  elf_sym syms[S_COUNT];
  elf_file ef;
  int chosen = -1;
  for (int k = 0; k < norder && chosen < 0; k++) {
    mapped_file *mf = &files[order[k]];
    if (open_target_file(&ef, pid, mf->path)) continue;
    elf_lookup(&ef, SYMS, syms);
    if (syms[S_RUNTIME].found || syms[S_INTERP_HEAD].found || syms[S_TSTATE_CURRENT].found) {
      chosen = order[k];
      break;
    }
    elf_close(&ef);
  }
  if (chosen < 0) {
    free(files);
    return fail(GAUGE_ENOTPYTHON, err, msg, msglen, "process %d (%s) is not a Python process: no CPython runtime found in its executable or libraries",
                pid, exe[0] ? exe : "?");
  }
  mapped_file *mf = &files[chosen];
  r->pid = pid;
  snprintf(r->binary, sizeof r->binary, "%s", exe);
  if (is_libpython(mf->path)) snprintf(r->library, sizeof r->library, "%s", mf->path);
  r->bias = ef.is_exec ? 0 : mf->base - ef.load_vaddr;
  memsrc_init_process(&r->mem, pid);

  /* Version: Py_Version (3.11+), else the file name plus the version literal in .rodata. */
  int major = -1, minor = -1, micro = -1;
  char vstr[32] = "";
  if (syms[S_PY_VERSION].found) {
    uint32_t hex = 0;
    if (mem_read(&r->mem, syms[S_PY_VERSION].value + r->bias, &hex, 4) == 0) {
      major = (hex >> 24) & 0xff;
      minor = (hex >> 16) & 0xff;
      micro = (hex >> 8) & 0xff;
      int level = (hex >> 4) & 0xf, serial = hex & 0xf;
      const char *tag = level == 0xa ? "a" : level == 0xb ? "b" : level == 0xc ? "rc" : "";
      if (*tag) snprintf(vstr, sizeof vstr, "%d.%d.%d%s%d", major, minor, micro, tag, serial);
      else snprintf(vstr, sizeof vstr, "%d.%d.%d", major, minor, micro);
    } else if (r->mem.denied) {
      elf_close(&ef);
      free(files);
      return fail(GAUGE_EPERM, err, msg, msglen, "permission denied reading process %d: %s", pid, PERM_HINT);
    }
  }
  if (major < 0 && (version_from_name(mf->path, &major, &minor) == 0 || version_from_name(exe, &major, &minor) == 0)) {
    char prefix[16], sysver[64] = "";
    snprintf(prefix, sizeof prefix, "%d.%d.", major, minor);
    size_t pl = strlen(prefix);
    if (syms[S_VERSION_BUF].found && mem_read(&r->mem, syms[S_VERSION_BUF].value + r->bias, sysver, sizeof sysver - 1) == 0 &&
        strncmp(sysver, prefix, pl) == 0 && sysver[pl] >= '0' && sysver[pl] <= '9') {
      sysver[strcspn(sysver, " ")] = 0;
      sysver[sizeof vstr - 1] = 0;
      memcpy(vstr, sysver, sizeof vstr);
      micro = atoi(vstr + pl);
    } else if (elf_find_version_string(&ef, prefix, vstr, sizeof vstr) == 0) {
      micro = atoi(vstr + pl);
    } else {
      snprintf(vstr, sizeof vstr, "%d.%d", major, minor);
    }
  }
  if (major < 0) {
    /* Unusual file name: look for any version literal. */
    static const char *const prefixes[] = {"3.15.", "3.14.", "3.13.", "3.12.", "3.11.", "3.10.", "3.9.", "3.8.", "3.7.", "3.6.", "2.7.", 0};
    for (int i = 0; prefixes[i] && major < 0; i++)
      if (elf_find_version_string(&ef, prefixes[i], vstr, sizeof vstr) == 0) {
        major = vstr[0] - '0';
        minor = atoi(vstr + 2);
        micro = atoi(strchr(vstr + 2, '.') + 1);
      }
  }
  if (major == 3 && minor == 7 && micro < 0 && syms[S_RUNTIME].found)
    micro = syms[S_RUNTIME].size == 1432 ? 0 : 4; /* sizeof(_PyRuntimeState) tells 3.7.0-3.7.3 from 3.7.4+ */
  if (major < 0) {
    elf_close(&ef);
    free(files);
    return fail(GAUGE_EVERSION, err, msg, msglen, "process %d embeds CPython but its version could not be determined", pid);
  }
  if (major < 2 || (major == 2 && minor < 7) || (major == 3 && minor < 6)) {
    elf_close(&ef);
    free(files);
    return fail(GAUGE_EVERSION, err, msg, msglen, "Python %s (pid %d) is older than gauge reads: CPython 2.7 and 3.6 or newer",
                vstr, pid);
  }
  r->major = major;
  r->minor = minor;
  r->micro = micro;
  snprintf(r->version, sizeof r->version, "%s", vstr);
  const py_layout *builtin = layout_for(major, minor, micro);
  py_layout layout;
  int published = major == 3 && minor >= 13; /* _Py_DebugOffsets exists from 3.13 */
  if (!published) {
    if (!builtin) {
      elf_close(&ef);
      free(files);
      return fail(GAUGE_EVERSION, err, msg, msglen, "Python %s (pid %d) is not supported: gauge reads CPython 2.7 and 3.6 or newer",
                  vstr, pid);
    }
    layout = *builtin;
  }

  uint64_t root, tstate_current = 0, rt_symsize = 0;
  if (!published && layout.root_is_interp_head) {
    if (!syms[S_INTERP_HEAD].found) {
      elf_close(&ef);
      free(files);
      return fail(GAUGE_ENOTPYTHON, err, msg, msglen,
                  "Python %s (pid %d): the interp_head symbol is missing (stripped binary); gauge needs the symbol table for 2.7 and 3.6", vstr, pid);
    }
    root = syms[S_INTERP_HEAD].value + r->bias;
    if (syms[S_TSTATE_CURRENT].found) tstate_current = syms[S_TSTATE_CURRENT].value + r->bias;
  } else {
    uint64_t rt = syms[S_RUNTIME].found ? syms[S_RUNTIME].value : ef.pyruntime_sec;
    if (!rt) {
      elf_close(&ef);
      free(files);
      return fail(GAUGE_ENOTPYTHON, err, msg, msglen, "Python %s (pid %d): _PyRuntime not found", vstr, pid);
    }
    root = rt + r->bias;
    if (syms[S_RUNTIME].found) rt_symsize = syms[S_RUNTIME].size;
  }
  r->runtime = root;
  uint64_t code_type = syms[S_CODE_TYPE].found ? syms[S_CODE_TYPE].value + r->bias : 0;
  elf_close(&ef);
  free(files);

  if (published) {
    /* The target's own offsets are the truth; a built-in row, where one exists, is only compared. */
    uint8_t dbg[DEBUG_OFFSETS_READ];
    if (mem_read(&r->mem, root, dbg, sizeof dbg)) {
      if (r->mem.denied) return fail(GAUGE_EPERM, err, msg, msglen, "permission denied reading process %d: %s", pid, PERM_HINT);
      return fail(GAUGE_EEXITED, err, msg, msglen, "process %d exited while attaching", pid);
    }
    debug_offsets_info info;
    char why[200];
    if (debug_offsets_layout(dbg, sizeof dbg, &layout, &info, why, sizeof why))
      return fail(GAUGE_EVERSION, err, msg, msglen, "Python %s (pid %d): %s", vstr, pid, why);
    if (layout.major != major || layout.minor != minor)
      return fail(GAUGE_EVERSION, err, msg, msglen, "Python %s (pid %d): its _Py_DebugOffsets state version %d.%d", vstr, pid,
                  layout.major, layout.minor);
    if (rt_symsize && info.runtime_size != rt_symsize)
      return fail(GAUGE_EVERSION, err, msg, msglen,
                  "Python %s (pid %d): corrupt _Py_DebugOffsets: runtime_state.size %llu, but _PyRuntime is %llu bytes", vstr, pid,
                  (unsigned long long)info.runtime_size, (unsigned long long)rt_symsize);
    r->debug_offsets = 1;
    r->free_threaded = info.free_threaded;
    if (info.untested)
      snprintf(r->warning, sizeof r->warning,
               "CPython %d.%d is newer than gauge has been tested with; reading it through its own _Py_DebugOffsets "
               "with the 3.%d field table",
               major, minor, info.schema_minor);
    else if (info.prerelease)
      snprintf(r->warning, sizeof r->warning, "CPython %s is a pre-release; its layout may differ from the release's", vstr);
    if (builtin && !info.free_threaded) layout_diff(builtin, &layout, r->layout_diff, sizeof r->layout_diff);
  }
  char why[200];
  if (layout_check(&layout, why, sizeof why))
    return fail(GAUGE_EVERSION, err, msg, msglen, "Python %s (pid %d): unusable layout: %s", vstr, pid, why);

  uint64_t probe;
  if (mem_read_u64(&r->mem, root, &probe)) {
    if (r->mem.denied) return fail(GAUGE_EPERM, err, msg, msglen, "permission denied reading process %d: %s", pid, PERM_HINT);
    if (r->mem.gone) return fail(GAUGE_EEXITED, err, msg, msglen, "process %d exited while attaching", pid);
    return fail(GAUGE_ENOTPYTHON, err, msg, msglen, "process %d: cannot read the Python runtime at %#llx", pid, (unsigned long long)root);
  }
  if (frames_init(&r->fc)) return fail(GAUGE_ENOMEM, err, msg, msglen, "out of memory");
  r->fc.code_type = code_type;
  int wi = walker_init(&r->w, &r->mem, &layout, &r->fc, root, tstate_current);
  if (wi == -2) return fail(GAUGE_EVERSION, err, msg, msglen, "Python %s (pid %d): unusable layout", vstr, pid);
  if (wi) return fail(GAUGE_ENOMEM, err, msg, msglen, "out of memory");
  r->w.pid = pid;

  /* Not initialised yet (launch mode attaches early) or already finalised. */
  uint64_t interp = 0;
  if (layout.root_is_interp_head) mem_read_u64(&r->mem, root, &interp);
  else mem_read_u64(&r->mem, root + (uint64_t)layout.rt_interp_head, &interp);
  if (!interp) return fail(GAUGE_ENOTREADY, err, msg, msglen, "Python %s (pid %d) is not ready: no interpreter yet (starting up or shutting down); retry in a moment", vstr, pid);
  return GAUGE_OK;
}
