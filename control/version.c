#include "control/version.h"

#include <string.h>

#include "crypto/err.h"

int st_version_check(const uint8_t *line, size_t len, char *out, size_t outsz)
{
	size_t i, sw;

	if (line == NULL || len < 4 || len > ST_VERSION_LINE_MAX || memcmp(line, "SSH-", 4) != 0)
		return ST_ERR_FORMAT;
	for (i = 0; i < len; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			return ST_ERR_FORMAT;
	if (len >= 8 && memcmp(line, "SSH-2.0-", 8) == 0)
		sw = 8;
	else if (len >= 9 && memcmp(line, "SSH-1.99-", 9) == 0)
		sw = 9;
	else {
		/* "SSH-x.y-": a well-formed line of another version. */
		for (i = 4; i < len && line[i] != '-'; i++)
			if (line[i] != '.' && (line[i] < '0' || line[i] > '9'))
				return ST_ERR_FORMAT;
		return i < len && i > 4 ? ST_ERR_ALG_UNSUPPORTED : ST_ERR_FORMAT;
	}
	/* softwareversion: at least one char, no spaces or '-' */
	if (sw >= len || line[sw] == ' ')
		return ST_ERR_FORMAT;
	if (outsz <= len)
		return ST_ERR_NO_SPACE;
	memcpy(out, line, len);
	out[len] = '\0';
	return ST_OK;
}
