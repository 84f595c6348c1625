/*
 * Reading a small text file the control plane (and the client engine) parse
 * whole: authorized_keys, known_hosts. Bounded, non-blocking open (a FIFO
 * cannot hang the caller), errno kept for the caller's message.
 */
#ifndef ST_CONTROL_READFILE_H
#define ST_CONTROL_READFILE_H

#include <stddef.h>

#define ST_READFILE_REGULAR_ONLY 0x1 /* refuse anything but a regular file (EINVAL) */

/*
 * Reads the whole file at path, at most max bytes, into a malloc'd buffer
 * (*data, free() it; not NUL-terminated) of *len bytes. Returns ST_OK;
 * ST_ERR_SYSTEM with errno set (cannot open or read, or not a regular file
 * under ST_READFILE_REGULAR_ONLY: EINVAL); ST_ERR_NO_SPACE (over max);
 * ST_ERR_ALLOC.
 */
int st_read_file(const char *path, size_t max, unsigned flags, char **data, size_t *len);

#endif
