#include "crypto/err.h"

const char *st_err_str(int err)
{
	switch (err) {
#define ST_ERR_CASE(name, value, text) \
	case value:                     \
		return text;
		ST_ERR_LIST(ST_ERR_CASE)
#undef ST_ERR_CASE
	}
	return "unknown error code";
}

const char *st_err_name(int err)
{
	switch (err) {
#define ST_ERR_CASE(name, value, text) \
	case value:                     \
		return #name;
		ST_ERR_LIST(ST_ERR_CASE)
#undef ST_ERR_CASE
	}
	return "ST_ERR_UNKNOWN";
}
