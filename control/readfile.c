#include "control/readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/err.h"

int st_read_file(const char *path, size_t max, unsigned flags, char **data, size_t *len)
{
	struct stat st;
	char *buf = NULL, *nb;
	size_t cap, n = 0;
	ssize_t got;
	int fd, r, saved;

	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return ST_ERR_SYSTEM;
	if (fstat(fd, &st) != 0) {
		r = ST_ERR_SYSTEM;
		goto out;
	}
	if ((flags & ST_READFILE_REGULAR_ONLY) && !S_ISREG(st.st_mode)) {
		errno = EINVAL;
		r = ST_ERR_SYSTEM;
		goto out;
	}
	if (S_ISREG(st.st_mode) && st.st_size > (off_t)max) {
		r = ST_ERR_NO_SPACE;
		goto out;
	}
	/* One byte over the size the file had: its end is seen without growing. */
	cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	if ((buf = malloc(cap)) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	for (;;) {
		if (n == cap) {
			/* Grown since fstat, or not a regular file. */
			if (cap > max) {
				r = ST_ERR_NO_SPACE;
				goto out;
			}
			cap = cap > max / 2 ? max + 1 : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				r = ST_ERR_ALLOC;
				goto out;
			}
			buf = nb;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = ST_ERR_SYSTEM;
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > max) {
		r = ST_ERR_NO_SPACE;
		goto out;
	}
	*data = buf;
	*len = n;
	buf = NULL;
	r = ST_OK;
out:
	saved = errno; /* keep read()'s errno across close() */
	free(buf);
	close(fd);
	errno = saved;
	return r;
}
